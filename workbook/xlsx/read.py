"""Reading the input sheets fast with python-calamine, plus what calamine does not say.

calamine reads cell values about six times faster than openpyxl (shared/research/perf.md)
but shows two kinds of bad cell as blank: a formula whose value was never calculated (a
file written by a program that does not calculate) and an error such as #N/A. A blank
would silently change a decision, so the sheets' XML is scanned for exactly those cells
(only when the sheet has a formula or an error at all) and they arrive in the snapshot as
`CellError`s, which become Problems naming the cell. Merged ranges come from calamine.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from pathlib import Path

from workbook.errors import WorkbookError
from workbook.layout import FINDINGS_HISTORY, RESULT_SHEETS, header_key
from workbook.tables import WorkbookSnapshot
from workbook.values import CellError
from workbook.xlsx.package import XlsxPackage, check_workbook_file, open_package

_PREFIX = r"(?:[A-Za-z_][\w.-]*:)?"
# Byte strings whose absence proves a sheet has no formula and no error cell (a literal
# search is a hundred times faster than a regular expression over megabytes of XML).
_FORMULA_OR_ERROR_MARKS = (b"<f>", b"<f ", b"<f/", b":f>", b":f ", b":f/", b't="e"', b"t='e'")
_ROW = re.compile(rf"<{_PREFIX}row\b([^>]*?)(?:/>|>(.*?)</{_PREFIX}row>)".encode(), re.S)
_CELL = re.compile(rf"<{_PREFIX}c\b([^>]*?)(?:/>|>(.*?)</{_PREFIX}c>)".encode(), re.S)
_FORMULA = re.compile(rf"<{_PREFIX}f\b[^>]*?(?:/>|>(.*?)</{_PREFIX}f>)".encode(), re.S)
_VALUE = re.compile(rf"<{_PREFIX}v\b[^>]*?(?:/>|>(.*?)</{_PREFIX}v>)".encode(), re.S)
_REF = re.compile(rb'\br\s*=\s*"([A-Z]{1,3})?(\d+)?"')
_TYPE = re.compile(rb'\bt\s*=\s*"([a-zA-Z]+)"')


def read_snapshot(path: Path, sheet_names: Iterable[str] | None = None) -> WorkbookSnapshot:
    """The cell values of every worksheet but the result sheets, Findings History excepted
    (or of the sheets named).

    The result sheets are skipped because nothing reads them and they are the largest
    sheets of the workbook (thousands of rows of explanations). Blank cells are None;
    dates and date-times are `datetime` values; numbers are floats; unusable cells
    (uncalculated formulas, error values) are `CellError`s.
    """

    import python_calamine

    check_workbook_file(path)
    wanted = {header_key(n) for n in sheet_names} if sheet_names is not None else None
    # Findings History is read back: it is the monthly review's memory (SPEC §8).
    skipped = {header_key(s.name) for s in RESULT_SHEETS if s is not FINDINGS_HISTORY}
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
    except python_calamine.PasswordError:
        raise WorkbookError(
            f"{path}: is password-protected.",
            fix="Open it in Excel, remove the password (File > Info > Protect Workbook)"
            " and save it again.",
        ) from None
    except Exception as exc:  # calamine raises several unrelated types for a bad file
        raise WorkbookError(
            f"{path}: cannot be read as an Excel workbook ({_short(exc)}).",
            fix="Open it in Excel and save it again as Excel Workbook (.xlsx).",
        ) from None
    package: XlsxPackage | None = None
    try:
        sheets: dict[str, list[list[object]]] = {}
        merged: dict[str, list[tuple[int, int, int, int]]] = {}
        for meta in book.sheets_metadata:
            if meta.typ != python_calamine.SheetTypeEnum.WorkSheet:
                continue
            key = header_key(meta.name)
            if (key not in wanted) if wanted is not None else (key in skipped):
                continue
            try:
                sheet = book.get_sheet_by_name(meta.name)
                raw = sheet.to_python(skip_empty_area=False)
                ranges = sheet.merged_cell_ranges or []
            except Exception as exc:  # a damaged sheet part
                raise WorkbookError(
                    f'{path}: the sheet "{meta.name}" cannot be read ({_short(exc)}).',
                    fix="Open the workbook in Excel and save it again.",
                ) from None
            grid: list[list[object]] = [
                [None if value == "" else value for value in row] for row in raw
            ]
            if package is None:
                package = open_package(path)
            _mark_unusable_cells(package, meta.name, grid)
            sheets[meta.name] = grid
            if ranges:
                merged[meta.name] = [
                    (top + 1, left + 1, bottom + 1, right + 1)
                    for (top, left), (bottom, right) in ranges
                ]
        return WorkbookSnapshot(sheets, merged=merged)
    finally:
        book.close()
        if package is not None:
            package.close()


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _mark_unusable_cells(package: XlsxPackage, name: str, grid: list[list[object]]) -> None:
    entry = package.sheet(name)
    if entry is None or entry.part is None:
        return
    xml = package.read(entry.part)
    if not any(mark in xml for mark in _FORMULA_OR_ERROR_MARKS):
        return
    for row, column, error in unusable_cells(xml):
        while len(grid) <= row:
            grid.append([])
        line = grid[row]
        while len(line) <= column:
            line.append(None)
        line[column] = error


def unusable_cells(xml: bytes) -> list[tuple[int, int, CellError]]:
    """(0-based row, 0-based column, why) of each formula without a value and each error.

    A sheet full of calculated formulas is the common case, so the cells worth a look are
    found by literal searches (an error type, a formula with no value after it) and only
    those are parsed; a sheet written some other way (namespace prefixes, line breaks
    between elements, cells without references) is read cell by cell instead.
    """
    if b"<sheetData" not in xml or xml.count(b"\n", 0, 4096) > 3:
        return _scan_every_cell(xml)
    starts: set[int] = set()
    for mark in (b't="e"', b"</f></c>", b"<v/>", b"<v />", b"<v></v>"):
        position = xml.find(mark)
        while position >= 0:
            starts.add(xml.rfind(b"<c ", 0, position))
            position = xml.find(mark, position + 1)
    position = xml.find(b"/></c>")  # a formula that is only a reference: <f t="shared" .../>
    while position >= 0:
        cell = xml.rfind(b"<c ", 0, position)
        if xml.rfind(b"<f", 0, position) > cell:
            starts.add(cell)
        position = xml.find(b"/></c>", position + 1)
    found = []
    for start in sorted(starts - {-1}):
        cell = _CELL.match(xml, start)
        ref = _REF.search(cell.group(1)) if cell else None
        if cell is None or ref is None or not ref.group(1) or not ref.group(2):
            return _scan_every_cell(xml)
        error = _judge(cell.group(1), cell.group(2) or b"")
        if error is not None:
            found.append((int(ref.group(2)) - 1, _column_index(ref.group(1).decode()), error))
    return found


def _scan_every_cell(xml: bytes) -> list[tuple[int, int, CellError]]:
    found = []
    row_number = 0
    for row in _ROW.finditer(xml):
        ref = _REF.search(row.group(1))
        row_number = int(ref.group(2)) if ref and ref.group(2) else row_number + 1
        column = -1
        for cell in _CELL.finditer(row.group(2) or b""):
            attrs, body = cell.group(1), cell.group(2) or b""
            ref = _REF.search(attrs)
            if ref and ref.group(1):
                column = _column_index(ref.group(1).decode())
            else:
                column += 1
            error = _judge(attrs, body)
            if error is not None:
                found.append((row_number - 1, column, error))
    return found


def _judge(attrs: bytes, body: bytes) -> CellError | None:
    """Why a cell's value cannot be used, or None when it can."""
    kind = _TYPE.search(attrs)
    cell_type = kind.group(1).decode() if kind else "n"
    value = _VALUE.search(body)
    shown = _text(value.group(1)) if value else ""
    formula = _FORMULA.search(body)
    if cell_type == "e":
        return CellError(
            f"The cell shows the error {shown or '#VALUE!'}"
            + (" (its formula failed)." if formula else "."),
            "Correct the formula or what it refers to, or type the value itself.",
        )
    if formula and not shown.strip() and cell_type != "str":
        text = _text(formula.group(1))
        what = f"The formula ={text}" if text else "The formula"
        return CellError(
            f"{what} has no calculated value (the file was saved by a program that does"
            " not calculate formulas).",
            "Open the workbook in Excel or LibreOffice and save it, so the formula is"
            " calculated; or type the value itself.",
        )
    return None


def _text(content: bytes | None) -> str:
    return html.unescape((content or b"").decode("utf-8", "replace"))


def _column_index(letters: str) -> int:
    index = 0
    for char in letters:
        index = index * 26 + (ord(char) - 64)
    return index - 1
