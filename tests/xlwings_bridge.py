"""Excel's side of an xlwings call, played from real .xlsx files instead of a live Excel.

An xlwings client (the Office.js add-in, the VBA `RunServerPython` module, xlwings Lite)
sends the workbook's values as JSON, Python answers with a list of actions, and the client
applies them to the workbook. Here:

* `payload_from_xlsx` builds the JSON a client would send from a real .xlsx file, in the
  client's own dialect: Office.js sends dates as ISO strings ("2026-05-31T00:00:00.000Z")
  and blanks as ""; the VBA client and Office.js before ExcelApi 1.12 send dates as Excel
  serial numbers, and the VBA client sends blanks as null. Numbers are always floats.
* `apply_actions` applies `book.json()["actions"]` to an openpyxl copy of the same file the
  way Excel applies them: a string set as a value is read as Excel would read it typed in
  (a leading apostrophe means text; "2026-05-31" becomes a date, "12" a number, "TRUE" a
  boolean, "=..." a formula), clears clear, number formats format. Text over Excel's
  32,767-character cell limit raises, as Excel refuses it. An action this module
  does not know raises, so a new kind of write can never pass a test unnoticed.

Reference: shared/research/xlwings.md §3 (payload keys, dates and blanks per client) and
the clients' own code in xlwings (addin/Remote.bas, js/xlwings.js).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

EXCEL_EPOCH = dt.datetime(1899, 12, 30)

OFFICE_JS = {"client": "Office.js", "dates": "iso", "blank": ""}
OFFICE_JS_2019 = {"client": "Office.js", "dates": "serial", "blank": ""}  # before ExcelApi 1.12
VBA = {"client": "VBA", "dates": "serial", "blank": None}
CLIENTS = {"Office.js": OFFICE_JS, "Office.js (Excel 2019)": OFFICE_JS_2019, "VBA": VBA}


# ------------------------------------------------------------------------ the request


def payload_from_xlsx(path: Path, *, client: Mapping[str, Any] = OFFICE_JS) -> dict[str, Any]:
    """The JSON an xlwings client sends for this workbook (cached values, not formulas)."""
    import xlwings

    book = openpyxl.load_workbook(path, data_only=True)
    try:
        sheets = [
            {
                "name": sheet.title,
                "values": _sheet_values(sheet, client),
                "pictures": [],
                "tables": [],
            }
            for sheet in book.worksheets
        ]
        active = book.worksheets.index(book.active) if book.active is not None else 0
    finally:
        book.close()
    return {
        "client": client["client"],
        # Non-Office.js clients must send exactly the Python side's xlwings version.
        "version": xlwings.__version__,
        "book": {"name": path.name, "active_sheet_index": active, "selection": "A1"},
        "names": [],
        "sheets": sheets,
    }


def _sheet_values(sheet: Worksheet, client: Mapping[str, Any]) -> list[list[object]]:
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    if not rows or not any(rows):
        return [[client["blank"]]]
    width = max(len(r) for r in rows)
    return [[_sent(v, client) for v in r + [None] * (width - len(r))] for r in rows]


def _sent(value: object, client: Mapping[str, Any]) -> object:
    if value is None:
        return client["blank"]
    if isinstance(value, dt.time):
        value = dt.datetime.combine(EXCEL_EPOCH.date(), value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(0))
    if isinstance(value, dt.datetime):
        if client["dates"] == "serial":
            return (value - EXCEL_EPOCH).total_seconds() / 86400
        return value.isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    return value


# ----------------------------------------------------------------------- the response

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


# Excel's own limit on the text of one cell, in UTF-16 code units ("Excel specifications
# and limits"); stated here as Excel's fact, not taken from the code under test.
EXCEL_CELL_LIMIT = 32_767


class ExcelRefuses(AssertionError):
    """A write Excel itself would refuse (Office.js: InvalidArgument; VBA: a run-time error)."""


def excel_reads(cell: Cell, value: object) -> None:
    """Set a cell as Excel does when a client sets `range.values` (Office.js, VBA, COM)."""
    if value is None or value == "":
        cell.value = None
        return
    if not isinstance(value, str):
        cell.value = value
        return
    text = value[1:] if value.startswith("'") else value
    if len(text.encode("utf-16-le")) // 2 > EXCEL_CELL_LIMIT:
        raise ExcelRefuses(f"{cell.coordinate}: {len(text):,} characters, over Excel's limit")
    if value.startswith("'"):
        cell.value = value[1:]
        cell.data_type = "s"
    elif value.startswith("="):
        cell.value = value  # a formula: what text must never become
    elif _ISO_DATE.match(value):
        cell.value = dt.datetime.fromisoformat(value)
        if cell.number_format == "General":
            cell.number_format = "yyyy-mm-dd"
    elif _ISO_DATETIME.match(value):
        cell.value = dt.datetime.fromisoformat(value)
        if cell.number_format == "General":
            cell.number_format = "yyyy-mm-dd h:mm"
    elif _NUMBER.match(value.strip()):
        number = float(value)
        cell.value = int(number) if number.is_integer() else number
    elif value.strip().upper() in ("TRUE", "FALSE"):
        cell.value = value.strip().upper() == "TRUE"
    else:
        cell.value = value
        cell.data_type = "s"


def _cells(sheet: Worksheet, action: Mapping[str, Any]) -> Iterable[Cell]:
    rows, columns = action["row_count"], action["column_count"]
    rows = min(rows, max(sheet.max_row - action["start_row"], 1)) if rows > 100_000 else rows
    for r in range(rows):
        for c in range(columns):
            yield sheet.cell(action["start_row"] + 1 + r, action["start_column"] + 1 + c)


def _all_cells(sheet: Worksheet) -> Iterable[Cell]:
    for row in sheet.iter_rows():
        yield from row


def _clear_contents(cells: Iterable[Cell]) -> None:
    for cell in cells:
        cell.value = None


def _clear_formats(cells: Iterable[Cell]) -> None:
    for cell in cells:
        cell.number_format = "General"
        cell.fill = PatternFill()
        cell.font = Font()
        cell.alignment = Alignment()


def _set_values(book: Workbook, action: Mapping[str, Any]) -> None:
    sheet = book.worksheets[action["sheet_position"]]
    values = action["values"]
    assert len(values) == action["row_count"]
    for r, row in enumerate(values):
        assert len(row) == action["column_count"]
        for c, value in enumerate(row):
            cell = sheet.cell(action["start_row"] + 1 + r, action["start_column"] + 1 + c)
            excel_reads(cell, value)


def _sheet_of(book: Workbook, action: Mapping[str, Any]) -> Worksheet:
    return book.worksheets[action["sheet_position"]]


def _range_of(book: Workbook, action: Mapping[str, Any]) -> Iterable[Cell]:
    return list(_cells(_sheet_of(book, action), action))


def _number_format(book: Workbook, action: Mapping[str, Any]) -> None:
    for cell in _range_of(book, action):
        cell.number_format = action["args"][0]


def _colour(book: Workbook, action: Mapping[str, Any]) -> None:
    colour = action["args"][0].lstrip("#").upper()
    for cell in _range_of(book, action):
        cell.fill = PatternFill("solid", fgColor=colour)


def _add_sheet(book: Workbook, action: Mapping[str, Any]) -> None:
    index, name = action["args"]
    book.create_sheet(name, index)


def _rename(book: Workbook, action: Mapping[str, Any]) -> None:
    _sheet_of(book, action).title = action["args"][0]


def _activate(book: Workbook, action: Mapping[str, Any]) -> None:
    book.active = action["sheet_position"]


def _autofit(book: Workbook, action: Mapping[str, Any]) -> None:
    """Column widths are display only; Excel measures text, here nothing is compared."""
    assert action["args"][0] in ("columns", "rows", "cells", None), action


def _sheet_clear(book: Workbook, action: Mapping[str, Any]) -> None:
    cells = list(_all_cells(_sheet_of(book, action)))
    _clear_contents(cells)
    _clear_formats(cells)


def _range_clear(book: Workbook, action: Mapping[str, Any]) -> None:
    cells = list(_range_of(book, action))
    _clear_contents(cells)
    _clear_formats(cells)


ALERTS: list[tuple[str, str]] = []  # (title, message) of every message box shown


def _alert(book: Workbook, action: Mapping[str, Any]) -> None:
    prompt, title = action["args"][:2]
    assert isinstance(prompt, str) and prompt.strip(), action
    ALERTS.append((title, prompt))


HANDLERS: dict[str, Callable[[Workbook, Mapping[str, Any]], None]] = {
    "setValues": _set_values,
    "sheetClear": _sheet_clear,
    "sheetClearContents": lambda b, a: _clear_contents(_all_cells(_sheet_of(b, a))),
    "sheetClearFormats": lambda b, a: _clear_formats(_all_cells(_sheet_of(b, a))),
    "rangeClear": _range_clear,
    "rangeClearContents": lambda b, a: _clear_contents(_range_of(b, a)),
    "rangeClearFormats": lambda b, a: _clear_formats(_range_of(b, a)),
    "addSheet": _add_sheet,
    "setSheetName": _rename,
    "setNumberFormat": _number_format,
    "setRangeColor": _colour,
    "setAutofit": _autofit,
    "activateSheet": _activate,
    "alert": _alert,
}


class UnknownAction(AssertionError):
    """An action the bridge cannot apply the way Excel would."""


def apply_actions(book: Workbook, actions: Sequence[Mapping[str, Any]]) -> list[str]:
    """Apply the actions in order; returns their names. Raises on an action it does not know."""
    applied = []
    for action in actions:
        handler = HANDLERS.get(action["func"])
        if handler is None:
            raise UnknownAction(f"no Excel emulation for action {action['func']!r}: {action}")
        handler(book, action)
        applied.append(action["func"])
    return applied


# ------------------------------------------------------------------ whole round trips


def recalculate_as_excel(
    source: Path,
    destination: Path,
    *,
    client: Mapping[str, Any] = OFFICE_JS,
    **options: Any,
) -> tuple[Any, list[str]]:
    """Send `source` as `client` would, run `workbook.excel.recalculate` on xlwings' remote
    engine, apply the returned actions to a copy of `source` and save it as `destination`.

    Returns the Outcome and the names of the actions applied. `options` go to recalculate.
    """
    import xlwings as xw

    from workbook.excel import recalculate

    book = xw.Book(json=payload_from_xlsx(source, client=client))
    outcome = recalculate(book, **options)
    actions = book.json()["actions"]
    copy = openpyxl.load_workbook(source)
    try:
        applied = apply_actions(copy, actions)
        copy.save(destination)
    finally:
        copy.close()
    return outcome, applied


def sheet_cells(path: Path) -> dict[str, list[list[tuple[object, str, str]]]]:
    """Every sheet as rows of (value, data type, number format), trailing blank rows dropped.

    A cell that shows nothing (no value, or empty text) is (None, "blank", "") whatever
    its type and number format.
    Fractional numbers compare equal within 1e-15 of each other: openpyxl saves floats
    with 16 significant digits (0.11089972950028013 comes back as 0.1108997295002801), the
    headless writer with all 17, and Excel shows 15.
    """
    book = openpyxl.load_workbook(path)
    try:
        sheets = {}
        for sheet in book.worksheets:
            rows = [
                [
                    (None, "blank", "")
                    if c.value is None or c.value == ""
                    else (_shown(c.value), c.data_type, c.number_format)
                    for c in row
                ]
                for row in sheet.iter_rows()
            ]
            rows = [_trim(r) for r in rows]
            while rows and not rows[-1]:
                rows.pop()
            sheets[sheet.title] = rows
        return sheets
    finally:
        book.close()


def _trim(row: list[tuple[object, str, str]]) -> list[tuple[object, str, str]]:
    while row and row[-1][1] == "blank":
        row = row[:-1]
    return row


class Fraction:
    """A float that equals another within Excel's precision (see `sheet_cells`)."""

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, value: float) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Fraction) and math.isclose(
            self.value, other.value, rel_tol=1e-15, abs_tol=1e-300
        )

    def __repr__(self) -> str:
        return repr(self.value)


def _shown(value: object) -> object:
    if isinstance(value, float) and not value.is_integer():
        return Fraction(value)
    return value
