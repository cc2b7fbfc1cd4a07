"""What each committee's packet says (SPEC §8), from one run's Outcome; no layout here.

`build_packet(outcome, committee)` gives a `Packet`: the cover's facts, the summary
counts and the sections, each a list of paragraphs, tables and charts whose text is
already the words and numbers a committee member reads. `workbook.review.pdf` lays it
out. Column headers come from `workbook.layout`, so a table in the packet is headed like
the sheet it summarizes.

With Errors in the workbook the packet is still made (a meeting goes ahead), marked NOT
FINAL on every page, with the errors listed on the cover; a section whose result sheet
the errors hold back says so instead of showing figures the workbook does not show.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TypeVar

import engine
from engine.appeals import revocation_kind
from engine.model import (
    NOT_JUDGED_FINDINGS,
    AppealGrant,
    LicenseDecision,
    Policy,
    QueuedAppeal,
    ReassignmentItem,
    RegionAllotment,
    Results,
    RevocationRecord,
    WatchItem,
    name_key,
)
from engine.reassignment import BEING_REVOKED, KEPT, granted_text
from engine.review import RE_REVIEW
from engine.words import plural
from workbook.layout import (
    ALLOTMENTS,
    APPEALS_QUEUE,
    INACTIVITY_REPORT,
    REASSIGNMENT,
    REVOCATIONS,
    REVOCATIONS_DONE,
    SETTING_AS_OF,
    SETTING_NEXT_REVIEW,
    WATCH_LIST,
    Kind,
    ResultSheet,
)
from workbook.results import allotment_rows, held_back_sheets
from workbook.review.files import COMMITTEES, Committee
from workbook.review.text import clean, one_line, show
from workbook.run import Outcome, chosen_as_of

# The policy's committees (policy.yaml `committees`) by the name the command line uses.
POLICY_COMMITTEE: Mapping[Committee, str] = {
    "performance": "performance",
    "ce": "coordinated_entry",
}
_MAX_ERRORS_ON_COVER = 12
_REMOVAL_CANDIDATE = "Removal candidate"
_APPEAL_FACTS_WIDTH = 0.7  # of an appeals table: the rest is its Explanation


# ----------------------------------------------------------------------------- the model


@dataclass(frozen=True, slots=True)
class TableColumn:
    header: str
    width: float  # share of the text width
    numeric: bool = False  # right-aligned


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[TableColumn, ...]
    rows: tuple[tuple[str, ...], ...]
    marked: frozenset[int] = frozenset()  # rows to highlight (over, overdue, against policy)
    empty: str = "None."
    total_row: bool = False  # the last row is a total, set in bold


@dataclass(frozen=True, slots=True)
class BarChart:
    title: str
    categories: tuple[str, ...]
    series: tuple[tuple[str, tuple[int, ...]], ...]  # (legend, one value per category)


Block = str | Table | BarChart  # a str is a paragraph


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class Packet:
    committee: Committee
    committee_name: str
    title: str
    as_of: dt.date | None  # None: the Settings sheet's As Of could not be read
    running_header: str
    facts: tuple[tuple[str, str], ...]
    status: str  # one sentence: final, or NOT FINAL and why
    final: bool
    errors: tuple[str, ...]
    summary: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]
    counts: Mapping[str, int | None] = field(default_factory=dict)  # None: held back
    as_of_text: str = ""  # how every page names the As Of ("not read": it could not be)


# ----------------------------------------------------------------------------- building


def committee_name(policy: Policy, committee: Committee) -> str:
    """The committee's name as the policy file gives it."""
    key = POLICY_COMMITTEE[committee]
    return policy.committees.get(key, key.replace("_", " ").title() + " Committee")


def build_packet(outcome: Outcome, committee: Committee, *, workbook_name: str) -> Packet:
    """The packet for one committee. The Outcome must have a policy (else nothing was judged)."""
    policy, results = outcome.policy, outcome.results
    if policy is None or results is None:
        raise ValueError("a packet needs a run whose policy loaded")
    name = committee_name(policy, committee)
    as_of = chosen_as_of(outcome.as_of)
    # An As Of the run needed and could not read: the date it fell back to is no review's.
    shown_as_of = "not read" if as_of_unread(outcome) else str(as_of)
    held = held_back_sheets(results)
    if committee == "performance":
        summary, sections, counts = _performance(outcome, results, policy, name, held)
    else:
        summary, sections, counts = _coordinated_entry(results, policy, name, held)
    errors = tuple(_error_line(outcome, i) for i in range(len(outcome.errors)))
    final = not errors
    coc = _continuum(policy)
    marker = "" if final else f" · NOT FINAL: {len(errors)} error(s) in the workbook"
    return Packet(
        committee=committee,
        committee_name=name,
        title=f"{name} packet",
        as_of=as_of,
        as_of_text=shown_as_of,
        running_header=(
            f"{coc} · {name} · As Of {shown_as_of} · Policy {one_line(policy.version)}"
            f" ({policy.sha256[:12]}){marker}"
        ),
        facts=_facts(outcome, policy, results, name, workbook_name, coc),
        status=_status(outcome, held),
        final=final,
        errors=errors[:_MAX_ERRORS_ON_COVER]
        + (
            (f"... and {len(errors) - _MAX_ERRORS_ON_COVER} more on the Problems sheet.",)
            if len(errors) > _MAX_ERRORS_ON_COVER
            else ()
        ),
        summary=summary,
        sections=sections,
        counts={**counts, "errors": len(outcome.errors), "warnings": len(outcome.warnings)},
    )


def later_review(outcome: Outcome) -> dt.date | None:
    """The latest review on record (Findings History) when it is after this run's As Of:
    the result sheets are then of that later date, and this document is not."""
    as_of = outcome.as_of.value
    days = [row.as_of for row in outcome.inputs.history or ()]
    latest = max(days, default=None)
    return latest if latest is not None and isinstance(as_of, dt.date) and latest > as_of else None


def later_review_note(outcome: Outcome, document: str) -> str | None:
    """What to say when `later_review` finds one (stderr, and the packet's cover)."""
    latest = later_review(outcome)
    if latest is None:
        return None
    return (
        f"This {document} is as of {outcome.as_of.value} ({outcome.as_of.origin}), but the"
        f" workbook's latest review is as of {latest} (Findings History), which its result"
        f" sheets show. For that review, run it with --as-of {latest} (or set the Settings"
        " sheet's As Of)."
    )


def _continuum(policy: Policy) -> str:
    section = policy.raw.get("policy") if isinstance(policy.raw, Mapping) else None
    code = section.get("continuum_of_care") if isinstance(section, Mapping) else None
    return one_line(code) if code else one_line(policy.name)


def _error_line(outcome: Outcome, index: int) -> str:
    problem = outcome.errors[index]
    sheet, cell = outcome.cells.cell(problem.where)
    place = f"{sheet}!{cell}" if cell and not cell.startswith("row") else sheet
    return f"{place}: {clean(problem.problem)} How to fix: {clean(problem.how_to_fix)}"


def _status(outcome: Outcome, held: Mapping[str, str]) -> str:
    warnings = len(outcome.warnings)
    if not outcome.errors:
        return (
            f"Final: the workbook has no errors ({warnings} warning(s) for people to decide,"
            " on its Problems sheet)."
        )
    sheets = ", ".join(sorted(held)) or "none"
    return (
        f"NOT FINAL: the workbook has {len(outcome.errors)} error(s), listed below; sections"
        f" they hold back ({sheets}) say so instead of showing figures. Fix the errors,"
        " recalculate and print the packet again."
    )


def as_of_unread(outcome: Outcome) -> bool:
    """Whether the run needed the Settings sheet's As Of and could not read it."""
    return SETTING_AS_OF in outcome.inputs.unreadable_settings


_NOT_WORKED_OUT = "not worked out: the As Of could not be read"


def _next_review(outcome: Outcome, results: Results) -> str:
    if as_of_unread(outcome):
        return _NOT_WORKED_OUT
    if results.next_review is not None:
        return show(results.next_review)
    if SETTING_NEXT_REVIEW in outcome.inputs.unreadable_settings:
        return "could not be read (Settings sheet: Next Review; see the errors below)"
    return "not set (Settings sheet: Next Review)"


def _facts(
    outcome: Outcome,
    policy: Policy,
    results: Results,
    name: str,
    workbook_name: str,
    coc: str,
) -> tuple[tuple[str, str], ...]:
    previous = results.previous_review
    return (
        ("Continuum of Care", f"{coc}: {one_line(policy.name)}"),
        ("Committee", name),
        (
            "As Of",
            "could not be read (Settings sheet: As Of; see the errors below), so nothing in"
            " this packet is as of a date"
            if as_of_unread(outcome)
            else f"{outcome.as_of.value} ({outcome.as_of.origin})",
        ),
        ("Next Review", _next_review(outcome, results)),
        (
            "Previous review",
            _NOT_WORKED_OUT
            if as_of_unread(outcome)
            else show(previous)
            or "none on record (Findings History has no rows of an earlier As Of)",
        ),
        (
            "Policy",
            f"version {one_line(policy.version)}, effective {policy.effective_date}",
        ),
        ("Policy SHA-256", policy.sha256),
        ("Policy file", f"{clean(outcome.policy_file.value)} ({outcome.policy_file.origin})"),
        ("Workbook", clean(workbook_name)),
        ("Prepared by", f"hmis-licensing {engine.ENGINE_VERSION}"),
        *((("Note", note),) if (note := later_review_note(outcome, "packet")) else ()),
    )


# ------------------------------------------------------------------------- performance


def _performance(
    outcome: Outcome,
    results: Results,
    policy: Policy,
    name: str,
    held: Mapping[str, str],
) -> tuple[tuple[tuple[str, str], ...], tuple[Section, ...], dict[str, int | None]]:
    decisions = results.decisions
    eligible = results.revocations
    newly = [d for d in eligible if _newly_eligible_now(d, results)]
    cleared = [d for d in decisions if d.change_since_last_review.startswith("No longer")]
    kept = [d for d in decisions if d.exception]
    appeals = [q for q in results.appeals_queue if q.committee == name]
    against = [r for r in results.revocations_done if r.against_policy]
    coming, again = split_watch_list(results.watch_list)
    report, revocations = (INACTIVITY_REPORT,), (REVOCATIONS,)
    done, queue = (REVOCATIONS_DONE,), (APPEALS_QUEUE,)
    counts = _held_counts(
        held,
        {
            "licenses_judged": (results.licenses_judged, report),
            "eligible": (len(eligible), revocations),
            "newly_eligible": (len(newly), (*report, *revocations)),
            "no_longer_eligible": (len(cleared), report),
            "kept_by_exception": (len(kept), report),
            "watch_list": (len(results.watch_list), (WATCH_LIST,)),
            "becoming_eligible": (len(coming), (WATCH_LIST,)),
            "due_for_re_review": (len(again), (WATCH_LIST,)),
            "revoked_since_last_review": (len(results.revocations_done), done),
            "revoked_against_policy": (len(against), done),
            "appeals_pending": (len(appeals), queue),
            "appeals_overdue": (sum(q.overdue for q in appeals), queue),
        },
    )
    # The findings of the licenses judged add up to the count; the rest are listed after.
    by_finding = _tally(d.finding for d in decisions if d.finding not in NOT_JUDGED_FINDINGS)
    outside: Counter[str] = Counter(
        str(d.finding) for d in decisions if d.finding in NOT_JUDGED_FINDINGS
    )
    not_judged = "".join(
        f"; {outside[finding]:,} {words}"
        for finding, words in (("Not judged", "not judged"), ("Cannot judge", "cannot be judged"))
        if outside[finding]
    )
    judged = results.licenses_judged
    summary = (
        # As recalc's summary counts them: a license revoked, not yet granted or of a type
        # the policy does not judge is on the report, but not an active license judged.
        (
            "Active licenses judged",
            _figure(
                f"{judged:,} of {len(decisions):,} listed ({by_finding}){not_judged}", held, report
            ),
        ),
        ("Eligible for revocation", _figure(f"{len(eligible):,}", held, revocations)),
        (
            "Newly eligible since the last review",
            _figure(f"{len(newly):,}", held, (*report, *revocations)),
        ),
        ("No longer eligible since the last review", _figure(f"{len(cleared):,}", held, report)),
        ("Kept by an exception (§1.E1–§1.E3)", _figure(f"{len(kept):,}", held, report)),
        (
            "On the watch list: eligible by Next Review if nothing changes",
            _figure(f"{len(coming):,}", held, (WATCH_LIST,)),
        ),
        (
            "On the watch list: exceptions due for re-review (§1.E3)",
            _figure(f"{len(again):,}", held, (WATCH_LIST,)),
        ),
        (
            "Revoked since the last review",
            _figure(
                f"{len(results.revocations_done):,} ({len(against):,} against the policy)",
                held,
                done,
            ),
        ),
        (
            f"Appeals and special requests pending for the {name}",
            _figure(f"{len(appeals):,} ({sum(q.overdue for q in appeals):,} overdue)", held, queue),
        ),
    )
    sections = (
        _newly_eligible(results, newly, cleared, held),
        _all_eligible(eligible, held),
        _revoked(results, policy, held, performance=True),
        _appeals_section(
            f"Inactivity appeals and special requests before the {name}",
            appeals,
            held,
            f"§4: the {name} must respond to all pending appeals and requests during each"
            " monthly meeting. An appeal is overdue when it has gone longer than the policy's"
            f" response period ({policy.appeal_response_period.describe()}) without being"
            " reviewed.",
            ("appeal_id", "organization", "reason", "license_id", "filed_on", "days_pending"),
        ),
        _watch_section(results, policy, held),
        _exceptions_section(kept, held),
    )
    return summary, sections, counts


def _newly_eligible(
    results: Results,
    newly: Sequence[LicenseDecision],
    cleared: Sequence[LicenseDecision],
    held: Mapping[str, str],
) -> Section:
    title = "Newly eligible for revocation"
    if INACTIVITY_REPORT.name in held:
        return _held(title, INACTIVITY_REPORT, held)
    if results.previous_review is None:
        lead = (
            "No earlier review is on record (the Findings History sheet has no rows of an"
            " earlier As Of), so there is nothing to compare with: this review starts the"
            " record, and every license eligible now is listed in the next section."
        )
    else:
        lead = (
            f"Licenses eligible for revocation now that were not at the previous review"
            f" (As Of {results.previous_review})."
        )
    blocks: list[Block] = [lead]
    blocks.append(_decision_table(newly, "No license became eligible since the last review."))
    if cleared:
        blocks.append("No longer eligible since the last review, and why:")
        blocks.append(
            _table(
                INACTIVITY_REPORT,
                cleared,
                (
                    ("license_id", 0.11),
                    ("user", 0.15),
                    ("organization", 0.22),
                    ("change_since_last_review", 0.52),
                ),
            )
        )
    return Section(title, tuple(blocks))


def _decision_table(decisions: Sequence[LicenseDecision], empty: str) -> Table:
    return _table(
        REVOCATIONS,
        decisions,
        (
            ("license_id", 0.085),
            ("user", 0.11),
            ("organization", 0.15),
            ("license_type", 0.09),
            ("finding", 0.085),
            ("eligible_since", 0.09),
            ("explanation", 0.40),
        ),
        empty=empty,
    )


def _all_eligible(eligible: Sequence[LicenseDecision], held: Mapping[str, str]) -> Section:
    title = "All licenses eligible for revocation"
    if REVOCATIONS.name in held:
        return _held(title, REVOCATIONS, held)
    lead = (
        f"{len(eligible):,} license(s) are eligible for revocation under the CoC's licensing"
        " policy (§1.1 no client data in the window, §1.2 never signed in), with no exception."
        " The engine never revokes: the HMIS Lead decides, and staff record Revoked On,"
        " Revoked By and Revocation Reason on the Licenses sheet. Eligible Since is the"
        " first review of the license's current stretch of eligibility."
    )
    return Section(
        title, (lead, _decision_table(eligible, "No license is eligible for revocation."))
    )


def _revoked(
    results: Results, policy: Policy, held: Mapping[str, str], *, performance: bool
) -> Section:
    name = committee_name(policy, "performance")
    everything = list(results.revocations_done)
    if performance:
        title = "Revoked since the last review"
        records = everything
        empty = "No license was revoked since the last review."
    else:
        title = "CE licenses revoked since the last review"
        records = [r for r in everything if _ce_revocation(policy, r)]
        empty = _no_ce_revocation(len(everything) - len(records), name)
    if REVOCATIONS_DONE.name in held:
        return _held(title, REVOCATIONS_DONE, held)
    since = (
        f"since the previous review (As Of {results.previous_review})"
        if results.previous_review
        else "(no earlier review is on record, so every revocation on the Licenses sheet)"
    )
    lead = (
        f"Licenses with Revoked On {since} (or earlier, but recorded only after the"
        " previous review, which still judged them). A row marked Against Policy = Yes was"
        " revoked"
        " when the policy did not allow it (a Level 4 List Holder, a special request in"
        " force, an organization left without a license); its Explanation says which. An"
        " appeal of a revocation whose Reason would send it to the wrong committee is"
        " named in the revocation's Explanation (and on the Problems sheet), whether or"
        " not the revocation itself was allowed."
    )
    table = _table(
        REVOCATIONS_DONE,
        records,
        (
            ("license_id", 0.09),
            ("organization", 0.16),
            ("revoked_on", 0.09),
            ("revoked_by", 0.09),
            ("revocation_reason", 0.11),
            ("against_policy_text", 0.08),
            ("explanation", 0.38),
        ),
        marked=lambda r: r.against_policy,
        empty=empty,
    )
    if not performance:
        lead += (
            " Listed here: every license of a type that counts against the CE allotment"
            " (it no longer counts in its region's In Use, whatever the reason), and any"
            " license revoked for the CE allotment (§3) or by a CE Lead or the"
            f" {committee_name(policy, 'ce')}."
        )
    return Section(title, (lead, table))


def _ce_revocation(policy: Policy, record: RevocationRecord) -> bool:
    """What the CE Committee sees: a license of a type charged to a region (§3.2, as the
    engine decides it: license_types' counts_against_ce_allotment), or one revoked for
    the CE allotment or by a CE Lead or the CE Committee."""
    rule = policy.license_type(record.license_type)
    return (
        (rule is not None and rule.counts_against_ce_allotment)
        or revocation_kind(record.revocation_reason) == "CE allotment revocation"
        or name_key(record.revoked_by) in _CE_REVOKERS
    )


_CE_REVOKERS = frozenset(name_key(who) for who in ("CE Lead", "CE Committee"))


def _no_ce_revocation(others: int, performance_committee: str) -> str:
    text = (
        "No CE Access Only license (nor any license for the CE allotment) was revoked since"
        " the last review."
    )
    if others:
        text += (
            f" {plural(others, 'other license')} {'was' if others == 1 else 'were'}: see"
            f' the {performance_committee} packet\'s "Revoked since the last review".'
        )
    return text


def _appeals_section(
    title: str,
    appeals: Sequence[QueuedAppeal],
    held: Mapping[str, str],
    lead: str,
    fields: tuple[str, ...],
) -> Section:
    if APPEALS_QUEUE.name in held:
        return _held(title, APPEALS_QUEUE, held)
    widths = {
        "appeal_id": 0.07,
        "organization": 0.15,
        "reason": 0.12,
        "license_id": 0.08,
        "region": 0.08,
        "licenses_requested": 0.07,
        "filed_on": 0.085,
        "days_pending": 0.06,
    }
    spec = (*((f, widths[f]) for f in fields), ("respond_by", 0.085), ("overdue_text", 0.06))
    used = sum(w for _, w in spec)
    scale = min(1.0, _APPEAL_FACTS_WIDTH / used)  # the explanation keeps a readable width
    spec = tuple((f, w * scale) for f, w in spec)
    table = _table(
        APPEALS_QUEUE,
        appeals,
        (*spec, ("explanation", 1 - used * scale)),
        marked=lambda q: q.overdue,
        empty="No appeal or request is pending.",
    )
    return Section(title, (lead, table))


def _watch_section(results: Results, policy: Policy, held: Mapping[str, str]) -> Section:
    title = "Watch list"
    if WATCH_LIST.name in held:
        return _held(title, WATCH_LIST, held)
    until = f"by the next review ({results.next_review})" if results.next_review else "soon"
    coming, again = split_watch_list(results.watch_list)
    lead = (
        f"Licenses that are not eligible today but will be {until} if nothing changes"
        " (no client data, never signed in, an exception that ends), as the Watch List"
        f" sheet lists them with another Rule than {RE_REVIEW_RULE}."
    )
    table = _table(
        WATCH_LIST,
        coming,
        (
            ("license_id", 0.09),
            ("user", 0.12),
            ("organization", 0.16),
            ("becomes_eligible_on", 0.10),
            ("rule", 0.12),
            ("days_left", 0.06),
            ("explanation", 0.35),
        ),
        empty=f"No license will become eligible {until} if nothing changes.",
    )
    later = (
        f"Exceptions due for re-review (the Watch List's {RE_REVIEW_RULE} rows): special"
        " requests the committee approved with no Exception Until that were decided longer"
        f" ago than {policy.open_ended_exceptions_after.describe()}"
        " (review.open_ended_exceptions_after). They are not becoming eligible:"
        " each stays exempt until the committee sets an end date or ends it (§1.E3)."
    )
    again_table = Table(
        (
            TableColumn(_header(WATCH_LIST, "license_id"), 0.09),
            TableColumn(_header(WATCH_LIST, "user"), 0.12),
            TableColumn(_header(WATCH_LIST, "organization"), 0.16),
            TableColumn("Due for re-review since", 0.11),
            TableColumn(_header(WATCH_LIST, "explanation"), 0.52),
        ),
        tuple(
            (
                one_line(w.license_id) or "every license",
                one_line(w.user),
                one_line(w.organization),
                show(w.re_review_due),
                clean(w.explanation),
            )
            for w in again
        ),
        empty="No exception is due for re-review.",
    )
    return Section(title, (lead, table, later, again_table))


# SPEC §8 "for re-review": the Rule engine.review gives these Watch List rows (WatchItem.rule).
RE_REVIEW_RULE = RE_REVIEW


def is_re_review(item: WatchItem) -> bool:
    """A Watch List row that is an open-ended exception due for re-review, not a license
    becoming eligible."""
    return name_key(item.rule) == name_key(RE_REVIEW_RULE)


def split_watch_list(
    items: Iterable[WatchItem],
) -> tuple[list[WatchItem], list[WatchItem]]:
    """The Watch List as (becoming eligible by Next Review, due for re-review)."""
    coming: list[WatchItem] = []
    again: list[WatchItem] = []
    for item in items:
        (again if is_re_review(item) else coming).append(item)
    return coming, again


def _exceptions_section(kept: Sequence[LicenseDecision], held: Mapping[str, str]) -> Section:
    title = "Kept by an exception"
    if INACTIVITY_REPORT.name in held:
        return _held(title, INACTIVITY_REPORT, held)
    lead = (
        "Licenses that would be eligible but are kept by an exception: the organization's"
        " last license (§1.E1), a Level 4 List Holder (§1.E2), or a special request the"
        " committee approved (§1.E3). Exceptions are to the CoC's licensing policy only,"
        " not to the HMIS Lead Agency's own inactivity policy."
    )
    table = _table(
        INACTIVITY_REPORT,
        kept,
        (
            ("license_id", 0.09),
            ("user", 0.12),
            ("organization", 0.17),
            ("finding", 0.09),
            ("exception", 0.17),
            ("explanation", 0.36),
        ),
        empty="No license is kept by an exception.",
    )
    return Section(title, (lead, table))


# ------------------------------------------------------------------- coordinated entry


def _coordinated_entry(
    results: Results,
    policy: Policy,
    name: str,
    held: Mapping[str, str],
) -> tuple[tuple[tuple[str, str], ...], tuple[Section, ...], dict[str, int | None]]:
    regions = results.allotments
    over = [a for a in regions if (a.available or 0) < 0]
    under = [a for a in regions if (a.available or 0) > 0]
    appeals = [q for q in results.appeals_queue if q.committee == name]
    candidates = [i for i in results.reassignment if i.item == _REMOVAL_CANDIDATE]
    summary_row = results.allotment_summary
    allotments, queue, agenda = (ALLOTMENTS,), (APPEALS_QUEUE,), (REASSIGNMENT,)
    counts = _held_counts(
        held,
        {
            "regions": (len(regions), allotments),
            "allotted": (summary_row.total_allotment if summary_row else 0, allotments),
            "in_use": ((summary_row.in_use or 0) if summary_row else 0, allotments),
            "regions_over": (len(over), allotments),
            "regions_under": (len(under), allotments),
            "appeals_pending": (len(appeals), queue),
            "appeals_overdue": (sum(q.overdue for q in appeals), queue),
            "removal_candidates": (len(candidates), agenda),
        },
    )
    summary: list[tuple[str, str]] = [("Regions", _figure(f"{len(regions):,}", held, allotments))]
    if summary_row is not None and ALLOTMENTS.name not in held:
        summary += [
            (
                "CE Access Only licenses allotted",
                f"{summary_row.total_allotment:,} (target {summary_row.target:,})"
                + (
                    f", {summary_row.added_by_appeal:+,} by approved appeals"
                    if summary_row.added_by_appeal
                    else ""
                ),
            ),
            ("In use", show(summary_row.in_use)),
            ("Available (negative: over)", show(summary_row.available)),
        ]
    summary += [
        ("Regions over their allotment", _figure(f"{len(over):,}", held, allotments)),
        ("Regions with licenses available", _figure(f"{len(under):,}", held, allotments)),
        (
            f"Appeals and requests pending for the {name}",
            _figure(f"{len(appeals):,} ({sum(q.overdue for q in appeals):,} overdue)", held, queue),
        ),
        (
            "Removal candidates on the reassignment agenda",
            _figure(f"{len(candidates):,}", held, agenda),
        ),
    ]
    sections = (
        _allotment_section(results, held),
        _over_under_section(over, under, held, results.appeal_grants, name),
        _appeals_section(
            f"CE appeals and additional-allotment requests before the {name}",
            appeals,
            held,
            f"§4 CE-Allotment Appeal: the {name} must respond to all appeals and requests"
            " concerning licensing; each monthly meeting should address any pending"
            " appeals. It may use one of the originating region's allotments, reassign"
            " excess licenses from other regions, or request additional licenses from HMIS."
            f" Overdue: still pending {policy.appeal_response_period.describe()} after it"
            " was last reviewed (Last Reviewed On), or after it was filed when no meeting"
            " has reviewed it; Respond By is that day.",
            (
                "appeal_id",
                "organization",
                "reason",
                "license_id",
                "region",
                "licenses_requested",
                "filed_on",
            ),
        ),
        _reassignment_section(results, held, name),
        _revoked(results, policy, held, performance=False),
    )
    return tuple(summary), sections, counts


def _allotment_section(results: Results, held: Mapping[str, str]) -> Section:
    title = "Allotments against licenses in use"
    if ALLOTMENTS.name in held:
        return _held(title, ALLOTMENTS, held)
    regions = list(results.allotments)
    spec = (
        ("region", 0.19),
        ("population", 0.12),
        ("share", 0.10),
        ("formula_value", 0.10),
        ("allotment", 0.10),
        ("minimum_applied_text", 0.10),
        ("added_by_appeal", 0.10),
        ("in_use", 0.09),
        ("available", 0.10),
    )
    # The very rows of the Allotments sheet (regions, Not charged to a region, Total), so
    # the packet and the sheet can never say different things.
    fields = [c.field for c in ALLOTMENTS.columns]
    sheet_rows = [
        SimpleNamespace(**dict(zip(fields, row, strict=True))) for row in allotment_rows(results)
    ]
    table = _table(ALLOTMENTS, sheet_rows, spec, marked=lambda a: (a.available or 0) < 0)
    summary = results.allotment_summary
    if summary is not None:
        table = Table(table.columns, table.rows, table.marked, table.empty, True)
    lead = (
        "§2: each region's allotment of CE Access Point Only licenses is its population share"
        " of the Balance of State times the target, and never below the minimum. In Use"
        " counts the active CE Access Only licenses charged to the region (§3.2); Available"
        " is the allotment (with licenses added by approved appeals) less In Use, negative"
        " where a region is over. For the Total row, Formula Value is the target."
    )
    blocks: list[Block] = [lead, table]
    if summary is not None:
        blocks.append(clean(summary.explanation))
    blocks.append(_allotment_chart(regions))
    if summary is not None and summary.not_charged:
        ids = ", ".join(summary.not_charged)
        count = len(summary.not_charged)
        blocks.append(
            f"The bars are the regions' own: {count} CE Access Only license"
            f"{'' if count == 1 else 's'} charged to no region ({ids}) count in the Total's"
            " In Use above but in no region's bar (see CE Charges)."
        )
    blocks.append(
        _table(
            ALLOTMENTS,
            regions,
            (("region", 0.16), ("explanation", 0.84)),
            empty="No region is on the Regions sheet.",
        )
    )
    return Section(title, tuple(blocks))


def _allotment_chart(regions: Sequence[RegionAllotment]) -> BarChart:
    appeal = any(a.added_by_appeal for a in regions)
    return BarChart(
        title="Allotment"
        + (" (with licenses added by appeal)" if appeal else "")
        + " and licenses in use, by region",
        categories=tuple(one_line(a.region) for a in regions),
        series=(
            ("Allotment", tuple(a.allotment + a.added_by_appeal for a in regions)),
            ("In use", tuple(a.in_use or 0 for a in regions)),
        ),
    )


def _over_under_section(
    over: Sequence[RegionAllotment],
    under: Sequence[RegionAllotment],
    held: Mapping[str, str],
    grants: Sequence[AppealGrant] = (),
    ce: str = "",
) -> Section:
    title = "Regions over and under their allotment"
    if ALLOTMENTS.name in held:
        return _held(title, ALLOTMENTS, held)
    blocks: list[Block] = []
    for label, regions, empty in (
        (
            "Over their allotment (more CE licenses in use than allotted):",
            over,
            "No region is over.",
        ),
        (
            "With licenses available to designate or reassign (§3, §4):",
            under,
            "No region has a license available.",
        ),
    ):
        blocks.append(label)
        lines = [_over_under_line(a, grants, ce) for a in regions]
        blocks.append(
            Table(
                (
                    TableColumn(_header(ALLOTMENTS, "region"), 0.2),
                    TableColumn("In use against the allotment", 0.8),
                ),
                tuple((one_line(a.region), line) for a, line in zip(regions, lines, strict=True)),
                empty=empty,
            )
        )
    return Section(title, tuple(blocks))


def _over_under_line(
    region: RegionAllotment, grants: Sequence[AppealGrant] = (), ce: str = ""
) -> str:
    """A region's in use against its allotment, naming the licenses approved appeals
    granted there and not yet issued (§4), as the agenda and the CE Lead's notice do."""
    allotted = region.allotment + region.added_by_appeal
    available = region.available or 0
    text = f"{region.in_use or 0:,} in use against an allotment of {allotted:,}"
    if region.added_by_appeal:
        text += f" ({region.allotment:,} by §2, {region.added_by_appeal:+,} by appeal)"
    mine = [g for g in grants if name_key(g.region) == name_key(region.region)]
    granted = one_line(granted_text(mine, available, region.region, ce))
    if available < 0:
        return text + f": {-available:,} over{granted}."
    return text + f": {available:,} available{granted}."


def _reassignment_section(results: Results, held: Mapping[str, str], name: str) -> Section:
    title = "Reassignment agenda"
    if REASSIGNMENT.name in held:
        return _held(title, REASSIGNMENT, held)
    lead = (
        f"§4 CE-Allotment Appeal: the {name} may remove licenses from users to reassign"
        " them, and should make sure each is under-utilized (few client entries), not"
        " geographically unique to its county, and when possible not the organization's"
        " only license. Candidates are ranked by those criteria, Rank 1 first; the Reasons"
        " say how each fares. Then the licenses an organization keeps (its last license),"
        " CE licenses already eligible for revocation, the regions with licenses available"
        " and the pending requests."
    )
    candidates = [i for i in results.reassignment if i.item == _REMOVAL_CANDIDATE]
    others = [i for i in results.reassignment if i.item != _REMOVAL_CANDIDATE]
    blocks: list[Block] = [
        lead,
        _table(
            REASSIGNMENT,
            candidates,
            (
                ("rank", 0.06),
                ("license_id", 0.09),
                ("organization", 0.17),
                ("region", 0.09),
                ("county", 0.11),
                ("client_entries_window", 0.09),
                ("reasons", 0.39),
            ),
            empty=_no_candidate(results, others),
        ),
    ]
    if others:
        blocks.append(
            "Licenses kept, licenses being revoked, licenses available and pending requests:"
        )
        blocks.append(_agenda_table(others))
    return Section(title, tuple(blocks))


def _no_candidate(results: Results, others: Sequence[ReassignmentItem]) -> str:
    """What an empty candidates table means: never that no CE license is active when the
    Allotments' In Use counts some, or the agenda lists some kept or being revoked."""
    kept = sum(i.item == KEPT for i in others)
    revoking = sum(i.item == BEING_REVOKED for i in others)
    summary = results.allotment_summary
    in_use = (summary.in_use or 0) if summary is not None else 0
    if not kept and not revoking and not in_use:
        return "No CE Access Only license is active, so none is a removal candidate."
    text = "No CE Access Only license is a removal candidate"
    why = []
    if kept:
        why.append(f"{kept:,} {_is(kept)} kept as an organization's last license (§4)")
    if revoking:
        why.append(
            f"{revoking:,} {_is(revoking)} already eligible for revocation under §1 (on the"
            " Revocations sheet)"
        )
    if why:
        return f"{text}. Of the active ones, {' and '.join(why)}; they are listed below."
    return f"{text} ({plural(in_use, 'license')} in use, on the Allotments table)."


def _is(count: int) -> str:
    return "is" if count == 1 else "are"


def _agenda_table(items: Sequence[ReassignmentItem]) -> Table:
    return _table(
        REASSIGNMENT,
        items,
        (
            ("item", 0.14),
            ("license_id", 0.08),
            ("region", 0.09),
            ("organization", 0.17),
            ("reasons", 0.52),
        ),
    )


# ----------------------------------------------------------------------------- helpers


def _figure(text: str, held: Mapping[str, str], sheets: Sequence[ResultSheet]) -> str:
    """A summary figure, or that the sheet it comes from is held back (its section says why)."""
    for sheet in sheets:
        if sheet.name in held:
            return f"held back with the {sheet.name} sheet (see below)"
    return text


def _held_counts(
    held: Mapping[str, str], counts: Mapping[str, tuple[int, Sequence[ResultSheet]]]
) -> dict[str, int | None]:
    """The packet's counts for --json: None for a count whose sheet is held back."""
    return {
        key: None if any(s.name in held for s in sheets) else value
        for key, (value, sheets) in counts.items()
    }


def _newly_eligible_now(decision: LicenseDecision, results: Results) -> bool:
    """Eligible now and not at the previous review: also a license added since then that
    is eligible on its first review (its Change Since Last Review says New license)."""
    change = decision.change_since_last_review
    return change == "Newly eligible" or (
        change == "New license" and results.previous_review is not None
    )


def _held(title: str, sheet: ResultSheet, held: Mapping[str, str]) -> Section:
    return Section(
        title,
        (f"Held back: the {sheet.name} sheet is held back because {clean(held[sheet.name])}.",),
    )


def _header(sheet: ResultSheet, field: str) -> str:
    return next(c.header for c in sheet.columns if c.field == field)


def _tally(values: Iterable[str]) -> str:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return ", ".join(f"{n:,} {k}" for k, n in counts.items()) or "none"


def _kinds(sheet: ResultSheet) -> dict[str, Kind]:
    return {c.field: c.kind for c in sheet.columns}


_NUMERIC = (Kind.INTEGER, Kind.BALANCE, Kind.NUMBER, Kind.PERCENT, Kind.MONEY)


def _format(value: object, kind: Kind) -> str:
    if value is None:
        return ""
    if kind is Kind.PERCENT and isinstance(value, float):
        return f"{value:.2%}"
    if kind is Kind.NUMBER and isinstance(value, float):
        return f"{value:.2f}"
    return show(value)


Record = TypeVar("Record")


def _table(
    sheet: ResultSheet,
    records: Sequence[Record],
    spec: Sequence[tuple[str, float]],
    *,
    marked: Callable[[Record], bool] | None = None,
    empty: str = "None.",
) -> Table:
    """Rows of `records` as the sheet's columns named in `spec` (field, width share)."""
    columns = {c.field: c for c in sheet.columns}
    kinds = _kinds(sheet)
    table_columns = tuple(
        TableColumn(columns[f].header, width, kinds[f] in _NUMERIC) for f, width in spec
    )
    rows = tuple(tuple(_format(getattr(r, f), kinds[f]) for f, _ in spec) for r in records)
    flagged = frozenset(i for i, r in enumerate(records) if marked is not None and marked(r))
    return Table(table_columns, rows, flagged, empty)


__all__ = [
    "COMMITTEES",
    "BarChart",
    "Committee",
    "Packet",
    "Section",
    "Table",
    "TableColumn",
    "build_packet",
    "committee_name",
]
