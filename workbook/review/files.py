"""Where the review's documents go, and saving them so that a failure leaves no half file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from workbook.errors import UsageError, WorkbookError
from workbook.review.text import safe_file_name
from workbook.xlsx.safesave import refuse_not_a_file, replace_file

# The committees a packet is made for, by the name the command line and the file use (here,
# not in packet.py, so that the command line can list them without loading the packet).
Committee = Literal["performance", "ce"]
COMMITTEES: tuple[Committee, ...] = ("performance", "ce")

PACKET_SUFFIX = ".pdf"
DOCUMENT_NOT_A_FILE_FIX = "Remove it or choose another name; only a regular file is replaced."


def packet_file_name(workbook: Path, committee_name: str, as_of: dt.date | str) -> str:
    """`<workbook stem> - Performance Committee packet 2026-11-24.pdf` (`as of not read`
    where the As Of could not be read: no review's date)."""
    return safe_file_name(f"{workbook.stem} - {committee_name} packet {as_of}", PACKET_SUFFIX)


def check_packet_destination(destination: Path, workbook: Path) -> None:
    """A packet is a .pdf, never the workbook itself, in a folder that exists."""
    if destination.suffix.lower() != PACKET_SUFFIX:
        raise UsageError(
            f"{destination}: a packet is a PDF file.",
            fix=f"Give --output a name ending in {PACKET_SUFFIX}, or leave it out to write"
            " the packet beside the workbook.",
        )
    if destination.exists() and workbook.exists() and destination.samefile(workbook):
        raise UsageError(f"{destination}: that is the workbook itself.", fix="Choose another name.")
    if not destination.parent.is_dir():
        raise UsageError(
            f"{destination.parent}: no such folder.", fix="Create it, or choose another folder."
        )
    if destination.is_dir():
        raise UsageError(f"{destination}: is a folder.", fix="Give a file name ending in .pdf.")
    refuse_not_a_file(destination, fix=DOCUMENT_NOT_A_FILE_FIX)


def notices_folder(folder: Path) -> Path:
    """The folder for notice drafts, made if missing (never a file)."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: is a file, not a folder.", fix="Give a folder for the drafts.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkbookError(
            f"{folder}: cannot be created ({exc.strerror or exc}).",
            fix="Choose a folder you may write to.",
        ) from None
    return folder


def check_documents(paths: Sequence[Path]) -> None:
    """Refuse, before the first is written, a set of documents one of which would replace
    something that is not a regular file (a pipe or a device named like a draft)."""
    for path in paths:
        refuse_not_a_file(path, fix=DOCUMENT_NOT_A_FILE_FIX)


def save_document(destination: Path, data: bytes) -> None:
    """Write a packet or a notice draft in one step (the workbook's own safe save).

    A PDF open in a reader on Windows cannot be replaced: the message says to close it.
    """
    replace_file(
        destination,
        data,
        in_use_fix="Close it in your PDF reader or mail program, check that you may write to"
        " the folder, and run again.",
        space_fix="Free some space or choose another folder, and run again.",
    )
