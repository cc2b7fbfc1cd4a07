"""The add-in's VBA project (xl/vbaProject.bin), read and edited as Office stores it.

vbaProject.bin is a Compound File (MS-CFB): a small file system of storages and streams.
The VBA project in it (MS-OVBA) has its name in two places, and nowhere else in xlwings'
template (checked by the tests, stream by stream, in ANSI and UTF-16):

* the `PROJECT` stream, plain text: the line `Name="MyAddin"` (MS-OVBA 2.3.1.6);
* the `VBA/dir` stream, compressed with MS-OVBA's own algorithm (2.4.1): its PROJECTNAME
  record (id 0x0004; 2.3.4.2.1.6), which is the name Excel's VBA uses.

A module's source is the compressed tail of its stream (from its MODULEOFFSET, 2.3.4.2.3.2.5).
xlwings' template holds source only: its `_VBA_PROJECT` stream is the 7 bytes of a project
with no compiled cache and version 0xFFFF (2.3.4.1), so Excel compiles the modules from
their source when it opens the add-in, and no compiled code can disagree with an edited
source or name. The edits here keep it so: `edit_project` refuses a template whose VBA
carries compiled code (a performance cache, or p-code before a module's source).

Everything else in the file, every other stream and the directory's entries, their order,
tree links, colours and class ids, is kept; only the streams' places in the file change,
since the edited streams are longer.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

from workbook.errors import UsageError

# ------------------------------------------------------------------ MS-OVBA 2.4.1

_CHUNK = 4096


def decompress(data: bytes) -> bytes:
    """A CompressedContainer (MS-OVBA 2.4.1.3.1) decompressed."""
    if not data or data[0] != 0x01:
        raise ValueError("not an MS-OVBA compressed container (signature byte is not 1)")
    out = bytearray()
    position = 1
    while position < len(data):
        if position + 2 > len(data):
            raise ValueError("compressed container ends inside a chunk header")
        header = struct.unpack_from("<H", data, position)[0]
        size = (header & 0x0FFF) + 3
        if (header >> 12) & 0b111 != 0b011:
            raise ValueError(f"bad chunk signature at byte {position}")
        end = min(position + size, len(data))
        start = len(out)
        if not header & 0x8000:  # a raw chunk: 4096 bytes as they are
            out += data[position + 2 : position + 2 + _CHUNK]
            position += 2 + _CHUNK
            continue
        position += 2
        while position < end:
            flags = data[position]
            position += 1
            for bit in range(8):
                if position >= end:
                    break
                if not flags >> bit & 1:
                    out.append(data[position])
                    position += 1
                    continue
                token = struct.unpack_from("<H", data, position)[0]
                position += 2
                length_mask, shift = _copy_token_layout(len(out) - start)
                length = (token & length_mask) + 3
                offset = (token >> shift) + 1
                if offset > len(out) - start:
                    raise ValueError("copy token reaches before its chunk")
                for _ in range(length):  # may overlap what it is writing
                    out.append(out[-offset])
    return bytes(out)


def _copy_token_layout(difference: int) -> tuple[int, int]:
    """(length mask, offset shift) of a CopyToken at `difference` bytes into its chunk."""
    bit_count = max((difference - 1).bit_length(), 4)
    return 0xFFFF >> bit_count, 16 - bit_count


def compress(data: bytes) -> bytes:
    """`data` as an MS-OVBA CompressedContainer (greedy longest matches, 2.4.1.3.6)."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), _CHUNK):
        chunk = data[start : start + _CHUNK]
        body = _compress_chunk(chunk)
        if len(body) <= _CHUNK:
            out += struct.pack("<H", 0xB000 | (len(body) + 2 - 3)) + body
        elif len(chunk) == _CHUNK:  # incompressible: stored raw
            out += struct.pack("<H", 0x3000 | (_CHUNK + 2 - 3)) + chunk
        else:  # pragma: no cover - text never grows this much
            raise ValueError("a short final chunk cannot be stored raw")
    return bytes(out)


def _compress_chunk(chunk: bytes) -> bytes:
    body = bytearray()
    recent: dict[bytes, list[int]] = {}  # three-byte prefix -> positions, oldest first
    position = 0
    while position < len(chunk):
        flag_at = len(body)
        body.append(0)
        flags = 0
        for bit in range(8):
            if position >= len(chunk):
                break
            length_mask, shift = _copy_token_layout(position)
            offset, length = _longest_match(
                chunk, position, recent, length_mask + 3, 1 << (16 - shift)
            )
            if length >= 3:
                body += struct.pack("<H", ((offset - 1) << shift) | (length - 3))
                flags |= 1 << bit
                step = length
            else:
                body.append(chunk[position])
                step = 1
            for p in range(position, position + step):
                recent.setdefault(chunk[p : p + 3], []).append(p)
            position += step
        body[flag_at] = flags
    return bytes(body)


def _longest_match(
    chunk: bytes, position: int, recent: Mapping[bytes, list[int]], longest: int, farthest: int
) -> tuple[int, int]:
    best_offset, best_length = 0, 0
    for candidate in reversed(recent.get(chunk[position : position + 3], ())):
        offset = position - candidate
        if offset > farthest:
            break
        length = 0
        limit = min(longest, len(chunk) - position)
        while length < limit and chunk[candidate + length] == chunk[position + length]:
            length += 1
        if length > best_length:
            best_offset, best_length = offset, length
            if length == limit:
                break
    return best_offset, best_length


# ------------------------------------------------------------------------ MS-CFB

_FREE, _END, _FAT_SECTOR = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
_NO_STREAM = 0xFFFFFFFF
_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
_SECTOR, _MINI, _CUTOFF = 512, 64, 4096
_STREAM, _ROOT = 2, 5


@dataclass
class Entry:
    """One directory entry; `raw` keeps its 128 bytes (links, colour, class id, times)."""

    raw: bytes
    name: str
    kind: int
    data: bytes = b""


@dataclass
class CompoundFile:
    entries: list[Entry]
    paths: dict[str, int] = field(default_factory=dict)  # "VBA/dir" -> entry number

    def stream(self, path: str) -> bytes:
        return self.entries[self.paths[path]].data

    def replace(self, path: str, data: bytes) -> None:
        self.entries[self.paths[path]].data = data


def read_compound_file(data: bytes) -> CompoundFile:
    """Every storage and stream of a version 3 compound file (512-byte sectors)."""
    if data[:8] != _SIGNATURE or len(data) < _SECTOR:
        raise ValueError("not a compound file")
    (major, sector_shift, mini_shift) = struct.unpack_from("<H2xHH", data, 0x1A)
    if major != 3 or sector_shift != 9 or mini_shift != 6:
        raise ValueError("only version 3 compound files (512-byte sectors) are supported")
    fat_count, first_directory = struct.unpack_from("<I I", data, 0x2C)
    first_mini_fat, _mini_fat_count, first_difat, difat_count = struct.unpack_from(
        "<I I I I", data, 0x3C
    )
    fat_sectors = list(struct.unpack_from("<109I", data, 0x4C))
    next_difat = first_difat
    for _ in range(difat_count):
        block = struct.unpack("<128I", _sector(data, next_difat))
        fat_sectors += block[:127]
        next_difat = block[127]
    fat: list[int] = []
    for number in fat_sectors[:fat_count]:
        fat += struct.unpack("<128I", _sector(data, number))
    directory = b"".join(_sector(data, n) for n in _chain(first_directory, fat))
    entries = []
    for offset in range(0, len(directory), 128):
        raw = directory[offset : offset + 128]
        length = struct.unpack_from("<H", raw, 64)[0]
        entries.append(Entry(raw, raw[: max(length - 2, 0)].decode("utf-16-le"), raw[66]))
    mini_stream = b"".join(_sector(data, n) for n in _chain(_start(entries[0].raw), fat))
    mini_fat_bytes = b"".join(_sector(data, n) for n in _chain(first_mini_fat, fat))
    mini_fat = list(struct.unpack(f"<{len(mini_fat_bytes) // 4}I", mini_fat_bytes))
    for entry in entries:
        if entry.kind != _STREAM:
            continue
        size, start = _size(entry.raw), _start(entry.raw)
        if size < _CUTOFF:
            blocks = [mini_stream[_MINI * n : _MINI * (n + 1)] for n in _chain(start, mini_fat)]
        else:
            blocks = [_sector(data, n) for n in _chain(start, fat)]
        entry.data = b"".join(blocks)[:size]
        if len(entry.data) != size:
            raise ValueError(f"the stream {entry.name} is shorter than its directory entry says")
    compound = CompoundFile(entries)
    _name_paths(compound, struct.unpack_from("<I", entries[0].raw, 76)[0], "")
    return compound


def _sector(data: bytes, number: int) -> bytes:
    if number >= (len(data) - _SECTOR) // _SECTOR:
        raise ValueError(f"sector {number} is past the end of the file")
    return data[_SECTOR * (number + 1) : _SECTOR * (number + 2)]


def _chain(first: int, table: list[int]) -> list[int]:
    """The sector numbers of a chain, from a FAT or the mini FAT."""
    numbers: list[int] = []
    while first not in (_END, _FREE):
        if first >= len(table) or len(numbers) > len(table):
            raise ValueError("a sector chain is broken or loops")
        numbers.append(first)
        first = table[first]
    return numbers


def _start(raw: bytes) -> int:
    return struct.unpack_from("<I", raw, 116)[0]


def _size(raw: bytes) -> int:
    return struct.unpack_from("<I", raw, 120)[0]  # version 3: the high 4 bytes are ignored


def _name_paths(compound: CompoundFile, node: int, prefix: str, depth: int = 0) -> None:
    """Walk a storage's tree of children (left, right, and each storage's own child)."""
    if node == _NO_STREAM or depth > len(compound.entries):
        return
    entry = compound.entries[node]
    left, right, child = struct.unpack_from("<3I", entry.raw, 68)
    path = prefix + entry.name
    compound.paths[path] = node
    _name_paths(compound, left, prefix, depth + 1)
    _name_paths(compound, right, prefix, depth + 1)
    if entry.kind == 1:  # a storage
        _name_paths(compound, child, path + "/", depth + 1)


def write_compound_file(compound: CompoundFile) -> bytes:
    """The compound file with the same directory and every stream laid out afresh."""
    mini = bytearray()
    mini_fat: list[int] = []
    big: list[tuple[int, bytes]] = []
    starts: dict[int, int] = {}
    for number, entry in enumerate(compound.entries):
        if entry.kind != _STREAM:
            continue
        if not entry.data:
            starts[number] = _END
        elif len(entry.data) < _CUTOFF:
            first = len(mini_fat)
            count = -(-len(entry.data) // _MINI)
            mini_fat += [*range(first + 1, first + count), _END]
            mini += entry.data.ljust(count * _MINI, b"\0")
            starts[number] = first
        else:
            big.append((number, entry.data))
    blocks: list[bytes] = []  # sector contents in file order
    fat: list[int] = []

    def place(data: bytes) -> int:
        first = len(blocks)
        count = max(-(-len(data) // _SECTOR), 1)
        for n in range(count):
            blocks.append(data[_SECTOR * n : _SECTOR * (n + 1)].ljust(_SECTOR, b"\0"))
        fat.extend([*range(first + 1, first + count), _END])
        return first

    for number, data in big:
        starts[number] = place(data)
    mini_start = place(bytes(mini)) if mini else _END
    mini_fat_bytes = struct.pack(f"<{len(mini_fat)}I", *mini_fat) if mini_fat else b""
    mini_fat_bytes = mini_fat_bytes.ljust(-(-len(mini_fat_bytes) // _SECTOR) * _SECTOR, b"\xff")
    mini_fat_start = place(mini_fat_bytes) if mini_fat_bytes else _END
    directory = b""
    for number, entry in enumerate(compound.entries):
        raw = bytearray(entry.raw)
        if entry.kind == _STREAM:
            struct.pack_into("<IQ", raw, 116, starts[number], len(entry.data))
        elif entry.kind == _ROOT:
            struct.pack_into("<IQ", raw, 116, mini_start, len(mini))
        directory += bytes(raw)
    directory = directory.ljust(-(-len(directory) // _SECTOR) * _SECTOR, b"\0")
    directory_start = place(directory)
    fat_count = 1
    while fat_count * 128 < len(blocks) + fat_count:
        fat_count += 1
    if fat_count > 109:
        raise ValueError("a VBA project this large is not supported")
    fat_sectors = list(range(len(blocks), len(blocks) + fat_count))
    fat += [_FAT_SECTOR] * fat_count
    fat += [_FREE] * (fat_count * 128 - len(fat))
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    for n in range(fat_count):
        blocks.append(fat_bytes[_SECTOR * n : _SECTOR * (n + 1)])
    header = bytearray(_SECTOR)
    header[:8] = _SIGNATURE
    struct.pack_into("<HHHHH", header, 0x18, 0x003E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 0x28, 0, fat_count, directory_start, 0, _CUTOFF,
                     mini_fat_start, len(mini_fat_bytes) // _SECTOR, _END, 0)  # fmt: skip
    difat = fat_sectors + [_FREE] * (109 - fat_count)
    struct.pack_into("<109I", header, 0x4C, *difat)
    return bytes(header) + b"".join(blocks)


# ------------------------------------------------------------- MS-OVBA dir stream

PROJECT_NAME = 0x0004
_CODE_PAGE, _VERSION, _MODULES, _MODULE_NAME = 0x0003, 0x0009, 0x000F, 0x0019
_STREAM_NAME, _OFFSET, _MODULE_END = 0x001A, 0x0031, 0x002B


def dir_records(dir_stream: bytes) -> list[tuple[int, bytes]]:
    """The dir stream (decompressed) as (record id, payload), in order (MS-OVBA 2.3.4.2).

    Every record is an id, a 4-byte size and that many bytes, except PROJECTVERSION, whose
    size field (always 4) is followed by 6 bytes.
    """
    records = []
    position = 0
    while position < len(dir_stream):
        if position + 6 > len(dir_stream):
            raise ValueError("the dir stream ends inside a record")
        record_id, size = struct.unpack_from("<HI", dir_stream, position)
        position += 6
        if record_id == _VERSION:
            size += 2
        payload = dir_stream[position : position + size]
        if len(payload) != size:
            raise ValueError(f"dir record 0x{record_id:04X} is cut short")
        records.append((record_id, payload))
        position += size
    return records


def dir_stream(records: list[tuple[int, bytes]]) -> bytes:
    out = bytearray()
    for record_id, payload in records:
        size = len(payload) - 2 if record_id == _VERSION else len(payload)
        out += struct.pack("<HI", record_id, size) + payload
    return bytes(out)


@dataclass(frozen=True, slots=True)
class VbaProject:
    """What a VBA project says about itself, read back for tests and `excel status`."""

    name: str  # PROJECTNAME in the dir stream
    project_stream_name: str  # Name="..." in the PROJECT stream
    modules: dict[str, str]  # module name -> source text


def read_project(vba_bin: bytes) -> VbaProject:
    compound = read_compound_file(vba_bin)
    records = dir_records(decompress(compound.stream("VBA/dir")))
    code_page = _code_page(records)
    name = next(p for i, p in records if i == PROJECT_NAME).decode(code_page)
    modules = {}
    for module, stream, offset in _modules(records, code_page):
        source = decompress(compound.stream(f"VBA/{stream}")[offset:])
        modules[module] = source.decode(code_page)
    project = compound.stream("PROJECT").decode(code_page)
    found = re.search(r'(?m)^Name="([^"]*)"\r?$', project)
    return VbaProject(name, found.group(1) if found else "", modules)


def _code_page(records: list[tuple[int, bytes]]) -> str:
    number = struct.unpack("<H", next(p for i, p in records if i == _CODE_PAGE))[0]
    return f"cp{number}"


def _modules(records: list[tuple[int, bytes]], code_page: str) -> list[tuple[str, str, int]]:
    """(module name, stream name, source offset) of each module."""
    found, name, stream, offset = [], "", "", 0
    for record_id, payload in records:
        if record_id == _MODULE_NAME:
            name = payload.decode(code_page)
        elif record_id == _STREAM_NAME:
            stream = payload.decode(code_page)
        elif record_id == _OFFSET:
            offset = struct.unpack("<I", payload)[0]
        elif record_id == _MODULE_END:
            found.append((name, stream, offset))
    return found


# ------------------------------------------------------------------------ editing

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,127}")


def edit_project(vba_bin: bytes, *, name: str, appended: Mapping[str, str]) -> bytes:
    """The VBA project renamed `name`, with `appended[module]` added to those modules' source.

    Refuses (ValueError) what it cannot edit safely: a project with a compiled cache
    (Excel would run the cache, not the edited source), a name that is not a VBA
    identifier, a module that is not there.
    """
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"{name!r} is not a VBA project name (a letter, then letters, digits, _)")
    compound = read_compound_file(vba_bin)
    if (
        compound.stream("VBA/_VBA_PROJECT")[2:4] != b"\xff\xff"
        or len(compound.stream("VBA/_VBA_PROJECT")) != 7
    ):
        raise ValueError("the VBA project carries compiled code (a performance cache)")
    records = dir_records(decompress(compound.stream("VBA/dir")))
    code_page = _code_page(records)
    encoded = name.encode(code_page)
    records = [(i, encoded if i == PROJECT_NAME else p) for i, p in records]
    modules = {module: (stream, offset) for module, stream, offset in _modules(records, code_page)}
    for module, code in appended.items():
        if module not in modules:
            raise ValueError(f"the VBA project has no module {module}")
        stream, offset = modules[module]
        source = decompress(compound.stream(f"VBA/{stream}")[offset:])
        # The new stream is source only (MODULEOFFSET 0), as the template's xlwings module
        # is: compiled code kept before an edited source would describe the old one.
        compound.replace(f"VBA/{stream}", compress(source + code.encode(code_page)))
    records = _without_compiled_code(records, set(appended), code_page)
    compound.replace("VBA/dir", compress(dir_stream(records)))
    project = compound.stream("PROJECT")
    renamed, count = re.subn(rb'(?m)^Name="[^"\r\n]*"(?=\r?$)', b'Name="' + encoded + b'"', project)
    if count != 1:
        raise ValueError('the PROJECT stream has no single Name="..." line')
    compound.replace("PROJECT", renamed)
    return write_compound_file(compound)


def _without_compiled_code(
    records: list[tuple[int, bytes]], modules: set[str], code_page: str
) -> list[tuple[int, bytes]]:
    """The records with MODULEOFFSET 0 for the named modules."""
    edited, current = [], ""
    for record_id, payload in records:
        if record_id == _MODULE_NAME:
            current = payload.decode(code_page)
        if record_id == _OFFSET and current in modules:
            payload = struct.pack("<I", 0)
        edited.append((record_id, payload))
    return edited


def require_editable(vba_bin: bytes, where: str) -> None:
    """A UsageError naming the template when its VBA is not what `edit_project` handles."""
    try:
        read_project(vba_bin)
    except (ValueError, KeyError, StopIteration, struct.error) as exc:
        raise UsageError(
            f"{where}: its VBA project (xl/vbaProject.bin) cannot be read ({exc}).",
            fix="Reinstall xlwings: pip install --force-reinstall xlwings",
        ) from None
