"""The Recalculate button writes exactly the cells `hmis-licensing recalc` writes.

No mocks: each test builds the JSON an xlwings client sends from a real .xlsx file, runs
`workbook.excel.recalculate` on xlwings' own remote engine (`xw.Book(json=...)`, the engine
of xlwings Server and Lite), applies the actions it returns to a copy of the file as Excel
would (tests/xlwings_bridge.py), and compares every result sheet, cell for cell (value,
type and number format), with `recalc` run on another copy of the same file, with the same
policy and as-of date. The Run Log is compared on every column but Run At and Ran From.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import SAMPLE, minimal_sheets, policy_text, read_sheet, write_workbook
from tests.xlwings_bridge import CLIENTS, OFFICE_JS, VBA, recalculate_as_excel, sheet_cells
from workbook.cli import main
from workbook.layout import (
    APPENDED_SHEETS,
    FINDINGS_HISTORY,
    INACTIVITY_REPORT,
    INPUT_SHEETS,
    LICENSES,
    POLICY_SHEET,
    RESULT_SHEETS,
    RUN_LOG,
    SETTINGS,
    WATCH_LIST,
)

AS_OF = dt.date(2026, 11, 24)
NOT_COMPARED = {"Run At", "Ran From"}
INPUT_TITLES = {s.name.casefold() for s in INPUT_SHEETS} | {POLICY_SHEET.casefold(), "read me"}


def _xlwings_client_actions() -> set[str]:
    """The actions both xlwings clients shipped with xlwings implement (VBA and Apps Script)."""
    import xlwings

    root = Path(xlwings.__file__).parent
    vba = set(
        re.findall(
            r"(?m)^Sub (\w+)\(wb As Workbook, action As Dictionary\)",
            (root / "addin" / "Remote.bas").read_text(encoding="utf-8"),
        )
    )
    gas = set(
        re.findall(
            r"(?m)^function (\w+)\(workbook, action\)",
            (root / "js" / "xlwings.js").read_text(encoding="utf-8"),
        )
    )
    return vba & gas


CLIENT_ACTIONS = _xlwings_client_actions()


def recalc_both(
    source: Path,
    folder: Path,
    *,
    client: Mapping[str, Any] = OFFICE_JS,
    cli_args: tuple[str, ...] = (),
    excel_source: Path | None = None,
    **options: Any,
) -> tuple[Path, Path, Any, list[str]]:
    """Recalculate two copies of `source` in `folder`: one with `recalc`, one as Excel."""
    by_cli = Path(shutil.copy(source, folder / "by-recalc.xlsx"))
    by_excel = folder / "by-excel.xlsx"
    cli_exit = main(["recalc", str(by_cli), *cli_args])
    options.setdefault("workbook_folder", folder)
    outcome, applied = recalculate_as_excel(
        excel_source or source, by_excel, client=client, ran_from="test", **options
    )
    assert outcome.exit_code == cli_exit
    return by_cli, by_excel, outcome, applied


def assert_same_results(by_cli: Path, by_excel: Path, source: Path) -> None:
    """Every result sheet equal cell for cell; Run Log and Findings History but for Run At
    and Ran From; inputs kept."""
    expected, actual, original = sheet_cells(by_cli), sheet_cells(by_excel), sheet_cells(source)
    assert list(actual) == list(expected), "the same sheets, in the same order"
    for sheet in RESULT_SHEETS:
        if sheet in APPENDED_SHEETS:
            assert appended_rows(by_excel, sheet.name) == appended_rows(by_cli, sheet.name)
            continue
        assert actual.get(sheet.name) == expected.get(sheet.name), sheet.name
    for title, rows in original.items():
        if title.casefold() in INPUT_TITLES:
            assert actual[title] == rows, f"input sheet {title} changed"


def run_log(path: Path) -> list[dict[str, object]]:
    return appended_rows(path, RUN_LOG.name)


def appended_rows(path: Path, title: str) -> list[dict[str, object]]:
    """An appended sheet's rows by header, without the columns that say when and from where."""
    book = openpyxl.load_workbook(path)
    try:
        if title not in book.sheetnames:
            return []
        rows = list(book[title].iter_rows(values_only=True))
    finally:
        book.close()
    head = [str(h) for h in rows[0]]
    return [
        {h: v for h, v in zip(head, row, strict=False) if h not in NOT_COMPARED} for row in rows[1:]
    ]


# ------------------------------------------------------------------------- the sample


@pytest.mark.parametrize("client", list(CLIENTS))
def test_the_sample_recalculated_in_excel_equals_recalc(tmp_path: Path, client: str) -> None:
    by_cli, by_excel, outcome, applied = recalc_both(SAMPLE, tmp_path, client=CLIENTS[client])
    assert outcome.exit_code == 0
    assert outcome.as_of.value == AS_OF  # the sample's Settings sheet
    assert_same_results(by_cli, by_excel, SAMPLE)
    assert set(applied) <= CLIENT_ACTIONS, set(applied) - CLIENT_ACTIONS
    written = sheet_cells(by_excel)
    # The title line, the header, one row per license.
    assert len(written["Inactivity Report"]) == 2 + len(outcome.results.decisions)
    title = written["Inactivity Report"][0][0][0]
    assert title.startswith("Inactivity Report - as of 2026-11-24 - policy")
    assert len(run_log(by_excel)) == 1
    assert _active_sheet(by_excel) == _active_sheet(SAMPLE), "the user stays where they were"


def _active_sheet(path: Path) -> str:
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return book.active.title
    finally:
        book.close()


def test_the_actions_are_ones_every_xlwings_client_implements() -> None:
    assert {"setValues", "sheetClear", "addSheet", "setNumberFormat"} <= CLIENT_ACTIONS


def test_a_second_run_replaces_result_sheets_whole_and_appends_to_the_run_log(
    tmp_path: Path,
) -> None:
    first_cli, first_excel, _, _ = recalc_both(SAMPLE, tmp_path)
    # Fewer licenses the second time: rows left over from the first run must go.
    for path in (first_cli, first_excel):
        book = openpyxl.load_workbook(path)
        book[LICENSES.name].delete_rows(40, 100)
        book.save(path)
    second = tmp_path / "second"
    second.mkdir()
    by_cli, by_excel, outcome, _ = recalc_both(
        first_cli, second, excel_source=first_excel, client=VBA
    )
    assert outcome.exit_code == 0
    assert_same_results(by_cli, by_excel, first_excel)
    assert len(run_log(by_excel)) == 2
    assert len(sheet_cells(by_excel)["Inactivity Report"]) < len(
        sheet_cells(first_excel)["Inactivity Report"]
    )


def test_a_bad_cell_is_contained_the_same_way_in_both(tmp_path: Path) -> None:
    good_cli, good_excel, _, _ = recalc_both(SAMPLE, tmp_path)
    for path in (good_cli, good_excel):
        book = openpyxl.load_workbook(path)
        book[LICENSES.name]["H5"] = "31/02/2026"  # Granted On: not a date
        book.save(path)
    later = tmp_path / "later"
    later.mkdir()
    by_cli, by_excel, outcome, _ = recalc_both(good_cli, later, excel_source=good_excel)
    assert outcome.exit_code == 1
    assert_same_results(by_cli, by_excel, good_excel)
    before, after = sheet_cells(good_excel), sheet_cells(by_excel)
    # SPEC §3: only L-1004 (Licenses row 5) is held back, as Cannot judge.
    report = [[cell[0] for cell in row] for row in after["Inactivity Report"]]
    by_id = {row[0]: row for row in report[1:]}
    assert "Cannot judge" in by_id["L-1004"]
    assert sum("Cannot judge" in row for row in report) == 1
    assert after["Problems"] != before["Problems"]
    assert any(cell[0] == "H5" for row in after["Problems"] for cell in row)


def test_a_held_back_sheet_is_titled_the_same_way_in_both(tmp_path: Path) -> None:
    """SPEC §3: a month later a bad population holds Allotments back; both keep its rows
    and a title naming the run they are from (2026-11-24) and the run that held it back."""
    good_cli, good_excel, _, _ = recalc_both(SAMPLE, tmp_path)
    for path in (good_cli, good_excel):
        book = openpyxl.load_workbook(path)
        book["Regions"]["B2"] = "many"
        book["Settings"]["B2"] = dt.datetime(2026, 12, 24)
        book.save(path)
    later = tmp_path / "later"
    later.mkdir()
    by_cli, by_excel, outcome, _ = recalc_both(good_cli, later, excel_source=good_excel)
    assert outcome.exit_code == 1
    assert outcome.as_of.value == dt.date(2026, 12, 24)
    assert_same_results(by_cli, by_excel, good_excel)
    before, after = sheet_cells(good_excel)["Allotments"], sheet_cells(by_excel)["Allotments"]
    assert after[1:] == before[1:]
    title = after[0][0][0]
    assert title.startswith(before[0][0][0] + " - HELD BACK as of 2026-12-24 ("), title
    assert "as of 2026-11-24 - policy" in title


@pytest.mark.parametrize(("setting", "row"), [("As Of", 2), ("Next Review", 4)])
def test_an_unreadable_date_setting_holds_back_the_same_sheets_in_both(
    tmp_path: Path, setting: str, row: int
) -> None:
    """The button takes its date from the Settings sheet, as recalc without --as-of
    does: an As Of it cannot read holds back every sheet on the date (no Findings History
    row dated today), a Next Review the Watch List, in both alike."""
    good_cli, good_excel, _, _ = recalc_both(SAMPLE, tmp_path)
    for path in (good_cli, good_excel):
        book = openpyxl.load_workbook(path)
        assert book["Settings"][f"A{row}"].value == setting
        book["Settings"][f"B{row}"] = "2026-13-01"
        book.save(path)
        book.close()
    later = tmp_path / "later"
    later.mkdir()
    by_cli, by_excel, outcome, _ = recalc_both(good_cli, later, excel_source=good_excel)
    assert outcome.exit_code == 1
    assert_same_results(by_cli, by_excel, good_excel)
    held = {"As Of": 8, "Next Review": 1}[setting]
    assert len(outcome.results.held_back) == held, outcome.results.held_back
    why = f"the Settings sheet's {setting} could not be read"
    assert why in sheet_cells(by_excel)["Watch List"][0][0][0]
    if setting == "As Of":
        history = appended_rows(by_excel, "Findings History")
        assert history == appended_rows(good_excel, "Findings History")


@pytest.mark.parametrize("client", list(CLIENTS))
def test_error_values_are_unusable_cells_in_both(tmp_path: Path, client: str) -> None:
    """SPEC §3: a cell showing #N/A or #REF! is an Error, not a user named "#N/A" (xlwings
    hands error values over as their text). The sample's L-1002 (row 3) and L-1005."""
    source = Path(shutil.copy(SAMPLE, tmp_path / "errors.xlsx"))
    book = openpyxl.load_workbook(source)
    try:
        licenses, headers = book[LICENSES.name], [c.value for c in book[LICENSES.name][1]]
        licenses.cell(3, headers.index("User") + 1).value = "#N/A"
        licenses.cell(6, headers.index("Region") + 1).value = "#REF!"
        licenses.cell(7, headers.index("Level 4 List Holder") + 1).value = "#DIV/0!"
        book.save(source)
    finally:
        book.close()
    by_cli, by_excel, outcome, _ = recalc_both(source, tmp_path, client=CLIENTS[client])
    assert outcome.exit_code == 1
    assert_same_results(by_cli, by_excel, source)
    report = _report(by_excel)
    assert report["L-1002"]["Finding"] == "Cannot judge"
    problems = [str(row[3][0]) for row in sheet_cells(by_excel)["Problems"][2:]]
    assert any("The cell shows the error #N/A." in p for p in problems)
    assert any("The cell shows the error #DIV/0!." in p for p in problems)
    assert not any('"#N/A" is not' in p for p in problems)


DATE_TIME_TEXTS = [
    "2026-11-02T08:15:00",
    "2026-11-02T08:15:00Z",
    "2026-11-02T08:15:00-05:00",
    "2026-11-02 08:15",
]


@pytest.mark.parametrize("client", list(CLIENTS))
@pytest.mark.parametrize("text", DATE_TIME_TEXTS)
def test_date_time_text_reads_as_recalc_reads_it(tmp_path: Path, text: str, client: str) -> None:
    """Text shaped like an ISO date-time (xlwings' remote engine parses such text itself
    and raised on "2026-11-02T08:15:00") is a date in a date column and stays text in a
    text column, in both. The sample's L-1001 (row 2) and L-1002 (row 3)."""
    source = Path(shutil.copy(SAMPLE, tmp_path / "datetime-text.xlsx"))
    book = openpyxl.load_workbook(source)
    try:
        licenses, headers = book[LICENSES.name], [c.value for c in book[LICENSES.name][1]]
        for row, header in ((2, "Last Login"), (3, "Granted On"), (2, "User")):
            cell = licenses.cell(row, headers.index(header) + 1)
            cell.value = text
            cell.data_type = "s"
        book.save(source)
    finally:
        book.close()
    assert read_sheet(source, LICENSES.name)[1][headers.index("User")] == text, "saved as text"
    by_cli, by_excel, outcome, _ = recalc_both(source, tmp_path, client=CLIENTS[client])
    assert outcome.exit_code == 0, [p.problem for p in outcome.errors]
    assert_same_results(by_cli, by_excel, source)
    report = _report(by_excel)
    assert report["L-1002"]["Granted On"] == dt.datetime(2026, 11, 2)
    assert report["L-1001"]["User"] == text
    users = {row[0][0]: row[1] for row in sheet_cells(by_excel)[INACTIVITY_REPORT.name][2:]}
    assert users["L-1001"][1] == "s", "the user stays text"


def test_text_over_excel_s_cell_limit_is_shortened_as_recalc_shortens_it(tmp_path: Path) -> None:
    """An organization name of 20,025 characters on every input sheet: the Reassignment
    reason that names it twice is over Excel's 32,767-character limit, which Excel refuses
    to write (tests/xlwings_bridge.py refuses it too). Both cut it to the limit, ending
    in "…"."""
    name = "Barry County Helping Hand"  # the sample's Reassignment row 4 (rank 2)
    long_name = ("Barry County Helping Hand of the Ozarks " * 520)[:20_025]
    source = Path(shutil.copy(SAMPLE, tmp_path / "long-name.xlsx"))
    book = openpyxl.load_workbook(source)
    try:
        replaced = 0
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if cell.value == name:
                        cell.value = long_name
                        replaced += 1
        book.save(source)
    finally:
        book.close()
    assert replaced >= 3
    by_cli, by_excel, outcome, _ = recalc_both(source, tmp_path)
    assert outcome.exit_code == 0, [p.problem for p in outcome.errors]
    assert_same_results(by_cli, by_excel, source)
    for path in (by_cli, by_excel):
        reassignment = sheet_cells(path)["Reassignment"]
        assert reassignment[3][2][0] == long_name  # Organization: under the limit, whole
        reasons = reassignment[3][6][0]
        assert isinstance(reasons, str) and len(reasons) == 32_767 and reasons.endswith("…")
        assert reasons.startswith(f"§3 duties: {long_name}")


@pytest.mark.parametrize("client", list(CLIENTS))
def test_a_next_review_date_reads_as_a_date_from_every_client(tmp_path: Path, client: str) -> None:
    """VBA and Office.js before ExcelApi 1.12 send dates as serial numbers: the Settings
    sheet's Next Review is a date to them as its As Of is."""
    source = Path(shutil.copy(SAMPLE, tmp_path / "next.xlsx"))
    book = openpyxl.load_workbook(source)
    try:
        settings_sheet = book[SETTINGS.name]
        row = next(r for r in range(2, 10) if settings_sheet.cell(r, 1).value == "Next Review")
        settings_sheet.cell(row, 2).value = dt.datetime(2026, 12, 20)
        book.save(source)
    finally:
        book.close()
    by_cli, by_excel, outcome, _ = recalc_both(source, tmp_path, client=CLIENTS[client])
    assert outcome.exit_code == 0, [p.problem for p in outcome.errors]
    assert outcome.results.next_review == dt.date(2026, 12, 20)
    assert_same_results(by_cli, by_excel, source)


@pytest.mark.parametrize("client", list(CLIENTS))
def test_an_as_of_typed_as_a_number_is_the_same_date_in_both(tmp_path: Path, client: str) -> None:
    """An As Of and a Next Review typed into General cells are numbers in the file, as
    every date is to VBA: both paths read them as the Excel dates they are (before,
    `recalc` refused them and ran as of today while the button ran as of the date)."""
    source = Path(shutil.copy(SAMPLE, tmp_path / "serial.xlsx"))
    book = openpyxl.load_workbook(source)
    try:
        settings_sheet = book[SETTINGS.name]
        for r in range(2, 10):
            name = settings_sheet.cell(r, 1).value
            if name in ("As Of", "Next Review"):
                cell = settings_sheet.cell(r, 2)
                cell.value = 46350 if name == "As Of" else 46385  # 2026-11-24, 2026-12-29
                cell.number_format = "General"
        book.save(source)
    finally:
        book.close()
    by_cli, by_excel, outcome, _ = recalc_both(source, tmp_path, client=CLIENTS[client])
    assert outcome.exit_code == 0, [p.problem for p in outcome.errors]
    assert outcome.as_of.value == AS_OF
    assert outcome.results.next_review == dt.date(2026, 12, 29)
    assert_same_results(by_cli, by_excel, source)


def test_the_recalculate_message_names_what_an_error_held_back(tmp_path: Path) -> None:
    from workbook.excel.book import summary

    source = Path(shutil.copy(SAMPLE, tmp_path / "bad.xlsx"))
    book = openpyxl.load_workbook(source)
    try:
        book[LICENSES.name]["H5"] = "31/02/2026"  # one Granted On: that license only
        book.save(source)
    finally:
        book.close()
    _, _, outcome, _ = recalc_both(source, tmp_path)
    said = summary(outcome)
    assert "Every result sheet was written" in said and "Only Problems" not in said
    assert "active licenses judged" in said
    book = openpyxl.load_workbook(source)
    try:
        book["Regions"]["B2"] = "many"
        book.save(source)
    finally:
        book.close()
    again = tmp_path / "again"
    again.mkdir()
    _, _, outcome, _ = recalc_both(source, again)
    assert "Held back until the errors are fixed (they keep their last good content):" in (
        summary(outcome)
    )
    assert "Allotments" in summary(outcome).split("Held back")[1]


def test_a_full_findings_history_continues_on_its_next_sheet_in_both(tmp_path: Path) -> None:
    """A full Findings History goes on in "Findings History 2": the button reads both (the
    licenses keep their Eligible Since) and adds the new rows to the second, as recalc does."""
    first_cli, first_excel, _, _ = recalc_both(SAMPLE, tmp_path)
    for path in (first_cli, first_excel):  # as if the first sheet had filled up
        book = openpyxl.load_workbook(path)
        try:
            history = book[FINDINGS_HISTORY.name]
            rows = list(history.iter_rows(values_only=True))
            more = book.create_sheet(f"{FINDINGS_HISTORY.name} 2")
            more.append(rows[0])
            for row in rows[len(rows) // 2 :]:
                more.append(row)
            history.delete_rows(len(rows) // 2 + 1, len(rows))
            book["Settings"]["B2"] = dt.datetime(2026, 12, 24)
            book.save(path)
        finally:
            book.close()
    later = tmp_path / "later"
    later.mkdir()
    by_cli, by_excel, outcome, _ = recalc_both(first_cli, later, excel_source=first_excel)
    assert outcome.exit_code == 0
    assert_same_results(by_cli, by_excel, first_excel)
    for path in (by_cli, by_excel):
        report = _report(path)
        still = [r for r in report.values() if r["Change Since Last Review"] == "Still eligible"]
        assert still and all(r["Eligible Since"] == dt.datetime(2026, 11, 24) for r in still)
    assert appended_rows(by_excel, f"{FINDINGS_HISTORY.name} 2") == appended_rows(
        by_cli, f"{FINDINGS_HISTORY.name} 2"
    )
    assert len(appended_rows(by_excel, FINDINGS_HISTORY.name)) == len(
        appended_rows(first_excel, FINDINGS_HISTORY.name)
    ), "the first sheet is left as it was"


# ---------------------------------------------------------- three monthly reviews


def _edit(paths: tuple[Path, ...], changes: Mapping[tuple[str, str, str], object]) -> None:
    """Set cells on each copy, openpyxl as a person's Excel would save them: (sheet, key
    of the row in column A, column header) -> value."""
    for path in paths:
        book = openpyxl.load_workbook(path)
        try:
            for (title, key, header), value in changes.items():
                sheet = book[title]
                headers = [c.value for c in sheet[1]]
                column = headers.index(header) + 1
                row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value == key)
                sheet.cell(row, column).value = value
            book.save(path)
        finally:
            book.close()


def _report(path: Path) -> dict[str, dict[str, object]]:
    """The Inactivity Report by License ID: each column's value by header."""
    rows = [[cell[0] for cell in row] for row in sheet_cells(path)[INACTIVITY_REPORT.name][1:]]
    head = [str(h) for h in rows[0]]
    return {str(r[0]): dict(zip(head, r, strict=False)) for r in rows[1:]}


def test_three_monthly_reviews_give_the_same_history_and_watch_list_in_excel(
    tmp_path: Path,
) -> None:
    """Issue 12: the button keeps Findings History as `recalc` does, month after month.

    2026-09-24, 2026-10-24 and 2026-11-24 on the sample, each run on the previous run's
    file (the Excel copy on the Excel copy), with edits between them: a license cleared by
    data entry, one revoked; licenses lapse as the months pass. Then the last review is
    repeated, which records nothing.
    """
    month = tmp_path / "2026-09-24"
    month.mkdir()
    start = Path(shutil.copy(SAMPLE, month / "start.xlsx"))
    _edit((start,), {(SETTINGS.name, "As Of", "Value"): dt.datetime(2026, 9, 24)})
    by_cli, by_excel, outcome, applied = recalc_both(start, month, client=VBA)
    assert outcome.exit_code == 0 and set(applied) <= CLIENT_ACTIONS
    assert_same_results(by_cli, by_excel, start)
    first = _report(by_excel)
    history = appended_rows(by_excel, FINDINGS_HISTORY.name)
    assert len(history) == len(first), "the first review records every license"
    eligible = sorted(k for k, r in first.items() if r["Eligible For Revocation"] == "Yes")
    assert {first[k]["Eligible Since"] for k in eligible} == {dt.datetime(2026, 9, 24)}
    cleared, revoked = eligible[0], eligible[1]

    reviews = [
        (
            dt.datetime(2026, 10, 24),
            {(LICENSES.name, cleared, "Last Client Data Entry"): dt.datetime(2026, 10, 20)},
        ),
        (
            dt.datetime(2026, 11, 24),
            {
                (LICENSES.name, revoked, "Revoked On"): dt.datetime(2026, 11, 2),
                (LICENSES.name, revoked, "Revoked By"): "HMIS Lead",
                (LICENSES.name, revoked, "Revocation Reason"): "Inactivity §1.1",
            },
        ),
        (dt.datetime(2026, 11, 24), {}),  # the same review again
    ]
    reports = [first]
    for number, (as_of, edits) in enumerate(reviews, start=2):
        _edit((by_cli, by_excel), {(SETTINGS.name, "As Of", "Value"): as_of, **edits})
        month = tmp_path / f"run-{number}"
        month.mkdir()
        before = len(appended_rows(by_excel, FINDINGS_HISTORY.name))
        by_cli, by_excel, outcome, applied = recalc_both(
            by_cli, month, excel_source=by_excel, client=VBA if number % 2 else OFFICE_JS
        )
        assert outcome.exit_code == 0 and set(applied) <= CLIENT_ACTIONS
        assert_same_results(by_cli, by_excel, by_excel)
        assert len(run_log(by_excel)) == number
        added = appended_rows(by_excel, FINDINGS_HISTORY.name)[before:]
        report = _report(by_excel)
        assert {str(r["License ID"]) for r in added} <= set(report)
        reports.append(report)
        if number == 2:
            assert report[cleared]["Change Since Last Review"] == (
                "No longer eligible: client data entered on 2026-10-20"
            )
            assert report[revoked]["Change Since Last Review"] == "Still eligible"
            assert report[revoked]["Eligible Since"] == dt.datetime(2026, 9, 24)
            change = {k: r["Change Since Last Review"] for k, r in report.items()}
            newly = [k for k, c in change.items() if c == "Newly eligible"]
            assert newly, "a license lapsed between the reviews"
            assert {report[k]["Eligible Since"] for k in newly} == {dt.datetime(2026, 10, 24)}
            assert {cleared, *newly} <= {str(r["License ID"]) for r in added}
        if number == 3:
            assert report[revoked]["Change Since Last Review"] == (
                "No longer eligible: revoked on 2026-11-02"
            )
            assert revoked in {str(r["License ID"]) for r in added}
        if number == 4:
            assert added == [], "a repeated review records nothing"
            assert report == reports[2]
    watch = sheet_cells(by_excel)[WATCH_LIST.name]
    assert len(watch) > 2, "the Watch List has rows"


# ------------------------------------------------------------------ where the policy is


def _sample_with(
    tmp_path: Path, *, policy_file: str | None = None, sheet: str | None = None
) -> Path:
    path = Path(shutil.copy(SAMPLE, tmp_path / "source.xlsx"))
    book = openpyxl.load_workbook(path)
    if policy_file is not None:
        settings_sheet = book["Settings"]
        for row in settings_sheet.iter_rows(min_row=2):
            if row[0].value == "Policy File":
                row[1].value = policy_file
    if sheet is not None:
        policy_sheet = book.create_sheet(POLICY_SHEET)
        for number, line in enumerate(sheet.splitlines(), start=1):
            policy_sheet.cell(number, 1).value = line
            policy_sheet.cell(number, 1).data_type = "s"
    book.save(path)
    return path


def test_a_relative_policy_file_in_settings_is_read_beside_the_workbook(tmp_path: Path) -> None:
    (tmp_path / "coc-policy.yaml").write_text(policy_text(target="25"), encoding="utf-8")
    source = _sample_with(tmp_path, policy_file="coc-policy.yaml")
    by_cli, by_excel, outcome, _ = recalc_both(source, tmp_path, client=VBA)
    assert outcome.policy.ce_allotment.target == 25
    assert outcome.policy_file.value == tmp_path / "coc-policy.yaml"
    assert_same_results(by_cli, by_excel, source)


def test_a_policy_sheet_is_used_by_excel_and_by_recalc_alike(tmp_path: Path) -> None:
    source = _sample_with(tmp_path, sheet=policy_text(minimum="3"))
    by_cli, by_excel, outcome, _ = recalc_both(source, tmp_path, workbook_folder=None)
    assert outcome.policy.ce_allotment.minimum == 3
    assert str(outcome.policy_file.value) == "Policy sheet"
    assert_same_results(by_cli, by_excel, source)
    assert run_log(by_excel)[0]["Policy File"] == "Policy sheet"


def test_a_bad_policy_sheet_is_a_problem_naming_its_row(tmp_path: Path) -> None:
    source = _sample_with(tmp_path, sheet=policy_text(minimum="-1"))
    by_cli, by_excel, outcome, _ = recalc_both(source, tmp_path)
    assert outcome.exit_code == 2
    assert_same_results(by_cli, by_excel, source)
    problems = [row[3][0] for row in sheet_cells(by_excel)["Problems"][2:]]
    line = next(
        n for n, t in enumerate(policy_text(minimum="-1").splitlines(), 1) if "minimum: -1" in t
    )
    assert any(f"Policy sheet:{line}" in text and "minimum" in text for text in problems), problems


def test_a_relative_policy_file_where_excel_gives_no_folder_says_what_to_do(
    tmp_path: Path,
) -> None:
    source = _sample_with(tmp_path, policy_file="coc-policy.yaml")
    outcome, _ = recalculate_as_excel(source, tmp_path / "out.xlsx", workbook_folder=None)
    assert outcome.exit_code == 2
    problem = outcome.problems[0]
    assert "relative path" in problem.problem
    assert POLICY_SHEET in problem.how_to_fix and "full path" in problem.how_to_fix
    assert outcome.cells.cell(problem.where) == ("Settings", "B3")  # where it is fixed


def test_a_missing_policy_file_named_in_settings_is_the_settings_cell_s_problem(
    tmp_path: Path,
) -> None:
    """Both paths name the Settings cell and say how to fix it there (not "leave
    --policy out", which the user never gave)."""
    source = _sample_with(tmp_path, policy_file=str(tmp_path / "missing.yaml"))
    by_cli, by_excel, outcome, _ = recalc_both(source, tmp_path)
    assert outcome.exit_code == 2
    [problem] = [p for p in outcome.problems if p.severity == "Error"]
    assert outcome.cells.cell(problem.where) == ("Settings", "B3")
    assert "named by the Settings sheet's Policy File" in problem.problem
    assert "--policy" not in problem.how_to_fix
    assert "Correct the Settings sheet's Policy File" in problem.how_to_fix
    assert_same_results(by_cli, by_excel, source)


# --------------------------------------------------------------- text stays text


def test_text_that_looks_like_a_formula_number_or_date_is_written_as_text(tmp_path: Path) -> None:
    tricky = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "1.0", "2026-05-31", "TRUE"]
    licenses = [
        {
            "License ID": f"00{n}",
            "User": text,
            "Organization": "Org A",
            "License Type": "Housing Project",
            "Granted On": dt.date(2020, 1, 1),
        }
        for n, text in enumerate(tricky, start=1)
    ]
    sheets = minimal_sheets(licenses, extra={"Settings": [["Setting", "Value"], ["As Of", AS_OF]]})
    source = write_workbook(tmp_path / "tricky.xlsx", sheets)
    by_cli, by_excel, outcome, _ = recalc_both(source, tmp_path, client=VBA)
    assert outcome.exit_code == 0
    assert_same_results(by_cli, by_excel, source)
    report = sheet_cells(by_excel)["Inactivity Report"]
    users = {row[1][0]: row[1][1] for row in report[2:]}  # below the title and header
    assert set(users) == set(tricky)
    assert set(users.values()) == {"s"}, "every one stored as text"
    assert {row[0][0] for row in report[2:]} == {f"00{n}" for n in range(1, 8)}


# ------------------------------------------------------------ generated workbooks

DAY = st.dates(min_value=dt.date(2019, 1, 1), max_value=dt.date(2027, 6, 30))
ORGS = ["Org A", "Org B", "Hope House", "River Shelter"]
TYPES = ["Housing Project", "CE Access Only", "Other Funded"]


def _date_cell(draw: st.DrawFn, *, blank: bool, bad: bool) -> object:
    choices = (
        ["date", "date", "iso"] + (["blank", "blank"] if blank else []) + (["bad"] if bad else [])
    )
    choice = draw(st.sampled_from(choices))
    if choice == "blank":
        return None
    if choice == "bad":
        return draw(st.sampled_from(["31/02/2026", "soon", "2026-13-01"]))
    day = draw(DAY)
    return day if choice == "date" else day.isoformat()


@st.composite
def workbooks(draw: st.DrawFn) -> dict[str, list[list[object]]]:
    """Small workbooks; about half have a bad cell somewhere (then only Problems is written)."""
    bad = draw(st.booleans())
    count = draw(st.integers(min_value=0, max_value=12))
    licenses = []
    for n in range(count):
        licenses.append(
            {
                "License ID": draw(st.sampled_from([f"L-{n}", n + 1, f"{n:03d}"])),
                "User": draw(st.sampled_from(["Pat", "Sam Lee", "=1+1", " Kim "])),
                "Organization": draw(st.sampled_from(ORGS)),
                "License Type": draw(st.sampled_from(TYPES + (["Unknown Type"] if bad else []))),
                "Granted On": _date_cell(draw, blank=False, bad=bad),
                "First Sign-In": _date_cell(draw, blank=True, bad=bad),
                "Last Client Data Entry": _date_cell(draw, blank=True, bad=bad),
                "Client Entries (Window)": draw(st.one_of(st.none(), st.integers(0, 40))),
                "Last Login": _date_cell(draw, blank=True, bad=False),
                "Level 4 List Holder": draw(st.sampled_from([None, "Yes", "No", "y"])),
                "Revoked On": draw(st.one_of(st.none(), DAY)),
            }
        )
    regions = draw(
        st.lists(st.integers(1_000, 900_000), min_size=1, max_size=6).map(
            lambda pops: [(f"Region {i + 1}", p) for i, p in enumerate(pops)]
        )
    )
    extra: dict[str, list[list[object]]] = {
        "Settings": [["Setting", "Value"], ["As Of", draw(DAY)], ["Policy File", None]]
    }
    if draw(st.booleans()):
        extra["Appeals"] = [
            [
                "Appeal ID",
                "Filed On",
                "Organization",
                "License ID",
                "Reason",
                "Decision",
                "Decided On",
                "Exception Until",
            ],
            [
                "A-1",
                draw(DAY),
                draw(st.sampled_from(ORGS)),
                None,
                "Special request",
                draw(st.sampled_from(["Approved", "Pending", "Denied"])),
                draw(DAY),
                None,
            ],
        ]
    if draw(st.booleans()):
        extra["Self-Pay Requests"] = [
            ["Request ID", "Organization", "Licenses Requested", "Years"],
            ["S-1", "Org A", draw(st.integers(1, 9)), draw(st.integers(1, 5))],
        ]
    return minimal_sheets(licenses, organizations=ORGS[:3], regions=regions, extra=extra)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sheets=workbooks(), client=st.sampled_from(list(CLIENTS)))
def test_generated_workbooks_give_the_same_cells_in_excel_and_recalc(
    tmp_path_factory: pytest.TempPathFactory, sheets: dict[str, list[list[object]]], client: str
) -> None:
    folder = tmp_path_factory.mktemp("generated")
    source = write_workbook(folder / "generated.xlsx", sheets)
    by_cli, by_excel, outcome, applied = recalc_both(source, folder, client=CLIENTS[client])
    event(f"exit code {outcome.exit_code}")
    assert_same_results(by_cli, by_excel, source)
    assert set(applied) <= CLIENT_ACTIONS


def test_the_readme_s_xlwings_server_script_recalculates_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's xlwings Server recipe, run as written on a payload in Office.js's
    dialect: it writes the same result cells as recalc and prints the summary."""
    import xlwings as xw

    from tests.conftest import REPO
    from tests.xlwings_bridge import apply_actions, payload_from_xlsx

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### xlwings Server", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md (xlwings Server)", "exec"), namespace)
    book = xw.Book(json=payload_from_xlsx(SAMPLE, client=OFFICE_JS))
    namespace["hmis_recalculate"](book)
    assert "140 active licenses judged; 21 eligible for revocation." in capsys.readouterr().out
    by_server = tmp_path / "by-server.xlsx"
    copy = openpyxl.load_workbook(SAMPLE)
    try:
        assert set(apply_actions(copy, book.json()["actions"])) <= CLIENT_ACTIONS
        copy.save(by_server)
    finally:
        copy.close()
    by_cli = Path(shutil.copy(SAMPLE, tmp_path / "by-cli.xlsx"))
    assert main(["recalc", str(by_cli)]) == 0
    assert_same_results(by_cli, by_server, SAMPLE)
    [ran_from] = [row[-1] for row in read_sheet(by_server, RUN_LOG.name)[1:]]
    assert ran_from == "Excel (xlwings Server)"
