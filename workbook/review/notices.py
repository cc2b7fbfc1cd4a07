"""E-mail drafts for the monthly review (SPEC §8): one per organization, one per CE Lead.

    drafts = organization_notices(outcome) + region_notices(outcome)

Each draft is an `email.message.EmailMessage` (plain text, with a simple HTML
alternative) marked `X-Unsent: 1`, so Outlook opens the .eml as a message to edit and
send rather than one received; Apple Mail and Thunderbird open it too. Nothing is ever
sent from here. A draft says the facts, the clause, what can be done (sign in, enter
client data, appeal with the Addendum 1 form to the committee that hears it) and by when
(Next Review).

Workbook text is never trusted in a message: header values are one line (a name such as
"x\\r\\nBcc: a@b" stays text in the subject and body, never a header), only addresses of
the plain form name@domain become recipients, and every value is escaped in the HTML.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from fractions import Fraction
from typing import Literal

from engine.allotment import shown_value
from engine.charging import ce_committee
from engine.inactivity import special_request_in_force, special_request_reasons
from engine.model import (
    AppealGrant,
    AppealRow,
    CeCharge,
    LicenseDecision,
    Policy,
    QueuedAppeal,
    ReassignmentItem,
    RegionAllotment,
    Results,
    WatchItem,
    name_key,
)
from engine.reassignment import BEING_REVOKED, CANDIDATE, granted_text
from engine.words import plural
from workbook.layout import (
    ALLOTMENTS,
    APPEALS_QUEUE,
    ORGANIZATIONS,
    REASSIGNMENT,
    REGIONS,
    REVOCATIONS,
    WATCH_LIST,
    InputSheet,
    ResultSheet,
)
from workbook.results import held_back_sheets
from workbook.review.packet import committee_name, split_watch_list
from workbook.review.text import clean, cut, one_line, safe_file_name
from workbook.run import Outcome

NOTICE_SUFFIX = ".eml"
_SUBJECT_LIMIT = 180
_ADDRESS = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
_BRACKETED = re.compile(r"<([^<>]*)>")
# The result sheets each kind of draft is made from: with one of them held back by an
# Error, no draft of that kind is written (one that left out what the sheet would say
# could advise what the sheets do not), and `withheld_notices` says why.
_DRAWN_FROM: dict[str, tuple[ResultSheet, ...]] = {
    "organization": (REVOCATIONS, WATCH_LIST),
    "region": (ALLOTMENTS, REASSIGNMENT, APPEALS_QUEUE),
}


def withheld_notices(outcome: Outcome) -> dict[str, str]:
    """The kinds of draft ("organization", "region") not written, and why."""
    if outcome.results is None:
        return {}
    held = held_back_sheets(outcome.results)
    withheld = {}
    for kind, sheets in _DRAWN_FROM.items():
        for sheet in sheets:
            if sheet.name in held:
                withheld[kind] = f"the {sheet.name} sheet is held back because {held[sheet.name]}"
                break
    return withheld


@dataclass(frozen=True, slots=True)
class Notice:
    """One draft: for whom, to which addresses, and the message."""

    kind: Literal["organization", "region"]
    name: str  # the organization or region, as the workbook spells it (cleaned)
    file_name: str
    to: tuple[str, ...]
    subject: str
    message: EmailMessage
    no_recipient: str  # why the draft has no To ("" when it has one)


# --------------------------------------------------------------------------- addresses


def recipients(raw: str | None) -> tuple[tuple[str, ...], str]:
    """The e-mail addresses in a Contact Email / CE Lead Email cell, and what was wrong.

    Several may be given, separated by ; or ,. Each must be name@domain (optionally
    written "Name <name@domain>"; only the address is kept). Anything else is left out
    and named, so the draft can say so.
    """
    text = one_line(raw)
    if not text:
        return (), "none is recorded"
    kept: list[str] = []
    refused: list[str] = []
    for part in (p.strip() for p in re.split("[;,]", text)):
        if not part:
            continue
        bracketed = _BRACKETED.fullmatch(part) or _BRACKETED.search(part)
        address = bracketed.group(1).strip() if bracketed else part
        if _ADDRESS.fullmatch(address) and len(address) <= 254:
            if address.casefold() not in {k.casefold() for k in kept}:
                kept.append(address)
        else:
            refused.append(part)
    if refused:
        shown = ", ".join(f'"{cut(r, 60)}"' for r in refused)
        return tuple(kept), f"{shown} is not an e-mail address"
    return tuple(kept), ""


# ----------------------------------------------------------------------- organizations


def organization_notices(outcome: Outcome, *, taken: set[str] | None = None) -> list[Notice]:
    """One draft per organization with licenses eligible for revocation or on the watch list."""
    policy, results = outcome.policy, outcome.results
    if policy is None or results is None:
        return []
    if "organization" in withheld_notices(outcome):
        return []
    eligible = list(results.revocations)
    watch = list(results.watch_list)
    emails = {name_key(o.organization): o.contact_email for o in outcome.inputs.organizations}
    names: dict[str, str] = {}
    eligible_of: dict[str, list[LicenseDecision]] = {}
    watched_of: dict[str, list[WatchItem]] = {}
    for decision in eligible:
        key = name_key(decision.organization)
        names.setdefault(key, one_line(decision.organization))
        eligible_of.setdefault(key, []).append(decision)
    for item in watch:
        key = name_key(item.organization)
        names.setdefault(key, one_line(item.organization))
        watched_of.setdefault(key, []).append(item)
    taken = taken if taken is not None else set()
    as_of: dt.date = outcome.as_of.value  # type: ignore[assignment]
    notices = []
    for key, name in names.items():
        mine, coming = eligible_of.get(key, []), watched_of.get(key, [])
        to, problem = recipients(emails.get(key))
        soon, again = split_watch_list(coming)
        subject = _subject("HMIS licenses of ", name, _action(mine, soon, again, results))
        text = _organization_text(
            policy, outcome.inputs.appeals or (), results, as_of, name, mine, soon, again
        )
        message = draft_message(
            to,
            subject,
            _missing(problem, ORGANIZATIONS, "contact_email", name) if not to else "",
            text,
        )
        file_name = safe_file_name(f"{name} - HMIS licenses notice {as_of}", NOTICE_SUFFIX, taken)
        notices.append(
            Notice(
                "organization",
                name,
                file_name,
                to,
                cut(subject, _SUBJECT_LIMIT),
                message,
                problem if not to else "",
            )
        )
    return notices


def _subject(lead: str, name: str, action: str) -> str:
    """ "<lead><name>: <action>", within the subject's limit: a long name is cut, never
    the action (what is eligible and when to act)."""
    action = one_line(action)
    room = _SUBJECT_LIMIT - len(lead) - len(": ") - len(action)
    return one_line(f"{lead}{cut(name, max(room, 20))}: {action}")


def _action(
    eligible: Sequence[LicenseDecision],
    coming: Sequence[WatchItem],
    again: Sequence[WatchItem],
    results: Results,
) -> str:
    parts = []
    if eligible:
        parts.append(f"{len(eligible)} eligible for revocation")
    if coming:
        parts.append(f"{len(coming)} to watch")
    if again:
        parts.append(
            f"{len(again)} {'exception' if len(again) == 1 else 'exceptions'} due for re-review"
        )
    if not eligible and not coming:
        return ", ".join(parts)  # nothing to do by a date: the committee looks again
    return ", ".join(parts) + f"; please act {_act_by(eligible, coming, results)}"


def _by(results: Results) -> str:
    """The watch list's horizon: Next Review's date, or in words where there is none."""
    return f"by {results.next_review}" if results.next_review else "before the next review"


def _first_eligible_day(coming: Sequence[WatchItem], results: Results) -> dt.date | None:
    """The first day a watched license becomes eligible, when that is before the next
    review (None: nothing falls due sooner)."""
    days = [w.becomes_eligible_on for w in coming if w.becomes_eligible_on is not None]
    first = min(days, default=None)
    if first is None or (results.next_review is not None and first > results.next_review):
        return None
    return first


def _act_by(
    eligible: Sequence[LicenseDecision], coming: Sequence[WatchItem], results: Results
) -> str:
    """When to act: §1 lets the HMIS Lead Agency revoke an inactive license immediately,
    so a license eligible now is acted on now, and one on the watch list before the day
    it becomes eligible (when that comes before the next review); else by Next Review."""
    if eligible:
        return "now"
    first = _first_eligible_day(coming, results)
    return f"before {first}" if first is not None else _by(results)


def _act_by_note(
    eligible: Sequence[LicenseDecision], coming: Sequence[WatchItem], results: Results
) -> str:
    """`_act_by` and why that date, in the heading of what the organization can do."""
    review = (
        f"the next review is on {results.next_review}" if results.next_review else "the next review"
    )
    if eligible:
        return (
            f"now: the HMIS Lead Agency may revoke a license eligible for revocation at any"
            f" time (§1), and {review}"
        )
    first = _first_eligible_day(coming, results)
    if first is None:
        return _by(results)
    return (
        f"before {first}, the first day a license listed above becomes eligible for"
        f" revocation ({review})"
    )


def _organization_text(
    policy: Policy,
    appeals: Sequence[AppealRow],
    results: Results,
    as_of: dt.date,
    name: str,
    eligible: Sequence[LicenseDecision],
    coming: Sequence[WatchItem],
    again: Sequence[WatchItem],
) -> list[Part]:
    inactivity = committee_name(policy, "performance")
    by = _by(results)

    def pending_for(license_id: str, organization: str) -> list[QueuedAppeal]:
        return _pending_appeals(results.appeals_queue, inactivity, license_id, organization)

    def undated_for(license_id: str, organization: str) -> list[AppealRow]:
        return _undated_approvals(policy, appeals, as_of, license_id, organization)

    def note(license_id: str, organization: str) -> str:
        return _pending_note(pending_for(license_id, organization), name) + _undated_note(
            undated_for(license_id, organization), name
        )

    listed = [(d.license_id, d.organization) for d in eligible] + [
        (w.license_id, w.organization) for w in coming
    ]
    covered = sorted(
        {one_line(lic) for lic, organization in listed if pending_for(lic, organization)}
    )
    # An approval on record without its date: the date is missing, not an appeal (§1.E3).
    undated = sorted(
        {
            one_line(lic)
            for lic, organization in listed
            if one_line(lic) not in covered and undated_for(lic, organization)
        }
    )
    uncovered = any(one_line(lic) not in covered + undated for lic, _ in listed)
    parts: list[Part] = [
        Paragraph(f"Dear {name},"),
        Paragraph(
            f"The {one_line(policy.name)} (version {one_line(policy.version)}) was applied to"
            f" your organization's HMIS user licenses as of {as_of}."
            + (f" The next review is on {results.next_review}." if results.next_review else "")
        ),
    ]
    if eligible:
        parts.append(Paragraph(f"Eligible for revocation now ({len(eligible)}):"))
        parts.append(
            bullets(
                f"{d.license_id}, {one_line(d.user)} ({one_line(d.license_type)}):"
                f" {clean(d.explanation)}" + note(d.license_id, d.organization)
                for d in eligible
            )
        )
    if coming:
        parts.append(
            Paragraph(
                f"Will become eligible for revocation {by} if nothing changes ({len(coming)}):"
            )
        )
        parts.append(
            bullets(
                f"{w.license_id}, {one_line(w.user)}: on {w.becomes_eligible_on}"
                f" ({one_line(w.rule)}). {clean(w.explanation)}"
                + note(w.license_id, w.organization)
                for w in coming
            )
        )
    if again:
        parts.append(
            Paragraph(f"Exceptions the {inactivity} is due to review again ({len(again)}):")
        )
        parts.append(bullets(_re_review_line(policy, appeals, as_of, name, w) for w in again))
    clauses = {d.policy_clause for d in eligible} | {w.policy_clause for w in coming}
    todo = []
    if eligible or coming:
        todo.append(
            "If a license is still needed, its user signs in to HMIS and enters or updates"
            " client data: logging in or running reports alone does not count (§1.1)."
        )
    if any("1.2" in c for c in clauses):
        todo.append("A new license must be signed into within the policy's window (§1.2).")
    if uncovered:
        todo.append(
            (
                "For any other license: if"
                if undated
                else "For a license without a pending appeal: if"
                if covered
                else "If"
            )
            + " your organization needs to keep a license for specific staffing or reporting"
            " needs (an FMLA absence, for example), file an appeal with the HMIS License"
            ' Appeal/Request Form (Addendum 1 of the policy), marking "My license was revoked'
            f' or marked for revocation due to inactivity". The {inactivity} reviews'
            " inactivity appeals and special requests at its monthly meeting (§4 Inactivity"
            " Appeal)."
        )
    if covered:
        ids = covered
        todo.append(
            f"No new appeal is needed for {', '.join(ids)}:"
            f" {'its appeal is' if len(ids) == 1 else 'their appeals are'} pending, and the"
            " committee hearing an appeal responds to the pending ones at its monthly meeting"
            " (§4)."
        )
    if undated:
        ids = undated
        todo.append(
            f"No new appeal is needed for {', '.join(ids)}: the special request"
            " approved for it is on record without the date of the decision (Decided On),"
            " and it exempts the license once the HMIS Lead enters that date (§1.E3)."
        )
    if again:
        todo.append(
            "For an exception due for re-review, nothing needs to be filed to keep it: it"
            f" stays in force until the {inactivity} sets an end date or ends it (§1.E3)."
            " Tell the HMIS Lead if the need it was approved for has ended, or by when it"
            " will, so that the committee can set its Exception Until."
        )
    todo.append(
        "If a license is no longer needed, tell the HMIS Lead, so that it can go to someone"
        " who needs it."
    )
    parts += [
        Paragraph(f"What you can do, {_act_by_note(eligible, coming, results)}:"),
        bullets(todo),
        Paragraph(
            "The HMIS Lead Agency may revoke licenses that are eligible for revocation (§1)."
            " This policy is in addition to the HMIS Lead Agency's existing Inactivity"
            " Policy; its exceptions are exceptions to the CoC's licensing policy only."
        ),
    ]
    return parts


def _pending_appeals(
    queue: Sequence[QueuedAppeal], inactivity: str, license_id: str, organization: str
) -> list[QueuedAppeal]:
    """The Appeals Queue's pending appeals that already ask about this license: its own
    (whichever committee hears it), or a request of its organization as a whole (no
    License ID, no Region) before the committee that hears inactivity appeals."""
    found = []
    for queued in queue:
        if queued.license_id:
            mine = bool(license_id) and name_key(queued.license_id) == name_key(license_id)
        else:
            mine = (
                not queued.region
                and queued.committee == inactivity
                and name_key(queued.organization) == name_key(organization)
            )
        if mine:
            found.append(queued)
    return found


def _undated_approvals(
    policy: Policy, appeals: Sequence[AppealRow], as_of: dt.date, license_id: str, organization: str
) -> list[AppealRow]:
    """Special requests recorded as approved but without Decided On that ask about this
    license (its own, or every license of its organization): they exempt nothing until
    the date is entered (§1.E3; Problems names the cell), and the remedy is that date."""
    reasons = special_request_reasons(policy)
    found = []
    for appeal in appeals:
        if appeal.decided_on is not None or appeal.filed_on > as_of:
            continue
        if name_key(appeal.decision) != "approved" or name_key(appeal.reason) not in reasons:
            continue
        if appeal.license_id:
            mine = bool(license_id) and name_key(appeal.license_id) == name_key(license_id)
        else:
            mine = name_key(appeal.organization) == name_key(organization)
        if mine:
            found.append(appeal)
    return found


def _undated_note(undated: Sequence[AppealRow], organization: str) -> str:
    """What a license's line says of an approval on record without its date."""
    if not undated:
        return ""
    names = "; ".join(
        one_line(a.appeal_id) + ("" if a.license_id else f" for every license of {organization}")
        for a in undated
    )
    return (
        f" Special request {names} is recorded as approved but without its Decided On date:"
        " the HMIS Lead enters the date of the decision, and no new appeal is needed (§1.E3)."
    )


def _pending_note(pending: Sequence[QueuedAppeal], organization: str) -> str:
    """What a license's line says of an appeal already pending for it (§4)."""
    if not pending:
        return ""
    notes = []
    for queued in pending:
        whose = "" if queued.license_id else f" for every license of {organization}"
        notes.append(
            f"{one_line(queued.reason)} {one_line(queued.appeal_id)}{whose} is pending before"
            f" the {one_line(queued.committee)} (filed on {queued.filed_on}; response due by"
            f" {queued.respond_by})"
        )
    return " " + "; ".join(notes) + ": no new appeal is needed for this license (§4)."


def _re_review_line(
    policy: Policy, appeals: Sequence[AppealRow], as_of: dt.date, name: str, item: WatchItem
) -> str:
    """One exception due for re-review: whose, which request, decided when, due since."""
    who = (
        f"{one_line(item.license_id)}, {one_line(item.user)}"
        if item.license_id
        else f"Every license of {name}"
    )
    requests = _open_ended_requests(policy, appeals, as_of, item)
    if not requests:  # the Appeals row is not to be found again: the engine's sentence
        return f"{who}: due for re-review since {item.re_review_due}. {clean(item.explanation)}"
    decided = ", ".join(f"{one_line(a.appeal_id)} approved on {a.decided_on}" for a in requests)
    return (
        f"{who}: special request {decided}, with no end date (Exception Until), has been due"
        f" for re-review since {item.re_review_due}: open-ended exceptions go back to"
        f" the committee {policy.open_ended_exceptions_after.describe()} after they were"
        " decided (review.open_ended_exceptions_after). It stays exempt until the committee"
        " sets an end date or ends it (§1.E3)."
    )


def _open_ended_requests(
    policy: Policy, appeals: Sequence[AppealRow], as_of: dt.date, item: WatchItem
) -> list[AppealRow]:
    """The approved special requests without an Exception Until behind a re-review row:
    of its license (or, with none, of its organization as a whole), due on its date."""
    if item.appeal_id:  # the engine names the request
        return [a for a in appeals if name_key(a.appeal_id) == name_key(item.appeal_id)][:1]
    period = policy.open_ended_exceptions_after
    found = []
    for appeal in appeals:
        if appeal.exception_until is not None or appeal.decided_on is None:
            continue
        if not special_request_in_force(policy, appeal, as_of):
            continue
        if period.after(appeal.decided_on) != item.re_review_due:
            continue
        if item.license_id:
            mine = name_key(appeal.license_id or "") == name_key(item.license_id)
        else:
            mine = not appeal.license_id and name_key(appeal.organization) == name_key(
                item.organization
            )
        if mine:
            found.append(appeal)
    return found


# ----------------------------------------------------------------------------- regions


def region_notices(outcome: Outcome, *, taken: set[str] | None = None) -> list[Notice]:
    """One draft per region to its CE Lead: allotment, in use, candidates, pending requests."""
    policy, results = outcome.policy, outcome.results
    if policy is None or results is None or "region" in withheld_notices(outcome):
        return []
    rows = {name_key(r.region): r for r in outcome.inputs.regions}
    ce = committee_name(policy, "ce")
    pending = [q for q in results.appeals_queue if q.committee == ce]
    taken = taken if taken is not None else set()
    as_of: dt.date = outcome.as_of.value  # type: ignore[assignment]
    notices = []
    for region in results.allotments:
        row = rows.get(name_key(region.region))
        if row is None:  # e.g. the "Not charged to a region" line: no CE Lead to tell
            continue
        name = one_line(region.region)
        to, problem = recipients(row.ce_lead_email)
        key = name_key(region.region)
        mine = [i for i in results.reassignment if name_key(i.region or "") == key]
        candidates = [i for i in mine if i.item == CANDIDATE]
        revoking = [i for i in mine if i.item == BEING_REVOKED]
        requests = [q for q in pending if name_key(q.region or "") == key]
        grants = [g for g in results.appeal_grants if name_key(g.region) == key]
        # An intake tie (§3.2): charged to no region until the committee picks one of
        # them, so no region's counts hold it; each tied region's CE Lead hears of it.
        tied = [c for c in results.ce_charges if key in {name_key(r) for r in c.tied_regions}]
        subject = one_line(
            f"{name}: CE Access Only licenses as of {as_of}; please act {_by(results)}"
        )
        text = _region_text(
            policy, results, as_of, region, row.ce_lead, candidates, revoking, requests, grants
        )
        text[-2:-2] = _tied_parts(ce, name, tied)  # before what the CE Lead can do
        message = draft_message(
            to, subject, _missing(problem, REGIONS, "ce_lead_email", name) if not to else "", text
        )
        file_name = safe_file_name(f"{name} - CE Lead notice {as_of}", NOTICE_SUFFIX, taken)
        notices.append(
            Notice(
                "region",
                name,
                file_name,
                to,
                cut(subject, _SUBJECT_LIMIT),
                message,
                problem if not to else "",
            )
        )
    return notices


def _tied_parts(ce: str, name: str, tied: Sequence[CeCharge]) -> list[Part]:
    """The CE licenses whose organization's intakes tie between this region and another:
    not in this region's counts until the committee decides (§3.2)."""
    if not tied:
        return []
    return [
        Paragraph(
            f"Charged to no region yet, {name} among the tied ones ({len(tied)}): the {ce}"
            " decides which region each is charged to (§3.2); until then it is in no"
            " region's In Use, this one's included:"
        ),
        bullets(
            f"{one_line(c.license_id)}, {one_line(c.organization)}: tie between"
            f" {' and '.join(one_line(r) for r in c.tied_regions)}; once the {ce} has"
            " decided, its region is entered in the license's Region column."
            for c in tied
        ),
    ]


def _region_text(
    policy: Policy,
    results: Results,
    as_of: dt.date,
    region: RegionAllotment,
    lead: str | None,
    candidates: Sequence[ReassignmentItem],
    revoking: Sequence[ReassignmentItem],
    requests: Sequence[QueuedAppeal],
    grants: Sequence[AppealGrant] = (),
) -> list[Part]:
    """The CE Lead's draft. Its licenses eligible for revocation under §1 come first: they
    are in use, and revoking them frees the allotment before any removal candidate need go;
    what to do follows from Available (designate, nothing to do, or remove the excess)."""
    ce = committee_name(policy, "ce")
    name = one_line(region.region)
    available = region.available or 0
    going = ", ".join(one_line(i.license_id) for i in revoking)
    freed = len(revoking)
    if available < 0:
        left = -available - freed
        balance = f" (over the allotment by {-available:,}" + (
            (
                f"; {going}, eligible for revocation under §1, {_is(freed)} among those in"
                " use, and revoking "
                + ("it" if freed == 1 else "them")
                + (
                    f" leaves {name} over by {left:,})"
                    if left > 0
                    else f" brings {name} within its allotment)"
                )
            )
            if freed
            else ")"
        )
    elif freed:
        balance = (
            f" ({available + freed:,} once {going}, eligible for revocation under §1,"
            f" {_is(freed)} revoked)"
        )
    else:
        balance = ""
    facts = [
        f"Allotment: {region.allotment:,} (§2: the region's population share times the"
        f" target gives {shown_value(Fraction(region.formula_value), policy.ce_allotment)}"
        + (", raised to the minimum)" if region.minimum_applied else ")"),
        f"Added by approved appeals: {region.added_by_appeal:+,}",
        f"In use: {region.in_use or 0:,} CE Access Only licenses charged to {name} (§3.2)",
        f"Available: {available:,}"
        + balance
        + one_line(granted_text(grants, available, region.region, ce)),
    ]
    parts: list[Part] = [
        Paragraph(f"Dear {one_line(lead) or f'CE Lead of {name}'},"),
        Paragraph(
            f"{name}'s CE Access Point Only licenses under the {one_line(policy.name)}"
            f" (version {one_line(policy.version)}), as of {as_of}:"
        ),
        bullets(facts),
    ]
    if revoking:
        parts += [
            Paragraph(
                f"CE licenses in {name} eligible for revocation under §1 ({freed}): each is"
                " on the Revocations sheet, and once it is revoked it frees one of"
                f" {name}'s licenses:"
            ),
            bullets(
                f"{i.license_id}, {one_line(i.organization)}"
                f" ({_entries(i.client_entries_window)}). {clean(i.reasons)}"
                for i in revoking
            ),
        ]
    parts += [
        Paragraph(
            f"Removal candidates in {name}, ranked by the {ce_committee(policy)}'s criteria"
            " (under-utilized, not geographically unique, not the organization's only"
            f" license; §4) ({len(candidates)}):"
        ),
        bullets(
            (
                f"Rank {i.rank}: {i.license_id}, {one_line(i.organization)}"
                f" ({_entries(i.client_entries_window)}). {clean(i.reasons)}"
                for i in candidates
            ),
            empty="None.",
        ),
        Paragraph(f"Pending appeals and requests for {name} before the {ce} ({len(requests)}):"),
        bullets(
            (
                f"{q.appeal_id}, {one_line(q.organization)}: {one_line(q.reason)}"
                + (f" for {q.licenses_requested} license(s)" if q.licenses_requested else "")
                + f", filed {q.filed_on}, {q.days_pending} days pending"
                + (", overdue" if q.overdue else "")
                + f"; respond by {q.respond_by}."
                for q in requests
            ),
            empty="None.",
        ),
        Paragraph(f"What you can do, {_by(results)}:"),
        bullets(
            _region_actions(
                ce, region, candidates, revoking, requests, _appealed(results, revoking), grants
            )
        ),
    ]
    return parts


def _appealed(results: Results, revoking: Sequence[ReassignmentItem]) -> list[str]:
    """The licenses eligible under §1 that an appeal pending in the Appeals Queue asks
    about: their revocation, and what it frees, waits on that appeal's answer (§4)."""
    asked = {name_key(q.license_id) for q in results.appeals_queue if q.license_id}
    return [one_line(i.license_id) for i in revoking if name_key(i.license_id) in asked]


def _region_actions(
    ce: str,
    region: RegionAllotment,
    candidates: Sequence[ReassignmentItem],
    revoking: Sequence[ReassignmentItem],
    requests: Sequence[QueuedAppeal],
    appealed: Sequence[str] = (),
    grants: Sequence[AppealGrant] = (),
) -> list[str]:
    """What the CE Lead can do, chosen by the region's Available (§3, §4): designate the
    licenses available, nothing to designate while requests wait, or remove the excess,
    the licenses eligible for revocation under §1 first. Never "revoke and reassign as
    needed" beside a request of the region's own for more."""
    name = one_line(region.region)
    available = region.available or 0
    going = ", ".join(one_line(i.license_id) for i in revoking)
    freed = len(revoking)
    record = (
        " and record Revoked On, Revoked By (CE Lead) and Revocation Reason (CE allotment §3)"
        " on the Licenses sheet"
    )
    actions = []
    owed = sum(g.outstanding for g in grants)
    if grants:
        # §4: the committee granted these to named organizations: issued before any other.
        to = "; ".join(
            f"{plural(g.outstanding, 'license')} to {one_line(g.organization)} (appeal"
            f" {one_line(g.appeal_id)}, approved {g.decided_on})"
            for g in grants
        )
        short = owed - max(available, 0)
        actions.append(
            f"Issue the {ce}'s grants by appeal before designating any other license (§4):"
            f" {to}."
            + (
                f" {name} has {plural(max(available, 0), 'license')} to spare for them: the"
                f" {ce} reassigns excess licenses from another region or requests more from"
                " HMIS, or you free one (§3, §4), before the rest can be issued."
                if short > 0
                else ""
            )
        )
        if available > 0:
            available = max(available - owed, 0)
    if available > 0:
        actions.append(
            f"Designate {name}'s"
            f" {plural(available, 'other available license' if grants else 'available license')}"
            " to organizations in the region (§3)"
            + (
                f", and the {plural(freed, 'license')} freed once {going} {_is(freed)}"
                " revoked under §1."
                if freed
                else "."
            )
        )
    elif available == 0:
        actions.append(
            (
                f"None other to designate: {name}'s available licenses go to the grants"
                " above, and none needs to be removed (§3)"
                if grants
                else f"None to designate: {name} has no license available, and none needs"
                " to be removed (§3)"
            )
            + (
                f"; once {going} {_is(freed)} revoked under §1, designate the"
                f" {plural(freed, 'license')} {'it frees' if freed == 1 else 'they free'}."
                if freed
                else "."
            )
        )
    else:
        over = -available
        left = over - freed
        if freed:
            first = (
                f"Remove {name}'s excess of {over:,} (§3), the licenses eligible for revocation"
                f" under §1 first: once the HMIS Lead Agency revokes {going} (Revocations"
                f" sheet, §1), {'it frees' if freed == 1 else 'they free'}"
                f" {plural(freed, 'license')}"
            )
            if left > 0:
                first += (
                    f"; then remove {plural(left, 'more license')} from the removal"
                    f" candidates above, in rank order,{record}."
                )
            else:
                first += (
                    f", which brings {name} within its allotment: no other license needs to"
                    " be removed"
                    + (
                        f" unless the appeal pending on {', '.join(appealed)} is approved"
                        " (Appeals Queue, §4): then the excess stays, and the removal"
                        " candidates above are next, in rank order."
                        if appealed
                        else "."
                    )
                )
        else:
            first = (
                f"Remove {name}'s excess of {plural(over, 'license')} (§3): the removal"
                f" candidates above, in rank order,{record}."
            )
        if left > 0 and len(candidates) < left:
            first += (
                f" Only {plural(len(candidates), 'candidate')} {_is(len(candidates))} ranked"
                f" for {name}: the {ce} decides the rest (Reassignment sheet, §4)."
            )
        actions.append(first)
    waiting = ", ".join(one_line(q.appeal_id) for q in requests)
    if requests and available <= 0:
        actions.append(
            f"{waiting} {'waits' if len(requests) == 1 else 'wait'} for the {ce}: with no"
            f" license available in {name}, it may reassign excess licenses from other"
            " regions or request more from HMIS (§4 CE-Allotment Appeal)."
        )
    actions.append(
        f"Ask the {ce} for additional licenses with the HMIS License Appeal/Request"
        ' Form (Addendum 1 of the policy), marking "I am a CES lead and wish to'
        ' request additional license allotment for my region". The committee may'
        " reassign excess licenses from other regions or request more from HMIS"
        " (§4 CE-Allotment Appeal)."
        + (
            f" No new request is needed for what {waiting} already"
            f" {'asks' if len(requests) == 1 else 'ask'}."
            if requests
            else ""
        )
    )
    return actions


def _is(count: int) -> str:
    return "is" if count == 1 else "are"


def _entries(count: int | None) -> str:
    """A license's Client Entries (Window) as its line in a notice says it."""
    if count is None:
        return "client entries in the window not counted"
    return plural(count, "client entry", "client entries") + " in the window"


# ------------------------------------------------------------------------- the message


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str


@dataclass(frozen=True, slots=True)
class Bullets:
    items: tuple[str, ...]
    empty: str = ""


def bullets(items: Iterable[str], empty: str = "") -> Bullets:
    return Bullets(tuple(items), empty)


Part = Paragraph | Bullets
_DRAFT_NOTE = (
    "DRAFT prepared by hmis-licensing from the shared workbook; it has not been sent."
    " Check it, add your signature, and send it yourself."
)


def _missing(problem: str, sheet: InputSheet, field: str, name: str) -> str:
    column = sheet.column(field).header
    return (
        f"No recipient: the {sheet.name} sheet has no usable {column} for {name} ({problem})."
        f" Add the address here before sending, and record it in the {column} column."
    )


# How a draft is saved: the SMTP policy's CRLF line ends, with header lines up to RFC
# 5322's 998 characters. At the usual 78, Python folds a subject that fits on a line of
# its own, but not after "Subject: ", onto the next line, and every mail program then
# shows it with a leading space. (The body's encoding is chosen when it is set: 78.)
DRAFT_FILE_POLICY = SMTP.clone(max_line_length=998)


def draft_message(
    to: Sequence[str], subject: str, missing: str, parts: Sequence[Part]
) -> EmailMessage:
    message = EmailMessage(policy=SMTP)  # CRLF line ends, as .eml files have them
    if to:
        message["To"] = ", ".join(to)
    message["Subject"] = cut(subject, _SUBJECT_LIMIT)
    message["X-Unsent"] = "1"  # Outlook: open as a draft to edit and send
    notes = [Paragraph(_DRAFT_NOTE)] + ([Paragraph(missing)] if missing else [])
    message.set_content(_plain([*notes, *parts]))
    message.add_alternative(_html([*notes, *parts]), subtype="html")
    return message


def _plain(parts: Sequence[Part]) -> str:
    lines: list[str] = []
    for part in parts:
        if isinstance(part, Paragraph):
            lines += [clean(part.text), ""]
        else:
            lines += [f"  - {clean(item)}" for item in part.items] or [f"  {part.empty}"]
            lines.append("")
    return "\n".join(lines)


def _html(parts: Sequence[Part]) -> str:
    body: list[str] = []
    for part in parts:
        if isinstance(part, Paragraph):
            body.append(f"<p>{_escape(part.text)}</p>")
        elif part.items:
            body.append("<ul>" + "".join(f"<li>{_escape(i)}</li>" for i in part.items) + "</ul>")
        else:
            body.append(f"<p><em>{_escape(part.empty)}</em></p>")
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        '<body style="font-family: Calibri, Arial, sans-serif; font-size: 11pt">'
        + "\n".join(body)
        + "</body></html>"
    )


def _escape(text: str) -> str:
    return html.escape(clean(text), quote=True).replace("\n", "<br>")
