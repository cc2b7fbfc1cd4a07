"""`engine.recalculate`: the whole policy applied to the workbook's inputs on a date.

An Error holds back only what it affects (SPEC §3): a license row that cannot be read is
`Cannot judge` while the others are judged; a bad population holds back Allotments and
what derives from it; a sheet that cannot be read holds back the result sheets that need
it, and so does a setting the run relies on (`Inputs.unreadable_settings`).
`Results.held_back` names each held-back result (by its field name) and why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import PurePath

from engine.allotment import allot, region_populations
from engine.appeals import (
    allotment_changes,
    appeal_grants,
    appeals_queue,
    approvals_not_carried_out,
    may_change_allotments,
    reason_problems,
)
from engine.charging import (
    appeal_region_problems,
    charge_ce_licenses,
    in_use_on,
    not_charged_text,
    with_use,
)
from engine.inactivity import Judgement, decision, judge_all, unreadable_decision
from engine.model import (
    AllotmentSummary,
    CeCharge,
    Inputs,
    LicenseDecision,
    Policy,
    Problem,
    RegionAllotment,
    Results,
    name_key,
)
from engine.reassignment import reassignment_agenda
from engine.review import (
    History,
    change_since_last_review,
    eligible_since,
    history_entries,
    next_review,
    read_history,
    revocations_done,
    watch_list,
)
from engine.selfpay import quotes
from engine.validate import (
    exemption_doubts,
    license_blocks,
    repeated,
    sorted_problems,
    validate,
)

# Which input sheets each result needs: a sheet that cannot be read holds these back.
_NEEDS: Mapping[str, tuple[str, ...]] = {
    "Regions": ("allotments", "ce_charges", "reassignment"),
    "Counties": ("allotments", "ce_charges", "reassignment"),
    "Organizations": ("ce_charges", "allotments", "reassignment"),
    "Intakes": ("ce_charges", "allotments", "reassignment"),
    "Licenses": (
        "decisions",
        "revocations",
        "watch_list",
        "revocations_done",
        "ce_charges",
        "allotments",
        "reassignment",
    ),
    "Appeals": (
        "decisions",
        "revocations",
        "watch_list",
        "revocations_done",
        "appeals_queue",
        "allotments",
        "reassignment",
    ),
    "Self-Pay Requests": ("self_pay_estimates",),
    "Settings": (
        "decisions",
        "revocations",
        "watch_list",
        "revocations_done",
        "appeals_queue",
        "allotments",
        "ce_charges",
        "reassignment",
        "self_pay_estimates",
    ),
}


# The results that turn on the as-of date (all but Self-Pay Estimates, priced from the
# requests and the policy alone), and on the Watch List's horizon, Next Review: a setting
# the run relies on that cannot be read holds these back (Inputs.unreadable_settings).
_SETTING_NEEDS: Mapping[str, tuple[str, ...]] = {
    "As Of": tuple(r for r in _NEEDS["Settings"] if r != "self_pay_estimates"),
    "Next Review": ("watch_list",),
}


# A row of these sheets that cannot be read holds these back (Licenses and Appeals rows
# are contained to the licenses they affect instead: Cannot judge).
# (An unreadable Intakes row, like two Intakes rows for one organization and region,
# holds nothing back: only its organization's CE licenses go uncharged, counted in In Use
# all the same; see charging.py.)
_UNREADABLE_ROW_HOLDS: Mapping[str, tuple[str, ...]] = {
    "Regions": ("allotments", "reassignment"),
    "Counties": ("allotments", "reassignment"),
    "Organizations": ("ce_charges", "allotments", "reassignment"),
}
# The field that names what a Regions or Counties row is about: a row set aside for
# another cell (its Population) still links its county to its region for §3.2.
_NAMED_BY = {"Regions": "region", "Counties": "county"}


def recalculate(policy: Policy, inputs: Inputs, as_of: dt.date) -> Results:
    """Apply the policy to the workbook's inputs as of a date."""
    problems = validate(policy, inputs, as_of)
    held = _held_by_inputs(policy, inputs)

    blocks = license_blocks(policy, inputs)
    doubts = exemption_doubts(inputs, policy)
    judgements = judge_all(policy, inputs.licenses, inputs.appeals, as_of, blocks, doubts)
    history = read_history(inputs.history, as_of)
    # Revocations known on the as-of date (SPEC §2: a back-dated run sees the workbook as
    # it stood then): they route the appeals of revoked licenses (§4).
    revoked = {
        name_key(lic.license_id): lic
        for lic in inputs.licenses
        if lic.revoked_on is not None and lic.revoked_on <= as_of
    }

    appeals = tuple(inputs.appeals or ())
    problems += reason_problems(policy, appeals, revoked)
    problems += approvals_not_carried_out(policy, appeals, revoked, as_of)
    problems += appeal_region_problems(inputs)

    allotments, summary, charges, allotment_problems = _allotments(policy, inputs, as_of, revoked)
    problems += allotment_problems
    queue = appeals_queue(policy, appeals, as_of, revoked, _license_regions(inputs, charges))
    if summary is None and "allotments" not in held:
        errors = [p for p in allotment_problems if p.severity == "Error"]
        why = (
            "a region's population could not be used (see Problems)"
            if any(p.where.sheet in ("Regions", "Counties") for p in errors)
            else "the policy's ce_allotment settings cannot be applied (see Problems)"
        )
        if errors:
            for result in ("allotments", "reassignment"):
                held.setdefault(result, why)

    since = history.previous_review or policy.review_every.before(as_of)
    grants = (
        appeal_grants(
            policy,
            appeals,
            as_of,
            since,
            [a.region for a in inputs.regions],
            _issued(inputs, charges),
            revoked,
        )
        if "allotments" not in held
        else []
    )
    agenda = reassignment_agenda(
        policy, inputs, judgements, allotments, charges, queue, as_of, grants
    )
    until, review_problems = next_review(policy, inputs, as_of)
    problems += review_problems
    watch = watch_list(policy, inputs, judgements, as_of, until, blocks, doubts)
    done, done_problems = revocations_done(policy, inputs, as_of, since, history)
    problems += done_problems

    decisions = _with_unreadable(
        _decisions(
            judgements, history, as_of, agenda.cross_references, _not_in_force(policy, as_of)
        ),
        inputs,
    )
    entries = history_entries(history, decisions, as_of)
    return Results(
        decisions=tuple(decisions),
        allotments=tuple(allotments),
        allotment_summary=summary,
        problems=tuple(sorted_problems(problems)),
        ce_charges=tuple(charges),
        appeals_queue=tuple(queue),
        reassignment=agenda.items,
        self_pay_estimates=tuple(quotes(policy, inputs.self_pay_requests or ())),
        watch_list=tuple(watch),
        revocations_done=tuple(done),
        history_entries=() if "decisions" in held else tuple(entries),
        next_review=None if "Next Review" in inputs.unreadable_settings else until,
        previous_review=history.previous_review,
        appeal_grants=tuple(grants),
        held_back=held,
    )


def _held_by_inputs(policy: Policy, inputs: Inputs) -> dict[str, str]:
    """The results an unusable sheet, an unreadable row or rows naming the same region,
    county or organization hold back (SPEC §3: only what they affect), and why."""
    held: dict[str, str] = {}
    for sheet, why in inputs.unusable_sheets.items():
        for result in _NEEDS.get(sheet, ()):
            held.setdefault(result, why)
    for setting, why in inputs.unreadable_settings.items():
        for result in _SETTING_NEEDS.get(setting, ()):
            held.setdefault(result, why)
    for row in inputs.unreadable:
        for result in _UNREADABLE_ROW_HOLDS.get(row.sheet, ()):
            held.setdefault(result, f"{row.sheet} row {row.row} could not be read (see Problems)")
        if row.sheet == "Appeals" and may_change_allotments(
            policy, row.text("reason"), row.text("decision")
        ):
            why = f"Appeals row {row.row} could not be read and may change them (see Problems)"
            for result in ("allotments", "reassignment"):
                held.setdefault(result, why)
        named_by = _NAMED_BY.get(row.sheet)
        if named_by and not (row.text(named_by) and row.text("region")):
            held.setdefault("ce_charges", f"{row.sheet} row {row.row} names no region or county")

    # (Two Intakes rows for one organization and region hold nothing back either: only
    # that organization's CE licenses go uncharged, counted in In Use; see charging.py.)
    for sheet, rows, key in (
        ("Regions", inputs.regions, lambda r: r.region),
        ("Counties", inputs.counties or (), lambda r: r.county),
        ("Organizations", inputs.organizations, lambda r: r.organization),
    ):
        for same in repeated(rows, key).values():  # which row is right is not known
            where = ", ".join(str(getattr(r, "row", "?")) for r in same)
            why = f"{sheet} rows {where} name the same {sheet[:-1].lower()} (see Problems)"
            for result in ("allotments", "ce_charges", "reassignment"):
                held.setdefault(result, why)
    return held


def _allotments(
    policy: Policy, inputs: Inputs, as_of: dt.date, revoked: Mapping[str, object]
) -> tuple[list[RegionAllotment], AllotmentSummary | None, list[CeCharge], list[Problem]]:
    """§2 allotments with §3 use and §4 appeal changes, and the Total's summary."""
    set_aside = {name_key(r.text("region")) for r in inputs.unreadable if r.sheet == "Counties"}
    regions_aside = {name_key(r.text("region")) for r in inputs.unreadable if r.sheet == "Regions"}
    populations, problems = region_populations(
        inputs.regions, inputs.counties, set_aside, regions_aside
    )
    population_errors = [p for p in problems if p.severity == "Error"]
    allotments, summary, allotment_problems = allot(
        policy.ce_allotment,
        [(region.region, population) for region, population in populations],
        policy_file=PurePath(policy.source).name if policy.source else "policy.yaml",
    )
    problems += allotment_problems
    charges, charge_problems = charge_ce_licenses(policy, inputs, as_of)
    problems += charge_problems
    changes, change_problems = allotment_changes(
        policy,
        inputs.appeals or (),
        as_of,
        [r.region for r in inputs.regions],
        revoked,  # type: ignore[arg-type]
        {name_key(a.region): a.allotment for a in allotments},
        # §4 a reassignment is judged on the day it was decided: In Use then.
        lambda days: in_use_on(policy, inputs, days),
    )
    problems += change_problems
    allotments = with_use(allotments, charges, changes)
    if population_errors:
        return allotments, None, charges, problems
    if summary is not None:
        in_use = len(charges)
        added = sum(a.added_by_appeal for a in allotments)
        ids, text = not_charged_text(charges)
        explanation = summary.explanation
        hmis = [c for c in changes if c.from_hmis]
        if hmis:
            count = sum(c.licenses for c in hmis)
            explanation += (
                f" Additional licenses from HMIS by appeal ({', '.join(c.appeal_id for c in hmis)})"
                f" raise the total above the target by {count} (§4)."
            )
        if ids:
            explanation += f" In Use counts every active CE license: {text}"
        summary = replace(
            summary,
            in_use=in_use,
            available=summary.total_allotment + added - in_use,
            added_by_appeal=added,
            not_charged=ids,
            not_charged_explanation=text,
            explanation=explanation,
        )
    return allotments, summary, charges, problems


def _issued(inputs: Inputs, charges: Sequence[CeCharge]) -> dict[tuple[str, str], list[dt.date]]:
    """By (organization key, region key), the Granted On of each active CE license of the
    organization charged to the region (§3.2): what an appeal's grant was issued as (§4)."""
    granted = {name_key(lic.license_id): lic.granted_on for lic in inputs.licenses}
    found: dict[tuple[str, str], list[dt.date]] = {}
    for charge in charges:
        day = granted.get(name_key(charge.license_id))
        if charge.charged_region is None or day is None:
            continue
        key = (name_key(charge.organization), name_key(charge.charged_region))
        found.setdefault(key, []).append(day)
    return found


def _license_regions(inputs: Inputs, charges: Sequence[CeCharge]) -> dict[str, tuple[str, bool]]:
    """Each license's region by License ID key: the region CE Charges charges it to
    (True), else the Region its Licenses row names (False)."""
    found = {name_key(lic.license_id): (lic.region, False) for lic in inputs.licenses if lic.region}
    for charge in charges:
        if charge.charged_region:
            found[name_key(charge.license_id)] = (charge.charged_region, True)
    return found


def _decisions(
    judgements: list[Judgement],
    history: History,
    as_of: dt.date,
    cross_references: Mapping[str, str],
    not_in_force: str = "",
) -> list[LicenseDecision]:
    """`not_in_force`: a sentence for every judged license when the policy took effect
    after the as-of date (SPEC §2: the Explanation says what was done)."""
    decisions = []
    for j in judgements:  # without not_in_force (the usual run), no row needs _joined
        key = name_key(j.license.license_id)  # once: the three lookups below share it
        cross_reference = cross_references.get(key)
        if not_in_force and j.judged:
            cross_reference = _joined(cross_reference, not_in_force)
        decisions.append(
            decision(
                j,
                as_of,
                cross_reference=cross_reference,
                eligible_since=eligible_since(history, j, as_of, key),
                change_since_last_review=change_since_last_review(history, j, as_of, key),
            )
        )
    return decisions


def _joined(first: str | None, second: str) -> str | None:
    if not second:
        return first
    return f"{first} {second}" if first else second


def _not_in_force(policy: Policy, as_of: dt.date) -> str:
    if as_of >= policy.effective_date:
        return ""
    return (
        f"Policy version {policy.version} took effect on {policy.effective_date}, after the"
        " as-of date: it is applied here as if it were in force then (see Problems)."
    )


def _with_unreadable(decisions: list[LicenseDecision], inputs: Inputs) -> list[LicenseDecision]:
    """Every Licenses row on the report, in sheet order, the unreadable ones included."""
    extra = [unreadable_decision(r) for r in inputs.unreadable if r.sheet == "Licenses"]
    return sorted([*decisions, *extra], key=lambda d: d.row) if extra else decisions
