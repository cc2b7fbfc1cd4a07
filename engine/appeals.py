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
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from engine.dates import Period
from engine.inactivity import natural_key
from engine.model import (
    APPEAL_REASONS,
    AppealGrant,
    AppealRow,
    LicenseRow,
    Policy,
    Problem,
    QueuedAppeal,
    Where,
    name_key,
)
from engine.words import plural

# The policy's two kinds of appeal (§4), by what the appeal is about, whichever committee
# the policy's routing sends it to.
_INACTIVITY_SECTION = "§4 Inactivity Appeal"
_CE_SECTION = "§4 CE-Allotment Appeal"
CE_EITHER = "CE allotment revocation or denial"
_CE_REASONS = {"ce allotment revocation", "ce allotment denial", "additional allotment request"}


@dataclass(frozen=True, slots=True)
class Reason:
    """An appeal's Reason as written, read as one of the policy's reasons (or not)."""

    written: str
    reason: str | None  # one of APPEAL_REASONS; None when it cannot be read as one
    committee: str | None  # the policy key of the committee that hears it
    note: str  # how it was read, for the Explanation ("" when written as a reason)
    # Why it is heard by another committee than its Reason names: it appeals a recorded
    # revocation of a kind that committee hears (§4); "" when it is not rerouted.
    rerouted: str = ""
    # The reason it is heard as when rerouted: the appeal of that kind of revocation.
    heard_as: str | None = None

    @property
    def kind(self) -> str | None:
        """The reason that decides what the appeal is (and what its approval changes)."""
        return self.heard_as or self.reason

    @property
    def about_allotments(self) -> bool:
        """§4 CE-Allotment Appeal: an approval may move or add licenses, whichever
        committee the policy's routing sends it to."""
        return name_key(self.kind or "") in _CE_REASONS


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
    Pending or Denied, nor when its Reason is not about the CE allotment."""
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
    return name_key(known) in _CE_REASONS


def _committee(policy: Policy, reason: str) -> str:
    for known, committee in policy.appeal_routing.items():
        if name_key(known) == name_key(reason):
            return committee
    return "coordinated_entry" if name_key(reason) in _CE_REASONS else "performance"


def revocation_kind(revocation_reason: str | None) -> str | None:
    """What the appeal of a recorded revocation is (§4), by the revocation's reason: an
    Inactivity revocation (§1) or a CE allotment revocation (§3); None for another."""
    text = (revocation_reason or "").casefold()
    if "§1" in text or "inactiv" in text or "sign" in text:
        return "Inactivity revocation"
    if "§3" in text or "ce allotment" in text:
        return "CE allotment revocation"
    return None


def committee_for_revocation(policy: Policy, revocation_reason: str | None) -> str | None:
    """The committee an appeal of a recorded revocation goes to (§4): the one the
    policy's routing names for that kind of appeal."""
    kind = revocation_kind(revocation_reason)
    return _committee(policy, kind) if kind is not None else None


def reason_problems(
    policy: Policy,
    appeals: Sequence[AppealRow],
    revoked: Mapping[str, LicenseRow] | None = None,
) -> list[Problem]:
    """A Reason that is neither one of the policy's reasons nor an alias cannot be routed;
    one that names another committee than the revocation it appeals is heard by the
    revocation's committee (`route`): a Warning for each such appeal, pending or decided."""
    problems = []
    for appeal in appeals:
        routed = route(policy, appeal, revoked)
        if routed.rerouted:
            problems.append(
                Problem(
                    "Warning",
                    Where("Appeals", appeal.row, "Reason"),
                    routed.rerouted,
                    "Correct the appeal's Reason (or the license's Revocation Reason), so"
                    " that the right committee hears it (§4).",
                )
            )
        if routed.reason is not None:
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
    regions_of: Mapping[str, tuple[str, bool]] | None = None,
) -> list[QueuedAppeal]:
    """Every appeal pending on the as-of date, for its committee, oldest first.

    `regions_of` gives each license's region by License ID key: (region, True) when the
    CE Charges sheet charges it there, (region, False) when only its Licenses row names
    it. A CE appeal naming a license but no Region is listed for the license's region."""
    order = list(policy.committees)
    queue = []
    for appeal in appeals:
        if not pending_on(appeal, as_of):
            continue
        reason = route(policy, appeal, revoked)
        queue.append(_queued(policy, appeal, reason, as_of, regions_of))
    queue.sort(
        key=lambda q: (
            order.index(q.committee_key) if q.committee_key in order else len(order),
            q.filed_on,
            natural_key(q.appeal_id),
        )
    )
    return [q.row for q in queue]


# The Appeals Queue's committee for an appeal whose Reason names none.
NOT_ROUTED = "Not routed"


def pending_on(appeal: AppealRow, as_of: dt.date) -> bool:
    """Filed by the as-of date and not decided by then: a decision recorded with a later
    Decided On was not yet made on that date (a back-dated or correction run sees the
    workbook as it stood then, SPEC §2)."""
    if appeal.filed_on > as_of:
        return False
    decided_later = appeal.decided_on is not None and appeal.decided_on > as_of
    return name_key(appeal.decision) == "pending" or decided_later


@dataclass(frozen=True, slots=True)
class _Queued:
    committee_key: str | None
    filed_on: dt.date
    appeal_id: str
    row: QueuedAppeal


def route(
    policy: Policy, appeal: AppealRow, revoked: Mapping[str, LicenseRow] | None = None
) -> Reason:
    """§4 who hears an appeal: its Reason read as one of the policy's reasons, then, for
    the appeal of a recorded revocation, the committee that hears that kind of revocation
    ("an inactivity revocation ... reviewed by the Performance Committee"), whatever its
    Reason says. The Appeals Queue, the Reassignment agenda, the Allotments and Problems
    all route by this one reading, so no two of them disagree."""
    return _routed_by_revocation(policy, appeal, read_reason(policy, appeal, revoked), revoked)


def rerouting(policy: Policy, appeal: AppealRow, lic: LicenseRow, reason: Reason) -> str:
    """The sentence saying that an appeal of `lic`'s revocation is heard by another
    committee than its Reason names ("" when they agree): for the Appeals Queue, Problems
    and Revocations Done alike."""
    expected = committee_for_revocation(policy, lic.revocation_reason)
    if expected is None or reason.committee in (None, expected):
        return ""
    wrong = policy.committees.get(reason.committee, reason.committee)
    right = policy.committees.get(expected, expected)
    return (
        f"Appeal {appeal.appeal_id}'s Reason ({appeal.reason}) sends it to the {wrong}, but"
        f" license {lic.license_id} was revoked for {lic.revocation_reason}, which the"
        f" {right} hears (§4)."
    )


def _routed_by_revocation(
    policy: Policy, appeal: AppealRow, reason: Reason, revoked: Mapping[str, LicenseRow] | None
) -> Reason:
    """Where an appeal's Reason and its license's revocation name different committees,
    the committee that hears that kind of revocation, and why (`route`)."""
    lic = (revoked or {}).get(name_key(appeal.license_id or ""))
    if lic is None:
        return reason
    mismatch = rerouting(policy, appeal, lic, reason)
    if not mismatch:
        return reason
    expected = committee_for_revocation(policy, lic.revocation_reason)
    wrong = policy.committees.get(reason.committee or "", reason.committee)
    right = policy.committees.get(expected or "", expected)
    note = (
        f"Its Reason would send it to the {wrong}, but license {lic.license_id} was revoked"
        f" for {lic.revocation_reason}, which the {right} hears (§4), so it is listed for"
        f" the {right}; correct the appeal's Reason (see Problems)."
    )
    return replace(
        reason,
        committee=expected,
        note=f"{reason.note} {note}".strip(),
        rerouted=mismatch,
        heard_as=revocation_kind(lic.revocation_reason),
    )


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


def _region(
    appeal: AppealRow, reason: Reason, regions_of: Mapping[str, tuple[str, bool]] | None
) -> tuple[str | None, str]:
    """The region a pending appeal is for, and how it was found when its Region is blank:
    a CE appeal naming a license is for the region the license is charged to (§3.2)."""
    if appeal.region or not appeal.license_id or not reason.about_allotments:
        return appeal.region, ""
    found = (regions_of or {}).get(name_key(appeal.license_id))
    if found is None:
        return None, ""
    region, charged = found
    where = f"is charged to {region} (CE Charges)" if charged else f"names {region} (Licenses row)"
    return region, (
        f"Its Region is blank: license {appeal.license_id} {where}, so it is taken as"
        f" the appeal's region."
    )


def _queued(
    policy: Policy,
    appeal: AppealRow,
    reason: Reason,
    as_of: dt.date,
    regions_of: Mapping[str, tuple[str, bool]] | None = None,
) -> _Queued:
    period = policy.appeal_response_period
    region, region_note = _region(appeal, reason, regions_of)
    reviewed = appeal.last_reviewed_on
    if reviewed is not None and (reviewed > as_of or reviewed < appeal.filed_on):
        reviewed = None  # a date that cannot be a review on the as-of date
    since = reviewed or appeal.filed_on
    respond_by = _respond_by(period, since)
    overdue = as_of > respond_by
    days = (as_of - appeal.filed_on).days
    if reason.committee is None:
        committee = NOT_ROUTED
        heard = "no committee can be named from its Reason (see Problems)"
        clause = "§4"
    else:
        committee = policy.committees.get(reason.committee, reason.committee)
        heard = f"heard by the {committee}"
        clause = _CE_SECTION if reason.about_allotments else _INACTIVITY_SECTION
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
        *([region_note] if region_note else []),
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
            region=region,
            licenses_requested=appeal.licenses_requested,
            explanation=" ".join(sentences),
            policy_clause=clause,
            last_reviewed_on=reviewed,
            allotment_request=reason.about_allotments,
            region_note=region_note,
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


# In Use on each of some days, by region name key (charging.in_use_on, bound to the
# policy and the workbook's inputs).
InUseOn = Callable[[Collection[dt.date]], Mapping[dt.date, Mapping[str, int]]]

_REASSIGNED = re.compile(r"^\s*reassigned\s+from\s+(.+?)\s*$", re.IGNORECASE)


def allotment_changes(
    policy: Policy,
    appeals: Sequence[AppealRow],
    as_of: dt.date,
    regions: Sequence[str],
    revoked: Mapping[str, LicenseRow] | None = None,
    balance: Mapping[str, int] | None = None,
    in_use_on: InUseOn | None = None,
) -> tuple[list[AllotmentChange], list[Problem]]:
    """Approved CE-allotment appeals decided by the as-of date, as changes to allotments.

    Appeals are routed as the Appeals Queue routes them (`route`). `balance` gives each
    region's §2 allotment by name key, and `in_use_on` each region's In Use on given days
    (charging.in_use_on): a reassignment that takes more than the region it comes from
    had to spare on the day it was decided (§4: "excess allotted licenses") is still
    applied, as recorded, with a Warning."""
    names = {name_key(r): r for r in regions}
    changes: list[AllotmentChange] = []
    problems: list[Problem] = []
    decided: list[tuple[AppealRow, list[AllotmentChange]]] = []
    for appeal in appeals:
        if (
            name_key(appeal.decision) != "approved"
            or appeal.decided_on is None
            or appeal.decided_on > as_of
        ):
            continue
        reason = route(policy, appeal, revoked)
        if not reason.about_allotments:
            if reason.rerouted and (appeal.granted_from or "").strip():
                problems.append(_not_applied(policy, appeal, reason))
            continue
        found, problem = _change(appeal, names)
        changes.extend(found)
        decided.append((appeal, found))
        if problem is not None:
            problems.append(problem)
    if balance is not None and in_use_on is not None:
        changes, over = _beyond_excess(policy, decided, changes, balance, in_use_on)
        problems += over
    return changes, problems


def _not_applied(policy: Policy, appeal: AppealRow, reason: Reason) -> Problem:
    return Problem(
        "Warning",
        Where("Appeals", appeal.row, "Granted From"),
        f'Appeal {appeal.appeal_id} is approved with Granted From "{appeal.granted_from}",'
        f" but it is not a CE allotment appeal: {reason.rerouted} So the Allotments do not"
        " change for it.",
        "Correct the appeal's Reason or the license's Revocation Reason; if the Coordinated"
        " Entry Committee granted CE licenses, record them on an appeal it hears.",
    )


def _beyond_excess(
    policy: Policy,
    decided: Sequence[tuple[AppealRow, list[AllotmentChange]]],
    changes: list[AllotmentChange],
    balance: Mapping[str, int],
    in_use_on: InUseOn,
) -> tuple[list[AllotmentChange], list[Problem]]:
    """§4 "The CE committee may reassign excess allotted licenses from other regions": in
    the order the appeals were decided, each reassignment that takes more than its region
    had available on the day it was decided (its allotment with earlier appeals' changes,
    less the CE licenses in use that day, as Revocations Done judges a revocation on its
    date) is warned, and the region's own change says so."""
    order = sorted(decided, key=lambda d: (d[0].decided_on or dt.date.min, d[0].row))
    days = {
        appeal.decided_on
        for appeal, found in order
        if appeal.decided_on is not None
        and any(c.licenses < 0 and name_key(c.region) in balance for c in found)
    }
    used = in_use_on(days) if days else {}
    added: dict[str, int] = {}
    noted: dict[int, AllotmentChange] = {}
    problems = []
    minimum = policy.ce_allotment.minimum
    for appeal, found in order:
        for change in found:
            key = name_key(change.region)
            if key not in balance:
                continue
            allotment = balance[key]
            before = added.get(key, 0)
            added[key] = before + change.licenses
            if change.licenses >= 0 or appeal.decided_on is None:
                continue
            day = appeal.decided_on
            in_use = used[day][key]
            spare = allotment + before - in_use
            if -change.licenses <= spare:
                continue
            taken = -change.licenses
            held = allotment + added[key]
            had = plural(max(spare, 0), "license")
            most = f"at most {had}" if spare > 0 else "none"
            below = [f"{allotment - held} below its allotment of {allotment}"]
            if held < minimum:
                below.append(f"{minimum - held} below the §2 minimum of {minimum}")
            noted[id(change)] = replace(
                change,
                text=f"{change.text.rstrip('.')}, more than the {had} {change.region} had"
                f" available on {day}, when it was decided, leaving it {below[-1]}; see"
                " Problems",
            )
            problems.append(
                Problem(
                    "Warning",
                    Where("Appeals", appeal.row, "Granted From"),
                    f"Appeal {appeal.appeal_id} reassigns {plural(taken, 'license')} from"
                    f" {change.region}, which had {had} available on {day}, when it was"
                    f" decided (allotment {allotment}{_signed(before)}, {in_use} in use"
                    " then); §4 lets the CE"
                    " committee reassign excess allotted licenses. The Allotments apply the"
                    f" recorded decision: {change.region} now holds {plural(held, 'license')}, "
                    + " and ".join(below)
                    + f", and its Available that day was {spare - taken}.",
                    f"Check the decision with the CE Committee: reassign {most} from"
                    f" {change.region} (Licenses Requested), and grant the rest from"
                    " another region's excess or as Additional from HMIS on another Appeals"
                    " row.",
                )
            )
    return [noted.get(id(c), c) for c in changes], problems


def _signed(added: int) -> str:
    return f" {added:+d} by earlier appeals" if added else ""


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
    licenses = plural(count, "license")
    key = name_key(source)
    if key == "region allotment":
        text = (
            f"Appeal {appeal.appeal_id} approved {licenses} from {region}'s own"
            " allotment (no change to it)."
        )
        return [AllotmentChange(region, 0, appeal.appeal_id, text)], None
    if key == "additional from hmis":
        extra = "an additional license" if count == 1 else f"{count} additional licenses"
        text = f"+{count} by appeal {appeal.appeal_id}: {extra} from HMIS."
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
    if origin == region:
        return [], Problem(
            "Warning",
            where,
            f'Appeal {appeal.appeal_id}: Granted From "{source}" names {region}, the region'
            " the licenses are granted to; §4 reassigns licenses from other regions, so"
            " nothing is reassigned and the Allotments do not change for it.",
            f"Write Region allotment if the licenses come from {region}'s own allotment,"
            " Reassigned from <another Region>, or Additional from HMIS.",
        )
    word = "license" if count == 1 else "licenses"
    return [
        AllotmentChange(
            region,
            count,
            appeal.appeal_id,
            f"+{count} by appeal {appeal.appeal_id}: {word} reassigned from {origin}.",
        ),
        AllotmentChange(
            origin,
            -count,
            appeal.appeal_id,
            f"-{count} by appeal {appeal.appeal_id}: {word} reassigned to {region}.",
        ),
    ], None


# The appeals whose approval undoes a recorded revocation (§4).
_REVOCATION_APPEALS = ("Inactivity revocation", "CE allotment revocation")


def approvals_not_carried_out(
    policy: Policy,
    appeals: Sequence[AppealRow],
    revoked: Mapping[str, LicenseRow],
    as_of: dt.date,
) -> list[Problem]:
    """§4: an approved appeal of a recorded revocation gives the license back. One still
    revoked on the as-of date, by the revocation the committee heard (dated on or before
    its decision), is named, so that it is restored: no other output follows it up (it is
    not judged, not in use and no longer in the Appeals Queue)."""
    problems = []
    for appeal in appeals:
        decided = appeal.decided_on
        if name_key(appeal.decision) != "approved" or decided is None or decided > as_of:
            continue
        lic = revoked.get(name_key(appeal.license_id or ""))
        if lic is None or lic.revoked_on is None or lic.revoked_on > decided:
            continue
        kind = route(policy, appeal, revoked).kind
        if kind not in _REVOCATION_APPEALS:
            continue
        committee = policy.committees.get(_committee(policy, kind) or "", "committee")
        problems.append(
            Problem(
                "Warning",
                Where("Licenses", lic.row, "Revoked On"),
                f"Appeal {appeal.appeal_id} ({kind}) of license {lic.license_id}'s revocation"
                f" on {lic.revoked_on} was approved by the {committee} on {decided}, but the"
                " license is still revoked: it is not judged and not counted as in use (§4).",
                "Restore the license as the committee decided: clear Revoked On, Revoked By"
                " and Revocation Reason. If the appeal was not approved, correct its"
                " Decision.",
            )
        )
    return problems


def appeal_grants(
    policy: Policy,
    appeals: Sequence[AppealRow],
    as_of: dt.date,
    since: dt.date,
    regions: Sequence[str],
    issued: Mapping[tuple[str, str], Sequence[dt.date]],
    revoked: Mapping[str, LicenseRow] | None = None,
) -> list[AppealGrant]:
    """§4: approved CE appeals decided in (since, as_of] -- since the previous review, or
    one review period back when there is none -- that grant licenses to their organization
    in their region, as `allotment_changes` applies them (any Granted From it accepts),
    less those already issued. `issued` gives, by (organization key, region key), the
    Granted On of each active CE license of the organization charged to the region: one
    granted on or after the decision counts as issued for it, earliest decision first."""
    names = {name_key(r): r for r in regions}
    found = []
    for appeal in sorted(
        appeals, key=lambda a: (a.decided_on or dt.date.min, natural_key(a.appeal_id))
    ):
        day = appeal.decided_on
        if name_key(appeal.decision) != "approved" or day is None or not since < day <= as_of:
            continue
        if not route(policy, appeal, revoked).about_allotments:
            continue
        changes, problem = _change(appeal, names)
        if problem is not None or not changes or not appeal.licenses_requested:
            continue
        region = changes[0].region
        found.append((appeal, region, day))
    unused = {key: sorted(dates) for key, dates in issued.items()}
    grants = []
    for appeal, region, day in found:
        left = unused.get((name_key(appeal.organization), name_key(region)), [])
        count = appeal.licenses_requested or 0
        taken = [g for g in left if g >= day][:count]
        for g in taken:
            left.remove(g)
        done = len(taken)
        if count - done > 0:
            grants.append(
                AppealGrant(
                    appeal.appeal_id,
                    appeal.organization,
                    region,
                    count,
                    count - done,
                    day,
                    (appeal.granted_from or "").strip(),
                )
            )
    return grants
