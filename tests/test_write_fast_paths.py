"""The result sheets' fast paths write exactly what the general, value-by-value paths
write: the column-at-a-time cells (distinct values worked out once, plain text, whole
numbers and dates without per-value checks), the row heights and highlights judged per
distinct value. The references below are the writer as it was, cell by cell."""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from hypothesis import given, settings
from hypothesis import strategies as st

from workbook.layout import (
    ALLOTMENTS,
    APPEALS_QUEUE,
    CE_CHARGES,
    FINDINGS_HISTORY,
    INACTIVITY_REPORT,
    LINE_HEIGHT,
    REVOCATIONS,
    Column,
    ResultSheet,
)
from workbook.presentation import (
    Mark,
    SheetLook,
    _heights,
    _Marker,
    _most_lines,
    column_widths,
    display_text,
    lines_needed,
    look,
)
from workbook.xlsx import appended, sheetxml
from workbook.xlsx.rawzip import Written, build_zip, deflate, stored_bytes
from workbook.xlsx.sheetxml import (
    CellStyle,
    cell_tail,
    cell_xml,
    column_style,
    column_tails,
    excel_serial,
    inline_string,
    number_text,
    result_sheet_xml,
    sheet_styles,
    style_attr,
)

# ------------------------------------------------------------------ the references


def reference_cell_xml(ref: str, value: object, style: str, date1904: bool) -> str:
    """cell_xml as it was, one value at a time."""
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
    if isinstance(value, bool):
        return reference_cell_xml(ref, bool(value), style, date1904)
    if isinstance(value, int | float):
        return reference_cell_xml(ref, float(value), style, date1904)
    return inline_string(ref, str(value), style)


def reference_rows(
    sheet: ResultSheet,
    rows: Sequence[Sequence[object]],
    appearance: SheetLook,
    by_mark: Mapping[Mark, Sequence[str]],
    first: int,
    date1904: bool,
) -> list[str]:
    """The data rows as they were written, cell by cell."""
    letters = [sheetxml.column_letter(i) for i in range(len(sheet.columns))]
    out = []
    for offset, values in enumerate(rows):
        number = first + offset
        mark = appearance.marks[offset]
        styles = by_mark[mark]
        cells = "".join(
            reference_cell_xml(f"{letters[i]}{number}", v, styles[i], date1904)
            or (f'<c r="{letters[i]}{number}"{styles[i]}/>' if mark is not Mark.PLAIN else "")
            for i, v in enumerate(values)
        )
        height = appearance.heights[offset]
        if height is None:
            out.append(f'<row r="{number}">{cells}</row>')
        else:
            out.append(f'<row r="{number}" ht="{height:g}" customHeight="1">{cells}</row>')
    return out


def reference_lines_needed(text: str, width: float) -> int:
    """lines_needed as it was: a word at a time, a long word broken a line at a time."""
    per_line = max(1, int((width - 1) * 1.3))
    if len(text) <= per_line and "\n" not in text:
        return 1
    lines = 0
    for paragraph in text.split("\n"):
        used = 0
        count = 1
        for word in paragraph.split(" "):
            size = len(word)
            if used and used + 1 + size > per_line:
                count += 1
                used = 0
            while size > per_line:
                count += 1
                size -= per_line
            used += size + (1 if used else 0)
        lines += count
    return lines


def reference_heights(
    columns: Sequence[Column],
    rows: Sequence[Sequence[object]],
    widths: Sequence[float],
    wraps: Sequence[bool],
) -> tuple[float | None, ...]:
    """Row heights as they were: row by row, every wrapped cell."""
    heights: list[float | None] = []
    for values in rows:
        lines = 1
        for index, (column, width, wrap) in enumerate(zip(columns, widths, wraps, strict=False)):
            value = values[index] if index < len(values) else None
            if not wrap or value is None:
                continue
            text = value if value.__class__ is str else display_text(column, value)
            lines = max(lines, reference_lines_needed(text, width))
        heights.append(LINE_HEIGHT * lines if lines > 1 else None)
    return tuple(heights)


# ------------------------------------------------------------------ the values

_texts = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from("&<> _x\n\r\t"),
    max_size=30,
) | st.sampled_from(["", " padded ", "_x0041_", "Org & Co", "Cannot judge", "Yes", "No"])
_words = st.lists(st.sampled_from(["a", "word", "", "longerwordthanaline", "Region"]), max_size=12)
_dates = st.dates(dt.date(1899, 1, 1), dt.date(9999, 12, 31))
_scalars = st.one_of(
    st.none(),
    _texts,
    st.integers(-(10**16), 10**16),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    _dates,
    st.datetimes(dt.datetime(1899, 1, 1), dt.datetime(2100, 1, 1)),
)
# a column: mostly values of one class (the fast paths), sometimes a mixture
_columns = st.one_of(
    st.lists(st.none() | _texts, max_size=12),
    st.lists(st.none() | st.integers(-(10**6), 10**6), max_size=12),
    st.lists(st.none() | _dates, max_size=12),
    st.lists(st.none() | st.sampled_from([dt.date(1900, 2, 28), dt.date(1904, 1, 1)]), max_size=6),
    st.lists(_scalars, max_size=12),
)


@given(_columns, st.booleans())
def test_a_column_is_written_as_each_of_its_cells_would_be(
    values: list[object], date1904: bool
) -> None:
    assert column_tails(values, date1904) == [cell_tail(v, date1904) for v in values]
    for value in values:
        assert cell_xml("B7", value, ' s="3"', date1904) == reference_cell_xml(
            "B7", value, ' s="3"', date1904
        )


def test_a_column_of_equal_values_of_different_classes_keeps_each_class() -> None:
    values: list[object] = [1, True, 1.0, dt.date(2026, 1, 2), dt.datetime(2026, 1, 2)]
    assert column_tails(values, False) == [cell_tail(v, False) for v in values]
    assert column_tails(values, False)[1] == ' t="b"><v>1</v></c>'


def _row_values(sheet: ResultSheet) -> st.SearchStrategy[tuple[object, ...]]:
    def one(column: Column) -> st.SearchStrategy[object]:
        chosen = {
            "finding": st.sampled_from(["Cannot judge", "Inactive", "Active"]),
            "eligible_for_revocation": st.sampled_from(["Yes", "No"]),
            "overdue_text": st.sampled_from(["Yes", "No"]),
            "charged_region": st.sampled_from(["", "North", "South"]) | st.none(),
            "region": st.sampled_from(["Total", "North"]),
            "population": st.none() | st.integers(0, 10**6),
        }
        return chosen.get(column.field, st.none() | _texts | st.integers(0, 99) | _dates)

    return st.tuples(*(one(c) for c in sheet.columns))


@st.composite
def _sheet_and_rows(draw: st.DrawFn) -> tuple[ResultSheet, list[tuple[object, ...]]]:
    sheet = draw(st.sampled_from([INACTIVITY_REPORT, REVOCATIONS, CE_CHARGES, ALLOTMENTS]))
    words = st.builds(" ".join, _words)
    rows = draw(st.lists(_row_values(sheet), max_size=8))
    # some rows share their values, as they do in a real sheet; some texts wrap
    rows += draw(st.lists(st.sampled_from(rows), max_size=4)) if rows else []
    wrapping = draw(st.booleans())
    if wrapping:
        rows = [(*r[:-1], draw(words)) for r in rows]
    return sheet, rows


@settings(max_examples=60, deadline=None)
@given(_sheet_and_rows(), st.booleans(), st.sampled_from([1, 3, sheetxml._CHUNK_ROWS]))
def test_a_result_sheet_is_written_as_cell_by_cell(
    sheet_rows: tuple[ResultSheet, list[tuple[object, ...]]], date1904: bool, chunk: int
) -> None:
    sheet, rows = sheet_rows
    chunk_rows, sheetxml._CHUNK_ROWS = sheetxml._CHUNK_ROWS, chunk
    try:
        _check_sheet_written_cell_by_cell(sheet, rows, date1904)
    finally:
        sheetxml._CHUNK_ROWS = chunk_rows


def _check_sheet_written_cell_by_cell(
    sheet: ResultSheet, rows: list[tuple[object, ...]], date1904: bool
) -> None:
    appearance = look(sheet, rows)
    styles: dict[CellStyle, int] = dict.fromkeys(sheet_styles(sheet, appearance), 0)
    styles = {s: n for n, s in enumerate(styles)}
    by_mark = {
        mark: [
            style_attr(styles[column_style(c, w, mark)])
            for c, w in zip(sheet.columns, appearance.wraps, strict=True)
        ]
        for mark in dict.fromkeys(appearance.marks)
    }
    written = result_sheet_xml(sheet, rows, styles, date1904=date1904, appearance=appearance)
    expected = "".join(reference_rows(sheet, rows, appearance, by_mark, 3, date1904))
    assert expected in written.decode("utf-8")
    assert sheetxml._data_rows(sheet, rows, appearance, by_mark, 3, date1904) == (
        reference_rows(sheet, rows, appearance, by_mark, 3, date1904)
    )


@settings(max_examples=60, deadline=None)
@given(_sheet_and_rows())
def test_heights_and_highlights_are_judged_as_row_by_row(
    sheet_rows: tuple[ResultSheet, list[tuple[object, ...]]],
) -> None:
    sheet, rows = sheet_rows
    widths, wraps = column_widths(sheet, rows)
    assert _heights(sheet.columns, rows, widths, wraps) == reference_heights(
        sheet.columns, rows, widths, wraps
    )
    marker = _Marker(sheet)
    assert marker.marks(rows) == tuple(marker.mark(r) for r in rows)


def test_highlights_of_short_rows_and_unhashable_values_are_judged_one_by_one() -> None:
    marker = _Marker(APPEALS_QUEUE)
    width = len(APPEALS_QUEUE.columns)
    rows: list[tuple[object, ...]] = [("x",) * (width - 1), ([1],) * width, ("Yes",) * width]
    assert marker.marks(rows) == tuple(marker.mark(r) for r in rows)


@settings(max_examples=300)
@given(
    st.builds(" ".join, _words) | _texts | st.text(st.sampled_from("ab \n"), max_size=60),
    st.floats(1, 40) | st.sampled_from([2.0, 5.0, 8.0, 28.5]),
)
def test_lines_needed_counts_as_word_by_word(text: str, width: float) -> None:
    assert lines_needed(text, width) == reference_lines_needed(text, width)


def reference_log_rows(
    columns: Sequence[Column],
    positions: Mapping[str, int],
    styles: Mapping[CellStyle, int],
    date1904: bool,
    rows: Sequence[Sequence[object]],
    first: int,
) -> list[str]:
    """The appended sheets' new rows as they were written, row by row."""
    placed = sorted(
        (positions[c.header], n, sheetxml.column_letter(positions[c.header]), c)
        for n, c in enumerate(columns)
    )
    out = []
    for offset, values in enumerate(rows):
        number = first + offset
        cells = "".join(
            reference_cell_xml(
                f"{letter}{number}", values[n], style_attr(styles[column_style(c)]), date1904
            )
            for _, n, letter, c in placed
        )
        out.append(f'<row r="{number}">{cells}</row>')
    return out


@st.composite
def _log_rows(draw: st.DrawFn) -> tuple[dict[str, int], list[tuple[object, ...]]]:
    columns = FINDINGS_HISTORY.columns
    order = draw(st.permutations(range(len(columns) + 2)))  # staff may have moved columns
    positions = {c.header: order[n] for n, c in enumerate(columns)}
    rows = draw(st.lists(st.tuples(*(_scalars for _ in columns)), max_size=6))
    rows += draw(st.lists(st.sampled_from(rows), max_size=3)) if rows else []
    return positions, rows


@settings(max_examples=60, deadline=None)
@given(_log_rows(), st.booleans(), st.integers(1, 10**6))
def test_appended_rows_are_written_as_row_by_row(
    drawn: tuple[dict[str, int], list[tuple[object, ...]]], date1904: bool, first: int
) -> None:
    positions, rows = drawn
    columns = FINDINGS_HISTORY.columns
    styles = {column_style(c): n for n, c in enumerate(columns)}
    assert appended._rows_xml(columns, positions, styles, date1904, rows, first) == (
        reference_log_rows(columns, positions, styles, date1904, rows, first)
    )


@settings(max_examples=300)
@given(
    st.builds(" ".join, _words) | st.text(st.sampled_from("ab "), max_size=60),
    st.integers(1, 40),
)
def test_the_most_lines_of_a_paragraph_is_never_fewer_than_it_takes(
    text: str, per_line: int
) -> None:
    width = per_line / 1.3 + 1.01  # a width whose line holds `per_line` characters
    assert max(1, int((width - 1) * 1.3)) == per_line
    assert reference_lines_needed(text, width) <= _most_lines(text, per_line)


def test_a_column_of_mostly_different_values_is_counted_where_it_could_matter() -> None:
    sheet = INACTIVITY_REPORT
    explanation = " ".join(["word"] * 60)  # many lines
    rows = [
        tuple(
            f"Given Family {n}"
            if c.field == "user"
            else explanation
            if c.field == "explanation"
            else None
            for c in sheet.columns
        )
        for n in range(40)
    ]
    widths, wraps = column_widths(sheet, rows)
    assert _heights(sheet.columns, rows, widths, wraps) == reference_heights(
        sheet.columns, rows, widths, wraps
    )


# ------------------------------------------------------------ deflated on a thread


@given(st.lists(st.binary(max_size=5000), min_size=1, max_size=5), st.data())
@settings(max_examples=40, deadline=None)
def test_parts_deflated_on_a_thread_make_the_same_zip(
    parts: list[bytes], data: st.DataObject
) -> None:
    """A part handed to the deflater as it is laid out ends up in the zip exactly as a
    part deflated in `build_zip` does (payload, CRC, size), and every reader gets it back."""
    inline = [Written(f"xl/part{i}.xml", part) for i, part in enumerate(parts)]
    ahead = data.draw(st.lists(st.booleans(), min_size=len(parts), max_size=len(parts)))
    with ThreadPoolExecutor(max_workers=1) as deflater:
        started = [
            Written(w.name, w.data, deflater.submit(deflate, w.data, 1) if early else None)
            for w, early in zip(inline, ahead, strict=True)
        ]
        threaded = build_zip(b"", started, level=1)
    plain = build_zip(b"", inline, level=1)
    with (
        zipfile.ZipFile(io.BytesIO(threaded)) as archive,
        zipfile.ZipFile(io.BytesIO(plain)) as reference,
    ):
        assert archive.testzip() is None
        assert [archive.read(w.name) for w in inline] == parts
        for mine, theirs in zip(archive.infolist(), reference.infolist(), strict=True):
            assert (mine.CRC, mine.file_size, mine.compress_size) == (
                theirs.CRC,
                theirs.file_size,
                theirs.compress_size,
            )
            assert stored_bytes(threaded, mine) == stored_bytes(plain, theirs)
