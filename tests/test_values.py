"""Reading cells: every honest spelling accepted, no guessing."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbook.layout import LICENSES, Column, Kind
from workbook.tables import column_letter
from workbook.values import CellError, parse_cell, parse_date, parse_yes_no

DATE = dt.date(2026, 5, 31)


@pytest.mark.parametrize(
    "raw",
    [
        DATE,
        dt.datetime(2026, 5, 31, 14, 5),
        "2026-05-31",
        " 2026-05-31 ",
        "2026-05-31T00:00:00.000Z",  # Office.js and VBA clients
        "2026-05-31 08:30:00",
        46173.0,  # Excel serial number (old Office.js clients send these)
        46173,
    ],
)
def test_dates_in_every_honest_form(raw: object) -> None:
    assert parse_date(raw) == DATE


@pytest.mark.parametrize(
    "raw", ["31/05/2026", "05/31/26", "31-05-2026", "2026-02-30", "yesterday", True, -3, 1e9]
)
def test_dates_are_never_guessed(raw: object) -> None:
    assert isinstance(parse_date(raw), CellError)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("Yes", True),
        ("y", True),
        (" YES ", True),
        ("x", True),
        (1, True),
        (True, True),
        ("No", False),
        ("n", False),
        ("false", False),
        (0, False),
    ],
)
def test_yes_no_spellings(raw: object, value: bool) -> None:
    assert parse_yes_no(raw) is value


def test_numbers_and_bounds() -> None:
    entries = LICENSES.column("client_entries_window")
    assert parse_cell(entries, 12.0) == 12
    assert parse_cell(entries, "1,204") == 1204
    assert isinstance(parse_cell(entries, 1.5), CellError)
    assert isinstance(parse_cell(entries, -1), CellError)
    assert isinstance(parse_cell(entries, "lots"), CellError)
    population = Column("Population", "population", Kind.INTEGER, minimum=1)
    assert "less than 1" in parse_cell(population, 0).problem  # type: ignore[union-attr]


def test_ids_keep_whole_numbers_as_text() -> None:
    ids = LICENSES.column("license_id")
    assert parse_cell(ids, 1001.0) == "1001"
    assert parse_cell(ids, "  L-7 ") == "L-7"


@given(st.integers(0, 5000))
def test_column_letters(index: int) -> None:
    letters = column_letter(index)
    value = 0
    for ch in letters:
        value = value * 26 + (ord(ch) - 64)
    assert value - 1 == index
    assert column_letter(0) == "A" and column_letter(25) == "Z" and column_letter(26) == "AA"


@given(st.one_of(st.text(), st.integers(), st.floats(), st.booleans(), st.dates(), st.none()))
def test_no_cell_value_crashes_any_reader(raw: object) -> None:
    for column in LICENSES.columns:
        result = parse_cell(column, raw)
        if isinstance(result, CellError):
            assert result.problem and result.how_to_fix


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0.1 * 3 * 10, 3),  # stored as 3.0000000000000004; Excel shows 3
        (0.1 * 3 * 10 * 100000, 300000),  # 300000.00000000006
        (12.0, 12),
        (2.5, None),
        (2.000001, None),
        (1e-9, None),
    ],
)
def test_a_whole_number_is_judged_as_excel_shows_it(raw: float, expected: int | None) -> None:
    """Excel shows 15 significant digits: a formula's floating-point noise is not a
    fraction anybody can see or fix (a population of 300000.00000000006 held back every
    allotment)."""
    from workbook.values import parse_number

    read = parse_number(raw, whole=True)
    if expected is None:
        assert isinstance(read, CellError) and "is not a whole number" in read.problem
    else:
        assert read == expected and type(read) is int
