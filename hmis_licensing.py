"""The module the HMIS Licensing ribbon add-in (hmis_licensing.xlam) runs in desktop Excel.

Each button of the add-in's ribbon runs one function here, through a VBA callback of the
add-in's module RibbonMyAddin (`RunPython "import hmis_licensing; hmis_licensing.X()"`; the
xlwings ribbon template imports the module named like the add-in file):

    Recalculate  RunMain    main()    the result sheets, as `hmis-licensing recalc`
    Check        RunCheck   check()   the problems only; writes nothing, as `check`
    Packet       RunPacket  packet()  both committee packets beside the workbook (desktop
                                       Excel only: it saves PDFs)
    About        RunAbout   about()   the versions running and the policy in use

Its worksheet functions are imported from here too ("UDF Modules" in the add-in's
settings). This module is therefore top level and installed with hmis-licensing, so Excel
finds it in the Python that `hmis-licensing excel install` wrote into the add-in, whatever
folder the workbook is in. The work itself is in `workbook.excel.book` (the buttons) and
`workbook.excel.udfs` (the functions), which Excel on the web (`workbook.excel.lite`) shares.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
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
    "about",
    "check",
    "main",
    "packet",
]

if TYPE_CHECKING:
    from workbook.review.commands import WrittenPacket
    from workbook.run import Outcome

TITLE = "HMIS Licensing"
RAN_FROM_PACKET = "Excel (Packet button)"
RAN_FROM_CHECK = "Excel (Check button)"


def main() -> None:
    """Recalculate the active workbook (the Recalculate button) and say what came of it."""

    def recalculated(book: object) -> str:
        from workbook.excel.book import recalculate, summary, workbook_folder_of

        folder = workbook_folder_of(_full_name(book))
        return summary(recalculate(book, workbook_folder=folder))  # type: ignore[arg-type]

    _button(
        recalculated,
        button="Recalculate",
        instead="`hmis-licensing recalc WORKBOOK`",
        stopped="The recalculation stopped.",
        failed="Some result sheets may be incomplete: press Recalculate again, and please"
        " report this.",
    )


def check() -> None:
    """Run the checks on the active workbook and show its problems (the Check button).

    Nothing is written: not the result sheets, not the Run Log. The same as `hmis-licensing
    check`, on the workbook as it is open now (unsaved edits included).
    """
    from workbook.excel.book import problems_summary

    _button(
        lambda book: problems_summary(evaluate_book(book, RAN_FROM_CHECK)),
        button="Check",
        instead="`hmis-licensing check WORKBOOK`",
        stopped="The check stopped.",
        failed="Nothing was written.",
    )


def about() -> None:
    """Say which hmis-licensing, xlwings and Python run, and which policy the workbook uses."""
    from workbook.excel.book import about_text

    _button(
        lambda book: about_text(evaluate_book(book, RAN_FROM_CHECK), versions()),
        button="About",
        instead="`hmis-licensing excel status`",
        stopped="hmis-licensing cannot read this workbook.",
        failed="",
    )


def packet() -> None:
    """Write both committees' packets beside the active workbook (the Packet button).

    The packets are made from the workbook as it is open now (unsaved edits included),
    through the same code as `hmis-licensing packet`; nothing is written into the
    workbook. Desktop Excel only: Excel on the web and xlwings Lite have no folder to
    save a file in.
    """
    _button(
        lambda book: packet_summary(*book_packets(book, _full_name(book))),
        button="Packet",
        instead="`hmis-licensing packet WORKBOOK --committee performance`",
        stopped="No packet was written.",
        failed="No packet was written.",
    )


def versions() -> list[tuple[str, str]]:
    """The versions About shows, and `excel status` checks."""
    import platform
    import sys

    import xlwings

    from engine import ENGINE_VERSION

    return [
        ("hmis-licensing", ENGINE_VERSION),
        ("xlwings", xlwings.__version__),
        ("Python", f"{platform.python_version()} ({sys.executable})"),
    ]


def _button(
    compute: Callable[[object], str], *, button: str, instead: str, stopped: str, failed: str
) -> None:
    """Run one ribbon button on the active workbook and show what came of it in Excel.

    A problem of the workbook or the policy is a message; a bug is a plain message too,
    never a traceback in Excel (HMIS_LICENSING_DEBUG=1 shows the traceback).
    """
    import xlwings as xw

    from engine.errors import HmisLicensingError

    try:
        # From the add-in, the caller is the active workbook, not the add-in itself.
        book = xw.Book.caller()
    except Exception:
        raise SystemExit(
            f"This works on the workbook that is active in Excel: click {button} on the HMIS"
            f" Licensing tab, or run {instead}."
        ) from None
    try:
        message = compute(book)
    except HmisLicensingError as exc:
        message = f"{stopped}\n{exc}"
    except Exception as exc:  # a bug: a plain message in Excel instead of a traceback
        if os.environ.get("HMIS_LICENSING_DEBUG"):
            raise
        message = f"Internal error ({type(exc).__name__}: {exc}). {failed}".strip()
    book.app.alert(message, title=TITLE)


def evaluate_book(book: object, ran_from: str) -> Outcome:
    """The open workbook read and judged as Recalculate would, without writing anything."""
    from workbook.excel.book import read_book, workbook_folder_of
    from workbook.run import evaluate

    return evaluate(
        read_book(book),  # type: ignore[arg-type]
        workbook_folder=workbook_folder_of(_full_name(book)),
        today=dt.date.today(),
        now=dt.datetime.now(),
        ran_from=ran_from,
    )


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
    from workbook.run import as_of_words

    lines = [f"As of {as_of_words(outcome.as_of, outcome.cells)}. Saved beside the workbook:"]
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
