"""SPEC §8, the monthly review, in the engine: history, the watch list, revocations on record."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import replace

import engine
from engine.model import (
    AppealRow,
    HistoryRow,
    Inputs,
    LicenseRow,
    OrganizationRow,
    Policy,
    RegionRow,
)
from tests.conftest import d, lic, policy_with

REGIONS = (RegionRow("Region 1", 596_788, row=2), RegionRow("Rest", 2_312_642, row=3))
ORGS = (OrganizationRow("Org A", row=2), OrganizationRow("Org B", row=3))


def review(
    policy: Policy,
    licenses: list[LicenseRow],
    as_of: str,
    history: tuple[HistoryRow, ...] | None = None,
    **extra: object,
) -> engine.Results:
    inputs = Inputs(
        regions=REGIONS,
        organizations=ORGS,
        licenses=tuple(licenses),
        history=history,
        **extra,  # type: ignore[arg-type]
    )
    return engine.recalculate(policy, inputs, d(as_of))


def recorded(results: engine.Results, run_at: str, before: tuple[HistoryRow, ...] = ()):
    """History as the workbook holds it after this run appended its rows."""
    stamp = dt.datetime.fromisoformat(run_at)
    return before + tuple(dataclasses.replace(e, run_at=stamp) for e in results.history_entries)


def decisions(results: engine.Results) -> dict[str, engine.model.LicenseDecision]:
    return {x.license_id: x for x in results.decisions}


# -------------------------------------------------------------------------- history


def test_three_monthly_reviews(adopted: Policy) -> None:
    keeper = lic("2020-01-01", last="2026-09-20", license_id="KEEP")  # Org A stays active
    old = lic("2020-01-01", last="2025-12-01", license_id="OLD")  # eligible all along
    lapsing = lic("2020-01-01", last="2026-04-10", license_id="LAPSING")  # eligible from 10-11
    cleared = lic("2020-01-01", last="2025-11-01", license_id="CLEARED")  # data entry in Oct
    revoked = lic("2020-01-01", last="2025-10-01", license_id="REVOKED")  # revoked in Nov
    month1 = [keeper, old, lapsing, cleared, revoked]

    first = review(adopted, month1, "2026-09-24")
    assert first.previous_review is None
    assert len(first.history_entries) == 5  # the first review records every license
    rows = decisions(first)
    assert rows["OLD"].eligible_since == d("2026-09-24")
    assert rows["OLD"].change_since_last_review == ""  # no earlier review to compare with
    assert not rows["LAPSING"].eligible
    history = recorded(first, "2026-09-24 10:00")

    month2 = [
        keeper,
        old,
        lapsing,
        dataclasses.replace(cleared, last_client_data_entry=d("2026-10-20")),
        revoked,
    ]
    second = review(adopted, month2, "2026-10-24", history)
    assert second.previous_review == d("2026-09-24")
    rows = decisions(second)
    assert rows["OLD"].change_since_last_review == "Still eligible"
    assert rows["OLD"].eligible_since == d("2026-09-24")
    assert rows["LAPSING"].change_since_last_review == "Newly eligible"
    assert rows["LAPSING"].eligible_since == d("2026-10-24")
    assert rows["CLEARED"].change_since_last_review == (
        "No longer eligible: client data entered on 2026-10-20"
    )
    assert rows["CLEARED"].eligible_since is None
    assert {e.license_id for e in second.history_entries} == {"LAPSING", "CLEARED"}
    history = recorded(second, "2026-10-24 10:00", history)

    month3 = [
        keeper,
        old,
        lapsing,
        month2[3],
        dataclasses.replace(
            revoked,
            revoked_on=d("2026-11-02"),
            revoked_by="HMIS Lead",
            revocation_reason="Inactivity §1.1",
        ),
    ]
    third = review(adopted, month3, "2026-11-24", history)
    rows = decisions(third)
    assert third.previous_review == d("2026-10-24")
    assert rows["OLD"].eligible_since == d("2026-09-24")
    assert rows["LAPSING"].change_since_last_review == "Still eligible"
    assert rows["LAPSING"].eligible_since == d("2026-10-24")
    assert rows["REVOKED"].finding == "Not judged"
    assert rows["REVOKED"].change_since_last_review == "No longer eligible: revoked on 2026-11-02"
    assert [e.license_id for e in third.history_entries] == ["REVOKED"]
    [done] = third.revocations_done
    assert (done.license_id, done.against_policy) == ("REVOKED", False)
    history = recorded(third, "2026-11-24 10:00", history)

    # The same review run again: nothing new to record, the same columns.
    again = review(adopted, month3, "2026-11-24", history)
    assert again.history_entries == ()
    assert decisions(again)["LAPSING"].change_since_last_review == "Still eligible"
    # A back-dated run reads history up to its date and records nothing.
    back = review(adopted, month2, "2026-10-24", history)
    assert back.history_entries == ()
    assert decisions(back)["LAPSING"].change_since_last_review == "Newly eligible"


def test_a_correction_run_again_on_the_same_day_keeps_the_stretch_of_eligibility(
    adopted: Policy,
) -> None:
    """A run repeated on the same As Of replaces that day's earlier one: a typo corrected
    and run again must not restart Eligible Since (the report said "Still eligible" beside
    an Eligible Since of today)."""
    keeper = lic("2020-01-01", last="2026-09-20", license_id="KEEP")
    old = lic("2020-01-01", last="2025-12-01", license_id="OLD")
    history = recorded(review(adopted, [keeper, old], "2026-10-24"), "2026-10-24 10:00")
    exempt = dataclasses.replace(old, level4_list_holder=True)  # a typo, on 11-24
    typo = review(adopted, [keeper, exempt], "2026-11-24", history)
    assert not decisions(typo)["OLD"].eligible
    history = recorded(typo, "2026-11-24 10:00", history)
    again = review(adopted, [keeper, old], "2026-11-24", history)  # corrected, run again
    rows = decisions(again)
    assert rows["OLD"].change_since_last_review == "Still eligible"
    assert rows["OLD"].eligible_since == d("2026-10-24")
    history = recorded(again, "2026-11-24 11:00", history)
    # The last run of a day stands for that day in later reviews too.
    later = decisions(review(adopted, [keeper, old], "2026-12-24", history))
    assert later["OLD"].eligible_since == d("2026-10-24")


def test_a_license_granted_since_the_previous_review_is_new_whenever_its_row_was_typed(
    adopted: Policy,
) -> None:
    """SPEC §8 Change Since Last Review: a row typed ahead of its grant was reviewed as not
    yet a license; granted since the previous review, it is new all the same. A license
    granted after the as-of date is not a license yet: nothing has changed for it."""
    keeper = lic("2020-01-01", last="2026-09-20", license_id="KEEP")
    typed_early = lic("2026-11-01", signed=None, license_id="EARLY")  # on the sheet in October
    future = lic("2026-12-10", signed=None, license_id="FUTURE")
    history = recorded(
        review(adopted, [keeper, typed_early, future], "2026-10-24"), "2026-10-24 10:00"
    )
    assert {h.license_id: h.finding for h in history}["EARLY"] == "Not judged"
    typed_late = lic("2026-11-05", signed=None, license_id="LATE")  # typed in November
    rows = decisions(
        review(adopted, [keeper, typed_early, future, typed_late], "2026-11-24", history)
    )
    assert rows["EARLY"].change_since_last_review == "New license"
    assert rows["LATE"].change_since_last_review == "New license"
    assert rows["FUTURE"].finding == "Not judged"
    assert rows["FUTURE"].change_since_last_review == ""
    assert rows["KEEP"].change_since_last_review == ""


def test_a_license_granted_again_starts_a_new_stretch_of_eligibility(adopted: Policy) -> None:
    """SPEC §2: what came before the grant belongs to the previous holder, and so does its
    eligibility on the reviews before it: Eligible Since starts again, and it is new."""
    keeper = lic("2020-01-01", last="2026-09-20", license_id="KEEP")
    old = lic("2020-01-01", last="2025-12-01", license_id="HANDED")
    history = recorded(review(adopted, [keeper, old], "2026-10-24"), "2026-10-24 10:00")
    assert {h.license_id: h.eligible for h in history}["HANDED"]  # the previous holder's
    # Granted to a new user on 10-25 who never signs in; the next review is on 12-24.
    again = dataclasses.replace(old, granted_on=d("2026-10-25"), first_sign_in=None)
    row = decisions(review(adopted, [keeper, again], "2026-12-24", history))["HANDED"]
    assert row.eligible and row.finding == "Not signed in"
    assert row.eligible_since == d("2026-12-24")
    assert row.change_since_last_review == "New license"


def test_cannot_judge_is_never_recorded(adopted: Policy) -> None:
    twice = [lic(last="2026-11-01", license_id="DUP"), lic(last="2026-11-01", license_id="DUP")]
    results = review(adopted, twice, "2026-11-24")
    assert {x.finding for x in results.decisions} == {"Cannot judge"}
    assert results.history_entries == ()


# ----------------------------------------------------------------------- watch list


def test_a_license_whose_last_entry_is_june_first_is_watched_for_december_second(
    adopted: Policy,
) -> None:
    licenses = [
        lic("2023-02-06", last="2026-06-01", license_id="JUNE"),
        lic("2023-02-06", last="2026-11-01", license_id="BUSY"),
    ]
    results = review(adopted, licenses, "2026-11-24", next_review=d("2026-12-24"))
    assert results.next_review == d("2026-12-24")
    [item] = results.watch_list
    assert (item.license_id, item.becomes_eligible_on, item.rule) == (
        "JUNE",
        d("2026-12-02"),
        "§1.1 no client data",
    )
    assert item.days_left == 8
    assert "2026-06-02 to 2026-12-02" in item.explanation


def test_next_review_defaults_to_one_review_period_later(adopted: Policy) -> None:
    results = review(adopted, [], "2026-11-24")
    assert results.next_review == d("2026-12-24")


def test_a_new_license_not_signed_in_is_watched(adopted: Policy) -> None:
    results = review(
        adopted,
        [lic("2026-11-10", signed=None, license_id="NEW"), lic(last="2026-11-01")],
        "2026-11-24",
    )
    [item] = [w for w in results.watch_list if w.license_id == "NEW"]
    assert (item.becomes_eligible_on, item.rule) == (d("2026-12-11"), "§1.2 not signed in")


def test_a_special_request_that_ends_is_watched(adopted: Policy) -> None:
    licenses = [
        lic("2020-01-01", last="2025-01-01", license_id="EXEMPT"),
        lic(last="2026-11-01", license_id="OTHER"),
    ]
    request = AppealRow(
        "A-1",
        d("2026-01-10"),
        "Org A",
        "Special request",
        "Approved",
        license_id="EXEMPT",
        decided_on=d("2026-02-01"),
        exception_until=d("2026-12-15"),
        row=2,
    )
    results = review(adopted, licenses, "2026-11-24", appeals=(request,))
    [item] = results.watch_list
    assert (item.license_id, item.becomes_eligible_on, item.rule) == (
        "EXEMPT",
        d("2026-12-16"),
        "§1.E3 ends",
    )
    assert "keeps it until 2026-12-15 (Exception Until)" in item.explanation


def test_the_sole_license_exemption_ends_when_another_license_is_granted(adopted: Policy) -> None:
    licenses = [
        lic("2020-01-01", last="2025-01-01", license_id="KEPT"),
        lic("2026-12-10", signed=None, license_id="COMING"),
    ]
    results = review(adopted, licenses, "2026-11-24")
    assert "Sole license kept" in decisions(results)["KEPT"].exception
    [item] = results.watch_list
    assert (item.license_id, item.becomes_eligible_on, item.rule) == (
        "KEPT",
        d("2026-12-10"),
        "§1.E1 ends",
    )
    assert "COMING" in item.explanation


def test_the_sole_license_exemption_ending_names_only_the_license_that_stays(
    adopted: Policy,
) -> None:
    """KEPT is kept by §1.E1 (its organization's other license, ELIGIBLE, is eligible
    too): from 12-10 COMING stays, and only COMING is named, not ELIGIBLE."""
    licenses = [
        lic("2020-01-01", last="2025-06-01", license_id="KEPT"),
        lic("2020-01-01", last="2025-01-01", license_id="ELIGIBLE"),
        lic("2026-12-10", signed=None, license_id="COMING"),
    ]
    results = review(adopted, licenses, "2026-11-24")
    assert decisions(results)["ELIGIBLE"].eligible
    [item] = results.watch_list
    assert (item.license_id, item.rule) == ("KEPT", "§1.E1 ends")
    assert "another license (COMING) stays" in item.explanation


def test_a_back_dated_forecast_sees_the_workbook_as_it_stood(adopted: Policy) -> None:
    """Run again as of 10-24 after a special request for ELIGIBLE was approved on 10-30:
    on 10-24 it was pending (the Appeals Queue lists it so), so the forecast is the one
    the October review made: no "§1.E1 ends" for KEPT on 10-30. Client data entered
    after the as-of date does not change the forecast either."""
    licenses = [
        lic("2020-01-01", last="2026-03-01", org="Org B", license_id="KEPT"),
        lic("2020-01-01", last="2026-02-01", org="Org B", license_id="ELIGIBLE"),
    ]
    request = AppealRow(
        "A-1",
        d("2026-10-01"),
        "Org B",
        "Special request",
        "Approved",
        license_id="ELIGIBLE",
        decided_on=d("2026-10-30"),
        row=2,
    )
    then = review(adopted, licenses, "2026-10-24", appeals=(request,))
    assert "Sole license kept" in decisions(then)["KEPT"].exception
    assert [q.appeal_id for q in then.appeals_queue] == ["A-1"]
    assert then.watch_list == ()
    # As of 11-24 the approval counts: ELIGIBLE is exempt, so KEPT is no longer kept.
    later = review(adopted, licenses, "2026-11-24", appeals=(request,))
    assert decisions(later)["KEPT"].eligible
    # Client data typed in on 11-10 for an October re-run: the forecast of 10-24 stands.
    active_later = [replace(licenses[0], last_client_data_entry=d("2026-11-10")), licenses[1]]
    assert review(adopted, active_later, "2026-10-24").watch_list == then.watch_list


def test_an_open_ended_special_request_is_put_up_for_review(adopted: Policy) -> None:
    request = AppealRow(
        "A-2",
        d("2026-02-10"),
        "Org B",
        "Inactivity revocation",
        "Approved",
        decided_on=d("2026-03-01"),
        row=2,
    )
    licenses = [
        lic("2020-01-01", last="2025-01-01", org="Org B", license_id="B-10"),
        lic("2020-01-01", last="2025-02-01", org="Org B", license_id="B-2"),
    ]
    results = review(adopted, licenses, "2026-11-24", appeals=(request,))
    [item] = results.watch_list
    assert item.rule == "§1.E3 re-review"
    # Nothing becomes eligible by itself: the dates a committee member reads as "eligible
    # from" stay blank, and the request is due for re-review since 2026-09-01.
    assert (item.becomes_eligible_on, item.days_left) == (None, None)
    assert item.re_review_due == d("2026-09-01")
    assert "due on 2026-09-01" in item.explanation
    assert "every license of Org B (on 2026-11-24: B-2, B-10)" in item.explanation
    # With §1.E3 switched off no request keeps a license, so none is up for re-review
    # (the Inactivity Report and the Watch List never disagree about it).
    switched_off = policy_with(special_request="false")
    assert review(switched_off, licenses, "2026-11-24", appeals=(request,)).watch_list == ()


def test_an_open_ended_request_that_keeps_no_license_is_not_put_up_for_review(
    adopted: Policy,
) -> None:
    """A request naming a license not on the sheet, a revoked one or one that is active
    without it exempts nothing on the as-of date: the Watch List must not say it "keeps"
    anything while Revocations lists the organization's licenses as eligible."""

    def request(appeal_id: str, license_id: str) -> AppealRow:
        return AppealRow(
            appeal_id,
            d("2026-01-01"),
            "Org B",
            "Special request",
            "Approved",
            license_id=license_id,
            decided_on=d("2026-02-01"),
            row=2,
        )

    licenses = [
        lic("2020-01-01", last="2026-03-01", org="Org B", license_id="ELIGIBLE"),
        lic("2020-01-01", last="2026-11-20", org="Org B", license_id="ACTIVE"),
        lic(
            "2020-01-01",
            last="2026-03-01",
            org="Org B",
            license_id="GONE",
            revoked_on="2026-10-01",
            revoked_by="HMIS Lead",
            revocation_reason="Inactivity §1.1",
        ),
    ]
    appeals = (request("A-1", "L-9"), request("A-2", "ACTIVE"), request("A-3", "GONE"))
    results = review(adopted, licenses, "2026-11-24", appeals=appeals)
    assert decisions(results)["ELIGIBLE"].eligible
    assert results.watch_list == ()
    # The same request on the eligible license keeps it, and is up for re-review.
    kept = review(adopted, licenses, "2026-11-24", appeals=(request("A-4", "ELIGIBLE"),))
    assert not decisions(kept)["ELIGIBLE"].eligible
    [item] = kept.watch_list
    assert (item.license_id, item.rule) == ("ELIGIBLE", "§1.E3 re-review")


# --------------------------------------------------------------- revocations done


def test_revoking_a_level_4_list_holder_is_warned(adopted: Policy) -> None:
    licenses = [
        lic(
            "2020-01-01",
            last="2025-01-01",
            license_id="L4",
            level4_list_holder=True,
            revoked_on="2026-11-10",
            revoked_by="HMIS Lead",
            revocation_reason="Inactivity §1.1",
            row=2,
        ),
        lic(last="2026-11-01", license_id="STAYS"),
    ]
    results = review(adopted, licenses, "2026-11-24")
    [done] = results.revocations_done
    assert done.against_policy
    assert "Level 4 List Holder (§1.E2)" in done.explanation
    assert any(p.where.row == 2 and "Level 4" in p.problem for p in results.warnings)


def test_a_revocation_that_leaves_an_organization_with_no_license_is_warned(
    adopted: Policy,
) -> None:
    licenses = [
        lic(
            "2020-01-01",
            last="2025-01-01",
            license_id="LAST",
            org="Org B",
            revoked_on="2026-11-10",
            revoked_by="HMIS Lead",
            revocation_reason="Inactivity §1.1",
            row=2,
        )
    ]
    results = review(adopted, licenses, "2026-11-24")
    [done] = results.revocations_done
    assert done.against_policy
    assert "left Org B with no active license (§1.E1)" in done.explanation


def test_revoking_the_license_sole_license_kept_is_warned(adopted: Policy) -> None:
    """On 10-28 both of Org B's licenses were eligible (NEVER never signed in; KEPT's data
    is old) and §1.E1 kept KEPT, the more recent client data: revoking KEPT then went
    against the policy, though NEVER was still an active license."""
    licenses = [
        lic("2026-09-10", signed=None, license_id="NEVER", org="Org B", row=2),
        lic(
            "2020-01-01",
            last="2026-01-15",
            license_id="KEPT",
            org="Org B",
            revoked_on="2026-10-28",
            revoked_by="HMIS Lead",
            revocation_reason="Inactivity §1.1",
            row=3,
        ),
    ]
    results = review(adopted, licenses, "2026-11-24")
    [done] = results.revocations_done
    assert done.against_policy
    assert "it was the license Org B keeps" in done.explanation
    assert "most recent client data activity (2026-01-15)" in done.explanation
    assert "The policy allowed it" not in done.explanation
    assert any(p.where.row == 3 and "Org B keeps" in p.problem for p in results.warnings)
    # Revoking NEVER instead, the license §1.E1 did not keep, was allowed.
    swapped = [
        lic(
            "2026-09-10",
            signed=None,
            license_id="NEVER",
            org="Org B",
            revoked_on="2026-10-28",
            revoked_by="HMIS Lead",
            revocation_reason="Inactivity §1.2",
        ),
        lic("2020-01-01", last="2026-01-15", license_id="KEPT", org="Org B"),
    ]
    [allowed] = review(adopted, swapped, "2026-11-24").revocations_done
    assert not allowed.against_policy
    assert "The policy allowed it on that date (§1)." in allowed.explanation


def test_an_appeal_sent_to_the_wrong_committee_is_warned(adopted: Policy) -> None:
    licenses = [
        lic(
            "2020-01-01",
            last="2025-01-01",
            license_id="GONE",
            revoked_on="2026-11-10",
            revoked_by="HMIS Lead",
            revocation_reason="Inactivity §1.1",
        ),
        lic(last="2026-11-01", license_id="STAYS"),
    ]
    wrong = AppealRow(
        "A-5",
        d("2026-11-15"),
        "Org A",
        "CE allotment revocation",
        "Pending",
        license_id="GONE",
        row=6,
    )
    results = review(adopted, licenses, "2026-11-24", appeals=(wrong,))
    [done] = results.revocations_done
    assert "Appeal A-5's Reason (CE allotment revocation) sends it to the Coordinated" in (
        done.explanation
    ), "the sheet and the packet name the appeal"
    assert not done.against_policy, "the revocation itself was allowed; the appeal is misrouted"
    [warning] = [p for p in results.warnings if p.where.sheet == "Appeals"]
    assert warning.where.row == 6
    assert warning.problem.startswith("Appeal A-5's Reason (CE allotment revocation)")
    # §4: the appeal of an inactivity revocation is the Performance Committee's, so the
    # queue (and so both packets) list it there, and the CE agenda does not.
    [queued] = results.appeals_queue
    assert queued.committee == "Performance Committee"
    assert "Its Reason would send it to the Coordinated Entry Committee, but license GONE" in (
        queued.explanation
    )
    assert not [i for i in results.reassignment if i.item == "Pending request"]


def test_only_revocations_since_the_previous_review_are_listed(adopted: Policy) -> None:
    licenses = [
        lic(license_id="EARLIER", revoked_on="2026-10-01", revocation_reason="Other"),
        lic(license_id="RECENT", revoked_on="2026-11-01", revocation_reason="Other"),
        lic(last="2026-11-01", license_id="STAYS"),
    ]
    history = (HistoryRow(d("2026-10-24"), "STAYS", "Active", "", False),)
    results = review(adopted, licenses, "2026-11-24", history)
    assert [r.license_id for r in results.revocations_done] == ["RECENT"]


def test_a_revocation_recorded_after_the_review_it_predates_is_reviewed_next(
    adopted: Policy,
) -> None:
    """SPEC §8: the review lists the licenses revoked since the previous review. LATE was
    revoked on 10-20, but typed in only after the 10-24 review, which still judged it
    (Inactive): it is listed and checked at 11-24, or no review ever would."""
    licenses = [
        lic(
            "2020-01-01",
            last="2025-01-01",
            license_id="LATE",
            revoked_on="2026-10-20",
            revoked_by="HMIS Lead",
            revocation_reason="Inactivity §1.1",
            level4_list_holder=True,
        ),
        lic(license_id="KNOWN", revoked_on="2026-10-01", revocation_reason="Other"),
        lic(last="2026-11-01", license_id="STAYS"),
    ]
    history = (
        HistoryRow(d("2026-10-24"), "LATE", "Inactive", "Level 4 List Holder (§1.E2)", False),
        HistoryRow(d("2026-10-24"), "KNOWN", "Not judged", "", False),
        HistoryRow(d("2026-10-24"), "STAYS", "Active", "", False),
    )
    results = review(adopted, licenses, "2026-11-24", history)
    [late] = results.revocations_done
    assert late.license_id == "LATE" and late.against_policy
    assert "recorded after the previous review (As Of 2026-10-24)" in late.explanation
    assert any("LATE" in p.problem and "Level 4" in p.problem for p in results.warnings)


# ------------------------------------------------------------------- any dates at all

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_DAYS = st.dates(dt.date(1990, 1, 1), dt.date(2099, 12, 31))


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(_DAYS, st.none() | _DAYS, st.none() | _DAYS, st.none() | _DAYS, st.booleans()),
        min_size=1,
        max_size=6,
    ),
    until=st.none() | _DAYS | st.just(dt.date(9999, 12, 31)),
    as_of=_DAYS,
    next_review=st.none() | _DAYS,
)
def test_the_review_never_fails_on_dates_the_workbook_accepts(
    adopted: Policy,
    rows: list[tuple[dt.date, dt.date | None, dt.date | None, dt.date | None, bool]],
    until: dt.date | None,
    as_of: dt.date,
    next_review: dt.date | None,
) -> None:
    licenses = tuple(
        LicenseRow(
            f"L-{i}",
            "u",
            "Org A",
            "Housing Project",
            granted,
            first_sign_in=signed,
            last_client_data_entry=entry,
            revoked_on=revoked,
            level4_list_holder=level4,
            row=i + 2,
        )
        for i, (granted, signed, entry, revoked, level4) in enumerate(rows)
    )
    request = AppealRow(
        "A-1",
        d("1990-01-01"),
        "Org A",
        "Special request",
        "Approved",
        license_id="L-0",
        decided_on=d("1990-01-02"),
        exception_until=until,
        row=2,
    )
    inputs = Inputs(
        regions=REGIONS,
        organizations=ORGS,
        licenses=licenses,
        appeals=(request,),
        next_review=next_review,
    )
    results = engine.recalculate(adopted, inputs, as_of)
    assert len(results.decisions) == len(licenses)
    assert all(
        (w.becomes_eligible_on is not None and w.becomes_eligible_on > as_of)
        or (w.rule == "§1.E3 re-review" and w.becomes_eligible_on is None)
        for w in results.watch_list
    )
    # The licenses becoming eligible come first, by date; the re-reviews after them.
    rules = [w.rule == "§1.E3 re-review" for w in results.watch_list]
    assert rules == sorted(rules)


def test_an_approved_appeal_of_a_revocation_names_a_license_still_revoked(
    adopted: Policy,
) -> None:
    """§4: the committee approved the appeal of the revocation, so the license is given
    back; while it is still revoked a Warning on its Revoked On says to restore it (no
    other output follows it up), and none once it is restored or revoked again later."""
    only = lic(
        "2020-01-01",
        last="2025-12-01",
        license_id="ONLY",
        org="Org B",
        revoked_on=d("2026-09-28"),
        revoked_by="HMIS Lead",
        revocation_reason="Inactivity §1.1",
        row=7,
    )
    appeal = AppealRow(
        "A-113",
        d("2026-10-05"),
        "Org B",
        "Inactivity revocation",
        "Approved",
        license_id="ONLY",
        decided_on=d("2026-10-28"),
        row=4,
    )
    keeper = lic("2020-01-01", last="2026-09-20", license_id="KEEP")

    def warnings(licenses: list[LicenseRow], as_of: str) -> list[engine.model.Problem]:
        results = review(adopted, licenses, as_of, appeals=(appeal,))
        return [p for p in results.problems if "still revoked" in p.problem]

    [warning] = warnings([keeper, only], "2026-11-24")
    assert (warning.severity, warning.where.sheet, warning.where.row) == ("Warning", "Licenses", 7)
    assert warning.where.column == "Revoked On"
    assert warning.problem == (
        "Appeal A-113 (Inactivity revocation) of license ONLY's revocation on 2026-09-28 was"
        " approved by the Performance Committee on 2026-10-28, but the license is still"
        " revoked: it is not judged and not counted as in use (§4)."
    )
    assert "clear Revoked On, Revoked By and Revocation Reason" in warning.how_to_fix
    assert warnings([keeper, only], "2026-10-24") == []  # not decided yet on that date
    restored = replace(only, revoked_on=None, revoked_by=None, revocation_reason=None)
    assert warnings([keeper, restored], "2026-11-24") == []
    again = replace(only, revoked_on=d("2026-11-10"))  # revoked again after the decision
    assert warnings([keeper, again], "2026-11-24") == []
    denied = replace(appeal, decision="Denied")
    results = review(adopted, [keeper, only], "2026-11-24", appeals=(denied,))
    assert not [p for p in results.problems if "still revoked" in p.problem]
