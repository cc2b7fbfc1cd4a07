"""SPEC §8, the monthly review: history, the watch list, and revocations on record.

The policy is a monthly cycle: "The Lead Agency and the HMIS lead will meet on a monthly
basis to review inactive users", the HMIS Lead presents an inactivity report to the
Performance Committee, and CE Leads revoke and reassign. So each recalculation is read
against the previous review:

* **History.** Findings History (kept in the workbook) holds one row per license whose
  finding, exception or eligibility changed, with the As Of of the review. The previous
  review is the latest As Of in it before this one. `Eligible Since` is the As Of of the
  first review of a license's current stretch of eligibility; `Change Since Last Review`
  compares with the previous review. A run whose As Of is before the latest recorded one
  (back-dated) reads history up to its date and records nothing; a repeated run on the
  same As Of records only what changed since the earlier run of that day. `Cannot judge`
  is never recorded: a cell that cannot be read is not a finding.
* **Watch list.** What is not eligible on the as-of date but will be by Next Review if
  nothing changes: the organization's licenses are judged again on each date in between
  on which something lapses (a window ends, an exception expires, a license is granted
  or revoked), so §1.E1's "keep one" is decided as it would be on that day.
* **Revocations done.** Licenses revoked since the previous review, each checked against
  the policy on its date.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from operator import attrgetter

from engine.appeals import revocation_kind, route
from engine.inactivity import (
    Judgement,
    Windows,
    counted_dates,
    judge_all,
    natural_key,
    special_request_in_force,
)
from engine.model import (
    NOT_JUDGED_FINDINGS,
    AppealRow,
    HistoryRow,
    Inputs,
    LicenseDecision,
    LicenseRow,
    Policy,
    Problem,
    RevocationRecord,
    WatchItem,
    Where,
    name_key,
)
from engine.words import plural

NEWLY_ELIGIBLE = "Newly eligible"
STILL_ELIGIBLE = "Still eligible"
NO_LONGER_ELIGIBLE = "No longer eligible"
NEW_LICENSE = "New license"
RE_REVIEW = "§1.E3 re-review"  # the Watch List's Rule for an open-ended request due again


# ----------------------------------------------------------------------------- history


@dataclass(frozen=True, slots=True)
class History:
    """Findings History as it stood on the as-of date."""

    previous_review: dt.date | None
    at_previous: Mapping[str, HistoryRow]  # license key -> its state at the previous review
    recorded: Mapping[str, HistoryRow]  # license key -> its latest state up to the as-of date
    rows: Mapping[str, list[HistoryRow]]  # license key -> its rows up to the as-of date
    back_dated: bool  # history already holds a later review: record nothing
    first: bool  # no history yet: record every license


def read_history(history: Sequence[HistoryRow] | None, as_of: dt.date) -> History:
    rows = sorted(history or (), key=attrgetter("as_of"))  # stable: sheet order within a day
    days = [r.as_of for r in rows]
    # Sorted by As Of: the rows before the as-of date, and those up to it, are a prefix.
    before, upto = bisect_left(days, as_of), bisect_right(days, as_of)
    previous = days[before - 1] if before else None  # the latest review before this one
    known = rows[:upto]
    keys = [name_key(r.license_id) for r in known]
    by_license: dict[str, list[HistoryRow]] = defaultdict(list)
    for key, row in zip(keys, known, strict=True):
        by_license[key].append(row)
    return History(
        previous_review=previous,
        # A license's latest row wins: of the rows on or before the previous review, and
        # of those up to the as-of date.
        at_previous=dict(zip(keys[:before], known[:before], strict=True)),
        recorded=dict(zip(keys, known, strict=True)),
        rows=by_license,
        back_dated=upto < len(rows),
        first=not rows,
    )


def history_entries(
    history: History, decisions: Iterable[LicenseDecision], as_of: dt.date
) -> list[HistoryRow]:
    """The Findings History rows this review adds: only what changed."""
    if history.back_dated:
        return []
    entries = []
    for d in decisions:
        if not d.license_id or d.finding == "Cannot judge":
            continue
        before = history.recorded.get(name_key(d.license_id))
        if (
            before is not None
            and before.finding == d.finding
            and before.exception == d.exception
            and before.eligible == d.eligible
        ):
            continue  # the same finding, exception and eligibility as recorded
        entries.append(
            HistoryRow(as_of, d.license_id, d.finding, d.exception, d.eligible, row=d.row)
        )
    return entries


def eligible_since(
    history: History, j: Judgement, as_of: dt.date, key: str | None = None
) -> dt.date | None:
    """The As Of of the first review of the license's current stretch of eligibility.

    Each review counts with its last run: a run repeated on the same As Of (after a
    correction) replaces that day's earlier one and does not break the stretch. A review
    before the license was granted (to its previous holder: SPEC §2) is not part of it.
    `key`: the license's name key, when the caller has it."""
    if not j.would_be_eligible:
        return None
    start = as_of
    day_seen = None
    granted = j.license.granted_on
    if key is None:
        key = name_key(j.license.license_id)
    for row in reversed(history.rows.get(key, [])):
        if row.as_of >= as_of or row.as_of == day_seen:
            continue  # an earlier run of the same day: the later one (or this run) holds
        day_seen = row.as_of
        if not row.eligible or row.as_of < granted:
            break
        start = row.as_of
    return start


def change_since_last_review(
    history: History, j: Judgement, as_of: dt.date, key: str | None = None
) -> str:
    """SPEC §8. A license granted since the previous review is new, whenever its row was
    typed (a row typed ahead of its grant was reviewed as not yet a license); one granted
    after the as-of date is not a license yet, so nothing has changed for it. `key`: the
    license's name key, when the caller has it."""
    previous = history.previous_review
    granted = j.license.granted_on
    if previous is None or j.finding == "Cannot judge" or granted > as_of:
        return ""
    before = history.at_previous.get(name_key(j.license.license_id) if key is None else key)
    if before is None or granted > previous:
        return NEW_LICENSE
    if j.would_be_eligible:
        return STILL_ELIGIBLE if before.eligible else NEWLY_ELIGIBLE
    if before.eligible:
        return f"{NO_LONGER_ELIGIBLE}: {_why_not_eligible(j)}"
    return ""


def _why_not_eligible(j: Judgement) -> str:
    lic = j.license
    if j.finding == "Not judged":
        if not j.license_is_active and lic.revoked_on is not None:
            return f"revoked on {lic.revoked_on}"
        return "not judged (" + (j.sentences[0].rstrip(".") if j.sentences else "") + ")"
    if j.exemptions:
        return "exempt: " + "; ".join(f"{e.label} ({e.clause})" for e in j.exemptions)
    if j.entry is not None:
        return f"client data entered on {j.entry}"
    if j.signed_in is not None:
        return f"signed in on {j.signed_in}"
    return "active"


# --------------------------------------------------------------------------- watch list


def next_review(policy: Policy, inputs: Inputs, as_of: dt.date) -> tuple[dt.date, list[Problem]]:
    """Settings' Next Review, else As Of + the policy's review period."""
    default = policy.review_every.after(as_of)
    given = inputs.next_review
    if given is None:
        return default, []
    if given <= as_of:
        return default, [
            Problem(
                "Warning",
                Where("Settings", column="Next Review"),
                f"Next Review {given} is not after the as-of date {as_of}; {default}"
                f" ({policy.review_every.describe()} later, review.every) is used instead.",
                "Enter the date of the next monthly review, or leave it blank.",
            )
        ]
    return given, []


def _first_day_before_window(policy: Policy, activity: dt.date, after: dt.date) -> dt.date:
    """The first day after `after` on which `activity` lies before the §1.1 window."""
    window = policy.inactivity.client_data_window
    day = max(after + dt.timedelta(days=1), window.after(activity))
    while window.before(day) <= activity:  # calendar months clamp: a few steps at most
        day += dt.timedelta(days=1)
    return day


def watch_list(
    policy: Policy,
    inputs: Inputs,
    judgements: Sequence[Judgement],
    as_of: dt.date,
    until: dt.date,
    blocks: Mapping[int, Sequence[str]],
    doubts: Mapping[int, Sequence[str]],
) -> list[WatchItem]:
    """SPEC §8: what becomes eligible by Next Review, and exceptions due for re-review."""
    judgements, appeals = _as_known_on(judgements, tuple(inputs.appeals or ()), as_of)
    by_org: dict[str, list[Judgement]] = defaultdict(list)
    for j in judgements:
        by_org[name_key(j.license.organization)].append(j)
    related = _appeals_by_org(appeals, judgements)
    watch = _Watch(policy, as_of, until, blocks, doubts)
    items: list[WatchItem] = []
    for org_key, group in by_org.items():
        items.extend(watch.organization(group, related.get(org_key, ())))
    items.extend(_open_ended(policy, appeals, judgements, as_of))
    # Licenses becoming eligible by date; then the exceptions due for re-review (SPEC §8).
    items.sort(key=_watch_order)
    return items


def _watch_order(item: WatchItem) -> tuple[bool, dt.date, tuple[tuple[int, int, str], ...]]:
    day = item.becomes_eligible_on or item.re_review_due or dt.date.min
    return (item.becomes_eligible_on is None, day, natural_key(item.license_id))


def _as_known_on(
    judgements: Sequence[Judgement], appeals: Sequence[AppealRow], as_of: dt.date
) -> tuple[list[Judgement], tuple[AppealRow, ...]]:
    """The licenses and appeals as they stood on the as-of date, for the forecast: a date
    after it is not yet known then (SPEC §2), so a back-dated run forecasts what the
    review on that date forecast. Client data, sign-ins and revocations dated later are
    left out, appeals filed later too, and a decision dated later is still pending (as
    the Appeals Queue lists it). A license granted later stays: a grant on the sheet
    ahead of its date is one the CoC has planned (SPEC §8: §1.E1 ending)."""
    known = []
    for j in judgements:
        lic = _known_license(j.license, as_of)
        known.append(j if lic is j.license else replace(j, license=lic))
    stood: list[AppealRow] = []
    for appeal in appeals:
        if appeal.filed_on > as_of:
            continue
        if appeal.decided_on is not None and appeal.decided_on > as_of:
            appeal = replace(appeal, decision="Pending", decided_on=None, exception_until=None)
        stood.append(appeal)
    return known, tuple(stood)


def _known_license(lic: LicenseRow, as_of: dt.date) -> LicenseRow:
    """The license row without its dates after the as-of date (itself when it has none)."""
    if lic.granted_on > as_of:
        return lic
    dates = entry, first_sign_in, login, revoked = (
        lic.last_client_data_entry,
        lic.first_sign_in,
        lic.last_login,
        lic.revoked_on,
    )
    if (  # the common case, asked of every license: written out, four times faster than all()
        (entry is None or entry <= as_of)
        and (first_sign_in is None or first_sign_in <= as_of)
        and (login is None or login <= as_of)
        and (revoked is None or revoked <= as_of)
    ):
        return lic
    entry, first_sign_in, login, revoked = (
        day if day is None or day <= as_of else None for day in dates
    )
    return replace(
        lic,
        last_client_data_entry=entry,
        first_sign_in=first_sign_in,
        last_login=login,
        revoked_on=revoked,
    )


def without_sole_license(policy: Policy) -> Policy:
    """The policy with §1.E1 off: a license judged on its own, as if others stay."""
    exceptions = replace(policy.inactivity.exceptions, sole_license=False)
    return replace(policy, inactivity=replace(policy.inactivity, exceptions=exceptions))


@dataclass
class _Watch:
    """Judges licenses again on the dates in (as_of, until] where something lapses.

    Only findings and exemptions are needed there (`_watch_reason` words the change), so
    those judgements are made without sentences (`explain=False`)."""

    policy: Policy
    as_of: dt.date
    until: dt.date
    blocks: Mapping[int, Sequence[str]]
    doubts: Mapping[int, Sequence[str]]

    def __post_init__(self) -> None:
        self.alone = without_sole_license(self.policy)
        # Client data on or after this day is still in the §1.1 window on Next Review: the
        # window's start only moves forward, so such a license cannot lapse in between.
        self.in_window_until = self.policy.inactivity.client_data_window.before(self.until)
        self._sign_in_due: dict[dt.date, dt.date] = {}  # by Granted On
        # The §1.2 window ends at most `longest` after the grant (a calendar month has at
        # most 31 days), so a license granted before this day was due by the as-of date:
        # most licenses, whose due day need not be worked out.
        window = self.policy.inactivity.first_sign_in_window
        self.sign_in_over_if_granted_before = dt.date.min
        if min(window.months, window.weeks, window.days) >= 0:
            longest = dt.timedelta(days=31 * window.months + 7 * window.weeks + window.days)
            if self.as_of - dt.date.min > longest:
                self.sign_in_over_if_granted_before = self.as_of - longest
        self._window_lapse: dict[dt.date, dt.date] = {}  # by the activity that counts
        self._windows: dict[dt.date, Windows] = {}  # by the day judged on

    def dates(self, j: Judgement, appeals: Sequence[AppealRow]) -> set[dt.date]:
        if not appeals:
            return self.lapse_dates(j.license, ())
        key = name_key(j.license.license_id)
        mine = [a for a in appeals if not a.license_id or name_key(a.license_id) == key]
        return self.lapse_dates(j.license, mine)

    def lapse_dates(self, lic: LicenseRow, appeals: Sequence[AppealRow]) -> set[dt.date]:
        """Dates in (as_of, until] on which this license's §1 standing can change by itself."""
        as_of, until = self.as_of, self.until
        found: set[dt.date] = set()
        granted = lic.granted_on
        if as_of < granted <= until:
            found.add(granted)
        revoked = lic.revoked_on
        if revoked is not None and as_of < revoked <= until:
            found.add(revoked)
        entry, first_sign_in, login = counted_dates(lic, until)
        start = entry or granted
        if start < self.in_window_until:
            lapse = self._window_lapse_of(start)
            if lapse <= until:
                found.add(lapse)
        due = self._sign_in_lapse(granted)
        if as_of < due <= until:
            found.add(due)
        for day in (entry, first_sign_in, login):  # counted on Next Review: not after it
            if day is not None and as_of < day:
                found.add(day)  # a back-dated run: the recorded date counts from then
        for appeal in appeals:
            for day in (appeal.decided_on, appeal.filed_on):
                if day is not None and as_of < day <= until:
                    found.add(day)
            # 9999-12-31 ("no end date") never ends before Next Review.
            if appeal.exception_until is not None and appeal.exception_until < until:
                end = appeal.exception_until + dt.timedelta(days=1)
                if as_of < end:
                    found.add(end)
        return found

    def _judged_on(
        self,
        day: dt.date,
        policy: Policy,
        licenses: Sequence[LicenseRow],
        appeals: Sequence[AppealRow],
    ) -> list[Judgement]:
        """§1 on a day probed, findings only. The day's windows are worked out once
        however many licenses lapse then (the same with §1.E1 on or off)."""
        return judge_all(
            policy,
            licenses,
            appeals,
            day,
            self.blocks,
            self.doubts,
            explain=False,
            windows=self._windows_on(day),
        )

    def _windows_on(self, day: dt.date) -> Windows:
        windows = self._windows.get(day)
        if windows is None:
            windows = self._windows[day] = Windows.on(self.policy, day)
        return windows

    def _sign_in_lapse(self, granted: dt.date) -> dt.date:
        """The first day after the §1.2 window of a license granted then (any day on or
        before the as-of date when it ended before then: it is not one in between)."""
        if granted < self.sign_in_over_if_granted_before:
            return dt.date.min
        due = self._sign_in_due.get(granted)
        if due is None:
            window = self.policy.inactivity.first_sign_in_window
            due = self._sign_in_due[granted] = window.after(granted) + dt.timedelta(days=1)
        return due

    def _window_lapse_of(self, activity: dt.date) -> dt.date:
        """The first day after the as-of date on which `activity` is out of the window."""
        lapse = self._window_lapse.get(activity)
        if lapse is None:
            lapse = _first_day_before_window(self.policy, activity, self.as_of)
            self._window_lapse[activity] = lapse
        return lapse

    def organization(
        self, group: Sequence[Judgement], appeals: Sequence[AppealRow]
    ) -> list[WatchItem]:
        waiting = [j for j in group if j.finding != "Cannot judge" and not j.would_be_eligible]
        # Only these can get an item: the others are `Not judged` on every day to come.
        hopeful = [j for j in waiting if not self._never_eligible(j.license)]
        if not hopeful:
            return []
        # Every hopeful license's dates are needed below whichever way it is judged, so
        # they are worked out first; the others' only when asked (by id(judgement)).
        dates = {id(j): self.dates(j, appeals) for j in hopeful}
        if any(j.stays and not dates[id(j)] for j in hopeful) or any(
            j.stays and id(j) not in dates and not self.dates(j, appeals) for j in waiting
        ):
            # A license that stays and cannot lapse before Next Review: §1.E1 cannot apply
            # in between, so each license is judged on its own (fast).
            return [
                item
                for j in hopeful
                if (days := dates[id(j)])
                and (item := self._first(j, group, appeals, sorted(days))) is not None
            ]
        every = (dates[id(j)] if id(j) in dates else self.dates(j, appeals) for j in group)
        return self._together(group, hopeful, appeals, sorted(set().union(*every)))

    def _never_eligible(self, lic: LicenseRow) -> bool:
        """Not eligible on any day after the as-of date, whatever the rest of its
        organization does: revoked by then (never active again), or of a type §1 does not
        judge. `judge_all` finds such a license `Not judged` on every later day (or
        `Cannot judge`), so it needs no forecast. (Its dates still count for the others:
        `_together` judges the whole organization on all of them.)"""
        revoked = lic.revoked_on is not None and lic.revoked_on <= self.as_of
        return revoked or self.policy.unjudged_type(lic.license_type)

    def _first(
        self,
        j: Judgement,
        group: Sequence[Judgement],
        appeals: Sequence[AppealRow],
        dates: Sequence[dt.date],
    ) -> WatchItem | None:
        for day in dates:
            [later] = self._judged_on(day, self.alone, [j.license], appeals)
            if later.would_be_eligible:
                windows = self._windows_on(day)
                return _watch_item(j, later, group, self.as_of, day, windows)
        return None

    def _together(
        self,
        group: Sequence[Judgement],
        waiting: Sequence[Judgement],
        appeals: Sequence[AppealRow],
        dates: Sequence[dt.date],
    ) -> list[WatchItem]:
        licenses = [j.license for j in group]
        now = {id(j.license): j for j in waiting}
        items = []
        for day in dates:
            if not now:
                break
            judged = self._judged_on(day, self.policy, licenses, appeals)
            for later in judged:
                before = now.get(id(later.license))
                if before is not None and later.would_be_eligible:
                    del now[id(later.license)]
                    items.append(
                        _watch_item(
                            before,
                            later,
                            group,
                            self.as_of,
                            day,
                            self._windows_on(day),
                            judged,
                        )
                    )
        return items


def _appeals_by_org(
    appeals: Sequence[AppealRow], judgements: Sequence[Judgement]
) -> dict[str, tuple[AppealRow, ...]]:
    # Only the licenses the appeals name are looked up below (the last row of an ID wins).
    named = {name_key(a.license_id or "") for a in appeals}
    org_of_license = {
        key: name_key(j.license.organization)
        for j in judgements
        if (key := name_key(j.license.license_id)) in named
    }
    found: dict[str, list[AppealRow]] = defaultdict(list)
    for appeal in appeals:
        org = org_of_license.get(name_key(appeal.license_id or ""), name_key(appeal.organization))
        found[org].append(appeal)
    return {k: tuple(v) for k, v in found.items()}


def _watch_item(
    before: Judgement,
    after: Judgement,
    group: Sequence[Judgement],
    as_of: dt.date,
    day: dt.date,
    windows: Windows,
    on_day: Sequence[Judgement] = (),
) -> WatchItem:
    """`windows`: the §1 windows on `day` (its dates are written from them, once for all
    the licenses lapsing that day); `on_day`: the organization's licenses as judged on
    `day` (for §1.E1 ending)."""
    lic = before.license
    rule, clause, text = _watch_reason(before, after, group, day, windows, on_day)
    days_left = (day - as_of).days
    return WatchItem(
        license_id=lic.license_id,
        user=lic.user,
        organization=lic.organization,
        license_type=lic.license_type,
        becomes_eligible_on=day,
        rule=rule,
        days_left=days_left,
        explanation=f"{text} If nothing changes it is eligible for revocation from"
        f" {windows.as_of_text} ({plural(days_left, 'day')} after {as_of}). {clause}",
        policy_clause=clause,
    )


def _watch_reason(
    before: Judgement,
    after: Judgement,
    group: Sequence[Judgement],
    day: dt.date,
    windows: Windows,
    on_day: Sequence[Judgement] = (),
) -> tuple[str, str, str]:
    lic = before.license
    lost = [e for e in before.exemptions if e.clause not in {x.clause for x in after.exemptions}]
    if before.finding != "Active" and lost:
        ended = lost[0]
        if ended.clause == "§1.E3":
            return (
                "§1.E3 ends",
                "§1.E3",
                f"{ended.label} keeps it until {day - dt.timedelta(days=1)} (Exception"
                f" Until); it is inactive ({before.clause}).",
            )
        if ended.clause == "§1.E1":
            # The licenses that stay on that day (not merely active: an eligible one does
            # not keep the organization's access).
            others = [j.license.license_id for j in on_day if j.license is not lic and j.stays]
            if not on_day:
                others = [
                    j.license.license_id
                    for j in group
                    if j.license is not lic
                    and j.license.is_active(day)
                    and j.license.granted_on <= day
                ]
            named = ", ".join(others[:3]) or "a new one"
            return (
                "§1.E1 ends",
                "§1.E1",
                f"§1.E1 keeps it while every other active license of {lic.organization} would"
                f" be eligible; on {day} another license ({named}) stays, so the"
                " organization keeps that one instead.",
            )
    if after.finding == "Inactive":
        if after.entry is not None:
            last = f"Last client data entry {after.entry}"
        else:
            last = f"No client data since it was granted on {lic.granted_on}"
        on = windows.as_of_text
        return (
            "§1.1 no client data",
            "§1.1",
            f"{last}: on {on} that is before the window of {windows.client_data_words}"
            f" ({windows.client_data_start_text} to {on}), unless client data is entered"
            " before then.",
        )
    if after.finding == "Not signed in":
        return (
            "§1.2 not signed in",
            "§1.2",
            f"Granted on {lic.granted_on} and not signed in yet; the {windows.sign_in_words}"
            f" to sign in end on {windows.sign_in_due(lic.granted_on)}.",
        )
    return ("§1", "§1", "Its standing under §1 changes on that day.")


def _open_ended(
    policy: Policy,
    appeals: Sequence[AppealRow],
    judgements: Sequence[Judgement],
    as_of: dt.date,
) -> list[WatchItem]:
    """Approved special requests with no end date, due for the committee to look again:
    those that exempt a license on the as-of date (one naming a license not on the sheet,
    a revoked one or one that is active without it keeps nothing, so there is nothing to
    re-review; Problems names the first)."""
    period = policy.open_ended_exceptions_after
    if not policy.inactivity.exceptions.special_request:
        return []  # §1.E3 switched off: no request keeps a license, none is re-reviewed
    kept: dict[str, list[LicenseRow]] = defaultdict(list)  # appeal key -> licenses it exempts
    for j in judgements:
        for exemption in j.exemptions:
            if exemption.clause == "§1.E3" and exemption.appeal_id:
                kept[name_key(exemption.appeal_id)].append(j.license)
    items = []
    for appeal in appeals:
        exempted = kept.get(name_key(appeal.appeal_id))
        if not exempted or appeal.exception_until is not None:
            continue
        if not special_request_in_force(policy, appeal, as_of):
            continue
        assert appeal.decided_on is not None  # in force implies decided
        due = period.after(appeal.decided_on)
        if due >= as_of:  # SPEC §8: decided longer ago than the period, on the as-of date
            continue
        if appeal.license_id:
            lic: LicenseRow | None = exempted[0]
            scope = f"license {appeal.license_id}"
        else:
            lic = None
            ids = ", ".join(sorted((x.license_id for x in exempted), key=natural_key))
            scope = f"every license of {appeal.organization} (on {as_of}: {ids})"
        items.append(
            WatchItem(
                license_id=lic.license_id if lic else "",
                user=lic.user if lic else "",
                organization=lic.organization if lic else appeal.organization,
                license_type=lic.license_type if lic else "",
                becomes_eligible_on=None,  # nothing becomes eligible by itself
                rule=RE_REVIEW,
                days_left=None,
                explanation=f"Special request {appeal.appeal_id}, approved on"
                f" {appeal.decided_on} with no Exception Until, keeps {scope}. Open-ended"
                f" exceptions are put before the Performance Committee again"
                f" {period.describe()} after they were decided (review."
                f"open_ended_exceptions_after, a reading): due on {due}. It stays exempt"
                " until the committee sets an end date or ends it. §1.E3",
                policy_clause="§1.E3",
                appeal_id=appeal.appeal_id,
                re_review_due=due,
            )
        )
    return items


# -------------------------------------------------------------------- revocations done


def revocations_done(
    policy: Policy,
    inputs: Inputs,
    as_of: dt.date,
    since: dt.date,
    history: History | None = None,
) -> tuple[list[RevocationRecord], list[Problem]]:
    """Licenses revoked in (since, as_of], each checked against the policy on its date;
    and those revoked earlier but recorded only after the previous review, which still
    judged them as active licenses (a revocation typed in late is never left unreviewed)."""
    at_previous = history.at_previous if history is not None else {}
    records: list[RevocationRecord] = []
    problems: list[Problem] = []
    appeals = _AppealIndex(inputs.appeals or ())
    alone = without_sole_license(policy)
    by_org: dict[str, list[LicenseRow]] = defaultdict(list)
    for lic in inputs.licenses:
        by_org[name_key(lic.organization)].append(lic)
    for lic in inputs.licenses:
        day = lic.revoked_on
        if day is None or day > as_of:
            continue
        seen = at_previous.get(name_key(lic.license_id)) if day <= since else None
        late = seen is not None and seen.finding not in NOT_JUDGED_FINDINGS
        if day <= since and not late:
            continue
        organization = by_org[name_key(lic.organization)]
        findings = _against_policy(policy, alone, lic, organization, appeals)
        mismatched = _wrong_committee(policy, lic, appeals.naming(lic))
        against = bool(findings)
        recorded = [
            f"Revoked on {day}"
            + (f" by the {lic.revoked_by}" if lic.revoked_by else " (Revoked By not recorded)")
            + (
                f", reason {lic.revocation_reason}."
                if lic.revocation_reason
                else " (Revocation Reason not recorded)."
            )
        ]
        if late:
            assert seen is not None and history is not None
            recorded.append(
                f"It was recorded after the previous review (As Of"
                f" {history.previous_review}), which still judged the license"
                f" ({seen.finding}), so it is reviewed now."
            )
        if against:
            recorded.append("Against the policy on that date: " + "; ".join(findings) + ".")
            problems.append(
                Problem(
                    "Warning",
                    Where("Licenses", lic.row, "Revoked On"),
                    f"License {lic.license_id} was revoked on {day} for inactivity, but on that"
                    " date " + "; ".join(findings) + ".",
                    "Check the revocation with the HMIS Lead: restore the license (clear"
                    " Revoked On) if it was revoked in error, or record why in Revocation"
                    " Reason.",
                )
            )
        elif _is_inactivity(lic.revocation_reason):
            recorded.append("The policy allowed it on that date (§1).")
        # Problems warns of each (appeals.reason_problems, for every rerouted appeal).
        recorded.extend(text for _, text in mismatched)
        clause = (
            "§1"
            if _is_inactivity(lic.revocation_reason)
            else "§3"
            if revocation_kind(lic.revocation_reason) == "CE allotment revocation"
            else "§8"
        )
        records.append(
            RevocationRecord(
                license_id=lic.license_id,
                user=lic.user,
                organization=lic.organization,
                license_type=lic.license_type,
                revoked_on=day,
                revoked_by=lic.revoked_by or "",
                revocation_reason=lic.revocation_reason or "",
                against_policy=against,
                explanation=" ".join(recorded),
                policy_clause=clause,
            )
        )
    records.sort(key=lambda r: (r.revoked_on, natural_key(r.license_id)))
    return records, problems


class _AppealIndex:
    """Appeals by the license they name, and by organization for those naming none."""

    def __init__(self, appeals: Iterable[AppealRow]) -> None:
        self.by_license: dict[str, list[AppealRow]] = defaultdict(list)
        self.by_organization: dict[str, list[AppealRow]] = defaultdict(list)
        for appeal in appeals:
            if appeal.license_id:
                self.by_license[name_key(appeal.license_id)].append(appeal)
            else:
                self.by_organization[name_key(appeal.organization)].append(appeal)

    def naming(self, lic: LicenseRow) -> list[AppealRow]:
        return self.by_license.get(name_key(lic.license_id), [])

    def of(self, licenses: Sequence[LicenseRow]) -> list[AppealRow]:
        """Every appeal that can exempt one of these licenses (one organization's)."""
        found = [a for lic in licenses for a in self.naming(lic)]
        if licenses:
            found += self.by_organization.get(name_key(licenses[0].organization), [])
        return found

    def bearing_on(self, lic: LicenseRow) -> list[AppealRow]:
        """Every appeal that can exempt this license under §1.E3: its own and its
        organization's (the only ones `judge_all` looks at for one license)."""
        return self.naming(lic) + self.by_organization.get(name_key(lic.organization), [])


def _is_inactivity(reason: str | None) -> bool:
    return revocation_kind(reason) == "Inactivity revocation"


def _against_policy(
    policy: Policy,
    alone: Policy,
    lic: LicenseRow,
    organization: Sequence[LicenseRow],
    appeals: _AppealIndex,
) -> list[str]:
    """Why a revocation for inactivity went against §1 on its date ([] when it did not).

    `organization`: every license row of its organization (§1.E1 is decided over all of
    them, with the appeals that bear on any of them)."""
    if not _is_inactivity(lic.revocation_reason):
        return []
    assert lic.revoked_on is not None
    day = lic.revoked_on
    # This license on its own (§1.E1 off); §1.E1 is asked below, over the organization.
    unrevoked = _unrevoked(lic)  # judged as it stood that day, once here and once below
    [mine] = judge_all(alone, [unrevoked], appeals.bearing_on(lic), day, explain=False)
    found = []
    rules = policy.inactivity.exceptions
    if rules.level4_list_holder and lic.level4_list_holder:
        found.append("the user was a Level 4 List Holder (§1.E2)")
    if mine.judged:
        for exemption in mine.exemptions:
            if exemption.clause == "§1.E3":
                found.append(f"{exemption.label} was in force (§1.E3)")
        if mine.finding == "Active":
            found.append(
                "the license was not inactive: "
                + (f"client data on {mine.entry}" if mine.entry else "within its windows")
                + " (§1.1, §1.2)"
            )
    others_active = [
        o for o in organization if o is not lic and o.is_active(day) and o.granted_on <= day
    ]
    if rules.sole_license and not others_active:
        found.append(f"it left {lic.organization} with no active license (§1.E1)")
    elif rules.sole_license and mine.judged and mine.would_be_eligible:
        kept = _kept_by_sole_license(policy, lic, organization, appeals.of(organization), unrevoked)
        if kept is not None:
            found.append(
                f"it was the license {lic.organization} keeps: every active license of the"
                f" organization would have been eligible, and {kept} (§1.E1)"
            )
    return found


def _kept_by_sole_license(
    policy: Policy,
    lic: LicenseRow,
    organization: Sequence[LicenseRow],
    appeals: Sequence[AppealRow],
    unrevoked: LicenseRow | None = None,
) -> str | None:
    """Why §1.E1 kept this license on the day it was revoked (None: it did not), judging
    its organization's licenses as they stood that day, this one still active
    (`unrevoked`: the license without its Revoked On, when the caller has made it)."""
    assert lic.revoked_on is not None
    day = lic.revoked_on
    for other in organization:
        if other is not lic and other.is_active(day) and policy.unjudged_type(other.license_type):
            # Active and of a type §1 does not judge: `judge_all` finds it `Not judged`
            # and staying, so §1.E1 keeps no license of the organization that day.
            return None
    if unrevoked is None:
        unrevoked = _unrevoked(lic)
    rows = [unrevoked if o is lic else o for o in organization]
    judged = judge_all(policy, rows, appeals, day, explain=False)
    mine = next(j for j, o in zip(judged, organization, strict=True) if o is lic)
    for exemption in mine.exemptions:
        if exemption.clause == "§1.E1":
            why = exemption.reason.removeprefix("Exempt: ").removesuffix(" §1.E1")
            return why.split("; ", 1)[-1].rstrip(".")
    return None


def _unrevoked(lic: LicenseRow) -> LicenseRow:
    return replace(lic, revoked_on=None)


def _wrong_committee(
    policy: Policy, lic: LicenseRow, appeals: Sequence[AppealRow]
) -> list[tuple[AppealRow, str]]:
    """Appeals of this revocation whose Reason would send them to the wrong committee
    (as `appeals.route` reroutes them, in its words)."""
    found = []
    for appeal in appeals:
        if name_key(appeal.license_id or "") != name_key(lic.license_id):
            continue
        text = route(policy, appeal, {name_key(lic.license_id): lic}).rerouted
        if text:
            found.append((appeal, text))
    return found
