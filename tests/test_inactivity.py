"""§1 inactivity: each rule at its boundary, each exception, and how they combine."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.dates import Period, add_months
from engine.inactivity import judge_licenses
from engine.model import AppealRow, Inputs, LicenseDecision, LicenseRow, Policy
from tests.conftest import AS_OF, d, lic, policy_with

# As of 2026-11-24 the six-month window starts on 2026-05-24.
WINDOW_START = d("2026-05-24")


def judge(
    policy: Policy,
    licenses: list[LicenseRow],
    appeals: list[AppealRow] | None = None,
    as_of: dt.date = AS_OF,
) -> dict[str, LicenseDecision]:
    return {x.license_id: x for x in judge_licenses(policy, licenses, appeals, as_of)}


def one(policy: Policy, row: LicenseRow, as_of: dt.date = AS_OF) -> LicenseDecision:
    # A second, active license keeps §1.E1 out of single-rule tests.
    keeper = lic("2024-01-01", last="2026-11-01", license_id="KEEPER", org=row.organization)
    return judge(policy, [row, keeper], as_of=as_of)[row.license_id]


# ------------------------------------------------------------------ calendar months


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2026-08-31", -6, "2026-02-28"),
        ("2024-08-31", -6, "2024-02-29"),
        ("2026-11-24", -6, "2026-05-24"),
        ("2026-03-31", -1, "2026-02-28"),
        ("2026-01-31", 1, "2026-02-28"),
        ("2026-12-15", 1, "2027-01-15"),
        ("2026-01-15", -1, "2025-12-15"),
    ],
)
def test_calendar_months_clamp_to_month_end(start: str, months: int, expected: str) -> None:
    assert add_months(d(start), months) == d(expected)


def test_window_of_six_months_before_month_end(adopted: Policy) -> None:
    assert adopted.inactivity.client_data_window.before(d("2026-08-31")) == d("2026-02-28")
    assert Period(months=6).describe() == "six months"
    assert Period(days=30).describe() == "30 days"


# ---------------------------------------------------------------------- §1.1


@pytest.mark.parametrize(
    ("last", "finding"),
    [("2026-05-23", "Inactive"), ("2026-05-24", "Active"), ("2026-05-25", "Active")],
)
def test_no_client_data_boundary(adopted: Policy, last: str, finding: str) -> None:
    decision = one(adopted, lic("2020-01-01", last=last))
    assert decision.finding == finding
    assert decision.eligible is (finding == "Inactive")
    assert decision.policy_clause == "§1.1"


def test_inactive_explanation_names_dates_and_clause(adopted: Policy) -> None:
    decision = one(adopted, lic("2020-01-01", last="2026-03-02"))
    assert decision.explanation.startswith(
        "No client data since 2026-03-02 (before 2026-05-24, six months before 2026-11-24). §1.1"
    )
    assert decision.days_since_activity == (AS_OF - d("2026-03-02")).days == 267
    assert "Eligible for revocation." in decision.explanation


@pytest.mark.parametrize(
    ("granted", "finding"),
    [("2026-05-23", "Inactive"), ("2026-05-24", "Active"), ("2026-05-25", "Active")],
)
def test_never_entered_client_data_judged_from_grant(
    adopted: Policy, granted: str, finding: str
) -> None:
    decision = one(adopted, lic(granted, signed=granted))
    assert decision.finding == finding
    assert decision.last_client_data_entry is None
    assert decision.days_since_activity is None


@given(login=st.dates(dt.date(2020, 1, 1), dt.date(2026, 11, 24)) | st.none())
def test_a_recent_login_never_counts_as_activity(adopted: Policy, login: dt.date | None) -> None:
    policy = adopted
    row = lic("2020-01-01", last="2026-01-10", last_login=None)
    with_login = dataclasses.replace(row, last_login=login)
    assert one(policy, row).finding == one(policy, with_login).finding == "Inactive"
    assert one(policy, row).eligible is one(policy, with_login).eligible is True


def test_login_after_last_entry_is_explained(adopted: Policy) -> None:
    decision = one(adopted, lic("2020-01-01", last="2026-01-10", last_login="2026-11-20"))
    assert "last login on 2026-11-20 does not count" in decision.explanation


def test_activity_after_as_of_does_not_count_on_the_as_of_date(adopted: Policy) -> None:
    # SPEC §2 Dates: a back-dated run sees the workbook as it stood then.
    decision = one(adopted, lic("2020-01-01", last="2026-12-01"))
    assert decision.finding == "Inactive"
    assert decision.days_since_activity is None
    assert "Last Client Data Entry 2026-12-01 is after the as-of date 2026-11-24" in (
        decision.explanation
    )


# ---------------------------------------------------------------------- §1.2


@pytest.mark.parametrize(
    ("granted", "finding"),
    # granted G, 30 days to sign in: revocable only when as-of > G + 30 days.
    [("2026-10-26", "Active"), ("2026-10-25", "Active"), ("2026-10-24", "Not signed in")],
)
def test_never_signed_in_boundary(adopted: Policy, granted: str, finding: str) -> None:
    decision = one(adopted, lic(granted, signed=None))
    assert decision.finding == finding
    assert decision.eligible is (finding == "Not signed in")
    if finding == "Not signed in":
        assert decision.policy_clause == "§1.2"
        assert "the 30 days to sign in ended on 2026-11-23" in decision.explanation


def test_signed_in_late_is_not_revocable_for_it(adopted: Policy) -> None:
    decision = one(adopted, lic("2026-08-01", signed="2026-10-15", last="2026-11-01"))
    assert decision.finding == "Active"
    assert not decision.eligible


def test_an_earlier_login_or_entry_shows_a_first_sign_in_in_time(adopted: Policy) -> None:
    """First Sign-In says 10-15, after the 30 days (to 10-01), but a login on 09-05 and
    client data on 09-10 need a sign-in: the license was signed into in time, whichever
    column holds the date, and even where a late first sign-in is revocable."""
    row = lic(
        "2026-09-01",
        signed="2026-10-15",
        last="2026-09-10",
        last_login="2026-09-05",
        license_id="L-4",
    )
    for policy in (adopted, policy_with(late_first_sign_in_revocable="true")):
        decision = one(policy, row)
        assert (decision.finding, decision.eligible) == ("Active", False)
        assert "First signed in on 2026-10-15, after" not in decision.explanation
        assert "a login on 2026-09-05 shows the license was signed into by then" in (
            decision.explanation
        )
    # Only the First Sign-In, late: revocable where the policy says so.
    late = lic("2026-09-01", signed="2026-10-15", last="2026-10-20", license_id="L-5")
    assert one(policy_with(late_first_sign_in_revocable="true"), late).finding == "Not signed in"


def test_contradicting_license_dates_are_warned(adopted: Policy) -> None:
    """SPEC §2: a revocation before the grant, and a First Sign-In after a login or
    client data entry, are never trusted silently: a Warning names the cell."""
    rows = (
        lic("2026-09-01", signed="2026-10-15", last="2026-09-10", license_id="LATE", row=2),
        lic(
            "2026-06-01",
            signed="2026-06-02",
            last="2026-11-01",
            revoked_on="2026-05-01",
            license_id="REGRANTED",
            row=3,
        ),
        lic("2024-01-01", last="2026-11-01", license_id="KEEPER", row=4),
    )
    results = engine.recalculate(adopted, Inputs(licenses=rows), AS_OF)
    warned = {(p.where.row, p.where.column): p.problem for p in results.problems}
    assert (
        "First Sign-In 2026-10-15 is after its Last Client Data Entry 2026-09-10"
        in (warned[(2, "First Sign-In")])
    )
    assert "Revoked On 2026-05-01 is before Granted On 2026-06-01" in warned[(3, "Revoked On")]
    regranted = next(x for x in results.decisions if x.license_id == "REGRANTED")
    assert regranted.finding == "Not judged"
    assert "(before it was granted on 2026-06-01: see Problems)" in regranted.explanation
    assert (4, "First Sign-In") not in warned


def test_client_data_is_proof_of_sign_in(adopted: Policy) -> None:
    decision = one(adopted, lic("2026-06-01", signed=None, last="2026-11-01"))
    assert decision.finding == "Active"
    assert "shows the license was signed into" in decision.explanation


def test_new_license_not_signed_in_yet_says_when_it_must(adopted: Policy) -> None:
    decision = one(adopted, lic("2026-11-10", signed=None))
    assert decision.finding == "Active"
    assert "run to 2026-12-10" in decision.explanation


def test_old_license_never_used_is_inactive_and_says_never_signed_in(adopted: Policy) -> None:
    decision = one(adopted, lic("2025-01-01", signed=None))
    assert decision.finding == "Inactive"
    assert "never been signed in" in decision.explanation


def test_windows_come_from_policy() -> None:
    policy = policy_with(client_data_window="{days: 90}", first_sign_in_window="{days: 10}")
    assert one(policy, lic("2020-01-01", last="2026-08-25")).finding == "Inactive"
    assert one(policy, lic("2020-01-01", last="2026-08-26")).finding == "Active"
    assert one(policy, lic("2026-11-13", signed=None)).finding == "Not signed in"
    assert one(policy, lic("2026-11-14", signed=None)).finding == "Active"


# ------------------------------------------------------------------- revoked


def test_revoked_licenses_are_not_judged_unless_revoked_later(adopted: Policy) -> None:
    rows = [
        lic("2020-01-01", last="2025-01-01", license_id="GONE", revoked_on="2026-07-01"),
        lic("2020-01-01", last="2025-01-01", license_id="TODAY", revoked_on="2026-11-24"),
        lic("2020-01-01", last="2025-01-01", license_id="LATER", revoked_on="2026-12-31"),
        lic("2020-01-01", last="2026-11-01", license_id="KEEPER"),
    ]
    decisions = judge(adopted, rows)
    assert set(decisions) == {"GONE", "TODAY", "LATER", "KEEPER"}
    for gone in ("GONE", "TODAY"):
        assert decisions[gone].finding == "Not judged" and not decisions[gone].eligible
    assert "Revoked on 2026-07-01" in decisions["GONE"].explanation
    assert decisions["LATER"].eligible


# -------------------------------------------------------------- §1.E2 and §1.E3


def test_level4_list_holder_is_exempt(adopted: Policy) -> None:
    decision = one(adopted, lic("2020-01-01", last="2025-01-01", level4_list_holder=True))
    assert decision.finding == "Inactive"
    assert not decision.eligible
    assert decision.exception == "Level 4 List Holder (§1.E2)"
    assert decision.policy_clause == "§1.1; §1.E2"


def test_level4_exception_can_be_switched_off() -> None:
    policy = policy_with(level4_list_holder="false")
    decision = one(policy, lic("2020-01-01", last="2025-01-01", level4_list_holder=True))
    assert decision.eligible


def appeal(**fields: object) -> AppealRow:
    values: dict[str, object] = {
        "appeal_id": "A-1",
        "filed_on": d("2026-05-01"),
        "organization": "Org A",
        "reason": "Special request",
        "decision": "Approved",
        "decided_on": d("2026-06-01"),
    }
    for key, value in fields.items():
        values[key] = (
            d(value) if isinstance(value, str) and key.endswith(("_on", "_until")) else value
        )
    return AppealRow(**values)  # type: ignore[arg-type]


INACTIVE = {"granted_on": "2020-01-01", "last": "2025-01-01"}


@pytest.mark.parametrize(
    ("fields", "exempt"),
    [
        ({}, True),
        ({"exception_until": "2026-11-24"}, True),
        ({"exception_until": "2026-11-23"}, False),  # expired
        ({"decision": "Pending", "decided_on": None}, False),
        ({"decision": "Denied"}, False),
        ({"decided_on": "2026-11-25"}, False),  # decided after the as-of date
        ({"decided_on": None}, False),
        ({"reason": "Inactivity revocation"}, True),
        ({"reason": "CE allotment denial"}, False),
        ({"decision": "approved"}, True),
    ],
)
def test_special_request_exempts_only_when_in_force(
    adopted: Policy, fields: dict[str, object], exempt: bool
) -> None:
    target = lic(**INACTIVE, license_id="L-7")  # type: ignore[arg-type]
    keeper = lic("2024-01-01", last="2026-11-01", license_id="KEEPER")
    decisions = judge(adopted, [target, keeper], [appeal(license_id="L-7", **fields)])
    assert decisions["L-7"].eligible is not exempt
    assert ("§1.E3" in decisions["L-7"].exception) is exempt


def test_expired_and_pending_requests_are_explained(adopted: Policy) -> None:
    rows = [
        lic(**INACTIVE, license_id="L-8"),  # type: ignore[arg-type]
        lic(**INACTIVE, license_id="L-9"),  # type: ignore[arg-type]
        lic("2024-01-01", last="2026-11-01"),
    ]
    appeals = [
        appeal(appeal_id="A-8", license_id="L-8", exception_until="2026-10-31"),
        appeal(appeal_id="A-9", license_id="L-9", decision="Pending", decided_on=None),
    ]
    decisions = judge(adopted, rows, appeals)
    assert "A-8 expired on 2026-10-31" in decisions["L-8"].explanation
    assert "A-9 is still pending" in decisions["L-9"].explanation
    # An appeal of the revocation is named as one, with its reason, not as a request.
    appeals[1] = appeal(
        appeal_id="A-9",
        license_id="L-9",
        decision="Pending",
        decided_on=None,
        reason="Inactivity revocation",
    )
    explanation = judge(adopted, rows, appeals)["L-9"].explanation
    assert "Appeal A-9 (Inactivity revocation) is still pending" in explanation
    assert "Special request A-9" not in explanation


def test_request_without_license_id_covers_the_whole_organization(adopted: Policy) -> None:
    rows = [
        lic(**INACTIVE, license_id="A1", org="Org A"),  # type: ignore[arg-type]
        lic(**INACTIVE, license_id="A2", org="org  a"),  # type: ignore[arg-type]
        lic(**INACTIVE, license_id="B1", org="Org B"),  # type: ignore[arg-type]
        lic(**INACTIVE, license_id="B2", org="Org B"),  # type: ignore[arg-type]
    ]
    decisions = judge(adopted, rows, [appeal(organization="ORG A")])
    assert not decisions["A1"].eligible and not decisions["A2"].eligible
    assert "every license of" in decisions["A2"].explanation
    assert [decisions["B1"].eligible, decisions["B2"].eligible].count(True) == 1


def test_special_request_exception_can_be_switched_off(adopted: Policy) -> None:
    policy = policy_with(special_request="false")
    rows = [lic(**INACTIVE, license_id="L-7"), lic("2024-01-01", last="2026-11-01")]  # type: ignore[arg-type]
    assert judge(policy, rows, [appeal(license_id="L-7")])["L-7"].eligible


# ---------------------------------------------------------------------- §1.E1


def test_only_license_of_an_organization_is_kept(adopted: Policy) -> None:
    decision = judge(adopted, [lic(**INACTIVE, license_id="ONLY")])["ONLY"]  # type: ignore[arg-type]
    assert decision.finding == "Inactive"
    assert not decision.eligible
    assert decision.exception == "Sole license kept (§1.E1)"
    assert "only active license of Org A" in decision.explanation


def test_all_inactive_keeps_the_most_recent_activity(adopted: Policy) -> None:
    rows = [
        lic("2020-01-01", last="2025-01-01", license_id="OLD"),
        lic("2020-01-01", last="2026-02-01", license_id="RECENT"),
        lic("2026-01-01", signed=None, license_id="NEVER"),
    ]
    decisions = judge(adopted, rows)
    assert not decisions["RECENT"].eligible
    assert decisions["OLD"].eligible and decisions["NEVER"].eligible
    assert "keeps license RECENT" in decisions["OLD"].explanation


def test_keep_one_tie_breaks_on_sign_in_then_lowest_id(adopted: Policy) -> None:
    by_sign_in = judge(
        adopted,
        [
            lic("2020-01-01", last="2025-01-01", signed="2020-01-02", license_id="X1"),
            lic("2020-01-01", last="2025-01-01", signed="2020-03-01", license_id="X2"),
        ],
    )
    assert not by_sign_in["X2"].eligible and by_sign_in["X1"].eligible
    by_id = judge(
        adopted,
        [
            lic("2020-01-01", last="2025-01-01", license_id="L-10"),
            lic("2020-01-01", last="2025-01-01", license_id="L-9"),
        ],
    )
    assert not by_id["L-9"].eligible and by_id["L-10"].eligible  # L-9 sorts before L-10


def test_keep_one_does_not_apply_when_one_license_is_exempt_otherwise(adopted: Policy) -> None:
    rows = [
        lic("2020-01-01", last="2025-01-01", license_id="L4", level4_list_holder=True),
        lic("2020-01-01", last="2026-02-01", license_id="P"),
        lic("2020-01-01", last="2025-06-01", license_id="Q"),
    ]
    decisions = judge(adopted, rows)
    assert decisions["L4"].exception == "Level 4 List Holder (§1.E2)"
    assert decisions["P"].eligible and decisions["Q"].eligible
    assert decisions["P"].exception == ""


def test_keep_one_does_not_apply_when_one_license_is_active(adopted: Policy) -> None:
    rows = [lic("2020-01-01", last="2026-11-01"), lic(**INACTIVE, license_id="I")]  # type: ignore[arg-type]
    assert judge(adopted, rows)["I"].eligible


def test_revoked_licenses_do_not_count_as_the_organizations_other_license(
    adopted: Policy,
) -> None:
    rows = [
        lic("2020-01-01", last="2026-11-01", revoked_on="2026-10-01"),
        lic(**INACTIVE, license_id="LAST"),  # type: ignore[arg-type]
    ]
    assert not judge(adopted, rows)["LAST"].eligible


def test_sole_license_exception_can_be_switched_off() -> None:
    policy = policy_with(sole_license="false")
    assert judge(policy, [lic(**INACTIVE, license_id="ONLY")])["ONLY"].eligible  # type: ignore[arg-type]


# -------------------------------------------------------------- properties

dates = st.dates(dt.date(2018, 1, 1), dt.date(2027, 12, 31))


@st.composite
def license_rows(draw: st.DrawFn) -> list[LicenseRow]:
    rows = []
    for index in range(draw(st.integers(1, 8))):
        granted = draw(dates)
        rows.append(
            LicenseRow(
                license_id=f"L-{index}",
                user="u",
                organization=draw(st.sampled_from(["Org A", "Org B", "Org C"])),
                license_type="Housing Project",
                granted_on=granted,
                first_sign_in=draw(st.none() | dates),
                last_client_data_entry=draw(st.none() | dates),
                last_login=draw(st.none() | dates),
                level4_list_holder=draw(st.booleans()),
                revoked_on=draw(st.none() | dates),
            )
        )
    return rows


@settings(max_examples=300)
@given(rows=license_rows(), as_of=dates, logins=st.lists(st.none() | dates, min_size=8))
def test_eligibility_never_depends_on_last_login(
    adopted: Policy, rows: list[LicenseRow], as_of: dt.date, logins: list[dt.date | None]
) -> None:
    policy = adopted
    moved = [dataclasses.replace(r, last_login=logins[i]) for i, r in enumerate(rows)]
    # A login is a sign-in (§1.2) but never client data activity (§1.1): which licenses
    # are inactive under §1.1 never depends on Last Login.
    before = [
        (x.license_id, x.finding == "Inactive") for x in judge_licenses(policy, rows, [], as_of)
    ]
    after = [
        (x.license_id, x.finding == "Inactive") for x in judge_licenses(policy, moved, [], as_of)
    ]
    assert before == after


@settings(max_examples=300)
@given(rows=license_rows(), as_of=dates)
def test_every_organization_with_active_licenses_keeps_one(
    adopted: Policy, rows: list[LicenseRow], as_of: dt.date
) -> None:
    decisions = judge_licenses(adopted, rows, [], as_of)
    for org in {x.organization for x in decisions}:
        assert any(not x.eligible for x in decisions if x.organization == org)
    for x in decisions:
        assert x.finding in ("Active", "Inactive", "Not signed in", "Not judged")
        judged = x.finding in ("Inactive", "Not signed in")
        assert x.eligible == (judged and not x.exception)
        assert x.explanation and x.policy_clause.startswith("§1")


def test_explanation_of_every_decision_names_its_clause(adopted: Policy) -> None:
    rows = [
        lic("2020-01-01", last="2025-01-01"),
        lic("2026-10-01", signed=None),
        lic("2020-01-01", last="2026-11-01"),
    ]
    for decision in judge_licenses(adopted, rows, [], AS_OF):
        assert decision.policy_clause.split("; ")[0] in decision.explanation
