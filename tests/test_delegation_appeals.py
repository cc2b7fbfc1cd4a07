"""§3 charging, §4 appeals queue and reassignment, Addendum 2 self-pay."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
from engine.model import (
    AppealRow,
    CountyRow,
    Inputs,
    IntakeRow,
    LicenseRow,
    OrganizationRow,
    Policy,
    RegionRow,
    SelfPayRequestRow,
)
from engine.selfpay import estimate
from policy import adopted_policy_path, load_policy_bytes
from tests.conftest import AS_OF, SAMPLE, d, lic, minimal_sheets, sheet_dicts, write_workbook
from workbook.cli import main

REGIONS = (
    RegionRow("North", 100_000, row=2),
    RegionRow("South", 300_000, row=3),
    RegionRow("West", 200_000, row=4),
)
COUNTIES = (
    CountyRow("Adair County", "North", 100_000, row=2),
    CountyRow("Butler County", "South", 300_000, row=3),
    CountyRow("Cass County", "West", 200_000, row=4),
)
ORGS = (
    OrganizationRow("Solo", "Adair County", row=2),
    OrganizationRow("Multi", "Adair County", row=3),
    OrganizationRow("Tied", "Butler County", row=4),
    OrganizationRow("Nowhere", None, row=5),
)


def ce(license_id: str, org: str, **fields: object) -> LicenseRow:
    return lic(
        "2024-01-01",
        last="2026-11-01",
        license_id=license_id,
        org=org,
        license_type="CE Access Only",
        **fields,
    )


def run(policy: Policy, licenses: list[LicenseRow], **inputs: object) -> engine.Results:
    base = {"regions": REGIONS, "counties": COUNTIES, "organizations": ORGS}
    base.update(inputs)  # type: ignore[arg-type]
    return engine.recalculate(policy, Inputs(licenses=tuple(licenses), **base), AS_OF)  # type: ignore[arg-type]


# ------------------------------------------------------------------ §3 charging


def test_charging_order_entered_then_intakes_then_county(adopted: Policy) -> None:
    intakes = (
        IntakeRow("Multi", "North", 10, row=2),
        IntakeRow("Multi", "West", 25.5, row=3),
        IntakeRow("Multi", "south", 5, row=4),
    )
    results = run(
        adopted,
        [
            ce("E", "Multi", region="South"),
            ce("I", "Multi"),
            ce("C", "Solo"),
        ],
        intakes=intakes,
    )
    charged = {c.license_id: (c.charged_region, c.basis) for c in results.ce_charges}
    assert charged["E"][0] == "South" and "Region entered on the license" in charged["E"][1]
    assert charged["I"][0] == "West" and "Most average intakes in West" in charged["I"][1]
    assert charged["C"][0] == "North"
    assert "Solo is in Adair County, which is in North" in charged["C"][1]
    assert all(c.policy_clause == "§3.2" for c in results.ce_charges)
    assert not results.problems


def test_intake_tie_is_a_warning_for_the_ce_committee(adopted: Policy) -> None:
    intakes = (IntakeRow("Tied", "North", 14, row=2), IntakeRow("Tied", "West", 14.0, row=3))
    results = run(adopted, [ce("T1", "Tied"), ce("T2", "Tied")], intakes=intakes)
    assert [c.charged_region for c in results.ce_charges] == [None, None]
    assert "the Coordinated Entry Committee decides" in results.ce_charges[0].basis
    [problem] = results.problems
    assert problem.severity == "Warning"
    assert (problem.where.sheet, problem.where.row) == ("Intakes", 2)
    assert "For the Coordinated Entry Committee" in problem.problem and "T1, T2" in problem.problem
    # The committee is named as policy.yaml names it (SPEC §4), in every sentence.
    board = edited_policy(
        ("coordinated_entry: Coordinated Entry Committee", "coordinated_entry: CE Board")
    )
    renamed = run(board, [ce("T1", "Tied"), ce("T2", "Tied")], intakes=intakes)
    assert "the CE Board decides" in renamed.ce_charges[0].basis
    assert renamed.problems[0].problem.startswith("For the CE Board:")
    entered = run(board, [ce("E1", "Solo", region="North")])
    assert "a CE Lead's or the CE Board's decision" in entered.ce_charges[0].basis
    # The entered decision settles it.
    settled = run(adopted, [ce("T1", "Tied", region="West")], intakes=intakes)
    assert settled.ce_charges[0].charged_region == "West" and not settled.problems


def test_intakes_all_zero_are_no_tie_and_the_county_decides(adopted: Policy) -> None:
    """§3.2: "the most coverage, as measured by average intakes" -- with 0 intakes in every
    region there is no coverage to weigh, so the organization's county decides, as when it
    has no Intakes rows; only a tie between positive intakes is the CE Committee's."""
    zeros = (IntakeRow("Tied", "North", 0, row=2), IntakeRow("Tied", "West", 0.0, row=3))
    results = run(adopted, [ce("Z1", "Tied"), ce("Z2", "Tied")], intakes=zeros)
    assert [c.charged_region for c in results.ce_charges] == ["South", "South"]
    assert results.ce_charges[0].basis == (
        "Tied is in Butler County, which is in South (Counties sheet); its Intakes rows all"
        " show 0 average intakes, so its county decides. §3.2"
    )
    assert not results.problems
    assert {a.region: a.in_use for a in results.allotments}["South"] == 2
    # One positive row is coverage: it decides, even against the county.
    some = (IntakeRow("Tied", "North", 0, row=2), IntakeRow("Tied", "West", 0.5, row=3))
    assert run(adopted, [ce("Z1", "Tied")], intakes=some).ce_charges[0].charged_region == "West"
    # All zero and no county region: charged nowhere, and the Warning says why.
    nowhere = run(adopted, [ce("N", "Nowhere")], intakes=(IntakeRow("Nowhere", "North", 0, row=2),))
    assert nowhere.ce_charges[0].charged_region is None
    assert "no Intakes rows with average intakes for the organization" in (
        nowhere.ce_charges[0].basis
    )
    [warning] = nowhere.problems
    assert "no Region or Intakes row above 0 for it" in warning.problem


def test_region_that_cannot_be_determined_is_a_warning(adopted: Policy) -> None:
    results = run(adopted, [ce("N", "Nowhere")])
    assert results.ce_charges[0].charged_region is None
    assert "Nowhere has no County" in results.ce_charges[0].basis
    assert [(p.severity, p.where.sheet, p.where.column) for p in results.problems] == [
        ("Warning", "Licenses", "Region")
    ]


def test_unknown_entered_region_falls_back_and_says_so(adopted: Policy) -> None:
    results = run(adopted, [ce("U", "Solo", region="Atlantis")])
    assert results.ce_charges[0].charged_region == "North"
    assert '"Atlantis", is not on the Regions sheet' in results.ce_charges[0].basis


def test_funded_licenses_are_never_charged(adopted: Policy) -> None:
    funded = [
        lic(
            "2024-01-01",
            last="2026-11-01",
            license_id=f"H{i}",
            org="Solo",
            region="North",
            license_type=kind,
        )
        for i, kind in enumerate(["Housing Project", "Other Funded", "Self-Pay"])
    ]
    results = run(adopted, [*funded, ce("C", "Solo")])
    assert [c.license_id for c in results.ce_charges] == ["C"]
    north = next(a for a in results.allotments if a.region == "North")
    assert north.in_use == 1


def edited_policy(*replacements: tuple[str, str]) -> Policy:
    """The adopted policy with text replaced (each replacement must apply)."""
    text = adopted_policy_path().read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return load_policy_bytes(text.encode(), "edited-policy.yaml")


def test_license_type_flag_comes_from_policy() -> None:
    policy = edited_policy(
        (
            "  Housing Project:\n    counts_against_ce_allotment: false",
            "  Housing Project:\n    counts_against_ce_allotment: true",
        )
    )
    results = run(policy, [lic("2024-01-01", last="2026-11-01", license_id="H", org="Solo")])
    assert [c.license_id for c in results.ce_charges] == ["H"]


def test_revoked_licenses_are_not_in_use(adopted: Policy) -> None:
    results = run(adopted, [ce("R", "Solo", revoked_on="2026-10-01"), ce("A", "Solo")])
    assert [c.license_id for c in results.ce_charges] == ["A"]


def test_a_license_granted_after_the_as_of_date_is_not_in_use(adopted: Policy) -> None:
    """SPEC §2: active only when granted on or before D; a later grant is not yet a
    license, so it is neither charged nor counted in In Use (North: 3 allotted)."""
    later = lic(
        "2026-12-01", signed=None, license_id="F", org="Solo", license_type="CE Access Only"
    )
    results = run(adopted, [ce("A", "Solo"), later])
    assert [c.license_id for c in results.ce_charges] == ["A"]
    north = next(a for a in results.allotments if a.region == "North")
    assert (north.in_use, north.available) == (1, 2)
    assert results.allotment_summary is not None
    assert results.allotment_summary.in_use == 1
    [judged] = [j for j in results.decisions if j.license_id == "F"]
    assert judged.finding == "Not judged"


def test_in_use_and_available_per_region(adopted: Policy) -> None:
    # Populations 100k/300k/200k of 600k x 20: North 3.33 -> 3, South 10, West 6.67 -> 7.
    licenses = [ce(f"N{i}", "Solo") for i in range(5)] + [ce("W1", "Multi", region="West")]
    results = run(adopted, licenses)
    by_region = {a.region: (a.allotment, a.in_use, a.available) for a in results.allotments}
    assert by_region == {"North": (3, 5, -2), "South": (10, 0, 10), "West": (7, 1, 6)}
    north = next(a for a in results.allotments if a.region == "North")
    assert "Over the allotment by 2." in north.explanation
    assert results.allotment_summary is not None
    assert (results.allotment_summary.in_use, results.allotment_summary.available) == (6, 14)


# ------------------------------------------------------------------ §4 appeals


def appeal(appeal_id: str, reason: str, filed: str, **fields: object) -> AppealRow:
    values: dict[str, object] = {
        "appeal_id": appeal_id,
        "filed_on": d(filed),
        "organization": "Solo",
        "reason": reason,
        "decision": "Pending",
    }
    values.update(fields)
    return AppealRow(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reason", "committee"),
    [
        ("Inactivity revocation", "Performance Committee"),
        ("Special request", "Performance Committee"),
        ("CE allotment revocation", "Coordinated Entry Committee"),
        ("CE allotment denial", "Coordinated Entry Committee"),
        ("Additional allotment request", "Coordinated Entry Committee"),
    ],
)
def test_every_reason_is_routed_to_its_committee(
    adopted: Policy, reason: str, committee: str
) -> None:
    results = run(adopted, [], appeals=(appeal("A", reason, "2026-11-01"),))
    assert [(q.appeal_id, q.committee) for q in results.appeals_queue] == [("A", committee)]


def test_committee_names_and_routing_come_from_policy() -> None:
    policy = edited_policy(
        ("performance: Performance Committee", "performance: Data Quality Committee"),
        ("    Special request: performance", "    Special request: coordinated_entry"),
    )
    appeals = (
        appeal("A", "Inactivity revocation", "2026-11-01"),
        appeal("B", "Special request", "2026-11-01"),
    )
    queue = {q.appeal_id: q.committee for q in run(policy, [], appeals=appeals).appeals_queue}
    assert queue == {"A": "Data Quality Committee", "B": "Coordinated Entry Committee"}


@pytest.mark.parametrize(
    ("filed", "days", "overdue"),
    # One month as adopted: filed 2026-10-24 must be answered by 2026-11-24.
    [("2026-10-25", 30, False), ("2026-10-24", 31, False), ("2026-10-23", 32, True)],
)
def test_overdue_at_the_boundary(adopted: Policy, filed: str, days: int, overdue: bool) -> None:
    [queued] = run(adopted, [], appeals=(appeal("A", "Special request", filed),)).appeals_queue
    assert queued.days_pending == days
    assert queued.overdue is overdue
    assert queued.overdue_text == ("Yes" if overdue else "No")


@pytest.mark.parametrize(
    ("filed", "as_of", "respond_by", "overdue"),
    # SPEC §2: overdue once Filed On is before D minus one month (clamped to month end).
    [
        ("2026-02-28", "2026-03-31", "2026-03-31", False),  # 03-31 minus a month: 02-28
        ("2026-02-28", "2026-04-01", "2026-03-31", True),
        ("2026-01-31", "2026-02-28", "2026-02-28", False),
        ("2026-01-31", "2026-03-01", "2026-02-28", True),
        ("2026-09-30", "2026-10-31", "2026-10-31", False),
        ("2026-03-15", "2026-04-16", "2026-04-15", True),
    ],
)
def test_overdue_at_month_ends_counts_back_from_the_as_of_date(
    adopted: Policy, filed: str, as_of: str, respond_by: str, overdue: bool
) -> None:
    inputs = Inputs(
        regions=REGIONS,
        counties=COUNTIES,
        organizations=ORGS,
        licenses=(),
        appeals=(appeal("A", "Special request", filed),),
    )
    [queued] = engine.recalculate(adopted, inputs, d(as_of)).appeals_queue
    assert (queued.respond_by, queued.overdue) == (d(respond_by), overdue)
    assert (adopted.appeal_response_period.before(d(as_of)) > d(filed)) is overdue


def test_only_pending_appeals_are_queued_and_views_agree(adopted: Policy) -> None:
    inactive = lic("2020-01-01", last="2025-01-01", license_id="L", org="Solo")
    keeper = lic("2020-01-01", last="2026-11-01", license_id="K", org="Solo")
    pending = appeal("P", "Special request", "2026-11-01", license_id="L")
    approved = appeal(
        "Y",
        "Special request",
        "2026-06-01",
        license_id="L",
        decision="Approved",
        decided_on=d("2026-07-01"),
    )
    queued_only = run(adopted, [inactive, keeper], appeals=(pending,))
    assert [q.appeal_id for q in queued_only.appeals_queue] == ["P"]
    assert next(x for x in queued_only.decisions if x.license_id == "L").eligible

    decided = run(adopted, [inactive, keeper], appeals=(approved,))
    assert decided.appeals_queue == ()
    assert not next(x for x in decided.decisions if x.license_id == "L").eligible


def test_an_appeal_naming_another_organization_s_license_is_warned(adopted: Policy) -> None:
    """It exempts the license it names (SPEC §1.E3), but one organization's request
    silently keeping another's license must be looked at by a person."""
    inactive = lic("2020-01-01", last="2025-01-01", license_id="O1", org="Multi")
    request = appeal(
        "X1",
        "Special request",
        "2026-10-01",
        license_id="O1",
        decision="Approved",
        decided_on=d("2026-10-10"),
    )
    results = run(adopted, [inactive], appeals=(request,))
    assert any(
        "Appeal X1 was filed by Solo but names license O1, which belongs to Multi" in p.problem
        for p in results.warnings
    )


def test_an_appeal_for_a_region_its_organization_is_not_in_is_warned(adopted: Policy) -> None:
    """§3 CE Leads designate licenses "to organizations in their region"; §4 the committee
    grants "from the region the appeal originated from". Solo is in Adair County (North)."""
    west = appeal("A-1", "CE allotment denial", "2026-11-01", region="West", row=7)
    results = run(adopted, [], appeals=(west,))
    [warning] = results.problems
    assert (warning.severity, warning.where.sheet, warning.where.row, warning.where.column) == (
        "Warning",
        "Appeals",
        7,
        "Region",
    )
    assert warning.problem.startswith(
        "Appeal A-1 is filed for West, but Solo is not in West: it is in North (its county,"
        " Adair County, is in North on the Counties sheet)."
    )
    assert "(§3)" in warning.problem and "(§4)" in warning.problem
    assert warning.how_to_fix == (
        "Correct the appeal's Region to the region it originated from (North), or, if Solo"
        " provides CE access in West, record its average intakes for West on the Intakes sheet."
    )
    # Routing is as recorded: West's request, on the queue for West.
    assert [q.region for q in results.appeals_queue] == ["West"]
    # Its county's region, an Intakes region, or a region entered on its license: no Warning.
    north = appeal("A-2", "CE allotment denial", "2026-11-01", region="north")
    assert not run(adopted, [], appeals=(north,)).problems
    intakes = (IntakeRow("Solo", "West", 0, row=2),)
    assert not run(adopted, [], appeals=(west,), intakes=intakes).problems
    assert not run(adopted, [ce("S1", "Solo", region="West")], appeals=(west,)).problems
    # Where the organization's regions are not known, nothing is said.
    nowhere = appeal("A-3", "CE allotment denial", "2026-11-01", organization="Nowhere")
    assert not run(adopted, [], appeals=(replace(nowhere, region="West"),)).problems


def test_the_sample_s_appeal_from_another_region_is_warned(tmp_path: Path) -> None:
    """A-111: Lebanon Community Shelter (Laclede County, Region 6, no Intakes rows) is
    filed for Region 2: one Warning on its Region cell; the request stays Region 2's."""
    book = Path(shutil.copy(SAMPLE, tmp_path / "s.xlsx"))
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 0
    found = [p for p in sheet_dicts(book, "Problems") if "A-111" in str(p["Problem"])]
    assert [(p["Severity"], p["Sheet"], p["Cell"]) for p in found] == [
        ("Warning", "Appeals", "E12")
    ]
    assert "Lebanon Community Shelter is not in Region 2: it is in Region 6" in str(
        found[0]["Problem"]
    )


def test_appeal_filed_after_as_of_is_not_yet_pending(adopted: Policy) -> None:
    results = run(adopted, [], appeals=(appeal("F", "Special request", "2026-12-01"),))
    assert results.appeals_queue == ()


def test_an_appeal_decided_after_the_as_of_date_was_still_pending_then(adopted: Policy) -> None:
    """SPEC §2: dates after D never count on D. A run back-dated (or a correction run
    again) after the meeting recorded its decisions still lists those appeals as pending
    on D, where the license's own explanation says the decision does not count yet."""
    inactive = lic("2020-01-01", last="2025-01-01", license_id="L", org="Solo")
    keeper = lic("2020-01-01", last="2026-11-01", license_id="K", org="Solo")
    later = {"decided_on": d("2026-12-03"), "exception_until": d("2027-01-31")}
    approved = appeal(
        "Y", "Special request", "2026-11-01", license_id="L", decision="Approved", **later
    )
    denied = appeal(
        "N",
        "CE allotment revocation",
        "2026-11-02",
        license_id="K",
        decision="Denied",
        decided_on=d("2026-12-10"),
        last_reviewed_on=d("2026-12-10"),
    )
    results = run(adopted, [inactive, keeper], appeals=(approved, denied))
    queue = {q.appeal_id: q for q in results.appeals_queue}
    assert set(queue) == {"Y", "N"}
    assert "recorded as Approved on 2026-12-03, after 2026-11-24, so on 2026-11-24 it was" in (
        queue["Y"].explanation
    )
    assert "(Last Reviewed On 2026-12-10 is after it)" in queue["N"].explanation
    assert "Last Reviewed On is blank" not in queue["N"].explanation
    decision = next(x for x in results.decisions if x.license_id == "L")
    assert decision.eligible and "after 2026-11-24, so it does not exempt it" in (
        decision.explanation
    )
    inputs = Inputs(
        regions=REGIONS,
        counties=COUNTIES,
        organizations=ORGS,
        licenses=(inactive, keeper),
        appeals=(approved, denied),
    )
    assert engine.recalculate(adopted, inputs, d("2026-12-10")).appeals_queue == ()


# ------------------------------------------------------------------ §4 reassignment


def candidates(results: engine.Results) -> list[str]:
    return [
        item.license_id or "" for item in results.reassignment if item.item == "Removal candidate"
    ]


def items(results: engine.Results) -> dict[str, engine.model.ReassignmentItem]:
    """The agenda's license rows (not the pending requests), by License ID."""
    return {
        i.license_id: i
        for i in results.reassignment
        if i.license_id and i.item != "Pending request"
    }


def test_ranking_under_utilized_first_and_reasons_state_each_criterion(adopted: Policy) -> None:
    licenses = [
        ce("MANY", "Multi", client_entries_window=50),
        ce("FEW", "Multi", client_entries_window=3),
        lic("2024-01-01", last="2026-11-01", license_id="HP", org="Multi"),
    ]
    results = run(adopted, licenses)
    assert candidates(results) == ["FEW", "MANY"]
    assert [i.rank for i in results.reassignment if i.rank] == [1, 2]
    few, many = items(results)["FEW"].reasons, items(results)["MANY"].reasons
    assert "under-utilized: yes, 3 client entries in the window (at most 10" in few
    assert "under-utilized: no, 50 client entries in the window (more than 10)" in many
    # Counted: the licenses not eligible for revocation, a removal candidate among them,
    # so none is called a license that "stays" or that the organization "keeps" (§4).
    assert (
        "geographically unique: no, Adair County has 2 other active licenses not eligible for"
        " revocation" in few
    )
    assert (
        "the organization's only license: no, Multi has 2 other active licenses not eligible"
        " for revocation (MANY, HP)" in few
    )
    assert "stay" not in few and "keeps" not in few


def test_ranking_not_geographically_unique_before_unique(adopted: Policy) -> None:
    licenses = [
        ce("UNIQUE", "Tied", client_entries_window=5),  # the only access point in Butler
        ce("SHARED", "Solo", client_entries_window=5),  # Adair also has Solo's HP
        lic("2024-01-01", last="2026-11-01", license_id="HP", org="Solo"),
        lic("2024-01-01", last="2026-11-01", license_id="T2", org="Tied", county="Cass County"),
    ]
    results = run(adopted, licenses)
    assert candidates(results) == ["SHARED", "UNIQUE"]
    reasons = {k: v.reasons for k, v in items(results).items()}
    assert (
        "Adair County has 1 other active license not eligible for revocation (HP;"
        in reasons["SHARED"]
    )
    assert (
        "geographically unique: yes, the only active license in Butler County not eligible"
        " for revocation" in (reasons["UNIQUE"])
    )


def test_an_organizations_last_staying_license_is_never_a_candidate(adopted: Policy) -> None:
    licenses = [
        ce("ALONE", "Solo", client_entries_window=0),
        ce("OTHERS", "Multi", client_entries_window=5),
        lic("2024-01-01", last="2026-11-01", license_id="M2", org="Multi", county="Cass County"),
    ]
    results = run(adopted, licenses)
    assert candidates(results) == ["OTHERS"]
    alone = items(results)["ALONE"]
    assert alone.item == "Kept: last license" and alone.rank is None
    assert "removing it would leave Solo without an HMIS license" in alone.reasons
    assert (
        "Multi has 1 other active license not eligible for revocation (M2)"
        in items(results)["OTHERS"].reasons
    )
    # An organization whose licenses that stay are all CE licenses keeps its best-used
    # one; its reasons do not say that removing it alone would leave the organization
    # without a license, since the other (a removal candidate) would still be there.
    pair = [ce("P1", "Multi", client_entries_window=9), ce("P2", "Multi", client_entries_window=1)]
    kept = items(run(adopted, pair))["P1"]
    assert kept.item == "Kept: last license"
    assert "removing it as well as its other licenses on this agenda would leave Multi" in (
        kept.reasons
    )


def test_other_licenses_count_only_when_they_stay(adopted: Policy) -> None:
    # The sample's L-1002 / L-1003: the CE license is the one §1.E1 keeps, because the
    # organization's other license is eligible; it must not be ranked first to remove.
    licenses = [
        ce("KEPT", "Solo", last_client_data_entry=d("2026-03-30"), client_entries_window=0),
        lic("2024-06-10", last="2025-12-19", license_id="GOING", org="Solo"),
    ]
    results = run(adopted, licenses)
    decisions = {x.license_id: x for x in results.decisions}
    assert decisions["GOING"].eligible and not decisions["KEPT"].eligible
    assert "Sole license kept" in decisions["KEPT"].exception
    assert candidates(results) == []
    kept = items(results)["KEPT"]
    assert kept.item == "Kept: last license"
    assert "§1.E1 keeps it" in kept.reasons
    assert "GOING" not in items(results)  # a funded license is never on the CE agenda


def test_section_3_duties_put_an_organization_first(adopted: Policy) -> None:
    orgs = (
        OrganizationRow("Solo", "Adair County", level3_access_point=False, row=2),
        OrganizationRow("Multi", "Adair County", data_entry_agreement=True, row=3),
    )
    licenses = [
        ce("NO-L3", "Solo", client_entries_window=400),
        lic("2024-01-01", last="2026-11-01", license_id="S2", org="Solo"),
        ce("GOOD", "Multi", client_entries_window=0),
        lic("2024-01-01", last="2026-11-01", license_id="M2", org="Multi"),
    ]
    results = run(adopted, licenses, organizations=orgs)
    assert candidates(results) == ["NO-L3", "GOOD"]
    assert "not serving as a level 3 access point" in items(results)["NO-L3"].reasons
    assert "may lose HMIS access" in items(results)["NO-L3"].reasons


def test_ranking_final_tie_by_entries_then_license_id_and_unknown_counts_last(
    adopted: Policy,
) -> None:
    licenses = [
        ce("L-10", "Multi", client_entries_window=0),
        ce("L-9", "Multi", client_entries_window=0),
        ce("L-1", "Multi"),  # no count
        lic("2024-01-01", last="2026-11-01", license_id="HP", org="Multi"),
    ]
    results = run(adopted, licenses)
    assert candidates(results) == ["L-9", "L-10", "L-1"]
    assert "under-utilized: not known (Client Entries (Window) is blank)" in (
        items(results)["L-1"].reasons
    )


def test_candidates_that_together_are_all_of_a_county_s_access_points_say_so(
    adopted: Policy,
) -> None:
    """§4: removed licenses should not be geographically unique to their county. C1 and C2
    are each not unique (the other stays), but they are all that stays in Adair County:
    the agenda must not read as "remove both"."""
    elsewhere = {"last": "2026-11-01", "county": "Butler County"}
    licenses = [
        ce("C1", "Solo", client_entries_window=1),
        ce("C2", "Multi", client_entries_window=2),
        lic("2024-01-01", license_id="HP-S", org="Solo", **elsewhere),  # type: ignore[arg-type]
        lic("2024-01-01", license_id="HP-M", org="Multi", **elsewhere),  # type: ignore[arg-type]
    ]
    agenda = items(run(adopted, licenses))
    assert candidates(run(adopted, licenses))[:2] == ["C1", "C2"]
    for license_id in ("C1", "C2"):
        assert (
            "every active license in Adair County not eligible for revocation is a"
            " removal candidate (C1, C2):"
            " removing all 2 would leave Adair County without an access point"
        ) in agenda[license_id].reasons
    assert "every active license in Butler County" not in agenda["C1"].reasons
    # A third license that stays in the county (one the agenda never removes): no note.
    funded = lic("2024-01-01", last="2026-11-01", license_id="HP-A", org="Multi")
    agenda = items(run(adopted, [*licenses, funded]))
    assert "every active license in" not in agenda["C1"].reasons


def test_a_candidate_charged_to_no_region_says_its_region_is_decided_first(
    adopted: Policy,
) -> None:
    """The sample's L-1032: its organization's intakes tie between two regions, so it is
    charged to none (Problems says so; the tied regions' CE Leads are told); ranked first for
    removal, its Reasons must say so too, not only leave Region blank (§3.2)."""
    intakes = (IntakeRow("Tied", "North", 14, row=2), IntakeRow("Tied", "West", 14, row=3))
    licenses = [
        ce("T1", "Tied", client_entries_window=3),
        lic("2024-01-01", last="2026-11-01", license_id="T2", org="Tied"),
        ce("S1", "Solo", region="South", client_entries_window=4),
        lic("2024-01-01", last="2026-11-01", license_id="S2", org="Solo"),
    ]
    agenda = items(run(adopted, licenses, intakes=intakes))
    tied = agenda["T1"]
    assert tied.item == "Removal candidate" and tied.rank == 1 and tied.region is None
    assert tied.reasons.startswith(
        "region: not charged to one (Tie in average intakes between North and West (14"
        " each): the Coordinated Entry Committee decides which region this license is charged"
        " to."
    )
    assert (
        "its region is decided first (§3.2), since until then removing it frees no region's"
        " allotment" in tied.reasons
    )
    assert "region:" not in agenda["S1"].reasons, "a charged license says nothing of it"


def test_an_eligible_license_charged_to_no_region_frees_no_region(adopted: Policy) -> None:
    """Eligible for revocation under §1 but charged to no region (an intake tie): its row
    says revoking it frees no region's allotment, and why, not "one of its region's"."""
    intakes = (IntakeRow("Tied", "North", 14, row=2), IntakeRow("Tied", "West", 14, row=3))
    licenses = [
        lic(
            "2024-01-01",
            last="2025-01-01",
            license_id="T1",
            org="Tied",
            license_type="CE Access Only",
        ),
        lic("2024-01-01", last="2026-11-01", license_id="T2", org="Tied"),
    ]
    agenda = items(run(adopted, licenses, intakes=intakes))
    leaving = agenda["T1"]
    assert leaving.item == "Eligible for revocation" and leaving.region is None
    assert leaving.reasons.startswith(
        "Eligible for revocation under §1 (on the Revocations sheet): it is charged to no"
        " region (Tie in average intakes between North and West (14 each)"
    )
    assert "so revoking it frees no region's allotment" in leaving.reasons
    assert "its region's" not in leaving.reasons


def test_a_kept_license_names_its_section_1_exception_and_what_kept_it(
    adopted: Policy,
) -> None:
    """The sample's L-1004: a Level 4 List Holder with 0 client entries, the only license of
    its organization. The Kept row says it is the only one (not its "best-used" one) and
    names the §1.E2 exception that the Performance packet gives for it."""
    holder = ce(
        "L4",
        "Solo",
        client_entries_window=0,
        last_client_data_entry=d("2025-01-05"),
        level4_list_holder=True,
    )
    results = run(adopted, [holder])
    [decision] = results.decisions
    assert not decision.eligible and "Level 4" in decision.exception
    kept = items(results)["L4"]
    assert kept.item == "Kept: last license"
    assert kept.reasons.startswith(
        "Not a removal candidate: it is the only license of Solo not eligible for revocation"
        ", and removing it would leave Solo without an HMIS license"
    )
    assert (
        "kept under §1 by Level 4 List Holder (§1.E2) (Inactivity Report): that exception"
        " does not decide CE reassignment" in kept.reasons
    )
    assert "best-used" not in kept.reasons
    # Several CE licenses, all with 0 entries: what decided it is said, not "best-used".
    pair = [
        ce("P1", "Multi", client_entries_window=0, last_client_data_entry=d("2026-10-01")),
        ce("P2", "Multi", client_entries_window=0, last_client_data_entry=d("2026-11-02")),
    ]
    kept = items(run(adopted, pair))["P2"]
    assert kept.item == "Kept: last license" and "best-used" not in kept.reasons
    assert (
        "the 2 licenses of Multi not eligible for revocation are all CE licenses, and"
        " with as many client entries in the window as any of them (0) it has the most recent"
        " client data (2026-11-02)" in kept.reasons
    )
    same = [ce("Q2", "Multi", client_entries_window=0), ce("Q1", "Multi", client_entries_window=0)]
    assert "it has the lowest License ID" in items(run(adopted, same))["Q1"].reasons
    busy = [ce("B1", "Multi", client_entries_window=2), ce("B2", "Multi", client_entries_window=9)]
    assert "it has the most client entries in the window (9 client entries)" in (
        items(run(adopted, busy))["B2"].reasons
    )
    # The one §1.E1 keeps says so, and does not name §1.E1 a second time as an exception.
    e1 = items(
        run(
            adopted,
            [ce("E1", "Solo", client_entries_window=0, last_client_data_entry=d("2025-01-05"))],
        )
    )
    assert "§1.E1 keeps it" in e1["E1"].reasons and "kept under §1 by" not in e1["E1"].reasons


def test_a_license_granted_within_the_window_is_not_called_under_utilized(
    adopted: Policy,
) -> None:
    """NEW was granted a month ago (by an approved appeal, say): its 0 client entries do not
    show it is under-utilized, so it is not ranked first for removal (a reading: §4 gives
    no period; the §1.1 window is the one the counts are for)."""
    licenses = [
        ce("OLD", "Multi", client_entries_window=5),
        lic(
            "2026-10-20",
            license_id="NEW",
            org="Multi",
            license_type="CE Access Only",
            client_entries_window=0,
            signed="2026-10-21",
        ),  # type: ignore[arg-type]
        lic("2024-01-01", last="2026-11-01", license_id="HP", org="Multi"),
    ]
    results = run(adopted, licenses)
    assert candidates(results) == ["OLD", "NEW"]
    reasons = items(results)["NEW"].reasons
    assert "under-utilized: not known, granted on 2026-10-20, within the window of" in reasons
    assert "under-utilized: yes" in items(results)["OLD"].reasons
    # The reading is a key: counted as any other license, NEW's 0 entries rank it first.
    counted = edited_policy(
        (
            "  under_utilized_at_most: 10",
            "  under_utilized_at_most: 10\n  new_licenses_under_utilized: true",
        )
    )
    assert candidates(run(counted, licenses)) == ["NEW", "OLD"]


def test_a_license_granted_again_does_not_carry_the_previous_holder_s_entries(
    adopted: Policy,
) -> None:
    """SPEC §2: what came before the grant belongs to the previous holder. MOVED was granted
    to a new user on 2026-10-20; its Last Client Data Entry (2026-05-24) and the 12 entries
    still in Client Entries (Window) are the previous holder's, so the agenda counts none
    for it, says why, and does not rank it on the old count."""
    moved = lic(
        "2026-10-20",
        last="2026-05-24",
        license_id="MOVED",
        org="Multi",
        license_type="CE Access Only",
        client_entries_window=12,
        signed="2026-10-21",
    )  # type: ignore[arg-type]
    licenses = [
        ce("OLD", "Multi", client_entries_window=5),
        moved,
        lic("2024-01-01", last="2026-11-01", license_id="HP", org="Multi"),
    ]
    counted = edited_policy(
        (
            "  under_utilized_at_most: 10",
            "  under_utilized_at_most: 10\n  new_licenses_under_utilized: true",
        )
    )
    for policy in (adopted, counted):
        results = run(policy, licenses)
        row = items(results)["MOVED"]
        assert row.client_entries_window == 0
        assert (
            "(the 12 client entries recorded in Client Entries (Window) came before it was"
            " granted on 2026-10-20, to the previous holder, and do not count)" in row.reasons
        )
    assert "its 0 client entries so far" in items(run(adopted, licenses))["MOVED"].reasons
    # Counted as any other license, its 0 entries (not the previous holder's 12) rank it first.
    assert candidates(run(counted, licenses)) == ["MOVED", "OLD"]


def test_a_pending_appeal_on_a_candidate_is_named(adopted: Policy) -> None:
    licenses = [
        ce("C", "Multi", client_entries_window=1),
        lic("2024-01-01", last="2026-11-01", license_id="HP", org="Multi"),
    ]
    appeals = (appeal("A-9", "CE allotment revocation", "2026-11-10", license_id="C"),)
    results = run(adopted, licenses, appeals=appeals)
    assert "appeal A-9 on this license is pending (CE allotment revocation, Coordinated" in (
        items(results)["C"].reasons
    )


def test_agenda_lists_available_regions_and_pending_requests(adopted: Policy) -> None:
    appeals = (
        appeal(
            "R1", "Additional allotment request", "2026-11-01", region="North", licenses_requested=2
        ),
        appeal("R2", "CE allotment denial", "2026-11-02", region="West"),
        appeal("R3", "Special request", "2026-11-02"),
    )
    results = run(adopted, [ce(f"N{i}", "Solo") for i in range(5)], appeals=appeals)
    available = [i.region for i in results.reassignment if i.item == "Licenses available"]
    assert available == ["South", "West"]
    requests = [i.reasons for i in results.reassignment if i.item == "Pending request"]
    assert len(requests) == 2
    assert requests[0].startswith("Appeal R1: Additional allotment request for 2 licenses")


def test_an_approved_ce_appeal_s_grant_is_named_where_the_region_s_licenses_are_counted(
    adopted: Policy,
) -> None:
    """§4: the CE Committee granted a license to a named organization (appeal A-2, decided
    2026-11-20, since the previous review): the agenda's available row for the region says
    whose it is, not a free slot, until the organization holds a CE license granted since."""
    grant = approved(
        "A-2",
        "CE allotment denial",
        region="North",
        licenses_requested=1,
        granted_from="Reassigned from West",
        decided_on=d("2026-11-20"),
    )
    results = run(adopted, [ce("N1", "Solo")], appeals=(grant,))
    assert [
        (g.appeal_id, g.organization, g.region, g.outstanding) for g in results.appeal_grants
    ] == [("A-2", "Solo", "North", 1)]
    [north] = [i for i in results.reassignment if i.region == "North" and not i.license_id]
    assert (north.item, north.organization) == ("Licenses available", "Solo")
    assert north.reasons == (
        "North: allotment 3 (+1 by appeal), 1 in use, so 3 licenses available, of which 1"
        " granted to Solo by appeal A-2 on 2026-11-20: issue it to them (§4); 2 licenses left"
        " to designate or reassign. §4"
    )
    # Issued: a CE license of Solo's in North granted on or after the decision.
    issued = lic(
        "2026-11-22", last="2026-11-23", license_id="N2", org="Solo", license_type="CE Access Only"
    )
    done = run(adopted, [ce("N1", "Solo"), issued], appeals=(grant,))
    assert not done.appeal_grants
    [north] = [i for i in done.reassignment if i.region == "North" and not i.license_id]
    assert north.reasons.endswith("so 2 licenses available to reassign. §4")
    # Decided before the previous review (one month back without history): not named.
    older = run(adopted, [ce("N1", "Solo")], appeals=(replace(grant, decided_on=d("2026-10-20")),))
    assert not older.appeal_grants
    # From the region's own allotment with none to spare: a row says so, and who acts.
    own = replace(grant, granted_from="Region allotment")
    full = run(adopted, [ce(f"N{i}", "Solo") for i in range(3)], appeals=(own,))
    [north] = [i for i in full.reassignment if i.region == "North" and not i.license_id]
    assert north.item == "Granted by appeal"
    assert north.reasons == (
        "North: allotment 3, 3 in use, so none available; approved appeals granted licenses"
        " still to be issued: 1 granted to Solo by appeal A-2 on 2026-11-20: issue it to them"
        " (§4), but North has none to spare for the 1 license granted: the Coordinated Entry"
        " Committee reassigns excess licenses from another region or requests more from HMIS,"
        " or the CE Lead frees one (§3, §4), before the rest can be issued. §4"
    )


# ------------------------------------------------------------------ self-pay


def test_self_pay_three_licenses_two_years(adopted: Policy) -> None:
    cost = estimate(adopted, 3, 2)
    assert cost.one_time == Decimal(555)
    assert cost.annual == Decimal(13_704)
    assert cost.total == Decimal(14_259)
    assert "$185 × 3" in cost.breakdown and "= $14,259" in cost.breakdown


def test_self_pay_fees_come_from_policy() -> None:
    policy = edited_policy(("Staff support fee: 2000", "Staff support fee: 2500"))
    assert estimate(policy, 1, 1).total == Decimal(185 + 284 + 2500)


@given(licenses=st.integers(1, 500), years=st.integers(1, 30))
def test_self_pay_formula(adopted: Policy, licenses: int, years: int) -> None:
    cost = estimate(adopted, licenses, years)
    assert cost.total == 185 * licenses + (284 + 2000) * licenses * years


@pytest.mark.parametrize(
    ("licenses", "years", "words"),
    [(0, 2, "licenses: 0 is less than 1."), (3, 0, "years: 0 is less than 1.")],
)
def test_self_pay_estimate_is_for_one_license_and_one_year_at_least(
    adopted: Policy, licenses: int, years: int, words: str
) -> None:
    """As the Self-Pay Requests sheet refuses such a row ("0 is less than 1")."""
    with pytest.raises(ValueError, match=words):
        estimate(adopted, licenses, years)


def test_self_pay_quotes_per_request(adopted: Policy) -> None:
    requests = (SelfPayRequestRow("SP-1", "Solo", 3, 2, row=2),)
    [quote] = run(adopted, [], self_pay_requests=requests).self_pay_estimates
    assert (quote.request_id, quote.licenses, quote.years, quote.total) == ("SP-1", 3, 2, 14259)


# ------------------------------------------------------------------ end to end


def test_recalc_fills_the_new_sheets_on_the_sample(tmp_path: Path) -> None:
    book = Path(shutil.copy(SAMPLE, tmp_path / "s.xlsx"))
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 0
    charges = sheet_dicts(book, "CE Charges")
    assert charges and all(r["Basis"] for r in charges)
    bases = " ".join(str(r["Basis"]) for r in charges)
    for phrase in (
        "Region entered",
        "Most average intakes",
        "Tie in average intakes",
        "(Counties sheet)",
    ):
        assert phrase in bases
    queue = sheet_dicts(book, "Appeals Queue")
    assert {r["Overdue"] for r in queue} == {"Yes", "No"}
    assert {r["Committee"] for r in queue} == {
        "Performance Committee",
        "Coordinated Entry Committee",
    }
    agenda = sheet_dicts(book, "Reassignment")
    assert agenda[0]["Rank"] == 1
    assert {r["Item"] for r in agenda} == {
        "Removal candidate",
        "Kept: last license",
        "Eligible for revocation",
        "Licenses available",
        "Pending request",
    }
    quotes = {r["Request ID"]: r["Total"] for r in sheet_dicts(book, "Self-Pay Estimates")}
    assert quotes["SP-1"] == 14259
    allotments = {r["Region"]: r for r in sheet_dicts(book, "Allotments")}
    assert all(isinstance(r["In Use"], int) for r in allotments.values())
    assert any(int(r["Available"]) < 0 for r in allotments.values())  # type: ignore[arg-type]
    # §3: every active CE license is counted, the uncharged ones on their own row.
    assert allotments["Not charged to a region"]["In Use"] == 2
    assert allotments["Total"]["In Use"] == 27
    assert allotments["Total"]["Available"] == -4
    assert "L-1021, L-1032" in str(allotments["Total"]["Explanation"])
    assert allotments["Total"]["In Use"] == sum(
        int(r["In Use"])  # type: ignore[arg-type]
        for k, r in allotments.items()
        if k != "Total"
    )


def test_foundation_inputs_raise_no_new_errors(tmp_path: Path) -> None:
    """A workbook with only the foundation's sheets still recalculates cleanly."""
    from tests.conftest import minimal_sheets, write_workbook

    row = {
        "License ID": "L-1",
        "User": "U",
        "Organization": "Org A",
        "License Type": "CE Access Only",
        "Granted On": dt.date(2024, 1, 1),
        "Last Client Data Entry": dt.date(2026, 11, 1),
    }
    book = write_workbook(tmp_path / "b.xlsx", minimal_sheets([row]))
    assert main(["recalc", str(book)]) == 0
    assert all(p["Severity"] != "Error" for p in sheet_dicts(book, "Problems"))


# ------------------------------------------- an unreadable cell holds back only its part


def _ce_workbook(path: Path, *, counties: list[list[object]], intakes: list[list[object]]) -> Path:
    licenses = [
        {
            "License ID": "a1",
            "User": "Ann",
            "Organization": "OA",
            "License Type": "CE Access Only",
            "Granted On": dt.date(2025, 1, 10),
            "First Sign-In": dt.date(2025, 1, 11),
            "Last Client Data Entry": dt.date(2026, 11, 1),
        },
        {
            "License ID": "b1",
            "User": "Bo",
            "Organization": "OB",
            "License Type": "CE Access Only",
            "Region": "R2",
            "Granted On": dt.date(2025, 1, 10),
            "First Sign-In": dt.date(2025, 1, 11),
            "Last Client Data Entry": dt.date(2026, 11, 1),
        },
    ]
    sheets = minimal_sheets(
        licenses, organizations=("OA", "OB"), regions=(("R1", None), ("R2", None))
    )
    sheets["Organizations"] = [["Organization", "County"], ["OA", "cA"], ["OB", "cB"]]
    sheets["Counties"] = [["County", "Region", "Population"], *counties]
    sheets["Intakes"] = [["Organization", "Region", "Average Intakes"], *intakes]
    return write_workbook(path, sheets)


def test_a_bad_county_population_keeps_the_county_s_region_for_charging(tmp_path: Path) -> None:
    """SPEC §3: an Error holds back only what it affects. A Counties row whose Population
    cannot be read still says which region its county is in: CE Charges is written, and
    only Allotments and Reassignment wait for the population."""
    book = _ce_workbook(
        tmp_path / "b.xlsx", counties=[["cA", "R1", "abc"], ["cB", "R2", 900]], intakes=[]
    )
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 1
    charges = {r["License ID"]: r["Charged Region"] for r in sheet_dicts(book, "CE Charges")}
    assert charges == {"a1": "R1", "b1": "R2"}
    problems = [str(r["Problem"]) for r in sheet_dicts(book, "Problems")]
    assert any("Population" in p or "number" in p for p in problems)
    assert not any("no Counties row names this region" in p for p in problems)
    assert not any("is not on the Counties sheet" in p for p in problems)


def test_an_unreadable_intakes_row_sets_aside_only_its_organization(tmp_path: Path) -> None:
    """A blank Average Intakes for OB leaves OB's licenses without an entered Region
    uncharged (counted in In Use), and charges every other license as usual."""
    book = _ce_workbook(
        tmp_path / "b.xlsx",
        counties=[["cA", "R1", 100], ["cB", "R2", 900]],
        intakes=[["OA", "R2", None]],
    )
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 1
    charges = {r["License ID"]: r for r in sheet_dicts(book, "CE Charges")}
    assert charges["b1"]["Charged Region"] == "R2"  # entered on the license: no intakes needed
    assert not charges["a1"]["Charged Region"]
    assert "Intakes row 2 could not be read" in str(charges["a1"]["Basis"])
    allotments = {r["Region"]: r for r in sheet_dicts(book, "Allotments")}
    assert (allotments["R1"]["Allotment"], allotments["R2"]["Allotment"]) == (2, 18)
    assert allotments["Total"]["In Use"] == 2


def test_a_ce_license_with_a_bad_cell_is_still_charged_to_the_region_entered(
    tmp_path: Path,
) -> None:
    """SPEC §3: a bad Last Client Data Entry makes the license Cannot judge; it does not
    change the Region its CE Lead entered (§3.2), so its region's In Use still counts it."""
    book = _ce_workbook(
        tmp_path / "b.xlsx", counties=[["cA", "R1", 100], ["cB", "R2", 900]], intakes=[]
    )
    workbook = openpyxl.load_workbook(book)
    try:
        workbook["Licenses"]["J3"] = "not a date"  # b1's Last Client Data Entry
        workbook.save(book)
    finally:
        workbook.close()
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 1
    charges = {r["License ID"]: r for r in sheet_dicts(book, "CE Charges")}
    assert charges["b1"]["Charged Region"] == "R2"
    assert "does not change where it is charged" in str(charges["b1"]["Basis"])
    allotments = {r["Region"]: r for r in sheet_dicts(book, "Allotments")}
    assert allotments["R2"]["In Use"] == 1


def test_two_intakes_rows_for_one_organization_and_region_are_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """§3.2 "as measured by average intakes": two averages for one organization and region
    (a row pasted twice, or "oa" and "OA") are not added together into a region's weight;
    which is right is not known, so that organization's CE licenses go uncharged (counted
    in use), and nothing is held back for the rest of the CoC (SPEC §3)."""
    book = _ce_workbook(
        tmp_path / "b.xlsx",
        counties=[["cA", "R1", 100], ["cB", "R2", 900]],
        intakes=[["OA", "R1", 10], ["oa ", "R1", 10], ["OA", "R2", 15]],
    )
    capsys.readouterr()
    assert main(["check", str(book), "--as-of", "2026-11-24", "--json"]) == 1
    import json

    report = json.loads(capsys.readouterr().out)
    errors = [p for p in report["problems"] if p["severity"] == "Error"]
    assert [p["cell"] for p in errors] == ["C2", "C3"]
    assert "OA has more than one Intakes row for R1 (rows 2, 3)" in errors[0]["problem"]
    assert report["sheets_held_back"] == []
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 1
    charges = {r["License ID"]: r for r in sheet_dicts(book, "CE Charges")}
    assert not charges["a1"]["Charged Region"]  # 10 + 10 in R1 would have outweighed R2's 15
    assert (
        "Not charged: OA has more than one Intakes row for R1 (rows 2, 3) (see Problems), so"
        " the region of its most average intakes is not known. It is counted as in use until"
        " it is fixed. §3.2"
    ) in str(charges["a1"]["Basis"])
    assert charges["b1"]["Charged Region"] == "R2"
    allotments = {r["Region"]: r for r in sheet_dicts(book, "Allotments")}
    assert (allotments["R1"]["In Use"], allotments["R2"]["In Use"]) == (0, 1)
    assert allotments["Not charged to a region"]["In Use"] == 1
    assert allotments["Total"]["In Use"] == 2


def test_a_repeated_intakes_row_leaves_only_its_organization_s_licenses_uncharged(
    tmp_path: Path,
) -> None:
    """The sample with Missouri Veterans Outreach Network's Region 1 row pasted again:
    the Error is on Problems, its license with a Region entered (L-1019, Region 2) is
    charged there as before, its other CE license (L-1022, by intakes Region 4) is Not
    charged and still in use, and Allotments, CE Charges and Reassignment are written
    for the whole CoC (SPEC §3: an Error holds back only what it affects)."""
    book = Path(shutil.copy(SAMPLE, tmp_path / "sample.xlsx"))
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 0
    before = {r["License ID"]: r for r in sheet_dicts(book, "CE Charges")}
    assert before["L-1022"]["Charged Region"] == "Region 4"
    workbook = openpyxl.load_workbook(book)
    try:
        workbook["Intakes"].append(["Missouri Veterans Outreach Network", "Region 1", 21])
        workbook.save(book)
    finally:
        workbook.close()
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 1
    book_ = openpyxl.load_workbook(book, read_only=True)
    try:
        titles = {name: str(book_[name]["A1"].value) for name in book_.sheetnames}
    finally:
        book_.close()
    for name in ("CE Charges", "Allotments", "Reassignment"):
        assert "HELD BACK" not in titles[name]
    problems = [r for r in sheet_dicts(book, "Problems") if r["Severity"] == "Error"]
    assert [(p["Sheet"], p["Cell"]) for p in problems] == [("Intakes", "C3"), ("Intakes", "C11")]
    charges = {r["License ID"]: r for r in sheet_dicts(book, "CE Charges")}
    assert charges["L-1019"]["Charged Region"] == "Region 2"
    assert str(charges["L-1019"]["Basis"]).startswith("Region entered on the license")
    assert not charges["L-1022"]["Charged Region"]
    basis = str(charges["L-1022"]["Basis"])
    assert "Missouri Veterans Outreach Network has more than one Intakes row for Region 1" in basis
    assert "(rows 3, 11)" in basis and "counted as in use until it is fixed" in basis
    others = {k: v["Charged Region"] for k, v in charges.items() if k != "L-1022"}
    assert others == {k: v["Charged Region"] for k, v in before.items() if k != "L-1022"}
    allotments = {r["Region"]: r for r in sheet_dicts(book, "Allotments")}
    assert allotments["Region 4"]["In Use"] == before_in_use(before, "Region 4") - 1
    assert "L-1022" in str(allotments["Not charged to a region"]["Explanation"])
    assert allotments["Total"]["In Use"] == len(before)
    agenda = {r["License ID"]: r for r in sheet_dicts(book, "Reassignment") if r["License ID"]}
    assert "L-1022" in agenda and not agenda["L-1022"]["Region"]


def before_in_use(charges: dict[str, dict[str, object]], region: str) -> int:
    return sum(1 for c in charges.values() if c["Charged Region"] == region)


def _sample_with(tmp_path: Path, sheet: str, cell: str, value: object) -> Path:
    book = Path(shutil.copy(SAMPLE, tmp_path / "sample.xlsx"))
    workbook = openpyxl.load_workbook(book)
    workbook[sheet][cell] = value
    workbook.save(book)
    workbook.close()
    return book


def test_an_organization_on_two_rows_holds_back_what_its_county_decides(
    tmp_path: Path,
) -> None:
    """SPEC §3: which of two Organizations rows is right is not known, so the region its
    CE licenses are charged to is not either: CE Charges, Allotments and Reassignment are
    held back, whichever order the rows are in; the inactivity findings are not."""
    book = Path(shutil.copy(SAMPLE, tmp_path / "sample.xlsx"))
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 0  # last month's sheets
    workbook = openpyxl.load_workbook(book)
    try:
        sheet = workbook["Organizations"]
        first = [c.value for c in sheet[2]]
        sheet.append([first[0], "Other County", *first[2:]])
        workbook.save(book)
    finally:
        workbook.close()
    assert main(["recalc", str(book), "--as-of", "2026-11-24", "--json"]) == 1
    book_ = openpyxl.load_workbook(book, read_only=True)
    try:
        titles = {name: str(book_[name]["A1"].value) for name in book_.sheetnames}
    finally:
        book_.close()
    for name in ("CE Charges", "Allotments", "Reassignment"):
        assert "HELD BACK" in titles[name] and "name the same organization" in titles[name]
    assert "HELD BACK" not in titles["Inactivity Report"]


def test_one_bad_population_is_one_error_not_one_per_county(tmp_path: Path) -> None:
    """A Regions row set aside for its Population is still on the Regions sheet: the
    counties, licenses and appeals naming its region are not reported as naming an
    unknown region (SPEC §3: an Error holds back only what it affects)."""
    book = _sample_with(tmp_path, "Regions", "B3", "lots")
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 1
    problems = sheet_dicts(book, "Problems")
    errors = [p for p in problems if p["Severity"] == "Error"]
    assert [(e["Sheet"], e["Cell"]) for e in errors] == [("Regions", "B3")]
    assert not any("not on the Regions sheet" in str(p["Problem"]) for p in problems)


def test_a_missing_licenses_column_does_not_make_appeals_name_unknown_licenses(
    tmp_path: Path,
) -> None:
    book = _sample_with(tmp_path, "Licenses", "H1", "Granted")  # was "Granted On"
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 1
    problems = [str(p["Problem"]) for p in sheet_dicts(book, "Problems")]
    assert any('no "Granted On" column' in p for p in problems)
    assert not any("not on the Licenses sheet" in p for p in problems)


# ------------------------------------------------- §4 approved appeals: what they change


def approved(appeal_id: str, reason: str, **fields: object) -> AppealRow:
    values: dict[str, object] = {
        # An organization in the appeal's region (§3: Tied is in Butler County, South).
        "organization": "Tied" if fields.get("region") == "South" else "Solo",
        "decision": "Approved",
        "decided_on": d("2026-10-20"),
        "row": int(appeal_id.strip("A-")) + 1,
    }
    values.update(fields)
    return appeal(appeal_id, reason, "2026-10-01", **values)


def test_a_reassignment_beyond_the_region_s_excess_is_applied_and_warned(
    adopted: Policy,
) -> None:
    """§4 "may reassign excess allotted licenses from other regions": North (allotment 3,
    one in use) has 2 to spare; an appeal that takes 5 is applied as recorded, warned."""
    appeals = (
        approved(
            "A-2",
            "Additional allotment request",
            region="South",
            licenses_requested=5,
            granted_from="Reassigned from North",
        ),
    )
    results = run(adopted, [ce("N1", "Solo")], appeals=appeals)
    regions = {a.region: a for a in results.allotments}
    north = regions["North"]
    assert (north.allotment, north.added_by_appeal, north.in_use, north.available) == (3, -5, 1, -3)
    assert regions["South"].added_by_appeal == 5
    assert (
        "-5 by appeal A-2: licenses reassigned to South, more than the 2 licenses North had"
        " available on 2026-10-20, when it was decided, leaving it 4 below the §2 minimum of"
        " 2; see Problems" in north.explanation
    )
    [warning] = [p for p in results.problems if p.where.sheet == "Appeals"]
    assert (warning.severity, warning.where.row, warning.where.column) == (
        "Warning",
        3,
        "Granted From",
    )
    assert warning.problem == (
        "Appeal A-2 reassigns 5 licenses from North, which had 2 licenses available on"
        " 2026-10-20, when it was decided (allotment 3, 1 in use then); §4 lets the CE"
        " committee reassign excess allotted licenses. The Allotments apply the recorded"
        " decision: North now holds -2 licenses, 5 below its allotment of 3 and 4 below the"
        " §2 minimum of 2, and its Available that day was -3."
    )
    assert "reassign at most 2 licenses from North" in warning.how_to_fix


def test_reassignments_within_the_excess_are_counted_in_the_order_decided(
    adopted: Policy,
) -> None:
    """West has 7 to spare: 4 then 3 take it all (no Warning), a third of 1 does not fit."""
    appeals = (
        approved(
            "A-2",
            "CE allotment denial",
            region="South",
            licenses_requested=4,
            granted_from="Reassigned from West",
        ),
        approved(
            "A-3",
            "CE allotment denial",
            region="North",
            licenses_requested=3,
            granted_from="Reassigned from West",
        ),
    )
    assert not run(adopted, [], appeals=appeals).problems
    later = approved(
        "A-4",
        "CE allotment denial",
        region="North",
        licenses_requested=1,
        granted_from="Reassigned from West",
        decided_on=d("2026-11-01"),
    )
    results = run(adopted, [], appeals=(later, *appeals))  # sheet order is not decision order
    [warning] = results.problems
    assert warning.where.row == 5
    assert warning.problem.startswith(
        "Appeal A-4 reassigns 1 license from West, which had 0 licenses available on"
        " 2026-11-01, when it was decided (allotment 7 -7 by earlier appeals, 0 in use then)"
    )
    assert "reassign none from West" in warning.how_to_fix


def test_a_license_granted_after_a_reassignment_does_not_make_it_beyond_the_excess(
    tmp_path: Path,
) -> None:
    """§4 is judged on the day the appeal was decided: the sample's A-109 (decided
    2026-10-14) moved Region 6's spare license to Region 7; a CE license granted in Region
    6 on 2026-12-12 puts Region 6 over today, but does not make the committee's October
    decision one that took more than Region 6 had to spare, in Problems, the Allotments or
    the CE packet."""
    from pypdf import PdfReader

    book = Path(shutil.copy(SAMPLE, tmp_path / "sample.xlsx"))
    workbook = openpyxl.load_workbook(book)
    try:
        sheet = workbook["Licenses"]
        head = [c.value for c in sheet[1]]
        row = next(r for r in range(2, sheet.max_row + 2) if sheet.cell(r, 1).value is None)
        values: dict[str, str | dt.date] = {
            "License ID": "L-1168",
            "User": "Test User",
            "Organization": "Lebanon Community Shelter",  # Laclede County: Region 6
            "License Type": "CE Access Only",
            "Granted On": dt.date(2026, 12, 12),
            "First Sign-In": dt.date(2026, 12, 12),
        }
        for column, value in values.items():
            sheet.cell(row, head.index(column) + 1).value = value
        workbook.save(book)
    finally:
        workbook.close()
    assert main(["recalc", str(book), "--as-of", "2026-12-24"]) == 0
    problems = [str(p["Problem"]) for p in sheet_dicts(book, "Problems")]
    assert not [p for p in problems if "A-109" in p]
    charges = {str(c["License ID"]): c for c in sheet_dicts(book, "CE Charges")}
    assert charges["L-1168"]["Charged Region"] == "Region 6"
    region6 = next(r for r in sheet_dicts(book, "Allotments") if r["Region"] == "Region 6")
    # Today Region 6 is over by one: the later grant, not the October reassignment.
    assert (region6["Allotment"], region6["Added By Appeal"], region6["In Use"]) == (2, -1, 2)
    assert region6["Available"] == -1
    explanation = str(region6["Explanation"])
    assert "-1 by appeal A-109: license reassigned to Region 7 (§4)." in explanation
    assert "more than" not in explanation
    pdf = tmp_path / "ce.pdf"
    assert (
        main(
            [
                "packet",
                str(book),
                "--committee",
                "ce",
                "--as-of",
                "2026-12-24",
                "--output",
                str(pdf),
            ]
        )
        == 0
    )
    text = " ".join(" ".join(p.extract_text() or "" for p in PdfReader(pdf).pages).split())
    assert "-1 by appeal A-109: license reassigned to Region 7 (§4)" in text
    assert "available before it" not in text and "had available on" not in text


def test_a_license_revoked_after_a_reassignment_was_in_use_on_the_day_it_was_decided(
    adopted: Policy,
) -> None:
    """North (allotment 3) had two CE licenses in use on 2026-10-20, when A-2 took two of
    its licenses: it had one to spare that day, so A-2 is warned, though one of the two was
    revoked on 2026-11-01 and today North would have two to spare. A license revoked on
    the decision day itself was not in use that day."""
    appeals = (
        approved(
            "A-2",
            "Additional allotment request",
            region="South",
            licenses_requested=2,
            granted_from="Reassigned from North",
        ),
    )
    licenses = [
        ce("N1", "Solo"),
        ce("N2", "Solo", revoked_on="2026-11-01"),
        ce("N3", "Solo", revoked_on="2026-10-20"),
    ]
    results = run(adopted, licenses, appeals=appeals)
    north = next(a for a in results.allotments if a.region == "North")
    assert (north.allotment, north.added_by_appeal, north.in_use, north.available) == (3, -2, 1, 0)
    [warning] = [p for p in results.problems if p.where.sheet == "Appeals"]
    assert (warning.where.row, warning.where.column) == (3, "Granted From")
    assert warning.problem == (
        "Appeal A-2 reassigns 2 licenses from North, which had 1 license available on"
        " 2026-10-20, when it was decided (allotment 3, 2 in use then); §4 lets the CE"
        " committee reassign excess allotted licenses. The Allotments apply the recorded"
        " decision: North now holds 1 license, 2 below its allotment of 3 and 1 below the"
        " §2 minimum of 2, and its Available that day was -1."
    )
    assert "reassign at most 1 license from North" in warning.how_to_fix
    assert (
        "-2 by appeal A-2: licenses reassigned to South, more than the 1 license North had"
        " available on 2026-10-20, when it was decided, leaving it 1 below the §2 minimum"
        " of 2; see Problems" in north.explanation
    )
    assert [c.license_id for c in results.ce_charges] == ["N1"], "CE Charges: today's only"


def test_a_license_granted_after_a_reassignment_was_not_in_use_on_the_day_it_was_decided(
    adopted: Policy,
) -> None:
    """North (allotment 3) had one CE license in use on 2026-10-20, so A-2 took two of its
    three spare: no Warning, though a license granted since puts North over today."""
    appeals = (
        approved(
            "A-2",
            "Additional allotment request",
            region="South",
            licenses_requested=2,
            granted_from="Reassigned from North",
        ),
    )
    later = lic(
        "2026-10-21",
        signed="2026-10-22",
        last="2026-11-01",
        license_id="N2",
        org="Solo",
        license_type="CE Access Only",
    )
    licenses = [ce("N1", "Solo"), later]
    results = run(adopted, licenses, appeals=appeals)
    assert not results.problems
    north = next(a for a in results.allotments if a.region == "North")
    assert (north.added_by_appeal, north.in_use, north.available) == (-2, 2, -1)
    assert "more than" not in north.explanation


def test_a_reassignment_from_the_region_granted_to_changes_nothing(adopted: Policy) -> None:
    appeals = (
        approved(
            "A-2",
            "Additional allotment request",
            region="South",
            licenses_requested=1,
            granted_from="Reassigned from South",
        ),
    )
    results = run(adopted, [], appeals=appeals)
    assert all(a.added_by_appeal == 0 for a in results.allotments)
    [warning] = results.problems
    assert (warning.severity, warning.where.column) == ("Warning", "Granted From")
    assert warning.problem == (
        'Appeal A-2: Granted From "Reassigned from South" names South, the region the'
        " licenses are granted to; §4 reassigns licenses from other regions, so nothing is"
        " reassigned and the Allotments do not change for it."
    )


@pytest.mark.parametrize(
    ("count", "words"), [(1, "an additional license"), (2, "2 additional licenses")]
)
def test_additional_licenses_from_hmis_are_counted_in_words(
    adopted: Policy, count: int, words: str
) -> None:
    appeals = (
        approved(
            "A-2",
            "Additional allotment request",
            region="North",
            licenses_requested=count,
            granted_from="Additional from HMIS",
        ),
    )
    [north] = [a for a in run(adopted, [], appeals=appeals).allotments if a.region == "North"]
    assert f"+{count} by appeal A-2: {words} from HMIS (§4)." in north.explanation


# ----------------------------------------- §4 one routing: queue, agenda, allotments, Problems


def revoked_ce(license_id: str, reason: str, region: str | None = "North") -> LicenseRow:
    return ce(
        license_id,
        "Solo",
        region=region,
        revoked_on=d("2026-06-01"),
        revoked_by="CE Lead",
        revocation_reason=reason,
    )


def test_an_appeal_of_a_ce_revocation_is_on_the_ce_agenda_whatever_its_reason(
    adopted: Policy,
) -> None:
    """The queue lists it for the CE Committee, so the Reassignment agenda does too; the
    revocation is older than the previous review, and Problems still warns, once."""
    licenses = [revoked_ce("GONE", "CE allotment §3"), ce("HP", "Solo")]
    appeals = (appeal("A-7", "Inactivity revocation", "2026-10-01", license_id="GONE", row=8),)
    results = run(adopted, licenses, appeals=appeals)
    [queued] = results.appeals_queue
    assert queued.committee == "Coordinated Entry Committee"
    [request] = [i for i in results.reassignment if i.item == "Pending request"]
    assert request.reasons.startswith("Appeal A-7: Inactivity revocation, pending 54 days")
    assert "; North has" in request.reasons
    assert not results.revocations_done  # revoked before the previous review
    [warning] = [p for p in results.problems if p.where.sheet == "Appeals"]
    assert (warning.where.row, warning.where.column) == (8, "Reason")
    assert warning.problem == (
        "Appeal A-7's Reason (Inactivity revocation) sends it to the Performance Committee,"
        " but license GONE was revoked for CE allotment §3, which the Coordinated Entry"
        " Committee hears (§4)."
    )


def test_a_revocation_after_the_as_of_date_routes_nothing_in_a_back_dated_run(
    adopted: Policy,
) -> None:
    """SPEC §2: a back-dated run sees the workbook as it stood then. A CE revocation dated
    after the as-of date is not known then: the appeal filed before it is heard where its
    Reason sends it, and Problems does not warn that it goes to the wrong committee."""
    later = ce(
        "GONE",
        "Solo",
        region="North",
        revoked_on=AS_OF + dt.timedelta(days=8),
        revoked_by="CE Lead",
        revocation_reason="CE allotment §3",
    )
    appeals = (appeal("A-7", "Inactivity revocation", "2026-10-01", license_id="GONE", row=8),)
    results = run(adopted, [later, ce("HP", "Solo")], appeals=appeals)
    assert not [p for p in results.problems if p.where.sheet == "Appeals"]
    [queued] = results.appeals_queue
    assert queued.committee == "Performance Committee"
    # On a later as-of date the revocation is known: the Warning and the CE Committee.
    inputs = Inputs(
        licenses=(later, ce("HP", "Solo")),
        regions=REGIONS,
        counties=COUNTIES,
        organizations=ORGS,
        appeals=appeals,
    )
    after = engine.recalculate(adopted, inputs, AS_OF + dt.timedelta(days=10))
    assert [p.where.column for p in after.problems if p.where.sheet == "Appeals"] == ["Reason"]
    assert [q.committee for q in after.appeals_queue] == ["Coordinated Entry Committee"]


def test_an_approved_ce_reason_on_an_inactivity_revocation_adds_nothing(adopted: Policy) -> None:
    licenses = [revoked_ce("GONE", "Inactivity §1.1")]
    appeals = (
        approved(
            "A-2",
            "CE allotment revocation",
            license_id="GONE",
            region="North",
            licenses_requested=2,
            granted_from="Additional from HMIS",
        ),
    )
    results = run(adopted, licenses, appeals=appeals)
    assert all(a.added_by_appeal == 0 for a in results.allotments)
    warnings = [p for p in results.problems if p.where.sheet == "Appeals"]
    assert [(p.where.column, p.severity) for p in warnings] == [
        ("Granted From", "Warning"),
        ("Reason", "Warning"),
    ] or [(p.where.column, p.severity) for p in warnings] == [
        ("Reason", "Warning"),
        ("Granted From", "Warning"),
    ]
    [granted] = [p for p in warnings if p.where.column == "Granted From"]
    assert granted.problem == (
        'Appeal A-2 is approved with Granted From "Additional from HMIS", but it is not a CE'
        " allotment appeal: Appeal A-2's Reason (CE allotment revocation) sends it"
        " to the Coordinated Entry Committee, but license GONE was revoked for Inactivity"
        " §1.1, which the Performance Committee hears (§4). So the Allotments do not change"
        " for it."
    )


def test_an_approved_inactivity_reason_on_a_ce_revocation_adds_licenses(adopted: Policy) -> None:
    licenses = [revoked_ce("GONE", "CE allotment §3")]
    appeals = (
        approved(
            "A-2",
            "Inactivity revocation",
            license_id="GONE",
            region="North",
            licenses_requested=2,
            granted_from="Additional from HMIS",
        ),
    )
    results = run(adopted, licenses, appeals=appeals)
    [north] = [a for a in results.allotments if a.region == "North"]
    assert north.added_by_appeal == 2
    assert [p.where.column for p in results.problems if p.where.sheet == "Appeals"] == ["Reason"]


def test_a_recent_rerouted_revocation_is_warned_once(adopted: Policy) -> None:
    """Revocations Done names the rerouted appeal too; Problems has one Warning for it."""
    licenses = [
        ce(
            "GONE",
            "Solo",
            region="North",
            revoked_on=d("2026-11-10"),
            revoked_by="CE Lead",
            revocation_reason="CE allotment §3",
        )
    ]
    appeals = (appeal("A-7", "Inactivity revocation", "2026-11-12", license_id="GONE", row=8),)
    results = run(adopted, licenses, appeals=appeals)
    [done] = results.revocations_done
    assert "Appeal A-7's Reason (Inactivity revocation) sends it to the Performance" in (
        done.explanation
    )
    assert len([p for p in results.problems if p.where.sheet == "Appeals"]) == 1


# ------------------------------------------------ §4 a pending CE appeal's region


def test_a_ce_appeal_with_no_region_is_for_its_license_s_charged_region(adopted: Policy) -> None:
    licenses = [ce("C", "Solo"), ce("HP", "Solo")]  # Solo is in Adair County: North
    appeals = (
        appeal("A-2", "CE allotment denial", "2026-11-01", license_id="C", licenses_requested=1),
    )
    results = run(adopted, licenses, appeals=appeals)
    [queued] = results.appeals_queue
    assert queued.region == "North"
    note = (
        "Its Region is blank: license C is charged to North (CE Charges), so it is taken as"
        " the appeal's region."
    )
    assert note in queued.explanation
    [request] = [i for i in results.reassignment if i.item == "Pending request"]
    assert request.region == "North"
    assert "originating region is not known" not in request.reasons
    assert request.reasons.endswith(f"; North has 1 license available. {note[:-1]}. §4")


def test_a_request_for_a_region_not_on_the_regions_sheet_says_so(adopted: Policy) -> None:
    appeals = (appeal("A-2", "Additional allotment request", "2026-11-01", region="East"),)
    [request] = [
        i for i in run(adopted, [], appeals=appeals).reassignment if i.item == "Pending request"
    ]
    assert request.reasons.endswith(
        "; East is not on the Regions sheet, so its balance is not known. §4"
    )


def test_a_kept_license_s_duties_do_not_claim_a_rank(adopted: Policy) -> None:
    orgs = (*ORGS[:3], OrganizationRow("Lapsed", "Adair County", level3_access_point=False, row=6))
    results = run(adopted, [ce("K", "Lapsed")], organizations=orgs)
    [kept] = [i for i in results.reassignment if i.license_id]
    assert (kept.item, kept.rank) == ("Kept: last license", None)
    assert "(§3), which would rank it first among candidates;" in kept.reasons
    assert "so it is ranked first" not in kept.reasons


def test_a_ce_lead_is_told_of_a_pending_appeal_on_a_license_in_the_region(tmp_path: Path) -> None:
    """End to end: A-1 names L-2 (Region 2) and leaves Region blank; the Reassignment row
    and Region 2's CE Lead notice list it for Region 2."""
    licenses = [
        {
            "License ID": lid,
            "User": "U",
            "Organization": org,
            "License Type": "CE Access Only",
            "Region": region,
            "Granted On": dt.date(2025, 1, 10),
            "First Sign-In": dt.date(2025, 1, 11),
            "Last Client Data Entry": dt.date(2026, 11, 1),
        }
        for lid, org, region in (("L-1", "Org A", "Region 1"), ("L-2", "Org B", "Region 2"))
    ]
    appeals = [
        ["Appeal ID", "Filed On", "Organization", "License ID", "Region", "Reason", "Decision"],
        ["A-1", dt.date(2026, 11, 1), "Org B", "L-2", None, "CE allotment denial", "Pending"],
    ]
    sheets = minimal_sheets(licenses, organizations=("Org A", "Org B"), extra={"Appeals": appeals})
    book = write_workbook(tmp_path / "b.xlsx", sheets)
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 0
    [request] = [r for r in sheet_dicts(book, "Reassignment") if r["Item"] == "Pending request"]
    assert request["Region"] == "Region 2"
    assert "; Region 2 has 15 licenses available. Its Region is blank: license L-2 is" in str(
        request["Reasons"]
    )
    [queued] = sheet_dicts(book, "Appeals Queue")
    assert queued["Region"] == "Region 2"
    folder = tmp_path / "drafts"
    assert main(["notices", str(book), "--output", str(folder), "--as-of", "2026-11-24"]) == 0
    [notice] = folder.glob("Region 2 - CE Lead notice *.eml")
    text = notice.read_text(encoding="utf-8").replace("=\n", "")
    assert "before the Coordinated Entry Committee (1):" in text
    assert "A-1, Org B: CE allotment denial, filed 2026-11-01" in text


# ------------------------------------------------- the policy's routing keys (§4)


def test_routing_an_allotment_request_elsewhere_keeps_its_approval(adopted: Policy) -> None:
    """appeals.routing says which committee hears a reason; what an approval changes
    follows from the reason: an approved Additional allotment request changes the
    Allotments whichever committee the policy sends it to (SPEC §4)."""
    from tests.conftest import policy_with

    appeals = (
        approved(
            "A-2",
            "Additional allotment request",
            region="South",
            licenses_requested=1,
            granted_from="Additional from HMIS",
        ),
        appeal("A-3", "Additional allotment request", "2026-11-01", region="North", row=4),
    )
    for policy in (adopted, policy_with(**{"Additional allotment request": "performance"})):
        results = run(policy, [ce("N1", "Solo")], appeals=appeals)
        south = next(a for a in results.allotments if a.region == "South")
        assert south.added_by_appeal == 1
        assert not [p for p in results.problems if p.where.sheet == "Appeals"]
        [queued] = results.appeals_queue
        heard_by = policy.committees[policy.appeal_routing["Additional allotment request"]]
        assert (queued.committee, queued.policy_clause) == (heard_by, "§4 CE-Allotment Appeal")


def test_routing_keys_decide_who_hears_the_appeal_of_a_revocation() -> None:
    """With Inactivity revocation routed to the Coordinated Entry Committee, the appeal of
    an inactivity revocation is listed for it, and no Warning tells staff to correct a
    Reason that matches; a Special request heard there is still no allotment decision."""
    from tests.conftest import policy_with

    policy = policy_with(
        **{"Inactivity revocation": "coordinated_entry", "Special request": "coordinated_entry"}
    )
    gone = lic(
        "2020-01-01",
        last="2025-01-01",
        license_id="GONE",
        org="Solo",
        revoked_on="2026-11-10",
        revoked_by="HMIS Lead",
        revocation_reason="Inactivity §1.1",
    )
    appeals = (
        appeal("A-1", "Inactivity Appeal", "2026-11-12", license_id="GONE", row=2),
        approved("A-2", "Special request", license_id="KEEP"),
    )
    keep = lic("2020-01-01", last="2025-01-01", license_id="KEEP", org="Solo")
    results = run(policy, [gone, keep], appeals=appeals)
    [queued] = results.appeals_queue
    assert queued.committee == "Coordinated Entry Committee"
    assert queued.policy_clause == "§4 Inactivity Appeal"
    assert not [p for p in results.problems if p.where.sheet == "Appeals"]
    assert "Special request A-2" in next(
        x.exception for x in results.decisions if x.license_id == "KEEP"
    )


def test_a_license_being_revoked_with_an_appeal_pending_says_so(adopted: Policy) -> None:
    """The Reassignment row of a CE license eligible under §1 names the appeal pending on
    it (as the Appeals Queue lists it), so the CE Committee does not count on its slot
    while the Performance Committee has not answered."""
    licenses = [
        lic(
            "2020-01-01",
            last="2025-01-01",
            license_id="OLD",
            org="Solo",
            license_type="CE Access Only",
        ),
        ce("N1", "Solo"),
    ]
    appeals = (appeal("A-1", "Special request", "2026-11-01", license_id="OLD", row=2),)
    results = run(adopted, licenses, appeals=appeals)
    [row] = [r for r in results.reassignment if r.license_id == "OLD"]
    assert row.item == "Eligible for revocation"
    assert "appeal A-1 on this license is pending (Special request, Performance Committee)" in (
        row.reasons
    )
    assert row.reasons.endswith(". §4")
