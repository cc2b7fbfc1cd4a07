"""Workbooks and exports crafted byte by byte, as an attacker or an unlucky tool writes them.

`rewrite` changes zip members of a real workbook; `raw_zip` writes a zip whose members'
compressed bytes, sizes and checksums are whatever the test says (a zip bomb, a lie);
`deflate_bomb` makes deflate data that unpacks to gigabytes from a few megabytes without
ever holding them; `run_limited` runs the command line in a child process with a memory
ceiling and a timeout, and reports its peak memory.
"""

from __future__ import annotations

import io
import os
import re
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO

MEMORY_CEILING = 600 * 2**20  # resident memory a child may use before it is killed
MEMORY_PROMISE_MB = 500  # what the README promises a run needs at most


Change = bytes | Callable[[bytes], bytes] | None


def rewrite(path: Path, changes: Mapping[str, Change], out: Path | None = None) -> Path:
    """The workbook with members replaced (bytes), edited (a function of the old bytes),
    removed (None) or added (a name it does not have)."""
    target = out or path
    with zipfile.ZipFile(path) as source:
        items = [(i.filename, source.read(i)) for i in source.infolist()]
    buffer = io.BytesIO()
    names = {name for name, _ in items}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in items:
            change = changes.get(name, data)
            if change is None:
                continue
            archive.writestr(name, change(data) if callable(change) else change)
        for name, change in changes.items():
            if name not in names and isinstance(change, bytes):
                archive.writestr(name, change)
    target.write_bytes(buffer.getvalue())
    return target


def part_of(path: Path, sheet: str) -> str:
    from workbook.xlsx.write import sheet_part_names

    return sheet_part_names(path)[sheet]


def add_cell(path: Path, sheet: str, ref: str, cell_body: str = "<v>1</v>") -> Path:
    """`path` with one more value on `sheet`, at `ref`, in a row of its own at the end."""
    row = int(re.sub(r"[A-Z]", "", ref))

    def edit(xml: bytes) -> bytes:
        cell = f'<row r="{row}"><c r="{ref}">{cell_body}</c></row>'.encode()
        return xml.replace(b"</sheetData>", cell + b"</sheetData>")

    return rewrite(path, {part_of(path, sheet): edit})


# ------------------------------------------------------------------------- raw zips

_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")


@dataclass(frozen=True)
class RawMember:
    name: str
    payload: bytes  # as stored (compressed when method is 8)
    size: int  # declared unpacked size
    crc: int = 0
    method: int = zipfile.ZIP_DEFLATED


def stored(name: str, data: bytes) -> RawMember:
    """A member as zipfile would write it, deflated, honest sizes and checksum."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    payload = compressor.compress(data) + compressor.flush()
    return RawMember(name, payload, len(data), zlib.crc32(data))


def raw_zip(path: Path, members: list[RawMember]) -> Path:
    out = bytearray()
    central = bytearray()
    for member in members:
        name = member.name.encode()
        offset = len(out)
        fields = (20, 0, 0, member.method, 0, 0x21, member.crc, len(member.payload), member.size)
        out += _LOCAL.pack(b"PK\x03\x04", *fields, len(name), 0) + name + member.payload
        central += (
            _CENTRAL.pack(b"PK\x01\x02", 20, 0, *fields, len(name), 0, 0, 0, 0, 0, offset) + name
        )
    start = len(out)
    out += central
    out += _END.pack(b"PK\x05\x06", 0, 0, len(members), len(members), len(central), start, 0)
    path.write_bytes(bytes(out))
    return path


def members_of(path: Path) -> list[RawMember]:
    """A zip's members as stored, to be put in a `raw_zip` with some of them changed."""
    data = path.read_bytes()
    found = []
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            header = _LOCAL.unpack(data[info.header_offset : info.header_offset + _LOCAL.size])
            start = info.header_offset + _LOCAL.size + header[10] + header[11]
            payload = data[start : start + info.compress_size]
            found.append(
                RawMember(info.filename, payload, info.file_size, info.CRC, info.compress_type)
            )
    return found


def deflate_bomb(mebibytes: int, byte: bytes = b" ") -> bytes:
    """Raw deflate data unpacking to `mebibytes` MiB of one byte: the same independent
    block (a full flush ends each) written over and over, then an empty final block."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(byte * 2**20) + compressor.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    return block * mebibytes + final


def bomb_xml(mebibytes: int) -> bytes:
    """Deflate data of a worksheet whose sheetData is followed by `mebibytes` MiB of spaces."""
    head = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    return start + deflate_bomb(mebibytes)


# --------------------------------------------------------------------- child processes


@dataclass(frozen=True)
class Finished:
    code: int
    out: str
    err: str
    seconds: float
    peak_mb: float


# The peak is measured by a small middleman: a child's ru_maxrss starts from the memory of
# whoever started it (a fork, or even posix_spawn, counts this test process and its 256 MB
# buffers), so the middleman, small itself, starts hmis-licensing, waits for it and reports
# its exit status and peak on a pipe. The ceiling is on resident memory, watched every few
# milliseconds, not on address space (RLIMIT_AS): pyarrow's allocator and every thread's
# malloc arena reserve far more address space than they touch (1.7 GB reserved for 120 MB
# used, more on a machine with more cores), and under an address-space cap pyarrow aborts
# or hangs instead of failing cleanly, which made the ceiling test the machine, not the code.
_MIDDLEMAN = """
import os, subprocess, sys, threading
report, ceiling, timeout = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
folder = sys.argv[4]
child = subprocess.Popen([sys.executable, "-m", "workbook.cli", *sys.argv[5:]], cwd=folder)
over = threading.Event()
done = threading.Event()
def watch():
    status = f"/proc/{child.pid}/status"
    while not done.wait(0.002):
        try:
            with open(status) as handle:
                text = handle.read()
        except OSError:
            return
        for line in text.splitlines():
            if line.startswith("VmRSS:") and int(line.split()[1]) * 1024 > ceiling:
                over.set()
                child.kill()
                return
watcher = threading.Thread(target=watch, daemon=True)
watcher.start()
timer = threading.Timer(timeout, child.kill)
timer.start()
_pid, status, usage = os.wait4(child.pid, 0)
done.set()
timer.cancel()
os.write(report, f"{status} {usage.ru_maxrss} {int(over.is_set())}".encode())
"""


def run_limited(
    argv: list[str],
    *,
    timeout: float = 60,
    env: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
) -> Finished:
    """`hmis-licensing ARGV` in a child process that is killed if it uses more than
    MEMORY_CEILING or runs longer than `timeout` (then the test fails, nothing hangs);
    its own peak memory comes from wait4."""

    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    environment.pop("HMIS_LICENSING_DEBUG", None)
    started = time.monotonic()
    report_read, report_write = os.pipe()
    middleman = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _MIDDLEMAN,
            str(report_write),
            str(MEMORY_CEILING),
            str(timeout),
            str(REPO),
            *argv,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        pass_fds=(report_write,),
    )
    os.close(report_write)
    try:
        out, err = middleman.communicate(timeout=timeout + 30)
    finally:
        if middleman.poll() is None:
            middleman.kill()
            middleman.wait()
    with os.fdopen(report_read, "rb") as report:
        reported = report.read().decode().split()
    if len(reported) != 3:
        raise AssertionError(f"hmis-licensing {' '.join(argv)} was not waited for: {err!r}")
    status_text, peak_kb, over_ceiling = reported
    if over_ceiling == "1":
        raise AssertionError(
            f"hmis-licensing {' '.join(argv)} used more than {MEMORY_CEILING // 2**20} MB"
        )
    returncode = os.waitstatus_to_exitcode(int(status_text))
    seconds = time.monotonic() - started
    if seconds >= timeout:
        raise AssertionError(f"hmis-licensing {' '.join(argv)} did not finish in {timeout} s")
    return Finished(
        returncode,
        out.decode(encoding, "replace"),
        err.decode(encoding, "replace"),
        seconds,
        int(peak_kb) / 1024,
    )
