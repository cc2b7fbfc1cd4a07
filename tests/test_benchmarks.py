"""The performance work changes nothing a user can see: the same results, the same cells.

* The benchmark script runs on a tiny workbook and prints its table (no time is asserted
  anywhere in the suite: benchmarks print figures).
* The optimized engine gives exactly what the engine gave before it was optimized
  (tests/reference_engine, a frozen copy), on generated workbooks of every shape
  (benchmarks/generate.py, seeded by hypothesis) and on the inactivity rules' own
  strategy (tests/test_inactivity.py's `license_rows`).
* The 100,000-license workbook, recalculated through the fast path (python-calamine and
  the zip writer), holds the result sheets that an independent openpyxl reading of the
  same inputs gives (`stress`: it takes minutes).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import engine
import tests.reference_engine as reference
from benchmarks.generate import LICENSE_TYPES, history_rows, input_rows
from engine.model import AppealRow, Inputs, IntakeRow, LicenseRow, Policy, name_key
from tests.test_inactivity import license_rows
from workbook.layout import FINDINGS_HISTORY, HISTORY_INPUT, LICENSES, InputSheet
from workbook.tables import WorkbookSnapshot, read_inputs

REPO = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2026, 11, 24)


def test_the_benchmark_prints_its_table(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "run.py"),
            "--sizes",
            "40",
            "--runs",
            "1",
            "--excel-licenses",
            "40",
            "--work",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "### 40 licenses" in out
    assert "| process | wall s, median (min-max) | peak MiB, median |" in out
    recalc = next(line for line in out.splitlines() if line.startswith("| recalc |"))
    wall, peak = (cell.strip() for cell in recalc.strip("|").split("|")[1:])
    assert float(wall) > 0 and float(peak) > 0
    phases = next(line for line in out.splitlines() if line.startswith("Phases inside one recalc"))
    assert "collector paused as recalc runs): import " in phases
    assert all(f"{phase} " in phases for phase in ("read: cells", "engine", "layout", "write"))
    assert "engine.recalculate alone" in out
    assert "`hmis-licensing --version` (whole process, s):" in out
    assert "| recalc, next month |" in out  # the workbook as it is after last month's run
    if Path("/work/shared/bench/floor.py").exists():
        assert "| recalc / floor |" in out
        assert "| recalc, next month / floor, next month |" in out
    else:
        assert "floor.py is not here" in out


# ------------------------------------------------------------------ the same engine


def _grid(spec: InputSheet, rows: Sequence[dict[str, object]]) -> list[list[object]]:
    header = [c.header for c in spec.columns]
    return [header, *([r.get(c.field) for c in spec.columns] for r in rows)]


@functools.cache
def _generated(licenses: int, seed: int) -> Inputs:
    """A generated workbook's inputs, read by the product's table reader from its grids."""
    sheets = input_rows(licenses, seed=seed)
    grids = {spec.name: _grid(spec, rows) for spec, rows in sheets.items()}
    history = [[c.header for c in HISTORY_INPUT.columns]]
    for _entry, rows in history_rows(sheets[LICENSES], seed=seed):
        history += [list(row) for row in rows]
    grids[FINDINGS_HISTORY.name] = history
    read = read_inputs(WorkbookSnapshot(grids))
    return read.inputs


def _same(policy: Policy, inputs: Inputs, as_of: dt.date) -> None:
    optimized = engine.recalculate(policy, inputs, as_of)
    before = reference.recalculate(policy, inputs, as_of)  # type: ignore[arg-type]
    # The two engines' classes have the same names and fields: their reprs say it all.
    assert repr(optimized) == repr(before)


def test_a_recalc_loads_only_what_it_uses(tmp_path: Path) -> None:
    """Start-up is part of every run: with its policy remembered as checked, `recalc`
    imports neither the YAML parser nor jsonschema, nor what only other commands use (the
    e-mail package for notices, reportlab for packets, openpyxl for init and sample)."""
    unused = ("yaml", "jsonschema", "email", "reportlab", "openpyxl", "xlwings")
    book = tmp_path / "book.xlsx"
    book.write_bytes(
        (REPO / "workbook" / "sample" / "MoBoS-HMIS-Licensing-sample.xlsx").read_bytes()
    )
    code = (
        "import sys; from workbook.cli import main; rc = main(sys.argv[1:]);"
        f" print(' '.join(m for m in {unused!r} if m in sys.modules) or '-'); sys.exit(rc)"
    )
    env = {**os.environ, "HMIS_LICENSING_CACHE": str(tmp_path / "cache")}
    loaded = []
    for _ in range(2):  # the first run checks the policy and records that it passed
        done = subprocess.run(
            [sys.executable, "-c", code, "recalc", str(book), "--as-of", "2026-11-24"],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            check=False,
        )
        assert done.returncode in (0, 1), done.stderr
        loaded.append(done.stdout.strip().splitlines()[-1])
    assert loaded[0] == "yaml jsonschema"
    assert loaded[1] == "-"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    licenses=st.sampled_from([12, 40, 150, 400]),
    seed=st.integers(0, 20),
    as_of=st.dates(dt.date(2025, 6, 1), dt.date(2027, 6, 30)),
)
def test_the_engine_gives_what_it_gave_before_on_generated_workbooks(
    adopted: Policy, licenses: int, seed: int, as_of: dt.date
) -> None:
    _same(adopted, _generated(licenses, seed), as_of)


@pytest.mark.parametrize("setting", ["As Of", "Next Review"])
def test_the_engine_holds_back_for_an_unreadable_setting_as_its_reference_does(
    adopted: Policy, setting: str
) -> None:
    why = f"the Settings sheet's {setting} could not be read (see Problems)"
    inputs = dataclasses.replace(_generated(40, 3), unreadable_settings={setting: why})
    _same(adopted, inputs, AS_OF)
    results = engine.recalculate(adopted, inputs, AS_OF)
    assert set(results.held_back.values()) == {why}
    assert "watch_list" in results.held_back and "self_pay_estimates" not in results.held_back
    assert (results.next_review is None) == (setting == "Next Review")
    assert (results.history_entries == ()) == (setting == "As Of")


def same_on_generated(licenses: int, seed: int, *dates: str) -> None:
    """`_same` on a generated workbook (run in a child process for the large ones, so that
    the test process stays small: run_limited's peaks must not count it)."""
    from policy import adopted_policy_path, load_policy

    policy = load_policy(adopted_policy_path())
    inputs = _generated(licenses, seed)
    for day in dates:
        _same(policy, inputs, dt.date.fromisoformat(day))


def _in_a_child(call: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"from tests.test_benchmarks import *; {call}"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_engine_gives_what_it_gave_before_on_a_generated_10k_workbook() -> None:
    _in_a_child("same_on_generated(10_000, 7, '2026-11-24', '2026-03-01')")


ORGANIZATIONS = ["Org A", "Org B", "Org C"]
TYPES = [name for name, _ in LICENSE_TYPES]
_dates = st.dates(dt.date(2018, 1, 1), dt.date(2027, 12, 31))


@st.composite
def _appeals(draw: st.DrawFn, licenses: Sequence[LicenseRow]) -> list[AppealRow]:
    found = []
    for number in range(draw(st.integers(0, 6))):
        lic = draw(st.sampled_from(licenses))
        found.append(
            AppealRow(
                appeal_id=f"A-{number}",
                filed_on=draw(_dates),
                organization=lic.organization,
                reason=draw(st.sampled_from(engine.model.APPEAL_REASONS)),
                decision=draw(st.sampled_from(engine.model.DECISIONS)),
                license_id=draw(st.sampled_from([lic.license_id, None])),
                region=draw(st.sampled_from([None, "Region 1", "Region 2"])),
                decided_on=draw(st.none() | _dates),
                last_reviewed_on=draw(st.none() | _dates),
                exception_until=draw(st.none() | _dates),
                licenses_requested=draw(st.none() | st.integers(0, 3)),
                granted_from=draw(st.sampled_from([None, "Region allotment"])),
                row=number + 2,
            )
        )
    return found


@settings(max_examples=150, deadline=None)
@given(data=st.data(), rows=license_rows(), as_of=_dates)
def test_the_engine_gives_what_it_gave_before_on_the_inactivity_strategy(
    adopted: Policy, data: st.DataObject, rows: list[LicenseRow], as_of: dt.date
) -> None:
    places = _generated(12, 0)  # the sample's regions and counties
    licenses = tuple(
        dataclasses.replace(
            r,
            license_type=data.draw(st.sampled_from(TYPES)),
            revoked_by=data.draw(st.sampled_from([None, "HMIS Lead", "CE Lead"])),
            revocation_reason=data.draw(st.sampled_from([None, "Inactivity §1.1", "Other"])),
            client_entries_window=data.draw(st.none() | st.integers(0, 50)),
            row=n + 2,
        )
        for n, r in enumerate(rows)
    )
    inputs = dataclasses.replace(
        places,
        licenses=licenses,
        appeals=tuple(data.draw(_appeals(licenses))),
        history=None,
        intakes=(),
    )
    _same(adopted, inputs, as_of)


# ------------------------------------------------------------ the 100k fast path


def _shown(value: object) -> object:
    """A cell value as openpyxl reads it back, in the result tables' terms."""
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    if value == "":
        return None
    return value


def fast_path_matches_openpyxl(book: str, out: str) -> None:
    """The result sheets `recalc` wrote to `out` hold what an openpyxl reading of `book`'s
    inputs gives, row for row (the appended sheets aside: their times differ)."""
    import openpyxl

    from tests.openpyxl_reference import read_snapshot as openpyxl_snapshot
    from workbook.layout import APPENDED_SHEETS
    from workbook.run import evaluate

    expected = evaluate(
        openpyxl_snapshot(Path(book)),
        workbook_folder=Path(book).parent,
        as_of=AS_OF,
        today=AS_OF,
        now=dt.datetime(2026, 11, 24, 9),
        ran_from="test",
    )
    appended = {s.name for s in APPENDED_SHEETS}
    written = openpyxl.load_workbook(out, read_only=True)
    try:
        checked = 0
        for table in expected.tables:
            if table.sheet.name in appended:
                continue
            rows = written[table.sheet.name].iter_rows(values_only=True)
            assert next(rows)[0] == table.title
            assert list(next(rows)) == list(table.sheet.headers)
            back = [tuple(_shown(v) for v in row) for row in rows]
            want = [tuple(_shown(v) for v in row) for row in table.rows]
            assert back == want, table.sheet.name
            checked += len(want)
    finally:
        written.close()
    assert checked > 100_000, checked


@pytest.mark.stress
def test_100k_licenses_through_the_fast_path_match_an_openpyxl_reading(tmp_path: Path) -> None:
    book, out = tmp_path / "licenses-100k.xlsx", tmp_path / "recalculated.xlsx"
    for argv in (
        [str(REPO / "benchmarks" / "generate.py"), "100k", str(book)],
        ["-m", "workbook.cli", "recalc", str(book), "--output", str(out), "--as-of", "2026-11-24"],
    ):
        done = subprocess.run(
            [sys.executable, *argv], capture_output=True, text=True, cwd=REPO, check=False
        )
        assert done.returncode in (0, 1), done.stderr[-3000:]  # 1: Errors listed, written
    _in_a_child(f"fast_path_matches_openpyxl({str(book)!r}, {str(out)!r})")


_averages = st.floats(0, 60, allow_nan=False)


@settings(max_examples=40, deadline=None)
@example(seed=1, which=0, region="Region 4", averages=(0.0, 0.0, 0.0))  # Region 2 repeated
@given(
    seed=st.integers(0, 20),
    which=st.integers(0, 1000),
    region=st.sampled_from(["Region 1", "region 1 ", "Region 4"]),
    averages=st.tuples(_averages, _averages, _averages),
)
def test_the_engines_agree_on_an_intakes_row_pasted_twice(
    adopted: Policy, seed: int, which: int, region: str, averages: tuple[float, float, float]
) -> None:
    """Two Intakes rows for one organization and region leave that organization's CE
    licenses uncharged (unless a Region is entered on the license) in both engines, and
    hold nothing back (SPEC §3: an Error holds back only what it affects)."""
    inputs = _generated(40, seed)
    ce = [lic for lic in inputs.licenses if lic.license_type == "CE Access Only"]
    organization = ce[which % len(ce)].organization
    intakes = list(inputs.intakes or ())
    for place, average in zip(["Region 1", region, "Region 2"], averages, strict=True):
        intakes.append(IntakeRow(organization, place, average, row=len(intakes) + 2))
    inputs = dataclasses.replace(inputs, intakes=tuple(intakes))
    _same(adopted, inputs, AS_OF)
    results = engine.recalculate(adopted, inputs, AS_OF)
    assert not {"allotments", "ce_charges", "reassignment"} & set(results.held_back)
    mine = [c for c in results.ce_charges if c.organization == organization]
    # The regions the organization now has two rows for (the generated workbook may
    # already hold a row for one of those pasted: Region 2 can be repeated too).
    regions = Counter(name_key(i.region) for i in intakes if i.organization == organization)
    repeated = sorted(r for r, n in regions.items() if n > 1)
    for charge in mine:
        if charge.basis.startswith("Region entered on the license"):
            assert charge.charged_region
        elif repeated:
            assert charge.charged_region is None
            assert "more than one Intakes row for" in charge.basis, charge
        else:
            assert "Most average intakes" in charge.basis or "Tie" in charge.basis, charge
