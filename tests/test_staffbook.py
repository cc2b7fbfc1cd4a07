"""A workbook staff can start from, read on screen and print: init, and the result sheets.

`init` is checked with openpyxl (Tables, drop-downs that refuse bad entries, lists that
follow the Regions and Organizations sheets) and must be accepted by `recalc` once a few
rows are typed. The recalculated sample is printed to PDF by LibreOffice, and the font
sizes in that PDF must be 8 points or more on every result sheet's pages.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import SAMPLE, header_index, sheet_dicts
from tests.test_xlsxzip import libreoffice_roundtrip, needs_libreoffice, soffice
from workbook.cli import main
from workbook.layout import (
    ALLOTMENTS,
    APPENDED_SHEETS,
    INACTIVITY_REPORT,
    INPUT_SHEETS,
    LICENSES,
    RESULT_SHEETS,
    SETTINGS,
)
from workbook.presentation import ALERT_FILL, CHART_TITLE, NOTICE_FILL, TOTAL_LABEL
from workbook.xlsx.inputbook import INSTRUCTIONS, ORGANIZATION_LIST, REGION_LIST


@pytest.fixture(scope="module")
def blank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("init") / "coc.xlsx"
    assert main(["init", str(path)]) == 0
    return path


def _validations(sheet: object) -> dict[str, object]:
    """Column letter -> its data validation."""
    found = {}
    for rule in sheet.data_validations.dataValidation:  # type: ignore[attr-defined]
        for cell_range in rule.sqref.ranges:
            found[cell_range.coord.split(":")[0].rstrip("0123456789")] = rule
    return found


def test_init_writes_every_input_sheet_with_tables_and_strict_drop_downs(blank: Path) -> None:
    book = openpyxl.load_workbook(blank)
    assert book.sheetnames == [INSTRUCTIONS, *(s.name for s in INPUT_SHEETS)]
    for spec in INPUT_SHEETS:
        sheet = book[spec.name]
        assert [c.value for c in sheet[1]][: len(spec.columns)] == [c.header for c in spec.columns]
        assert sheet.freeze_panes == "A2", spec.name
        header = sheet.cell(1, 1)
        assert header.font.b and header.font.name == "Calibri", "a named font, not a serif"
        [table] = sheet.tables.values()
        assert table.ref.startswith("A1:"), spec.name
        for index, column in enumerate(spec.columns, start=1):
            width = sheet.column_dimensions[sheet.cell(1, index).column_letter].width
            assert width >= max(len(w) for w in column.header.split()) + 2
    licenses = book[LICENSES.name]
    rules = _validations(licenses)
    letters = {
        c.field: licenses.cell(1, i).column_letter for i, c in enumerate(LICENSES.columns, 1)
    }
    expected = {
        "license_type": '"CE Access Only,Housing Project,Other Funded,Self-Pay"',
        "organization": f"={ORGANIZATION_LIST}",
        "region": f"={REGION_LIST}",
        "level4_list_holder": '"Yes,No"',
        "revoked_by": '"HMIS Lead,CE Lead,CE Committee"',
        "revocation_reason": '"Inactivity §1.1,Not signed in §1.2,CE allotment §3,Other"',
    }
    for field, formula in expected.items():
        rule = rules[letters[field]]
        assert rule.formula1 == formula, field
        assert rule.showErrorMessage and rule.errorStyle == "stop", "bad entries are refused"
        assert rule.error
    assert licenses[f"{letters['granted_on']}2"].number_format == "yyyy-mm-dd"
    appeals = book["Appeals"]
    appeal_rules = {
        appeals.cell(1, i).value: _validations(appeals).get(appeals.cell(1, i).column_letter)
        for i in range(1, appeals.max_column + 1)
    }
    assert appeal_rules["Reason"].formula1.startswith('"Inactivity revocation,Special request')
    assert appeal_rules["Decision"].formula1 == '"Pending,Approved,Denied"'
    organizations = book["Organizations"]
    organization_rules = {
        organizations.cell(1, i).value: _validations(organizations).get(
            organizations.cell(1, i).column_letter
        )
        for i in range(1, organizations.max_column + 1)
    }
    assert organization_rules["Level 3 Access Point"].formula1 == '"Yes,No"'
    assert organization_rules["Data Entry Agreement"].formula1 == '"Yes,No"'
    assert organization_rules["Organization"] is None  # the list itself is free text
    # The lists grow with their sheets: a range computed from how many rows are filled.
    assert book.defined_names[REGION_LIST].attr_text == (
        "OFFSET('Regions'!$A$2,0,0,MAX(1,COUNTA('Regions'!$A:$A)-1),1)"
    )
    assert "'Organizations'!$A" in book.defined_names[ORGANIZATION_LIST].attr_text
    settings = [r[:2] for r in book[SETTINGS.name].iter_rows(min_row=2, values_only=True)]
    assert settings == [("As Of", None), ("Policy File", None), ("Next Review", None)]
    text = " ".join(str(c.value) for c in book[INSTRUCTIONS]["A"] if c.value)
    for words in ("What to type where", "What Recalculate does", "Where the policy lives"):
        assert words in text
    for step in ("import-activity", "Watch List", "notices", "packet", "Revoked On"):
        assert step in text, step


def test_init_never_overwrites_a_workbook(blank: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = blank.read_bytes()
    assert main(["init", str(blank)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert blank.read_bytes() == before


def test_recalc_accepts_the_new_workbook_once_a_few_rows_are_typed(
    blank: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = Path(shutil.copy(blank, tmp_path / "typed.xlsx"))
    book = openpyxl.load_workbook(path)
    book["Regions"].append(["Region 1", 596788])
    book["Regions"].append(["Region 2", 2312642])
    book["Organizations"].append(["Org A", "Clay County"])
    import datetime as dt

    book["Licenses"]["A2"] = "L-1"
    book["Licenses"]["B2"] = "Pat Lee"
    book["Licenses"]["C2"] = "Org A"
    book["Licenses"]["D2"] = "Housing Project"
    book["Licenses"]["H2"] = dt.date(2025, 1, 6)
    book["Licenses"]["I2"] = dt.date(2025, 1, 7)
    book["Licenses"]["J2"] = dt.date(2026, 11, 2)
    book["Settings"]["B2"] = dt.date(2026, 11, 24)
    book.save(path)
    capsys.readouterr()
    assert main(["recalc", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "Problems: 0 errors, 0 warnings" in out, err
    [decision] = sheet_dicts(path, INACTIVITY_REPORT.name)
    assert (decision["License ID"], decision["Finding"]) == ("L-1", "Active")


# ------------------------------------------------------------ result sheets


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(shutil.copy(SAMPLE, tmp_path_factory.mktemp("sample") / "sample.xlsx"))
    assert main(["recalc", str(path)]) == 0
    return path


def test_highlighted_rows_are_exactly_the_eligible_ones(recalculated: Path) -> None:
    book = openpyxl.load_workbook(recalculated)
    sheet = book[INACTIVITY_REPORT.name]
    first = header_index(INACTIVITY_REPORT.name) + 2  # 1-based first data row
    eligible = [c.field for c in INACTIVITY_REPORT.columns].index("eligible_for_revocation")
    finding = [c.field for c in INACTIVITY_REPORT.columns].index("finding")
    highlighted, wanted = set(), set()
    for row in sheet.iter_rows(min_row=first):
        fill = row[0].fill.fgColor.rgb if row[0].fill.fill_type == "solid" else None
        if fill == ALERT_FILL:
            highlighted.add(row[0].value)
        assert all(
            (c.fill.fgColor.rgb if c.fill.fill_type == "solid" else None) == fill for c in row
        ), "whole rows are highlighted"
        if row[eligible].value == "Yes":
            wanted.add(row[0].value)
        if row[finding].value == "Cannot judge":
            assert fill == NOTICE_FILL
    assert highlighted == wanted and len(wanted) == 21
    allotments = book[ALLOTMENTS.name]
    [total] = [r for r in allotments.iter_rows(min_row=3) if r[0].value == TOTAL_LABEL]
    assert all(c.font.b for c in total), "a bold Total row"
    charges = book["CE Charges"]
    uncharged = [
        r for r in charges.iter_rows(min_row=3) if r[0].value and not r[3].value
    ]  # Charged Region blank
    assert uncharged and all(r[0].fill.fgColor.rgb == NOTICE_FILL for r in uncharged)


def test_ids_are_not_flagged_as_numbers_stored_as_text(recalculated: Path) -> None:
    from workbook.xlsx.write import sheet_part_names

    parts = sheet_part_names(recalculated)
    with zipfile.ZipFile(recalculated) as archive:
        for name in (INACTIVITY_REPORT.name, "Revocations", "CE Charges", "Appeals Queue"):
            xml = archive.read(parts[name]).decode()
            assert 'numberStoredAsText="1"' in xml and 'sqref="A3:A' in xml, name


def _page_texts_and_sizes(pdf: Path) -> list[tuple[str, list[float]]]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTChar

    def chars(element: object) -> list[LTChar]:
        if isinstance(element, LTChar):
            return [element]
        found: list[LTChar] = []
        if hasattr(element, "__iter__"):
            for child in element:  # type: ignore[attr-defined]
                found += chars(child)
        return found

    pages = []
    for page in extract_pages(str(pdf)):
        letters = [c for c in chars(page) if c.get_text().strip()]
        text = "".join(c.get_text() for c in letters)
        pages.append((text, [c.size for c in letters]))
    return pages


def _squeezed(text: str) -> str:
    """Text as it comes out of the PDF letter by letter: without spaces."""
    return "".join(text.split())


@needs_libreoffice
def test_printed_result_sheets_are_legible_and_allotments_has_its_chart(
    recalculated: Path, tmp_path: Path
) -> None:
    program = soffice()
    assert program is not None
    run = subprocess.run(
        [
            program,
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(recalculated),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    pdf = tmp_path / (recalculated.stem + ".pdf")
    assert run.returncode == 0 and pdf.exists(), run.stdout + run.stderr
    pages = _page_texts_and_sizes(pdf)
    titled = [s for s in RESULT_SHEETS if s not in APPENDED_SHEETS]
    seen = set()
    for text, sizes in pages:
        sheet = next((s for s in titled if _squeezed(f"{s.name} - as of") in text), None)
        if sheet is None:
            continue
        seen.add(sheet.name)
        assert min(sizes) >= 8.0, (sheet.name, min(sizes))
    names = openpyxl.load_workbook(recalculated, read_only=True)
    written = {s.name for s in titled if s.name in names.sheetnames}
    names.close()
    assert seen == written
    allotment_pages = [t for t, _ in pages if _squeezed(f"{ALLOTMENTS.name} - as") in t]
    assert any(_squeezed(CHART_TITLE) in t for t in allotment_pages), "the chart printed"
    # LibreOffice keeps the chart when it saves the workbook, and recalc replaces it again.
    saved = libreoffice_roundtrip(recalculated, tmp_path / "saved")
    with zipfile.ZipFile(saved) as archive:
        assert any(n.startswith("xl/charts/") for n in archive.namelist())
    assert main(["recalc", str(saved)]) == 0
    with zipfile.ZipFile(saved) as archive:
        charts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 1 and b"In Use" in archive.read(charts[0])


# ------------------------------------------------------------- command line


def _run(*args: str, shell_tail: str = "") -> subprocess.CompletedProcess[str]:
    import shlex
    import sys

    command = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "workbook.cli", *args))
    return subprocess.run(
        ["bash", "-c", command + shell_tail], capture_output=True, text=True, timeout=300
    )


def test_every_json_output_parses_and_matches_the_human_output(
    recalculated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    path = Path(shutil.copy(recalculated, tmp_path / "j.xlsx"))
    capsys.readouterr()
    assert main(["check", str(path)]) == 0
    human = capsys.readouterr()
    assert main(["check", str(path), "--json"]) == 0
    machine = capsys.readouterr()
    assert machine.err == "", "with --json, stdout holds everything"
    report = json.loads(machine.out)
    counts = report["counts"]
    assert f"), {counts['licenses_judged']} active ones judged;" in human.out
    assert f"{counts['eligible_for_revocation']} eligible for revocation" in human.out
    assert f"Problems: 0 errors, {counts['warnings']} warnings" in human.out
    assert report["outcome"] == "ok" and report["exit_code"] == 0
    assert len(report["problems"]) == counts["warnings"] == human.err.count("Warning: ")
    assert sum(d["eligible_for_revocation"] for d in report["decisions"]) == 21
    first = report["problems"][0]
    assert f"Warning: {first['sheet']}!{first['cell']}: {first['problem']}" in human.err
    assert main(["recalc", str(path), "--json"]) == 0
    written = json.loads(capsys.readouterr().out)
    assert written["written"] == str(path) and "decisions" not in written
    assert set(written["sheets_written"]) >= {ALLOTMENTS.name, INACTIVITY_REPORT.name}
    assert main(["policy", "check", "--json"]) == 0
    policy = json.loads(capsys.readouterr().out)
    assert policy["outcome"] == "ok" and policy["sha256"] == report["policy"]["sha256"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\npolicy: [1\n", encoding="utf-8")
    assert main(["policy", "check", str(bad), "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["outcome"] == "bad policy"


def test_quiet_prints_only_problems(recalculated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["check", str(recalculated), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err.count("Warning: ") == 6


def test_recalc_into_a_closed_pipe_exits_0_and_writes_the_workbook_once(
    recalculated: Path, tmp_path: Path
) -> None:
    from tests.conftest import read_sheet

    path = Path(shutil.copy(recalculated, tmp_path / "piped.xlsx"))
    runs = len(read_sheet(path, "Run Log"))
    run = _run("recalc", str(path), shell_tail=" | head -1; exit ${PIPESTATUS[0]}")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Workbook:") and run.stdout.count("\n") == 1
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    assert len(read_sheet(path, "Run Log")) == runs + 1, "written once"


def test_help_says_what_each_command_writes_its_exit_codes_and_an_example() -> None:
    plain = _run()
    assert plain.returncode == 0 and "COMMAND" in plain.stdout and "recalc" in plain.stdout
    for command in (
        ["recalc"],
        ["check"],
        ["init"],
        ["sample"],
        ["policy", "check"],
        ["policy", "test"],
        ["diff"],
        ["import-activity"],
        ["packet"],
        ["notices"],
        ["excel", "install"],
    ):
        text = " ".join(_run(*command, "--help").stdout.split())
        assert "Writes:" in text and "Exit codes:" in text and "Example:" in text, command
    recalc_help = " ".join(_run("recalc", "--help").stdout.split())
    for sheet in RESULT_SHEETS:
        assert sheet.name in recalc_help, sheet.name


def test_a_printed_name_is_not_broken_mid_word_nor_a_bold_header_cut() -> None:
    """On paper a short-text column is at least as wide as its longest word ("Thompson"
    printed as "Thompso" / "n" before), and the header row is tall enough for the bold
    header that wraps most ("Added By Appeal" on three lines, cut to two before)."""
    from workbook.layout import ALLOTMENTS, INACTIVITY_REPORT
    from workbook.presentation import HEADER_LINE, look

    user = [c.field for c in INACTIVITY_REPORT.columns].index("user")
    row: list[object] = [None] * len(INACTIVITY_REPORT.columns)
    row[user] = "Hayden Thompson"
    widths = look(INACTIVITY_REPORT, [row]).widths
    assert widths[user] >= len("Thompson") + 1.5
    added = [c.field for c in ALLOTMENTS.columns].index("added_by_appeal")
    allotment: list[object] = [None] * len(ALLOTMENTS.columns)
    allotment[added] = 0
    shown = look(ALLOTMENTS, [allotment])
    assert shown.widths[added] < 9  # narrow: the header wraps onto three lines
    assert shown.header_height >= 3 * HEADER_LINE
