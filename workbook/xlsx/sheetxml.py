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
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat

from workbook.layout import (
    LINE_HEIGHT,
    NUMBER_FORMATS,
    WRAP_WIDTH,
    Column,
    Kind,
    ResultSheet,
)
from workbook.presentation import (
    MARK_FILLS,
    MAX_CELL_CHARS,
    NOT_IN_A_CELL,
    TAB_COLOUR,
    TITLE_HEIGHT,
    ColumnValues,
    Mark,
    SheetLook,
    all_of_width,
    cell_text,
    column_values,
    header_row,
    look,
    same_kind,
    titled,
)
from workbook.tables import column_letter
from workbook.xlsx.cells import DuplicateError, cell_value, sheet_rows
from workbook.xlsx.package import MAIN_NS, REL_NS

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
HEADER_HEIGHT = 2 * LINE_HEIGHT  # headers wrap onto two lines

# Excel reads `_x0041_` in a cell's text as an escaped character; text that merely looks
# like one keeps its underscore by escaping it, as Excel does (`_x005F_`).
_LOOKS_ESCAPED = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")
_EPOCH_1900 = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)
_FIRST_1900 = dt.datetime(1900, 1, 1)
_LEAP_BUG_END = dt.datetime(1900, 3, 1)


@dataclass(frozen=True, slots=True)
class CellStyle:
    """The formatting of one kind of cell; each becomes one entry of styles.xml cellXfs.

    Every font it uses is named (a font without a name renders in a serif face)."""

    number_format: str | None  # None: General
    wrap: bool
    header: bool = False  # bold on the header fill
    bold: bool = False
    fill: str | None = None  # ARGB of a solid fill
    size: float | None = None  # points; None: the workbook's default size


HEADER_STYLE = CellStyle(None, wrap=True, header=True)
TITLE_STYLE = CellStyle(None, wrap=False, bold=True, size=13)


def column_style(column: Column, wrap: bool | None = None, mark: Mark = Mark.PLAIN) -> CellStyle:
    return CellStyle(
        NUMBER_FORMATS.get(column.kind),
        wrap=column.width >= WRAP_WIDTH if wrap is None else wrap,
        bold=mark is Mark.TOTAL,
        fill=MARK_FILLS.get(mark),
    )


def sheet_styles(sheet: ResultSheet, appearance: SheetLook) -> list[CellStyle]:
    """Every cell format a result sheet written with this look refers to."""
    wanted = [HEADER_STYLE, TITLE_STYLE]
    for mark in dict.fromkeys((Mark.PLAIN, *appearance.marks)):
        wanted += [
            column_style(c, w, mark) for c, w in zip(sheet.columns, appearance.wraps, strict=True)
        ]
    return wanted


# ------------------------------------------------------------------------------ text


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
    text = NOT_IN_A_CELL.sub("", text)
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
    tail = cell_tail(value, date1904)
    return "" if tail is None else f'<c r="{ref}"{style}{tail}'


def cell_tail(value: object, date1904: bool) -> str | None:
    """What follows `<c r="A2" s="3"` in a cell's element: its type and value (the same
    for every cell with this value, wherever it is); None for a blank cell."""
    kind = type(value)
    if kind is str:
        return f' t="inlineStr">{_inline_body(value)}</c>' if value else None
    if value is None:
        return None
    if kind is bool:
        return f' t="b"><v>{int(value)}</v></c>'  # type: ignore[call-overload]
    if kind is int or kind is float:
        if not math.isfinite(value):  # type: ignore[arg-type]
            return None
        return f"><v>{number_text(value)}</v></c>"  # type: ignore[arg-type]
    if isinstance(value, dt.date):
        serial = excel_serial(value, date1904)
        if serial is None:
            return f' t="inlineStr">{_inline_body(value.isoformat())}</c>'
        return f"><v>{number_text(serial)}</v></c>"
    if isinstance(value, bool):  # a bool subclass
        return cell_tail(bool(value), date1904)
    if isinstance(value, int | float):  # number subclasses (IntEnum, numpy scalars)
        return cell_tail(float(value), date1904)
    return f' t="inlineStr">{_inline_body(str(value))}</c>'


def column_tails(values: Sequence[object], date1904: bool) -> list[str | None]:
    """`cell_tail` of each value of one column, each distinct value worked out once (a
    column repeats its organizations, findings and dates on many rows), and a column of
    plain text, whole numbers or dates without the per-value checks where the column as a
    whole shows they change nothing."""
    distinct = list(dict.fromkeys(values)) if same_kind(values) else None
    return _column_tails(values, distinct, date1904)


def _column_tails(
    values: Sequence[object], distinct: Sequence[object] | None, date1904: bool
) -> list[str | None]:
    """`column_tails`, given the column's distinct values (None: not `same_kind`)."""
    if distinct is None:
        return [cell_tail(v, date1904) for v in values]
    kind = next((v.__class__ for v in distinct if v is not None), None)
    tails: dict[object, str | None]
    if kind is str:
        tails = _text_tails(distinct)  # type: ignore[arg-type]
    elif kind is int:
        tails = {v: f"><v>{v}</v></c>" for v in distinct}
    elif kind is dt.date:
        tails = _date_tails(distinct, date1904)  # type: ignore[arg-type]
    else:
        tails = {v: cell_tail(v, date1904) for v in distinct}
    tails[None] = None
    return list(map(tails.__getitem__, values))


def _text_tails(texts: Sequence[str | None]) -> dict[object, str | None]:
    """`cell_tail` of distinct texts. When none of them holds a character to remove or
    escape, or is long enough to be cut, each is written as it is."""
    present = [t for t in texts if t]
    blob = "".join(present)
    if (
        not blob.isprintable()  # (also: no line breaks, no carriage returns)
        or any(special in blob for special in ("&", "<", ">", "_x"))
        or max(map(len, present), default=0) > MAX_CELL_CHARS // 2
    ):
        return {t: cell_tail(t, False) for t in texts}
    tails: dict[object, str | None] = {
        t: f' t="inlineStr"><is><t xml:space="preserve">{t}</t></is></c>'
        if t != t.strip()
        else f' t="inlineStr"><is><t>{t}</t></is></c>'
        for t in present
    }
    tails[""] = None
    return tails


_ORDINAL_1900 = _EPOCH_1900.toordinal()
_ORDINAL_1904 = _EPOCH_1904.toordinal()


def _date_tails(dates: Sequence[dt.date | None], date1904: bool) -> dict[object, str | None]:
    """`cell_tail` of distinct dates (not date-times): a whole serial, the day count
    from the epoch; dates before 1 March 1900 go the general way (Excel's phantom
    29 February 1900, and what it cannot show)."""
    tails: dict[object, str | None] = {}
    first = _EPOCH_1904.date() if date1904 else _LEAP_BUG_END.date()
    epoch = _ORDINAL_1904 if date1904 else _ORDINAL_1900
    for day in dates:
        if day is None:
            continue
        if day >= first:
            tails[day] = f"><v>{day.toordinal() - epoch}</v></c>"
        else:
            tails[day] = cell_tail(day, date1904)
    return tails


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
# Letter landscape, narrow side margins: the widths in workbook.presentation fit this page.
_PRINT_MARGINS = (
    '<pageMargins left="0.4" right="0.4" top="0.6" bottom="0.6" header="0.3" footer="0.3"/>'
)
_PAGE_SETUP = '<pageSetup paperSize="1" orientation="landscape" fitToWidth="1" fitToHeight="0"/>'


def _row(number: int, cells: str, height: float | None) -> str:
    if height is None:
        return f'<row r="{number}">{cells}</row>'
    return f'<row r="{number}" ht="{height:g}" customHeight="1">{cells}</row>'


def header_cells(
    columns: Sequence[tuple[int, Column]], header_style: int, row_number: int = 1
) -> str:
    style = style_attr(header_style)
    return "".join(
        inline_string(f"{column_letter(i)}{row_number}", column.header, style)
        for i, column in columns
    )


def title_row(title: str, style: int) -> str:
    """Row 1 of a titled result sheet: one cell, A1, in the title font."""
    return _row(1, inline_string("A1", title, style_attr(style)) if title else "", TITLE_HEIGHT)


def _sheet_views_at(tab_selected: bool, frozen_rows: int) -> str:
    selected = ' tabSelected="1"' if tab_selected else ""
    first = f"A{frozen_rows + 1}"
    return (
        f'<sheetViews><sheetView{selected} workbookViewId="0">'
        f'<pane ySplit="{frozen_rows}" topLeftCell="{first}" activePane="bottomLeft"'
        ' state="frozen"/>'
        f'<selection pane="bottomLeft" activeCell="{first}" sqref="{first}"/>'
        "</sheetView></sheetViews>"
    )


def _ignored_errors(sheet: ResultSheet, first: int, last: int) -> str:
    """IDs are text on purpose (L-1001, 4107): Excel must not flag "number stored as text"."""
    if last < first:
        return ""
    ranges = [
        f"{column_letter(i)}{first}:{column_letter(i)}{last}"
        for i, c in enumerate(sheet.columns)
        if c.kind is Kind.ID
    ]
    if not ranges:
        return ""
    return (
        f'<ignoredErrors><ignoredError sqref="{" ".join(ranges)}" numberStoredAsText="1"/>'
        "</ignoredErrors>"
    )


_CHUNK_ROWS = 4096  # rows made at once


def _data_rows(
    sheet: ResultSheet,
    rows: Sequence[Sequence[object]],
    appearance: SheetLook,
    by_mark: Mapping[Mark, Sequence[str]],
    first: int,
    date1904: bool,
    by_column: Sequence[ColumnValues] | None = None,
) -> list[str]:
    """The <row> elements of the data rows, built a column at a time: each column's
    distinct values are worked out once, not once per cell. A row is then one `%`
    format of a template made once for each shape of row (its mark, which of its cells
    are blank: `_row_template`), filled in with its number, height and the tail of each
    cell, so that no string is made for a cell on its own. A blank cell is left out,
    except on a highlighted row, where it carries the fill. `by_column`: `column_values`
    of the rows, when the caller has them (the look was worked out from them)."""
    width = len(sheet.columns)
    if not all_of_width(rows, width):
        for values in rows:
            if len(values) != width:
                raise ValueError(f"{sheet.name}: a row has {len(values)} values, not {width}")
    if by_column is None:
        by_column = column_values(rows, width)
    numbers = list(map(str, range(first, first + len(rows))))
    # Each row's mark as a position in `marks`, to index each column's styles with.
    marks = list(by_mark)
    position = {mark: n for n, mark in enumerate(marks)}
    slots = [position[m] for m in appearance.marks]
    tails = [_column_tails(v.values, v.distinct, date1904) for v in by_column]
    blankable = [i for i, column in enumerate(tails) if None in column]
    # A row's shape: its mark's position, then whether each column that has blanks is
    # blank on it.
    shapes = list(
        zip(slots, *(map(operator.is_, tails[i], repeat(None)) for i in blankable), strict=True)
    )
    templates = {
        shape: _row_template(shape, [by_mark[m] for m in marks], marks, blankable, width)
        for shape in set(shapes)
    }
    tall: dict[float | None, str] = {
        h: f' ht="{h:g}" customHeight="1"' for h in set(appearance.heights) if h is not None
    }
    tall[None] = ""
    heights = list(map(tall.__getitem__, appearance.heights))
    out: list[str] = []
    for start in range(0, len(rows), _CHUNK_ROWS):
        chunk = slice(start, start + _CHUNK_ROWS)
        chunk_numbers = numbers[chunk]
        values = [chunk_numbers, heights[chunk]]
        for column in tails:
            values += [chunk_numbers, column[chunk]]
        out += map(
            operator.mod, map(templates.__getitem__, shapes[chunk]), zip(*values, strict=True)
        )
    return out


def _row_template(
    shape: tuple[int | bool, ...],
    styles: Sequence[Sequence[str]],
    marks: Sequence[Mark],
    blankable: Sequence[int],
    width: int,
) -> str:
    """The `%` template of a row of this shape (`_data_rows`), to be given the row's
    number and height, then each cell's row number and tail: a cell is
    `<c r="B7" s="3"` and its tail; a blank one nothing (`%.0s` takes its two values
    and writes nothing), or on a highlighted row the cell with the fill alone."""
    slot = shape[0]
    blank = dict(zip(blankable, shape[1:], strict=True))
    style = styles[slot]
    pieces = ['<row r="%s"%s>']
    for index in range(width):
        opening = f'<c r="{column_letter(index)}'
        attrs = style[index].replace("%", "%%")
        if not blank.get(index, False):
            pieces.append(f'{opening}%s"{attrs}%s')
        elif marks[slot] is not Mark.PLAIN:
            pieces.append(f'{opening}%s"{attrs}/>%.0s')
        else:
            pieces.append("%.0s%.0s")
    pieces.append("</row>")
    return "".join(pieces)


def result_sheet_xml(
    sheet: ResultSheet,
    rows: Sequence[Sequence[object]],
    styles: Mapping[CellStyle, int],
    *,
    date1904: bool,
    tab_selected: bool = False,
    title: str = "",
    appearance: SheetLook | None = None,
    footer: str = "",
    drawing_rel_id: str | None = None,
    by_column: Sequence[ColumnValues] | None = None,
) -> bytes:
    """A whole result sheet: title line, styled header, rows, widths, frozen header,
    filter, highlights, print setup.

    The result sheets are printed for committee meetings, so they print landscape on
    Letter, one page wide, with the title and header rows repeated (the repeat is a
    defined name in workbook.xml) and a footer with the sheet, As Of and page number.
    `by_column`: `column_values` of the rows, when the caller has them.
    """
    columns = sheet.columns
    if appearance is None:
        if by_column is None:
            by_column = column_values(rows, len(columns))
        appearance = look(sheet, rows, by_column)
    head = header_row(sheet)
    letters = [column_letter(i) for i in range(len(columns))]
    by_mark: dict[Mark, list[str]] = {}
    for mark in dict.fromkeys(appearance.marks):
        by_mark[mark] = [
            style_attr(styles[column_style(c, w, mark)])
            for c, w in zip(columns, appearance.wraps, strict=True)
        ]
    last_row = head + len(rows)
    last_ref = f"{letters[-1]}{last_row}"
    out = [
        XML_DECLARATION,
        f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">',
        f'<sheetPr><tabColor rgb="{TAB_COLOUR}"/><pageSetUpPr fitToPage="1"/></sheetPr>',
        f'<dimension ref="A1:{last_ref}"/>',
        _sheet_views_at(tab_selected, head),
        f'<sheetFormatPr defaultRowHeight="{LINE_HEIGHT:g}"/>',
        _cols([(i + 1, w) for i, w in enumerate(appearance.widths)]),
        "<sheetData>",
    ]
    if titled(sheet):
        out.append(title_row(title, styles[TITLE_STYLE]))
    out.append(
        _row(
            head,
            header_cells(list(enumerate(columns)), styles[HEADER_STYLE], head),
            appearance.header_height,
        )
    )
    out += _data_rows(sheet, rows, appearance, by_mark, head + 1, date1904, by_column)
    out += [
        "</sheetData>",
        f'<autoFilter ref="A{head}:{last_ref}"/>',
        _PRINT_MARGINS,
        _PAGE_SETUP,
    ]
    if footer:
        out.append(f"<headerFooter><oddFooter>{escape_text(footer)}</oddFooter></headerFooter>")
    out.append(_ignored_errors(sheet, head + 1, last_row))
    if drawing_rel_id:
        out.append(f'<drawing r:id="{drawing_rel_id}"/>')
    out.append("</worksheet>")
    return "".join(out).encode("utf-8")


_TITLE_ROW = re.compile(
    r"<(?P<p>[A-Za-z_][\w.-]*:)?row\b(?P<attrs>[^>]*?)(?:/>|>(?P<body>.*?)</(?P=p)?row>)", re.S
)


def retitle(
    old_xml: bytes,
    new_title: Callable[[str], str],
    style: int,
    shared_string: Callable[[int], str],
) -> bytes | None:
    """A held-back sheet with only its title changed; None when it has no title line.

    Every other byte stays: the rows are the last good run's (SPEC §3). `new_title` is
    given the title the sheet has (inline, or a shared string once Excel has saved the
    file), which names the run its rows are from. A sheet written before result sheets
    had titles (its header in row 1) is left as it is.
    """
    try:
        text = old_xml.decode("utf-8")
    except UnicodeDecodeError:
        return None
    data = re.search(r"<(?:[A-Za-z_][\w.-]*:)?sheetData\b[^>]*>", text)
    if data is None:
        return None
    first = _TITLE_ROW.match(text, data.end())
    if first is None or not re.search(r'\br\s*=\s*"1"', first.group("attrs")):
        return None
    body = first.group("body") or ""
    refs = re.findall(r'<(?:[A-Za-z_][\w.-]*:)?c\b[^>]*\br\s*=\s*"([A-Z]+)1"', body)
    header = _TITLE_ROW.match(text, first.end())
    header_cells = (
        re.findall(r"<(?:[A-Za-z_][\w.-]*:)?c\b", header.group("body") or "") if header else []
    )
    if refs != ["A"] or len(header_cells) < 2:  # a title above a header, or not ours
        return None
    prefix = first.group("p") or ""
    new_row = title_row(new_title(_title_text(first.group(0), shared_string)), style)
    if prefix:
        new_row = re.sub(r"<(/?)([A-Za-z])", rf"<\1{prefix}\2", new_row)
    result = text[: first.start()] + new_row + text[first.end() :]
    return result.encode("utf-8")


def _title_text(title_row_xml: str, shared_string: Callable[[int], str]) -> str:
    """The text of A1 in the title row: "" when it holds no text."""
    try:
        rows = sheet_rows(f"<sheetData>{title_row_xml}</sheetData>")
    except DuplicateError:
        return ""
    cell = rows[0].cells.get(0) if rows else None
    value = cell_value(cell, shared_string) if cell is not None else None
    return value if isinstance(value, str) else ""


# ------------------------------------------------------------------- appended sheets
# (Run Log and Findings History are extended in place by workbook/xlsx/appended.py.)

_PREFIX = r"(?:[A-Za-z_][\w.-]*:)?"


def is_tab_selected(sheet_xml: str) -> bool:
    """Whether the sheet was the selected tab, so that a replaced sheet stays selected."""
    view = re.search(rf"<{_PREFIX}sheetView\b[^>]*>", sheet_xml[:20000])
    return bool(view and re.search(r'\btabSelected\s*=\s*"(1|true)"', view.group(0)))
