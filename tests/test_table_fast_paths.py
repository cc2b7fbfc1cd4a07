"""The input tables' fast paths give what the general path gives: each column's reader
what `parse_cell` gives for any cell, and a whole sheet's rows, values and problems what
reading it one cell at a time with `_row_values` gives."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from workbook import tables
from workbook.layout import HISTORY_INPUT, INPUT_SHEETS, InputSheet
from workbook.values import CellError, is_blank, parse_cell

SPECS = (*INPUT_SHEETS, HISTORY_INPUT)
COLUMNS = [column for spec in SPECS for column in spec.columns]

_cell = st.one_of(
    st.none(),
    st.floats(),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 12.0, 12.5, 1e15, -1e15, 1e15 + 2, 46173.0]),
    st.integers(-(10**16), 10**16),
    st.booleans(),
    st.text(max_size=8),
    st.sampled_from(["", " ", "Yes", "No", " yes ", "2026-05-31", "L-1", "HMIS Lead", "a  b"]),
    st.dates(),
    st.datetimes(),
    st.builds(CellError, st.just("bad"), st.just("fix it")),
)


def general(column: tables.Column, raw: object) -> object:
    """A cell as the general path reads it."""
    if is_blank(raw):
        return tables._BLANK
    if isinstance(raw, CellError):
        return raw
    return parse_cell(column, raw)


@settings(max_examples=300)
@given(st.sampled_from(COLUMNS), _cell)
def test_every_column_reader_reads_a_cell_as_parse_cell_does(
    column: tables.Column, raw: object
) -> None:
    fast = tables._reader(column)(raw)
    expected = general(column, raw)
    assert type(fast) is type(expected)
    assert fast == expected or (fast != fast and expected != expected)  # nan


def row_by_row(
    spec: InputSheet, grid: Sequence[Sequence[object]], positions: dict[str, int]
) -> tables.TableRead:
    """`_data_rows` as the general path: every row read by `_row_values`."""
    read = tables.TableRead()
    readers = tables._readers(spec, positions)
    blank_run: list[int] = []
    cells = tables.CellMap()
    for row_number, row in enumerate(grid[1:], start=2):
        if all(is_blank(v) for v in row):
            blank_run.append(row_number)
            continue
        if blank_run:
            read.problems.append(tables._blank_rows_warning(spec, blank_run))
            blank_run = []
        values, errors = tables._row_values(spec, row, row_number, readers)
        if not errors:
            read.rows.append(values)
            continue
        errors = tables._named(spec, values, errors)
        read.problems += errors
        reasons = tuple(tables._reason(spec, error, cells) for error in errors)
        read.unreadable.append(tables.UnreadableRow(spec.name, row_number, values, reasons))
    return read


@st.composite
def sheet(draw: st.DrawFn) -> tuple[InputSheet, list[list[object]], dict[str, int]]:
    spec = draw(st.sampled_from(SPECS))
    present = draw(st.lists(st.sampled_from(spec.columns), unique=True, min_size=1))
    order = draw(st.permutations(range(len(present) + 2)))
    positions = {column.field: order[i] for i, column in enumerate(present)}
    width = max(positions.values()) + 1
    plausible = {
        "date": st.dates(dt.date(1985, 1, 1), dt.date(2100, 1, 1)),
        "text": st.sampled_from(["Org 1", " Org  2 ", "L-7", "HMIS Lead", "Other"]),
    }
    cell = st.one_of(_cell, *plausible.values(), st.none(), st.none())
    rows = draw(
        st.lists(
            st.one_of(
                st.lists(cell, min_size=width, max_size=width),
                st.lists(cell, max_size=width),  # a short row
                st.just([None] * width),  # a blank row
            ),
            max_size=12,
        )
    )
    header: list[object] = [None] * width
    return spec, [header, *rows], positions


@settings(max_examples=300)
@given(sheet())
def test_a_sheet_is_read_as_row_by_row_reading_reads_it(
    drawn: tuple[InputSheet, list[list[object]], dict[str, int]],
) -> None:
    spec, grid, positions = drawn
    fast = tables._data_rows(spec, grid, positions, tables.CellMap())
    slow = row_by_row(spec, grid, positions)
    assert [list(values.items()) for values in fast.rows] == [
        list(values.items()) for values in slow.rows
    ]
    assert fast.problems == slow.problems
    assert fast.unreadable == slow.unreadable
