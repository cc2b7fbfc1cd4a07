"""Issue 11 and 16: no input of any size or shape breaks a promise of the README.

Each test builds a small crafted file (a far cell, a zip bomb, a FIFO as the policy, an
array formula, a full Run Log, a closed stdout, ...) and checks what the command does
with it: no traceback, exit 0/1/2, nothing lost, nothing untrue said. The ones that could
hang or eat memory run the command in a child process with a timeout and a memory
ceiling (tests/crafted.py), and check its peak against the README's 500 MB.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest

from tests.badbooks import (
    AS_OF,
    base_book,
    problems_of,
    raw_members,
    run_cli,
    write_with_xlsxwriter,
)
from tests.conftest import REPO, minimal_sheets, write_workbook
from tests.crafted import (
    MEMORY_PROMISE_MB,
    RawMember,
    add_cell,
    bomb_xml,
    deflate_bomb,
    members_of,
    part_of,
    raw_zip,
    rewrite,
    run_limited,
    stored,
)
from tests.hmis_exports import csv_bytes, export_files, row, write_folder, write_zip
from tests.ooxml_check import check_package
from workbook.layout import FINDINGS_HISTORY, RUN_LOG
from workbook.results import ResultTable, RunLogEntry
from workbook.xlsx.read import read_snapshot
from workbook.xlsx.write import sheet_part_names

REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A valid workbook (the reliability tests' base) with one sheet the run never reads."""
    base = base_book()
    base.sheets["Notes"] = [["Anything"], ["staff notes"]]
    return base.write(tmp_path / "book.xlsx")


def recalc(path: Path, *more: str) -> tuple[int, str, str]:
    return run_cli(["recalc", str(path), "--as-of", AS_OF, *more])


def assert_refused(path: Path, before: bytes, code: int, err: str, *says: str) -> None:
    """Exit 2, a message for people (no traceback, no 'internal error'), file unchanged."""
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert err.startswith("hmis-licensing: "), err
    for words in says:
        assert words in err, (words, err)
    assert path.read_bytes() == before
    assert not [p for p in path.parent.iterdir() if p.name.startswith(f".{path.name}.")]


# ------------------------------------------------------------------ far cells, extents


@pytest.mark.parametrize("ref", ["XFD1048576", "AMJ1048576", "A1048576"])
def test_a_far_cell_on_a_sheet_no_run_reads_is_never_read(book: Path, ref: str) -> None:
    add_cell(book, "Notes", ref)
    done = run_limited(["recalc", str(book), "--as-of", AS_OF])
    assert done.code == 0, done.err
    assert done.peak_mb < MEMORY_PROMISE_MB
    assert "Wrote:" in done.out


@pytest.mark.parametrize("ref", ["XFD1048576", "AMJ1048576", "A1048576", "P200000"])
def test_a_far_cell_on_a_read_sheet_is_refused_with_its_cell(book: Path, ref: str) -> None:
    add_cell(book, "Licenses", ref)
    before = book.read_bytes()
    done = run_limited(["recalc", str(book), "--as-of", AS_OF])
    assert_refused(book, before, done.code, done.err, 'the sheet "Licenses"', "Ctrl+End")
    assert done.peak_mb < MEMORY_PROMISE_MB
    last_row = int(re.sub(r"[A-Z]", "", ref))
    assert f"{last_row:,} rows × " in done.err


@pytest.mark.parametrize("ref", ["N5000000", "XFE9", "AAAA9"])
def test_a_cell_outside_excels_grid_is_refused(book: Path, ref: str) -> None:
    add_cell(book, "Licenses", ref)
    before = book.read_bytes()
    code, _out, err = recalc(book)
    assert_refused(book, before, code, err, "outside Excel's grid")
    assert f"a cell at {ref}" in err or f"a row numbered {ref[1:]}" in err


def test_formatting_down_to_the_last_row_reads_like_the_table_alone(book: Path) -> None:
    """A whole column formatted: a styled, empty cell in every row to row 1,048,576."""

    def format_column(xml: bytes) -> bytes:
        rows = b"".join(
            b'<row r="%d"><c r="Q%d" s="1"/></row>' % (n, n) for n in range(9, 2**20 + 1)
        )
        xml = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:Q1048576"', xml)
        return xml.replace(b"</sheetData>", rows + b"</sheetData>")

    rewrite(book, {part_of(book, "Licenses"): format_column})
    done = run_limited(["recalc", str(book), "--as-of", AS_OF])
    assert done.code == 0, done.err
    assert done.peak_mb < MEMORY_PROMISE_MB
    assert len(read_snapshot(book).sheets["Licenses"]) == 7  # the header and six licenses


def test_a_row_written_twice_is_refused(book: Path) -> None:
    def twice(xml: bytes) -> bytes:
        third = re.search(rb'<row r="3".*?</row>', xml, re.S)
        assert third is not None
        return xml.replace(third.group(0), third.group(0) * 2)

    rewrite(book, {part_of(book, "Licenses"): twice})
    before = book.read_bytes()
    code, _out, err = recalc(book)
    assert_refused(book, before, code, err, "row 3 twice")


def test_a_doctype_anywhere_in_a_part_is_refused(book: Path) -> None:
    def late_doctype(xml: bytes) -> bytes:
        return xml.replace(b"</sheetData>", b"</sheetData>" + b" " * 9000 + b"<!DOCTYPE x>")

    rewrite(book, {part_of(book, "Notes"): late_doctype})  # even a sheet no run reads
    assert recalc(book)[0] == 0  # ... is never unpacked; one the run reads is refused:
    rewrite(book, {part_of(book, "Licenses"): late_doctype})
    before = book.read_bytes()
    code, _out, err = recalc(book)
    assert_refused(book, before, code, err, "DOCTYPE")


# ------------------------------------------------------------------ what makes calamine panic


def shared_strings_book(path: Path, claimed: bytes | None = None) -> Path:
    """The base workbook with its text in a shared-string table, as Excel saves it; with
    `claimed`, the table says it holds that many strings."""
    write_with_xlsxwriter(base_book(), path)
    if claimed is not None:

        def claim(xml: bytes) -> bytes:
            return re.sub(rb'uniqueCount="\d+"', b'uniqueCount="' + claimed + b'"', xml)

        rewrite(path, {"xl/sharedStrings.xml": claim})
    return path


def test_shared_strings_that_claim_two_to_the_64_strings(tmp_path: Path) -> None:
    path = shared_strings_book(tmp_path / "sst.xlsx", b"18446744073709551615")
    done = run_limited(["recalc", str(path), "--as-of", AS_OF])
    assert done.code == 0, done.err
    assert "panicked" not in done.err


@pytest.mark.parametrize("number", ["-1e308", "-1", "nan", "1e308"])
def test_a_date_formatted_number_that_is_no_date_is_a_problem_at_its_cell(
    book: Path, number: str
) -> None:
    def odd(xml: bytes) -> bytes:
        return re.sub(rb'(<c r="H2" s="1" t="n"><v>)\d+', rb"\g<1>" + number.encode(), xml)

    rewrite(book, {part_of(book, "Licenses"): odd})
    done = run_limited(["recalc", str(book), "--as-of", AS_OF])
    assert done.code == 1, done.err
    assert "panicked" not in done.err and "Traceback" not in done.err
    assert ("Error", "Licenses", "H2") in {
        (p["Severity"], p["Sheet"], p["Cell"]) for p in problems_of(book)
    }


def test_a_reader_panic_becomes_a_clear_error(tmp_path: Path) -> None:
    """The guard around calamine, given the panic itself (the raw file, unchecked)."""
    import python_calamine

    from workbook.errors import WorkbookError
    from workbook.xlsx.read import _reader_errors

    path = shared_strings_book(tmp_path / "sst.xlsx", b"18446744073709551615")
    with pytest.raises(WorkbookError) as raised, _reader_errors(path, "Licenses"):
        python_calamine.CalamineWorkbook.from_path(str(path)).close()
    assert 'the file is damaged: the sheet "Licenses" cannot be read' in str(raised.value)


# ------------------------------------------------------------------------- zip bombs


def test_a_workbook_zip_bomb_is_refused_at_once(book: Path) -> None:
    """3 MB of deflate data that would unpack to 3 GB, with its size declared and lied."""
    licenses = part_of(book, "Licenses")
    for declared in (3 * 2**30, 20_000):
        members = [
            m if m.name != licenses else RawMember(m.name, bomb_xml(3000), declared)
            for m in members_of(book)
        ]
        raw_zip(book, members)
        before = book.read_bytes()
        assert len(before) < 4 * 2**20
        done = run_limited(["recalc", str(book), "--as-of", AS_OF], timeout=20)
        assert_refused(book, before, done.code, done.err, licenses, "zip bomb")
        assert done.peak_mb < MEMORY_PROMISE_MB


@pytest.mark.parametrize("part", ["xl/styles.xml", "xl/workbook.xml", "[Content_Types].xml"])
def test_a_bomb_in_any_part_a_reader_touches(book: Path, part: str) -> None:
    members = [
        m if m.name != part else RawMember(m.name, bomb_xml(1000), 1000 * 2**20)
        for m in members_of(book)
    ]
    raw_zip(book, members)
    before = book.read_bytes()
    done = run_limited(["recalc", str(book), "--as-of", AS_OF], timeout=20)
    assert_refused(book, before, done.code, done.err, "zip bomb")


def test_an_export_zip_bomb_is_refused_before_reading(tmp_path: Path) -> None:
    book = write_workbook(tmp_path / "b.xlsx", minimal_sheets([]))
    files = export_files({"Client": [row("4101", "2026-06-01")]})
    export = write_zip(tmp_path / "export.zip", files)
    header = csv_bytes(files["Client.csv"][:1])
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = compressor.compress(header) + compressor.flush(zlib.Z_FULL_FLUSH)
    bomb += deflate_bomb(3000, b"1")
    members = [
        m if m.name != "Client.csv" else RawMember(m.name, bomb, 3000 * 2**20)
        for m in members_of(export)
    ]
    raw_zip(export, members)
    before = book.read_bytes()
    done = run_limited(["import-activity", str(book), str(export), "--as-of", AS_OF], timeout=20)
    assert_refused(book, before, done.code, done.err, "Client.csv", "zip bomb")


def test_an_export_member_that_lies_about_its_size_is_damaged(tmp_path: Path) -> None:
    book = write_workbook(tmp_path / "b.xlsx", minimal_sheets([]))
    export = write_zip(
        tmp_path / "export.zip", export_files({"Client": [row("4101", "2026-06-01")]})
    )
    members = [
        m if m.name != "Client.csv" else RawMember(m.name, m.payload, m.size // 2, m.crc)
        for m in members_of(export)
    ]
    raw_zip(export, members)
    before = book.read_bytes()
    code, _out, err = run_cli(["import-activity", str(book), str(export), "--as-of", AS_OF])
    assert_refused(book, before, code, err, "the file is damaged", "Client.csv")


def enormous_line_export(tmp_path: Path) -> tuple[Path, Path]:
    """A one-license workbook and an export whose Client.csv has a 256 MB line and an
    8 MB quoted field of 4 million lines between ordinary rows."""
    book = write_workbook(
        tmp_path / "b.xlsx",
        minimal_sheets(
            [
                {
                    "License ID": "L-1",
                    "User": "Al",
                    "Organization": "Org A",
                    "License Type": "Housing Project",
                    "HMIS User ID": "4101",
                    "Granted On": dt.date(2024, 1, 1),
                }
            ]
        ),
    )
    folder = write_folder(
        tmp_path / "export", export_files({"Services": [row("4101", "2026-06-01 09:00:00")]})
    )
    with (folder / "Client.csv").open("wb") as handle:
        handle.write(b"PersonalID,FirstName,DateCreated,DateUpdated,UserID,DateDeleted\r\n")
        handle.write(b"1,Al,2026-07-01,2026-07-01,4101,\r\n")
        handle.write(b"2,")
        for _ in range(256):  # a 256 MB field, written a megabyte at a time
            handle.write(b"x" * 2**20)
        handle.write(b",2026-08-01,2026-08-01,4101,\r\n")
        handle.write(b'3,"' + b"y\n" * (4 * 2**20) + b'",2026-09-01,2026-09-01,4101,\r\n')
        handle.write(b"4,Cy,2026-10-01,2026-10-01,4101,\r\n")
    return book, folder


def assert_enormous_line_skipped(book: Path, out: str) -> None:
    assert "Client.csv: 1 line longer than 1,048,576 characters was skipped unread" in out
    assert "Client.csv: 1 row with a different number of fields" in out
    assert dict(openpyxl_rows(book, "Licenses")[1])["Client Entries (Window)"] == 3


def test_one_enormous_line_is_skipped_and_memory_stays_flat(tmp_path: Path) -> None:
    book, folder = enormous_line_export(tmp_path)
    done = run_limited(["import-activity", str(book), str(folder), "--as-of", AS_OF], timeout=120)
    assert done.code == 0, done.err
    assert done.peak_mb < 256  # the 256 MB line was never held whole
    assert_enormous_line_skipped(book, done.out)


def test_under_an_address_space_limit_the_import_takes_the_csv_module(tmp_path: Path) -> None:
    """`ulimit -v` as some servers set it: pyarrow, which reserves gigabytes of address
    space, aborted (std::bad_alloc) or hung under 500-600 MB; "auto" must not choose it."""
    book, folder = enormous_line_export(tmp_path)
    capped = (
        "import resource, runpy, sys; "
        "resource.setrlimit(resource.RLIMIT_AS, (500 * 2**20, 500 * 2**20)); "
        "sys.argv = ['hmis-licensing', *sys.argv[1:]]; "
        "runpy.run_module('workbook.cli', run_name='__main__')"
    )
    argv = ["import-activity", str(book), str(folder), "--as-of", AS_OF]
    done = subprocess.run(
        [sys.executable, "-c", capped, *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "(Python's csv module)" in done.stdout, done.stdout
    assert "pyarrow" not in done.stdout
    assert_enormous_line_skipped(book, done.stdout)


def openpyxl_rows(path: Path, sheet: str) -> list[list[tuple[object, object]]]:
    workbook = openpyxl.load_workbook(path)
    try:
        rows = list(workbook[sheet].iter_rows(values_only=True))
    finally:
        workbook.close()
    return [list(zip(rows[0], r, strict=False)) for r in rows]


def test_an_export_with_more_user_ids_than_any_hmis_is_refused(tmp_path: Path) -> None:
    from workbook.errors import UsageError
    from workbook.hmis.export import MAX_USER_IDS
    from workbook.hmis.reader import read_export_activity

    book = write_workbook(tmp_path / "b.xlsx", minimal_sheets([]))
    folder = tmp_path / "export"
    folder.mkdir()
    lines = [b"PersonalID,DateCreated,DateUpdated,UserID,DateDeleted"]
    lines += [b"%d,2026-07-01,2026-07-01,U%d," % (n, n) for n in range(MAX_USER_IDS + 1)]
    (folder / "Client.csv").write_bytes(b"\r\n".join(lines) + b"\r\n")
    before = book.read_bytes()
    done = run_limited(["import-activity", str(book), str(folder), "--as-of", AS_OF])
    assert_refused(book, before, done.code, done.err, f"more than {MAX_USER_IDS:,} different")
    for reader in ("csv", "pyarrow"):
        with pytest.raises(UsageError, match="different UserIDs"):
            read_export_activity(folder, dt.date(2026, 11, 24), dt.date(2026, 5, 24), reader=reader)


# ------------------------------------------------------------------------- the policy path


def settings_book(tmp_path: Path, policy_file: str) -> Path:
    base = base_book()
    base.sheets["Settings"].append(["Policy File", policy_file])
    return base.write(tmp_path / "settings.xlsx")


@pytest.mark.parametrize("device", ["fifo", "/dev/zero", "/dev/urandom"])
def test_a_policy_file_that_never_ends_or_blocks(tmp_path: Path, device: str) -> None:
    if device == "fifo":
        device = str(tmp_path / "policy.fifo")
        os.mkfifo(device)
    for argv in (
        ["recalc", str(settings_book(tmp_path, device)), "--as-of", AS_OF],
        ["recalc", str(base_book().write(tmp_path / "b.xlsx")), "--policy", device],
        ["policy", "check", device],
    ):
        done = run_limited(argv, timeout=20)
        assert done.code == 2, done.err  # a bad policy (listed on the Problems sheet)
        assert "is not a file (a device, pipe or socket)" in done.err
        assert done.peak_mb < MEMORY_PROMISE_MB


def test_a_policy_file_far_over_the_cap_is_not_read(tmp_path: Path) -> None:
    huge = tmp_path / "policy.yaml"
    with huge.open("wb") as handle:
        handle.truncate(3 * 2**30)  # 3 GB, sparse: nothing is written
    done = run_limited(["policy", "check", str(huge)], timeout=20)
    assert done.code == 2 and "3,221,225,472 bytes" in done.err, done.err
    assert done.peak_mb < MEMORY_PROMISE_MB


@pytest.mark.parametrize(
    "path", ["\\\\server\\share\\policy.yaml", "//server/share/policy.yaml", "https://x/p.yaml"]
)
def test_a_network_policy_path_is_refused_from_a_workbook_only(tmp_path: Path, path: str) -> None:
    workbook = settings_book(tmp_path, path)
    code, _out, err = recalc(workbook)
    assert code == 2 and "on another computer (a network path)" in err, err
    problems = [p["Problem"] for p in problems_of(workbook)]
    assert any("network path" in str(p) for p in problems), problems
    code, _out, err = run_cli(["policy", "check", path])  # typed by the user: tried
    assert code == 2 and "network path" not in err, err


# --------------------------------------------------------------------- extreme values


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("days: 30", "days: 740000", "first_sign_in_window.days: 740000 is greater than"),
        ("months: 6", "months: 24400", "client_data_window.months: 24400 is greater than"),
        ("target: 20", "target: 1" + "0" * 400, "ce_allotment.target: 1000"),
        ("target: 20", "target: 1" + "0" * 5000, "the number is far longer than any policy"),
        ("target: 20", "target: 1.0e+400", "is not a usable number"),
    ],
)
def test_extreme_policy_values_are_policy_errors_with_their_line(
    tmp_path: Path, key: str, value: str, says: str
) -> None:
    text = (REPO / "policy.yaml").read_text(encoding="utf-8")
    assert key in text
    line = text[: text.index(key)].count("\n") + 1
    policy = tmp_path / "policy.yaml"
    policy.write_text(text.replace(key, value, 1), encoding="utf-8")
    code, _out, err = run_cli(["policy", "check", str(policy)])
    assert code == 2 and says in err and f"policy.yaml:{line}" in err, err
    workbook = base_book().write(tmp_path / "b.xlsx")
    code, _out, err = recalc(workbook, "--policy", str(policy))
    assert code == 2 and "internal error" not in err, err


@pytest.mark.parametrize(
    ("sheet", "header", "value"),
    [
        ("Licenses", "Granted On", dt.date(9999, 12, 31)),
        ("Licenses", "Granted On", "9999-12-31"),
        ("Licenses", "Last Client Data Entry", "0001-01-01"),
        ("Licenses", "Client Entries (Window)", 1e308),
        ("Regions", "Population", 1e308),
    ],
)
def test_extreme_cell_values_are_problems_at_their_cells(
    tmp_path: Path, sheet: str, header: str, value: object
) -> None:
    base = base_book()
    column = base.sheets[sheet][0].index(header)
    base.sheets[sheet][1][column] = value
    workbook = base.write(tmp_path / "b.xlsx")
    code, _out, err = recalc(workbook)
    assert code == 1 and "internal error" not in err, err
    letter = "ABCDEFGHIJKLMNOP"[column]
    assert ("Error", sheet, f"{letter}2") in {
        (p["Severity"], p["Sheet"], p["Cell"]) for p in problems_of(workbook)
    }


def test_exception_until_may_still_say_no_end_date(tmp_path: Path) -> None:
    base = base_book()
    appeal = base.sheets["Appeals"]
    appeal[1][appeal[0].index("Decision")] = "Approved"
    appeal[1][appeal[0].index("Decided On")] = dt.date(2026, 10, 2)
    appeal[1][appeal[0].index("Exception Until")] = dt.date(9999, 12, 31)
    code, _out, err = recalc(base.write(tmp_path / "b.xlsx"))
    assert code == 0, err


@pytest.mark.parametrize("as_of", ["0001-01-01", "9999-12-31", "1899-12-31"])
def test_an_as_of_date_outside_what_a_policy_can_mean(tmp_path: Path, as_of: str) -> None:
    workbook = base_book().write(tmp_path / "b.xlsx")
    code, _out, err = run_cli(["recalc", str(workbook), "--as-of", as_of])
    assert code == 2 and "is not a date a policy can be applied on" in err, err
    base = base_book()
    base.sheets["Settings"][1][1] = as_of
    code, _out, err = run_cli(["recalc", str(base.write(tmp_path / "s.xlsx"))])
    assert code == 1 and "As Of:" in err and "internal error" not in err, err


# ------------------------------------------------------------------ import-activity


def test_import_leaves_every_cell_of_an_array_formula_alone(tmp_path: Path) -> None:
    licenses = [
        {
            "License ID": f"L-{n}",
            "User": f"U{n}",
            "Organization": "Org A",
            "License Type": "Housing Project",
            "HMIS User ID": str(4100 + n),
            "Granted On": dt.date(2024, 1, 1),
            "Client Entries (Window)": 0,
        }
        for n in range(1, 6)
    ]
    workbook = write_workbook(tmp_path / "b.xlsx", minimal_sheets(licenses))
    part = part_of(workbook, "Licenses")

    def array_formula(xml: bytes) -> bytes:
        """J2:J5 filled by {=I2:I5+600}: only J2 carries the formula, with the range."""
        for n in range(2, 6):
            xml = re.sub(rb'<c r="J%d"[^>]*/>' % n, b"", xml)
            cell = b'<c r="J%d" s="1"><v>%d</v></c>' % (n, 45000 + n)
            if n == 2:
                cell = b'<c r="J2" s="1"><f t="array" ref="J2:J5">I2:I5+600</f><v>45002</v></c>'
            xml = re.sub(rb'(<c r="K%d")' % n, cell + rb"\1", xml, count=1)
        return xml

    rewrite(workbook, {part: array_formula})
    before = zipfile.ZipFile(workbook).read(part)
    export = write_folder(
        tmp_path / "export",
        export_files(
            {"Services": [row(str(4100 + n), "2026-11-01 09:00:00") for n in range(1, 7)]}
        ),
    )
    code, out, err = run_cli(["import-activity", str(workbook), str(export), "--as-of", AS_OF])
    assert code == 1, err
    for n in range(2, 6):
        assert f"Licenses!J{n}: is part of an array formula (J2:J5); it was left as it is" in err
    after = zipfile.ZipFile(workbook).read(part)
    cells = {m.group(1): m.group(0) for m in re.finditer(rb'<c r="(J\d+)".*?</c>', after, re.S)}
    for n in range(2, 6):
        assert cells[b"J%d" % n] in before  # each cell as it was
    assert b'<c r="J6"' in after  # the license outside the range was updated
    assert "moved later on 1" in out


def test_import_refuses_a_licenses_sheet_with_a_row_twice(tmp_path: Path) -> None:
    licenses = [
        {
            "License ID": "L-1",
            "User": "U",
            "Organization": "Org A",
            "License Type": "Housing Project",
            "HMIS User ID": "4101",
            "Granted On": dt.date(2024, 1, 1),
        },
    ]
    workbook = write_workbook(tmp_path / "b.xlsx", minimal_sheets(licenses))

    def twice(xml: bytes) -> bytes:
        second = re.search(rb'<row r="2".*?</row>', xml, re.S)
        assert second is not None
        return xml.replace(second.group(0), second.group(0) * 2)

    rewrite(workbook, {part_of(workbook, "Licenses"): twice})
    export = write_folder(tmp_path / "e", export_files({"Services": [row("4101", "2026-11-01")]}))
    before = workbook.read_bytes()
    code, _out, err = run_cli(["import-activity", str(workbook), str(export), "--as-of", AS_OF])
    assert code == 1 and "holds row 2 twice" in err, err
    assert workbook.read_bytes() == before


# ------------------------------------------------------------------- appended sheets


def recalculated(tmp_path: Path) -> Path:
    workbook = base_book().write(tmp_path / "log.xlsx")
    assert recalc(workbook)[0] == 0
    return workbook


def test_run_log_keeps_protection_merges_formats_validations_and_links(tmp_path: Path) -> None:
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = recalculated(tmp_path)
    staff = openpyxl.load_workbook(workbook)
    log = staff["Run Log"]
    log.protection.sheet = True
    log.merge_cells("M1:N1")
    log["M1"] = "Staff notes"
    log.conditional_formatting.add(
        "H2:H500", CellIsRule(operator="greaterThan", formula=["0"], fill=PatternFill("solid"))
    )
    validation = DataValidation(type="list", formula1='"ok,check"')
    validation.add("O2:O500")
    log.add_data_validation(validation)
    log["P2"].hyperlink = "#Licenses!A1"
    log["Q2"].hyperlink = "https://example.org/runs"
    staff.save(workbook)
    staff.close()
    part = sheet_part_names(workbook)["Run Log"]
    with zipfile.ZipFile(workbook) as archive:
        before = archive.read(part).decode()
        rels_before = archive.read(part.replace("worksheets/", "worksheets/_rels/") + ".rels")
    assert recalc(workbook)[0] == 0
    with zipfile.ZipFile(workbook) as archive:
        after = archive.read(part).decode()
        rels_after = archive.read(part.replace("worksheets/", "worksheets/_rels/") + ".rels")
    for element in (
        "sheetProtection",
        "mergeCells",
        "conditionalFormatting",
        "dataValidations",
        "hyperlinks",
    ):
        kept = re.search(rf"<{element}\b.*?(?:</{element}>|/>)", before, re.S)
        assert kept is not None and kept.group(0) in after, element
    assert rels_after == rels_before
    rows = [r for r in openpyxl_rows(workbook, "Run Log")[1:] if dict(r).get("Run At")]
    assert len(rows) == 2


def test_a_full_run_log_continues_on_run_log_2_and_is_read_back_whole(tmp_path: Path) -> None:
    workbook = recalculated(tmp_path)
    part = sheet_part_names(workbook)["Run Log"]
    last = b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>the last row</t></is></c></row>'
    rewrite(workbook, {part: lambda xml: xml.replace(b"</sheetData>", last + b"</sheetData>")})
    before = raw_members(workbook)[part]
    done = run_limited(["recalc", str(workbook), "--as-of", AS_OF])
    assert done.code == 0, done.err
    assert done.peak_mb < MEMORY_PROMISE_MB
    assert raw_members(workbook)[part] == before  # the full sheet keeps every byte
    names = list(sheet_part_names(workbook))
    assert "Run Log 2" in names
    second = openpyxl_rows(workbook, "Run Log 2")
    assert [h for h, _ in second[0]] == list(RUN_LOG.headers)
    assert len(second) == 2 and dict(second[1])["As Of"] == dt.datetime(2026, 11, 24)
    log = read_snapshot(workbook).sheets["Run Log"]  # one table: both sheets
    assert len(log) == 1048576 + 1
    assert log[1048575][0] == "the last row"
    assert log[-1][1] == dt.date(2026, 11, 24) or log[-1][1] == dt.datetime(2026, 11, 24)
    assert read_snapshot(workbook).sheets.get("Run Log 2") is None


def test_findings_history_is_appended_like_the_run_log(tmp_path: Path) -> None:
    from workbook.xlsx.write import recalculated_bytes

    workbook = base_book().write(tmp_path / "fh.xlsx")
    entry = RunLogEntry(
        dt.datetime(2026, 11, 24, 9), dt.date(2026, 11, 24), "1", "ab", "1", 6, 1, 0, 0, "p", "t"
    )
    history = [
        (dt.datetime(2026, 11, 24, 9), dt.date(2026, 11, 24), f"L-{n}", "Active", None, "No")
        for n in range(1, 4)
    ]
    for _ in range(2):
        data = recalculated_bytes(workbook, [ResultTable(FINDINGS_HISTORY, tuple(history))], entry)
        workbook.write_bytes(data)
    rows = openpyxl_rows(workbook, "Findings History")
    assert [h for h, _ in rows[0]] == list(FINDINGS_HISTORY.headers)
    assert [dict(r)["License ID"] for r in rows[1:]] == ["L-1", "L-2", "L-3"] * 2


# ---------------------------------------------------------------- after the save


def test_a_closed_stdout_after_the_save_is_not_an_error(tmp_path: Path) -> None:
    """`recalc X | head -1`: the run finishes, saves once and exits 0."""
    workbook = base_book().write(tmp_path / "b.xlsx")
    child = subprocess.Popen(
        [sys.executable, "-m", "workbook.cli", "recalc", str(workbook), "--as-of", AS_OF],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"},
        cwd=REPO,
    )
    assert child.stdout is not None and child.stderr is not None
    assert child.stdout.readline().startswith(b"Workbook:")
    child.stdout.close()  # what head does after one line
    err = child.stderr.read().decode()
    child.stderr.close()
    assert child.wait(timeout=60) == 0, err
    assert "BrokenPipe" not in err and "not changed" not in err and "Exception" not in err
    rows = [r for r in openpyxl_rows(workbook, "Run Log")[1:] if dict(r).get("Run At")]
    assert len(rows) == 1


def test_a_console_that_cannot_show_the_name(tmp_path: Path) -> None:
    workbook = base_book().write(tmp_path / "Nguyễn.xlsx")
    done = run_limited(
        ["recalc", str(workbook), "--as-of", AS_OF],
        env={"PYTHONIOENCODING": "cp1252"},
        encoding="cp1252",
    )
    assert done.code == 0, done.err
    assert "Nguy\\u1ec5n.xlsx" in done.out and "Wrote:" in done.out
    assert "not changed" not in done.err


def test_json_on_a_cp1252_console_is_utf_8_and_parses(tmp_path: Path) -> None:
    """`--json > out.json` where the console is cp1252 (Windows redirects so): ASCII with
    \\u escapes, so the bytes are UTF-8 too and read back with every § and name."""
    workbook = base_book().write(tmp_path / "Nguyễn.xlsx")
    done = run_limited(
        ["recalc", str(workbook), "--as-of", AS_OF, "--json"],
        env={"PYTHONIOENCODING": "cp1252"},
        encoding="cp1252",
    )
    assert done.code == 0, done.err
    assert done.out.isascii()
    report = json.loads(done.out.encode("cp1252").decode("utf-8"))
    assert report["workbook"].endswith("Nguyễn.xlsx")


def test_an_error_after_the_save_says_the_workbook_was_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workbook.cli as cli

    workbook = base_book().write(tmp_path / "b.xlsx")

    def summary_fails(*_args: object) -> None:
        raise RuntimeError("printing failed")

    original = cli.save_results

    def save_then_fail(*args: object) -> None:
        original(*args)  # type: ignore[arg-type]
        summary_fails()

    monkeypatch.setattr(cli, "save_results", save_then_fail)
    code, _out, err = recalc(workbook)
    assert code == 2
    assert "The workbook had already been saved" in err and "not changed" not in err


def test_terminal_escapes_from_a_workbook_or_an_export_are_shown_escaped(tmp_path: Path) -> None:
    workbook = base_book().write(tmp_path / "b.xlsx")

    def escapes(xml: bytes) -> bytes:  # _x001B_ is how a workbook holds ESC (Excel's escape)
        text = b"_x001B_[2J_x001B_]0;owned_x0007_ \xc2\x9b2J \xe2\x80\xae"
        cell = b'<c r="H2" t="inlineStr"><is><t>' + text + b"</t></is></c>"
        return re.sub(rb'<c r="H2" s="1" t="n"><v>\d+</v></c>', cell, xml)

    rewrite(workbook, {part_of(workbook, "Licenses"): escapes})
    code, _out, err = recalc(workbook)
    assert code == 1, err
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", err)
    assert "\\x1b[2J\\x1b]0;owned\\x07 \\x9b2J \\u202e" in err
    workbook = write_workbook(tmp_path / "i.xlsx", minimal_sheets([]))
    export = tmp_path / "e.zip"
    with zipfile.ZipFile(export, "w") as archive:
        files = export_files({"Client": [row("4101", "2026-06-01")]})
        for name, rows in files.items():
            inner = f"x\x1b[31m/{name}"
            data = csv_bytes(rows) + (b"1,2\r\n" if name == "Client.csv" else b"")
            archive.writestr(inner, data)
    code, out, err = run_cli(["import-activity", str(workbook), str(export), "--as-of", AS_OF])
    assert "\x1b" not in out + err
    assert "x\\x1b[31m/Client.csv" in out


def test_output_to_a_symbolic_link_replaces_the_link_not_its_target(tmp_path: Path) -> None:
    workbook = base_book().write(tmp_path / "b.xlsx")
    target = tmp_path / "elsewhere.xlsx"
    target.write_bytes(b"someone else's file")
    link = tmp_path / "copy.xlsx"
    link.symlink_to(target)
    code, _out, err = recalc(workbook, "--output", str(link))
    assert code == 0, err
    assert target.read_bytes() == b"someone else's file"
    assert not link.is_symlink() and zipfile.is_zipfile(link)


def test_a_result_sheet_stored_in_an_input_sheets_part_is_refused(book: Path) -> None:
    licenses = part_of(book, "Licenses")
    target = licenses.split("/", 1)[1]

    def alias_rel(xml: bytes) -> bytes:
        rel = f'<Relationship Id="rIdAlias" Type="{REL}/worksheet" Target="{target}"/>'
        return xml.replace(b"</Relationships>", rel.encode() + b"</Relationships>")

    def alias_sheet(xml: bytes) -> bytes:
        sheet = f'<sheet name="Problems" sheetId="77" r:id="rIdAlias" xmlns:r="{REL}"/>'
        return xml.replace(b"</sheets>", sheet.encode() + b"</sheets>")

    rewrite(book, {"xl/_rels/workbook.xml.rels": alias_rel, "xl/workbook.xml": alias_sheet})
    before = book.read_bytes()
    code, _out, err = recalc(book)
    shared = 'the sheets "Licenses" and "Problems" are stored in one part'
    assert_refused(book, before, code, err, shared)


def test_a_sheet_whose_part_is_missing_is_damage_and_nothing_is_written(book: Path) -> None:
    """Read as "no Licenses sheet", the run used to write a result sheet into the part the
    dangling entry names, so that Licenses showed the Appeals Queue in Excel."""
    licenses = part_of(book, "Licenses")
    rewrite(book, {licenses: None})
    before = book.read_bytes()
    code, _out, err = recalc(book)
    missing = f'the file is damaged: the sheet "Licenses" has no part ({licenses} is missing)'
    assert_refused(book, before, code, err, missing)


def test_sheets_whose_relationships_are_missing_are_damage(book: Path) -> None:
    """Found by the CI fuzz run (one flipped byte renamed xl/_rels/workbook.xml.rels): every
    sheet read as missing, then the writer crashed looking for the part."""
    rewrite(book, {"xl/_rels/workbook.xml.rels": None})
    before = book.read_bytes()
    code, _out, err = recalc(book)
    missing = (
        'the sheet "Regions" names the relationship rId1, and xl/_rels/workbook.xml.rels is missing'
    )
    assert_refused(book, before, code, err, missing)


def test_a_sheet_naming_no_relationship_is_damage(book: Path) -> None:
    rewrite(book, {"xl/workbook.xml": lambda xml: xml.replace(b'r:id="rId3"', b'r:id="rId99"')})
    before = book.read_bytes()
    code, _out, err = recalc(book)
    assert_refused(
        book,
        before,
        code,
        err,
        "names the relationship rId99, and xl/_rels/workbook.xml.rels does not have it",
    )


def test_a_workbook_without_sheets_or_relationships_gets_its_result_sheets(book: Path) -> None:
    """No sheet to resolve, so nothing is damaged: the run reports the missing input sheets
    and writes the result sheets, creating the workbook's relationships part."""
    rewrite(
        book,
        {
            "xl/_rels/workbook.xml.rels": None,
            "xl/workbook.xml": lambda xml: re.sub(
                rb"<sheets>.*</sheets>", b"<sheets/>", xml, flags=re.S
            ),
        },
    )
    code, _out, err = recalc(book)
    assert code == 1 and "The workbook has no Licenses sheet." in err, err
    assert check_package(book) == []
    with zipfile.ZipFile(book) as archive:
        rels = archive.read("xl/_rels/workbook.xml.rels").decode()
    assert rels.count("<Relationship ") >= 4 and "Traceback" not in err


@pytest.mark.parametrize("renamed", ["Licenses", "LICENSES"])
def test_two_sheets_of_one_name_are_damage(book: Path, renamed: str) -> None:
    """Excel never allows it (in any case); one of them would be read for the other."""
    rewrite(
        book,
        {
            "xl/workbook.xml": lambda xml: xml.replace(
                b'name="Appeals"', f'name="{renamed}"'.encode()
            )
        },
    )
    before = book.read_bytes()
    code, _out, err = recalc(book)
    assert_refused(book, before, code, err, f'two sheets are named "Licenses" and "{renamed}"')


def test_two_input_sheets_in_one_part_are_damage(book: Path) -> None:
    """Read once, one sheet's rows were silently lost (every Appeals row, here)."""
    licenses, appeals = part_of(book, "Licenses"), part_of(book, "Appeals")
    target = licenses.split("/", 1)[1].encode()
    old = appeals.split("/", 1)[1].encode()
    rewrite(book, {"xl/_rels/workbook.xml.rels": lambda xml: xml.replace(old, target)})
    before = book.read_bytes()
    code, _out, err = recalc(book)
    assert_refused(book, before, code, err, 'the sheets "Licenses" and "Appeals" are stored in one')


def test_cutting_astral_text_to_excels_limit_is_linear() -> None:
    from workbook.xlsx.sheetxml import MAX_CELL_CHARS, cell_text

    text = cell_text("😀" * 100_000)
    assert len(text.encode("utf-16-le")) // 2 == MAX_CELL_CHARS and text.endswith("…")
    mixed = cell_text("a" + "😀" * 40_000)
    assert len(mixed.encode("utf-16-le")) // 2 <= MAX_CELL_CHARS


# ------------------------------------------------------------- issue 16: damaged packages


def central_method_offsets(data: bytes) -> dict[str, int]:
    """Each member's compression-method field in the central directory."""
    offsets = {}
    position = data.find(b"PK\x01\x02")
    while position >= 0:
        length = int.from_bytes(data[position + 28 : position + 30], "little")
        offsets[data[position + 46 : position + 46 + length].decode()] = position + 10
        position = data.find(b"PK\x01\x02", position + 1)
    return offsets


@pytest.mark.parametrize("member", ["Licenses", "xl/workbook.xml", "[Content_Types].xml"])
def test_a_flipped_compression_method_is_a_damaged_file(book: Path, member: str) -> None:
    """The byte Hypothesis flipped at scale (issue 16): method 8 became 9 (Deflate64)."""
    name = part_of(book, member) if member == "Licenses" else member
    raw = bytearray(book.read_bytes())
    raw[central_method_offsets(bytes(raw))[name]] ^= 1
    book.write_bytes(bytes(raw))
    code, _out, err = recalc(book)
    assert_refused(book, bytes(raw), code, err, "the file is damaged", "method 9")


def test_the_hypothesis_draw_of_issue_16_replayed(tmp_path: Path) -> None:
    raw = bytearray(base_book().write(tmp_path / "good.xlsx").read_bytes())
    raw[7546 % len(raw)] ^= 1
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(bytes(raw))
    code, _out, err = recalc(path)
    assert "Traceback" not in err and "internal error" not in err, err
    assert code in (0, 1, 2)
    if code == 2:
        assert path.read_bytes() == bytes(raw)


@pytest.mark.parametrize(
    "damage", ["crc", "deflate data", "cut short", "local header", "xml", "directory"]
)
def test_every_kind_of_damage_is_named_and_changes_nothing(book: Path, damage: str) -> None:
    licenses = part_of(book, "Licenses")
    members = members_of(book)
    if damage == "xml":  # well-formed zip, broken XML with an honest checksum
        members = [
            stored(m.name, b"<worksheet><sheetData><row") if m.name == licenses else m
            for m in members
        ]
    else:
        members = [_damaged(m, damage) if m.name == licenses else m for m in members]
    raw_zip(book, members)
    raw = bytearray(book.read_bytes())
    if damage == "local header":
        raw[raw.find(b"PK\x03\x04", raw.find(licenses.encode()) - 40)] ^= 0xFF
    if damage == "directory":
        raw = raw[: raw.rfind(b"PK\x05\x06") + 10]
    book.write_bytes(bytes(raw))
    code, _out, err = recalc(book)
    assert_refused(book, bytes(raw), code, err, "the file is damaged")


def _damaged(member: RawMember, damage: str) -> RawMember:
    if damage == "crc":
        return RawMember(member.name, member.payload, member.size, member.crc ^ 1)
    if damage == "deflate data":
        return RawMember(member.name, b"\xff" * len(member.payload), member.size, member.crc)
    if damage == "cut short":
        return RawMember(
            member.name, member.payload[: len(member.payload) // 2], member.size, member.crc
        )
    return member


def test_a_pipe_or_a_device_as_the_workbook_or_the_export(tmp_path: Path) -> None:
    fifo = tmp_path / "book.xlsx"
    os.mkfifo(fifo)
    workbook = base_book().write(tmp_path / "real.xlsx")
    for argv in (
        ["recalc", str(fifo), "--as-of", AS_OF],
        ["recalc", "/dev/zero", "--as-of", AS_OF],
        ["recalc", str(workbook), "--as-of", AS_OF, "--output", str(fifo)],
        ["import-activity", str(workbook), str(fifo), "--as-of", AS_OF],
    ):
        done = run_limited(argv, timeout=20)
        assert done.code == 2 and "is not a file" in done.err, (argv, done.err)


def test_a_run_log_renamed_with_a_year_is_not_a_continuation() -> None:
    from workbook.layout import continuation_number

    assert continuation_number("Run Log", " run log ") == 1
    assert continuation_number("Run Log", "Run Log 2") == 2
    assert continuation_number("Run Log", "Run Log 2026") is None
    assert continuation_number("Run Log", "Run Log 1") is None
    assert continuation_number("Findings History", "Findings History 12") == 12


@pytest.mark.parametrize("ref", ["A99", "XFD1048576", "A1048577"])
def test_a_cell_whose_reference_contradicts_its_row(book: Path, ref: str) -> None:
    """A reader places a cell by its own reference, not by the row it is written in."""

    def misplaced(xml: bytes) -> bytes:
        return xml.replace(b'<c r="A2"', f'<c r="{ref}"><v>1</v></c><c r="A2"'.encode(), 1)

    rewrite(book, {part_of(book, "Licenses"): misplaced})
    before = book.read_bytes()
    done = run_limited(["recalc", str(book), "--as-of", AS_OF])
    assert done.peak_mb < MEMORY_PROMISE_MB
    if ref == "A99":
        assert done.code in (0, 1), done.err  # read where it says it is
    else:
        assert_refused(book, before, done.code, done.err, 'the sheet "Licenses"')
