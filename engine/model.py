"""Plain typed data that goes into and comes out of the engine.

The engine sees only these dataclasses: no workbook, no file, no clock. The workbook
layer builds the inputs from sheets (keeping each row's worksheet row number so that a
problem can name its cell) and writes the results back as sheets.

Nothing changes one of them once made (`dataclasses.replace` makes a changed copy). Most
are frozen to say so; those made once per license, history row or result row (LicenseRow,
HistoryRow, LicenseDecision, CeCharge, ReassignmentItem, WatchItem, RevocationRecord) are
plain slotted dataclasses instead, because a frozen one's `__init__` sets each field
through `object.__setattr__`: four times the cost, a tenth of a 10,000-license run.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from engine.dates import Period

# ---------------------------------------------------------------------------- policy

Rounding = Literal["nearest", "down", "up"]
AllotmentMethod = Literal["formula", "largest_remainder"]

APPEAL_REASONS: tuple[str, ...] = (
    "Inactivity revocation",
    "Special request",
    "CE allotment revocation",
    "CE allotment denial",
    "Additional allotment request",
)
DECISIONS: tuple[str, ...] = ("Pending", "Approved", "Denied")
# Who revoked a license and why (SPEC §3 Licenses, §8 "Revocations done").
REVOKED_BY: tuple[str, ...] = ("HMIS Lead", "CE Lead", "CE Committee")
REVOCATION_REASONS: tuple[str, ...] = (
    "Inactivity §1.1",
    "Not signed in §1.2",
    "CE allotment §3",
    "Other",
)
# Where an approved CE-allotment appeal's licenses come from (SPEC §4, Appeals.Granted From);
# the third is written "Reassigned from Region 5".
GRANTED_FROM: tuple[str, ...] = ("Region allotment", "Additional from HMIS", "Reassigned from")


@dataclass(frozen=True, slots=True)
class InactivityExceptions:
    sole_license: bool
    level4_list_holder: bool
    special_request: bool


@dataclass(frozen=True, slots=True)
class InactivityRules:
    client_data_window: Period
    first_sign_in_window: Period
    exceptions: InactivityExceptions
    special_request_reasons: tuple[str, ...]
    late_first_sign_in_revocable: bool


@dataclass(frozen=True, slots=True)
class AllotmentRules:
    target: int
    minimum: int
    rounding: Rounding
    method: AllotmentMethod


@dataclass(frozen=True, slots=True)
class LicenseTypeRule:
    name: str
    counts_against_ce_allotment: bool
    inactivity_policy_applies: bool
    description: str = ""


@dataclass(frozen=True, slots=True)
class Policy:
    """A validated policy. `source` and `sha256` say which file it came from."""

    name: str
    version: str
    effective_date: dt.date
    inactivity: InactivityRules
    ce_allotment: AllotmentRules
    license_types: Mapping[str, LicenseTypeRule]
    committees: Mapping[str, str]
    appeal_routing: Mapping[str, str]
    appeal_response_period: Period
    reason_aliases: Mapping[str, str]
    under_utilized_at_most: int
    review_every: Period
    open_ended_exceptions_after: Period
    one_time_fees: Mapping[str, Decimal]
    annual_fees: Mapping[str, Decimal]
    new_licenses_under_utilized: bool = False  # §4 reading (policy.schema.json)
    source: str = ""
    sha256: str = ""
    raw: Mapping[str, object] = field(default_factory=dict, compare=False, repr=False)
    _types_by_key: Mapping[str, LicenseTypeRule] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        index = {name_key(rule.name): rule for rule in self.license_types.values()}
        object.__setattr__(self, "_types_by_key", index)

    def license_type(self, name: str) -> LicenseTypeRule | None:
        """The rule for a license type, matched the way the workbook matches names."""
        return self._types_by_key.get(name_key(name))

    def license_types_among(
        self, names: Iterable[str], wanted: Callable[[LicenseTypeRule | None], bool]
    ) -> set[str]:
        """The License Type texts of `names` whose rule (None: not a type of the policy)
        is `wanted`, each distinct text looked up once: a workbook repeats a few types on
        every row, and the stages ask of every license."""
        return {name for name in set(names) if wanted(self.license_type(name))}

    def unjudged_type(self, name: str) -> bool:
        """A type of the policy that §1 does not judge (inactivity_policy_applies: false)."""
        rule = self.license_type(name)
        return rule is not None and not rule.inactivity_policy_applies


# ---------------------------------------------------------------------------- inputs


@functools.lru_cache(maxsize=1 << 19)
def name_key(name: str) -> str:
    """How names are compared: case, surrounding and repeated spaces do not matter.

    Cached: the same names (licenses, organizations, regions) are compared over and over
    in one recalculation. The cache holds a workbook of 100,000 licenses' IDs, users and
    organizations with room to spare (a smaller one is slower than none: every lookup
    misses and evicts)."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True, slots=True)
class RegionRow:
    region: str
    population: int | None
    ce_lead: str | None = None
    ce_lead_email: str | None = None
    row: int = 0


@dataclass(frozen=True, slots=True)
class CountyRow:
    county: str
    region: str
    population: int
    row: int = 0


@dataclass(frozen=True, slots=True)
class OrganizationRow:
    organization: str
    county: str | None = None
    contact_email: str | None = None
    # §3 duties; None when not recorded (blank), which is not the same as No.
    level3_access_point: bool | None = None
    data_entry_agreement: bool | None = None
    row: int = 0


@dataclass(frozen=True, slots=True)
class IntakeRow:
    organization: str
    region: str
    average_intakes: float
    row: int = 0


@dataclass(slots=True)  # not frozen: made per row (see the module's docstring)
class LicenseRow:
    license_id: str
    user: str
    organization: str
    license_type: str
    granted_on: dt.date
    region: str | None = None
    county: str | None = None
    hmis_user_id: str | None = None
    first_sign_in: dt.date | None = None
    last_client_data_entry: dt.date | None = None
    client_entries_window: int | None = None
    last_login: dt.date | None = None
    level4_list_holder: bool = False
    revoked_on: dt.date | None = None
    revoked_by: str | None = None
    revocation_reason: str | None = None
    row: int = 0

    def is_active(self, as_of: dt.date) -> bool:
        """SPEC §2: active when granted on or before the as-of date and Revoked On is
        blank or after it (a license granted later is not yet one: not in use, §3)."""
        return self.granted_on <= as_of and (self.revoked_on is None or self.revoked_on > as_of)


@dataclass(frozen=True, slots=True)
class AppealRow:
    appeal_id: str
    filed_on: dt.date
    organization: str
    reason: str
    decision: str
    license_id: str | None = None
    region: str | None = None
    decided_on: dt.date | None = None
    last_reviewed_on: dt.date | None = None
    exception_until: dt.date | None = None
    licenses_requested: int | None = None
    granted_from: str | None = None
    notes: str | None = None
    row: int = 0


@dataclass(frozen=True, slots=True)
class SelfPayRequestRow:
    request_id: str
    organization: str
    licenses_requested: int
    years: int
    row: int = 0


@dataclass(frozen=True, slots=True)
class UnreadableRow:
    """An input row with a cell the rules cannot use (SPEC §3: an Error holds back only
    what it affects). `values` holds what could be read (field -> value); `reasons` says,
    cell by cell, what could not ("Granted On (Licenses!H12) is blank")."""

    sheet: str
    row: int
    values: Mapping[str, object]
    reasons: tuple[str, ...]

    def text(self, field_name: str) -> str:
        value = self.values.get(field_name)
        return value if isinstance(value, str) else ""


@dataclass(slots=True)  # not frozen: made per row (see the module's docstring)
class HistoryRow:
    """One Findings History row (SPEC §8): a license's finding as a review recorded it.

    `run_at` is when the review ran (None for a row the engine is about to append: the
    edge stamps it); `as_of` is the date it judged.
    """

    as_of: dt.date
    license_id: str
    finding: str
    exception: str
    eligible: bool
    run_at: dt.datetime | None = None
    row: int = 0


@dataclass(frozen=True, slots=True)
class Inputs:
    """The workbook's input tables. `counties`/`intakes`/... are None when the sheet is absent.

    `history` is the Findings History sheet as recorded by earlier runs (None: no such
    sheet yet); `next_review` is the Settings sheet's Next Review (None: As Of + the
    policy's review period).
    """

    regions: tuple[RegionRow, ...] = ()
    organizations: tuple[OrganizationRow, ...] = ()
    licenses: tuple[LicenseRow, ...] = ()
    counties: tuple[CountyRow, ...] | None = None
    intakes: tuple[IntakeRow, ...] | None = None
    appeals: tuple[AppealRow, ...] | None = None
    self_pay_requests: tuple[SelfPayRequestRow, ...] | None = None
    history: tuple[HistoryRow, ...] | None = None
    next_review: dt.date | None = None
    # Rows with a cell that could not be read, and sheets that could not be read at all
    # (missing, or a required column missing): sheet name -> why.
    unreadable: tuple[UnreadableRow, ...] = ()
    unusable_sheets: Mapping[str, str] = field(default_factory=dict)
    # Settings the run relies on whose cell could not be read: "As Of" (only when the
    # as-of date would have come from it) or "Next Review" -> why. What needs them is
    # held back; with Next Review unreadable, Results.next_review is None (not known).
    unreadable_settings: Mapping[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------- results

Severity = Literal["Error", "Warning"]


@dataclass(frozen=True, slots=True)
class Where:
    """A place in the workbook: a sheet, and where known a row and a column header."""

    sheet: str
    row: int | None = None
    column: str | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    severity: Severity
    where: Where
    problem: str
    how_to_fix: str


Finding = Literal["Active", "Inactive", "Not signed in", "Not judged", "Cannot judge"]
# The findings that are not a judgement (a revoked, not-yet-granted, self-pay or unreadable row).
NOT_JUDGED_FINDINGS = frozenset({"Not judged", "Cannot judge"})


@dataclass(slots=True)  # not frozen: made per row (see the module's docstring)
class LicenseDecision:
    """§1 for one active license: what was found, whether an exception holds, and why."""

    license_id: str
    user: str
    organization: str
    license_type: str
    granted_on: dt.date | None  # None only for a row that could not be read
    first_sign_in: dt.date | None
    last_client_data_entry: dt.date | None
    days_since_activity: int | None
    finding: Finding
    exception: str
    eligible: bool
    policy_clause: str
    explanation: str
    row: int = 0
    # SPEC §8, from Findings History: the As Of of the first run of the current stretch of
    # eligibility, and what changed since the previous review.
    eligible_since: dt.date | None = None
    change_since_last_review: str = ""

    @property
    def eligible_for_revocation(self) -> str:
        return "Yes" if self.eligible else "No"


@dataclass(frozen=True, slots=True)
class RegionAllotment:
    """§2 for one region."""

    region: str
    population: int
    share: float
    formula_value: float
    allotment: int
    minimum_applied: bool
    explanation: str
    policy_clause: str = "§2"
    in_use: int | None = None
    available: int | None = None
    added_by_appeal: int = 0  # SPEC §4: approved CE-allotment appeals, + or -

    @property
    def minimum_applied_text(self) -> str:
        return "Yes" if self.minimum_applied else "No"


@dataclass(frozen=True, slots=True)
class AllotmentSummary:
    """The whole Balance of State: the target, what the regions add up to, and why."""

    total_population: int
    target: int
    total_allotment: int
    method: str
    explanation: str
    in_use: int | None = None
    available: int | None = None
    added_by_appeal: int = 0
    # §3: active CE licenses charged to no region (they still count in the Total's In Use).
    not_charged: tuple[str, ...] = ()
    not_charged_explanation: str = ""


@dataclass(slots=True)  # not frozen: made per row (see the module's docstring)
class CeCharge:
    """§3.2 which region's allotment one CE Access Only license uses, and on what basis."""

    license_id: str
    organization: str
    license_type: str
    charged_region: str | None
    basis: str
    policy_clause: str = "§3.2"
    row: int = 0
    tied_regions: tuple[str, ...] = ()  # an intake tie: the regions the committee chooses from


@dataclass(frozen=True, slots=True)
class QueuedAppeal:
    """§4 one pending appeal, routed to its committee."""

    appeal_id: str
    committee: str
    organization: str
    reason: str
    filed_on: dt.date
    days_pending: int
    overdue: bool
    respond_by: dt.date
    license_id: str | None
    region: str | None
    licenses_requested: int | None
    explanation: str
    policy_clause: str = "§4"
    last_reviewed_on: dt.date | None = None
    # A CE-allotment appeal or request (by its routed reading): the Reassignment agenda
    # lists it with its region's balance.
    allotment_request: bool = False
    # How its region was found when its Region is blank ("" when it was entered).
    region_note: str = ""

    @property
    def overdue_text(self) -> str:
        return "Yes" if self.overdue else "No"


@dataclass(slots=True)  # not frozen: made per row (see the module's docstring)
class ReassignmentItem:
    """§4 CE-Allotment Appeal: a line of the CE Committee's reassignment agenda.

    Removal candidates carry a Rank; regions with licenses available and pending requests
    follow them without one.
    """

    item: str
    rank: int | None
    license_id: str | None
    organization: str | None
    region: str | None
    county: str | None
    client_entries_window: int | None
    reasons: str
    policy_clause: str = "§4"


@dataclass(frozen=True, slots=True)
class SelfPayQuote:
    """Addendum 2 estimate for one Self-Pay Requests row."""

    request_id: str
    organization: str
    licenses: int
    years: int
    one_time: Decimal
    annual: Decimal
    total: Decimal
    breakdown: str
    policy_clause: str = "Addendum 2"


@dataclass(slots=True)  # not frozen: made per row (see the module's docstring)
class WatchItem:
    """SPEC §8: a license not eligible on the as-of date that will be by Next Review if
    nothing changes, or an exception that ends or is due for re-review."""

    license_id: str
    user: str
    organization: str
    license_type: str
    becomes_eligible_on: dt.date | None  # None: a §1.E3 re-review (nothing becomes eligible)
    rule: str  # e.g. "§1.1 no client data", "§1.E3 ends", "§1.E3 re-review"
    days_left: int | None
    explanation: str
    policy_clause: str
    appeal_id: str = ""  # a §1.E3 re-review: the special request due (not a sheet column)
    re_review_due: dt.date | None = None  # a §1.E3 re-review: due since (not a sheet column)


@dataclass(slots=True)  # not frozen: made per row (see the module's docstring)
class RevocationRecord:
    """SPEC §8: a license revoked since the previous review, and whether the policy
    allowed it on its date."""

    license_id: str
    user: str
    organization: str
    license_type: str
    revoked_on: dt.date
    revoked_by: str
    revocation_reason: str
    against_policy: bool
    explanation: str
    policy_clause: str

    @property
    def against_policy_text(self) -> str:
        return "Yes" if self.against_policy else "No"


@dataclass(frozen=True, slots=True)
class AppealGrant:
    """§4 CE-Allotment Appeal: an approved CE appeal, decided since the previous review,
    that granted licenses to a named organization in its region and is not yet carried
    out (fewer CE licenses of the organization charged to the region granted on or after
    the decision than the appeal granted). The region's CE Lead issues them to it before
    designating any other (§3, §4)."""

    appeal_id: str
    organization: str
    region: str
    licenses: int  # granted by the appeal
    outstanding: int  # not yet issued
    decided_on: dt.date
    granted_from: str

    @property
    def text(self) -> str:
        """ "1 granted to <organization> by appeal A-106 on 2026-11-20", the outstanding
        ones, as every output names them."""
        return (
            f"{self.outstanding} granted to {self.organization} by appeal {self.appeal_id}"
            f" on {self.decided_on}"
        )


@dataclass(frozen=True, slots=True)
class Results:
    decisions: tuple[LicenseDecision, ...] = ()
    allotments: tuple[RegionAllotment, ...] = ()
    allotment_summary: AllotmentSummary | None = None
    problems: tuple[Problem, ...] = ()
    ce_charges: tuple[CeCharge, ...] = ()
    appeals_queue: tuple[QueuedAppeal, ...] = ()
    reassignment: tuple[ReassignmentItem, ...] = ()
    self_pay_estimates: tuple[SelfPayQuote, ...] = ()
    watch_list: tuple[WatchItem, ...] = ()
    revocations_done: tuple[RevocationRecord, ...] = ()
    # Findings History rows to append for this run (only changes; SPEC §8).
    history_entries: tuple[HistoryRow, ...] = ()
    next_review: dt.date | None = None  # None: the Settings' Next Review unreadable
    previous_review: dt.date | None = None  # As Of of the previous review, if any
    # Approved CE appeals since the previous review whose licenses are still to be issued.
    appeal_grants: tuple[AppealGrant, ...] = ()
    # Result sheets an Error holds back (sheet name -> why); they keep their last content.
    held_back: Mapping[str, str] = field(default_factory=dict)

    @property
    def revocations(self) -> tuple[LicenseDecision, ...]:
        return tuple(d for d in self.decisions if d.eligible)

    @property
    def licenses_judged(self) -> int:
        """Active licenses the §1 rules were applied to: the report also lists revoked,
        not-yet-granted, self-pay and unreadable rows, which are not judged."""
        return sum(d.finding not in NOT_JUDGED_FINDINGS for d in self.decisions)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "Error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "Warning")
