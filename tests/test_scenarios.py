"""`hmis-licensing policy test`: YAML scenarios mean what the same rows in a workbook mean."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy import adopted_policy_path, load_policy
from tests.conftest import write_workbook
from workbook.cli import main
from workbook.run import evaluate
from workbook.scenarios import (
    Contains,
    build_snapshot,
    read_scenarios,
    run_files,
    run_scenario,
    scenario_files,
    scenario_policy,
    shipped_scenarios,
    values_match,
)
from workbook.xlsx.read import read_snapshot

ADOPTED = load_policy(adopted_policy_path())
SHIPPED = [
    pytest.param(scenario, id=f"{scenario.file.name}: {scenario.name}")
    for path in scenario_files([shipped_scenarios()])
    for scenario in read_scenarios(path)
]

ISSUE_EXAMPLE = """\
- name: the policy's worked example
  as_of: 2026-11-24
  input:
    Regions:
      - {Region: Region 1, Population: 596788}
      - {Region: Rest, Population: 2312642}
  output:
    Allotments:
      Region 1: {Allotment: 4}
"""


def scenario_file(tmp_path: Path, text: str, name: str = "scenarios.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def policy_test(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main(["policy", "test", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("scenario", SHIPPED)
def test_every_shipped_scenario_passes(scenario) -> None:  # type: ignore[no-untyped-def]
    result = run_scenario(scenario, ADOPTED)
    assert result.error is None, result.error
    assert result.failures == [], "\n".join(f.message for f in result.failures)


def test_a_scenario_for_each_clause_is_shipped() -> None:
    names = " ".join(p.values[0].name for p in SHIPPED)  # type: ignore[union-attr]
    for clause in ("§1.1", "§1.2", "§1.E1", "§1.E2", "§1.E3", "§2", "§3.2", "§3.3", "§4"):
        assert clause in names
    assert "Addendum 2 three self-pay licenses for two years cost an estimated $14,259" in names
    assert len(SHIPPED) >= 45


def test_the_issue_example_form_works(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = scenario_file(tmp_path, ISSUE_EXAMPLE)
    code, out, _ = policy_test(capsys, path)
    assert code == 0
    assert "PASS  the policy's worked example" in out
    assert "1 scenario: 1 passed, 0 failed, 0 could not run" in out


def test_a_wrong_expectation_fails_with_file_name_expected_found_and_explanation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = scenario_file(tmp_path, ISSUE_EXAMPLE.replace("{Allotment: 4}", "{Allotment: 5}"))
    code, out, _ = policy_test(capsys, path)
    assert code == 1
    assert (
        f"{path}:9: the policy's worked example: Allotments, Region 1, Allotment: expected 5,"
        " found 4.\n"
    ) in out
    assert "    Explanation: 596,788 / 2,909,430 × 20 = 4.10, rounded to the nearest" in out
    assert "FAIL  the policy's worked example  (line 1)" in out
    code, text, _ = policy_test(capsys, path, "--json")
    report = json.loads(text)
    assert code == 1 and report["failed"] == 1 and report["passed"] == 0
    (failure,) = report["scenarios"][0]["failures"]
    assert failure == {
        "line": 9,
        "sheet": "Allotments",
        "row": "Region 1",
        "column": "Allotment",
        "expected": "5",
        "found": "4",
        "explanation": failure["explanation"],
        "message": failure["message"],
    }
    assert failure["explanation"].startswith("596,788 / 2,909,430 × 20 = 4.10")
    assert str(path) in failure["message"]


def test_text_is_quoted_and_a_missing_row_lists_the_rows_there(tmp_path: Path) -> None:
    path = scenario_file(
        tmp_path,
        """\
        - name: two mistakes
          as_of: 2026-11-24
          input:
            Licenses:
              - {License ID: L-1, Last Client Data Entry: 2026-01-10}
              - {License ID: L-9, Last Client Data Entry: 2026-11-20}
          output:
            Inactivity Report:
              L-1: {Finding: Active}
              L-2: {Finding: Active}
        """,
    )
    (result,) = run_files([path], ADOPTED).results
    first, second = result.failures
    assert first.message.startswith(
        f'{path}:9: two mistakes: Inactivity Report, L-1, Finding: expected "Active", found'
        ' "Inactive".\n    Explanation: No client data since 2026-01-10'
    )
    assert second.message == (
        f"{path}:10: two mistakes: Inactivity Report, L-2: expected a row, found none.\n"
        "    Note: Inactivity Report has rows for: L-1, L-9."
    )


def test_columns_left_out_are_defaulted_and_the_report_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = scenario_file(
        tmp_path,
        """\
        - name: only what matters
          as_of: 2026-11-24
          input:
            Licenses:
              - {Last Client Data Entry: 2026-01-10}
              - {Last Client Data Entry: 2026-11-20}
          output:
            Inactivity Report:
              L-1: {User: User L-1, Organization: Organization A, License Type: Housing Project,
                    Granted On: 2021-11-24, Finding: Inactive, Eligible For Revocation: "Yes"}
        """,
    )
    code, out, _ = policy_test(capsys, path)
    assert code == 0, out
    assert (
        "        defaulted: Licenses (License ID, User, Organization, License Type, Granted On);"
        " Organizations (the whole sheet)"
    ) in out
    assert "  Licenses Granted On: five years before the as-of date" in out
    assert "  Licenses Organization: Organization A" in out
    _, text, _ = policy_test(capsys, path, "--json")
    defaulted = json.loads(text)["scenarios"][0]["defaulted"]
    assert {"sheet": "Licenses", "column": "User", "default": "User <License ID>", "rows": 2} in (
        defaulted
    )


def test_a_scenario_means_what_the_same_rows_in_a_workbook_mean(tmp_path: Path) -> None:
    """The scenario's snapshot, written as a real .xlsx and read back, gives the same sheets."""
    path = next(p for p in scenario_files([shipped_scenarios()]) if p.name == "s1-exceptions.yaml")
    for scenario in read_scenarios(path):
        policy = scenario_policy(ADOPTED, scenario)
        snapshot, _ = build_snapshot(scenario, policy)
        book = write_workbook(tmp_path / "scenario.xlsx", snapshot.sheets)
        kwargs = {
            "workbook_folder": None,
            "as_of": scenario.as_of,
            "today": scenario.as_of,
            "now": dt.datetime(2026, 11, 24),
            "ran_from": "test",
            "loaded_policy": policy,
        }
        from_rows = evaluate(snapshot, **kwargs)  # type: ignore[arg-type]
        from_file = evaluate(read_snapshot(book), **kwargs)  # type: ignore[arg-type]
        assert [(t.sheet.name, t.rows) for t in from_rows.tables] == [
            (t.sheet.name, t.rows) for t in from_file.tables
        ], scenario.name


def test_absent_contains_problems_and_policy_overrides(tmp_path: Path) -> None:
    path = scenario_file(
        tmp_path,
        """\
        - name: kept by the sole-license exception, then not
          as_of: 2026-11-24
          policy:
            inactivity: {exceptions: {sole_license: false}}
            ce_allotment: {target: 25}
          input:
            Regions:
              - {Region: Region 1, Population: 596788}
              - {Region: Rest, Population: 2312642}
            Licenses:
              - {License ID: L-1, Organization: Nowhere Org, Last Client Data Entry: 2026-01-10}
            Organizations:
              - {Organization: Somewhere Else}
          output:
            Revocations:
              L-1: {Explanation: {contains: NO CLIENT DATA SINCE 2026-01-10}}
            Allotments:
              Region 1: {Allotment: 5}
              Region 9: absent
            Problems:
              - {Severity: Warning, Problem: {contains: is not on the Organizations sheet}}
        """,
    )
    (result,) = run_files([path], ADOPTED).results
    assert result.status == "passed", [f.message for f in result.failures]
    assert not any(d.sheet == "Organizations" for d in result.defaulted)


def test_mistakes_in_a_scenario_file_name_file_line_and_what_is_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = {
        "sheet": (
            ISSUE_EXAMPLE.replace("    Regions:", "    Region:"),
            ":4: 'Region' is not an input sheet; did you mean 'Regions'?",
        ),
        "column": (
            ISSUE_EXAMPLE.replace("{Region: Rest,", "{Regoin: Rest,"),
            ":6: 'Regoin' is not a column of Regions; did you mean 'Region'?",
        ),
        "result": (
            ISSUE_EXAMPLE.replace("    Allotments:", "    Allotment:"),
            ":8: 'Allotment' is not a result sheet; did you mean 'Allotments'?",
        ),
        "expected column": (
            ISSUE_EXAMPLE.replace("{Allotment: 4}", "{Alotment: 4}"),
            ":9: 'Alotment' is not a column of Allotments; did you mean 'Allotment'?",
        ),
        "date": (
            ISSUE_EXAMPLE.replace("2026-11-24", "24/11/2026"),
            ":2 (the policy's worked example): as_of must be a date written yyyy-mm-dd",
        ),
        "key": (
            ISSUE_EXAMPLE.replace("  output:", "  outputs:"),
            ":7: 'outputs' is not a scenario key; did you mean 'output'?",
        ),
        "override": (
            ISSUE_EXAMPLE.replace("  input:", "  policy: {ce_allotment: {target: -1}}\n  input:"),
            ":3 ce_allotment.target: -1 is less than the minimum of 1",
        ),
        "override over the minimum": (
            ISSUE_EXAMPLE.replace("  input:", "  policy: {ce_allotment: {target: 1}}\n  input:"),
            ":3 ce_allotment.minimum: 2 is more than the target of 1 (ce_allotment.target, line 3)",
        ),
        "override zero period": (
            ISSUE_EXAMPLE.replace("  input:", "  policy: {review: {every: {days: 0}}}\n  input:"),
            ":3 review.every.days: 0 is less than the minimum of 1; write a length of at least"
            " one day, e.g. `{months: 1}`",
        ),
        "yaml": (
            ISSUE_EXAMPLE.replace("  as_of:", "    as_of:"),
            ":2: `as_of` is indented more than the keys above it (`name` on line 1 has 2 spaces)",
        ),
    }
    for what, (text, expected) in cases.items():
        path = scenario_file(tmp_path, text, f"{what.replace(' ', '-')}.yaml")
        code, out, _ = policy_test(capsys, path)
        assert code == 2, what
        assert f"{path}{expected}" in out, (what, out)


def test_a_mistake_in_one_scenario_leaves_the_others_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt column or sheet in one scenario: that one could not run, the rest run."""
    failing = ISSUE_EXAMPLE.replace("worked example", "wrong target").replace(
        "{Allotment: 4}", "{Allotment: 5}"
    )
    typo = """\
- name: a typo
  as_of: 2026-11-24
  input:
    Licenses:
      - {License ID: L-9, Last Client Data Entry: 2026-11-20}
  output:
    Inactivity Report:
      L-9: {Findng: Active}
"""
    cases = {
        "column": (typo, ":28: 'Findng' is not a column of Inactivity Report; did you mean"),
        "sheet": (
            typo.replace("    Licenses:", "    Licences:"),
            ":24: 'Licences' is not an input sheet; did you mean 'Licenses'?",
        ),
    }
    for what, (bad, expected) in cases.items():
        path = scenario_file(tmp_path, f"{ISSUE_EXAMPLE}\n{failing}\n{bad}", f"{what}.yaml")
        code, out, _ = policy_test(capsys, path)
        assert code == 2, (what, out)  # "could not run" outranks "failed", as documented
        assert "PASS  the policy's worked example  (line 1)" in out, what
        assert "FAIL  the policy's wrong target  (line 11)" in out, what
        assert "ERROR a typo  (line 21)" in out, what
        assert f"{path}{expected}" in out, what
        assert "(the whole file)" not in out, what
        assert "3 scenarios: 1 passed, 1 failed, 1 could not run" in out, what
        code, text, _ = policy_test(capsys, path, "--json")
        report = json.loads(text)
        assert (code, report["outcome"], report["exit_code"]) == (2, "could not run", 2)
        assert (report["passed"], report["failed"], report["errors"]) == (1, 1, 1)
        assert [(r["name"], r["line"], r["status"]) for r in report["scenarios"]] == [
            ("the policy's worked example", 1, "passed"),
            ("the policy's wrong target", 11, "failed"),
            ("a typo", 21, "error"),
        ]
        assert expected in report["scenarios"][2]["error"], what


def test_a_file_that_is_not_a_list_of_scenarios_is_still_a_whole_file_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for what, text in {
        "not a list": "name: the worked example\nas_of: 2026-11-24\n",
        "yaml": ISSUE_EXAMPLE + "- name: [unclosed\n",
    }.items():
        path = scenario_file(tmp_path, text, f"{what.replace(' ', '-')}.yaml")
        code, out, _ = policy_test(capsys, path)
        assert code == 2, what
        assert "ERROR (the whole file)  (line 1)" in out, (what, out)
        assert "1 scenario: 0 passed, 0 failed, 1 could not run" in out, (what, out)


def test_a_missing_path_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = policy_test(capsys, tmp_path / "nope.yaml")
    assert code == 2
    assert "no such scenario file or folder" in err


def test_a_folder_without_scenarios_is_a_usage_error_not_a_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CI job given the wrong folder must not go green on "0 scenarios: 0 failed"."""
    (tmp_path / "notes.txt").write_text("not a scenario")
    code, _, err = policy_test(capsys, tmp_path)
    assert code == 2
    assert "the folder has no scenario files (.yaml or .yml)" in err


def test_policy_test_runs_the_shipped_scenarios_against_an_edited_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What an editor sees after changing the target: the scenarios the change breaks."""
    edited = tmp_path / "policy.yaml"
    text = adopted_policy_path().read_text(encoding="utf-8").replace("target: 20", "target: 25")
    edited.write_text(text, encoding="utf-8")
    code, out, _ = policy_test(capsys, "--policy", edited)
    assert code == 1
    assert (
        "§2 the policy's worked example, 596,788 / 2,909,430 × 20 = 4: Allotments, Region 1,"
        " Allotment: expected 4, found 5." in out
    )
    assert "§1.1 last client data the day before the window starts is inactive" in out
    code, out, _ = policy_test(capsys)
    assert code == 0
    assert f"{len(SHIPPED)} scenarios: {len(SHIPPED)} passed, 0 failed" in out


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.integers(0, 4))
def test_numbers_match_to_the_decimals_written(value: float, decimals: int) -> None:
    """4.1 matches 4.1034 but not 4.1234: within half a unit of the last decimal written."""
    written = round(value, decimals)
    shown = repr(written)
    if decimals and "e" not in shown and len(shown.split(".")[1]) == decimals:
        assert values_match(written, value)
        assert not values_match(written, value + 2 * 10**-decimals)
        assert not values_match(written, value - 2 * 10**-decimals)
    assert values_match(value, value)


def test_values_compare_as_the_sheet_shows_them() -> None:
    assert (
        values_match("Yes", "Yes") and values_match(True, "Yes") and not values_match("No", "Yes")
    )
    assert values_match("not signed in", "Not signed in")
    assert values_match("2026-11-24", dt.date(2026, 11, 24))
    assert not values_match("2026-11-25", dt.date(2026, 11, 24))
    assert values_match("$14,259", 14259) and values_match(14259, 14259.0)
    assert values_match("20.51%", 0.2051) and not values_match(4, 4.1)
    assert values_match(None, None) and values_match("", None) and not values_match("", "x")
    assert values_match(Contains("§1.E3"), "Special request A-1 (§1.E3)")
    assert not values_match(Contains("§1.E2"), "Special request A-1 (§1.E3)")
