"""The sheets that grow (Run Log, Findings History): new rows appended, nothing else touched.

Such a sheet is the CoC's record of every run, and staff may have formatted it: protected
it, merged a title, added conditional formats, drop-downs or links. So it is never
rebuilt. Its XML is edited at three places only: row 1 gets the headers it lacks (an
older Run Log without newer columns), the new rows go in before `</sheetData>`, and the
`<dimension>` (and `<cols>` for a new column) follow; every other byte stays as it was.

Excel's grid ends at row 1,048,576. A sheet that is full continues on a new sheet named
like it with a number ("Run Log 2", "Run Log 3", ...), created with the same headers
(`workbook.layout.continuation_name`), and every reader (the file's and the Excel
button's) joins their rows back into one table (`workbook.tables.join_continuations`), so
whatever reads the log sees every row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from workbook.errors import WorkbookError
from workbook.layout import LINE_HEIGHT, Column, header_key
from workbook.presentation import transposed
from workbook.tables import column_letter
from workbook.xlsx.extent import MAX_ROWS, column_number, plain_row_numbers
from workbook.xlsx.package import MAIN_NS, REL_NS, attributes, refuse_doctype
from workbook.xlsx.sheetxml import (
    HEADER_HEIGHT,
    HEADER_STYLE,
    XML_DECLARATION,
    CellStyle,
    _cols,
    _sheet_views,
    column_style,
    column_tails,
    header_cells,
    style_attr,
)

_P = r"(?:[A-Za-z_][\w.-]*:)?"
_ROOT = re.compile(r"<([A-Za-z_][\w.-]*:)?worksheet\b([^>]*)>")
# A row element; its body is "up to the first </row>", written to skip text between tags
# (the same matches as `(.*?)</row>`, several times faster). No possessive quantifier or
# atomic group: Python 3.11.0-3.11.2's `re` finds no match at all with them here.
_ROW = re.compile(rf"<{_P}row\b([^>]*?)(/>|>([^<]*(?:<(?!/{_P}row>)[^<]*)*)</{_P}row>)", re.S)
_ROW_NUMBER = re.compile(r'\br\s*=\s*"(\d+)"')
_ROW_START = re.compile(rf"<{_P}row\b([^>]*?)/?>")  # a row's start tag, for its number
_NUMBERED_ROW = re.compile(rf'<{_P}row\b[^>]*?\br\s*=\s*"(\d+)"')
_PLAIN_ROW_START = re.compile(r"<row\b([^>]*?)/?>")  # the same, where no tag is prefixed
_PLAIN_NUMBERED_ROW = re.compile(r'<row\b[^>]*?\br\s*=\s*"(\d+)"')
_CELL = re.compile(rf"<{_P}c\b([^>]*?)(?:/>|>(.*?)</{_P}c>)", re.S)
_CELL_REF = re.compile(r'\br\s*=\s*"([A-Z]{1,3})[0-9]+"')
# The same matches, written to start with a literal `r` (the word boundary before it checked
# behind it), which the pattern engine looks for directly: five times faster.
_CELL_REF_FROM_R = re.compile(r'r(?<!\wr)\s*=\s*"([A-Z]{1,3})[0-9]+"')
_SPANS = re.compile(r"""\s+spans\s*=\s*("[^"]*"|'[^']*')""")
_RANGE = re.compile(r"([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?$")
_MERGE = re.compile(rf"<{_P}mergeCell\b[^>]*?\bref\s*=\s*\"([^\"]+)\"")
_HYPERLINK = re.compile(rf"<{_P}hyperlink\b[^>]*?\bref\s*=\s*\"([^\"]+)\"")
_PAGE_MARGINS = (
    '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
)


@dataclass(frozen=True, slots=True)
class LogSheet:
    """What an appended sheet holds already: where new rows go, which columns are where."""

    floor: int  # the last row in use (new rows start below it)

    @property
    def room(self) -> int:
        return MAX_ROWS - self.floor


def refuse(where: str, why: str) -> WorkbookError:
    return WorkbookError(
        f"{where}: cannot add rows to this sheet ({why}); the workbook was not changed.",
        fix="Rename the sheet (e.g. add the year to its name); the next run starts a new one"
        " and keeps the renamed sheet as it is.",
    )


def log_floor(old_xml: bytes, where: str) -> LogSheet:
    """The last row in use on an appended sheet: its last row, or the bottom of a merged
    range or a link below it (a new row there would be merged, or become a link)."""
    text = _text(old_xml, where)
    # A cell's text cannot hold a "<", so row tags are found without reading the cells;
    # when every row says its number (as Excel and this module write them), the last
    # row is the largest number, else each unnumbered row follows the one before.
    # (Literal searches first: a pattern that may start with any prefix is slow on
    # megabytes of XML, and most sheets use no prefix, no merged cell and no link.)
    prefixed = ":row" in text
    numbers = None if prefixed else plain_row_numbers(old_xml)
    if numbers is None:
        row_start = _ROW_START if prefixed else _PLAIN_ROW_START
        numbers = (_NUMBERED_ROW if prefixed else _PLAIN_NUMBERED_ROW).findall(text)
        if len(numbers) != len(row_start.findall(text)):
            numbers = None
    if numbers is not None:
        floor = max(map(int, numbers), default=0)
    else:
        floor = 0
        for match in row_start.finditer(text):
            floor = max(floor, _row_number(match.group(1), floor))
    for pattern, name in ((_MERGE, "mergeCell"), (_HYPERLINK, "hyperlink")):
        if name not in text:
            continue
        for match in pattern.finditer(text):
            for ref in match.group(1).split():
                found = _RANGE.match(ref.replace("$", ""))
                if found:
                    floor = max(floor, int(found.group(4) or found.group(2)))
    return LogSheet(min(floor, MAX_ROWS))


def append_rows(
    old_xml: bytes | None,
    columns: Sequence[Column],
    rows: Sequence[Sequence[object]],
    styles: Mapping[CellStyle, int],
    shared_string: Callable[[int], str],
    *,
    date1904: bool,
    where: str,
    tab_selected: bool = False,
    floor: int | None = None,
) -> bytes:
    """The sheet with `rows` added below its last row (which must leave room for them).

    Without `old_xml`, a new sheet with the headers and the rows. `floor` is the sheet's
    `log_floor`, when the caller has it already (it scans the whole sheet).
    """
    if old_xml is None:
        return _new_sheet(columns, rows, styles, date1904, tab_selected)
    text = _text(old_xml, where)
    root = _ROOT.search(text)
    if root is None:
        raise refuse(where, "it has no <worksheet> element")
    prefix = root.group(1) or ""
    _check_namespace(root.group(2), prefix, where)
    data_open = re.search(rf"<{re.escape(prefix)}sheetData\b[^>]*?(/?)>", text)
    if data_open is None:
        raise refuse(where, "it has no sheetData")
    if data_open.group(1):  # <sheetData/>: open it
        opening = data_open.group(0)[:-2].rstrip() + ">"
        text = (
            text[: data_open.start()] + opening + f"</{prefix}sheetData>" + text[data_open.end() :]
        )
        data_open = re.search(rf"<{re.escape(prefix)}sheetData\b[^>]*>", text)
        assert data_open is not None
    close = text.find(f"</{prefix}sheetData>", data_open.end())
    if close < 0:
        raise refuse(where, "its sheetData is not closed")
    inner_start = data_open.end()
    first = _ROW.search(text, inner_start, close)
    first_number = _row_number(first.group(1), 0) if first else 0
    header_row = first if first is not None and first_number == 1 else None
    header_xml = header_row.group(0) if header_row else ""
    labels = _header_labels(header_xml, root.group(2), shared_string, where)
    positions, added = _positions(columns, labels)
    if floor is None:
        floor = log_floor(old_xml, where).floor
    if floor + len(rows) > MAX_ROWS:
        raise ValueError("more rows than the sheet has room for")
    edits: list[tuple[int, int, str]] = []
    header_style = styles[HEADER_STYLE]
    if added:
        _refuse_merged_header(text, [i for i, _ in added], where)
        new_header = _prefixed(header_cells(added, header_style), prefix)
        if header_row is None:
            row_one = _prefixed(_row(1, "", HEADER_HEIGHT), prefix).replace(
                "></", f">{new_header}</"
            )
            edits.append((inner_start, inner_start, row_one))
        else:
            edits += _extend_row(text, header_row, new_header, prefix)
    new_rows = "".join(_rows_xml(columns, positions, styles, date1904, rows, floor + 1))
    edits.append((close, close, _prefixed(new_rows, prefix)))
    widest = _widest_column(text, max([len(columns) - 1, *positions.values()]))
    last = max(floor + len(rows), 1)
    edits += _dimension(text, prefix, f"A1:{column_letter(widest)}{last}")
    edits += _widths(text, prefix, data_open.start(), [(i + 1, c.width) for i, c in added])
    return _edited(text, edits).encode("utf-8")


def _edited(text: str, edits: list[tuple[int, int, str]]) -> str:
    """The text with each (start, end, replacement) made, in one pass: the edits never
    overlap, and a sheet's text can be tens of megabytes (one copy, not one per edit).
    Insertions at one place come in the reverse of their order in `edits`."""
    pieces: list[str] = []
    done = 0
    order = sorted(range(len(edits)), key=lambda i: (edits[i][0], edits[i][1], -i))
    for start, end, replacement in (edits[i] for i in order):
        pieces += [text[done:start], replacement]
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


def _prefixed(markup: str, prefix: str) -> str:
    """Markup this module wrote (rows, cells, values, inline text: none holds a raw `<` in
    its text), in the namespace prefix the sheet uses."""
    if not prefix:
        return markup
    return re.sub(r"<(/?)(row|c|v|is|t)\b", rf"<\1{prefix}\2", markup)


def _text(old_xml: bytes, where: str) -> str:
    refuse_doctype(old_xml, where)
    try:
        return old_xml.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refuse(where, "its XML is not UTF-8") from None


def _check_namespace(root_attrs: str, prefix: str, where: str) -> None:
    declared = attributes(root_attrs)
    own = declared.get(f"xmlns:{prefix[:-1]}" if prefix else "xmlns")
    if own != MAIN_NS:
        raise refuse(where, "it is not in the SpreadsheetML namespace")


def _row_number(attrs: str, previous: int) -> int:
    match = _ROW_NUMBER.search(attrs)
    return int(match.group(1)) if match else previous + 1


def _header_labels(
    row_xml: str, root_attrs: str, shared_string: Callable[[int], str], where: str
) -> dict[str, int]:
    """header key -> 0-based column of each label in row 1, read with a real XML parser."""
    if not row_xml:
        return {}
    declarations = "".join(
        f' {name}="{value}"'
        for name, value in attributes(root_attrs).items()
        if name.startswith("xmlns:") and name not in ("xmlns:r",)
    )
    wrapper = f'<w xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"{declarations}>{row_xml}</w>'
    try:
        row = ET.fromstring(wrapper)[0]
    except (ET.ParseError, IndexError) as exc:
        raise refuse(where, f"its first row cannot be read: {exc}") from None
    labels: dict[str, int] = {}
    column = -1
    for cell in row:
        if cell.tag != f"{{{MAIN_NS}}}c":
            continue
        match = re.match(r"([A-Z]{1,3})\d+$", cell.get("r") or "")
        column = column_number(match.group(1)) - 1 if match else column + 1
        key = header_key(_cell_text(cell, shared_string))
        if key and key not in labels:
            labels[key] = column
    return labels


def _cell_text(cell: ET.Element, shared_string: Callable[[int], str]) -> str:
    kind = cell.get("t", "n")
    value = cell.find(f"{{{MAIN_NS}}}v")
    if kind == "s" and value is not None and (value.text or "").strip().isdigit():
        return shared_string(int((value.text or "").strip()))
    if kind == "inlineStr":
        return "".join(t.text or "" for t in cell.iter(f"{{{MAIN_NS}}}t"))
    return value.text or "" if value is not None else ""


def _positions(
    columns: Sequence[Column], labels: Mapping[str, int]
) -> tuple[dict[str, int], list[tuple[int, Column]]]:
    """Where each declared column's values go, and the headers row 1 lacks (at the first
    free columns)."""
    positions: dict[str, int] = {}
    added: list[tuple[int, Column]] = []
    next_free = max(labels.values(), default=-1) + 1
    for column in columns:
        found = labels.get(header_key(column.header))
        if found is not None:
            positions[column.header] = found
        else:
            positions[column.header] = next_free
            added.append((next_free, column))
            next_free += 1
    return positions, added


def _refuse_merged_header(text: str, new_columns: list[int], where: str) -> None:
    for match in _MERGE.finditer(text):
        found = _RANGE.match(match.group(1).replace("$", ""))
        if found is None or found.group(2) != "1":
            continue
        left = column_number(found.group(1)) - 1
        right = column_number(found.group(3) or found.group(1)) - 1
        if any(left <= c <= right for c in new_columns):
            raise refuse(where, f"row 1 has merged cells ({match.group(1)}) where new headers go")


def _extend_row(
    text: str, row: re.Match[str], cells: str, prefix: str
) -> list[tuple[int, int, str]]:
    start_tag_end = text.find(">", row.start()) + 1
    start_tag = text[row.start() : start_tag_end]
    new_tag = _SPANS.sub("", start_tag)
    if row.group(2) == "/>":
        opening = new_tag[:-2].rstrip() + ">"
        return [(row.start(), row.end(), f"{opening}{cells}</{prefix}row>")]
    closing = row.end() - len(f"</{prefix}row>")
    edits = [(closing, closing, cells)]
    if new_tag != start_tag:
        edits.append((row.start(), start_tag_end, new_tag))
    return edits


def _used_columns(text: str) -> list[int]:
    """The 0-based columns of every cell reference on the sheet."""
    letters = set(_CELL_REF_FROM_R.findall(text))
    return [column_number(letter) - 1 for letter in letters]


def _widest_column(text: str, at_least: int) -> int:
    """The largest of `at_least` and the 0-based columns of `_used_columns`, picking out
    only the references to columns beyond `at_least` (a log's cells are in its own
    columns: hundreds of thousands of references, none of them beyond)."""
    if at_least < 0:
        return max([at_least, *_used_columns(text)])
    within = (
        f"[A-{column_letter(at_least)}]"  # (a class: faster than the alternatives)
        if at_least < 26
        else "|".join(column_letter(i) for i in range(at_least + 1))
    )
    beyond = re.compile(rf'r(?<!\wr)\s*=\s*"(?!(?:{within})[0-9])([A-Z]{{1,3}})[0-9]+"')
    return max([at_least, *(column_number(letter) - 1 for letter in set(beyond.findall(text)))])


def _dimension(text: str, prefix: str, ref: str) -> list[tuple[int, int, str]]:
    match = re.search(rf"<{re.escape(prefix)}dimension\b[^>]*?/?>", text)
    if match is None:
        return []
    return [(match.start(), match.end(), f'<{prefix}dimension ref="{ref}"/>')]


def _widths(
    text: str, prefix: str, sheet_data: int, wanted: list[tuple[int, float]]
) -> list[tuple[int, int, str]]:
    """Widths for new columns: added to the old <cols> (beyond what it covers), or a new
    <cols> just before <sheetData> (where the schema puts it)."""
    if not wanted:
        return []
    match = re.search(
        rf"<{re.escape(prefix)}cols\b[^>]*>.*?</{re.escape(prefix)}cols>", text, flags=re.S
    )
    if match is None:
        entries = "".join(
            f'<{prefix}col min="{n}" max="{n}" width="{w:g}" customWidth="1"/>' for n, w in wanted
        )
        return [(sheet_data, sheet_data, f"<{prefix}cols>{entries}</{prefix}cols>")]
    highest = max((int(m) for m in re.findall(r'\bmax\s*=\s*"(\d+)"', match.group(0))), default=0)
    entries = "".join(
        f'<{prefix}col min="{n}" max="{n}" width="{w:g}" customWidth="1"/>'
        for n, w in wanted
        if n > highest
    )
    closing = match.end() - len(f"</{prefix}cols>")
    return [(closing, closing, entries)] if entries else []


def _row(number: int, cells: str, height: float | None) -> str:
    if height is None:
        return f'<row r="{number}">{cells}</row>'
    return f'<row r="{number}" ht="{height:g}" customHeight="1">{cells}</row>'


def _rows_xml(
    columns: Sequence[Column],
    positions: Mapping[str, int],
    styles: Mapping[CellStyle, int],
    date1904: bool,
    rows: Sequence[Sequence[object]],
    first: int,
) -> list[str]:
    """The new rows, numbered from `first`: each value in its column's place, in column
    order. Built a column at a time, as the result sheets are (sheetxml.column_tails):
    the same run time, findings and exceptions recur on every row."""
    width = len(columns)
    for values in rows:
        if len(values) != width:
            raise ValueError(f"a row has {len(values)} values, not {width}")
    if not rows:
        return []
    placed = sorted(
        (
            positions[c.header],
            n,
            column_letter(positions[c.header]),
            style_attr(styles[column_style(c)]),
        )
        for n, c in enumerate(columns)
    )
    numbers = [str(n) for n in range(first, first + len(rows))]
    by_column = transposed(rows, width)
    cells_by_column = []
    for _, n, letter, style in placed:
        opening = f'<c r="{letter}'
        tails = column_tails(by_column[n], date1904)
        cells_by_column.append(
            [
                f'{opening}{number}"{style}{tail}' if tail is not None else ""
                for number, tail in zip(numbers, tails, strict=True)
            ]
        )
    bodies = map("".join, zip(*cells_by_column, strict=True))
    return [f'<row r="{n}">{cells}</row>' for n, cells in zip(numbers, bodies, strict=True)]


def _new_sheet(
    columns: Sequence[Column],
    rows: Sequence[Sequence[object]],
    styles: Mapping[CellStyle, int],
    date1904: bool,
    tab_selected: bool,
) -> bytes:
    if len(rows) + 1 > MAX_ROWS:
        raise ValueError("more rows than a sheet holds")
    positions = {c.header: i for i, c in enumerate(columns)}
    last = len(rows) + 1
    body = "".join(
        [
            XML_DECLARATION,
            f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">',
            f'<dimension ref="A1:{column_letter(len(columns) - 1)}{last}"/>',
            _sheet_views(tab_selected, freeze=True),
            f'<sheetFormatPr defaultRowHeight="{LINE_HEIGHT:g}"/>',
            _cols([(i + 1, c.width) for i, c in enumerate(columns)]),
            "<sheetData>",
            _row(1, header_cells(list(enumerate(columns)), styles[HEADER_STYLE]), HEADER_HEIGHT),
            *_rows_xml(columns, positions, styles, date1904, rows, 2),
            "</sheetData>",
            _PAGE_MARGINS,
            "</worksheet>",
        ]
    )
    return body.encode("utf-8")
