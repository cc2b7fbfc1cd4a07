"""Reading a policy file's bytes: only a regular file, never more than the cap.

A policy path can come from the command line (`--policy`) or from a cell of the workbook
(the Settings sheet's Policy File), where anyone who can edit the workbook can put
anything: /dev/zero or /dev/urandom (which never end), a named pipe (which blocks the
run, and its lock, forever), a 3 GB file, or on Windows a UNC path (\\\\server\\share\\...),
which makes the computer connect to that server and hand over the user's credentials.
So the file is opened without blocking, must be a regular file, and at most
`MAX_POLICY_BYTES` + 1 bytes are read; a path from a workbook must be on this computer
(a network path is accepted only on the command line, where the user typed it).
"""

from __future__ import annotations

import os
import re
import stat
from importlib import resources
from pathlib import Path, PureWindowsPath

from policy.errors import PolicyError

MAX_POLICY_BYTES = 1_000_000
# A URL (scheme://...; a path object keeps only one slash of it); a scheme has two or more
# letters, so a Windows drive ("C:/") is not one.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")

FOLDER_FIX = (
    "Give the path of the policy file itself, e.g. the policy.yaml in that folder, not the folder."
)


def adopted_policy_path() -> Path:
    """The policy as adopted, shipped with the package (the repository's policy.yaml)."""
    packaged = resources.files("policy").joinpath("adopted.yaml")
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "policy.yaml"


def read_policy_file(path: Path, *, from_workbook: bool = False) -> bytes:
    """The file's bytes (PolicyError for anything that is not a readable policy file)."""
    if from_workbook:
        refuse_network_path(path)
    try:
        return _read_policy_file(path)
    except PolicyError as exc:
        if not exc.file_problem or not from_workbook:
            raise
        raise PolicyError(
            f"{exc.message.rstrip('.')} (named by the Settings sheet's Policy File).",
            fix="Correct the Settings sheet's Policy File to the path of a policy.yaml, or"
            " clear it to use the policy beside the workbook, else the adopted policy.",
            file_problem=True,
        ) from None


def _read_policy_file(path: Path) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if os.name == "nt":  # no O_NONBLOCK there: look before opening instead
        _require_regular(path, _stat(path))
    try:
        handle = os.open(path, flags)
    except FileNotFoundError:
        raise PolicyError(
            f"{path}: no such policy file.",
            fix="Check the path, or leave --policy out to use the adopted policy.",
            file_problem=True,
        ) from None
    except IsADirectoryError:
        raise PolicyError(
            f"{path}: is a folder, not a policy file.", fix=FOLDER_FIX, file_problem=True
        ) from None
    except OSError as exc:
        raise PolicyError(f"{path}: cannot be read ({exc.strerror}).", file_problem=True) from None
    try:
        _require_regular(path, os.fstat(handle))
        return _read_at_most(handle, MAX_POLICY_BYTES + 1, path)
    finally:
        os.close(handle)


def is_network_path(text: str) -> bool:
    """Whether a path would reach another computer: UNC (\\\\server\\share, //server/share,
    \\\\?\\UNC\\...), a URL, or on Windows a mapped network drive."""
    text = text.strip()
    windows = PureWindowsPath(text)
    if text.startswith(("\\\\", "//")) or _URL.match(text):
        return True
    if windows.drive.startswith("\\\\"):
        return True
    return os.name == "nt" and bool(windows.drive) and _is_network_drive(windows.drive)


def refuse_network_path(path: Path) -> None:
    """A path from a workbook that would reach another computer: PolicyError."""
    if is_network_path(str(path)):
        raise PolicyError(
            f"{path}: the Settings sheet's Policy File is on another computer (a network"
            " path); a policy named by a workbook is read only from this computer, so that"
            " opening a workbook can never make it connect to a server.",
            fix="Copy the policy file to this computer (e.g. beside the workbook) and give"
            " that path, or give the network path yourself with --policy.",
        )


def _is_network_drive(drive: str) -> bool:  # pragma: no cover - Windows only
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    return bool(kernel32.GetDriveTypeW(drive.rstrip("\\/") + "\\") == 4)  # DRIVE_REMOTE


def _stat(path: Path) -> os.stat_result:
    try:
        return path.stat()
    except FileNotFoundError:
        raise PolicyError(f"{path}: no such policy file.") from None
    except OSError as exc:
        raise PolicyError(f"{path}: cannot be read ({exc.strerror}).") from None


def _require_regular(path: Path, info: os.stat_result) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise PolicyError(
            f"{path}: is a folder, not a policy file.", fix=FOLDER_FIX, file_problem=True
        )
    if not stat.S_ISREG(info.st_mode):
        raise PolicyError(
            f"{path}: is not a file (a device, pipe or socket), so it is not read.",
            fix="Give the path of the policy file itself (policy.yaml).",
            file_problem=True,
        )
    if info.st_size > MAX_POLICY_BYTES:
        raise PolicyError(
            f"{path}: the file is {info.st_size:,} bytes; a policy file is a few kilobytes"
            f" (at most {MAX_POLICY_BYTES:,} bytes are read).",
            fix="Check that this is the policy file and not another document.",
        )


def _read_at_most(handle: int, limit: int, path: Path) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        try:
            chunk = os.read(handle, min(1 << 16, limit - size))
        except BlockingIOError:  # pragma: no cover - only a non-regular file blocks
            raise PolicyError(f"{path}: is not a regular file.") from None
        except OSError as exc:
            raise PolicyError(f"{path}: cannot be read ({exc.strerror}).") from None
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
