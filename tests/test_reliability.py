"""Nothing lost, nothing injected: bad input, broken files, locks and kills.

Hypothesis builds thousands of bad workbooks (real .xlsx files) and runs the command line
on each: no traceback ever, exit 1 exactly when the Problems sheet has an Error (else 0),
every problem names a sheet and a cell, each planted bad cell is reported at its cell,
and the input sheets' zip members keep their bytes. The number of examples per test is
HMIS_FUZZ_EXAMPLES (default: 200 to 700 each, 1,900 bad workbooks in this file); with it
set, Hypothesis' example database is not used, so a run is replayed by its seed alone
(`--hypothesis-seed=N`; .ci/run prints it). The slowest tests are marked `stress`: off in
a developer's `python -m pytest`, run by `python -m pytest -m stress` and by .ci/run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.badbooks import (
    AS_OF,
    CELL,
    LICENSE_HEADERS,
    Book,
    ErrorValue,
    Formula,
    base_book,
    letter,
    problems_of,
    raw_members,
    run_cli,
)
from tests.conftest import REPO, SAMPLE
from tests.ooxml_check import check_package
from workbook.layout import RESULT_SHEETS, header_key
from workbook.xlsx.safesave import LOCK_SUFFIX, TEMP_SUFFIX, lock_path
from workbook.xlsx.write import sheet_part_names

EXAMPLES = int(os.environ.get("HMIS_FUZZ_EXAMPLES", "0")) or None
Expected = tuple[str, str, str]  # severity, sheet, cell


def fuzz(default: int) -> settings:
    return settings(
        max_examples=EXAMPLES or default,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        **({"database": None} if EXAMPLES else {}),
    )


def input_parts(path: Path) -> dict[str, bytes]:
    """The raw bytes of every sheet part that is not a result sheet."""
    results = {header_key(s.name) for s in RESULT_SHEETS}
    parts = sheet_part_names(path)
    members = raw_members(path)
    return {name: members[part] for name, part in parts.items() if header_key(name) not in results}


def recalc_and_check(path: Path, planted: list[Expected] = ()) -> list[dict[str, object]]:
    """Run recalc and check every promise; returns the Problems rows."""
    before = input_parts(path)
    code, _out, err = run_cli(["recalc", str(path), "--as-of", AS_OF])
    assert "Traceback" not in err and "internal error" not in err, err
    assert code in (0, 1), err
    problems = problems_of(path)
    has_error = any(p["Severity"] == "Error" for p in problems)
    assert code == (1 if has_error else 0), (code, problems)
    for problem in problems:
        assert problem["Severity"] in ("Error", "Warning")
        assert problem["Sheet"] and problem["Problem"] and problem["How To Fix"], problem
        assert CELL.match(str(problem["Cell"])), problem
    found = {(str(p["Severity"]), str(p["Sheet"]), str(p["Cell"])) for p in problems}
    for expected in planted:
        assert expected in found, (expected, problems)
    assert input_parts(path) == before
    return problems


# ------------------------------------------------------------- planted bad cells

DATE_COLUMNS = ["Granted On", "First Sign-In", "Last Client Data Entry"]
BAD_DATES = [
    "2026-02-30",
    "31/02/2026",
    "03/04/2026",
    "13/02/2026",
    "3/4/26",
    "yesterday",
    "2026-13-01",
    2026,
    45,
    dt.date(1926, 1, 1),
    dt.date(2126, 1, 1),
]
YES_SPELLINGS = ["Yes", "yes ", "YES", "Y", "y", "True", "TRUE", "x", "X", "✓", "1", "Yes."]
NO_SPELLINGS = ["No", "no", "N", "false", "FALSE", "0", "-", "  no  ", "off"]
INJECTIONS = [
    '=HYPERLINK("http://example.invalid/x","click me")',
    "+1+2",
    "-2+3",
    "@SUM(1,2)",
    "=cmd|' /C calc'!A0",
    "=1+1",
    "\t=1",
]


class Plant:
    """Plants bad cells in distinct rows of a Book and says what each should produce."""

    def __init__(self, book: Book, draw: Callable[..., object]) -> None:
        self.book = book
        self.draw = draw
        self.free_rows = list(range(2, len(book.sheets["Licenses"]) + 1))
        self.expected: list[Expected] = []
        self.blanked: set[int] = set()

    def row(self) -> int | None:
        if not self.free_rows:
            return None
        row = self.draw(st.sampled_from(self.free_rows))
        self.free_rows.remove(row)
        return row

    def error(self, header: str, value: object) -> None:
        row = self.row()
        if row is not None:
            cell = self.book.set("Licenses", row, header, value)
            self.expected.append(("Error", "Licenses", cell))

    def bad_date(self) -> None:
        self.error(self.draw(st.sampled_from(DATE_COLUMNS)), self.draw(st.sampled_from(BAD_DATES)))

    def text_in_number(self) -> None:
        value = self.draw(st.sampled_from(["many", "12 entries", "1.5", -3, "-", 2.5, "ten"]))
        self.error("Client Entries (Window)", value)

    def bad_population(self) -> None:
        row = self.draw(st.sampled_from([2, 3]))
        value = self.draw(st.sampled_from([0, -5, "lots", 1.5, "-", "596 788 people"]))
        self.book.sheets["Regions"][row - 1][1] = value
        self.expected.append(("Error", "Regions", f"B{row}"))

    def duplicate_id(self) -> None:
        first, second = self.row(), self.row()
        if first is None or second is None:
            return
        first, second = min(first, second), max(first, second)
        original = self.book.sheets["Licenses"][first - 1][0]
        spelled = self.draw(st.sampled_from([original, str(original).lower(), f" {original} "]))
        cell = self.book.set("Licenses", second, "License ID", spelled)
        self.expected.append(("Error", "Licenses", cell))

    def unknown_organization(self) -> None:
        row = self.row()
        if row is not None:
            cell = self.book.set("Licenses", row, "Organization", "Nobody Inc")
            self.expected.append(("Warning", "Licenses", cell))

    def unknown_license_type(self) -> None:
        self.error("License Type", self.draw(st.sampled_from(["CE Acess Only", "Gold", "HP"])))

    def unknown_region(self) -> None:
        row = self.row()
        if row is not None:
            cell = self.book.set("Licenses", row, "Region", "Region 99")
            self.expected.append(("Warning", "Licenses", cell))

    def yes_no(self) -> None:
        row = self.row()
        if row is None:
            return
        if self.draw(st.booleans()):
            value = self.draw(st.sampled_from(YES_SPELLINGS + NO_SPELLINGS))
            self.book.set("Licenses", row, "Level 4 List Holder", value)
        else:
            value = self.draw(st.sampled_from(["Maybe", "2", "yes please", "Nope"]))
            cell = self.book.set("Licenses", row, "Level 4 List Holder", value)
            self.expected.append(("Error", "Licenses", cell))

    def spaces_and_case(self) -> None:
        row = self.row()
        if row is None:
            return
        name = self.book.sheets["Licenses"][row - 1][LICENSE_HEADERS.index("Organization")]
        spelled = self.draw(
            st.sampled_from([f"  {name}  ", str(name).upper(), str(name).lower(), f"{name}\u00a0"])
        )
        self.book.set("Licenses", row, "Organization", spelled)  # matched: no problem

    def formula_without_value(self) -> None:
        header = self.draw(st.sampled_from(["User", "Last Client Data Entry", "Granted On"]))
        self.error(header, Formula(self.draw(st.sampled_from(["1+1", "TODAY()", "A1&B1"]))))

    def error_value(self) -> None:
        header = self.draw(st.sampled_from(["User", "Last Client Data Entry", "Organization"]))
        self.error(header, ErrorValue(self.draw(st.sampled_from(["#N/A", "#VALUE!", "#REF!"]))))

    def merged_cells(self) -> None:
        rows = self.free_rows
        pairs = [r for r in rows if r + 1 in rows]
        if not pairs:
            return
        top = self.draw(st.sampled_from(pairs))
        rows.remove(top)
        rows.remove(top + 1)
        header = self.draw(st.sampled_from(["User", "Organization", "County", "Region"]))
        column = self.book.column("Licenses", header)
        first = f"{_letter(column)}{top}"
        self.book.merges.setdefault("Licenses", []).append(f"{first}:{_letter(column)}{top + 1}")
        self.expected.append(("Error", "Licenses", first))

    def blank_row(self) -> None:
        last = len(self.book.sheets["Licenses"])
        candidates = [r for r in self.free_rows if r < last]
        if not candidates:
            return
        row = self.draw(st.sampled_from(candidates))
        self.free_rows.remove(row)
        line = self.book.sheets["Licenses"][row - 1]
        line[:] = [None] * len(line)
        self.blanked.add(row)

    def finish(self) -> list[Expected]:
        """What was planted, plus a Warning for each run of blank rows with data below."""
        rows = self.book.sheets["Licenses"]
        run: list[int] = []
        for number, line in enumerate(rows[1:], start=2):
            if all(v is None for v in line):
                run.append(number)
            elif run:
                self.expected.append(("Warning", "Licenses", f"A{run[0]}"))
                run = []
        return self.expected

    def blank_required(self) -> None:
        self.error(self.draw(st.sampled_from(["User", "License ID", "Granted On"])), None)

    def injection(self) -> None:
        row = self.row()
        if row is not None:
            self.book.set("Licenses", row, "User", self.draw(st.sampled_from(INJECTIONS)))

    def long_text(self) -> None:
        row = self.row()
        if row is not None:
            cell = self.book.set("Licenses", row, "Organization", "Org " + "x" * 40_000)
            self.expected.append(("Warning", "Licenses", cell))

    def data_without_header(self) -> None:
        rows = [r for r in range(2, len(self.book.sheets["Licenses"]) + 1) if r not in self.blanked]
        if not rows:
            return
        row = self.draw(st.sampled_from(rows))
        line = self.book.sheets["Licenses"][row - 1]
        width = len(LICENSE_HEADERS)
        line += [None] * (width + 2 - len(line))
        line[width + 1] = "a note"
        if any(v is not None for v in line[:width]):
            self.expected.append(("Warning", "Licenses", f"{_letter(width + 1)}{row}"))
        else:  # a row whose only value is the note: its required cells are blank
            self.expected.append(("Error", "Licenses", f"A{row}"))

    def near_miss_header(self) -> None:
        header, typo = self.draw(
            st.sampled_from([("Revoked On", "Revoked"), ("Last Login", "Last Log In")])
        )
        index = self.book.column("Licenses", header)
        self.book.sheets["Licenses"][0][index] = typo
        # Both columns decide results: a misspelt header is an Error (it holds Licenses back).
        self.expected.append(("Error", "Licenses", f"{_letter(index)}1"))

    def extra_column(self) -> None:
        self.book.sheets["Licenses"][0].append("Staff Notes")
        for line in self.book.sheets["Licenses"][1:]:
            line.append(self.draw(st.sampled_from(["ok", "=not a formula", None, 12])))

    def bad_appeal(self) -> None:
        value = self.draw(st.sampled_from(["Maybe", "Approve", ""]))
        index = self.book.column("Appeals", "Decision")
        self.book.sheets["Appeals"][1][index] = value or None
        self.expected.append(("Error", "Appeals", f"{_letter(index)}2"))

    def bad_setting(self) -> None:
        self.book.sheets["Settings"][1][1] = self.draw(st.sampled_from(["31/12/2026", "soon"]))
        self.expected.append(("Error", "Settings", "B2"))


def _letter(index: int) -> str:
    return letter(index)


# Header mutations come last: they do not move cells, and rows planted earlier stay valid.
ROW_PLANTS = [
    Plant.bad_date,
    Plant.text_in_number,
    Plant.bad_population,
    Plant.duplicate_id,
    Plant.unknown_organization,
    Plant.unknown_license_type,
    Plant.unknown_region,
    Plant.yes_no,
    Plant.spaces_and_case,
    Plant.formula_without_value,
    Plant.error_value,
    Plant.merged_cells,
    Plant.blank_row,
    Plant.blank_required,
    Plant.injection,
    Plant.long_text,
    Plant.bad_appeal,
    Plant.bad_setting,
]
LATE_PLANTS = [Plant.data_without_header, Plant.near_miss_header, Plant.extra_column]


@pytest.mark.stress
@fuzz(700)
@given(data=st.data())
def test_every_planted_bad_cell_is_reported_at_its_cell(data: st.DataObject) -> None:
    book = base_book(data.draw(st.integers(4, 10), label="licenses"))
    plant = Plant(book, data.draw)
    for action in data.draw(st.lists(st.sampled_from(ROW_PLANTS), min_size=1, max_size=5)):
        action(plant)
    for action in data.draw(st.lists(st.sampled_from(LATE_PLANTS), max_size=2, unique=True)):
        action(plant)
    with tempfile.TemporaryDirectory() as folder:
        path = book.write(Path(folder) / "bad.xlsx")
        recalc_and_check(path, plant.finish())
        assert check_package(path) == []


# ----------------------------------------------------------- anything at all

ANY_VALUE = st.one_of(
    st.none(),
    st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn")), max_size=30),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.dates(dt.date(1900, 3, 1), dt.date(9999, 12, 31)),
    st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(9999, 12, 31)),
    st.sampled_from(INJECTIONS + YES_SPELLINGS + BAD_DATES[:7]),
    st.builds(Formula, st.sampled_from(["1+1", "NOW()", "Z99"])),
    st.builds(ErrorValue, st.sampled_from(["#N/A", "#DIV/0!", "#NAME?"])),
)


@pytest.mark.stress
@fuzz(700)
@given(data=st.data())
def test_any_cells_and_any_structure_never_crash(data: st.DataObject) -> None:
    book = base_book(data.draw(st.integers(0, 8), label="licenses"))
    names = list(book.sheets)
    for _ in range(data.draw(st.integers(0, 12), label="cells")):
        sheet = data.draw(st.sampled_from(names))
        rows = book.sheets[sheet]
        r = data.draw(st.integers(0, len(rows) + 1))
        c = data.draw(st.integers(0, 16))
        while len(rows) <= r:
            rows.append([])
        while len(rows[r]) <= c:
            rows[r].append(None)
        rows[r][c] = data.draw(ANY_VALUE)
    structure = data.draw(
        st.lists(
            st.sampled_from(["drop sheet", "drop header", "rename sheet", "swap", "merge"]),
            max_size=3,
        )
    )
    for change in structure:
        sheet = data.draw(st.sampled_from(list(book.sheets)))
        rows = book.sheets[sheet]
        if change == "drop sheet" and len(book.sheets) > 1:
            del book.sheets[sheet]
        elif change == "drop header" and rows and rows[0]:
            rows[0][data.draw(st.integers(0, len(rows[0]) - 1))] = None
        elif change == "rename sheet":
            book.sheets[f" {sheet.upper()} "] = book.sheets.pop(sheet)
        elif change == "swap" and len(rows) > 2:
            rows[1], rows[-1] = rows[-1], rows[1]
        elif change == "merge":
            top = data.draw(st.integers(1, 8))
            span = (
                f"A{top}:{data.draw(st.sampled_from('ABCDEF'))}{top + data.draw(st.integers(0, 2))}"
            )
            if span.split(":")[0] != span.split(":")[1]:
                book.merges.setdefault(sheet, []).append(span)
    with tempfile.TemporaryDirectory() as folder:
        path = book.write(Path(folder) / "any.xlsx")
        recalc_and_check(path)
        assert check_package(path) == []


# --------------------------------------------------------- files that are not workbooks


@pytest.fixture(scope="module")
def good_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = base_book().write(tmp_path_factory.mktemp("good") / "good.xlsx")
    return path.read_bytes()


DAMAGE = ["truncate", "flip", "garbage", "zip of junk"]
# The shapes of issue 11: files a few KB long that a reader library must never be given.
CRAFTED = ["far cell", "dimension", "odd date", "row twice", "doctype", "bomb", "alias"]


@fuzz(300)
@given(data=st.data())
def test_damaged_files_exit_2_and_stay_as_they_were(data: st.DataObject, good_bytes: bytes) -> None:
    damage = data.draw(st.sampled_from(DAMAGE + CRAFTED))
    raw = bytearray(good_bytes)
    if damage in CRAFTED:
        raw = bytearray(_crafted(damage, good_bytes, data.draw))
    elif damage == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    elif damage == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            position = data.draw(st.integers(0, len(raw) - 1))
            raw[position] ^= data.draw(st.integers(1, 255))
    elif damage == "garbage":
        raw = bytearray(data.draw(st.binary(max_size=2000)))
    else:
        with tempfile.TemporaryDirectory() as folder:
            junk = Path(folder) / "j.zip"
            with zipfile.ZipFile(junk, "w") as archive:
                for name in data.draw(
                    st.lists(
                        st.sampled_from(
                            ["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "a.txt"]
                        ),
                        unique=True,
                    )
                ):
                    archive.writestr(name, data.draw(st.binary(max_size=200)))
            raw = bytearray(junk.read_bytes())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.xlsx"
        path.write_bytes(bytes(raw))
        code, _out, err = run_cli(["recalc", str(path), "--as-of", AS_OF])
        assert "Traceback" not in err and "internal error" not in err, err
        if code == 2:
            assert path.read_bytes() == bytes(raw), "a refused workbook must not change"
            assert "hmis-licensing: " in err
        else:  # the damage missed what is read: the file is written, and no worse
            assert code in (0, 1)
            assert _damaged_members(path) <= _damaged_members_of(bytes(raw))
        assert not [p for p in Path(folder).iterdir() if p.name != "damaged.xlsx"]


def _crafted(damage: str, good: bytes, draw: Callable[..., object]) -> bytes:
    """The good workbook with one of issue 11's shapes put into a sheet or part of it."""
    from tests.crafted import RawMember, deflate_bomb, members_of, raw_zip, rewrite

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "crafted.xlsx"
        path.write_bytes(good)
        parts = sheet_part_names(path)
        sheet = parts[draw(st.sampled_from(sorted(parts)))]
        if damage == "bomb":
            name = draw(st.sampled_from(sorted(raw_members(path))))
            mebibytes = draw(st.integers(1, 64))
            declared = draw(st.sampled_from([mebibytes * 2**20, 1000]))
            members = [
                m if m.name != name else RawMember(name, deflate_bomb(mebibytes), declared)
                for m in members_of(path)
            ]
            raw_zip(path, members)
            return path.read_bytes()
        edit = _xml_edit(damage, draw)
        if damage == "alias":
            rewrite(path, {"xl/_rels/workbook.xml.rels": edit(sheet.split("/", 1)[1])})
            rewrite(path, {"xl/workbook.xml": _alias_sheet})
        else:
            rewrite(path, {sheet: edit})
        return path.read_bytes()


def _xml_edit(damage: str, draw: Callable[..., object]) -> Callable:  # type: ignore[type-arg]
    import re

    if damage == "far cell":
        ref = draw(st.sampled_from(["XFD1048576", "AMJ1048576", "A1048576", "N5000000", "B9"]))
        row = re.sub("[A-Z]", "", ref)
        cell = f'<row r="{row}"><c r="{ref}"><v>1</v></c></row>'.encode()
        return lambda xml: xml.replace(b"</sheetData>", cell + b"</sheetData>")
    if damage == "dimension":
        claim = draw(st.sampled_from([b"A1:XFD1048576", b"A1:B2", b"ZZZZ9", b""]))
        return lambda xml: re.sub(
            rb'<dimension ref="[^"]*"', b'<dimension ref="' + claim + b'"', xml
        )
    if damage == "odd date":
        number = draw(st.sampled_from([b"-1e308", b"-1", b"nan", b"inf", b"1e308", b"-0"]))
        return lambda xml: re.sub(
            rb'(<c r="[A-Z]+\d+" s="1" t="n"><v>)[^<]*', rb"\g<1>" + number, xml, count=1
        )
    if damage == "row twice":
        return lambda xml: re.sub(rb'(<row r="2".*?</row>)', rb"\1\1", xml, count=1, flags=re.S)
    if damage == "doctype":
        at = draw(st.integers(0, 10_000))
        return lambda xml: xml[: at % (len(xml) + 1)] + b"<!DOCTYPE x>" + xml[at % (len(xml) + 1) :]
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

    def alias(target: str) -> Callable[[bytes], bytes]:
        link = f'<Relationship Id="rIdAlias" Type="{rel}/worksheet" Target="{target}"/>'
        return lambda xml: xml.replace(b"</Relationships>", link.encode() + b"</Relationships>")

    return alias


def _alias_sheet(xml: bytes) -> bytes:
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    sheet = f'<sheet name="Problems" sheetId="99" r:id="rIdAlias" xmlns:r="{rel}"/>'
    return xml.replace(b"</sheets>", sheet.encode() + b"</sheets>")


def _damaged_members_of(data: bytes) -> set[str]:
    import io

    damaged = set()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            try:
                archive.read(info)
            except Exception:  # any failure to unpack counts as damage
                damaged.add(info.filename)
    return damaged


def _damaged_members(path: Path) -> set[str]:
    return _damaged_members_of(path.read_bytes())


# ------------------------------------------------------------ unit: each bad kind


def _problems_for(book: Book, tmp_path: Path) -> list[dict[str, object]]:
    return recalc_and_check(book.write(tmp_path / "b.xlsx"))


def test_missing_sheet_and_missing_column_name_a_cell(tmp_path: Path) -> None:
    book = base_book()
    del book.sheets["Organizations"]
    headers = book.sheets["Licenses"][0]
    headers[headers.index("Granted On")] = "Grant Date"
    problems = _problems_for(book, tmp_path)
    cells = {(p["Sheet"], p["Cell"]): p for p in problems}
    assert cells[("Organizations", "A1")]["Problem"] == "The workbook has no Organizations sheet."
    missing = cells[("Licenses", "H1")]
    assert missing["Problem"] == 'The Licenses sheet has no "Granted On" column.'
    assert 'Column H is headed "Grant Date"' in str(missing["How To Fix"])


def test_headers_below_a_title_row_are_pointed_out(tmp_path: Path) -> None:
    book = base_book()
    book.sheets["Regions"].insert(0, ["Balance of State regions", None])
    problems = _problems_for(book, tmp_path)
    fixes = [str(p["How To Fix"]) for p in problems if p["Sheet"] == "Regions"]
    assert fixes and all("The headers seem to be in row 2" in f for f in fixes)


def test_ambiguous_and_impossible_dates_say_what_they_could_be(tmp_path: Path) -> None:
    book = base_book()
    book.set("Licenses", 2, "Granted On", "03/04/2026")
    book.set("Licenses", 3, "Granted On", "13/02/2026")
    book.set("Licenses", 4, "Granted On", "3/4/26")
    book.set("Licenses", 5, "Granted On", 2026)
    book.set("Licenses", 6, "Granted On", "2026-02-30")
    fixes = {p["Cell"]: (p["Problem"], p["How To Fix"]) for p in _problems_for(book, tmp_path)}
    assert "2026-03-04 (month first) or 2026-04-03 (day first)" in str(fixes["H2"][1])
    assert "if you meant 2026-02-13 (day first)" in str(fixes["H3"][1])
    assert "two-digit year" in str(fixes["H4"][1])
    assert "2026 is a number, not a date (as an Excel date number it would be 1905-07-18)" in str(
        fixes["H5"][0]
    )
    assert "no such day" in str(fixes["H6"][0])


def test_yes_no_in_many_spellings(tmp_path: Path) -> None:
    book = base_book(len(YES_SPELLINGS) + len(NO_SPELLINGS))
    for row, value in enumerate(YES_SPELLINGS + NO_SPELLINGS, start=2):
        book.set("Licenses", row, "Level 4 List Holder", value)
        book.set("Licenses", row, "Last Client Data Entry", dt.date(2020, 1, 1))
    problems = _problems_for(book, tmp_path)
    assert not [p for p in problems if p["Severity"] == "Error"], problems
    from tests.conftest import sheet_dicts

    report = {r["License ID"]: r for r in sheet_dicts(tmp_path / "b.xlsx", "Inactivity Report")}
    for row, value in enumerate(YES_SPELLINGS + NO_SPELLINGS, start=2):
        exempt = "§1.E2" in str(report[f"L-{row - 1}"]["Exception"] or "")
        assert exempt == (value in YES_SPELLINGS), (value, report[f"L-{row - 1}"])


def test_names_match_whatever_their_case_and_spaces(tmp_path: Path) -> None:
    book = base_book()
    book.set("Licenses", 2, "Organization", "  org b ")
    book.set("Licenses", 3, "Organization", "ORG C")
    book.set("Licenses", 4, "Organization", "Org\u00a0A")
    assert _problems_for(book, tmp_path) == []


def _without_title(path: Path, part: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        xml = archive.read(part)
    return re.sub(rb'<row r="1"[^>]*>.*?</row>', b"", xml, count=1)


def test_result_sheets_are_untouched_when_input_has_errors(tmp_path: Path) -> None:
    path = base_book().write(tmp_path / "b.xlsx")
    assert run_cli(["recalc", str(path), "--as-of", AS_OF])[0] == 0
    parts = sheet_part_names(path)
    book = base_book()
    book.set("Licenses", 1, "Granted On", "Grant Date")  # a required column goes missing
    # Same workbook, now with an error that holds back every sheet needing Licenses (SPEC
    # §3): rewrite only the Licenses part, and those results keep their bytes.
    bad = book.write(tmp_path / "bad.xlsx")
    with zipfile.ZipFile(bad) as source:
        licenses_xml = source.read(sheet_part_names(bad)["Licenses"])
    _replace_member(path, parts["Licenses"], licenses_xml)
    before = raw_members(path)
    earlier = Path(shutil.copy(path, tmp_path / "before.xlsx"))
    assert run_cli(["recalc", str(path), "--as-of", AS_OF])[0] == 1
    after = raw_members(path)
    for name in ("Allotments", "Inactivity Report", "Revocations"):
        # Held back (SPEC §3): every byte kept but the title line, which says why.
        assert _without_title(path, parts[name]) == _without_title(earlier, parts[name])
        with zipfile.ZipFile(path) as archive:
            assert f"HELD BACK as of {AS_OF} (the Licenses sheet has no".encode() in (
                archive.read(parts[name])
            )
    assert after[parts["Problems"]] != before[parts["Problems"]]


def _replace_member(path: Path, name: str, data: bytes) -> None:
    temporary = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(temporary, "w") as target:
        for info in source.infolist():
            content = data if info.filename == name else source.read(info)
            target.writestr(info, content, compress_type=zipfile.ZIP_DEFLATED)
    temporary.replace(path)


# --------------------------------------------------------------- injection


def test_injection_strings_round_trip_as_text_everywhere(tmp_path: Path) -> None:
    import openpyxl
    import python_calamine

    book = base_book(len(INJECTIONS))
    for row, text in enumerate(INJECTIONS, start=2):
        book.set("Licenses", row, "User", text)
        book.set("Licenses", row, "Last Client Data Entry", dt.date(2020, 1, 1))
    path = book.write(tmp_path / "inject.xlsx")
    recalc_and_check(path)
    expected = {f"L-{n}": " ".join(t.split()) for n, t in enumerate(INJECTIONS, start=1)}
    sheet = openpyxl.load_workbook(path)["Inactivity Report"]
    for row in sheet.iter_rows(min_row=3):  # below the title line and the header
        assert row[1].data_type == "s", row[1].value
        assert row[1].value == expected[row[0].value]
    calamine = python_calamine.CalamineWorkbook.from_path(str(path))
    rows = calamine.get_sheet_by_name("Inactivity Report").to_python()[2:]
    assert {r[0]: r[1] for r in rows} == expected
    with zipfile.ZipFile(path) as archive:
        part = sheet_part_names(path)["Inactivity Report"]
        assert b"<f>" not in archive.read(part) and b"<f " not in archive.read(part)


# ------------------------------------------------------------------ policy


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "anchors and aliases"),
        ("schema_version: !!python/object/apply:os.system ['true']\n", "python/object"),
        ("[" * 5000 + "]" * 5000, ""),
        ("schema_version: 1\nschema_version: 1\n", "written twice"),
        ("x: " + "y" * 2_000_000 + "\n", "bytes"),
    ],
)
def test_unsafe_policies_are_refused_with_exit_2(tmp_path: Path, text: str, says: str) -> None:
    book = base_book().write(tmp_path / "b.xlsx")
    policy = tmp_path / "policy.yaml"
    policy.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    code, _out, err = run_cli(["recalc", str(book), "--policy", str(policy)])
    assert time.perf_counter() - started < 30  # refused, not expanded
    assert code == 2 and "Traceback" not in err and "internal error" not in err
    assert says in err
    assert any(str(p["Sheet"]) == "policy.yaml" for p in problems_of(book))


# ----------------------------------------------------- unreadable, locked, owned


@pytest.fixture
def book_path(tmp_path: Path) -> Path:
    return base_book().write(tmp_path / "shared.xlsx")


def _unchanged_after(path: Path, argv: list[str]) -> str:
    before = path.read_bytes() if path.exists() else None
    code, _out, err = run_cli(argv)
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err
    assert (path.read_bytes() if path.exists() else None) == before
    return err


def test_workbook_open_in_excel_is_not_written(book_path: Path) -> None:
    owner = book_path.with_name(f"~${book_path.name}")
    owner.write_bytes(bytes([9]) + b"Pat Smith" + b" " * 45 + b"\x00" * 110)
    err = _unchanged_after(book_path, ["recalc", str(book_path)])
    assert "is open in Excel, by Pat Smith" in err and "close" in err.lower()
    assert run_cli(["check", str(book_path)])[0] == 0  # reading is fine
    owner.unlink()
    assert run_cli(["recalc", str(book_path)])[0] == 0


def test_workbook_open_in_libreoffice_is_not_written(book_path: Path) -> None:
    lock = book_path.with_name(f".~lock.{book_path.name}#")
    lock.write_text("Robin Lee,host,robin,24.11.2026 10:00,file:///x;\n", encoding="utf-8")
    err = _unchanged_after(book_path, ["recalc", str(book_path)])
    assert "is open in LibreOffice, by Robin Lee" in err


def test_read_only_workbook_is_not_written(book_path: Path) -> None:
    book_path.chmod(0o444)
    try:
        err = _unchanged_after(book_path, ["recalc", str(book_path)])
        assert "is read-only" in err
    finally:
        book_path.chmod(0o644)


def test_missing_not_a_workbook_and_password_protected(tmp_path: Path) -> None:
    assert "no such file" in _unchanged_after(
        tmp_path / "none.xlsx",
        ["recalc", "x"] * 0
        + [
            "recalc",
            str(tmp_path / "none.xlsx"),
        ],
    )
    text = tmp_path / "notes.xlsx"
    text.write_text("not a workbook")
    assert "is not an Excel workbook" in _unchanged_after(text, ["recalc", str(text)])
    protected = tmp_path / "secret.xlsx"
    protected.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000))
    assert "password-protected" in _unchanged_after(protected, ["recalc", str(protected)])
    docx = tmp_path / "letter.xlsx"
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
            "</Relationships>",
        )
        archive.writestr("word/document.xml", "<document/>")
    assert "xlsx" in _unchanged_after(docx, ["recalc", str(docx)])


def test_a_running_recalculation_holds_the_lock(book_path: Path) -> None:
    lock = lock_path(book_path)
    record = {"pid": os.getpid(), "host": _hostname(), "started": "now"}
    lock.write_text(json.dumps(record), encoding="utf-8")
    try:
        err = _unchanged_after(book_path, ["recalc", str(book_path)])
        assert "another recalculation is running" in err and str(os.getpid()) in err
    finally:
        lock.unlink()


def _hostname() -> str:
    import socket

    return socket.gethostname()


def test_a_lock_left_by_a_dead_process_is_taken_over(book_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    lock = lock_path(book_path)
    record = {"pid": int(dead.stdout), "host": _hostname(), "started": "then"}
    lock.write_text(json.dumps(record), encoding="utf-8")
    leftover = book_path.with_name(f".{book_path.name}.abc123{TEMP_SUFFIX}")
    leftover.write_bytes(b"half a workbook")
    assert run_cli(["recalc", str(book_path), "--as-of", AS_OF])[0] == 0
    assert not lock.exists() and not leftover.exists()


def test_an_old_lock_from_another_computer_is_taken_over(book_path: Path) -> None:
    lock = lock_path(book_path)
    lock.write_text('{"pid": 1, "host": "elsewhere", "started": "then"}', encoding="utf-8")
    old = time.time() - 3600
    os.utime(lock, (old, old))
    assert run_cli(["recalc", str(book_path), "--as-of", AS_OF])[0] == 0
    assert not lock.exists()


def test_an_old_lock_that_is_not_text_is_taken_over(book_path: Path) -> None:
    lock = lock_path(book_path)
    lock.write_bytes(b"\xff\xfe{{{")
    old = time.time() - 3600
    os.utime(lock, (old, old))
    assert run_cli(["recalc", str(book_path), "--as-of", AS_OF])[0] == 0
    assert not lock.exists()


def _stand_in(path: Path, kind: str) -> Path:
    """A FIFO (a read would wait forever) or a link to /dev/zero (it never ends) at `path`."""
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    return path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs")
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_pipe_or_device_in_the_lock_s_place_is_refused_at_once(
    book_path: Path, kind: str
) -> None:
    """A FIFO would block the lock's read forever, /dev/zero would fill memory: either
    is refused by name, exit 2, without waiting."""
    lock = _stand_in(lock_path(book_path), kind)
    try:
        err = _unchanged_after(book_path, ["recalc", str(book_path), "--as-of", AS_OF])
        assert "is not a lock file" in err and f"Delete {lock}" in err
    finally:
        lock.unlink()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs")
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_pipe_or_device_as_excel_s_owner_file_is_not_read(book_path: Path, kind: str) -> None:
    """Excel's owner file (~$book.xlsx) is read for the user's name: a FIFO or /dev/zero
    in its place says the workbook is open, without hanging or filling memory."""
    owner = _stand_in(book_path.with_name(f"~${book_path.name}"), kind)
    try:
        err = _unchanged_after(book_path, ["recalc", str(book_path), "--as-of", AS_OF])
        assert "is open in Excel" in err
    finally:
        owner.unlink()


def test_an_output_name_too_long_for_the_file_system_is_refused_plainly(
    tmp_path: Path, book_path: Path
) -> None:
    output = tmp_path / ("a" * 300 + ".xlsx")
    err = _unchanged_after(
        book_path, ["recalc", str(book_path), "--as-of", AS_OF, "--output", str(output)]
    )
    assert "cannot be written (File name too long)" in err


@pytest.mark.skipif(shutil.which("sh") is None, reason="a POSIX shell closes the streams")
@pytest.mark.parametrize("closed", [">&-", ">&- 2>&-"])
def test_a_closed_stdout_still_runs_the_command(
    tmp_path: Path, book_path: Path, closed: str
) -> None:
    """`recalc ... >&-` (Python then has no sys.stdout): the run still recalculates and
    exits 0, and `sample` writes its copy and says nothing false about it."""
    before = book_path.read_bytes()
    copy = tmp_path / "copy.xlsx"
    script = (
        f'"$0" -m workbook.cli recalc "$1" --as-of {AS_OF} {closed} || exit $?;'
        f' "$0" -m workbook.cli sample "$2" {closed}'
    )
    done = subprocess.run(
        ["sh", "-c", script, sys.executable, str(book_path), str(copy)],
        env=_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "internal error" not in done.stderr
    assert book_path.read_bytes() != before and copy.is_file()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="/dev/full")
def test_an_output_that_refuses_writes_is_a_plain_error(book_path: Path) -> None:
    """`recalc X > /dev/full`: exit 2 with what happened and what to do, not an internal
    error; with --json (printed after the save) it also says the workbook was saved."""
    for extra, saved in ((["--as-of", AS_OF], False), (["--as-of", AS_OF, "--json"], True)):
        with open("/dev/full", "w", encoding="utf-8") as full:
            done = subprocess.run(
                [sys.executable, "-m", "workbook.cli", "recalc", str(book_path), *extra],
                env=_environment(),
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                check=False,
            )
        assert done.returncode == 2
        assert "the output could not be written (No space left on device)" in done.stderr
        assert "internal error" not in done.stderr
        assert ("had already been saved" in done.stderr) is saved


def test_a_failed_save_leaves_the_original_intact(
    book_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: the disk fills up at the moment of the final rename."""
    import errno

    def full_disk(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    before = book_path.read_bytes()
    monkeypatch.setattr(os, "replace", full_disk)
    code, _out, err = run_cli(["recalc", str(book_path), "--as-of", AS_OF])
    monkeypatch.undo()
    assert code == 2 and "the disk is full" in err and "not changed" in err
    assert book_path.read_bytes() == before
    assert sorted(p.name for p in book_path.parent.iterdir()) == [book_path.name]


# ----------------------------------------------- two at once, and SIGKILL mid-run

_CLI = [sys.executable, "-c", "import sys; from workbook.cli import main; sys.exit(main())"]


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def test_two_recalculations_at_once_never_interleave(tmp_path: Path) -> None:
    path = Path(shutil.copy(SAMPLE, tmp_path / "shared.xlsx"))
    finished = 0
    for _ in range(4):
        runs = [
            subprocess.Popen(
                [*_CLI, "recalc", str(path), "--as-of", AS_OF],
                env=_environment(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        for run in runs:
            _out, err = run.communicate(timeout=120)
            assert run.returncode in (0, 2), err
            if run.returncode == 2:
                assert "another recalculation is running" in err, err
            else:
                finished += 1
    from tests.conftest import sheet_dicts

    assert finished >= 4
    assert len(sheet_dicts(path, "Run Log")) == finished  # not one row lost or doubled
    assert check_package(path) == []


def _big_workbook(path: Path, licenses: int) -> Path:
    book = base_book(licenses)
    for row in book.sheets["Licenses"][1:]:
        row[LICENSE_HEADERS.index("Granted On")] = dt.date(2024, 1, 1)
        row[LICENSE_HEADERS.index("First Sign-In")] = dt.date(2024, 1, 2)
    return book.write(path)


def _assert_whole_and_inputs_kept(path: Path, inputs: dict[str, bytes]) -> None:
    import python_calamine

    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    for name in book.sheet_names:
        book.get_sheet_by_name(name).to_python()
    book.close()
    assert input_parts(path) == inputs


@pytest.mark.stress
def test_sigkill_at_any_moment_leaves_a_whole_workbook(tmp_path: Path) -> None:
    path = _big_workbook(tmp_path / "shared.xlsx", 3000)
    inputs = input_parts(path)
    started = time.perf_counter()
    first = subprocess.run(
        [*_CLI, "recalc", str(path), "--as-of", AS_OF],
        env=_environment(),
        capture_output=True,
        check=False,
    )
    full = time.perf_counter() - started
    assert first.returncode == 0, first.stderr
    rng = random.Random(20261124)
    kills = int(os.environ.get("HMIS_KILL_RUNS", "24"))
    completed = 0
    for _ in range(kills):
        run = subprocess.Popen(
            [*_CLI, "recalc", str(path), "--as-of", AS_OF],
            env=_environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.0, full * 1.1))
        run.send_signal(signal.SIGKILL)
        run.wait()
        completed += run.returncode == 0
        _assert_whole_and_inputs_kept(path, inputs)
    # Killed runs leave their lock and temporary files; the next run clears them.
    final = subprocess.run(
        [*_CLI, "recalc", str(path), "--as-of", AS_OF], env=_environment(), capture_output=True
    )
    assert final.returncode == 0, final.stderr
    _assert_whole_and_inputs_kept(path, inputs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared.xlsx"]
    assert completed < kills  # most runs really were killed mid-way


_PAUSED_SAVE = textwrap.dedent(
    """
    import os, sys, time
    from workbook.xlsx import safesave
    point = sys.argv.pop(1)
    if point == "before-replace":
        real_replace = os.replace
        def slow_replace(*args):
            print("paused", flush=True); time.sleep(60); real_replace(*args)
        os.replace = slow_replace
    else:
        real_fsync = os.fsync
        def slow_fsync(handle):
            print("paused", flush=True); time.sleep(60); real_fsync(handle)
        os.fsync = slow_fsync
    from workbook.cli import main
    sys.exit(main())
    """
)


@pytest.mark.parametrize("point", ["while-writing", "before-replace"])
def test_sigkill_during_the_save_itself(tmp_path: Path, point: str) -> None:
    """Kill exactly inside the save: the temporary file is written, the old file remains."""
    path = _big_workbook(tmp_path / "shared.xlsx", 200)
    before = path.read_bytes()
    run = subprocess.Popen(
        [sys.executable, "-c", _PAUSED_SAVE, point, "recalc", str(path), "--as-of", AS_OF],
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert run.stdout is not None
    for line in run.stdout:
        if line.strip() == "paused":
            break
    temporaries = [p for p in tmp_path.iterdir() if p.name.endswith(TEMP_SUFFIX)]
    assert temporaries, "the save had started"
    run.send_signal(signal.SIGKILL)
    run.wait()
    run.stdout.close()
    assert path.read_bytes() == before
    assert lock_path(path).exists()  # left behind, and taken over by the next run
    assert run_cli(["recalc", str(path), "--as-of", AS_OF])[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared.xlsx"]
    assert not any(p.name.endswith(LOCK_SUFFIX) for p in tmp_path.iterdir())


@fuzz(200)
@given(
    cells=st.lists(
        st.tuples(
            st.integers(1, 40),
            st.integers(1, 8),
            st.one_of(
                st.builds(Formula, st.sampled_from(["1+1", "A1", 'IF(1,"a","")'])),
                st.builds(ErrorValue, st.sampled_from(["#N/A", "#REF!"])),
                st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn")), max_size=5),
                st.integers(),
            ),
        ),
        max_size=30,
    )
)
def test_the_quick_scan_finds_what_the_thorough_scan_finds(
    cells: list[tuple[int, int, object]],
) -> None:
    from workbook.xlsx.read import _scan_every_cell, unusable_cells

    rows: list[list[object]] = [["Header"]]
    for row, column, value in cells:
        while len(rows) <= row:
            rows.append([])
        while len(rows[row]) <= column:
            rows[row].append(None)
        rows[row][column] = value
    with tempfile.TemporaryDirectory() as folder:
        path = Book({"Sheet": rows}).write(Path(folder) / "f.xlsx")
        with zipfile.ZipFile(path) as archive:
            xml = archive.read("xl/worksheets/sheet1.xml")
    quick = [(r, c, e.problem) for r, c, e in unusable_cells(xml)]
    assert quick == [(r, c, e.problem) for r, c, e in _scan_every_cell(xml)]
    planted = {
        (r, c)
        for r, line in enumerate(rows)
        for c, v in enumerate(line)
        if isinstance(v, Formula | ErrorValue)
    }
    assert {(r, c) for r, c, _ in quick} == planted
