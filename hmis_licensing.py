"""The module the HMIS Licensing ribbon add-in (hmis_licensing.xlam) runs in desktop Excel.

The add-in's Recalculate button runs `import hmis_licensing; hmis_licensing.main()` (the
xlwings ribbon template imports the module named like the add-in file), its Packet button
`hmis_licensing.packet()` (desktop Excel only: it saves PDFs beside the workbook), and its worksheet
functions are imported from here ("UDF Modules" in the add-in's settings). This module is
therefore top level and installed with hmis-licensing, so Excel finds it in the Python
that `hmis-licensing excel install` wrote into the add-in, whatever folder the workbook
is in. The work itself is in `workbook.excel.book` (the button) and `workbook.excel.udfs` (the
functions), which Excel on the web (`workbook.excel.lite`) shares.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING

from workbook.excel.udfs import (
    HMIS_ALLOTMENT,
    HMIS_LICENSE_FINDING,
    HMIS_POLICY,
    HMIS_SELF_PAY_COST,
)

__all__ = [
    "HMIS_ALLOTMENT",
    "HMIS_LICENSE_FINDING",
    "HMIS_POLICY",
    "HMIS_SELF_PAY_COST",
    "main",
    "packet",
]

if TYPE_CHECKING:
    from workbook.review.commands import WrittenPacket
    from workbook.run import Outcome

TITLE = "HMIS Licensing"
RAN_FROM_PACKET = "Excel (Packet button)"


def main() -> None:
    """Recalculate the active workbook (the Recalculate button) and say what came of it."""
    import xlwings as xw

    from engine.errors import HmisLicensingError
    from workbook.excel.book import recalculate, summary, workbook_folder_of

    try:
        # From the add-in, the caller is the active workbook, not the add-in itself.
        book = xw.Book.caller()
    except Exception:
        raise SystemExit(
            "hmis_licensing.main() recalculates the workbook that is active in Excel: click"
            " Recalculate on the HMIS Licensing tab, or run `hmis-licensing recalc WORKBOOK`."
        ) from None
    try:
        outcome = recalculate(book, workbook_folder=workbook_folder_of(_full_name(book)))
        message = summary(outcome)
    except HmisLicensingError as exc:
        message = f"The recalculation stopped.\n{exc}"
    except Exception as exc:  # a bug: a plain message in Excel instead of a traceback
        if os.environ.get("HMIS_LICENSING_DEBUG"):
            raise
        message = (
            f"Internal error ({type(exc).__name__}: {exc}). Some result sheets may be"
            " incomplete: press Recalculate again, and please report this."
        )
    book.app.alert(message, title=TITLE)


def packet() -> None:
    """Write both committees' packets beside the active workbook (the Packet button).

    The packets are made from the workbook as it is open now (unsaved edits included),
    through the same code as `hmis-licensing packet`; nothing is written into the
    workbook. Desktop Excel only: Excel on the web and xlwings Lite have no folder to
    save a file in.
    """
    import xlwings as xw

    from engine.errors import HmisLicensingError

    try:
        book = xw.Book.caller()
    except Exception:
        raise SystemExit(
            "hmis_licensing.packet() makes the packets of the workbook that is active in"
            " Excel: click Packet on the HMIS Licensing tab, or run"
            " `hmis-licensing packet WORKBOOK --committee performance`."
        ) from None
    try:
        message = packet_summary(*book_packets(book, _full_name(book)))
    except HmisLicensingError as exc:
        message = f"No packet was written.\n{exc}"
    except Exception as exc:  # a bug: a plain message in Excel instead of a traceback
        if os.environ.get("HMIS_LICENSING_DEBUG"):
            raise
        message = f"Internal error ({type(exc).__name__}: {exc}). No packet was written."
    book.app.alert(message, title=TITLE)


def book_packets(
    book: object,
    fullname: str,
    *,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> tuple[Outcome, list[WrittenPacket]]:
    """Read the open book as Recalculate does, and write both packets beside its file."""
    from workbook.errors import UsageError
    from workbook.excel.book import read_book, workbook_folder_of
    from workbook.review.commands import write_packets
    from workbook.review.packet import COMMITTEES
    from workbook.run import evaluate

    folder = workbook_folder_of(fullname)
    if folder is None:
        raise UsageError(
            "The Packet button saves the packets beside the workbook, and this Excel does not"
            " say which folder the workbook is in (Excel on the web, xlwings Lite, a workbook"
            " not yet saved, or one on SharePoint or OneDrive that is not synced).",
            fix="Open the workbook from a folder on this computer in desktop Excel, or run"
            " `hmis-licensing packet WORKBOOK --committee performance` (and `--committee ce`).",
        )
    outcome = evaluate(
        read_book(book),  # type: ignore[arg-type]
        workbook_folder=folder,
        today=today or dt.date.today(),
        now=now or dt.datetime.now(),
        ran_from=RAN_FROM_PACKET,
    )
    if outcome.results is None:
        first = outcome.errors[0] if outcome.errors else None
        raise UsageError(
            f"The policy ({outcome.policy_file.value}) cannot be used"
            + (f": {first.problem}" if first else "."),
            fix=first.how_to_fix if first else "Check it with `hmis-licensing policy check`.",
        )
    return outcome, write_packets(outcome, COMMITTEES, folder / Path(fullname).name)


def packet_summary(outcome: Outcome, written: list[WrittenPacket]) -> str:
    """What a person needs to know after pressing Packet."""
    lines = [f"As of {outcome.as_of.value} ({outcome.as_of.origin}). Saved beside the workbook:"]
    lines += [f"{w.path.name} ({w.pages} pages)" for w in written]
    if outcome.errors:
        lines.append(
            f"NOT FINAL: the workbook has {len(outcome.errors)} error(s), listed on each"
            " packet's cover. Fix them, press Recalculate, then Packet again."
        )
    return "\n".join(lines)


def _full_name(book: object) -> str:
    """The workbook's path; "" when Excel cannot say (e.g. an unsynced SharePoint file)."""
    try:
        return str(book.fullname)  # type: ignore[attr-defined]
    except Exception:
        return ""
