"""The openpyxl reference reader and writer: what `recalc` did before the zip writer.

The product reads with python-calamine (workbook/xlsx/read.py) and writes with the
byte-preserving zip writer (workbook/xlsx/write.py), which keeps what openpyxl drops. This
module is not part of the product: the tests compare against it (and show what openpyxl
loses), and benchmarks/recalc_io.py times it.

Writing is kept behind `save_results(source, destination, tables, run_log)` so that the
way bytes reach the file can change without the rest of the program noticing. The save
is atomic: the new workbook is written to a temporary file beside the destination and
moved over it in one step, so a crash leaves either the old file or the new one.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from workbook.errors import WorkbookError
from workbook.layout import (
    LINE_HEIGHT,
    NUMBER_FORMATS,
    RUN_LOG,
    WRAP_WIDTH,
    ResultSheet,
    row_height,
)
from workbook.results import ResultTable, RunLogEntry
from workbook.tables import WorkbookSnapshot
from workbook.xlsx.package import check_workbook_file
from workbook.xlsx.safesave import atomic_write

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.workbook.workbook import Workbook
    from openpyxl.worksheet.worksheet import Worksheet


def read_snapshot(path: Path) -> WorkbookSnapshot:
    """Every sheet's cached values (formulas as their last calculated value)."""
    import openpyxl

    check_workbook_file(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise WorkbookError(
            f"{path}: cannot be read as an Excel workbook ({exc}).",
            fix="Open it in Excel and save it again as Excel Workbook (.xlsx).",
        ) from None
    try:
        sheets = {}
        for worksheet in book.worksheets:
            sheets[worksheet.title] = [list(row) for row in worksheet.iter_rows(values_only=True)]
        return WorkbookSnapshot(sheets)
    finally:
        book.close()


def save_results(
    source: Path,
    destination: Path,
    tables: Sequence[ResultTable],
    run_log: RunLogEntry,
) -> None:
    """Replace the result sheets (appending to Run Log) and save atomically."""
    import openpyxl

    keep_vba = source.suffix.lower() == ".xlsm"
    try:
        book = openpyxl.load_workbook(source, keep_vba=keep_vba)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise WorkbookError(f"{source}: cannot be opened for writing ({exc}).") from None
    for table in tables:
        _replace_sheet(book, table.sheet, table.rows)
    _append_run_log(book, run_log)
    buffer = io.BytesIO()
    try:
        book.save(buffer)
    finally:
        if book.vba_archive is not None:  # keep_vba leaves the source archive open
            book.vba_archive.close()
    atomic_write(destination, buffer.getvalue())


def _style_header(cell: Cell) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    cell.font = Font(bold=True)
    cell.fill = PatternFill("solid", fgColor="DDE4EE")
    cell.alignment = Alignment(wrap_text=True, vertical="top")


def _set_text_or_value(cell: Cell, value: object) -> None:
    """Write a value; text always stays text, never a formula (no `=...` injection)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.value = value
        cell.data_type = "s"
    else:
        cell.value = value


def _replace_sheet(book: Workbook, sheet: ResultSheet, rows: Sequence[Sequence[object]]) -> None:
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    existing = _find_sheet(book, sheet.name)
    if existing is not None:
        index = book.worksheets.index(existing)
        book.remove(existing)
        worksheet = book.create_sheet(sheet.name, index)
    else:
        worksheet = book.create_sheet(sheet.name)
    for col, column in enumerate(sheet.columns, start=1):
        cell = worksheet.cell(row=1, column=col)
        _set_text_or_value(cell, column.header)
        _style_header(cell)
        worksheet.column_dimensions[get_column_letter(col)].width = column.width
    worksheet.row_dimensions[1].height = 2 * LINE_HEIGHT  # headers wrap onto two lines
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    for r, values in enumerate(rows, start=2):
        for col, (column, value) in enumerate(zip(sheet.columns, values, strict=True), start=1):
            cell = worksheet.cell(row=r, column=col)
            _set_text_or_value(cell, value)
            if column.kind in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[column.kind]
            cell.alignment = wrap if column.width >= WRAP_WIDTH else top
        height = row_height(sheet.columns, tuple(values))
        if height is not None:
            worksheet.row_dimensions[r].height = height
    worksheet.freeze_panes = "A2"
    last = get_column_letter(len(sheet.columns))
    worksheet.auto_filter.ref = f"A1:{last}{max(1, len(rows) + 1)}"
    _print_landscape_fit_to_width(worksheet)


def _print_landscape_fit_to_width(worksheet: Worksheet) -> None:
    """Result sheets get printed for committee meetings: one page wide, header repeated."""
    worksheet.page_setup.orientation = "landscape"
    worksheet.page_setup.fitToWidth = 1
    worksheet.page_setup.fitToHeight = 0
    worksheet.sheet_properties.pageSetUpPr.fitToPage = True
    worksheet.print_title_rows = "1:1"


def _find_sheet(book: Workbook, name: str) -> Worksheet | None:
    for worksheet in book.worksheets:
        if worksheet.title.strip().casefold() == name.casefold():
            return worksheet
    return None


def _append_run_log(book: Workbook, entry: RunLogEntry) -> None:
    from openpyxl.utils import get_column_letter

    worksheet = _find_sheet(book, RUN_LOG.name)
    if worksheet is None:
        worksheet = book.create_sheet(RUN_LOG.name)
    headers = {
        str(c.value).strip().casefold(): c.column for c in worksheet[1] if c.value is not None
    }
    next_free = max(headers.values(), default=0) + 1
    for column in RUN_LOG.columns:
        if column.header.casefold() not in headers:
            cell = worksheet.cell(row=1, column=next_free)
            _set_text_or_value(cell, column.header)
            _style_header(cell)
            worksheet.column_dimensions[get_column_letter(next_free)].width = column.width
            headers[column.header.casefold()] = next_free
            next_free += 1
    row = worksheet.max_row + 1
    for column, value in zip(RUN_LOG.columns, entry.row(), strict=True):
        cell = worksheet.cell(row=row, column=headers[column.header.casefold()])
        _set_text_or_value(cell, value)
        if column.kind in NUMBER_FORMATS:
            cell.number_format = NUMBER_FORMATS[column.kind]
    worksheet.freeze_panes = "A2"
