"""SpreadsheetML written by hand for the result sheets, the way Excel itself writes it.

Excel refuses (or "repairs", dropping content) a sheet whose elements are out of schema
order, whose text holds characters XML cannot carry, or whose cells are out of order, so
everything here follows ECMA-376 Part 1 §18.3 (CT_Worksheet's sequence: sheetPr,
dimension, sheetViews, sheetFormatPr, cols, sheetData, ..., autoFilter, ..., pageMargins,
pageSetup). Text is always an inline string (`t="inlineStr"`): never a formula, and the
workbook's shared-string table is left as it was.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from workbook.layout import (
    LINE_HEIGHT,
    NUMBER_FORMATS,
    WRAP_WIDTH,
    Column,
    ResultSheet,
    row_height,
)
from workbook.tables import column_letter
from workbook.xlsx.package import MAIN_NS, REL_NS

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
MAX_CELL_CHARS = 32_767  # Excel's limit on the text in one cell (UTF-16 code units)
HEADER_HEIGHT = 2 * LINE_HEIGHT  # headers wrap onto two lines

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Excel reads `_x0041_` in a cell's text as an escaped character; text that merely looks
# like one keeps its underscore by escaping it, as Excel does (`_x005F_`).
_LOOKS_ESCAPED = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")
_EPOCH_1900 = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)
_FIRST_1900 = dt.datetime(1900, 1, 1)
_LEAP_BUG_END = dt.datetime(1900, 3, 1)


@dataclass(frozen=True, slots=True)
class CellStyle:
    """The formatting of one kind of cell; each becomes one entry of styles.xml cellXfs."""

    number_format: str | None  # None: General
    wrap: bool
    header: bool = False


HEADER_STYLE = CellStyle(None, wrap=True, header=True)


def column_style(column: Column) -> CellStyle:
    return CellStyle(NUMBER_FORMATS.get(column.kind), wrap=column.width >= WRAP_WIDTH)


# ------------------------------------------------------------------------------ text


def cell_text(value: str) -> str:
    """Text as a cell can hold it: no characters XML forbids, at most Excel's length."""
    text = value if value.isprintable() else _NOT_XML.sub("", value)
    if len(text) > MAX_CELL_CHARS // 2 and len(text.encode("utf-16-le")) // 2 > MAX_CELL_CHARS:
        text = _first_units(text, MAX_CELL_CHARS - 1) + "…"
    return text


def _first_units(text: str, units: int) -> str:
    """The longest start of `text` that is at most `units` UTF-16 code units long (a
    character beyond the Basic Multilingual Plane counts two), in one pass."""
    count = 0
    for index, char in enumerate(text):
        count += 2 if ord(char) > 0xFFFF else 1
        if count > units:
            return text[:index]
    return text


def escape_text(text: str) -> str:
    """Element content: XML escapes, and Excel's own escape for `_xHHHH_` look-alikes."""
    if "_x" in text:
        text = _LOOKS_ESCAPED.sub("_x005F_", text)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def escape_attr(text: str) -> str:
    text = _NOT_XML.sub("", text)
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\t", "&#9;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
    )


@functools.lru_cache(maxsize=8192)
def _inline_body(text: str) -> str:
    """The <is> element for a text (cached: names and findings repeat on every row)."""
    text = cell_text(text)
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
    return f"<is><t{space}>{escape_text(text)}</t></is>"


def inline_string(ref: str, text: str, style: str) -> str:
    return f'<c r="{ref}"{style} t="inlineStr">{_inline_body(text)}</c>'


# --------------------------------------------------------------------------- numbers


@functools.lru_cache(maxsize=8192)
def excel_serial(value: dt.date, date1904: bool) -> float | None:
    """The Excel serial number of a date or date-time; None when Excel cannot show it."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
    if moment.tzinfo is not None:
        moment = moment.replace(tzinfo=None)
    epoch = _EPOCH_1904 if date1904 else _EPOCH_1900
    if moment < (_EPOCH_1904 if date1904 else _FIRST_1900):
        return None
    delta = moment - epoch
    serial = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
    if not date1904 and moment < _LEAP_BUG_END:
        serial -= 1  # Excel counts a 29 February 1900 that never was
    return serial


def number_text(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def cell_xml(ref: str, value: object, style: str, date1904: bool) -> str:
    """One <c> element; '' for a blank cell. Text never becomes a formula."""
    kind = type(value)
    if kind is str:
        return inline_string(ref, value, style) if value else ""  # type: ignore[arg-type]
    if value is None:
        return ""
    if kind is bool:
        return f'<c r="{ref}"{style} t="b"><v>{int(value)}</v></c>'  # type: ignore[call-overload]
    if kind is int or kind is float:
        if not math.isfinite(value):  # type: ignore[arg-type]
            return ""
        return f'<c r="{ref}"{style}><v>{number_text(value)}</v></c>'  # type: ignore[arg-type]
    if isinstance(value, dt.date):
        serial = excel_serial(value, date1904)
        if serial is None:
            return inline_string(ref, value.isoformat(), style)
        return f'<c r="{ref}"{style}><v>{number_text(serial)}</v></c>'
    if isinstance(value, bool):  # a bool subclass
        return cell_xml(ref, bool(value), style, date1904)
    if isinstance(value, int | float):  # number subclasses (IntEnum, numpy scalars)
        return cell_xml(ref, float(value), style, date1904)
    return inline_string(ref, str(value), style)


def style_attr(index: int) -> str:
    return f' s="{index}"' if index else ""


# ---------------------------------------------------------------------------- sheets


def _sheet_views(tab_selected: bool, freeze: bool) -> str:
    selected = ' tabSelected="1"' if tab_selected else ""
    if not freeze:
        return f'<sheetViews><sheetView{selected} workbookViewId="0"/></sheetViews>'
    return (
        f'<sheetViews><sheetView{selected} workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
        "</sheetView></sheetViews>"
    )


def _cols(widths: Sequence[tuple[int, float]]) -> str:
    """<cols> for (1-based column, width) pairs, in column order."""
    if not widths:
        return ""
    entries = "".join(
        f'<col min="{n}" max="{n}" width="{width:g}" customWidth="1"/>'
        for n, width in sorted(widths)
    )
    return f"<cols>{entries}</cols>"


_PAGE_MARGINS = (
    '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
)


def _row(number: int, cells: str, height: float | None) -> str:
    if height is None:
        return f'<row r="{number}">{cells}</row>'
    return f'<row r="{number}" ht="{height:g}" customHeight="1">{cells}</row>'


def header_cells(columns: Sequence[tuple[int, Column]], header_style: int) -> str:
    style = style_attr(header_style)
    return "".join(
        inline_string(f"{column_letter(i)}1", column.header, style) for i, column in columns
    )


def result_sheet_xml(
    sheet: ResultSheet,
    rows: Sequence[Sequence[object]],
    styles: Mapping[CellStyle, int],
    *,
    date1904: bool,
    tab_selected: bool = False,
) -> bytes:
    """A whole result sheet: styled header, rows, widths, frozen header, filter, print setup.

    The result sheets are printed for committee meetings, so they print landscape, one
    page wide, with the header row repeated (the repeat is a defined name in workbook.xml).
    """
    columns = sheet.columns
    letters = [column_letter(i) for i in range(len(columns))]
    cell_styles = [style_attr(styles[column_style(c)]) for c in columns]
    last_ref = f"{letters[-1]}{len(rows) + 1}"
    wraps = any(c.width >= WRAP_WIDTH for c in columns)
    out = [
        XML_DECLARATION,
        f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">',
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>',
        f'<dimension ref="A1:{last_ref}"/>',
        _sheet_views(tab_selected, freeze=True),
        f'<sheetFormatPr defaultRowHeight="{LINE_HEIGHT:g}"/>',
        _cols([(i + 1, c.width) for i, c in enumerate(columns)]),
        "<sheetData>",
        _row(1, header_cells(list(enumerate(columns)), styles[HEADER_STYLE]), HEADER_HEIGHT),
    ]
    width = len(columns)
    for number, values in enumerate(rows, start=2):
        if len(values) != width:
            raise ValueError(f"{sheet.name}: a row has {len(values)} values, not {width}")
        suffix = str(number)
        cells = "".join(
            [
                cell_xml(letters[i] + suffix, values[i], cell_styles[i], date1904)
                for i in range(width)
            ]
        )
        height = row_height(columns, tuple(values)) if wraps else None
        out.append(_row(number, cells, height))
    out += [
        "</sheetData>",
        f'<autoFilter ref="A1:{last_ref}"/>',
        _PAGE_MARGINS,
        '<pageSetup orientation="landscape" fitToWidth="1" fitToHeight="0"/>',
        "</worksheet>",
    ]
    return "".join(out).encode("utf-8")


# ------------------------------------------------------------------- appended sheets
# (Run Log and Findings History are extended in place by workbook/xlsx/appended.py.)

_PREFIX = r"(?:[A-Za-z_][\w.-]*:)?"


def is_tab_selected(sheet_xml: str) -> bool:
    """Whether the sheet was the selected tab, so that a replaced sheet stays selected."""
    view = re.search(rf"<{_PREFIX}sheetView\b[^>]*>", sheet_xml[:20000])
    return bool(view and re.search(r'\btabSelected\s*=\s*"(1|true)"', view.group(0)))
