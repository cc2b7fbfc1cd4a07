"""Recalculate inside Excel: the same run as `hmis-licensing recalc`, through xlwings.

    outcome = recalculate(book)        # book: an xlwings.Book, from any xlwings client

One function serves the desktop ribbon button (classic xlwings), xlwings Server and
xlwings Lite (Excel on the web, Mac without Python). It therefore keeps to the part of the
xlwings API that every client implements (shared/research/xlwings.md §4): it reads cell
values, then writes whole blocks of values, clears sheets, adds and renames sheets, sets
number formats, fills the header colour and autofits columns. It never uses `.api`,
`Book.caller()` or `fullname`, and never reads back what it wrote (remote clients apply
the writes only after Python has returned).

Everything between reading and writing is `workbook.run.evaluate`, the function the
command line uses, so the button writes the same cells as `recalc` for the same inputs,
policy and date. The policy and as-of date come from the Settings sheet; where the policy
can come from in Excel is described in `workbook.run` and the README.

xlwings is imported only for type checking: this module works on any object with the
xlwings Book API, and importing it never needs xlwings.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from workbook.collector import collector_paused
from workbook.layout import (
    APPENDED_SHEETS,
    INPUT_SHEETS,
    MAX_ROWS,
    NUMBER_FORMATS,
    POLICY_SHEET,
    RUN_LOG,
    ResultSheet,
    continuation_name,
    continuation_number,
    header_key,
)
from workbook.presentation import (
    HEADER_FILL,
    MARK_FILLS,
    cell_text,
    header_row,
    row_mark,
    shown_title,
    titled,
)
from workbook.results import ResultTable
from workbook.run import Outcome, as_of_words, evaluate
from workbook.tables import WorkbookSnapshot, join_continuations
from workbook.values import EXCEL_ERRORS, CellError, error_value

if TYPE_CHECKING:
    import xlwings as xw

HEADER_COLOUR = "#" + HEADER_FILL[2:]  # the header fill the headless writer uses
RAN_FROM_DESKTOP = "Excel (Recalculate button)"
RAN_FROM_LITE = "Excel (xlwings Lite)"

# The sheets whose values a run reads (the inputs, the Policy sheet, and the appended
# sheets: Findings History is the review's memory, the Run Log where its next row goes);
# the others (result sheets, notes, charts) are only named in the snapshot, which saves
# reading thousands of result cells over COM or JSON.
_READ = {
    header_key(name)
    for name in (*(s.name for s in INPUT_SHEETS), *(s.name for s in APPENDED_SHEETS), POLICY_SHEET)
}


def recalculate(
    book: xw.Book,
    *,
    workbook_folder: Path | None = None,
    policy_file: Path | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    ran_from: str = RAN_FROM_DESKTOP,
) -> Outcome:
    """Read the book's input sheets, run the policy, write the result sheets and Run Log.

    `workbook_folder` is where a relative Policy File (Settings sheet) and a policy.yaml
    beside the workbook are looked for; None where Excel gives no folder (Excel on the
    web, xlwings Lite, an unsaved workbook). Returns the Outcome for the caller to report.
    """
    with collector_paused():  # workbook/collector.py: why
        snapshot = read_book(book)
        outcome = evaluate(
            snapshot,
            workbook_folder=workbook_folder,
            policy_file=policy_file,
            today=today or dt.date.today(),
            now=now or dt.datetime.now(),
            ran_from=ran_from,
        )
        write_outcome(book, outcome, snapshot)
    return outcome


# --------------------------------------------------------------------------- reading


def read_book(book: xw.Book) -> WorkbookSnapshot:
    """Every sheet by title, with the values of those a run reads (inputs, Policy, Run Log,
    Findings History)."""
    sheets: dict[str, list[list[object]]] = {}
    for sheet in book.sheets:
        read = header_key(sheet.name) in _READ or _continued(sheet.name) is not None
        sheets[sheet.name] = sheet_values(sheet) if read else []
    join_continuations(sheets, {})  # "Run Log 2", ... as more rows of Run Log, as recalc reads
    return WorkbookSnapshot(sheets)


def _continued(title: str) -> int | None:
    """The continuation number of an appended sheet's continuation ("Findings History 2"),
    else None."""
    for spec in APPENDED_SHEETS:
        number = continuation_number(spec.name, title)
        if number is not None and number > 1:
            return number
    return None


def sheet_values(sheet: xw.Sheet) -> list[list[object]]:
    """The sheet's values from A1 to its last used cell, normalized (see `normalize`).

    Read from A1 rather than from the used range itself: desktop Excel's used range
    starts at the first used cell, which need not be A1, while rows and columns must keep
    their numbers for problems to name the right cell.
    """
    rows, columns = _extent(sheet)
    return _read(sheet, sheet.range((1, 1), (rows, columns)))


def _read(sheet: xw.Sheet, block: xw.Range) -> list[list[object]]:
    """The block's values as rows, normalized; never an exception for what a cell holds."""
    if sheet.book.app.engine.name == "remote":  # the JSON a client sent (Server, Lite)
        return [[normalize(_from_payload(value)) for value in row] for row in block.raw_value]
    values = block.options(ndim=2, err_to_str=True).value
    return [[normalize(value) for value in row] for row in values]


# How the Office.js and VBA clients send a date cell: its wall clock, as ISO text with
# milliseconds and a "Z" (shared/research/xlwings.md §3).
_PAYLOAD_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def _from_payload(value: object) -> object:
    """One cell of a client's JSON as the remote engine's `.value` would give it, but
    with only the clients' own date encoding read as a date.

    xlwings' remote engine reads any text shaped like an ISO date-time as a date, by
    cutting its last character off (the "Z" it expects): "2026-11-02T08:15:00" typed as
    text becomes a ValueError that stops the run, and "...-05:00" too. Here such text stays
    text, which the reader then judges as it judges the same text in the file (a date in
    a date column, text in a text column), so the button reads what `recalc` reads.
    A text cell holding exactly the clients' encoding cannot be told from a date.
    """
    if value == "":
        return None
    if isinstance(value, str) and _PAYLOAD_DATE.match(value):
        try:
            return dt.datetime.fromisoformat(value[:-1])
        except ValueError:  # no such day, or year 0: text no client sends for a date
            return value
    return value


def _extent(sheet: xw.Sheet) -> tuple[int, int]:
    """The row and column of the sheet's last used cell (counted from A1).

    xlwings' remote engine (xlwings Server and Lite) has `used_range` from 0.37.0 on; the
    0.33.15 that new xlwings Lite workbooks name in requirements.txt raises
    NotImplementedError. There, and only there, the sheet is the JSON the client sent,
    whose values run from A1 to the last used cell, which is all `used_range` reads too.
    """
    try:
        last = sheet.used_range.last_cell
    except NotImplementedError:
        values = sheet.api["values"]  # the remote engine's sheet: the client's JSON
        return max(len(values), 1), max((len(row) for row in values), default=1) or 1
    return last.row, last.column


def normalize(value: object) -> object:
    """One cell as the openpyxl reader would give it, whatever the xlwings client sent.

    ISO date strings ("2026-05-31T00:00:00.000Z") are already datetimes and "" or null
    None (`_from_payload` on the remote engine, xlwings itself elsewhere). What is left:
    NaN (None), text that is only spaces (left as text; the reader treats it as blank),
    datetimes with a time zone (wall clock kept), and Excel serial numbers, which old
    Office.js and VBA clients send for dates and which stay numbers here: only a date
    column knows it holds a date (workbook/values.py).
    An error value (#N/A, #REF!, ...), which xlwings hands over as its text, is the same
    unusable cell the file reader reports (SPEC §3), never a name or a region.
    """
    if isinstance(value, str) and value in EXCEL_ERRORS:
        return error_value(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value


# --------------------------------------------------------------------------- writing


def write_outcome(book: xw.Book, outcome: Outcome, snapshot: WorkbookSnapshot) -> None:
    """Replace each result sheet whole, append to Run Log and Findings History, and keep
    the user's sheet active.

    The order is the headless writer's (workbook/xlsx/write.py), so that sheets a run adds
    come in the same order: the replaced sheets, then Run Log, then Findings History.
    """
    active = book.sheets.active.index  # sheets are only ever added after the last one
    appended = [t for t in outcome.tables if t.sheet in APPENDED_SHEETS]
    for table in outcome.tables:
        if table.sheet not in APPENDED_SHEETS:
            replace_sheet(book, table)
    if outcome.run_log is not None:
        append_rows(book, RUN_LOG, [outcome.run_log.row()], snapshot)
    for table in appended:
        append_rows(book, table.sheet, table.rows, snapshot)
    book.sheets[active - 1].activate()


def replace_sheet(book: xw.Book, table: ResultTable) -> None:
    """Clear the result sheet (adding it if missing) and write title, header and rows as
    one block, the same cells the headless writer writes.

    What every xlwings client can do is done: values, number formats, the header and
    highlight colours, autofit. Bold, wrapping, widths, print setup and the chart are not
    in the VBA and Office.js clients' API (shared/research/xlwings.md §4); their absence
    changes how the sheet looks, never a value.
    """
    declared = table.sheet
    sheet = _find_sheet(book, declared.name)
    if table.held_back is not None:
        if sheet is not None:
            _retitle(sheet, table)
        return
    if sheet is None:
        sheet = book.sheets.add(name=declared.name, after=book.sheets[len(book.sheets) - 1])
    elif sheet.name != declared.name:
        sheet.name = declared.name
    sheet.clear()
    width = len(declared.columns)
    block = []
    if titled(declared):
        block.append([cell_value(table.title or None)] + [None] * (width - 1))
    block.append([cell_value(h) for h in declared.headers])
    block += [[cell_value(v) for v in row] for row in table.rows]
    head = header_row(declared)
    sheet.range((1, 1), (len(block), width)).value = block
    sheet.range((head, 1), (head, width)).color = HEADER_COLOUR
    if table.rows:
        _number_formats(sheet, declared, first_row=head + 1, last_row=len(block))
    for offset, row in enumerate(table.rows):
        fill = MARK_FILLS.get(row_mark(declared, row))
        if fill is not None:
            number = head + 1 + offset
            sheet.range((number, 1), (number, width)).color = "#" + fill[2:]
    sheet.range((head, 1), (len(block), width)).columns.autofit()


def _retitle(sheet: xw.Sheet, table: ResultTable) -> None:
    """A held-back sheet keeps its rows; only a title line above a header says why."""
    top = [
        [None if isinstance(v, CellError) else v for v in row]  # an error shows no title
        for row in _read(sheet, sheet.range((1, 1), (2, 2)))
    ]
    if top[0][0] is not None and top[0][1] is None and top[1][1] is not None:
        kept = top[0][0] if isinstance(top[0][0], str) else ""
        title = shown_title(table.title, table.held_back, kept=kept, as_of=table.as_of)
        sheet.range((1, 1)).value = cell_value(title)


def append_rows(
    book: xw.Book,
    declared: ResultSheet,
    rows: Sequence[Sequence[object]],
    snapshot: WorkbookSnapshot,
) -> None:
    """Add rows below the last used row of an appended sheet (Run Log, Findings History),
    adding the sheet, or the headers it lacks, if missing.

    Such a sheet is never replaced: it is the record of every run. Its columns are found
    by header like an input sheet's, so a column a person moved or added is respected. All
    the rows go in one block, whatever their number.
    """
    sheet = _find_sheet(book, declared.name)
    grid: list[list[object]] = []
    continued = sorted(
        (number, s.index, s)
        for s in book.sheets
        if (number := continuation_number(declared.name, s.name)) is not None and number > 1
    )
    number = 1
    if continued:  # full sheets continue on "Run Log 2", ...: new rows go on the latest
        number, _, sheet = continued[-1]
        grid = sheet_values(sheet)
    elif sheet is None:
        sheet = book.sheets.add(name=declared.name, after=book.sheets[len(book.sheets) - 1])
    else:
        grid = snapshot.sheets.get(sheet.name, [])
    if grid and max(_last_used_row(grid), 1) + len(rows) > MAX_ROWS:  # full: the next one
        sheet = book.sheets.add(
            name=continuation_name(declared.name, number + 1),
            after=book.sheets[len(book.sheets) - 1],
        )
        grid = []
    top = grid[0] if grid else []
    positions = {header_key(h): i for i, h in enumerate(top) if not _blank(h)}
    next_column = max(positions.values(), default=-1) + 1
    for column in declared.columns:
        if header_key(column.header) not in positions:
            positions[header_key(column.header)] = next_column
            cell = sheet.range((1, next_column + 1))
            cell.value = cell_value(column.header)
            cell.color = HEADER_COLOUR
            next_column += 1
    if not rows:
        return
    places = [positions[header_key(c.header)] for c in declared.columns]
    first = max(_last_used_row(grid), 1) + 1
    last = first + len(rows) - 1
    block: list[list[object]] = []
    for values in rows:
        row: list[object] = [None] * (max(places) + 1)
        for place, value in zip(places, values, strict=True):
            row[place] = cell_value(value)
        block.append(row)
    sheet.range((first, 1), (last, len(block[0]))).value = block
    for place, column in zip(places, declared.columns, strict=True):
        if column.kind in NUMBER_FORMATS:
            target = sheet.range((first, place + 1), (last, place + 1))
            target.number_format = NUMBER_FORMATS[column.kind]


def cell_value(value: object) -> object:
    """A result value as every xlwings client writes it faithfully.

    Text gets a leading apostrophe, Excel's own mark for "this is text": without it Excel
    would turn "=..." into a formula (formula injection from a name in an export), "1.0"
    into a number, "2026-05-31" into a date and "001" into 1, and the VBA client would
    turn date-like text into dates. Excel keeps the apostrophe out of the value. Control
    characters an .xlsx file cannot hold are dropped and text over Excel's 32,767
    characters is shortened (ending in "…"), as the headless writer does
    (`workbook.presentation.cell_text`): Excel refuses a longer value.
    Decimals (money) become numbers; dates and datetimes stay dates.
    """
    if isinstance(value, str):
        return "'" + cell_text(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _number_formats(sheet: xw.Sheet, declared: ResultSheet, first_row: int, last_row: int) -> None:
    for index, column in enumerate(declared.columns, start=1):
        if column.kind in NUMBER_FORMATS:
            target = sheet.range((first_row, index), (last_row, index))
            target.number_format = NUMBER_FORMATS[column.kind]


def _find_sheet(book: xw.Book, name: str) -> xw.Sheet | None:
    """The sheet the headless writer would replace: same name, ignoring case and spaces."""
    wanted = name.casefold()
    for sheet in book.sheets:
        if sheet.name.strip().casefold() == wanted:
            return sheet
    return None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _last_used_row(grid: Sequence[Sequence[object]]) -> int:
    for index in range(len(grid), 0, -1):
        if any(not _blank(v) for v in grid[index - 1]):
            return index
    return 0


# --------------------------------------------------------------------------- reporting


def workbook_folder_of(fullname: str) -> Path | None:
    """The local folder of a workbook from desktop Excel's full name, if it has one.

    An unsaved workbook's full name has no folder ("Book1"), and a OneDrive or SharePoint
    workbook xlwings cannot map to a synced folder is a URL: neither gives a folder.
    """
    if not fullname or "://" in fullname:
        return None
    path = Path(fullname)
    return path.parent if path.is_absolute() else None


def summary(outcome: Outcome) -> str:
    """What a person needs to know after pressing Recalculate, in a few lines."""
    lines = [f"As of {as_of_words(outcome.as_of, outcome.cells)}."]
    if outcome.policy is not None:
        lines.append(
            f"Policy: {outcome.policy.name}, version {outcome.policy.version}"
            f" ({outcome.policy_file.origin})."
        )
    else:
        lines.append(f"The policy ({outcome.policy_file.value}) cannot be used.")
    results = outcome.results
    if results is not None and "decisions" not in results.held_back:
        lines.append(
            f"{results.licenses_judged} active licenses judged;"
            f" {len(results.revocations)} eligible for revocation."
        )
    errors, warnings = len(outcome.errors), len(outcome.warnings)
    if errors:
        # As `recalc` says it: an Error holds back only the sheets it affects (SPEC §3).
        held = [t.sheet.name for t in outcome.tables if t.held_back is not None]
        lines.append(f"{errors} error(s) and {warnings} warning(s): see the Problems sheet.")
        if held:
            lines.append(
                f"Held back until the errors are fixed (they keep their last good content):"
                f" {', '.join(held)}. The other result sheets were written."
            )
        else:
            lines.append(
                "Every result sheet was written: the errors only set aside the rows the"
                " Problems sheet names."
            )
    elif warnings:
        lines.append(f"{warnings} warning(s): see the Problems sheet.")
    else:
        lines.append("No problems.")
    return "\n".join(lines)


PROBLEMS_SHOWN = 8  # a message box holds about 1,000 characters


def problems_summary(outcome: Outcome) -> str:
    """What the Check button says: the problems, as on the Problems sheet, nothing written."""
    errors, warnings = len(outcome.errors), len(outcome.warnings)
    shown_as_of = outcome.as_of.value or as_of_words(outcome.as_of, outcome.cells)
    lines = [
        f"Check only: nothing was written. As of {shown_as_of}; policy"
        f" {outcome.policy.version if outcome.policy else outcome.policy_file.value}.",
    ]
    if not outcome.problems:
        lines.append("No problems: Recalculate would write every result sheet.")
        return "\n".join(lines)
    lines.append(f"{errors} error(s) and {warnings} warning(s):")
    for problem in outcome.problems[:PROBLEMS_SHOWN]:
        sheet, cell = outcome.cells.cell(problem.where)
        where = f"{sheet}!{cell}" if cell else sheet
        text = f"{problem.severity}: {where + ': ' if where else ''}{problem.problem}"
        lines.append(text if len(text) <= 200 else text[:199] + "…")
    if len(outcome.problems) > PROBLEMS_SHOWN:
        lines.append(
            f"... and {len(outcome.problems) - PROBLEMS_SHOWN} more: press Recalculate to list"
            " them all on the Problems sheet (with how to fix each)."
        )
    return "\n".join(lines)


def about_text(outcome: Outcome, versions: Sequence[tuple[str, str]]) -> str:
    """What the About button says: the versions running, and the policy this workbook uses."""
    lines = [f"{name} {version}" for name, version in versions]
    policy = outcome.policy
    if policy is not None:
        lines += [
            "",
            f"Policy in use: {policy.name}, version {policy.version}, effective"
            f" {policy.effective_date}, SHA-256 {policy.sha256[:12]}",
            f"  from {outcome.policy_file.value} ({outcome.policy_file.origin})",
        ]
    else:
        lines += ["", f"The policy ({outcome.policy_file.value}) cannot be used:"]
        lines += [p.problem for p in outcome.errors[:2]]
    lines.append(f"As of: {as_of_words(outcome.as_of, outcome.cells)}")
    return "\n".join(lines)
