"""The test bridge itself: it must play Excel's part strictly, or the parity tests prove little."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
import xlwings as xw

from tests.conftest import write_workbook
from tests.xlwings_bridge import (
    EXCEL_CELL_LIMIT,
    OFFICE_JS,
    VBA,
    ExcelRefuses,
    UnknownAction,
    apply_actions,
    excel_reads,
    payload_from_xlsx,
)


def test_an_action_excel_emulation_does_not_know_raises() -> None:
    book = openpyxl.Workbook()
    action = {"func": "setFontProperty", "args": ["bold", True], "sheet_position": 0}
    with pytest.raises(UnknownAction, match="setFontProperty"):
        apply_actions(book, [action])


@pytest.mark.parametrize(
    ("sent", "stored", "data_type"),
    [
        ("'=1+1", "=1+1", "s"),
        ("=1+1", "=1+1", "f"),  # what text written without the apostrophe would become
        ("'001", "001", "s"),
        ("001", 1, "n"),
        ("2026-05-31", dt.datetime(2026, 5, 31), "d"),
        ("'2026-05-31", "2026-05-31", "s"),
        ("TRUE", True, "b"),
        ("", None, "n"),
        (2.5, 2.5, "n"),
    ],
)
def test_values_are_read_as_excel_reads_them(sent: object, stored: object, data_type: str) -> None:
    cell = openpyxl.Workbook().active["A1"]
    excel_reads(cell, sent)
    assert (cell.value, cell.data_type) == (stored, data_type)


def test_text_over_excel_s_cell_limit_is_refused_as_excel_refuses_it() -> None:
    cell = openpyxl.Workbook().active["A1"]
    excel_reads(cell, "'" + "x" * EXCEL_CELL_LIMIT)  # the apostrophe is not in the value
    assert cell.value == "x" * EXCEL_CELL_LIMIT
    with pytest.raises(ExcelRefuses, match="A1"):
        excel_reads(cell, "x" * (EXCEL_CELL_LIMIT + 1))
    with pytest.raises(ExcelRefuses):
        excel_reads(cell, "'" + "\U0001f3e0" * (EXCEL_CELL_LIMIT // 2 + 1))  # two units each


def test_payloads_in_each_client_s_dialect(tmp_path: Path) -> None:
    path = write_workbook(
        tmp_path / "b.xlsx",
        {"Data": [["Day", "Count", "Note"], [dt.date(2026, 5, 31), 3, None]]},
    )
    office = payload_from_xlsx(path, client=OFFICE_JS)
    vba = payload_from_xlsx(path, client=VBA)
    assert office["sheets"][0]["values"][1] == ["2026-05-31T00:00:00.000Z", 3.0, ""]
    assert vba["sheets"][0]["values"][1] == [46173.0, 3.0, None]
    # xlwings' remote engine accepts both, as it accepts real clients' requests.
    for payload in (office, vba):
        book = xw.Book(json=payload)
        assert book.sheets["Data"]["A1:C1"].value == ["Day", "Count", "Note"]


def test_result_text_is_marked_as_text_and_cleaned_as_the_file_writer_does() -> None:
    from decimal import Decimal

    from workbook.excel.book import cell_value

    assert cell_value("=SUM(A1)") == "'=SUM(A1)"
    assert cell_value("Bell\x07 Name\x00") == "'Bell Name"
    assert cell_value("line one\nline two\ttab") == "'line one\nline two\ttab"
    assert cell_value(Decimal("14259.00")) == 14259
    assert cell_value(Decimal("184.50")) == 184.5
    assert cell_value(float("nan")) is None
    assert cell_value(dt.date(2026, 5, 31)) == dt.date(2026, 5, 31)
