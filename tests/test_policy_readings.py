"""Issue 10: the rules as SPEC §2-§4 state them after reading the policy against the sheets.

Each test names the item it proves, with the values of the policy's own situations.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.allotment import allot
from engine.model import (
    AllotmentRules,
    AppealRow,
    Inputs,
    LicenseRow,
    OrganizationRow,
    Policy,
    RegionRow,
)
from tests.conftest import (
    AS_OF,
    SAMPLE,
    d,
    lic,
    minimal_sheets,
    policy_with,
    sheet_dicts,
    write_workbook,
)
from workbook.cli import main

ORGS = (OrganizationRow("Org A", "Adair County", row=2), OrganizationRow("Org B", None, row=3))
REGIONS = (RegionRow("Region 1", 596_788, row=2), RegionRow("Rest", 2_312_642, row=3))


def run(policy: Policy, licenses: list[LicenseRow], **extra: object) -> engine.Results:
    fields: dict[str, object] = {"regions": REGIONS, "organizations": ORGS}
    fields.update(extra)
    return engine.recalculate(policy, Inputs(licenses=tuple(licenses), **fields), AS_OF)  # type: ignore[arg-type]


def by_id(results: engine.Results) -> dict[str, engine.model.LicenseDecision]:
    return {x.license_id: x for x in results.decisions}


@pytest.fixture(scope="module")
def sample_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    book = Path(shutil.copy(SAMPLE, tmp_path_factory.mktemp("sample") / "s.xlsx"))
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 0
    return book


# ---------------------------------------------------------------- 1. staying licenses


def test_the_kept_license_is_never_a_removal_candidate_on_the_sample(sample_results: Path) -> None:
    report = {r["License ID"]: r for r in sheet_dicts(sample_results, "Inactivity Report")}
    assert "Sole license kept" in str(report["L-1002"]["Exception"])
    assert report["L-1003"]["Eligible For Revocation"] == "Yes"
    agenda = {
        r["License ID"]: r
        for r in sheet_dicts(sample_results, "Reassignment")
        if r["Item"] != "Pending request" and r["License ID"]
    }
    assert agenda["L-1002"]["Item"] == "Kept: last license"
    assert agenda["L-1002"]["Rank"] is None
    assert "§1.E1 keeps it" in str(agenda["L-1002"]["Reasons"])


ce_types = st.sampled_from(["CE Access Only", "Housing Project", "Other Funded"])
days = st.dates(dt.date(2024, 1, 1), dt.date(2026, 11, 24))


@st.composite
def workbooks(draw: st.DrawFn) -> tuple[list[LicenseRow], tuple[OrganizationRow, ...]]:
    orgs = [f"Org {i}" for i in range(draw(st.integers(1, 4)))]
    counties = ["Adair County", "Butler County", None]
    organizations = tuple(
        OrganizationRow(
            o,
            draw(st.sampled_from(counties)),
            level3_access_point=draw(st.sampled_from([None, True, False])),
            row=i + 2,
        )
        for i, o in enumerate(orgs)
    )
    rows = []
    for i in range(draw(st.integers(1, 9))):
        rows.append(
            LicenseRow(
                license_id=f"L-{i}",
                user="u",
                organization=draw(st.sampled_from(orgs)),
                license_type=draw(ce_types),
                granted_on=draw(st.dates(dt.date(2023, 1, 1), dt.date(2026, 11, 1))),
                region=draw(st.sampled_from([None, "Region 1", "Rest"])),
                first_sign_in=draw(st.none() | days),
                last_client_data_entry=draw(st.none() | days),
                client_entries_window=draw(st.none() | st.integers(0, 40)),
                level4_list_holder=draw(st.booleans()),
                row=i + 2,
            )
        )
    return rows, organizations


@settings(max_examples=200, deadline=None)
@given(book=workbooks())
def test_revoking_every_revocation_and_each_regions_top_candidate_leaves_every_org_a_license(
    adopted: Policy, book: tuple[list[LicenseRow], tuple[OrganizationRow, ...]]
) -> None:
    licenses, organizations = book
    results = run(adopted, licenses, organizations=organizations)
    revoked = {x.license_id for x in results.revocations}
    top: dict[str | None, tuple[int, str]] = {}
    for item in results.reassignment:
        if item.item == "Removal candidate" and item.rank is not None and item.license_id:
            best = top.get(item.region)
            if best is None or item.rank < best[0]:
                top[item.region] = (item.rank, item.license_id)
    removed = revoked | {license_id for _, license_id in top.values()}
    for org in {x.organization for x in licenses}:
        active = [x for x in licenses if x.organization == org and x.is_active(AS_OF)]
        if active:  # §1.E1 protects it: it keeps at least one license
            assert any(x.license_id not in removed for x in active), org


@settings(max_examples=200, deadline=None)
@given(book=workbooks())
def test_a_license_kept_by_an_exception_and_advised_for_removal_says_so_on_both_rows(
    adopted: Policy, book: tuple[list[LicenseRow], tuple[OrganizationRow, ...]]
) -> None:
    licenses, organizations = book
    results = run(adopted, licenses, organizations=organizations)
    decisions = by_id(results)
    for item in results.reassignment:
        if item.item != "Removal candidate" or not item.license_id:
            continue
        row = decisions[item.license_id]
        if row.exception:
            assert f"removal candidate {item.rank}" in row.explanation
            assert row.exception.split(" (")[0] in item.reasons


# ---------------------------------------------------------------- 2. §1.2 and logins


def test_a_login_is_a_sign_in(adopted: Policy) -> None:
    row = lic("2026-10-01", signed=None, last_login="2026-10-05", license_id="LOGIN")
    decision = by_id(run(adopted, [row]))["LOGIN"]
    assert decision.finding == "Active" and not decision.eligible
    assert "a login on 2026-10-05 shows the license was signed into" in decision.explanation


def test_a_late_first_sign_in_is_said_and_revocable_only_by_policy(adopted: Policy) -> None:
    row = lic("2026-10-01", signed="2026-11-15", license_id="LATE")
    decision = by_id(run(adopted, [row, lic(last="2026-11-01")]))["LATE"]
    assert decision.finding == "Active"
    assert "after the 30 days to sign in ended on 2026-10-31" in decision.explanation
    strict = policy_with(late_first_sign_in_revocable="true")
    decision = by_id(run(strict, [row, lic(last="2026-11-01")]))["LATE"]
    assert decision.finding == "Not signed in" and decision.eligible


# ---------------------------------------------------------------- 3, 4, 5. §2 and §3


def test_minimum_applied_follows_the_value_not_the_rounded_number(sample_results: Path) -> None:
    allotments = {r["Region"]: r for r in sheet_dicts(sample_results, "Allotments")}
    assert allotments["Region 3"]["Formula Value"] == pytest.approx(1.69, abs=0.005)
    assert allotments["Region 3"]["Minimum Applied"] == "Yes"
    assert allotments["Region 6"]["Minimum Applied"] == "Yes"
    assert allotments["Region 1"]["Minimum Applied"] == "No"
    assert "less than two" in str(allotments["Region 6"]["Explanation"])


def test_largest_remainder_shows_quota_whole_part_remainder_and_rank() -> None:
    rules = AllotmentRules(20, 2, "nearest", "largest_remainder")
    populations = [("R1", 596_788), ("R2", 300_000), ("R3", 250_000), ("R4", 1_762_642)]
    regions, _, _ = allot(rules, populations)
    r1 = regions[0]
    assert r1.allotment == 4
    assert "quota of the 20 licenses shared is 4.10, whole part 4" in r1.explanation
    assert "its remainder 0.10 ranks 3 of 4" in r1.explanation
    assert "1.72, whole part 1; its remainder 0.72 ranks 1 of 4" in regions[2].explanation


def test_largest_remainder_on_ten_regions_at_the_minimum_says_why_every_region_gets_two() -> None:
    rules = AllotmentRules(20, 2, "nearest", "largest_remainder")
    populations = [("Region 1", 596_788), *[(f"R{i}", 256_960) for i in range(9)]]
    regions, _, _ = allot(rules, populations)
    assert regions[0].allotment == 2
    assert "10 regions × the minimum of two use the whole target of 20" in (regions[0].explanation)


# ---------------------------------------------------------------- 6. dates


def test_a_license_granted_after_the_as_of_date_is_not_judged(adopted: Policy) -> None:
    policy = adopted
    results = engine.recalculate(
        policy,
        Inputs(licenses=(lic("2026-09-15", signed=None, license_id="NEW"),), regions=REGIONS),
        dt.date(2026, 8, 31),
    )
    decision = by_id(results)["NEW"]
    assert decision.finding == "Not judged"
    assert "Granted on 2026-09-15, after the as-of date 2026-08-31" in decision.explanation


def test_a_sign_in_after_the_as_of_date_does_not_count(adopted: Policy) -> None:
    row = lic("2026-06-01", signed="2026-09-01", license_id="S")
    results = engine.recalculate(
        adopted, Inputs(licenses=(row,), regions=REGIONS), dt.date(2026, 8, 1)
    )
    decision = by_id(results)["S"]
    assert decision.finding == "Not signed in"
    assert "First Sign-In 2026-09-01 is after the as-of date 2026-08-01" in decision.explanation


def test_a_reassigned_license_is_judged_from_its_grant(adopted: Policy) -> None:
    row = lic("2026-09-01", last="2026-03-15", signed="2026-09-03", license_id="RE", row=7)
    results = run(adopted, [row])
    decision = by_id(results)["RE"]
    assert decision.finding == "Active"
    assert "belongs to the previous holder" in decision.explanation
    assert decision.days_since_activity is None
    [warning] = [p for p in results.problems if p.where.column == "Last Client Data Entry"]
    assert warning.severity == "Warning" and warning.where.row == 7


def test_a_sign_in_before_the_grant_is_warned(adopted: Policy) -> None:
    row = lic("2026-09-01", signed="2026-08-01", license_id="EARLY", row=4)
    results = run(adopted, [row])
    assert any(
        p.where == engine.model.Where("Licenses", 4, "First Sign-In") for p in results.problems
    )


def test_an_as_of_date_before_the_policy_took_effect_is_warned(adopted: Policy) -> None:
    rows = (
        lic("2020-01-01", last="2023-01-01", license_id="OLD"),
        lic("2020-01-01", last="2024-05-01", license_id="KEEP"),
        lic("2020-01-01", last="2023-01-01", license_id="GONE", revoked_on="2024-01-01"),
    )
    results = engine.recalculate(
        adopted, Inputs(regions=REGIONS, licenses=rows), dt.date(2024, 6, 1)
    )
    [warning] = [p for p in results.problems if p.where.column == "policy.effective_date"]
    assert "before this policy took effect on 2025-01-01" in warning.problem
    # SPEC §2: the Explanation says what was done, on every license the rules judged.
    by_id = {x.license_id: x for x in results.decisions}
    assert by_id["OLD"].eligible
    for judged in ("OLD", "KEEP"):
        assert by_id[judged].explanation.endswith(
            "took effect on 2025-01-01, after the as-of date: it is applied here as if it"
            " were in force then (see Problems)."
        )
    assert "took effect" not in by_id["GONE"].explanation  # not judged: nothing applied
    on_time = engine.recalculate(
        adopted, Inputs(regions=REGIONS, licenses=rows), dt.date(2026, 6, 1)
    )
    assert all("took effect" not in x.explanation for x in on_time.decisions)


# ---------------------------------------------------------------- 7, 8. wording


def test_self_pay_licenses_are_not_judged_on_the_sample(sample_results: Path) -> None:
    report = {r["License ID"]: r for r in sheet_dicts(sample_results, "Inactivity Report")}
    assert report["L-1115"]["Finding"] == "Not judged"
    assert "Addendum 2" in str(report["L-1115"]["Explanation"])
    revocations = {r["License ID"] for r in sheet_dicts(sample_results, "Revocations")}
    assert "L-1115" not in revocations


def test_an_exemption_is_worded_under_the_cocs_policy(adopted: Policy) -> None:
    row = lic("2020-01-01", last="2025-01-01", level4_list_holder=True, license_id="L4")
    decision = by_id(run(adopted, [row, lic(last="2026-11-01")]))["L4"]
    assert "Not eligible for revocation under the CoC's licensing policy" in decision.explanation
    assert "Inactivity Policy still applies" in decision.explanation


# ---------------------------------------------------------------- 9. appeals


def appeal(appeal_id: str, reason: str, filed: str, **fields: object) -> AppealRow:
    return AppealRow(appeal_id, d(filed), "Org A", reason, "Pending", **fields)  # type: ignore[arg-type]


def test_overdue_counts_from_the_last_review_not_the_filing(adopted: Policy) -> None:
    old_but_reviewed = appeal(
        "A-104", "Special request", "2026-10-01", last_reviewed_on=d("2026-11-05")
    )
    never = appeal("A-9", "Special request", "2026-10-01")
    queue = {
        q.appeal_id: q for q in run(adopted, [], appeals=(old_but_reviewed, never)).appeals_queue
    }
    assert not queue["A-104"].overdue
    assert queue["A-104"].respond_by == d("2026-12-05")
    assert "last discussed on 2026-11-05" in queue["A-104"].explanation
    assert queue["A-9"].overdue
    assert "not yet discussed at a meeting" in queue["A-9"].explanation


def test_the_sample_a104_is_not_overdue_and_a107_is(sample_results: Path) -> None:
    queue = {r["Appeal ID"]: r for r in sheet_dicts(sample_results, "Appeals Queue")}
    assert queue["A-104"]["Overdue"] == "No"
    assert queue["A-107"]["Overdue"] == "Yes"


@pytest.mark.parametrize(
    ("written", "reason", "committee"),
    [
        ("Inactivity Appeal", "Inactivity revocation", "Performance Committee"),
        ("CE-Allotment Appeal", "CE allotment denial", "Coordinated Entry Committee"),
        (
            "I am a CES lead and wish to request additional license allotment for my region",
            "Additional allotment request",
            "Coordinated Entry Committee",
        ),
    ],
)
def test_the_policys_own_names_are_read_as_reasons(
    adopted: Policy, written: str, reason: str, committee: str
) -> None:
    [queued] = run(adopted, [], appeals=(appeal("A", written, "2026-11-20"),)).appeals_queue
    assert (queued.reason, queued.committee) == (reason, committee)
    assert "appeals.reason_aliases" in queued.explanation


def test_a_reason_no_committee_can_be_named_from_is_an_error_for_that_appeal(
    adopted: Policy,
) -> None:
    written = "I wish to appeal the revocation/denial of my HMIS license(s)"
    results = run(
        adopted,
        [lic(last="2026-11-01")],
        appeals=(
            appeal("A", written, "2026-11-20", row=2),
            appeal("B", "Special request", "2026-11-20"),
        ),
    )
    [error] = [p for p in results.errors if p.where.sheet == "Appeals"]
    assert error.where.column == "Reason" and "does not say which committee" in error.problem
    queue = {q.appeal_id: q.committee for q in results.appeals_queue}
    assert queue == {"A": "Not routed", "B": "Performance Committee"}
    assert results.decisions and "decisions" not in results.held_back


# ---------------------------------------------------------------- 10. containment


def test_one_blank_granted_on_still_lists_every_other_license(tmp_path: Path) -> None:
    rows = [
        {
            "License ID": f"L-{i}",
            "User": "U",
            "Organization": "Org A",
            "License Type": "Housing Project",
            "Granted On": dt.date(2025, 1, 1),
            "Last Client Data Entry": dt.date(2026, 11, 1),
        }
        for i in range(1, 5)
    ]
    rows[1]["Granted On"] = None
    book = write_workbook(tmp_path / "b.xlsx", minimal_sheets(rows))
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 1
    report = {r["License ID"]: r["Finding"] for r in sheet_dicts(book, "Inactivity Report")}
    assert report == {"L-1": "Active", "L-2": "Cannot judge", "L-3": "Active", "L-4": "Active"}


def test_a_population_of_zero_holds_back_allotments_only(tmp_path: Path) -> None:
    rows = [
        {
            "License ID": "L-1",
            "User": "U",
            "Organization": "Org A",
            "License Type": "Housing Project",
            "Granted On": dt.date(2025, 1, 1),
        }
    ]
    sheets = minimal_sheets(rows, regions=(("Region 1", 596788), ("Region 2", 0)))
    book = write_workbook(tmp_path / "b.xlsx", sheets)
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 1
    assert sheet_dicts(book, "Inactivity Report")  # §1 is not held back
    problems = sheet_dicts(book, "Problems")
    assert any(str(p["Problem"]).startswith("Region 2: ") for p in problems)
    names = [str(p["Problem"]) for p in problems]
    assert any("0 is less than 1" in n for n in names)


# ---------------------------------------------------------------- 13. appeals flow back


def test_approved_ce_appeals_change_the_allotments(adopted: Policy) -> None:
    appeals = (
        AppealRow(
            "A-1",
            d("2026-10-01"),
            "Org A",
            "Additional allotment request",
            "Approved",
            region="Region 1",
            decided_on=d("2026-11-10"),
            licenses_requested=1,
            granted_from="Additional from HMIS",
            row=2,
        ),
        AppealRow(
            "A-2",
            d("2026-10-01"),
            "Org A",
            "CE allotment denial",
            "Approved",
            region="Rest",
            decided_on=d("2026-11-10"),
            licenses_requested=2,
            granted_from="Reassigned from Region 1",
            row=3,
        ),
    )
    results = run(adopted, [], appeals=appeals)
    regions = {a.region: a for a in results.allotments}
    assert regions["Region 1"].added_by_appeal == 1 - 2
    assert regions["Rest"].added_by_appeal == 2
    assert regions["Region 1"].available == 4 - 1
    assert "+1 by appeal A-1: an additional license from HMIS" in regions["Region 1"].explanation
    assert "reassigned to Rest" in regions["Region 1"].explanation
    summary = results.allotment_summary
    assert summary is not None and summary.added_by_appeal == 1
    assert "raise the total above the target by 1" in summary.explanation


def test_an_exception_ending_before_its_decision_is_flagged(adopted: Policy) -> None:
    bad = AppealRow(
        "A-3",
        d("2026-10-01"),
        "Org A",
        "Special request",
        "Approved",
        decided_on=d("2026-11-01"),
        exception_until=d("2026-10-15"),
        row=4,
    )
    results = run(adopted, [], appeals=(bad,))
    assert any(
        p.where.column == "Exception Until" and "never applied" in p.problem
        for p in results.problems
    )


# ---------------------------------------------------------------- 11. check prints decisions


def test_check_prints_the_eligible_licenses_the_allotments_and_the_problems(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", str(SAMPLE), "--as-of", "2026-11-24"]) == 0
    captured = capsys.readouterr()
    assert "Eligible for revocation (21), §1:" in captured.out
    assert "  L-1003  Gasconade Valley Services  Inactive (§1.1)" in captured.out
    assert "Not exempt under §1.E1: Gasconade Valley Services keeps license L-1002" in (
        captured.out
    )
    assert "  Region 1: 4.10 -> 4, in use 4, available 0" in captured.out
    assert "  Not charged to a region: in use 2" in captured.out
    assert "  Total: 20.00 -> 23, in use 27, available -4" in captured.out
    assert "Warning: Intakes!C7" in captured.err


def test_a_misspelt_header_that_decides_results_is_an_error(tmp_path: Path) -> None:
    rows = [
        {
            "License ID": "L-1",
            "User": "U",
            "Organization": "Org A",
            "License Type": "Housing Project",
            "Granted On": dt.date(2025, 1, 1),
            "Revoked On": dt.date(2026, 1, 1),
        }
    ]
    sheets = minimal_sheets(rows)
    header = sheets["Licenses"][0]
    header[header.index("Revoked On")] = "Revoked"
    book = write_workbook(tmp_path / "b.xlsx", sheets)
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 1
    [error] = [p for p in sheet_dicts(book, "Problems") if p["Severity"] == "Error"]
    assert 'The header "Revoked" is not a column' in str(error["Problem"])
    assert 'Did you mean "Revoked On"?' in str(error["Problem"])


def test_a_missing_column_that_decides_results_is_never_silent(tmp_path: Path) -> None:
    """Without a Last Client Data Entry column no license has client data on record, so
    every older license is Inactive: the run still works (the column is optional in SPEC
    §3) but a Warning on the Licenses header row says why so many are eligible."""
    rows = [
        {
            "License ID": "L-1",
            "User": "U",
            "Organization": "Org A",
            "License Type": "Housing Project",
            "Granted On": dt.date(2025, 1, 1),
            "First Sign-In": dt.date(2025, 1, 2),
        }
    ]
    sheets = minimal_sheets(rows)
    header = sheets["Licenses"][0]
    at = header.index("Last Client Data Entry")
    sheets["Licenses"] = [[v for i, v in enumerate(row) if i != at] for row in sheets["Licenses"]]
    book = write_workbook(tmp_path / "b.xlsx", sheets)
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 0
    warnings = [p for p in sheet_dicts(book, "Problems") if p["Sheet"] == "Licenses"]
    [warning] = [p for p in warnings if "Last Client Data Entry" in str(p["Problem"])]
    assert warning["Severity"] == "Warning"
    assert str(warning["Cell"]).endswith("1")
    assert "found Inactive and eligible for revocation" in str(warning["Problem"])
    # Renamed to something like it instead: the near-miss Error, not a second problem.
    sheets = minimal_sheets(rows)
    header = sheets["Licenses"][0]
    header[header.index("Last Client Data Entry")] = "Last Client Data Entr"
    book = write_workbook(tmp_path / "c.xlsx", sheets)
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 1
    problems = [str(p["Problem"]) for p in sheet_dicts(book, "Problems")]
    assert sum("Last Client Data Entry" in p for p in problems) == 1


def test_sole_license_keeps_the_most_recent_sign_in_a_login_included(adopted: Policy) -> None:
    # SPEC §1.E1: most recent client data, then most recent sign-in, then lowest ID.
    licenses = [
        lic("2020-01-01", last="2025-01-01", signed="2025-06-01", license_id="L-1"),
        lic(
            "2020-01-01",
            last="2025-01-01",
            signed="2024-01-01",
            last_login="2026-10-01",
            license_id="L-2",
        ),
    ]
    decisions = by_id(run(adopted, licenses))
    assert "Sole license kept" in decisions["L-2"].exception
    assert "most recent sign-in (2026-10-01)" in decisions["L-2"].explanation
    assert decisions["L-1"].eligible


def test_every_reading_in_the_readme_is_a_key_that_says_it_is_a_reading() -> None:
    """SPEC §4: a value the policy text leaves open is a key whose description says it is
    a reading, not the policy's words; the README's Readings table lists them."""
    import json

    from tests.conftest import REPO

    schema = json.loads((REPO / "policy" / "policy.schema.json").read_text(encoding="utf-8"))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("**Readings.**", 1)[1].split("\n\n", 2)[1]
    keys = re.findall(r"^\| `([\w.-]+)` \|", table, flags=re.M)
    assert len(keys) >= 9 and "ce_allotment.method" in keys
    for key in keys:
        node = schema
        for part in key.split("."):
            properties = node.get("properties", {})
            node = properties[part] if part in properties else node["additionalProperties"]
        assert "A reading" in node["description"], key
