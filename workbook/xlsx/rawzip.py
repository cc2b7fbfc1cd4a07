"""A zip writer that copies members of another zip without decompressing them.

Python's zipfile can only re-compress what it copies, which would change the bytes of
every part of the workbook. Here a kept member's compressed bytes, CRC and sizes are
copied exactly as they were; only the parts that really change are compressed anew. Each
member gets a fresh local header without a data descriptor, so the result is a plain zip
that Excel, LibreOffice and every zip reader accept.
"""

from __future__ import annotations

import struct
import time
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from workbook.errors import WorkbookError

_LOCAL = struct.Struct("<4s2B4HL2L2H")  # as zipfile.structFileHeader
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # as zipfile.structCentralDir
_END = struct.Struct("<4s4H2LH")  # as zipfile.structEndArchive
_UTF8_NAME = 0x800
_LIMIT = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Copied:
    """A member taken over from the source zip, compressed bytes and all."""

    info: zipfile.ZipInfo


@dataclass(frozen=True, slots=True)
class Written:
    """A member with new content, deflated here."""

    name: str
    data: bytes


def _dos_time(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time
    year = min(max(year, 1980), 2107)
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


def _raw_member(source: bytes, info: zipfile.ZipInfo, where: str) -> bytes:
    offset = info.header_offset
    header = source[offset : offset + _LOCAL.size]
    if len(header) < _LOCAL.size or header[:4] != b"PK\x03\x04":
        raise WorkbookError(
            f"{where}: the zip member {info.filename} is damaged.",
            fix="Open the workbook in Excel and save it again.",
        )
    fields = _LOCAL.unpack(header)
    start = offset + _LOCAL.size + fields[10] + fields[11]
    data = source[start : start + info.compress_size]
    if len(data) != info.compress_size:
        raise WorkbookError(
            f"{where}: the zip member {info.filename} is cut short.",
            fix="Open the workbook in Excel and save it again.",
        )
    return data


def build_zip(
    source: bytes, members: Iterable[Copied | Written], where: str = "workbook", level: int = 3
) -> bytes:
    """The bytes of a new zip holding `members` in the order given."""
    out = bytearray()
    central = bytearray()
    count = 0
    now = _dos_time(time.localtime()[:6])
    for member in members:
        if isinstance(member, Copied):
            info = member.info
            payload = _raw_member(source, info, where)
            name = info.filename.encode("utf-8" if info.flag_bits & _UTF8_NAME else "cp437")
            flags = info.flag_bits & _UTF8_NAME
            method = info.compress_type
            dos_time, dos_date = _dos_time(info.date_time)
            crc, size = info.CRC, info.file_size
            version, system = max(info.extract_version, 20), info.create_system
            internal, external = info.internal_attr, info.external_attr
        else:
            try:
                name = member.name.encode("ascii")
                flags = 0
            except UnicodeEncodeError:
                name, flags = member.name.encode("utf-8"), _UTF8_NAME
            compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
            payload = compressor.compress(member.data) + compressor.flush()
            method = zipfile.ZIP_DEFLATED
            dos_time, dos_date = now
            crc, size = zlib.crc32(member.data), len(member.data)
            version, system, internal, external = 20, 0, 0, 0
        offset = len(out)
        if max(offset, size, len(payload)) >= _LIMIT:
            raise WorkbookError(f"{where}: the workbook is too large to save (over 4 GB).")
        out += _LOCAL.pack(
            b"PK\x03\x04",
            version,
            0,
            flags,
            method,
            dos_time,
            dos_date,
            crc,
            len(payload),
            size,
            len(name),
            0,
        )
        out += name
        out += payload
        central += _CENTRAL.pack(
            b"PK\x01\x02",
            20,
            system,
            version,
            0,
            flags,
            method,
            dos_time,
            dos_date,
            crc,
            len(payload),
            size,
            len(name),
            0,
            0,
            0,
            internal,
            external,
            offset,
        )
        central += name
        count += 1
    if count >= 0xFFFF or len(out) >= _LIMIT:
        raise WorkbookError(f"{where}: the workbook has too many parts to save.")
    directory_offset = len(out)
    out += central
    out += _END.pack(b"PK\x05\x06", 0, 0, count, count, len(central), directory_offset, 0)
    return bytes(out)
