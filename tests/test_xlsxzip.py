"""The byte-preserving writer: every part but the result sheets keeps its bytes.

Each test opens the output the way its users will: python-calamine (the reader),
openpyxl (a strict XML reader), LibreOffice headless (a real spreadsheet application;
installed by .ci/run), and tests/ooxml_check.py (the schema order and cross-references
Excel is strict about).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
import python_calamine
import xlsxwriter

from tests.badbooks import AS_OF, base_book, raw_members, run_cli, write_with_xlsxwriter
from tests.conftest import SAMPLE, sheet_dicts
from tests.ooxml_check import check_package
from workbook.layout import (
    ALLOTMENTS,
    APPENDED_SHEETS,
    PROBLEMS,
    RESULT_SHEETS,
    RUN_LOG,
    ResultSheet,
    header_key,
)
from workbook.presentation import PRINT_WIDTH, TAB_COLOUR, look
from workbook.results import ResultTable, RunLogEntry
from workbook.run import evaluate
from workbook.xlsx.read import read_snapshot
from workbook.xlsx.sheetxml import (
    MAX_CELL_CHARS,
    cell_text,
    excel_serial,
    result_sheet_xml,
    sheet_styles,
)
from workbook.xlsx.write import recalculated_bytes, save_results, sheet_part_names

BOOKKEEPING = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml"}
STYLES = "xl/styles.xml"
RESULT_KEYS = {header_key(s.name) for s in RESULT_SHEETS}
X14_VALIDATION = (
    '<ext xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"'
    ' uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}"><x14:dataValidations'
    ' xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main" count="1">'
    '<x14:dataValidation type="list" allowBlank="1" showInputMessage="1"'
    ' showErrorMessage="1"><x14:formula1><xm:f>Lists!$A$1:$A$2</xm:f></x14:formula1>'
    "<xm:sqref>M2:M200</xm:sqref></x14:dataValidation></x14:dataValidations></ext>"
)


def soffice() -> str | None:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None and os.environ.get("HMIS_REQUIRE_LIBREOFFICE"):
        pytest.fail("LibreOffice (soffice) is required here; .ci/run installs libreoffice-calc")
    return found


needs_libreoffice = pytest.mark.skipif(
    not (shutil.which("soffice") or shutil.which("libreoffice"))
    and not os.environ.get("HMIS_REQUIRE_LIBREOFFICE"),
    reason="LibreOffice is not installed (.ci/run installs it)",
)


def libreoffice_roundtrip(path: Path, folder: Path) -> Path:
    """The workbook opened and saved again by LibreOffice (fails if it cannot open it)."""
    program = soffice()
    assert program is not None
    out = folder / "lo"
    out.mkdir(parents=True, exist_ok=True)
    profile = (folder / "lo-profile").as_uri()
    run = subprocess.run(
        [
            program,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--norestore",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    converted = out / path.name
    assert run.returncode == 0 and converted.exists(), run.stdout + run.stderr
    return converted


def values(path: Path) -> dict[str, list[list[object]]]:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}
    finally:
        book.close()


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return abs(a - b) < dt.timedelta(seconds=1)
    return a == b


def assert_same_values(left: Path, right: Path) -> None:
    first, second = values(left), values(right)
    assert list(first) == list(second)
    for name in first:
        a, b = first[name], second[name]
        assert len(a) == len(b), name
        for row_a, row_b in zip(a, b, strict=True):
            assert all(same(x, y) for x, y in zip(row_a, row_b, strict=False)), (name, row_a, row_b)


def changed_members(before: Path, after: Path) -> tuple[set[str], set[str], set[str]]:
    """(changed, added, removed) zip members, comparing stored (compressed) bytes."""
    old, new = raw_members(before), raw_members(after)
    changed = {n for n in old.keys() & new.keys() if old[n] != new[n]}
    return changed, new.keys() - old.keys(), old.keys() - new.keys()


def chart_parts(path: Path) -> set[str]:
    """The Allotments chart: its drawing, the chart, and the relationships to them."""
    sheet = sheet_part_names(path)[ALLOTMENTS.name]
    rels = f"xl/worksheets/_rels/{sheet.rsplit('/', 1)[-1]}.rels"
    with zipfile.ZipFile(path) as archive:
        [drawing] = re.findall(r'Target="\.\./drawings/([^"]+)"', archive.read(rels).decode())
        drawing_rels = f"xl/drawings/_rels/{drawing}.rels"
        [chart] = re.findall(r'Target="\.\./charts/([^"]+)"', archive.read(drawing_rels).decode())
    return {rels, f"xl/drawings/{drawing}", drawing_rels, f"xl/charts/{chart}"}


def result_parts(path: Path) -> set[str]:
    return {p for n, p in sheet_part_names(path).items() if header_key(n) in RESULT_KEYS}


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return Path(shutil.copy(SAMPLE, tmp_path / "sample.xlsx"))


def recalc(path: Path, *extra: str) -> int:
    code, _out, err = run_cli(["recalc", str(path), "--as-of", AS_OF, *extra])
    assert "Traceback" not in err and "internal error" not in err, err
    return code


# -------------------------------------------------------------- the sample


def test_only_result_sheets_and_bookkeeping_parts_change(sample: Path, tmp_path: Path) -> None:
    original = tmp_path / "original.xlsx"
    shutil.copy(sample, original)
    assert recalc(sample) == 0
    changed, added, removed = changed_members(original, sample)
    assert not removed
    assert changed <= BOOKKEEPING | {STYLES}
    assert added == result_parts(sample) | chart_parts(sample)  # the Allotments chart
    assert check_package(sample) == []

    first = tmp_path / "first.xlsx"
    shutil.copy(sample, first)
    assert recalc(sample) == 0
    changed, added, removed = changed_members(first, sample)
    assert not added and not removed
    assert STYLES not in changed  # the formats added by the first run are found again
    assert changed <= BOOKKEEPING | result_parts(sample)
    assert check_package(sample) == []
    names = python_calamine.CalamineWorkbook.from_path(str(sample)).sheet_names
    assert names == list(values(first)) and len(names) == len(set(names))


def test_every_reader_sees_the_tables_that_were_written(sample: Path) -> None:
    snapshot = read_snapshot(sample)
    outcome = evaluate(
        snapshot,
        workbook_folder=sample.parent,
        as_of=dt.date(2026, 11, 24),
        today=dt.date(2026, 11, 24),
        now=dt.datetime(2026, 11, 24, 9, 30),
        ran_from="test",
    )
    assert outcome.run_log is not None
    save_results(sample, sample, outcome.tables, outcome.run_log)
    by_calamine = values(sample)
    book = openpyxl.load_workbook(sample)
    for table in outcome.tables:
        if table.sheet in APPENDED_SHEETS:  # no title line; rows appended (tested elsewhere)
            continue
        expected = [[table.title], list(table.sheet.headers)] + [list(r) for r in table.rows]
        seen = [list(r) for r in book[table.sheet.name].iter_rows(values_only=True)]
        assert len(seen) == len(expected), table.sheet.name
        for want, got_openpyxl, got_calamine in zip(
            expected, seen, by_calamine[table.sheet.name], strict=True
        ):
            for w, o, c in zip(want, got_openpyxl, got_calamine, strict=False):
                if isinstance(w, dt.date) and not isinstance(w, dt.datetime):
                    assert o == dt.datetime.combine(w, dt.time()) and c == w
                elif w is None or w == "":
                    assert o is None and c == ""
                else:
                    assert same(o, w) and same(c, w), (table.sheet.name, w, o, c)
        sheet = book[table.sheet.name]
        assert sheet.freeze_panes == "A3"
        last = sheet.cell(2, len(table.sheet.columns)).column_letter
        assert sheet.auto_filter.ref == f"A2:{last}{len(table.rows) + 2}"
        assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 1
        assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
        assert sheet.print_title_rows == "$1:$2"
        assert sheet.oddFooter.center.text == "As of 2026-11-24"
        assert sheet.oddFooter.left.text == "&A" and sheet.oddFooter.right.text == "Page &P of &N"
        assert sheet.sheet_properties.tabColor.rgb == TAB_COLOUR
        title, header = sheet.cell(1, 1), sheet.cell(2, 1)
        assert title.font.b and title.font.name == "Calibri" and title.font.sz == 13
        assert header.font.b and header.font.name == "Calibri"
        assert header.fill.fgColor.rgb == "FFDDE4EE" and header.alignment.wrap_text
        assert sheet.cell(3, 1).font.name == "Calibri"
        appearance = look(table.sheet, table.rows)
        for index, width in enumerate(appearance.widths, start=1):
            letter = sheet.cell(1, index).column_letter
            assert sheet.column_dimensions[letter].width == width
        assert sum(appearance.widths) <= PRINT_WIDTH + 2, "fits the printed page"
    log = list(book[RUN_LOG.name].iter_rows(values_only=True))
    assert log[0] == RUN_LOG.headers and log[-1][0] == dt.datetime(2026, 11, 24, 9, 30)
    allotments = book[ALLOTMENTS.name]
    assert allotments["C3"].number_format == "0.00%"
    assert allotments["B3"].number_format == "#,##0"


@needs_libreoffice
def test_libreoffice_opens_the_output_and_sees_every_value(sample: Path, tmp_path: Path) -> None:
    assert recalc(sample) == 0
    assert recalc(sample) == 0
    converted = libreoffice_roundtrip(sample, tmp_path)
    assert_same_values(sample, converted)

    # A workbook last saved by LibreOffice (its own styles, shared strings, Run Log rows
    # and an empty drawing on every sheet) is recalculated just as well.
    saved = Path(shutil.copy(converted, tmp_path / "saved-by-libreoffice.xlsx"))
    before = raw_members(saved)
    assert recalc(saved) == 0
    assert check_package(saved) == []
    after = raw_members(saved)
    kept = set(before) - result_parts(saved) - BOOKKEEPING - {STYLES}
    kept = {
        n for n in kept if not n.startswith(("xl/drawings/", "xl/charts/", "xl/worksheets/_rels/"))
    }
    assert kept and all(after[n] == before[n] for n in kept)
    assert len(values(saved)["Run Log"]) == 4
    again = libreoffice_roundtrip(saved, tmp_path / "again")
    assert_same_values(saved, again)


# ------------------------------------------------- what openpyxl would have lost


def staff_workbook(path: Path, decorate: Callable[[xlsxwriter.Workbook, dict], None]) -> Path:
    """A valid workbook written by xlsxwriter (as Excel would have it), then decorated."""
    book = base_book()
    workbook = xlsxwriter.Workbook(str(path))
    date = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheets = {}
    for name, rows in book.sheets.items():
        sheet = workbook.add_worksheet(name)
        sheets[name] = sheet
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, dt.date):
                    sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date)
                elif isinstance(value, str):
                    sheet.write_string(r, c, value)
                elif value is not None:
                    sheet.write(r, c, value)
    decorate(workbook, sheets)
    workbook.close()
    return path


def _staff_objects(workbook: xlsxwriter.Workbook, sheets: dict) -> None:
    licenses = sheets["Licenses"]
    licenses.insert_textbox("P2", "Revocations go to the Performance Committee.", {"width": 320})
    licenses.write_comment("B3", "Checked with the agency on 2026-10-02")
    lists = workbook.add_worksheet("Lists")
    lists.write_column("A1", ["Yes", "No"])
    licenses.conditional_format("K2:K50", {"type": "data_bar", "data_bar_2010": True})
    licenses.add_sparkline("Q2", {"range": "Licenses!K2:K7"})


def with_x14_validation(path: Path) -> Path:
    """Add the x14 list validation Excel 2010+ writes for a list on another sheet."""
    parts = sheet_part_names(path)
    target = parts["Licenses"]
    temporary = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(temporary, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == target:
                data = data.replace(b"</extLst>", X14_VALIDATION.encode() + b"</extLst>", 1)
                assert X14_VALIDATION.encode() in data
            out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    temporary.replace(path)
    return path


def test_text_box_x14_validation_comment_and_sparkline_survive(tmp_path: Path) -> None:
    path = with_x14_validation(staff_workbook(tmp_path / "staff.xlsx", _staff_objects))
    original = tmp_path / "original.xlsx"
    shutil.copy(path, original)
    assert recalc(path) == 0
    assert recalc(path) == 0
    changed, added, removed = changed_members(original, path)
    assert not removed and changed <= BOOKKEEPING | {STYLES}
    assert added == result_parts(path) | chart_parts(path)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        assert {
            "xl/drawings/drawing1.xml",
            "xl/comments1.xml",
            "xl/drawings/vmlDrawing1.vml",
        } <= names
        licenses = archive.read(sheet_part_names(path)["Licenses"])
        assert b"x14:dataValidation " in licenses and b"x14:sparklineGroup" in licenses
        assert b"Revocations go to the Performance Committee." in archive.read(
            "xl/drawings/drawing1.xml"
        )
    assert check_package(path) == []
    log = values(path)["Run Log"]
    assert len(log) == 3 and log[-1][RUN_LOG.headers.index("Errors")] == 0

    # The openpyxl writer, on the same file, drops the x14 validation and the text box.
    from tests import openpyxl_reference as openpyxl_writer

    dropped = tmp_path / "openpyxl.xlsx"
    outcome_tables = [ResultTable(PROBLEMS, ())]
    entry = _entry()
    with pytest.warns(UserWarning, match="extension is not supported and will be removed"):
        openpyxl_writer.save_results(original, dropped, outcome_tables, entry)
    with zipfile.ZipFile(dropped) as archive:
        kept = b"".join(archive.read(n) for n in archive.namelist())
    assert b"x14:dataValidation " not in kept and b"Revocations go to" not in kept


@needs_libreoffice
def test_libreoffice_opens_a_decorated_workbook(tmp_path: Path) -> None:
    path = with_x14_validation(staff_workbook(tmp_path / "staff.xlsx", _staff_objects))
    assert recalc(path) == 0
    converted = libreoffice_roundtrip(path, tmp_path)
    assert_same_values(path, converted)


def _entry(**changes: object) -> RunLogEntry:
    values_ = {
        "run_at": dt.datetime(2026, 11, 24, 8, 0, 0),
        "as_of": dt.date(2026, 11, 24),
        "policy_version": "1.1.0",
        "policy_sha256": "0" * 64,
        "engine_version": "test",
        "licenses": 1,
        "eligible": 0,
        "errors": 0,
        "warnings": 0,
        "policy_file": "policy.yaml",
        "ran_from": "test",
    }
    values_.update(changes)
    return RunLogEntry(**values_)  # type: ignore[arg-type]


# ---------------------------------------------------------- refusals


def test_objects_on_a_result_sheet_are_never_deleted(tmp_path: Path) -> None:
    def chart_on_problems(workbook: xlsxwriter.Workbook, _sheets: dict) -> None:
        workbook.add_worksheet("Problems").insert_textbox("B2", "our meeting notes")

    path = staff_workbook(tmp_path / "b.xlsx", chart_on_problems)
    before = path.read_bytes()
    code, _out, err = run_cli(["recalc", str(path), "--as-of", AS_OF])
    assert code == 2 and 'the result sheet "Problems" holds a chart, picture or shape' in err
    assert "Move it to a sheet of your own" in err
    assert path.read_bytes() == before


def test_a_chart_sheet_named_like_a_result_sheet_is_refused(tmp_path: Path) -> None:
    def chart_sheet(workbook: xlsxwriter.Workbook, _sheets: dict) -> None:
        chart = workbook.add_chart({"type": "column"})
        chart.add_series({"values": "=Regions!$B$2:$B$3"})
        workbook.add_chartsheet("Allotments").set_chart(chart)

    path = staff_workbook(tmp_path / "b.xlsx", chart_sheet)
    before = path.read_bytes()
    code, _out, err = run_cli(["recalc", str(path), "--as-of", AS_OF])
    assert code == 2 and 'the sheet "Allotments" is a chart sheet' in err
    assert path.read_bytes() == before


def test_a_protected_structure_is_not_broken_open(tmp_path: Path) -> None:
    path = staff_workbook(tmp_path / "b.xlsx", lambda wb, _s: wb.set_properties({}))
    _edit_member(
        path,
        "xl/workbook.xml",
        lambda x: x.replace(b"<bookViews>", b'<workbookProtection lockStructure="1"/><bookViews>'),
    )
    before = path.read_bytes()
    code, _out, err = run_cli(["recalc", str(path), "--as-of", AS_OF])
    assert code == 2 and "structure is protected" in err
    assert path.read_bytes() == before


def test_output_must_keep_the_workbook_type(sample: Path, tmp_path: Path) -> None:
    code, _out, err = run_cli(["recalc", str(sample), "--output", str(tmp_path / "copy.xlsm")])
    assert code == 2 and "must end in .xlsx" in err
    assert not (tmp_path / "copy.xlsm").exists()


# ------------------------------------------------------ .xlsm and odd packages


def test_macro_workbook_keeps_its_vba_project(tmp_path: Path) -> None:
    vba = tmp_path / "vbaProject.bin"
    vba.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8)

    def macros(workbook: xlsxwriter.Workbook, _sheets: dict) -> None:
        workbook.add_vba_project(str(vba))

    path = staff_workbook(tmp_path / "macro.xlsm", macros)
    original = tmp_path / "original.xlsm"
    shutil.copy(path, original)
    assert recalc(path) == 0
    changed, _added, removed = changed_members(original, path)
    assert "xl/vbaProject.bin" not in changed | removed
    with zipfile.ZipFile(path) as archive:
        assert archive.read("xl/vbaProject.bin") == vba.read_bytes()
        assert b"macroEnabled.main+xml" in archive.read("[Content_Types].xml")
    assert check_package(path) == []
    book = openpyxl.load_workbook(path, keep_vba=True)
    book.vba_archive.close()  # keep_vba leaves the archive open otherwise
    assert "Allotments" in book.sheetnames
    code, _out, err = run_cli(["recalc", str(path), "--output", str(tmp_path / "copy.xlsx")])
    assert code == 2 and "must end in .xlsm" in err


def test_run_log_of_an_older_version_keeps_its_rows_and_gains_columns(tmp_path: Path) -> None:
    path = base_book().write(tmp_path / "b.xlsx")
    book = openpyxl.load_workbook(path)
    log = book.create_sheet("Run Log")
    old_headers = ["Run At", "As Of", "Policy Version", "Errors", "Staff Notes"]
    log.append(old_headers)
    log.append([dt.datetime(2026, 1, 5, 10, 0), dt.date(2026, 1, 5), "0.9.0", 0, "first run"])
    log.append([dt.datetime(2026, 2, 5, 10, 0), dt.date(2026, 2, 5), "0.9.0", 2, "=not a formula"])
    log["E3"].data_type = "s"
    book.save(path)
    part = sheet_part_names(path)["Run Log"]
    with zipfile.ZipFile(path) as archive:
        old_rows = re.findall(rb'<row r="[23]".*?</row>', archive.read(part))
    assert recalc(path) == 0
    with zipfile.ZipFile(path) as archive:
        new_xml = archive.read(part)
    for row in old_rows:  # kept byte for byte
        assert row in new_xml
    rows = list(openpyxl.load_workbook(path)["Run Log"].iter_rows(values_only=True))
    headers = list(rows[0])
    assert headers[:5] == old_headers
    missing = [h for h in RUN_LOG.headers if h not in old_headers]
    assert headers[5:] == missing
    assert rows[1][:5] == (
        dt.datetime(2026, 1, 5, 10, 0),
        dt.datetime(2026, 1, 5),
        "0.9.0",
        0,
        "first run",
    )
    assert rows[2][4] == "=not a formula"
    last = dict(zip(headers, rows[3], strict=True))
    assert last["As Of"] == dt.datetime(2026, 11, 24) and last["Errors"] == 0
    assert last["Staff Notes"] is None and last["Policy Version"] == "1.1.0"
    assert len(str(last["Policy SHA-256"])) == 64
    assert check_package(path) == []


def _edit_member(path: Path, name: str, change: Callable[[bytes], bytes]) -> None:
    temporary = path.with_suffix(".edit")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(temporary, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == name:
                data = change(data)
            out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    temporary.replace(path)


def _add_members(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_printer_settings_of_a_replaced_sheet_go_with_it(sample: Path) -> None:
    assert recalc(sample) == 0
    part = sheet_part_names(sample)["Problems"]
    rels = part.replace("worksheets/", "worksheets/_rels/") + ".rels"
    _add_members(
        sample,
        {
            rels: b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="'
            b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/printerSettings"
            b'" Target="../printerSettings/printerSettings1.bin"/></Relationships>',
            "xl/printerSettings/printerSettings1.bin": b"\x00" * 64,
        },
    )
    _edit_member(
        sample,
        "[Content_Types].xml",
        lambda x: x.replace(
            b"</Types>",
            b'<Default Extension="bin" ContentType="application/vnd.openxmlformats-'
            b'officedocument.spreadsheetml.printerSettings"/></Types>',
        ),
    )
    assert check_package(sample) == []
    assert recalc(sample) == 0
    with zipfile.ZipFile(sample) as archive:
        names = archive.namelist()
    assert rels not in names and "xl/printerSettings/printerSettings1.bin" not in names
    assert check_package(sample) == []


def test_calculation_chain_entries_of_replaced_sheets_are_dropped(sample: Path) -> None:
    assert recalc(sample) == 0
    ids = {}
    with zipfile.ZipFile(sample) as archive:
        for match in re.finditer(
            rb'<sheet name="([^"]+)" sheetId="(\d+)"', archive.read("xl/workbook.xml")
        ):
            ids[match.group(1).decode()] = int(match.group(2))
    chain = (
        f'<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<c r="A1" i="{ids["Problems"]}"/><c r="B1"/><c r="C2" i="{ids["Instructions"]}"/>'
        "</calcChain>"
    ).encode()
    _add_members(sample, {"xl/calcChain.xml": chain})
    _edit_member(
        sample,
        "xl/_rels/workbook.xml.rels",
        lambda x: x.replace(
            b"</Relationships>",
            b'<Relationship Id="rId900" Type="http://schemas.openxmlformats.org/officeDocument/'
            b'2006/relationships/calcChain" Target="calcChain.xml"/></Relationships>',
        ),
    )
    _edit_member(
        sample,
        "[Content_Types].xml",
        lambda x: x.replace(
            b"</Types>",
            b'<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.openxmlformats'
            b'-officedocument.spreadsheetml.calcChain+xml"/></Types>',
        ),
    )
    assert recalc(sample) == 0
    with zipfile.ZipFile(sample) as archive:
        kept = archive.read("xl/calcChain.xml").decode()
    assert kept.count("<c ") == 1 and f'r="C2" i="{ids["Instructions"]}"' in kept
    assert check_package(sample) == []


def test_a_1904_date_system_workbook_gets_1904_dates(tmp_path: Path) -> None:
    path = write_with_xlsxwriter(base_book(), tmp_path / "mac.xlsx", date_1904=True)
    assert recalc(path) == 0
    log = sheet_dicts(path, "Run Log")
    assert log[-1]["As Of"] == dt.datetime(2026, 11, 24)
    report = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(
        "Inactivity Report"
    )
    first = report.to_python()[2]  # below the title line and the header
    assert first[4] == dt.date(2024, 1, 2)  # Granted On of L-1


@pytest.mark.parametrize("date_1904", [False, True])
def test_a_date_typed_as_a_plain_number_counts_from_the_workbooks_epoch(
    tmp_path: Path, date_1904: bool
) -> None:
    """A General-formatted number in a date column is an Excel date number: in a 1904
    workbook (old Mac Excel) day 0 is 1904-01-01, so 44864 is 2026-11-01, not 2022-10-31
    (which made an active license eligible)."""
    from workbook.tables import read_inputs

    epoch = dt.date(1904, 1, 1) if date_1904 else dt.date(1899, 12, 30)
    book = base_book()
    entry = book.sheets["Licenses"][0].index("Last Client Data Entry")
    book.sheets["Licenses"][1][entry] = (dt.date(2026, 11, 1) - epoch).days  # a plain number
    path = write_with_xlsxwriter(book, tmp_path / "book.xlsx", date_1904=date_1904)
    licenses = read_inputs(read_snapshot(path)).inputs.licenses
    assert licenses[0].license_id == "L-1"
    assert licenses[0].last_client_data_entry == dt.date(2026, 11, 1)
    assert licenses[1].last_client_data_entry == dt.date(2026, 3, 1)  # a date cell, as before


def test_prefixed_namespaces_are_understood(tmp_path: Path) -> None:
    """Some producers (the Open XML SDK) write <x:workbook xmlns:x=...> instead."""
    path = base_book().write(tmp_path / "prefixed.xlsx")
    main = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"

    def prefixed(xml: bytes) -> bytes:
        xml = re.sub(rb"<(/?)([A-Za-z]+)([ />])", rb"<\1x:\2\3", xml)
        return xml.replace(b'xmlns="' + main + b'"', b'xmlns:x="' + main + b'"')

    for part in ("xl/workbook.xml", "xl/styles.xml"):
        _edit_member(path, part, prefixed)
    assert recalc(path) == 0
    assert recalc(path) == 0
    assert check_package(path) == []
    with zipfile.ZipFile(path) as archive:
        assert b'<x:sheet name="Allotments"' in archive.read("xl/workbook.xml")
    assert sheet_dicts(path, "Allotments")[0]["Allotment"] == 4


# ---------------------------------------------------------- the XML itself


def test_text_that_xml_cannot_hold_is_cleaned_and_lookalikes_are_escaped(tmp_path: Path) -> None:
    path = base_book().write(tmp_path / "b.xlsx")
    texts = [
        "bell\x07 and null\x00 removed",
        "_x0041_ stays as typed",
        "line one\r\nline two",
        "  spaces kept  ",
        "<b>&amp; \"quoted\" 'single'</b>",
        "x" * (MAX_CELL_CHARS + 500),
        "emoji 🏠 and accents é",
    ]
    rows = tuple(("Error", "Licenses", f"A{n}", text, "fix") for n, text in enumerate(texts, 2))
    data = recalculated_bytes(path, [ResultTable(PROBLEMS, rows)], _entry())
    out = tmp_path / "out.xlsx"
    out.write_bytes(data)
    assert check_package(out) == []
    got = [r[3] for r in values(out)["Problems"][1:]]
    assert got[0] == "bell and null removed"
    assert got[1] == "_x0041_ stays as typed"
    assert got[2] == "line one\r\nline two"
    assert got[3] == "  spaces kept  "
    assert got[4] == texts[4]
    assert len(got[5]) == MAX_CELL_CHARS and got[5].endswith("…")
    assert got[6] == texts[6]


@needs_libreoffice
def test_libreoffice_reads_escaped_text_as_typed(tmp_path: Path) -> None:
    path = base_book().write(tmp_path / "b.xlsx")
    rows = (("Error", "Licenses", "A2", "_x0041_ and =1+1 and @x", "fix"),)
    data = recalculated_bytes(path, [ResultTable(PROBLEMS, rows)], _entry())
    out = tmp_path / "out.xlsx"
    out.write_bytes(data)
    converted = libreoffice_roundtrip(out, tmp_path)
    cell = openpyxl.load_workbook(converted)["Problems"]["D3"]
    assert cell.value == "_x0041_ and =1+1 and @x" and cell.data_type == "s"


def test_cell_values_of_every_type() -> None:
    # Allotments' columns of every kind, without the ones this test has no value for.
    sheet = ResultSheet(
        "Allotments", tuple(c for c in ALLOTMENTS.columns if c.field != "added_by_appeal")
    )
    row = (
        "Region 1",
        10**15 + 1,
        0.1 + 0.2,
        float("nan"),
        True,
        None,
        dt.date(1900, 2, 28),
        dt.datetime(1899, 12, 1),
        "",
        "x",
    )
    styles = dict.fromkeys(sheet_styles(sheet, look(sheet, [row])), 0)
    text = result_sheet_xml(sheet, [row], styles, date1904=False).decode()
    # Row 1 is the title line, row 2 the header: the values are on row 3.
    assert '<c r="B3"><v>1000000000000001</v></c>' in text
    assert '<c r="C3"><v>0.30000000000000004</v></c>' in text
    assert 'r="D3"' not in text  # NaN cannot be written; the cell stays blank
    assert '<c r="E3" t="b"><v>1</v></c>' in text
    assert '<c r="G3"><v>59</v></c>' in text  # Excel's 1900-02-28
    assert "<t>1899-12-01T00:00:00</t>" in text  # before Excel's calendar: kept as text
    assert 'r="F3"' not in text and 'r="I3"' not in text
    assert excel_serial(dt.date(2026, 11, 24), date1904=False) == 46350
    assert excel_serial(dt.date(2026, 11, 24), date1904=True) == 46350 - 1462
    assert cell_text("a\x01b\ufffe") == "ab"


def test_the_checker_itself_catches_what_excel_would_repair(sample: Path, tmp_path: Path) -> None:
    assert recalc(sample) == 0
    part = sheet_part_names(sample)["Allotments"]

    def broken(change: Callable[[bytes], bytes]) -> list[str]:
        copy = tmp_path / "broken.xlsx"
        shutil.copy(sample, copy)
        _edit_member(copy, part, change)
        return check_package(copy)

    def filter_first(xml: bytes) -> bytes:
        found = re.search(rb"<autoFilter[^>]*/>", xml)
        assert found is not None
        return xml.replace(found.group(0), b"").replace(
            b"<sheetData>", found.group(0) + b"<sheetData>"
        )

    assert any("out of schema order" in p for p in broken(filter_first))
    assert any(
        "out of column order" in p
        for p in broken(lambda x: x.replace(b'<c r="A2"', b'<c r="Z2"', 1))
    )
    assert any(
        "is not in cellXfs" in p for p in broken(lambda x: x.replace(b' s="', b' s="999', 1))
    )


def test_the_allotments_chart_shows_in_use_and_available_after_appeals(sample: Path) -> None:
    """The chart advises what the Available column, the Reassignment sheet and the CE
    packet advise: the sample's appeal moved Region 6's spare license to Region 7, so
    neither shows one spare (Allotment against In Use showed Region 6 with one)."""
    from workbook.presentation import CHART_TITLE, EARLIER_CHART_TITLES

    assert recalc(sample) == 0
    [chart] = [p for p in chart_parts(sample) if p.startswith("xl/charts/")]
    with zipfile.ZipFile(sample) as archive:
        xml = archive.read(chart).decode()
    refs = re.findall(r"<c:f>'Allotments'!\$([A-Z])\$3:", xml)
    headers = [c.header for c in ALLOTMENTS.columns]
    letters = {h: chr(ord("A") + headers.index(h)) for h in ("Region", "In Use", "Available")}
    assert refs == [letters["Region"], letters["In Use"], letters["Region"], letters["Available"]]
    available = xml.split("<c:ser>")[2].split("<c:val>")[1]
    points = dict(re.findall(r'<c:pt idx="(\d+)"><c:v>([^<]+)</c:v>', available))
    regions = [r["Region"] for r in sheet_dicts(sample, "Allotments")][:10]
    assert points[str(regions.index("Region 6"))] == "0"
    # A workbook whose chart an earlier version titled differently keeps one chart.
    old = EARLIER_CHART_TITLES[0].encode()
    _edit_member(sample, chart, lambda data: data.replace(CHART_TITLE.encode(), old))
    with zipfile.ZipFile(sample) as archive:
        assert old in archive.read(chart)
    assert recalc(sample) == 0
    with zipfile.ZipFile(sample) as archive:
        assert len([n for n in archive.namelist() if n.startswith("xl/charts/")]) == 1
