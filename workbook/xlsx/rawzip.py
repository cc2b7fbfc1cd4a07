"""Zip members as stored: read with a bound on what is inflated, copied without inflating.

Python's zipfile can only re-compress what it copies, which would change the bytes of
every part of the workbook. Here a kept member's compressed bytes, CRC and sizes are
copied exactly as they were; only the parts that really change are compressed anew. Each
member gets a fresh local header without a data descriptor, so the result is a plain zip
that Excel, LibreOffice and every zip reader accept.

Reading is done here too (`inflate_member`), not by zipfile or a reader library, because a
zip's declared sizes can lie and a few megabytes can inflate to gigabytes: a member is
inflated in steps, and refused as soon as it grows past its budget or inflates far more
than any XML does (a zip bomb), long before memory or time run out. Only the two
methods Excel writes (stored and deflated) are read; the CRC and size are checked, so a
damaged member is never handed on.
"""

from __future__ import annotations

import struct
import time
import zipfile
import zlib
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass

from workbook.errors import WorkbookError

_LOCAL = struct.Struct("<4s2B4HL2L2H")  # as zipfile.structFileHeader
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # as zipfile.structCentralDir
_END = struct.Struct("<4s4H2LH")  # as zipfile.structEndArchive
_UTF8_NAME = 0x800
_LIMIT = 0xFFFFFFFF
_STEP = 1 << 20  # bytes inflated at a time, so a bomb is caught after a megabyte or so
# A zip bomb inflates about a thousand times its size; XML that Excel writes, a few to a few
# dozen times (a sheet of empty formatted rows about 40). Past RATIO_FLOOR bytes, a member
# that has inflated more than MAX_RATIO times the compressed bytes it has used is refused.
MAX_RATIO = 250
RATIO_FLOOR = 16 << 20
_METHODS = {
    1: "Shrink",
    6: "Implode",
    9: "Deflate64",
    12: "BZIP2",
    14: "LZMA",
    93: "Zstandard",
    95: "XZ",
    98: "PPMd",
    99: "AES encryption",
}


# zipfile raises any of these for a damaged zip directory (a flipped byte can make it claim
# a huge offset, an impossible name encoding or a method it does not know).
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    NotImplementedError,
    ValueError,
    EOFError,
    OSError,
    struct.error,
    OverflowError,
    IndexError,
    KeyError,
)


class MemberError(Exception):
    """A member that cannot be read; `bomb` when it was refused for what it inflates to."""

    def __init__(self, detail: str, *, bomb: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.bomb = bomb


@dataclass(frozen=True, slots=True)
class Copied:
    """A member taken over from the source zip, compressed bytes and all."""

    info: zipfile.ZipInfo


@dataclass(frozen=True, slots=True)
class Deflated:
    """A new member's bytes deflated, with the CRC and size its headers need."""

    payload: bytes
    crc: int
    size: int


def deflate(data: bytes, level: int) -> Deflated:
    """`data` deflated raw, as a zip member holds it. zlib lets go of the GIL meanwhile,
    so this can run on a second thread while the next part is being built."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return Deflated(compressor.compress(data) + compressor.flush(), zlib.crc32(data), len(data))


@dataclass(frozen=True, slots=True)
class Written:
    """A member with new content: deflated here, or already (`deflated`, by `deflate`
    with the level `build_zip` is given)."""

    name: str
    data: bytes
    deflated: Future[Deflated] | None = None


def _dos_time(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time
    year = min(max(year, 1980), 2107)
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


def stored_bytes(source: bytes, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes as stored (still compressed); MemberError when they are not there."""
    offset = info.header_offset
    header = source[offset : offset + _LOCAL.size] if offset >= 0 else b""
    if len(header) < _LOCAL.size or header[:4] != b"PK\x03\x04":
        raise MemberError("its local header is missing")
    fields = _LOCAL.unpack(header)
    start = offset + _LOCAL.size + fields[10] + fields[11]
    data = source[start : start + info.compress_size]
    if len(data) != info.compress_size:
        raise MemberError("it is cut short")
    return data


def inflate_member(source: bytes, info: zipfile.ZipInfo, limit: int, *, head: int = 0) -> bytes:
    """A member's content, inflated at most to `limit` bytes (MemberError beyond it).

    With `head`, only the first `head` bytes are inflated and returned, unchecked.
    """
    if info.flag_bits & 0x1:
        raise MemberError("it is encrypted")
    method = info.compress_type
    if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        name = _METHODS.get(method, "unknown")
        raise MemberError(f"it is compressed with method {method} ({name}), which Excel never uses")
    if info.file_size > limit and not head:
        raise MemberError(
            f"it would unpack to {info.file_size:,} bytes (at most {limit:,} are read)", bomb=True
        )
    stored = stored_bytes(source, info)
    if method == zipfile.ZIP_STORED:
        data = stored[:head] if head else stored
    else:
        data = _inflate(stored, head or limit, partial=bool(head))
    if head:
        return data
    if len(data) != info.file_size:
        raise MemberError(
            f"it unpacks to {len(data):,} bytes, not the {info.file_size:,} it declares"
        )
    if zlib.crc32(data) != info.CRC:
        raise MemberError("its content does not match its checksum (CRC)")
    return data


def _inflate(stored: bytes, limit: int, *, partial: bool) -> bytes:
    inflater = zlib.decompressobj(-15)
    out = bytearray()
    view = memoryview(stored)
    position = 0
    pending: bytes | memoryview = b""
    try:
        while not inflater.eof:
            if not pending:
                if position >= len(stored):
                    break
                pending = view[position : position + _STEP]
                position += len(pending)
            room = min(_STEP, limit + 1 - len(out))
            out += inflater.decompress(pending, room)
            pending = inflater.unconsumed_tail
            if partial and len(out) >= limit:
                return bytes(out[:limit])
            if len(out) > limit:
                raise MemberError(f"it unpacks to more than {limit:,} bytes", bomb=True)
            used = position - len(pending)
            if len(out) > RATIO_FLOOR and len(out) > MAX_RATIO * max(used, 1):
                raise MemberError(
                    f"it inflates more than {MAX_RATIO} times ({used:,} bytes to over"
                    f" {len(out):,}), as only a zip bomb does",
                    bomb=True,
                )
    except zlib.error as exc:
        if partial:
            return bytes(out)
        raise MemberError(f"its compressed data is corrupt ({exc})") from None
    if not inflater.eof and not partial:
        raise MemberError("its compressed data ends too soon")
    return bytes(out)


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
            try:
                payload = stored_bytes(source, info)
            except MemberError as exc:
                raise WorkbookError(
                    f"{where}: the file is damaged: the part {info.filename} {exc.detail}.",
                    fix="Open the workbook in Excel and save it again (Excel repairs what it"
                    " can), or use an earlier copy.",
                ) from None
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
            done = member.deflated.result() if member.deflated else deflate(member.data, level)
            payload, crc, size = done.payload, done.crc, done.size
            method = zipfile.ZIP_DEFLATED
            dos_time, dos_date = now
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
