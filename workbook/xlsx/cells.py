"""Reading and changing single cells of a worksheet's XML, leaving every other byte alone.

`hmis-licensing import-activity` changes two columns of an input sheet that staff own, so
it must not rewrite the sheet: the sheet part is searched as text for its rows and cells
(`sheet_rows`), read (`cell_value`, with the shared-string table read only, never
written), and edited at exactly the cells that change (`set_number_cells`): each new cell
is a plain number (`<c r="J12" s="5"><v>46129</v></c>`) with a style the workbook
already has. Anything else in the part (formulas, other cells, conditional formats, data
validations, extension lists, namespace declarations) stays byte for byte.

A formula can own cells that hold no formula of their own: an array formula
(`{=I2:I5+600}`) or a data table is written once, on its first cell, with the range it
fills (`<f t="array" ref="J2:J5">`); `formula_ranges` finds them, so that a caller leaves
every cell of such a range alone. A row or cell written twice (Excel never does) is
reported by `sheet_rows`, never silently merged.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from workbook.tables import column_letter
from workbook.values import CellError
from workbook.xlsx.package import (
    MAIN_NS,
    XlsxPackage,
    attributes,
    parse_xml,
    read_shared_strings,
)

_P = r"(?:[A-Za-z_][\w.-]*:)?"  # an optional namespace prefix, e.g. "x:"
_ROOT = re.compile(r"<([A-Za-z_][\w.-]*:)?worksheet\b")
_ROW = re.compile(rf"<{_P}row\b([^>]*?)(/>|>(.*?)</{_P}row>)", re.S)
_CELL = re.compile(rf"<{_P}c\b([^>]*?)(/>|>(.*?)</{_P}c>)", re.S)
_FORMULA = re.compile(rf"<{_P}f[\s/>]")
_VALUE = re.compile(rf"<{_P}v\b[^>]*?(?:/>|>(.*?)</{_P}v>)", re.S)
_TEXT = re.compile(rf"<{_P}t\b[^>]*?(?:/>|>(.*?)</{_P}t>)", re.S)
_PHONETIC = re.compile(rf"<{_P}rPh\b.*?</{_P}rPh>", re.S)
_REF = re.compile(r"([A-Z]{1,3})(\d+)$")
_FORMULA_RANGE = re.compile(rf"<{_P}f\b([^>]*?\bref\s*=\s*[\"'][^>]*?)/?>")
_RANGE = re.compile(r"\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?$")
_DOUBLE_QUOTED = re.compile(r'([\w:.-]+)\s*=\s*"([^"]*)"')
_SPANS = re.compile(r"""\s+spans\s*=\s*("[^"]*"|'[^']*')""")
# Excel's built-in number formats that show a date or a time (ECMA-376 Part 1 §18.8.30).
_BUILTIN_DATE_FORMATS = {*range(14, 23), *range(27, 37), 45, 46, 47, *range(50, 59)}
_EPOCH_1904 = dt.date(1904, 1, 1)
_EPOCH_1900 = dt.date(1899, 12, 30)


@dataclass
class XmlCell:
    column: int  # 0-based
    start: int  # the element's span in the sheet's text
    end: int
    attrs: dict[str, str]
    inner: str | None  # None when self-closing

    @property
    def style(self) -> int | None:
        value = self.attrs.get("s", "")
        return int(value) if value.isdigit() else None

    @property
    def has_formula(self) -> bool:
        return self.inner is not None and _FORMULA.search(self.inner) is not None


@dataclass
class XmlRow:
    number: int
    start: int
    end: int
    start_tag_end: int
    self_closing: bool
    cells: dict[int, XmlCell] = field(default_factory=dict)


class DuplicateError(ValueError):
    """A row or a cell the sheet's XML holds twice (which one counts is anyone's guess)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


@dataclass(frozen=True, slots=True)
class FormulaRange:
    kind: str  # "array", "dataTable" or "shared"
    ref: str  # as written, e.g. J2:J5
    top: int  # rows 1-based, columns 0-based, as XmlRow and XmlCell count them
    left: int
    bottom: int
    right: int

    def holds(self, row: int, column: int) -> bool:
        return self.top <= row <= self.bottom and self.left <= column <= self.right


def formula_ranges(text: str) -> list[FormulaRange]:
    """The ranges that array, data-table and shared formulas fill (each written once)."""
    found = []
    for match in _FORMULA_RANGE.finditer(text):
        values = attributes(match.group(1))
        ref = _RANGE.match(values.get("ref", "").strip())
        if ref is None:
            continue
        left, top = column_index(ref.group(1)), int(ref.group(2))
        right = column_index(ref.group(3)) if ref.group(3) else left
        bottom = int(ref.group(4)) if ref.group(4) else top
        kind = values.get("t", "normal")
        found.append(FormulaRange(kind, values["ref"], top, left, bottom, right))
    return found


def sheet_rows(text: str) -> list[XmlRow]:
    """Every <row> of a worksheet and its cells, with their places in the text.

    DuplicateError for a row number or a cell reference written twice.
    """
    open_data = re.search(rf"<{_P}sheetData\b[^>]*?(/?)>", text)
    if open_data is None or open_data.group(1):
        return []
    close = re.compile(rf"</{_P}sheetData>").search(text, open_data.end())
    end = close.start() if close else len(text)
    rows: list[XmlRow] = []
    previous = 0
    columns: dict[str, int] = {}
    seen: set[int] = set()
    for match in _ROW.finditer(text, open_data.end(), end):
        row_attrs = attributes(match.group(1))
        number = int(row_attrs["r"]) if row_attrs.get("r", "").isdigit() else previous + 1
        previous = number
        if number in seen:
            raise DuplicateError(f"row {number}")
        seen.add(number)
        self_closing = match.group(2) == "/>"
        start_tag_end = text.find(">", match.start()) + 1
        row = XmlRow(number, match.start(), match.end(), start_tag_end, self_closing)
        column = -1
        if not self_closing:
            for cell in _CELL.finditer(text, match.start(3), match.end(3)):
                raw_attrs = cell.group(1)
                cell_attrs = (
                    dict(_DOUBLE_QUOTED.findall(raw_attrs))
                    if "'" not in raw_attrs and "&" not in raw_attrs
                    else attributes(raw_attrs)
                )
                ref = _REF.match(cell_attrs.get("r", ""))
                if ref:
                    letters = ref.group(1)
                    column = columns.get(letters, -1)
                    if column < 0:
                        column = columns[letters] = column_index(letters)
                else:
                    column += 1
                inner = None if cell.group(2) == "/>" else cell.group(3) or ""
                if column in row.cells:
                    raise DuplicateError(f"cell {column_letter(column)}{number}")
                row.cells[column] = XmlCell(column, cell.start(), cell.end(), cell_attrs, inner)
        rows.append(row)
    return rows


def column_index(letters: str) -> int:
    """A -> 0, Z -> 25, AA -> 26."""
    index = 0
    for char in letters:
        index = index * 26 + (ord(char) - 64)
    return index - 1


def cell_value(cell: XmlCell, shared_strings: Callable[[int], str]) -> object:
    """What the cell shows: text, a number (dates are serial numbers), a bool, or None."""
    inner = cell.inner
    if inner is None:
        return None
    kind = cell.attrs.get("t", "n")
    if kind == "inlineStr":
        return "".join(html.unescape(t or "") for t in _TEXT.findall(_PHONETIC.sub("", inner)))
    match = _VALUE.search(inner)
    raw = html.unescape(match.group(1) or "") if match else None
    if raw is None:
        return None
    if kind == "s":
        return shared_strings(int(raw)) if raw.strip().isdigit() else None
    if kind in ("str", "d"):
        return raw
    if kind == "b":
        return raw.strip() in ("1", "true")
    if kind == "e":
        return CellError(f"{raw} (an error value)", "Correct the formula or the value.")
    try:
        return float(raw)
    except ValueError:
        return raw


class SharedStrings:
    """The workbook's shared-string table, read once and only when a cell needs it."""

    def __init__(self, package: XlsxPackage) -> None:
        self.package = package
        self.strings: list[str] | None = None

    def __call__(self, index: int) -> str:
        if self.strings is None:
            self.strings = self._read()
        return self.strings[index] if 0 <= index < len(self.strings) else ""

    def _read(self) -> list[str]:
        return read_shared_strings(self.package)


def date_styles(package: XlsxPackage) -> tuple[set[int], int | None]:
    """The cellXfs indexes whose number format shows a date, and the first of them
    formatted exactly yyyy-mm-dd (the layout's date format), if any."""
    part = package.styles_part
    if part is None:
        return set(), None
    root = parse_xml(package.read(part), f"{package.path}: {part}")
    codes = {
        int(f.get("numFmtId", "-1")): f.get("formatCode", "")
        for f in root.iter(f"{{{MAIN_NS}}}numFmt")
        if f.get("numFmtId", "").isdigit()
    }
    found: set[int] = set()
    exact: int | None = None
    cell_xfs = root.find(f"{{{MAIN_NS}}}cellXfs")
    for index, xf in enumerate(cell_xfs if cell_xfs is not None else ()):
        number_format = int(xf.get("numFmtId", "0")) if xf.get("numFmtId", "0").isdigit() else 0
        code = codes.get(number_format)
        if number_format in _BUILTIN_DATE_FORMATS or (code is not None and is_date_code(code)):
            found.add(index)
            if exact is None and code is not None and code.lower() == "yyyy-mm-dd":
                exact = index
    return found, exact


def is_date_code(code: str) -> bool:
    """Whether a custom number format shows a date or time (d, m, y, h or s outside quotes,
    escapes and [colour]/[$currency] brackets)."""
    cleaned = re.sub(r'"[^"]*"|\\.|\[(?![hms]+\])[^\]]*\]', "", code)
    return cleaned.lower() != "general" and re.search(r"[dmyhs]", cleaned, re.I) is not None


def serial_day(serial: float, date1904: bool) -> dt.date | None:
    """The day an Excel serial number shows (None when it is no day Excel can show)."""
    if not 0 <= serial < 2958466:
        return None
    if date1904:
        return _EPOCH_1904 + dt.timedelta(days=int(serial))
    if serial < 61:  # Excel's 29 February 1900 that never was
        return _EPOCH_1900 + dt.timedelta(days=int(serial) + 1) if serial >= 1 else None
    return _EPOCH_1900 + dt.timedelta(days=int(serial))


def set_number_cells(
    text: str,
    cells: Mapping[tuple[int, int], tuple[str, int | None]],
    parsed: Iterable[XmlRow] | None = None,
) -> str:
    """The sheet's XML with each (row, 0-based column) cell set to a number and a style.

    `cells` maps a cell to the number's text (as it goes in <v>) and its cellXfs index
    (None: General). An existing cell is replaced whole (its formula or text is gone);
    a missing one is inserted in column order; the row must exist. `parsed` is
    `sheet_rows(text)` when the caller has it already.
    """
    prefix = _root_prefix(text)
    rows = {r.number: r for r in (sheet_rows(text) if parsed is None else parsed)}
    by_row: dict[int, list[tuple[int, str, int | None]]] = {}
    for (row_number, column), (value, style) in cells.items():
        by_row.setdefault(row_number, []).append((column, value, style))
    edits: list[tuple[int, int, str]] = []
    for number, changes in by_row.items():
        row = rows.get(number)
        if row is None:
            raise ValueError(f"row {number} is not in the sheet")
        inserted: list[tuple[int, str]] = []
        for column, value, style in changes:
            ref = f"{column_letter(column)}{number}"
            style_attr = f' s="{style}"' if style else ""
            cell = f'<{prefix}c r="{ref}"{style_attr}><{prefix}v>{value}</{prefix}v></{prefix}c>'
            existing = row.cells.get(column)
            if existing is not None:
                edits.append((existing.start, existing.end, cell))
            else:
                inserted.append((column, cell))
        if inserted:
            edits += _insertions(text, row, inserted, prefix)
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _insertions(
    text: str, row: XmlRow, inserted: list[tuple[int, str]], prefix: str
) -> list[tuple[int, int, str]]:
    """New cells placed in column order among the row's cells; `spans` (a hint that
    would now be wrong) is dropped from the row's start tag."""
    start_tag = text[row.start : row.start_tag_end]
    new_tag = _SPANS.sub("", start_tag)
    if row.self_closing:
        opening = new_tag[:-2].rstrip() + ">"
        cells = "".join(cell for _, cell in sorted(inserted))
        return [(row.start, row.end, f"{opening}{cells}</{prefix}row>")]
    edits = [(row.start, row.start_tag_end, new_tag)] if new_tag != start_tag else []
    close = row.end - len(f"</{prefix}row>")
    existing = sorted(row.cells.values(), key=lambda c: c.column)
    at: dict[int, list[str]] = {}  # cells going in at the same place, in column order
    for column, cell in sorted(inserted):
        after = next((c for c in existing if c.column > column), None)
        at.setdefault(after.start if after is not None else close, []).append(cell)
    return edits + [(position, position, "".join(cells)) for position, cells in at.items()]


def _root_prefix(text: str) -> str:
    match = _ROOT.search(text)
    return match.group(1) or "" if match else ""
