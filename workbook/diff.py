"""`hmis-licensing diff`: what a policy change would change in a workbook, before it is adopted.

The workbook is read once; the engine runs on it under the base policy and under the new
one, through the same `workbook.run.evaluate` that `recalc` and `check` use, and nothing
is written. The report names the parameters that changed, then each result row whose
decision changes (a region's allotment, a license's finding, an appeal's committee, ...)
with the explanations under both policies, then counts, so that a committee can read what
it is being asked to adopt:

    Region 1: 4 → 5 (formula value 4.10 → 5.13; in use 3; available 1 → 2)

The same report is written as Markdown (for a pull request comment) or JSON (for scripts).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.model import Policy, ReassignmentItem, Results
from engine.reassignment import BEING_REVOKED, CANDIDATE, KEPT, REQUEST
from engine.words import plural
from policy import adopted_policy_path, load_policy
from policy.changes import ParameterChange, as_json, parameter_changes, shown
from policy.errors import PolicyError
from workbook.errors import UsageError
from workbook.layout import (
    ALLOTMENTS,
    APPEALS_QUEUE,
    CE_CHARGES,
    INACTIVITY_REPORT,
    REASSIGNMENT,
    SELF_PAY_ESTIMATES,
    WATCH_LIST,
    Column,
    Kind,
    ResultSheet,
)
from workbook.results import held_back_sheets, problem_rows
from workbook.run import Outcome, as_of_words, chosen_as_of, evaluate
from workbook.xlsx.read import read_snapshot
from workbook.xlsx.safesave import refuse_not_a_file, replace_file

_BLANK = "(blank)"
_UNFOLDED = 5  # more rows than this: their explanations fold away under <details>


# ------------------------------------------------------------------------- what is compared


@dataclass(frozen=True, slots=True)
class Section:
    """One result sheet, and which of its columns make a row's decision."""

    sheet: ResultSheet
    clause: str
    records: Callable[[Results], Sequence[object]]
    key: tuple[str, ...]  # fields that identify a row (and name it in the report)
    compared: tuple[str, ...]  # fields whose change is reported
    context: tuple[str, ...] = ()  # fields shown beside a change
    explanation: str | None = "explanation"
    # The explanation is itself what a reader acts on, so a change in it alone is reported
    # (the Reassignment agenda's Reasons: the §4 criteria as they hold for the license).
    explanation_compared: bool = False
    # How a row is matched between the policies when a compared field is part of what
    # names it (None: by `key`); its `key` is then shown as under the new policy (the base
    # one for a row listed only there).
    identity: Callable[[Any], tuple[object, ...]] | None = None


_LICENSE_ITEMS = frozenset({CANDIDATE, KEPT, BEING_REVOKED})


def _agenda_entry(item: ReassignmentItem) -> tuple[object, ...]:
    """A Reassignment row as the same entry under both policies: a license's row whether it
    is a removal candidate, kept or being revoked (and whichever region it is charged to);
    a region's licenses available; a pending request by its appeal (its Reasons begin
    "Appeal A-12:"; a request for a whole organization has no License ID)."""
    if item.item in _LICENSE_ITEMS:
        return ("license", item.license_id)
    if item.item == REQUEST:
        return (REQUEST, item.reasons.partition(":")[0], item.license_id, item.organization)
    return (item.item, item.region)


# What is compared, sheet by sheet: the fields a committee acts on. Left out on purpose:
# inputs the policy does not change (User, Organization, County, Client Entries, Granted
# On, ...), fields that only restate compared ones (Allotments' Share and Formula Value,
# shown beside; Inactivity Report's Eligible Since and Change Since Last Review, which
# follow eligibility and the Findings History; Watch List's Days Left; Appeals Queue's
# Days Pending), and explanations that only say why a compared value is what it is
# (Allotments', Inactivity Report's, Watch List's and Appeals Queue's Explanation, CE
# Charges' Basis, Self-Pay Estimates' Breakdown: shown under both policies for a row
# listed, not a change of their own). A Watch List row's Rule is part of what names it: a
# license watched under another rule is listed as removed and added.
SECTIONS: tuple[Section, ...] = (
    Section(
        ALLOTMENTS,
        "§2, §3",
        lambda r: r.allotments,
        ("region",),
        ("allotment", "in_use", "available", "minimum_applied_text"),
        ("formula_value", "added_by_appeal"),
    ),
    Section(
        INACTIVITY_REPORT,
        "§1",
        lambda r: r.decisions,
        ("license_id",),
        ("finding", "exception", "eligible_for_revocation"),
        ("user", "organization", "license_type"),
    ),
    Section(
        WATCH_LIST,
        "§8",
        lambda r: r.watch_list,
        # A §1.E3 re-review row is its request's (one for a whole organization has no
        # License ID): its date is the one it is due since, not a sheet column.
        ("license_id", "rule", "appeal_id"),
        ("becomes_eligible_on", "re_review_due"),
        ("user", "organization", "days_left"),
    ),
    Section(
        CE_CHARGES,
        "§3.2",
        lambda r: r.ce_charges,
        ("license_id",),
        ("charged_region",),
        ("organization",),
        "basis",
    ),
    Section(
        APPEALS_QUEUE,
        "§4",
        lambda r: r.appeals_queue,
        ("appeal_id",),
        # Region: a CE appeal with its Region blank is for the region its license is
        # charged to (§3.2), which the policy can change; the agenda weighs its balance.
        ("committee", "overdue_text", "respond_by", "region"),
        ("organization", "reason"),
    ),
    Section(
        REASSIGNMENT,
        "§4",
        lambda r: r.reassignment,
        ("item", "license_id", "region"),
        # Item (candidate, kept, being revoked), Rank and Region; its Reasons (under-
        # utilized or not, geographically unique, the organization's only license, §3
        # duties, appeals pending) are compared too. County and Client Entries are inputs.
        ("item", "rank", "region"),
        ("organization",),
        "reasons",
        explanation_compared=True,
        identity=_agenda_entry,
    ),
    Section(
        SELF_PAY_ESTIMATES,
        "Addendum 2",
        lambda r: r.self_pay_estimates,
        ("request_id",),
        ("one_time", "annual", "total"),
        ("organization", "licenses", "years"),
        "breakdown",
    ),
)


# ------------------------------------------------------------------------------- the report


@dataclass(frozen=True, slots=True)
class PolicySide:
    source: str
    version: str
    sha256: str
    effective_date: dt.date

    @classmethod
    def of(cls, policy: Policy) -> PolicySide:
        return cls(policy.source, policy.version, policy.sha256, policy.effective_date)


@dataclass(frozen=True, slots=True)
class Change:
    """One column of one row, under the base policy and under the new one."""

    column: Column
    base: object
    new: object

    @property
    def changed(self) -> bool:
        return _cell(self.base) != _cell(self.new)

    def describe(self) -> str:
        if not self.changed:
            return text_of(self.column, self.new)
        return f"{text_of(self.column, self.base)} → {text_of(self.column, self.new)}"


@dataclass(frozen=True, slots=True)
class RowChange:
    key: tuple[tuple[Column, object], ...]
    status: str  # changed, added (only under the new policy), removed (only under the base)
    changes: tuple[Change, ...]  # the compared columns (changed or not)
    context: tuple[Change, ...]
    explanation: tuple[str | None, str | None]  # base, new

    @property
    def label(self) -> str:
        return " / ".join(text_of(c, v) for c, v in self.key if v not in (None, ""))


@dataclass(frozen=True, slots=True)
class SectionDiff:
    section: Section
    rows: tuple[RowChange, ...]
    held_back: str | None = None  # why an Error holds the sheet back: no rows are compared
    held_back_under: str | None = None  # "both", "base" or "new": which policies hold it back

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)


@dataclass(frozen=True, slots=True)
class Count:
    name: str
    base: int | None  # None: the sheet it is counted from is held back
    new: int | None


@dataclass
class DiffReport:
    workbook: str
    as_of: dt.date | None  # None: the Settings sheet's As Of could not be read
    base: PolicySide
    new: PolicySide
    parameters: list[ParameterChange]
    sections: list[SectionDiff]
    totals: list[Change]
    total_explanation: tuple[str, str]
    counts: list[Count]
    newly_eligible: int | None  # None: the Inactivity Report is held back
    no_longer_eligible: int | None
    problems_only_base: list[tuple[object, ...]] = field(default_factory=list)
    problems_only_new: list[tuple[object, ...]] = field(default_factory=list)
    errors: tuple[int, int] = (0, 0)
    as_of_shown: str = ""  # for people: the date, or that the As Of cell was not read

    @property
    def changed(self) -> bool:
        """Does the new policy change any result (not only parameters) on this workbook?"""
        return bool(
            any(s.rows for s in self.sections)
            or any(c.changed for c in self.totals)
            or self.problems_only_base
            or self.problems_only_new
        )


def compare(
    base: Outcome, new: Outcome, *, workbook: str, base_policy: Policy, new_policy: Policy
) -> DiffReport:
    """The report of what changes from `base` to `new` (two evaluations of one workbook)."""
    base_results, new_results = base.results or Results(), new.results or Results()
    held = _held(base_results, new_results)
    sections = [
        SectionDiff(section, (), *held[section.sheet.name])
        if section.sheet.name in held
        else SectionDiff(section, tuple(_row_changes(section, base_results, new_results)))
        for section in SECTIONS
    ]
    if ALLOTMENTS.name in held:  # no total that recalc would not write either
        base_results = replace(base_results, allotment_summary=None)
        new_results = replace(new_results, allotment_summary=None)
    decisions = sections[1].rows
    newly: int | None = sum(1 for r in decisions if _eligibility(r) == ("No", "Yes"))
    no_longer: int | None = sum(1 for r in decisions if _eligibility(r) == ("Yes", "No"))
    if sections[1].held_back:
        newly = no_longer = None
    base_problems = set(problem_rows(base.problems, base.cells))
    new_problems = set(problem_rows(new.problems, new.cells))
    return DiffReport(
        workbook=workbook,
        as_of=chosen_as_of(new.as_of),
        as_of_shown=str(new.as_of.value) if new.as_of.value else as_of_words(new.as_of, new.cells),
        base=PolicySide.of(base_policy),
        new=PolicySide.of(new_policy),
        parameters=parameter_changes(base_policy.raw, new_policy.raw),
        sections=sections,
        totals=_totals(base_results, new_results),
        total_explanation=(
            _summary_explanation(base_results),
            _summary_explanation(new_results),
        ),
        counts=_counts(base, new, held),
        newly_eligible=newly,
        no_longer_eligible=no_longer,
        problems_only_base=[
            p for p in problem_rows(base.problems, base.cells) if p not in new_problems
        ],
        problems_only_new=[
            p for p in problem_rows(new.problems, new.cells) if p not in base_problems
        ],
        errors=(len(base.errors), len(new.errors)),
    )


def _held(base: Results, new: Results) -> dict[str, tuple[str, str]]:
    """The result sheets an Error holds back under either policy, why, and under which
    ("both", "base", "new"): `recalc` would keep their last good content, so the diff
    shows no figures for them (SPEC §3). Held back under both, it is not the change's doing
    (a bad cell holds it back whichever policy is adopted), and the report says so."""
    on_base, on_new = held_back_sheets(base), held_back_sheets(new)
    held: dict[str, tuple[str, str]] = {}
    for sheet in [*on_new, *(s for s in on_base if s not in on_new)]:
        why_base, why_new = on_base.get(sheet), on_new.get(sheet)
        if why_base is None:
            held[sheet] = (f"under the new policy, {why_new}", "new")
        elif why_new is None:
            held[sheet] = (f"under the base policy, {why_base}", "base")
        elif why_base == why_new:
            held[sheet] = (f"under both policies, {why_new}", "both")
        else:
            held[sheet] = (
                f"under both policies: under the base policy, {why_base}; under the new"
                f" policy, {why_new}",
                "both",
            )
    return held


# What a compared field that is not a sheet column is called in the report.
_NOT_SHEET_COLUMNS = {
    "appeal_id": Column("Special Request", "appeal_id"),
    "re_review_due": Column("Due For Re-Review Since", "re_review_due", Kind.DATE),
}


def _column(sheet: ResultSheet, name: str) -> Column:
    found = next((c for c in sheet.columns if c.field == name), None)
    return found or _NOT_SHEET_COLUMNS.get(name) or Column(name.replace("_", " ").title(), name)


def _row_changes(section: Section, base: Results, new: Results) -> list[RowChange]:
    def key_of(record: object) -> tuple[object, ...]:
        return tuple(getattr(record, k, None) for k in section.key)

    identity = section.identity or key_of

    def keyed(results: Results) -> dict[tuple[object, ...], object]:
        rows: dict[tuple[object, ...], object] = {}
        for record in section.records(results):
            rows.setdefault(identity(record), record)
        return rows

    before, after = keyed(base), keyed(new)
    out = []
    for entry in [*before, *(k for k in after if k not in before)]:
        old, now = before.get(entry), after.get(entry)
        compared = tuple(_pair(section, name, old, now) for name in section.compared)
        explanation = section.explanation
        why = (
            getattr(old, explanation, None) if old is not None and explanation else None,
            getattr(now, explanation, None) if now is not None and explanation else None,
        )
        if (
            old is not None
            and now is not None
            and not any(c.changed for c in compared)
            and not (section.explanation_compared and why[0] != why[1])
        ):
            continue
        status = "changed" if old is not None and now is not None else "added"
        if now is None:
            status = "removed"
        key = key_of(now if now is not None else old)
        out.append(
            RowChange(
                key=tuple(
                    (_column(section.sheet, k), v) for k, v in zip(section.key, key, strict=True)
                ),
                status=status,
                changes=compared,
                context=tuple(_pair(section, name, old, now) for name in section.context),
                explanation=why,
            )
        )
    return out


def _pair(section: Section, name: str, old: object, new: object) -> Change:
    return Change(
        _column(section.sheet, name),
        getattr(old, name, None) if old is not None else None,
        getattr(new, name, None) if new is not None else None,
    )


def _eligibility(row: RowChange) -> tuple[str, str]:
    change = next(c for c in row.changes if c.column.field == "eligible_for_revocation")
    return (str(change.base or "No"), str(change.new or "No"))


def _totals(base: Results, new: Results) -> list[Change]:
    a, b = base.allotment_summary, new.allotment_summary
    allotment, in_use, available = (
        _column(ALLOTMENTS, n) for n in ("allotment", "in_use", "available")
    )
    target = Column("Target", "target", Kind.INTEGER)
    return [
        Change(allotment, a.total_allotment if a else None, b.total_allotment if b else None),
        Change(target, a.target if a else None, b.target if b else None),
        Change(in_use, a.in_use if a else None, b.in_use if b else None),
        Change(available, a.available if a else None, b.available if b else None),
    ]


def _summary_explanation(results: Results) -> str:
    return results.allotment_summary.explanation if results.allotment_summary else ""


def _counts(base: Outcome, new: Outcome, held: Mapping[str, object]) -> list[Count]:
    def counted(name: str, sheet: ResultSheet, what: Callable[[Results], int]) -> Count:
        if sheet.name in held:
            return Count(name, None, None)
        return Count(
            name,
            what(base.results) if base.results is not None else 0,
            what(new.results) if new.results is not None else 0,
        )

    return [
        counted("Licenses judged", INACTIVITY_REPORT, lambda r: r.licenses_judged),
        counted("Eligible for revocation", INACTIVITY_REPORT, lambda r: len(r.revocations)),
        counted("Watch list", WATCH_LIST, lambda r: len(r.watch_list)),
        counted(
            "Appeals overdue", APPEALS_QUEUE, lambda r: sum(q.overdue for q in r.appeals_queue)
        ),
        Count("Errors", len(base.errors), len(new.errors)),
        Count("Warnings", len(base.warnings), len(new.warnings)),
    ]


# ------------------------------------------------------------------------------ the values


def _cell(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and math.isfinite(value):
        return round(value, 9)
    return value


def text_of(column: Column, value: object) -> str:
    """A cell value as the result sheet shows it: 4.10, 20.51%, $14,259, 2026-11-24."""
    value = _cell(value)
    if value is None or value == "":
        return _BLANK
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float):
        if column.kind is Kind.NUMBER:
            return f"{value:,.2f}"
        if column.kind is Kind.PERCENT:
            return f"{value:.2%}"
        if column.kind is Kind.MONEY:
            return f"${value:,.2f}".replace(".00", "")
        return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def json_value(value: object) -> object:
    value = _cell(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


# -------------------------------------------------------------------------------- Markdown


def _md(text: object) -> str:
    """Text from the workbook, safe inside Markdown (a table cell or a list item)."""
    out = str(text).replace("\\", "\\\\").replace("\n", " ")
    for ch in "|*_`<>[]#$":  # $ too: GitHub reads $...$ as mathematics
        out = out.replace(ch, "\\" + ch)
    return out


def _code(text: object) -> str:
    """Text inside `backticks`, where Markdown escapes do not work."""
    return "`" + str(text).replace("`", "'").replace("\n", " ") + "`"


def _policy_line(label: str, side: PolicySide) -> str:
    shipped = " (the adopted policy shipped with hmis-licensing)" if _is_shipped(side) else ""
    return (
        f"**{label}:** {_code(Path(side.source).name or 'policy')}{shipped} version"
        f" {_md(side.version)},"
        f" effective {side.effective_date}, SHA-256 `{side.sha256[:12]}`"
    )


def _is_shipped(side: PolicySide) -> bool:
    try:
        return Path(side.source).resolve() == adopted_policy_path().resolve()
    except OSError:
        return False


def _summary(report: DiffReport) -> str:
    parts = [plural(len(report.parameters), "parameter") + " changed"]
    by_sheet = {s.section.sheet.name: s for s in report.sections}
    allotments = by_sheet[ALLOTMENTS.name]
    total = report.totals[0]
    regions = plural(len(allotments.rows), "region") + " change allotment, in use or available"
    if total.changed:
        regions += f" (total {total.describe()})"
    parts.append("allotments held back" if allotments.held_back else regions)
    licenses = by_sheet[INACTIVITY_REPORT.name]
    text = plural(len(licenses.rows), "license") + " change finding, exception or eligibility"
    if report.newly_eligible or report.no_longer_eligible:
        text += (
            f" ({report.newly_eligible} newly eligible for revocation,"
            f" {report.no_longer_eligible} no longer)"
        )
    parts.append("findings held back" if licenses.held_back else text)
    watch = by_sheet[WATCH_LIST.name]
    parts.append(f"watch list: {_section_count(watch, none='no change')}")
    shown_already = {ALLOTMENTS.name, INACTIVITY_REPORT.name, WATCH_LIST.name}
    parts += [
        f"{d.section.sheet.name}: {_section_count(d)}"
        for d in report.sections
        if d.rows and d.section.sheet.name not in shown_already
    ]
    return "; ".join(parts) + "."


def to_markdown(report: DiffReport) -> str:
    out = [
        f"## Policy diff: {_md(report.base.version)} → {_md(report.new.version)}",
        "",
        f"**Workbook:** {_code(Path(report.workbook).name)}, as of"
        f" {report.as_of_shown or report.as_of}  ",
        _policy_line("Base", report.base) + "  ",
        _policy_line("New", report.new),
        "",
    ]
    if not report.parameters and not report.changed:
        out.append(
            "**No change:** the two policies have the same values and give the same results."
        )
        return "\n".join(out) + "\n"
    out.append(f"**Summary:** {_summary(report)}")
    if not report.changed and any(d.held_back for d in report.sections):
        out += [
            "",
            "**No change in the results that could be compared:** the sections held back"
            " below are not compared until the workbook's errors are fixed.",
        ]
    elif not report.changed:
        out += ["", "**No change in the results:** on this workbook both policies decide the same."]
    out += ["", f"### Parameters ({len(report.parameters)})", ""]
    if report.parameters:
        out += ["| Key | Base | New |", "| --- | --- | --- |"]
        out += [
            f"| {_code(p.path)} | {_md(shown(p.old))} | {_md(shown(p.new))} |"
            for p in report.parameters
        ]
    else:
        out.append("None: the same values (only comments or layout differ).")
    for diff in report.sections:
        out += _section_markdown(report, diff)
    out += _counts_markdown(report)
    out += _problems_markdown(report)
    return "\n".join(out).rstrip() + "\n"


def _section_markdown(report: DiffReport, diff: SectionDiff) -> list[str]:
    sheet = diff.section.sheet
    is_allotments = sheet is ALLOTMENTS
    if diff.held_back:
        return [
            "",
            f"### {sheet.name} ({diff.section.clause}): held back",
            "",
            f"Held back {_md(diff.held_back)}: "
            + ("whichever policy is adopted, " if diff.held_back_under == "both" else "")
            + "`recalc` keeps this sheet's last good content until the errors are fixed, so"
            " no figures are compared for it.",
        ]
    if not diff.rows and not (is_allotments and any(c.changed for c in report.totals)):
        return []
    out = ["", f"### {sheet.name} ({diff.section.clause}): {_section_count(diff)}", ""]
    compared = set(diff.section.compared)
    if is_allotments:
        out += [f"- {_allotment_line(row)}" for row in diff.rows]
        out.append(f"- {_total_line(report.totals)}")
        if report.total_explanation[0] != report.total_explanation[1]:
            out += _why(("Total", *report.total_explanation))
        return out
    # A key field that is compared too (the Reassignment agenda's Item and Region) is shown
    # once, in its compared column, as old → new.
    shown_key = [i for i, (c, _) in enumerate(diff.rows[0].key) if c.field not in compared]
    headers = [diff.rows[0].key[i][0].header for i in shown_key]
    headers += [c.column.header for c in diff.rows[0].context]
    headers += [c.column.header for c in diff.rows[0].changes] + ["Change"]
    out += ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    for row in diff.rows:
        cells = [_md(text_of(*row.key[i])) for i in shown_key]
        cells += [_md(c.describe()) for c in row.context]
        cells += [_md(_status_text(row, c)) for c in row.changes] + [_change_text(diff, row)]
        out.append("| " + " | ".join(cells) + " |")
    if any(a or b for row in diff.rows for a, b in [row.explanation]):
        folded = len(diff.rows) > _UNFOLDED
        title = f"Why, under each policy ({plural(len(diff.rows), 'row')})"
        out += ["", f"<details><summary>{title}</summary>", ""] if folded else ["", f"{title}:"]
        for row in diff.rows:
            out += _why((row.label, *row.explanation))
        out += ["", "</details>"] if folded else []
    return out


def _section_count(diff: SectionDiff, none: str = "totals change") -> str:
    if diff.held_back:
        return "held back"
    parts = [f"{diff.count(s)} {s}" for s in ("changed", "added", "removed") if diff.count(s)]
    return ", ".join(parts) or none


_STATUS = {
    "changed": "changed",
    "added": "only under the new policy",
    "removed": "only under the base policy",
}


def _change_text(diff: SectionDiff, row: RowChange) -> str:
    """The Change cell: a row listed for its explanation alone (the Reassignment agenda's
    Reasons) says so, as its compared columns show no change."""
    explanation = diff.section.explanation
    if row.status == "changed" and explanation and not any(c.changed for c in row.changes):
        return f"{_column(diff.section.sheet, explanation).header} changed"
    return _STATUS[row.status]


def _status_text(row: RowChange, change: Change) -> str:
    if row.status == "added":
        return text_of(change.column, change.new)
    if row.status == "removed":
        return text_of(change.column, change.base)
    return change.describe()


def _allotment_line(row: RowChange) -> str:
    allotment, in_use, available, minimum = row.changes
    formula = next(c for c in row.context if c.column.field == "formula_value")
    region = _md(row.label)
    if row.status != "changed":
        return f"{region}: {_status_text(row, allotment)}"
    floor = f"; minimum applied {minimum.describe()}" if minimum.changed else ""
    return (
        f"{region}: {allotment.describe()} (formula value {formula.describe()};"
        f" in use {in_use.describe()}; available {available.describe()}{floor})"
    )


def _total_line(totals: list[Change]) -> str:
    allotment, target, in_use, available = totals
    return (
        f"Total: {allotment.describe()} (target {target.describe()}); in use"
        f" {in_use.describe()}; available {available.describe()}"
    )


def _why(entry: tuple[str, str | None, str | None]) -> list[str]:
    label, base, new = entry
    return [
        f"- **{_md(label)}**",
        f"  - Base: {_md(base) if base else '(not listed)'}",
        f"  - New: {_md(new) if new else '(not listed)'}",
    ]


def _counts_markdown(report: DiffReport) -> list[str]:
    out = ["", "### Counts", "", "| | Base | New |", "| --- | ---: | ---: |"]
    out += [f"| {c.name} | {_count_text(c.base)} | {_count_text(c.new)} |" for c in report.counts]
    out.append(f"| Newly eligible for revocation | | {_count_text(report.newly_eligible)} |")
    out.append(
        f"| No longer eligible for revocation | | {_count_text(report.no_longer_eligible)} |"
    )
    return out


def _count_text(value: int | None) -> str:
    return "held back" if value is None else f"{value:,}"


def _problems_markdown(report: DiffReport) -> list[str]:
    out: list[str] = []
    for label, rows in (("base", report.problems_only_base), ("new", report.problems_only_new)):
        if rows:
            out += ["", f"### Problems only under the {label} policy ({len(rows)})", ""]
            out += [
                f"- {_md(s)} {_md(sh)}{'!' + _md(c) if c else ''}: {_md(p)}"
                for s, sh, c, p, _ in rows
            ]
    if any(report.errors):
        out += [
            "",
            f"**The workbook has errors** ({report.errors[0]} under the base policy,"
            f" {report.errors[1]} under the new): `recalc` holds back the sheets they"
            " affect (marked held back above) and sets aside the rows they name, so the"
            " comparison above covers what the engine could still judge.",
        ]
    return out


# ------------------------------------------------------------------------------------ JSON


def exit_code(report: DiffReport) -> int:
    """0 whether or not anything changed; 1 when the workbook has errors (either policy)."""
    return 1 if any(report.errors) else 0


def to_json(report: DiffReport) -> dict[str, Any]:
    def side(s: PolicySide) -> dict[str, Any]:
        return {
            "source": s.source,
            "version": s.version,
            "sha256": s.sha256,
            "effective_date": s.effective_date.isoformat(),
        }

    def change(c: Change) -> dict[str, Any]:
        return {"base": json_value(c.base), "new": json_value(c.new), "changed": c.changed}

    code = exit_code(report)
    return {
        # The keys every command's JSON begins with (README: For scripts).
        "command": "diff",
        "outcome": "errors" if code else "ok",
        "exit_code": code,
        "workbook": report.workbook,
        "as_of": report.as_of.isoformat() if report.as_of else None,  # null: not read
        "base": side(report.base),
        "new": side(report.new),
        "changed": report.changed,
        "parameters": [
            {"key": p.path, "base": as_json(p.old), "new": as_json(p.new)}
            for p in report.parameters
        ],
        "sections": [
            {
                "sheet": d.section.sheet.name,
                "clause": d.section.clause,
                "held_back": d.held_back,
                "held_back_under": d.held_back_under,
                "rows": [
                    {
                        "key": {c.header: json_value(v) for c, v in r.key},
                        "label": r.label,
                        "status": r.status,
                        "changes": {c.column.header: change(c) for c in r.changes},
                        "context": {c.column.header: change(c) for c in r.context},
                        "explanation": {
                            "base": r.explanation[0],
                            "new": r.explanation[1],
                            "changed": r.explanation[0] != r.explanation[1],
                        },
                    }
                    for r in d.rows
                ],
            }
            for d in report.sections
        ],
        "totals": {c.column.header: change(c) for c in report.totals},
        "total_explanation": {
            "base": report.total_explanation[0],
            "new": report.total_explanation[1],
        },
        "counts": {
            **{c.name: {"base": c.base, "new": c.new} for c in report.counts},
            "Newly eligible for revocation": report.newly_eligible,
            "No longer eligible for revocation": report.no_longer_eligible,
        },
        "problems": {
            "only_base": [_problem_json(p) for p in report.problems_only_base],
            "only_new": [_problem_json(p) for p in report.problems_only_new],
        },
    }


def _problem_json(row: tuple[object, ...]) -> dict[str, object]:
    severity, sheet, cell, problem, fix = row
    return {
        "severity": severity,
        "sheet": sheet,
        "cell": cell,
        "problem": problem,
        "how_to_fix": fix,
    }


# ---------------------------------------------------------------------------- the command


def run_diff(args: argparse.Namespace) -> int:
    """Run `diff`; the report goes to stdout (or --output), nothing else is written."""
    workbook: Path = args.workbook
    if args.output:  # before the work: a report never replaces a folder, a pipe or a device
        check_report_destination(args.output)
    snapshot = read_snapshot(workbook)
    folder = workbook.resolve().parent
    today, now = dt.date.today(), dt.datetime.now()

    def run(policy_file: Path | None, policy: Policy | None, as_of: dt.date | None) -> Outcome:
        return evaluate(
            snapshot,
            workbook_folder=folder,
            policy_file=policy_file,
            as_of=as_of,
            today=today,
            now=now,
            ran_from="hmis-licensing diff",
            loaded_policy=policy,
        )

    base_policy = load_policy(args.base_policy or adopted_policy_path())
    new_policy = load_policy(args.policy) if args.policy else None
    new = run(args.policy, new_policy, args.as_of)
    if new.policy is None:
        details = "\n".join(p.problem for p in new.problems if p.severity == "Error")
        raise PolicyError(f"{new.policy_file.value}: the new policy cannot be used:\n{details}")
    # The same as-of date for both, chosen the same way: an As Of the workbook's Settings
    # cannot give holds back the same sheets under both (not only under the new policy).
    base = run(args.base_policy, base_policy, args.as_of)
    report = compare(
        base, new, workbook=str(workbook), base_policy=base_policy, new_policy=new.policy
    )
    text = (
        # To a console, ASCII (\u escapes), which reads back the same in any encoding (a
        # Windows console's cp1252 would write § as one byte that is not UTF-8).
        json.dumps(to_json(report), indent=2, ensure_ascii=bool(not args.output)) + "\n"
        if args.format == "json"
        else to_markdown(report)
    )
    if args.output:
        _write(args.output, text)
    else:
        sys.stdout.write(text)
    return exit_code(report)


_OUTPUT_FIX = "Choose a file you may write (not a folder), or leave out --output."


def check_report_destination(path: Path) -> None:
    """Refuse, before anything is read, an --output that a report must not replace."""
    if path.is_dir():
        raise UsageError(f"{path}: is a folder, not a file; nothing was written.", fix=_OUTPUT_FIX)
    refuse_not_a_file(path, fix=_OUTPUT_FIX)
    if not path.absolute().parent.is_dir():
        raise UsageError(
            f"{path}: cannot be written: the folder {path.absolute().parent} does not exist.",
            fix="Create the folder first, or choose a file in a folder that exists.",
        )


def _write(path: Path, text: str) -> None:
    """Saved as the workbook is (written beside it, flushed, moved over it in one step):
    a failure leaves the old report. A link keeps pointing at the report it names, which
    gets the new text, as before."""
    replace_file(
        path.resolve() if path.is_symlink() else path,
        text.encode("utf-8"),
        named=path,
        in_use_fix="Close the report in the program that has it open, check that you may"
        " write to its folder, and run again.",
        space_fix="Free some space, or choose a file in another folder, and run again.",
    )


__all__ = [
    "SECTIONS",
    "DiffReport",
    "compare",
    "run_diff",
    "to_json",
    "to_markdown",
]
