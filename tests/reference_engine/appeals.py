"""§4 License Revocation Appeals Process: routing, the pending-appeals queue, and what an
approved CE-allotment appeal changes.

Inactivity appeals and special requests go to the Performance Committee; CE allotment
revocations, denials and additional-allotment requests to the Coordinated Entry
Committee (names and routing from policy.yaml). Both committees "must respond to all
pending appeals and requests during each monthly meeting", while "resolution may take
several months": an appeal is overdue when no meeting has discussed it (Last Reviewed On,
else Filed On) for longer than the response period, not merely because it is old.

A Reason may be written as the policy or the Addendum 1 form words it ("Inactivity
Appeal", "My license was revoked due to CE allotment limits"): `appeals.reason_aliases`
in policy.yaml reads each as one of the five reasons.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from tests.reference_engine.dates import Period
from tests.reference_engine.inactivity import natural_key
from tests.reference_engine.model import (
    APPEAL_REASONS,
    AppealRow,
    LicenseRow,
    Policy,
    Problem,
    QueuedAppeal,
    Where,
    name_key,
)

_SECTION = {
    "performance": "§4 Inactivity Appeal",
    "coordinated_entry": "§4 CE-Allotment Appeal",
}
CE_EITHER = "CE allotment revocation or denial"
_CE_REASONS = {"ce allotment revocation", "ce allotment denial", "additional allotment request"}


@dataclass(frozen=True, slots=True)
class Reason:
    """An appeal's Reason as written, read as one of the policy's reasons (or not)."""

    written: str
    reason: str | None  # one of APPEAL_REASONS; None when it cannot be read as one
    committee: str | None  # the policy key of the committee that hears it
    note: str  # how it was read, for the Explanation ("" when written as a reason)


def read_reason(
    policy: Policy, appeal: AppealRow, revoked: Mapping[str, LicenseRow] | None = None
) -> Reason:
    """§4 which of the policy's reasons an appeal's Reason is, and who hears it."""
    key = name_key(appeal.reason)
    for known in APPEAL_REASONS:
        if name_key(known) == key:
            return Reason(appeal.reason, known, _committee(policy, known), "")
    target = next((r for a, r in policy.reason_aliases.items() if name_key(a) == key), None)
    if target is None:
        return Reason(appeal.reason, None, None, "")
    if target == CE_EITHER:
        lic = (revoked or {}).get(name_key(appeal.license_id or ""))
        target = "CE allotment revocation" if lic is not None else "CE allotment denial"
        why = (
            f"license {appeal.license_id} was revoked"
            if lic is not None
            else "it names no revoked license"
        )
        note = f'"{appeal.reason}" is read as {target} ({why}; appeals.reason_aliases).'
    else:
        note = f'"{appeal.reason}" is read as {target} (appeals.reason_aliases).'
    return Reason(appeal.reason, target, _committee(policy, target), note)


def may_change_allotments(policy: Policy, reason: str, decision: str) -> bool:
    """Whether an Appeals row that could not be read in full may move licenses between
    regions or add them (§4), from what of it could be read: not when its Decision is
    Pending or Denied, nor when its Reason is one the Performance Committee hears."""
    if name_key(decision) in ("pending", "denied"):
        return False
    key = name_key(reason)
    if not key:
        return True  # the Reason itself could not be read
    known = next((r for r in APPEAL_REASONS if name_key(r) == key), None)
    if known is None:
        known = next((r for a, r in policy.reason_aliases.items() if name_key(a) == key), None)
    if known is None or known == CE_EITHER:
        return True
    return _committee(policy, known) == "coordinated_entry"


def _committee(policy: Policy, reason: str) -> str:
    for known, committee in policy.appeal_routing.items():
        if name_key(known) == name_key(reason):
            return committee
    return "coordinated_entry" if name_key(reason) in _CE_REASONS else "performance"


def committee_for_revocation(revocation_reason: str | None) -> str | None:
    """The committee an appeal of a recorded revocation goes to (§4), by its reason."""
    text = (revocation_reason or "").casefold()
    if "§1" in text or "inactiv" in text or "sign" in text:
        return "performance"
    if "§3" in text or "ce allotment" in text:
        return "coordinated_entry"
    return None


def reason_problems(policy: Policy, appeals: Sequence[AppealRow]) -> list[Problem]:
    """A Reason that is neither one of the policy's reasons nor an alias cannot be routed."""
    problems = []
    for appeal in appeals:
        if read_reason(policy, appeal).reason is not None:
            continue
        parent = "revocation/denial" in appeal.reason.casefold()
        problems.append(
            Problem(
                "Error",
                Where("Appeals", appeal.row, "Reason"),
                f'Appeal {appeal.appeal_id}: the Reason "{appeal.reason}" does not say which'
                " committee hears it"
                + (
                    " (the form's line for any revocation or denial: inactivity goes to the"
                    " Performance Committee, CE allotment limits to the Coordinated Entry"
                    " Committee)"
                    if parent
                    else ""
                )
                + "; the appeal is listed as not routed until it does (§4).",
                "Use one of: " + ", ".join(APPEAL_REASONS) + " (or a wording listed under"
                " appeals.reason_aliases in policy.yaml).",
            )
        )
    return problems


def appeals_queue(
    policy: Policy,
    appeals: Sequence[AppealRow],
    as_of: dt.date,
    revoked: Mapping[str, LicenseRow] | None = None,
) -> list[QueuedAppeal]:
    """Every appeal pending on the as-of date, for its committee, oldest first."""
    order = list(policy.committees)
    queue = []
    for appeal in appeals:
        decided_later = appeal.decided_on is not None and appeal.decided_on > as_of
        if appeal.filed_on > as_of:
            continue
        if name_key(appeal.decision) != "pending" and not decided_later:
            continue
        reason = _routed_by_revocation(
            policy, appeal, read_reason(policy, appeal, revoked), revoked
        )
        queue.append(_queued(policy, appeal, reason, as_of))
    queue.sort(
        key=lambda q: (
            order.index(q.committee_key) if q.committee_key in order else len(order),
            q.filed_on,
            natural_key(q.appeal_id),
        )
    )
    return [q.row for q in queue]


@dataclass(frozen=True, slots=True)
class _Queued:
    committee_key: str | None
    filed_on: dt.date
    appeal_id: str
    row: QueuedAppeal


def _routed_by_revocation(
    policy: Policy, appeal: AppealRow, reason: Reason, revoked: Mapping[str, LicenseRow] | None
) -> Reason:
    """§4: the appeal of a revocation goes to the committee that hears that kind of
    revocation ("an inactivity revocation ... reviewed by the Performance Committee"),
    whatever its Reason says; where they differ, the queue lists it for that committee and
    says why (Revocations Done and Problems warn too), so no two packets disagree."""
    lic = (revoked or {}).get(name_key(appeal.license_id or ""))
    expected = committee_for_revocation(lic.revocation_reason) if lic is not None else None
    if lic is None or expected is None or reason.committee in (None, expected):
        return reason
    wrong = policy.committees.get(reason.committee, reason.committee)
    right = policy.committees.get(expected, expected)
    note = (
        f"Its Reason would send it to the {wrong}, but license {lic.license_id} was revoked"
        f" for {lic.revocation_reason}, which the {right} hears (§4), so it is listed for"
        f" the {right}; correct the appeal's Reason (see Problems)."
    )
    return replace(reason, committee=expected, note=f"{reason.note} {note}".strip())


def _respond_by(period: Period, since: dt.date) -> dt.date:
    """The last day on which `since` is not yet longer ago than the response period.

    SPEC §2's month arithmetic counts back from the as-of date (`D − period`, clamped to
    month end), so an appeal is overdue once `since < D − period`: filed on 2026-02-28,
    it is one month old on every day to 2026-03-31 (2026-03-31 minus one month is
    2026-02-28), and overdue from 2026-04-01.
    """
    day = period.after(since)
    while period.before(day + dt.timedelta(days=1)) <= since:  # month ends: a few steps
        day += dt.timedelta(days=1)
    return day


def _queued(policy: Policy, appeal: AppealRow, reason: Reason, as_of: dt.date) -> _Queued:
    period = policy.appeal_response_period
    reviewed = appeal.last_reviewed_on
    if reviewed is not None and (reviewed > as_of or reviewed < appeal.filed_on):
        reviewed = None  # a date that cannot be a review on the as-of date
    since = reviewed or appeal.filed_on
    respond_by = _respond_by(period, since)
    overdue = as_of > respond_by
    days = (as_of - appeal.filed_on).days
    if reason.committee is None:
        committee = "Not routed"
        heard = "no committee can be named from its Reason (see Problems)"
        clause = "§4"
    else:
        committee = policy.committees.get(reason.committee, reason.committee)
        heard = f"heard by the {committee}"
        clause = _SECTION.get(reason.committee, "§4")
    if reviewed:
        last = f"last discussed on {reviewed} (Last Reviewed On)"
    elif appeal.last_reviewed_on is None:
        last = "not yet discussed at a meeting (Last Reviewed On is blank)"
    elif appeal.last_reviewed_on > as_of:
        last = (
            f"not yet discussed at a meeting by {as_of} (Last Reviewed On"
            f" {appeal.last_reviewed_on} is after it)"
        )
    else:
        last = (
            f"not yet discussed at a meeting (Last Reviewed On {appeal.last_reviewed_on}"
            " is before it was filed)"
        )
    later = ""
    if name_key(appeal.decision) != "pending":
        later = (
            f" It is recorded as {appeal.decision} on {appeal.decided_on}, after {as_of},"
            f" so on {as_of} it was still pending."
        )
    status = (
        f"overdue: a response was due by {respond_by}"
        if overdue
        else f"a response is due by {respond_by}"
    )
    sentences = [
        f"{reason.reason or appeal.reason}: {heard}.",
        *([reason.note] if reason.note else []),
        f"Pending {days} days since it was filed on {appeal.filed_on}, {last}.{later} The"
        f" committee is to respond within {period.describe()} of a discussion"
        " (appeals.response_period; the policy asks for a response at each monthly"
        f" meeting, though resolution may take several months), so {status}. {clause}",
    ]
    return _Queued(
        reason.committee,
        appeal.filed_on,
        appeal.appeal_id,
        QueuedAppeal(
            appeal_id=appeal.appeal_id,
            committee=committee,
            organization=appeal.organization,
            reason=reason.reason or appeal.reason,
            filed_on=appeal.filed_on,
            days_pending=days,
            overdue=overdue,
            respond_by=respond_by,
            license_id=appeal.license_id,
            region=appeal.region,
            licenses_requested=appeal.licenses_requested,
            explanation=" ".join(sentences),
            policy_clause=clause,
            last_reviewed_on=reviewed,
        ),
    )


# ------------------------------------------------ what approved CE-allotment appeals change


@dataclass(frozen=True, slots=True)
class AllotmentChange:
    """§4 CE-Allotment Appeal: licenses an approved appeal adds to (or moves between)
    regions' allotments."""

    region: str
    licenses: int  # + for the region it was granted to, - for one it was reassigned from
    appeal_id: str
    text: str
    from_hmis: bool = False


_REASSIGNED = re.compile(r"^\s*reassigned\s+from\s+(.+?)\s*$", re.IGNORECASE)


def allotment_changes(
    policy: Policy,
    appeals: Sequence[AppealRow],
    as_of: dt.date,
    regions: Sequence[str],
    revoked: Mapping[str, LicenseRow] | None = None,
) -> tuple[list[AllotmentChange], list[Problem]]:
    """Approved CE-allotment appeals decided by the as-of date, as changes to allotments."""
    names = {name_key(r): r for r in regions}
    changes: list[AllotmentChange] = []
    problems: list[Problem] = []
    for appeal in appeals:
        reason = read_reason(policy, appeal, revoked)
        if (
            reason.committee != "coordinated_entry"
            or name_key(appeal.decision) != "approved"
            or appeal.decided_on is None
            or appeal.decided_on > as_of
        ):
            continue
        found, problem = _change(appeal, names)
        changes.extend(found)
        if problem is not None:
            problems.append(problem)
    return changes, problems


def _change(
    appeal: AppealRow, regions: Mapping[str, str]
) -> tuple[list[AllotmentChange], Problem | None]:
    where = Where("Appeals", appeal.row, "Granted From")
    source = (appeal.granted_from or "").strip()
    count = appeal.licenses_requested
    region = regions.get(name_key(appeal.region or ""))
    if not source:
        return [], Problem(
            "Warning",
            where,
            f"Appeal {appeal.appeal_id} is approved but Granted From is blank, so the"
            " Allotments do not change for it (§4).",
            "Enter where the licenses come from: Region allotment, Additional from HMIS, or"
            " Reassigned from <Region>.",
        )
    if not count or region is None:
        missing = "Licenses Requested" if not count else "a Region on the Regions sheet"
        return [], Problem(
            "Warning",
            Where("Appeals", appeal.row, "Licenses Requested" if not count else "Region"),
            f"Appeal {appeal.appeal_id} is approved from {source} but has no {missing},"
            " so the Allotments do not change for it (§4).",
            "Enter how many licenses were granted and the region they were granted to.",
        )
    plural = "license" if count == 1 else "licenses"
    key = name_key(source)
    if key == "region allotment":
        text = (
            f"Appeal {appeal.appeal_id} approved {count} {plural} from {region}'s own"
            " allotment (no change to it)."
        )
        return [AllotmentChange(region, 0, appeal.appeal_id, text)], None
    if key == "additional from hmis":
        text = f"+{count} by appeal {appeal.appeal_id}: an additional {plural} from HMIS."
        return [AllotmentChange(region, count, appeal.appeal_id, text, from_hmis=True)], None
    match = _REASSIGNED.match(source)
    origin = regions.get(name_key(match.group(1))) if match else None
    if origin is None:
        return [], Problem(
            "Warning",
            where,
            f'Appeal {appeal.appeal_id}: Granted From "{source}" is not Region allotment,'
            " Additional from HMIS, or Reassigned from a region on the Regions sheet, so"
            " the Allotments do not change for it (§4).",
            "Write Region allotment, Additional from HMIS, or Reassigned from <Region>.",
        )
    return [
        AllotmentChange(
            region,
            count,
            appeal.appeal_id,
            f"+{count} by appeal {appeal.appeal_id}: {plural} reassigned from {origin}.",
        ),
        AllotmentChange(
            origin,
            -count,
            appeal.appeal_id,
            f"-{count} by appeal {appeal.appeal_id}: {plural} reassigned to {region}.",
        ),
    ], None
