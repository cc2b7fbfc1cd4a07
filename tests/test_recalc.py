"""`hmis-licensing recalc` and `check` on real .xlsx files, end to end."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import (
    AS_OF,
    SAMPLE,
    minimal_sheets,
    policy_text,
    read_sheet,
    sheet_dicts,
    write_workbook,
)
from workbook.cli import main
from workbook.layout import (
    ALLOTMENTS,
    INACTIVITY_REPORT,
    INPUT_SHEETS,
    PROBLEMS,
    REVOCATIONS,
    RUN_LOG,
)
from workbook.run import evaluate
from workbook.xlsx.read import read_snapshot


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return Path(shutil.copy(SAMPLE, tmp_path / "sample.xlsx"))


def input_values(path: Path) -> dict[str, list[tuple[object, ...]]]:
    book = openpyxl.load_workbook(path)
    names = {s.name.casefold() for s in INPUT_SHEETS} | {"read me"}
    try:
        return {
            ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)]
            for ws in book.worksheets
            if ws.title.casefold() in names
        }
    finally:
        book.close()


LICENSE = {
    "License ID": "L-1",
    "User": "Pat Doe",
    "Organization": "Org A",
    "License Type": "Housing Project",
    "Granted On": dt.date(2024, 1, 1),
    "First Sign-In": dt.date(2024, 1, 2),
    "Last Client Data Entry": dt.date(2026, 1, 1),
}
ACTIVE = {**LICENSE, "License ID": "L-2", "Last Client Data Entry": dt.date(2026, 11, 1)}


# ----------------------------------------------------------------- the sample


def test_recalc_on_the_sample_writes_every_result_sheet(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = input_values(sample)
    assert main(["recalc", str(sample), "--as-of", "2026-11-24"]) == 0
    out = capsys.readouterr().out
    assert "As of:    2026-11-24 (--as-of)" in out
    assert "adopted policy shipped with hmis-licensing" in out

    book = openpyxl.load_workbook(sample, read_only=True)
    for sheet in (ALLOTMENTS, INACTIVITY_REPORT, REVOCATIONS, PROBLEMS, RUN_LOG):
        rows = book[sheet.name].iter_rows(values_only=True)
        if sheet is not RUN_LOG:  # the title line: what it is, As Of, which policy
            title = next(rows)[0]
            assert title.startswith(f"{sheet.name} - as of 2026-11-24 - policy 1.1.0, SHA-256")
        header = next(rows)
        assert list(header) == list(sheet.headers)
    book.close()

    allotments = {r["Region"]: r for r in sheet_dicts(sample, "Allotments")}
    assert allotments["Region 1"]["Population"] == 596_788
    assert allotments["Region 1"]["Allotment"] == 4
    assert allotments["Region 10"]["Allotment"] == 2
    assert allotments["Region 10"]["Minimum Applied"] == "Yes"
    assert allotments["Total"]["Population"] == 2_909_430
    assert allotments["Total"]["Formula Value"] == 20

    report = sheet_dicts(sample, "Inactivity Report")
    findings = {r["Finding"] for r in report}
    assert findings == {"Active", "Inactive", "Not signed in", "Not judged"}
    exceptions = " ".join(str(r["Exception"] or "") for r in report)
    for clause in ("§1.E1", "§1.E2", "§1.E3"):
        assert clause in exceptions
    revocations = sheet_dicts(sample, "Revocations")
    assert revocations and all(r["Eligible For Revocation"] == "Yes" for r in revocations)
    assert {r["License ID"] for r in revocations} == {
        r["License ID"] for r in report if r["Eligible For Revocation"] == "Yes"
    }
    for row in revocations:
        assert "§1." in str(row["Explanation"]) and str(row["Explanation"]).endswith(
            "Eligible for revocation."
        )
    assert input_values(sample) == before


def test_run_log_is_appended_never_replaced(sample: Path) -> None:
    assert main(["recalc", str(sample), "--as-of", "2026-11-24"]) == 0
    assert main(["recalc", str(sample), "--as-of", "2026-12-24"]) == 0
    log = sheet_dicts(sample, "Run Log")
    assert [r["As Of"] for r in log] == [dt.datetime(2026, 11, 24), dt.datetime(2026, 12, 24)]
    assert log[0]["Policy Version"] == "1.1.0"
    assert len(str(log[0]["Policy SHA-256"])) == 64
    assert log[0]["Engine Version"]
    assert log[0]["Errors"] == 0
    assert log[0]["Licenses"] and log[0]["Eligible"]


def test_output_leaves_the_original_untouched(sample: Path, tmp_path: Path) -> None:
    original = sample.read_bytes()
    out = tmp_path / "out.xlsx"
    assert main(["recalc", str(sample), "--output", str(out)]) == 0
    assert sample.read_bytes() == original
    assert sheet_dicts(out, "Allotments")[0]["Allotment"] == 4


def test_check_writes_nothing(sample: Path) -> None:
    original = sample.read_bytes()
    assert main(["check", str(sample)]) == 0
    assert sample.read_bytes() == original


# ------------------------------------------------------------ policy and date


def test_a_threshold_changed_in_yaml_changes_the_result(sample: Path, tmp_path: Path) -> None:
    assert main(["recalc", str(sample)]) == 0
    default = sheet_dicts(sample, "Allotments")
    stricter = tmp_path / "policy.yaml"
    stricter.write_text(policy_text(target="40", minimum="3"), encoding="utf-8")
    assert main(["recalc", str(sample), "--policy", str(stricter)]) == 0
    changed = {r["Region"]: r["Allotment"] for r in sheet_dicts(sample, "Allotments")}
    assert default[0]["Allotment"] == 4
    assert changed["Region 1"] == 8  # 596,788 / 2,909,430 × 40 = 8.2
    assert changed["Region 10"] == 3
    assert sheet_dicts(sample, "Run Log")[-1]["Policy File"] == str(stricter)


def test_policy_order_cli_then_settings_then_beside_then_adopted(tmp_path: Path) -> None:
    sheets = minimal_sheets([LICENSE, ACTIVE])
    book = write_workbook(tmp_path / "book.xlsx", sheets)

    def allotment_of_region_1() -> int:
        return int(sheet_dicts(book, "Allotments")[0]["Allotment"])  # type: ignore[arg-type]

    assert main(["recalc", str(book)]) == 0
    assert allotment_of_region_1() == 4  # adopted
    (tmp_path / "policy.yaml").write_text(policy_text(target="40"), encoding="utf-8")
    assert main(["recalc", str(book)]) == 0
    assert allotment_of_region_1() == 8  # beside the workbook
    (tmp_path / "named.yaml").write_text(policy_text(target="60"), encoding="utf-8")
    sheets["Settings"] = [["Setting", "Value"], ["Policy File", "named.yaml"]]
    write_workbook(book, sheets)
    assert main(["recalc", str(book)]) == 0
    assert allotment_of_region_1() == 12  # Settings sheet, relative to the workbook
    (tmp_path / "cli.yaml").write_text(policy_text(target="80"), encoding="utf-8")
    assert main(["recalc", str(book), "--policy", str(tmp_path / "cli.yaml")]) == 0
    assert allotment_of_region_1() == 16  # --policy wins


@pytest.mark.parametrize("given", ["20261124", "2026-W48-2", "2026W482", "2026-11-24T00:00"])
def test_as_of_must_be_written_yyyy_mm_dd(given: str, capsys: pytest.CaptureFixture[str]) -> None:
    """SPEC §5: exit 2 for a bad argument; fromisoformat's other forms are not dates here."""
    with pytest.raises(SystemExit) as stopped:
        main(["check", str(SAMPLE), "--as-of", given])
    assert stopped.value.code == 2
    assert "write it as yyyy-mm-dd" in capsys.readouterr().err


def test_a_next_review_warning_names_its_cell(tmp_path: Path) -> None:
    book = tmp_path / "book.xlsx"
    shutil.copy(SAMPLE, book)
    workbook = openpyxl.load_workbook(book)
    settings = workbook["Settings"]
    [row] = [r for r in settings.iter_rows(min_row=2) if r[0].value == "Next Review"]
    row[1].value = dt.datetime(2026, 11, 20)
    workbook.save(book)
    workbook.close()
    outcome = evaluate(
        read_snapshot(book),
        workbook_folder=tmp_path,
        as_of=AS_OF,
        today=AS_OF,
        now=dt.datetime(2026, 11, 24, 9),
        ran_from="test",
    )
    [warning] = [p for p in outcome.problems if p.problem.startswith("Next Review 2026-11-20")]
    assert outcome.cells.cell(warning.where) == ("Settings", f"B{row[1].row}")


def test_as_of_order_cli_then_settings(tmp_path: Path) -> None:
    sheets = minimal_sheets([LICENSE, ACTIVE])
    sheets["Settings"] = [["Setting", "Value"], ["As Of", dt.date(2026, 3, 1)]]
    book = write_workbook(tmp_path / "book.xlsx", sheets)
    assert main(["recalc", str(book)]) == 0
    assert sheet_dicts(book, "Run Log")[-1]["As Of"] == dt.datetime(2026, 3, 1)
    report = {r["License ID"]: r for r in sheet_dicts(book, "Inactivity Report")}
    assert report["L-1"]["Finding"] == "Active"
    # L-2's entry of 2026-11-01 is after the Settings' As Of: on 2026-03-01 it does not count.
    assert report["L-2"]["Finding"] == "Inactive"
    assert "is after the as-of date 2026-03-01" in str(report["L-2"]["Explanation"])
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 0
    findings = {r["License ID"]: r["Finding"] for r in sheet_dicts(book, "Inactivity Report")}
    assert findings == {"L-1": "Inactive", "L-2": "Active"}


def _set_setting(path: Path, name: str, value: object) -> None:
    """The Value cell of the Settings row `name` (the sample has one of each)."""
    book = openpyxl.load_workbook(path)
    try:
        [row] = [r for r in book["Settings"].iter_rows(min_row=2) if r[0].value == name]
        row[1].value = value
        book.save(path)
    finally:
        book.close()


def _rounded(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """Rows with their shares to 12 places: the test edits Settings with openpyxl, whose
    save writes every float with 16 significant digits (0.1108997295002801 for
    0.11089972950028013), the result sheets' too; recalc's writer keeps a held-back
    sheet's bytes."""
    return [tuple(round(v, 12) if isinstance(v, float) else v for v in row) for row in rows]


# Every result sheet that turns on the as-of date (Self-Pay Estimates does not).
ON_THE_DATE = [
    "Allotments",
    "CE Charges",
    "Inactivity Report",
    "Revocations",
    "Watch List",
    "Revocations Done",
    "Appeals Queue",
    "Reassignment",
]


def test_an_unreadable_as_of_holds_back_every_sheet_on_the_date_and_records_no_review(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SPEC §3 and §8: with no --as-of, a run whose As Of cannot be read has no as-of
    date (before, it reported and logged today's, as of which nothing was computed). Before
    that, it wrote every result sheet and Findings History rows dated today, a
    monthly review nobody held, which the next review took as its previous one. Now each
    sheet on the date keeps its last good rows with a title saying why, Findings History
    gets no row, and the Run Log records the run with its Error, as for other held-back
    runs. With --as-of the cell does not matter: nothing is held back."""
    import json

    assert main(["recalc", str(sample), "--as-of", "2026-11-24"]) == 0
    good = {name: read_sheet(sample, name) for name in ON_THE_DATE}
    history = sheet_dicts(sample, "Findings History")
    log = sheet_dicts(sample, "Run Log")
    _set_setting(sample, "As Of", "2026-13-01")
    capsys.readouterr()

    assert main(["recalc", str(sample), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["as_of"] == {"date": None, "from": "unreadable"}
    assert report["sheets_held_back"] == ON_THE_DATE
    assert "Self-Pay Estimates" in report["sheets_written"]
    assert report["counts"]["licenses_judged"] is None
    assert report["counts"]["eligible_for_revocation"] is None
    [error] = [p for p in report["problems"] if p["severity"] == "Error"]
    assert (error["sheet"], error["cell"]) == ("Settings", "B2")
    for name in ON_THE_DATE:
        kept = read_sheet(sample, name)
        assert _rounded(kept[1:]) == _rounded(good[name][1:]), name
        title = str(kept[0][0])
        # No "as of" the run's fallback day: the run had no as-of date.
        assert title.startswith(str(good[name][0][0]) + " - HELD BACK (the Settings"), title
        assert "(the Settings sheet's As Of could not be read (see Problems))" in title
    assert sheet_dicts(sample, "Findings History") == history
    [*before, entry] = sheet_dicts(sample, "Run Log")
    assert before == log and entry["Errors"] == 1
    assert entry["As Of"] is None  # blank: no result of this run is as of a date
    # No count for decisions that were not written, as in the JSON (before: 164 and 25).
    assert (entry["Licenses"], entry["Eligible"]) == (None, None)

    assert main(["check", str(sample), "--json"]) == 1
    checked = json.loads(capsys.readouterr().out)
    assert checked["sheets_held_back"] == ON_THE_DATE and checked["decisions"] == []

    assert main(["recalc", str(sample), "--as-of", "2026-12-24", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["sheets_held_back"] == []
    assert report["counts"]["licenses_judged"] == 140


def test_an_unreadable_next_review_holds_back_the_watch_list_only(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SPEC §3: before, an unreadable Next Review was an Error that held nothing back:
    the Watch List was written up to As Of + one month. Now the Watch List keeps its last
    good rows and says why; every other sheet is written. A Next Review that is readable
    but not after As Of is still a Warning, with As Of + the review period instead."""
    import json

    assert main(["recalc", str(sample)]) == 0
    good = read_sheet(sample, "Watch List")
    _set_setting(sample, "Next Review", "next month")
    capsys.readouterr()
    assert main(["recalc", str(sample), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["sheets_held_back"] == ["Watch List"]
    assert report["counts"]["licenses_judged"] == 140
    [error] = [p for p in report["problems"] if p["severity"] == "Error"]
    assert (error["sheet"], error["cell"]) == ("Settings", "B4")
    kept = read_sheet(sample, "Watch List")
    assert kept[1:] == good[1:]
    assert "HELD BACK as of 2026-11-24 (the Settings sheet's Next Review could not be read" in str(
        kept[0][0]
    )

    _set_setting(sample, "Next Review", dt.datetime(2026, 11, 20))
    assert main(["recalc", str(sample), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sheets_held_back"] == []
    assert any(p["problem"].startswith("Next Review 2026-11-20") for p in report["problems"])


# -------------------------------------------------------------- exit codes


def test_bad_policy_exits_2_and_says_why(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(policy_text(minimum="-1"), encoding="utf-8")
    assert main(["recalc", str(sample), "--policy", str(bad)]) == 2
    problems = sheet_dicts(sample, "Problems")
    [row] = [p for p in problems if "ce_allotment.minimum" in str(p["Problem"])]
    assert "ce_allotment.minimum: -1 is less than the minimum of 0" in str(row["Problem"])
    line = str(row["Problem"]).split(" ", 1)[0].rsplit(":", 1)[1]
    # A row of the Problems sheet stands alone: its fix names the line, not "above".
    assert row["How To Fix"] == (
        f"Correct line {line} of bad.yaml as the Problem says, then recalculate;"
        " policy/policy.schema.json describes each key."
    )
    assert main(["policy", "check", str(bad)]) == 2
    assert "ce_allotment.minimum" in capsys.readouterr().err


def test_policy_check_of_the_adopted_policy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "check"]) == 0
    assert "version 1.1.0" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [["recalc", "missing.xlsx"], ["recalc", "{book}", "--as-of", "24/11/2026"], ["frobnicate"]],
)
def test_bad_arguments_and_unreadable_files_exit_2(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = write_workbook(tmp_path / "book.xlsx", minimal_sheets([LICENSE]))
    argv = [a.replace("{book}", str(book)) for a in argv]
    with pytest.raises(SystemExit) as caught:
        raise SystemExit(main(argv))
    assert caught.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_not_a_workbook_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = tmp_path / "notes.xlsx"
    fake.write_text("just text")
    assert main(["recalc", str(fake)]) == 2
    assert "is not an Excel workbook" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["check"], ["recalc"], ["packet", "--committee", "ce"]])
def test_with_json_a_refused_workbook_is_one_json_object_on_stdout(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--json` promises one object on stdout and nothing on stderr, also when the
    workbook cannot be read at all (a script must not have to parse the message)."""
    import json

    fake = tmp_path / "notes.xlsx"
    fake.write_text("just text")
    assert main([*command, str(fake), "--json"]) == 2
    out, err = capsys.readouterr()
    assert err == ""
    report = json.loads(out)
    assert report["command"] == command[0]
    assert (report["outcome"], report["exit_code"]) == ("refused", 2)
    assert "is not an Excel workbook" in report["error"] and report["how_to_fix"]


@pytest.mark.parametrize(
    "command",
    [
        ["recalc", "WB", "--as-of", "nope", "--json"],
        ["check", "WB", "--json", "--as-of", "2026-13-01"],
        ["diff", "WB", "--as-of", "nope", "--format", "json"],
    ],
)
def test_with_json_a_bad_argument_is_one_json_object_on_stdout(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    book = shutil.copy(SAMPLE, tmp_path / "book.xlsx")
    with pytest.raises(SystemExit) as stopped:
        main([str(book) if word == "WB" else word for word in command])
    assert stopped.value.code == 2
    out, err = capsys.readouterr()
    assert err == ""
    report = json.loads(out)
    assert (report["command"], report["outcome"], report["exit_code"]) == (
        command[0],
        "refused",
        2,
    )
    assert "is not a date" in report["error"] and report["how_to_fix"]
    with pytest.raises(SystemExit):  # without --json: argparse's usage, as before
        main(["recalc", str(book), "--as-of", "nope"])
    out, err = capsys.readouterr()
    assert out == "" and "usage:" in err


def test_recalc_json_names_every_sheet_written_as_the_text_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    book = shutil.copy(SAMPLE, tmp_path / "book.xlsx")
    capsys.readouterr()
    assert main(["recalc", str(book), "--json"]) == 0
    written = json.loads(capsys.readouterr().out)["sheets_written"]
    assert written[-2:] == ["Findings History", "Run Log"]
    fresh = shutil.copy(SAMPLE, tmp_path / "fresh.xlsx")
    assert main(["recalc", str(fresh)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("Wrote:"))
    assert line.endswith("(" + ", ".join(written) + ")")
    # Run again on the same As Of, the review changes nothing: no Findings History rows.
    assert main(["recalc", str(book), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)["sheets_written"]
    assert again == [name for name in written if name != "Findings History"]
    assert main(["recalc", str(book)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("Wrote:"))
    assert line.endswith("(" + ", ".join(again) + ")")


def test_init_and_sample_replace_a_link_never_the_workbook_it_names(tmp_path: Path) -> None:
    real = Path(shutil.copy(SAMPLE, tmp_path / "real.xlsx"))
    for command in (["init"], ["sample"]):
        link = tmp_path / "link.xlsx"
        link.unlink(missing_ok=True)
        link.symlink_to(real.name)
        assert main([*command, str(link), "--force"]) == 0
        assert not link.is_symlink() and link.stat().st_size > 0
        assert real.read_bytes() == SAMPLE.read_bytes(), command


@pytest.mark.parametrize("command", [["init"], ["sample"]])
def test_init_and_sample_into_a_missing_folder_say_so(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, str(tmp_path / "no-such" / "x.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "does not exist; nothing was written" in err
    assert "Create the folder first" in err and "--output" not in err


def test_an_error_in_a_license_row_holds_back_only_that_license(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SPEC §3: a bad cell makes its license Cannot judge; every other one is judged."""
    sheets = minimal_sheets([LICENSE, {**ACTIVE, "Granted On": "31/02/2026"}])
    book = write_workbook(tmp_path / "book.xlsx", sheets)
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 1
    err = capsys.readouterr().err
    assert 'Error: Licenses!H3: License L-2: "31/02/2026" is not a date.' in err
    report = {r["License ID"]: r for r in sheet_dicts(book, "Inactivity Report")}
    assert report["L-1"]["Finding"] == "Inactive"
    assert report["L-2"]["Finding"] == "Cannot judge"
    assert "Granted On (Licenses!H3)" in str(report["L-2"]["Explanation"])
    # L-2 cannot be judged, so it is not counted as the license Org A keeps: §1.E1 keeps L-1.
    assert report["L-1"]["Eligible For Revocation"] == "No"
    assert "Sole license kept" in str(report["L-1"]["Exception"])
    problems = sheet_dicts(book, "Problems")
    assert problems[0]["Severity"] == "Error"
    assert (problems[0]["Sheet"], problems[0]["Cell"]) == ("Licenses", "H3")
    assert problems[0]["How To Fix"]
    assert sheet_dicts(book, "Run Log")[-1]["Errors"] == 1


def test_a_missing_column_holds_back_the_sheets_that_need_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = write_workbook(tmp_path / "book.xlsx", minimal_sheets([LICENSE, ACTIVE]))
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 0
    good = read_sheet(book, "Inactivity Report")
    sheets = minimal_sheets([LICENSE, ACTIVE])
    drop = sheets["Licenses"][0].index("Granted On")
    sheets["Licenses"] = [[v for i, v in enumerate(r) if i != drop] for r in sheets["Licenses"]]
    write_workbook(book, sheets)
    book2 = openpyxl.load_workbook(book)
    target = book2.create_sheet("Inactivity Report")
    for row in good:
        target.append(list(row))
    book2.save(book)
    capsys.readouterr()
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 1
    held = read_sheet(book, "Inactivity Report")
    assert held[1:] == good[1:]  # held back: its last good content
    assert 'HELD BACK as of 2026-11-24 (the Licenses sheet has no "Granted On" column)' in str(
        held[0][0]
    )
    opened = openpyxl.load_workbook(book, read_only=True)
    try:
        assert "Appeals Queue" in opened.sheetnames  # needs no license column: still written
    finally:
        opened.close()


def test_a_held_back_sheet_is_titled_with_the_run_its_rows_are_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SPEC §3: the rows kept are the last good run's, so the title keeps that run's As Of
    (as the printed footer does) and says which later run held it back, month after
    month, also once Excel has saved the title as a shared string."""
    book = write_workbook(tmp_path / "book.xlsx", minimal_sheets([LICENSE, ACTIVE]))
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 0
    opened = openpyxl.load_workbook(book)
    opened["Regions"]["B2"] = "many"  # and openpyxl saves every text as a shared string
    opened.save(book)
    opened.close()
    good = read_sheet(book, "Allotments")
    assert str(good[0][0]).startswith("Allotments - as of 2026-11-24 - policy ")
    for as_of in ("2026-12-24", "2027-01-24"):
        capsys.readouterr()
        assert main(["recalc", str(book), "--as-of", as_of]) == 1
        summary = capsys.readouterr().out
        assert "Held back: Allotments, Reassignment" in summary
        assert "CE allotment:" not in summary  # this run's count would contradict the sheet
        held = read_sheet(book, "Allotments")
        assert held[1:] == good[1:]
        title = str(held[0][0])
        assert title.startswith(str(good[0][0]) + f" - HELD BACK as of {as_of} ("), title
        assert title.endswith("): rows from the last good run")
        assert title.count("HELD BACK") == 1
        report = read_sheet(book, "Inactivity Report")
        assert str(report[0][0]).startswith(f"Inactivity Report - as of {as_of} - policy ")


@pytest.mark.parametrize(
    ("change", "cell", "text"),
    [
        ({"Granted On": None}, "H2", "Granted On is blank."),
        ({"Client Entries (Window)": "many"}, "K2", '"many" is not a whole number.'),
        ({"Level 4 List Holder": "Maybe"}, "M2", '"Maybe" is not Yes or No.'),
        (
            {"License Type": "CE Acess Only"},
            "D2",
            'license type "CE Acess Only" is not in the policy',
        ),
        ({"First Sign-In": "2026-02-30"}, "I2", "is not a real date"),
    ],
)
def test_bad_cells_are_errors_naming_the_cell(
    tmp_path: Path, change: dict[str, object], cell: str, text: str
) -> None:
    book = write_workbook(tmp_path / "b.xlsx", minimal_sheets([{**LICENSE, **change}, ACTIVE]))
    assert main(["recalc", str(book)]) == 1
    problems = sheet_dicts(book, "Problems")
    match = [p for p in problems if p["Cell"] == cell and text in str(p["Problem"])]
    assert match and match[0]["Severity"] == "Error" and match[0]["Sheet"] == "Licenses"


def test_duplicate_ids_and_missing_sheets_and_columns(tmp_path: Path) -> None:
    sheets = minimal_sheets([LICENSE, LICENSE])
    del sheets["Organizations"]
    sheets["Regions"] = [["Region"], ["Region 1"]]
    book = write_workbook(tmp_path / "b.xlsx", sheets)
    assert main(["recalc", str(book)]) == 1
    problems = [(p["Sheet"], p["Cell"], p["Problem"]) for p in sheet_dicts(book, "Problems")]
    assert ("Licenses", "A3", 'License ID "L-1" is used twice: also on row 2.') in problems
    assert any(p[0] == "Organizations" and "no Organizations sheet" in p[2] for p in problems)
    assert any(p[0] == "Regions" and 'no "Population" column' in p[2] for p in problems)


def test_headers_in_any_case_order_and_with_spaces(tmp_path: Path) -> None:
    sheets = minimal_sheets([LICENSE, ACTIVE])
    head, *rows = sheets["Licenses"]
    order = list(reversed(range(len(head))))
    sheets["Licenses"] = [
        [f"  {head[i].upper()} " for i in order] + ["Staff Notes"],
        *[[r[i] for i in order] + ["kept"] for r in rows],
    ]
    book = write_workbook(tmp_path / "b.xlsx", sheets)
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 0
    findings = {r["License ID"]: r["Finding"] for r in sheet_dicts(book, "Inactivity Report")}
    assert findings == {"L-1": "Inactive", "L-2": "Active"}


def test_unknown_organization_is_a_warning_and_run_completes(tmp_path: Path) -> None:
    stranger = {**ACTIVE, "License ID": "L-3", "Organization": "Nobody Inc"}
    book = write_workbook(tmp_path / "b.xlsx", minimal_sheets([LICENSE, ACTIVE, stranger]))
    assert main(["recalc", str(book)]) == 0
    problems = sheet_dicts(book, "Problems")
    assert [(p["Severity"], p["Sheet"], p["Cell"]) for p in problems] == [
        ("Warning", "Licenses", "C4")
    ]


def test_text_from_users_is_never_written_as_a_formula(tmp_path: Path) -> None:
    evil = '=HYPERLINK("http://example.invalid","click")'
    rows = [{**LICENSE, "User": evil, "Organization": "+Org"}, {**ACTIVE, "User": "@SUM(1)"}]
    book = write_workbook(
        tmp_path / "b.xlsx", minimal_sheets(rows, organizations=["+Org", "Org A"])
    )
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 0
    sheet = openpyxl.load_workbook(book)["Inactivity Report"]
    users = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    assert users["L-1"].value == evil and users["L-1"].data_type == "s"
    assert users["L-2"].value == "@SUM(1)" and users["L-2"].data_type == "s"


def test_sample_command_copies_the_bundled_workbook(tmp_path: Path) -> None:
    destination = tmp_path / "try.xlsx"
    assert main(["sample", str(destination)]) == 0
    assert destination.read_bytes() == SAMPLE.read_bytes()
    assert main(["sample", str(destination)]) == 2  # refuses to overwrite


def test_the_summary_says_what_the_run_log_s_licenses_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The Run Log's Licenses counts every row of the Inactivity Report (164 on the
    sample, revoked and not-yet-granted ones too); the summary says so beside the 140
    active licenses judged, so the two never read as disagreeing."""
    path = Path(shutil.copy(SAMPLE, tmp_path / "sample.xlsx"))
    assert main(["recalc", str(path), "--as-of", "2026-11-24"]) == 0
    out = capsys.readouterr().out
    assert (
        "Licenses: 164 on the Inactivity Report (the Run Log's Licenses), 140 active ones"
        " judged; 21 eligible for revocation"
    ) in out
    [entry] = sheet_dicts(path, "Run Log")
    assert entry["Licenses"] == 164
    assert len(sheet_dicts(path, "Inactivity Report")) == 164
