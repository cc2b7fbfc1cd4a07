"""The csv-module route over a large folder export's files, several at once.

The csv module holds the GIL, so threads would only take turns; each worker is a plain
`python -m workbook.hmis.side_by_side` process (never `multiprocessing`, which re-runs
the caller's main script in every worker). The files are dealt to the workers largest
first, each to the one with the fewest bytes so far, so they finish close together. A
worker sends back, on its stdout, one frame per message: bytes read (for the progress
bar), a file's `Tally`, or the error that stopped it, raised here as it was raised there.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import selectors
import struct
import subprocess
import sys
import tempfile
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import IO, Any

import workbook
from workbook.errors import WorkbookError
from workbook.hmis.csv_route import DateCache, read_file_csv
from workbook.hmis.export import (
    LARGE_EXPORT_BYTES,
    ExportFile,
    FileRead,
    Progress,
    Tally,
    file_opener,
)

MAX_WORKERS = 4  # the largest file (Services, about a third of the rows) bounds the gain
SIDE_BY_SIDE_MIN_BYTES = LARGE_EXPORT_BYTES  # below this, starting processes costs more
_FRAME = struct.Struct("!Q")
_MAX_FRAME = 256 << 20  # a Tally of MAX_USER_IDS users is a few MB


def side_by_side_possible(files: Sequence[ExportFile]) -> bool:
    """Whether these files can be read side by side at all: two or more real files (a
    zip's members open only through this process's archive), not on Windows (whose
    select() takes no pipes)."""
    return len(files) > 1 and all(f.path is not None for f in files) and sys.platform != "win32"


def csv_workers(files: Sequence[ExportFile]) -> int:
    """How many processes read these files at once: one per usable core where that is
    possible and the export is large enough to gain from it, else 1."""
    if not side_by_side_possible(files) or sum(f.size for f in files) < SIDE_BY_SIDE_MIN_BYTES:
        return 1
    return max(1, min(len(files), MAX_WORKERS, _usable_cores()))


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity mask
        return os.cpu_count() or 1


def dealt(files: Sequence[ExportFile], workers: int) -> list[list[ExportFile]]:
    """The files shared out: largest first, each to the worker with the fewest bytes."""
    hands: list[list[ExportFile]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for f in sorted(files, key=lambda f: -f.size):
        least = loads.index(min(loads))
        hands[least].append(f)
        loads[least] += f.size
    return [hand for hand in hands if hand]


def read_files_side_by_side(
    files: Sequence[ExportFile],
    as_of: str,
    window_start: str,
    progress: Progress | None,
    workers: int,
) -> Generator[Tally, None, None]:
    """Each file's Tally, in the order they finish; the workers are stopped when the
    caller stops early or a worker fails."""
    with contextlib.ExitStack() as stack:
        selector = stack.enter_context(selectors.DefaultSelector())
        running: list[_Worker] = []
        stack.callback(_stop_all, running)
        for hand in dealt(files, workers):
            worker = _Worker.start(hand, as_of, window_start, progress is not None)
            running.append(worker)
            selector.register(worker.output, selectors.EVENT_READ, worker)
        open_outputs = len(running)
        while open_outputs:
            for key, _ in selector.select():
                worker = key.data
                message = worker.next_message()
                if message is None:  # the worker's output ended
                    selector.unregister(worker.output)
                    open_outputs -= 1
                    worker.finish()
                    continue
                kind, value = message
                if kind == "read" and progress is not None:
                    progress.advance(value)
                elif kind == "tally":
                    yield value
                elif kind == "error":
                    raise value


class _Worker:
    """One worker process and its output pipe."""

    def __init__(self, process: subprocess.Popen[bytes], errors: IO[bytes], names: list[str]):
        self.process = process
        self.errors = errors
        self.names = names
        assert process.stdout is not None
        self.output: IO[bytes] = process.stdout

    @classmethod
    def start(
        cls, hand: Sequence[ExportFile], as_of: str, window_start: str, show_progress: bool
    ) -> _Worker:
        job = {
            "files": [[f.name, f.kind, f.size, str(f.path)] for f in hand],
            "as_of": as_of,
            "window_start": window_start,
            "progress": show_progress,
        }
        errors = tempfile.TemporaryFile()  # noqa: SIM115 - the _Worker owns and closes it
        # The worker imports this same copy of hmis-licensing, installed or not.
        home = str(Path(workbook.__file__).resolve().parent.parent)
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": home + (os.pathsep + path if path else "")}
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "workbook.hmis.side_by_side"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                env=env,
                bufsize=0,
            )
        except OSError as exc:
            errors.close()
            raise WorkbookError(
                f"Could not start a process to read the export ({exc.strerror or exc}).",
                fix="Run import-activity again; if this repeats, free some memory.",
            ) from exc
        assert process.stdin is not None
        with process.stdin:
            process.stdin.write(json.dumps(job).encode("utf-8"))
        return cls(process, errors, [f.name for f in hand])

    def next_message(self) -> tuple[str, Any] | None:
        head = self._read_exactly(_FRAME.size)
        if not head:
            return None
        (size,) = _FRAME.unpack(head) if len(head) == _FRAME.size else (_MAX_FRAME + 1,)
        body = self._read_exactly(size) if size <= _MAX_FRAME else b""
        if len(body) != size:
            raise self._failure("its output ended in the middle of a message")
        message: tuple[str, Any] = pickle.loads(body)  # from our own child process
        return message

    def _read_exactly(self, size: int) -> bytes:
        """Up to `size` bytes, fewer only at the end (the pipe is unbuffered, so the
        selector never misses a message sitting in a buffer)."""
        parts = []
        while size:
            part = self.output.read(size)
            if not part:
                break
            parts.append(part)
            size -= len(part)
        return b"".join(parts)

    def finish(self) -> None:
        """The output ended: the worker must have stopped cleanly."""
        code = self.process.wait()
        self.output.close()
        if code != 0:
            raise self._failure(f"it stopped with exit code {code}")
        self.errors.close()

    def _failure(self, what: str) -> WorkbookError:
        self.errors.seek(0, os.SEEK_END)
        self.errors.seek(max(0, self.errors.tell() - 2000))
        said = self.errors.read().decode("utf-8", "replace").strip()
        last = said.splitlines()[-1] if said else ""
        return WorkbookError(
            f"The process reading {', '.join(self.names)} failed: {what}"
            + (f" ({last})" if last else "")
            + "; nothing was imported.",
            fix="Run import-activity again; if it fails again, report it with this message.",
        )


def _stop_all(running: list[_Worker]) -> None:
    for worker in running:
        if worker.process.poll() is None:
            worker.process.kill()
        worker.process.wait()
        worker.output.close()
        worker.errors.close()


# ------------------------------------------------------------------------ the worker


class _ReportedProgress(Progress):
    """A worker's progress: each count of bytes read sent to the parent as a frame."""

    def __init__(self, send: Any) -> None:
        super().__init__()
        self.send = send

    def advance(self, count: int) -> None:
        self.send("read", count)


def _work(job: dict[str, Any], output: IO[bytes]) -> None:
    def send(kind: str, value: Any) -> None:
        body = pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL)
        output.write(_FRAME.pack(len(body)) + body)
        output.flush()

    progress = _ReportedProgress(send) if job["progress"] else None
    dates = DateCache()
    try:
        for name, kind, size, path in job["files"]:
            source = ExportFile(name, kind, size, file_opener(Path(path)), path=Path(path))
            tally = Tally(FileRead(name, kind))
            read_file_csv(source, tally, job["as_of"], job["window_start"], progress, dates)
            send("tally", tally)
    except Exception as exc:  # sent to the parent, which raises it as if read there
        try:
            send("error", exc)
        except (pickle.PicklingError, TypeError, AttributeError):
            send("error", WorkbookError(f"{type(exc).__name__}: {exc}"))


def main() -> None:
    job = json.loads(sys.stdin.buffer.read())
    _work(job, sys.stdout.buffer)


if __name__ == "__main__":
    main()
