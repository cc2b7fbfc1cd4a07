"""Saving the shared workbook so that nothing is ever half-written or overwritten by a race.

* The new workbook is written to a temporary file in the same folder, flushed to disk,
  and moved over the old one in one step (os.replace): a crash, a kill or a full disk
  leaves either the old file or the new one, never a mixture.
* A workbook open in Excel (its `~$` owner file is beside it) or in LibreOffice
  (`.~lock.NAME#`) is not written: whoever has it open would save over the results, or
  the results over their edits.
* A lock file beside the workbook keeps two recalculations from interleaving (both read,
  both write, and one Run Log row is lost). A lock left behind by a killed process is
  recognised and taken over.
* Every save is recorded (`recorded_saves`), so that whatever goes wrong afterwards (a
  closed pipe, a console that cannot show a name) is never reported as "not changed".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import socket
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from workbook.errors import WorkbookError

TEMP_SUFFIX = ".hmis-licensing.tmp"
LOCK_SUFFIX = ".hmis-licensing.lock"
STALE_LOCK_SECONDS = 10 * 60  # a recalculation takes seconds; a lock this old is abandoned
UNREADABLE_LOCK_SECONDS = 30  # an empty lock file this old was never finished
_held: set[Path] = set()
_recorders: list[list[Path]] = []


@contextlib.contextmanager
def recorded_saves() -> Iterator[list[Path]]:
    """The files `atomic_write` replaced while the block ran, in order."""
    saved: list[Path] = []
    _recorders.append(saved)
    try:
        yield saved
    finally:
        _recorders.remove(saved)


def lock_path(workbook: Path) -> Path:
    real = workbook.resolve()
    return real.with_name(f".{real.name}{LOCK_SUFFIX}")


def open_elsewhere(workbook: Path) -> str | None:
    """Who has the workbook open, judging by the owner files Excel and LibreOffice leave."""
    folder, name = workbook.parent, workbook.name
    excel = folder / f"~${name}"
    if excel.exists():
        return f"Excel{_excel_owner(excel)} (its owner file {excel.name} is beside it)"
    libre = folder / f".~lock.{name}#"
    if libre.exists():
        return f"LibreOffice{_libreoffice_owner(libre)} (its lock file {libre.name} is beside it)"
    return None


def _excel_owner(owner_file: Path) -> str:
    """The user name in an Excel owner file (first byte: length, then the name)."""
    try:
        data = _small_file(owner_file, 55)[1]
    except (OSError, _NotAFile):
        return ""
    if not data or not 0 < data[0] <= 54:
        return ""
    name = data[1 : 1 + data[0]].decode("latin-1").strip()
    return f", by {name}" if name.isprintable() and name else ""


def _libreoffice_owner(lock_file: Path) -> str:
    try:
        text = _small_file(lock_file, _LOCK_BYTES)[1].decode("utf-8", "replace")
    except (OSError, _NotAFile):
        return ""
    first = text.split(",", 1)[0].strip()
    return f", by {first}" if first and first.isprintable() else ""


def check_can_write(destination: Path) -> None:
    """Refuse, before any work, a destination that cannot or must not be replaced."""
    try:
        _check_can_write(destination)
    except OSError as exc:  # a name too long, a folder that cannot be searched, ...
        raise WorkbookError(
            f"{destination}: cannot be written ({exc.strerror or exc}); nothing was changed.",
            fix="Choose a shorter name, or a folder you may write in.",
        ) from None


def _check_can_write(destination: Path) -> None:
    if destination.exists():
        if destination.is_dir():
            raise WorkbookError(
                f"{destination}: is a folder, not a workbook.",
                fix="Give the name of the .xlsx file to write (in that folder, say).",
            )
        refuse_not_a_file(destination, fix="Give the path of a workbook file, or a new file name.")
        holder = open_elsewhere(destination)
        if holder is not None:
            raise WorkbookError(
                f"{destination}: is open in {holder}; it was not changed.",
                fix="Close the workbook (everyone who has it open) and run again. If no one"
                " has it open (e.g. after a crash), delete that owner file.",
            )
        mode = destination.stat().st_mode
        if not mode & stat.S_IWUSR or not os.access(destination, os.W_OK):
            raise WorkbookError(
                f"{destination}: is read-only; it was not changed.",
                fix="Clear the file's read-only setting (Properties > Read-only), or write a"
                " copy with --output.",
            )
    folder = destination.resolve().parent
    if not folder.is_dir():
        raise WorkbookError(
            f"{destination}: the folder {folder} does not exist.",
            fix="Check the path, or create the folder first.",
        )


NOT_A_FILE_FIX = "Give the path of a regular file, or a new file name."


def refuse_not_a_file(destination: Path, *, fix: str = NOT_A_FILE_FIX) -> None:
    """Refuse, before anything is written, a destination that exists and is not a regular
    file (nor a link to one): a named pipe, a device or a socket. Replacing one with a
    regular file would destroy it (as root, /dev/full), and writing into it can hang."""
    for path in {destination, destination.resolve()}:
        try:
            mode = os.stat(path).st_mode  # follows a link: a link to a pipe is refused too
        except FileNotFoundError:  # a new file, or a link to nothing (replaced as a file)
            continue
        except OSError:  # a name too long, a folder that cannot be searched: said later
            continue
        if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
            raise WorkbookError(
                f"{destination}: is not a file (a device, pipe or socket); it was not changed.",
                fix=fix,
            )


def _lock_record() -> dict[str, object]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": dt.datetime.now().isoformat(timespec="seconds"),
    }


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill would end the process on Windows; ask politely instead
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x00100000, False, pid)  # SYNCHRONIZE
        if not handle:
            return kernel32.GetLastError() == 5  # access denied: it exists
        try:
            return kernel32.WaitForSingleObject(handle, 0) == 0x102  # still running
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


_LOCK_BYTES = 4096  # a lock record is about 100 bytes: more is not one of ours


class _NotAFile(Exception):
    """Something other than a regular file has a lock's or owner file's name (a FIFO, a
    device, a link)."""


def _small_file(path: Path, limit: int) -> tuple[float, bytes]:
    """A lock or owner file's age and first `limit` bytes, read without following a link
    and without waiting on a FIFO (O_NONBLOCK): these are read before anything else, so
    a device or pipe in their place must neither hang the run nor fill its memory
    (`_NotAFile` for anything but a regular file)."""
    if not stat.S_ISREG(os.lstat(path).st_mode):
        raise _NotAFile
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    handle = os.open(path, flags)
    try:
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode):
            raise _NotAFile
        data = os.read(handle, limit)
    finally:
        os.close(handle)
    return time.time() - status.st_mtime, data


def _is_stale(lock: Path) -> tuple[bool, str]:
    """Whether a lock was left behind, and a description of who holds it."""
    try:
        age, data = _small_file(lock, _LOCK_BYTES)
    except FileNotFoundError:
        return True, ""
    except OSError:
        return False, "another process"
    try:
        record = json.loads(data.decode("utf-8", "replace"))
        pid = int(record["pid"])
        host = str(record["host"])
        started = str(record.get("started", "?"))
    except (ValueError, KeyError, TypeError):
        return age > UNREADABLE_LOCK_SECONDS, "another process"
    holder = f"process {pid} on {host}, started {started}"
    if age > STALE_LOCK_SECONDS:
        return True, holder
    if host == socket.gethostname() and not _pid_alive(pid):
        return True, holder
    return False, holder


def _held_by(workbook: Path, lock: Path) -> tuple[bool, str]:
    """`_is_stale`, with something that is not a lock file in its place refused by name."""
    try:
        return _is_stale(lock)
    except _NotAFile:
        raise WorkbookError(
            f"{workbook}: {lock} is not a lock file (it is a pipe, a device or a link);"
            " the workbook was not changed.",
            fix=f"Delete {lock} and run again.",
        ) from None


def _create_lock(lock: Path) -> bool:
    """Create the lock file with its record in one step; False when it already exists."""
    try:
        handle = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(_lock_record(), file)
    except OSError:
        with contextlib.suppress(OSError):
            lock.unlink()
        raise
    return True


@contextlib.contextmanager
def workbook_lock(workbook: Path) -> Iterator[None]:
    """Hold the workbook's lock for a read-calculate-write cycle (re-entrant in-process)."""
    lock = lock_path(workbook)
    if lock in _held:
        yield
        return
    try:
        acquired = _create_lock(lock)
        if not acquired:
            stale, holder = _held_by(workbook, lock)
            if stale:
                _break_lock(lock)
                acquired = _create_lock(lock)
            if not acquired:
                _, holder = _held_by(workbook, lock)
                raise WorkbookError(
                    f"{workbook}: another recalculation is running ({holder or 'unknown'});"
                    " the workbook was not changed.",
                    fix=f"Wait for it to finish and run again. If none is running, delete {lock}.",
                )
    except PermissionError:
        raise WorkbookError(
            f"{workbook}: cannot write in its folder (permission denied).",
            fix="Check that you may create files in the workbook's folder.",
        ) from None
    except OSError as exc:
        raise WorkbookError(
            f"{workbook}: cannot create the lock file {lock.name} ({exc.strerror}).",
            fix="Check that you may create files in the workbook's folder.",
        ) from None
    _held.add(lock)
    try:
        _remove_leftover_temporaries(workbook)
        yield
    finally:
        _held.discard(lock)
        with contextlib.suppress(OSError):
            lock.unlink()


def _break_lock(lock: Path) -> None:
    """Remove an abandoned lock; renaming first means two breakers cannot both succeed."""
    claimed = lock.with_name(f"{lock.name}.stale-{os.getpid()}")
    try:
        os.replace(lock, claimed)
    except FileNotFoundError:
        return
    with contextlib.suppress(OSError):
        claimed.unlink()


def _remove_leftover_temporaries(workbook: Path) -> None:
    """Temporary files of killed runs (safe to delete: we hold the lock)."""
    real = workbook.resolve()
    prefix = f".{real.name}."
    with contextlib.suppress(OSError):
        for entry in os.scandir(real.parent):
            if entry.name.startswith(prefix) and entry.name.endswith(TEMP_SUFFIX):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def atomic_write(
    destination: Path,
    data: bytes,
    *,
    replace_link: bool = False,
    space_fix: str = "Free some space or choose another folder with --output, and run again.",
) -> None:
    """Replace `destination` with `data` in one step; on any failure it is left as it was.

    A symbolic link keeps pointing at the workbook it names, which gets the new bytes;
    with `replace_link` (a copy written with --output, a new workbook) the link itself is
    replaced by the new file and what it pointed to is left alone.
    """
    if replace_link and destination.is_symlink():
        target = destination.parent.resolve() / destination.name
    else:
        target = destination.resolve()
    replace_file(
        target,
        data,
        named=destination,
        in_use_fix="Close the workbook in Excel and check that you may write to its folder.",
        space_fix=space_fix,
    )
    for saved in _recorders:
        saved.append(destination)


def replace_file(
    target: Path, data: bytes, *, named: Path | None = None, in_use_fix: str, space_fix: str
) -> None:
    """Write `data` beside `target`, flushed to disk, and move it there in one step, so that
    a failure at any moment leaves the old file (or none) and no half file. The old file's
    permissions and group are kept; a new one gets what the umask gives. A destination
    that is not a regular file (a pipe, a device) is refused before anything is written.
    Errors name `named` (the path the user gave) with the fix for a file in use and for
    any other failure."""
    named = named or target
    if not target.parent.is_dir():
        raise WorkbookError(
            f"{named}: cannot be saved: the folder {target.parent} does not exist; nothing"
            " was written.",
            fix="Create the folder first, or choose a file in a folder that exists.",
        )
    if target.is_dir():
        raise WorkbookError(
            f"{named}: is a folder, not a file; nothing was written.",
            fix="Give the name of a file (in that folder, say).",
        )
    refuse_not_a_file(named)
    refuse_not_a_file(target)
    temporary: str | None = None
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent
        )
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        _keep_group(temporary, target)  # before chmod: chown may clear a setgid bit
        with contextlib.suppress(OSError):
            os.chmod(temporary, _mode_for(target))
        os.replace(temporary, target)
        temporary = None
        _sync_folder(target.parent)
    except PermissionError:
        raise WorkbookError(
            f"{named}: cannot be saved (permission denied, or open in another program);"
            " it was not changed.",
            fix=in_use_fix,
        ) from None
    except OSError as exc:
        reason = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror or str(exc)
        raise WorkbookError(
            f"{named}: cannot be saved ({reason}); it was not changed.", fix=space_fix
        ) from None
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _keep_group(temporary: str, target: Path) -> None:
    """Give the new file the old one's group (a workbook shared through a group keeps it).
    Where the user may not set that group (not one of theirs), the new file has the user's
    own group, as any file they create; the save goes on."""
    if not hasattr(os, "chown"):  # Windows: no POSIX groups
        return
    try:
        group = target.stat().st_gid
    except OSError:  # a new file: the group a new file gets
        return
    with contextlib.suppress(OSError):  # PermissionError: not a group of this user's
        if os.stat(temporary).st_gid != group:
            os.chown(temporary, -1, group)


def _mode_for(target: Path) -> int:
    """The old file's permissions, or what a newly created file would get (umask)."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows has no directory handles for this."""
    if os.name == "nt":
        return
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
