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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from workbook.errors import WorkbookError
from workbook.layout import (
    LINE_HEIGHT,
    NUMBER_FORMATS,
    WRAP_WIDTH,
    Column,
    Kind,
    ResultSheet,
    header_key,
)
from workbook.presentation import (
    MARK_FILLS,
    TAB_COLOUR,
    TITLE_HEIGHT,
    Mark,
    SheetLook,
    header_row,
    look,
    titled,
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


def cell_text(value: str) -> str:
    """Text as a cell can hold it: no characters XML forbids, at most Excel's length."""
    text = value if value.isprintable() else _NOT_XML.sub("", value)
    if len(text) > MAX_CELL_CHARS // 2 and len(text.encode("utf-16-le")) // 2 > MAX_CELL_CHARS:
        kept = text[: MAX_CELL_CHARS - 1]
        while len(kept.encode("utf-16-le")) // 2 > MAX_CELL_CHARS - 1:
            kept = kept[:-1]
        text = kept + "…"
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
) -> bytes:
    """A whole result sheet: title line, styled header, rows, widths, frozen header,
    filter, highlights, print setup.

    The result sheets are printed for committee meetings, so they print landscape on
    Letter, one page wide, with the title and header rows repeated (the repeat is a
    defined name in workbook.xml) and a footer with the sheet, As Of and page number.
    """
    columns = sheet.columns
    appearance = appearance or look(sheet, rows)
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
    width = len(columns)
    for offset, values in enumerate(rows):
        if len(values) != width:
            raise ValueError(f"{sheet.name}: a row has {len(values)} values, not {width}")
        suffix = str(head + 1 + offset)
        mark = appearance.marks[offset]
        cell_styles = by_mark[mark]
        cells = "".join(
            [
                cell_xml(letters[i] + suffix, values[i], cell_styles[i], date1904)
                or (
                    f'<c r="{letters[i]}{suffix}"{cell_styles[i]}/>'
                    if mark is not Mark.PLAIN
                    else ""
                )
                for i in range(width)
            ]
        )
        out.append(_row(head + 1 + offset, cells, appearance.heights[offset]))
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


def retitle(old_xml: bytes, title: str, style: int) -> bytes | None:
    """A held-back sheet with only its title changed; None when it has no title line.

    Every other byte stays: the rows are the last good run's (SPEC §3). A sheet written
    before result sheets had titles (its header in row 1) is left as it is.
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
    new_row = title_row(title, style)
    if prefix:
        new_row = re.sub(r"<(/?)([A-Za-z])", rf"<\1{prefix}\2", new_row)
    result = text[: first.start()] + new_row + text[first.end() :]
    return result.encode("utf-8")


# --------------------------------------------------------------------------- Run Log

_ROOT = re.compile(r"<([A-Za-z_][\w.-]*:)?worksheet\b([^>]*)>")
_ATTRIBUTE = re.compile(r"""([A-Za-z_][\w.:-]*)\s*=\s*("[^"]*"|'[^']*')""")
_ROW = re.compile(
    r"<(?:[A-Za-z_][\w.-]*:)?row\b([^>]*?)(/>|>(.*?)</(?:[A-Za-z_][\w.-]*:)?row>)", re.S
)
_PREFIX = r"(?:[A-Za-z_][\w.-]*:)?"
_CELL_REF = re.compile(r'\br="([A-Z]{1,3})[0-9]+"')
_SPANS = re.compile(r"""\s+spans\s*=\s*("[^"]*"|'[^']*')""")


def _refuse_run_log(where: str, why: str) -> WorkbookError:
    return WorkbookError(
        f"{where}: the Run Log sheet cannot be extended ({why}).",
        fix="Rename the Run Log sheet (e.g. to 'Run Log 2026'); the next recalculation"
        " starts a new one.",
    )


def letters_to_index(letters: str) -> int:
    """A -> 0, Z -> 25, AA -> 26."""
    index = 0
    for char in letters:
        index = index * 26 + (ord(char) - 64)
    return index - 1


def _row_number(attrs: str, previous: int) -> int:
    match = re.search(r'\br\s*=\s*"(\d+)"', attrs)
    return int(match.group(1)) if match else previous + 1


def extend_run_log(
    old_xml: bytes | None,
    columns: Sequence[Column],
    new_rows: Sequence[Sequence[object]],
    styles: Mapping[CellStyle, int],
    shared_string: Callable[[int], str],
    *,
    date1904: bool,
    where: str,
) -> bytes:
    """An appended sheet (Run Log, Findings History) with more rows: every existing row is
    kept as it was, byte for byte.

    Row 1 gets any header it lacks (an older Run Log without newer columns), at the first
    free column; the new rows go below the last row.
    """
    header_style = styles[HEADER_STYLE]
    if old_xml is None:
        text = None
    else:
        try:
            text = old_xml.decode("utf-8")
        except UnicodeDecodeError:
            raise _refuse_run_log(where, "its XML is not UTF-8") from None
    root = _ROOT.search(text) if text else None
    if text is None or root is None:
        positions = {c.header: i for i, c in enumerate(columns)}
        return _run_log_sheet(
            root_attrs="",
            cols="",
            rows_before="",
            header_row=_row(1, header_cells(list(enumerate(columns)), header_style), HEADER_HEIGHT),
            rows_after="",
            new_row=_log_rows(2, columns, new_rows, positions, styles, date1904),
            max_column=len(columns) - 1,
            last_row=1 + len(new_rows),
            extra_cols=[(i + 1, c.width) for i, c in enumerate(columns)],
        )

    root_attrs = _foreign_namespaces(root.group(2), where)
    prefix = root.group(1) or ""
    data_open = re.search(rf"<{re.escape(prefix)}sheetData\b[^>]*?(/?)>", text)
    if data_open is None:
        raise _refuse_run_log(where, "it has no sheetData")
    if data_open.group(1):
        inner = ""
    else:
        close = text.find(f"</{prefix}sheetData>", data_open.end())
        if close < 0:
            raise _refuse_run_log(where, "its sheetData is not closed")
        inner = text[data_open.end() : close]

    rows = []
    previous = 0
    for match in _ROW.finditer(inner):
        number = _row_number(match.group(1), previous)
        if number <= previous:
            raise _refuse_run_log(where, "its rows are out of order")
        rows.append((number, match))
        previous = number
    last_row = previous

    headers: dict[str, int] = {}
    max_header_col = -1
    first = rows[0] if rows and rows[0][0] == 1 else None
    if first is not None:
        for index, label in _row_cells(first[1].group(0), root_attrs, shared_string, where):
            max_header_col = max(max_header_col, index)
            key = header_key(label)
            if key and key not in headers:
                headers[key] = index
    positions: dict[str, int] = {}
    added: list[tuple[int, Column]] = []
    next_free = max_header_col + 1
    for column in columns:
        key = header_key(column.header)
        if key in headers:
            positions[column.header] = headers[key]
        else:
            positions[column.header] = next_free
            added.append((next_free, column))
            next_free += 1

    new_header = header_cells(added, header_style)
    if first is not None:
        match = first[1]
        start_tag_end = inner.find(">", match.start()) + 1
        start_tag = inner[match.start() : start_tag_end]
        if added:
            start_tag = _SPANS.sub("", start_tag)
        if match.group(2) == "/>":
            header_row = start_tag[:-2].rstrip() + f">{new_header}</{prefix}row>"
        else:
            body = match.group(3) or ""
            header_row = f"{start_tag}{body}{new_header}</{prefix}row>"
        rows_before = inner[: match.start()]
        rows_after = inner[match.end() :]
    else:
        header_row = _row(1, new_header, HEADER_HEIGHT)
        rows_before = ""
        rows_after = inner
    used_columns = [letters_to_index(m.group(1)) for m in _CELL_REF.finditer(inner)]
    max_column = max([len(columns) - 1, next_free - 1, *used_columns])
    new_number = max(last_row, 1) + 1
    cols, extra_cols = _merge_cols(text, prefix, [(i + 1, c.width) for i, c in added])
    return _run_log_sheet(
        root_attrs=root_attrs,
        cols=cols,
        rows_before=rows_before,
        header_row=header_row,
        rows_after=rows_after,
        new_row=_log_rows(new_number, columns, new_rows, positions, styles, date1904),
        max_column=max_column,
        last_row=max(last_row, 1) + len(new_rows),
        extra_cols=extra_cols,
        where=where,
        tab_selected=is_tab_selected(text),
    )


def is_tab_selected(sheet_xml: str) -> bool:
    """Whether the sheet was the selected tab, so that a replaced sheet stays selected."""
    view = re.search(rf"<{_PREFIX}sheetView\b[^>]*>", sheet_xml[:20000])
    return bool(view and re.search(r'\btabSelected\s*=\s*"(1|true)"', view.group(0)))


def _foreign_namespaces(attrs: str, where: str) -> str:
    """The old root's namespace declarations that kept rows may rely on (e.g. x14ac)."""
    kept = []
    for name, quoted in _ATTRIBUTE.findall(attrs):
        value = quoted[1:-1]
        if name == "xmlns":
            if value != MAIN_NS:
                raise _refuse_run_log(where, "it is not in the SpreadsheetML namespace")
            continue
        if name == "xmlns:r":
            if value != REL_NS:
                raise _refuse_run_log(where, "its r: prefix is not the relationships namespace")
            continue
        if name.startswith("xmlns:") or name == "mc:Ignorable":
            kept.append(f" {name}={quoted}")
    return "".join(kept)


def _row_cells(
    row_xml: str,
    root_attrs: str,
    shared_string: Callable[[int], str],
    where: str,
) -> list[tuple[int, str]]:
    """(0-based column, text) of each cell of a row, read with a real XML parser."""
    wrapper = f'<w xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"{root_attrs}>{row_xml}</w>'
    try:
        row = ET.fromstring(wrapper)[0]
    except (ET.ParseError, IndexError) as exc:
        raise _refuse_run_log(where, f"its first row cannot be read: {exc}") from None
    cells = []
    column = -1
    for cell in row:
        if cell.tag != f"{{{MAIN_NS}}}c":
            continue
        ref = cell.get("r")
        match = re.match(r"([A-Z]{1,3})\d+$", ref or "")
        column = letters_to_index(match.group(1)) if match else column + 1
        kind = cell.get("t", "n")
        value = cell.find(f"{{{MAIN_NS}}}v")
        label = ""
        if kind == "s" and value is not None and (value.text or "").strip().isdigit():
            label = shared_string(int((value.text or "").strip()))
        elif kind == "inlineStr":
            label = "".join(t.text or "" for t in cell.iter(f"{{{MAIN_NS}}}t"))
        elif value is not None:
            label = value.text or ""
        cells.append((column, label))
    return cells


def _merge_cols(
    text: str, prefix: str, wanted: list[tuple[int, float]]
) -> tuple[str, list[tuple[int, float]]]:
    """The old <cols> kept as it was, plus widths for new columns it does not cover."""
    match = re.search(
        rf"<{re.escape(prefix)}cols\b[^>]*>.*?</{re.escape(prefix)}cols>", text, flags=re.S
    )
    if match is None:
        return "", wanted
    old = match.group(0)
    highest = max((int(m) for m in re.findall(r'\bmax\s*=\s*"(\d+)"', old)), default=0)
    extra = [(n, w) for n, w in wanted if n > highest]
    if not extra:
        return old, []
    entries = "".join(f'<col min="{n}" max="{n}" width="{w:g}" customWidth="1"/>' for n, w in extra)
    closing = f"</{prefix}cols>"
    return old[: -len(closing)] + entries + closing, []


def _log_rows(
    first: int,
    columns: Sequence[Column],
    rows: Sequence[Sequence[object]],
    positions: Mapping[str, int],
    styles: Mapping[CellStyle, int],
    date1904: bool,
) -> str:
    return "".join(
        _log_row(first + n, columns, row, positions, styles, date1904) for n, row in enumerate(rows)
    )


def _log_row(
    number: int,
    columns: Sequence[Column],
    values: Sequence[object],
    positions: Mapping[str, int],
    styles: Mapping[CellStyle, int],
    date1904: bool,
) -> str:
    placed = sorted((positions[c.header], c, v) for c, v in zip(columns, values, strict=True))
    cells = "".join(
        cell_xml(
            f"{column_letter(i)}{number}", value, style_attr(styles[column_style(c)]), date1904
        )
        for i, c, value in placed
    )
    return _row(number, cells, None)


def _run_log_sheet(
    *,
    root_attrs: str,
    cols: str,
    rows_before: str,
    header_row: str,
    rows_after: str,
    new_row: str,
    max_column: int,
    last_row: int,
    extra_cols: list[tuple[int, float]],
    where: str = "Run Log",
    tab_selected: bool = False,
) -> bytes:
    body = "".join(
        [
            XML_DECLARATION,
            f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"{root_attrs}>',
            f'<dimension ref="A1:{column_letter(max_column)}{last_row}"/>',
            _sheet_views(tab_selected, freeze=True),
            f'<sheetFormatPr defaultRowHeight="{LINE_HEIGHT:g}"/>',
            cols or _cols(extra_cols),
            "<sheetData>",
            rows_before,
            header_row,
            rows_after,
            new_row,
            "</sheetData>",
            _PAGE_MARGINS,
            "</worksheet>",
        ]
    )
    data = body.encode("utf-8")
    try:
        ET.fromstring(data)
    except ET.ParseError as exc:
        raise _refuse_run_log(where, f"the extended sheet would not be valid XML: {exc}") from None
    return data
