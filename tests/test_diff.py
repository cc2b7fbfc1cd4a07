"""`hmis-licensing diff`: what a policy change would change, read once and written nowhere."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from policy import adopted_policy_path, load_policy
from tests.conftest import SAMPLE
from workbook.cli import main
from workbook.diff import _md

AS_OF = "2026-11-24"
V = load_policy(adopted_policy_path()).version  # the adopted version (1.0.0 today)
VERSION_LINE = f'version: "{V}"'


def policy_variant(tmp_path: Path, name: str, *pairs: tuple[str, str]) -> Path:
    text = adopted_policy_path().read_text(encoding="utf-8")
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    path = tmp_path / "hmis-licensing.xlsx"
    shutil.copyfile(SAMPLE, path)
    return path


def diff(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str]:
    code = main(["diff", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out


def target_25(tmp_path: Path) -> Path:
    return policy_variant(
        tmp_path,
        "policy.yaml",
        ("target: 20", "target: 25"),
        (VERSION_LINE, 'version: "9.0.0"'),
    )


def test_target_25_moves_region_1_from_4_to_5(
    workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = diff(capsys, workbook, "--policy", target_25(tmp_path), "--as-of", AS_OF)
    assert code == 0
    assert "\n- Region 1: 4 → 5 (formula value 4.10 → 5.13;" in report
    assert "| `ce_allotment.target` | 20 | 25 |" in report
    assert f"| `policy.version` | {V} | 9.0.0 |" in report
    assert "- Total: 23 → 27 (target 20 → 25)" in report
    assert "**Base:** `policy.yaml` (the adopted policy shipped with hmis-licensing)" in report
    assert "**New:** `policy.yaml` version 9.0.0, effective 2025-01-01, SHA-256" in report
    assert f"## Policy diff: {V} → 9.0.0" in report
    assert "0 licenses change finding, exception or eligibility" in report
    # Regions 3 and 6 keep their 2 but no longer by the minimum (1.69 -> 2.11, 1.75 -> 2.18).
    assert "\n- Region 3: 2 (formula value 1.69 → 2.11;" in report
    assert "minimum applied Yes → No)" in report
    assert "| Licenses judged | 140 | 140 |" in report


def test_what_an_error_holds_back_is_not_compared(
    workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SPEC §3: a bad population holds back Allotments and Reassignment; the diff shows no
    allotments worked out without that region (recalc would never write them)."""
    import openpyxl

    book = openpyxl.load_workbook(workbook)
    try:
        book["Regions"]["B3"] = "lots"
        book.save(workbook)
    finally:
        book.close()
    new = target_25(tmp_path)
    code, report = diff(capsys, workbook, "--policy", new, "--as-of", AS_OF)
    assert code == 1
    assert "### Allotments (§2, §3): held back" in report
    assert "### Reassignment (§4): held back" in report
    assert "Region 1: 4 →" not in report and "Total:" not in report
    assert "allotments held back" in report
    assert "No change in the results:" not in report
    assert "writes only the Problems sheet" not in report
    code, text = diff(capsys, workbook, "--policy", new, "--as-of", AS_OF, "--format", "json")
    sections = {s["sheet"]: s for s in json.loads(text)["sections"]}
    assert (
        sections["Allotments"]["rows"] == []
        and "Regions row 3" in (sections["Allotments"]["held_back"])
    )
    assert sections["Inactivity Report"]["held_back"] is None
    assert json.loads(text)["totals"]["Allotment"] == {"base": None, "new": None, "changed": False}


def test_a_sheet_held_back_under_both_policies_is_not_blamed_on_either(
    workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad cell holds Allotments back whichever policy is adopted: the report says both,
    not "under the new policy" (as if the current one were fine)."""
    import openpyxl

    book = openpyxl.load_workbook(workbook)
    try:
        book["Regions"]["B3"] = "abc"
        book.save(workbook)
    finally:
        book.close()
    new = target_25(tmp_path)
    code, report = diff(capsys, workbook, "--policy", new, "--as-of", AS_OF)
    assert code == 1
    assert "under the new policy" not in report and "under the base policy, Regions" not in report
    assert (
        "Held back under both policies, Regions row 3 could not be read (see Problems):"
        " whichever policy is adopted, `recalc` keeps this sheet's last good content"
    ) in report
    code, text = diff(capsys, workbook, "--policy", new, "--as-of", AS_OF, "--format", "json")
    sections = {s["sheet"]: s for s in json.loads(text)["sections"]}
    for sheet in ("Allotments", "Reassignment"):
        assert sections[sheet]["held_back"] == (
            "under both policies, Regions row 3 could not be read (see Problems)"
        )
        assert sections[sheet]["held_back_under"] == "both"
    assert sections["Inactivity Report"]["held_back_under"] is None


def test_an_unreadable_as_of_holds_back_the_same_sheets_under_both_policies(
    workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no --as-of, both policies rely on the Settings sheet's As Of alike: when it
    cannot be read, every sheet on the date is held back under both (before, the base
    policy was judged as of the new side's fallback date, today, and the report blamed
    the new policy)."""
    import openpyxl

    book = openpyxl.load_workbook(workbook)
    try:
        [row] = [r for r in book["Settings"].iter_rows(min_row=2) if r[0].value == "As Of"]
        row[1].value = "2026-13-01"
        book.save(workbook)
    finally:
        book.close()
    code, text = diff(capsys, workbook, "--policy", target_25(tmp_path), "--format", "json")
    assert code == 1
    sections = {s["sheet"]: s for s in json.loads(text)["sections"]}
    for sheet in ("Allotments", "Inactivity Report", "Watch List", "Reassignment"):
        assert sections[sheet]["held_back_under"] == "both", sheet
        assert "the Settings sheet's As Of could not be read" in sections[sheet]["held_back"]


def test_a_re_review_that_falls_due_earlier_is_a_change(
    workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The Watch List's §1.E3 re-review rows have no Becomes Eligible On; the date they are
    due since is compared, and two organization-wide requests (no License ID) are told
    apart by their request."""
    import datetime as dt

    import openpyxl

    book = openpyxl.load_workbook(workbook)
    try:
        sheet = book["Appeals"]
        header = [c.value for c in sheet[1]]
        for appeal_id, organization, decided in (
            ("A-401", "Gasconade Valley Services", dt.datetime(2026, 3, 1)),
            ("A-402", "Dunklin County Shelter", dt.datetime(2026, 5, 1)),
        ):
            values = {
                "Appeal ID": appeal_id,
                "Filed On": decided - dt.timedelta(days=20),
                "Organization": organization,
                "Reason": "Special request",
                "Decision": "Approved",
                "Decided On": decided,
            }
            sheet.append([values.get(str(h)) for h in header])
        book.save(workbook)
    finally:
        book.close()
    sooner = policy_variant(
        tmp_path,
        "sooner.yaml",
        ("open_ended_exceptions_after: {months: 6}", "open_ended_exceptions_after: {months: 3}"),
        (VERSION_LINE, 'version: "9.0.0"'),
    )
    code, text = diff(capsys, workbook, "--policy", sooner, "--as-of", AS_OF, "--format", "json")
    assert code == 0
    [watch] = [s for s in json.loads(text)["sections"] if s["sheet"] == "Watch List"]
    changed = {
        r["key"]["Special Request"]: r["changes"]["Due For Re-Review Since"]
        for r in watch["rows"]
        if r["status"] == "changed"
    }
    assert changed["A-401"] == {"base": "2026-09-01", "new": "2026-06-01", "changed": True}
    assert changed["A-402"] == {"base": "2026-11-01", "new": "2026-08-01", "changed": True}
    _, report = diff(capsys, workbook, "--policy", sooner, "--as-of", AS_OF)
    assert "No change in the results" not in report


def test_a_sheet_held_back_under_one_policy_names_that_policy(
    workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """largest_remainder refuses when regions × minimum exceeds the target: only the policy
    that says so holds Allotments back."""
    refusing = policy_variant(
        tmp_path,
        "refusing.yaml",
        ("minimum: 2", "minimum: 5"),
        ("method: formula", "method: largest_remainder"),
        (VERSION_LINE, 'version: "9.0.0"'),
    )
    why = "the policy's ce_allotment settings cannot be applied (see Problems)"
    for argv, under, label in (
        (("--policy", refusing), "new", "the new policy"),
        (("--base-policy", refusing, "--policy", adopted_policy_path()), "base", "the base policy"),
    ):
        code, text = diff(capsys, workbook, *argv, "--as-of", AS_OF, "--json")
        assert code == 1
        sections = {s["sheet"]: s for s in json.loads(text)["sections"]}
        assert sections["Allotments"]["held_back"] == f"under {label}, {why}"
        assert sections["Allotments"]["held_back_under"] == under
        _, report = diff(capsys, workbook, *argv, "--as-of", AS_OF)
        assert f"Held back under {label}, {_md(why)}: `recalc` keeps" in report
        assert "under both policies" not in report and "whichever policy" not in report


def test_held_back_under_both_for_different_reasons_gives_each() -> None:
    from engine.model import Results
    from workbook.diff import _held

    base = Results(held_back={"allotments": "Regions row 3 could not be read (see Problems)"})
    new = Results(held_back={"allotments": "the policy's ce_allotment settings cannot be applied"})
    assert _held(base, new) == {
        "Allotments": (
            "under both policies: under the base policy, Regions row 3 could not be read (see"
            " Problems); under the new policy, the policy's ce_allotment settings cannot be"
            " applied",
            "both",
        )
    }


def test_a_shorter_window_lists_the_licenses_that_become_eligible_with_both_explanations(
    workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    three = policy_variant(
        tmp_path,
        "three-months.yaml",
        ("client_data_window: {months: 6}", "client_data_window: {months: 3}"),
        (VERSION_LINE, 'version: "9.0.0"'),
    )
    code, text = diff(capsys, workbook, "--policy", three, "--as-of", AS_OF, "--json")
    assert code == 0
    report = json.loads(text)
    licenses = next(s for s in report["sections"] if s["sheet"] == "Inactivity Report")["rows"]
    newly = [
        r
        for r in licenses
        if r["changes"]["Eligible For Revocation"]["new"] == "Yes"
        and r["changes"]["Eligible For Revocation"]["base"] == "No"
    ]
    assert len(newly) == report["counts"]["Newly eligible for revocation"] > 10
    code, markdown = diff(capsys, workbook, "--policy", three, "--as-of", AS_OF)
    for row in newly:
        base, new = row["explanation"]["base"], row["explanation"]["new"]
        assert "within six months before 2026-11-24" in base
        assert "three months before 2026-11-24" in new
        assert re.search(
            rf"- \*\*{re.escape(_md(row['label']))}\*\*\n  - Base: {re.escape(_md(base))}\n"
            rf"  - New: {re.escape(_md(new))}\n",
            markdown,
        ), row["label"]
        assert f"| {_md(row['label'])} |" in markdown
    assert "| L-1012 | Sage Brooks | Bolivar Community Table | CE Access Only | Active →" in (
        markdown
    )
    assert "| `inactivity.client_data_window` | {months: 6} | {months: 3} |" in markdown


def test_identical_policies_report_no_change(
    workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    same = policy_variant(tmp_path, "copy.yaml")
    code, report = diff(capsys, workbook, "--base-policy", same, "--policy", same)
    assert code == 0
    assert "**No change:** the two policies have the same values and give the same results." in (
        report
    )
    assert "###" not in report
    code, text = diff(capsys, workbook, "--policy", same, "--format", "json")
    data = json.loads(text)
    assert code == 0 and data["changed"] is False and data["parameters"] == []
    assert all(section["rows"] == [] for section in data["sections"])


def test_comment_only_change_has_no_parameters_and_no_result_change(
    workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commented = policy_variant(tmp_path, "c.yaml", ("# Missouri", "# Reworded. Missouri"))
    code, report = diff(capsys, workbook, "--policy", commented)
    assert code == 0
    assert "**No change:**" in report


def test_json_parses_and_says_what_the_markdown_says(
    workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = policy_variant(
        tmp_path,
        "policy.yaml",
        ("target: 20", "target: 25"),
        ("client_data_window: {months: 6}", "client_data_window: {months: 4}"),
        ("response_period: {months: 1}", "response_period: {months: 3}"),
        ("Staff support fee: 2000", "Staff support fee: 2100"),
    )
    argv = (workbook, "--policy", new, "--as-of", AS_OF)
    _, markdown = diff(capsys, *argv)
    _, text = diff(capsys, *argv, "--format", "json")
    data = json.loads(text)
    assert data["as_of"] == AS_OF and data["changed"] is True
    assert data["base"]["sha256"] != data["new"]["sha256"]
    for parameter in data["parameters"]:
        assert f"| `{parameter['key']}` |" in markdown
    assert {p["key"] for p in data["parameters"]} == {
        "ce_allotment.target",
        "inactivity.client_data_window",
        "appeals.response_period",
        "self_pay.annual_fees.Staff support fee",
    }
    sheets = {s["sheet"]: s["rows"] for s in data["sections"]}
    for row in sheets["Allotments"]:
        change = row["changes"]["Allotment"]
        if change["base"] == change["new"]:  # listed for its Minimum Applied alone
            minimum = row["changes"]["Minimum Applied"]
            assert minimum["base"] != minimum["new"]
            assert f"- {_md(row['label'])}: {change['new']} (formula value" in markdown
        else:
            assert f"- {_md(row['label'])}: {change['base']} → {change['new']}" in markdown
    assert sheets["Appeals Queue"] and sheets["Self-Pay Estimates"]
    for sheet, rows in sheets.items():
        if sheet == "Allotments" or not rows:
            continue
        assert f"### {sheet} (" in markdown
        for row in rows:
            # A key field that is compared too (Reassignment's Item, Region) is shown once,
            # as a change; the row is named by the others, and by its label under Why.
            shown = [v for k, v in row["key"].items() if k not in row["changes"]]
            assert f"| {_md(shown[0] if shown[0] is not None else '(blank)')} |" in markdown
            if row["explanation"]["base"] or row["explanation"]["new"]:
                assert f"- **{_md(row['label'])}**" in markdown
    for name, count in data["counts"].items():
        if isinstance(count, dict):
            assert f"| {name} | {count['base']:,} | {count['new']:,} |" in markdown
        else:
            assert f"| {name} | | {count:,} |" in markdown
    totals = data["totals"]
    assert f"- Total: {totals['Allotment']['base']} → {totals['Allotment']['new']}" in markdown


def test_diff_leaves_the_workbook_bytes_untouched(
    workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    new = target_25(policies)
    before = hashlib.sha256(workbook.read_bytes()).hexdigest()
    stat = workbook.stat()
    listing = sorted(p.name for p in workbook.parent.iterdir())
    code, _ = diff(capsys, workbook, "--policy", new, "--as-of", AS_OF)
    assert code == 0
    assert hashlib.sha256(workbook.read_bytes()).hexdigest() == before
    assert workbook.stat().st_mtime_ns == stat.st_mtime_ns
    assert sorted(p.name for p in workbook.parent.iterdir()) == listing  # no lock, no temp


def test_the_base_defaults_to_the_adopted_policy_and_output_goes_to_a_file(
    workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "diff.md"
    code, printed = diff(capsys, workbook, "--policy", target_25(tmp_path), "--output", out)
    assert code == 0 and printed == ""
    report = out.read_text(encoding="utf-8")
    assert (
        f"**Base:** `{adopted_policy_path().name}` (the adopted policy shipped with"
        f" hmis-licensing) version {V}" in report
    )
    assert "Region 1: 4 → 5" in report


def test_a_bad_policy_or_workbook_is_exit_2(
    workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = policy_variant(tmp_path, "bad.yaml", ("  minimum: 2", "    minimum: 2"))
    code = main(["diff", str(workbook), "--policy", str(bad)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{bad}:" in err and "`minimum` is indented more than the keys above it" in err
    code = main(["diff", str(tmp_path / "missing.xlsx"), "--policy", str(bad)])
    assert code == 2


def agenda_rows(text: str) -> dict[str, dict]:
    [agenda] = [s for s in json.loads(text)["sections"] if s["sheet"] == "Reassignment"]
    return {r["key"]["License ID"]: r for r in agenda["rows"] if r["key"]["License ID"]}


def test_a_reading_that_changes_only_the_reasons_is_a_reassignment_change(
    workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """§4 reading new_licenses_under_utilized: L-1016 (granted 2026-08-03, 14 client
    entries) keeps Rank 4, but the committee now reads "under-utilized: no" where it read
    "not known": the agenda row is a change, with both Reasons (it was compared by Rank
    alone, and the report said nothing changed)."""
    reading = policy_variant(
        tmp_path,
        "p_nlu.yaml",
        (
            "  under_utilized_at_most: 10\n",
            "  under_utilized_at_most: 10\n  new_licenses_under_utilized: true\n",
        ),
        (VERSION_LINE, 'version: "9.0.0"'),
    )
    old = (
        "under-utilized: not known, granted on 2026-08-03, within the window of six months:"
        " its 14 client entries so far cover only part of it; geographically unique: no"
    )
    new = "under-utilized: no, 14 client entries in the window (more than 10); geographically"
    code, report = diff(capsys, workbook, "--policy", reading, "--as-of", AS_OF)
    assert code == 0
    assert "Reassignment: 1 changed." in report
    assert "### Reassignment (§4): 1 changed" in report
    assert (
        "| L-1016 | Cass County Crisis Center | Removal candidate | 4 | Region 3"
        " | Reasons changed |"
    ) in report
    assert re.search(
        r"- \*\*Removal candidate / L-1016 / Region 3\*\*\n"
        rf"  - Base: {re.escape(_md(old))}.*\n  - New: {re.escape(_md(new))}",
        report,
    )
    code, text = diff(capsys, workbook, "--policy", reading, "--as-of", AS_OF, "--json")
    assert code == 0 and json.loads(text)["changed"] is True
    rows = agenda_rows(text)
    assert list(rows) == ["L-1016"]
    row = rows["L-1016"]
    assert row["status"] == "changed"
    assert row["key"] == {"Item": "Removal candidate", "License ID": "L-1016", "Region": "Region 3"}
    assert row["changes"]["Rank"] == {"base": 4, "new": 4, "changed": False}
    assert row["changes"]["Item"]["changed"] is False
    assert row["explanation"]["base"].startswith(old)
    assert row["explanation"]["new"].startswith(new)
    assert row["explanation"]["changed"] is True


def test_a_candidate_that_becomes_eligible_is_one_changed_agenda_row(
    workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A three-month window makes removal candidate L-1012 eligible for revocation: its
    agenda row changes Item and Rank (one row, old → new; not one removed and one added),
    and L-1016 moves up from 4 to 3."""
    three = policy_variant(
        tmp_path,
        "three-months.yaml",
        ("client_data_window: {months: 6}", "client_data_window: {months: 3}"),
        (VERSION_LINE, 'version: "9.0.0"'),
    )
    code, text = diff(capsys, workbook, "--policy", three, "--as-of", AS_OF, "--json")
    assert code == 0
    rows = agenda_rows(text)
    assert all(r["status"] == "changed" for r in rows.values())
    assert rows["L-1012"]["changes"]["Item"] == {
        "base": "Removal candidate",
        "new": "Eligible for revocation",
        "changed": True,
    }
    assert rows["L-1012"]["changes"]["Rank"] == {"base": 3, "new": None, "changed": True}
    assert rows["L-1012"]["explanation"]["new"].startswith("Eligible for revocation under §1")
    assert rows["L-1016"]["changes"]["Rank"] == {"base": 4, "new": 3, "changed": True}
    _, report = diff(capsys, workbook, "--policy", three, "--as-of", AS_OF)
    assert (
        "| L-1012 | Bolivar Community Table | Removal candidate → Eligible for revocation"
        " | 3 → (blank) | Region 3 | changed |"
    ) in report
    assert "only under the base policy" not in report.split("### Reassignment")[1]


def test_an_appeal_whose_region_changes_is_a_change() -> None:
    """A CE appeal with its Region blank is for the region its license is charged to
    (§3.2), which a policy change can move: the Appeals Queue row is reported with both."""
    import datetime as dt
    from dataclasses import replace

    from engine.model import QueuedAppeal, Results
    from workbook.diff import SECTIONS, _row_changes

    appeal = QueuedAppeal(
        appeal_id="A-7",
        committee="Coordinated Entry Committee",
        organization="Cass County Crisis Center",
        reason="CE allotment denial",
        filed_on=dt.date(2026, 11, 1),
        days_pending=23,
        overdue=False,
        respond_by=dt.date(2026, 12, 1),
        license_id="L-1016",
        region="Region 3",
        licenses_requested=None,
        explanation="",
    )
    [section] = [s for s in SECTIONS if s.sheet.name == "Appeals Queue"]
    base = Results(appeals_queue=(appeal,))
    new = Results(appeals_queue=(replace(appeal, region="Region 1"),))
    [row] = _row_changes(section, base, new)
    region = next(c for c in row.changes if c.column.header == "Region")
    assert (row.status, region.describe()) == ("changed", "Region 3 → Region 1")
    assert _row_changes(section, base, base) == []
