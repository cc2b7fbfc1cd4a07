"""Checks across rows and sheets that no single cell can show: duplicates and references.

A cell that is not a date or a number is caught when the sheet is read; what is caught
here is a value that is fine on its own but does not fit the rest of the workbook. Each
Error says what it holds back; `license_blocks` names the license rows §1 cannot judge
because of one (SPEC §3: an Error holds back only what it affects).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Container, Iterable, Sequence
from typing import TypeVar

from engine.inactivity import special_request_reasons
from engine.model import (
    APPEAL_REASONS,
    AppealRow,
    Inputs,
    Policy,
    Problem,
    Where,
    name_key,
)

Row = TypeVar("Row")


def duplicates(
    rows: Iterable[Row],
    key: Callable[[Row], str],
    row_number: Callable[[Row], int],
    sheet: str,
    column: str,
) -> list[Problem]:
    """An Error for every row whose key was already used by an earlier row."""
    first_seen: dict[str, Row] = {}  # numbered only when a later row repeats its key
    problems = []
    for row in rows:
        value = key(row)
        k = name_key(value)
        if k in first_seen:
            problems.append(
                Problem(
                    "Error",
                    Where(sheet, row_number(row), column),
                    f'{column} "{value}" is used twice: also on row {row_number(first_seen[k])}.',
                    f"Give each row its own {column}, or delete the repeated row.",
                )
            )
        else:
            first_seen[k] = row
    return problems


def repeated(rows: Iterable[Row], key: Callable[[Row], str]) -> dict[str, list[Row]]:
    """The rows that share a key with another row, by key, in the order the keys first
    appear. (A list is made only for a key a second row repeats: most keys are unique.)"""
    first: dict[str, Row] = {}
    again: dict[str, list[Row]] = {}
    for row in rows:
        k = name_key(key(row))
        if k not in first:
            first[k] = row
        elif k in again:
            again[k].append(row)
        else:
            again[k] = [first[k], row]
    if len(again) < 2:
        return again
    return {k: again[k] for k in first if k in again}


class _OnSheet:
    """The names a sheet holds, by name key, its rows set aside for another cell
    included (a Regions row with a bad Population still names its region). A sheet that
    cannot be read at all holds every name: nothing is reported missing from it, since
    its own Error already says what to fix, and one bad cell must not make many."""

    def __init__(self, inputs: Inputs, sheet: str, field: str, readable: Iterable[str]):
        self.names = {name_key(n) for n in readable}
        self.names |= {name_key(r.text(field)) for r in inputs.unreadable if r.sheet == sheet}
        self.usable = sheet not in inputs.unusable_sheets

    def __contains__(self, key: object) -> bool:
        return not self.usable or key in self.names


def validate(policy: Policy, inputs: Inputs, as_of: dt.date) -> list[Problem]:
    problems = _duplicate_ids(inputs)
    organizations = _OnSheet(
        inputs, "Organizations", "organization", (o.organization for o in inputs.organizations)
    )
    regions = _OnSheet(inputs, "Regions", "region", (r.region for r in inputs.regions))
    regions_known = regions.usable
    license_ids = _OnSheet(
        inputs, "Licenses", "license_id", (lic.license_id for lic in inputs.licenses)
    )
    type_names = ", ".join(policy.license_types)
    unknown_types = _unknown_types(policy, inputs)
    # Each Organization text, as entered, looked up once rather than once per license.
    unknown_organizations = {
        name
        for name in {lic.organization for lic in inputs.licenses}
        if name_key(name) not in organizations
    }

    for lic in inputs.licenses:
        if lic.license_type in unknown_types:
            problems.append(
                Problem(
                    "Error",
                    Where("Licenses", lic.row, "License Type"),
                    f'License {lic.license_id}: license type "{lic.license_type}" is not'
                    " in the policy, so the license cannot be judged.",
                    f"Use one of: {type_names}; or add the type under license_types in"
                    " policy.yaml.",
                )
            )
        if lic.organization in unknown_organizations:
            problems += _unknown_organization(
                organizations, lic.organization, ("Licenses", lic.row, "Organization")
            )
        if lic.region and regions_known:
            problems += _unknown_region(
                regions,
                lic.region,
                ("Licenses", lic.row, "Region"),
                f"License {lic.license_id}",
                "so the entry is ignored",
            )
    for intake in inputs.intakes or ():
        problems += _unknown_organization(
            organizations, intake.organization, ("Intakes", intake.row, "Organization")
        )
        if regions_known:
            problems += _unknown_region(
                regions,
                intake.region,
                ("Intakes", intake.row, "Region"),
                f"Intakes row {intake.row}",
                "so this row is ignored",
            )
    for request in inputs.self_pay_requests or ():
        problems += _unknown_organization(
            organizations,
            request.organization,
            ("Self-Pay Requests", request.row, "Organization"),
        )
    org_of = {name_key(lic.license_id): lic.organization for lic in inputs.licenses}
    for appeal in inputs.appeals or ():
        problems += _appeal_problems(appeal, organizations, regions, regions_known, license_ids)
        owner = org_of.get(name_key(appeal.license_id or ""))
        if owner is not None and name_key(owner) != name_key(appeal.organization):
            problems.append(
                Problem(
                    "Warning",
                    Where("Appeals", appeal.row, "License ID"),
                    f"Appeal {appeal.appeal_id} was filed by {appeal.organization} but names"
                    f" license {appeal.license_id}, which belongs to {owner}; an approved"
                    " special request exempts the license it names (§1.E3).",
                    "Check the appeal's License ID and Organization with the committee.",
                )
            )
    problems += _dates_against_policy(policy, as_of)
    problems += _dates_before_grant(inputs)
    problems += _dates_contradicting(inputs)
    return problems


_LICENSE_DATES = (
    ("first_sign_in", "First Sign-In"),
    ("last_client_data_entry", "Last Client Data Entry"),
    ("last_login", "Last Login"),
)


def _unknown_types(policy: Policy, inputs: Inputs) -> set[str]:
    """The License Type texts, as entered, that name no type of the policy."""
    return policy.license_types_among(
        (lic.license_type for lic in inputs.licenses), lambda rule: rule is None
    )


def _dates_before_grant(inputs: Inputs) -> list[Problem]:
    """SPEC §2 Dates: activity or a sign-in before Granted On is never trusted silently."""
    problems = []
    for lic in inputs.licenses:
        granted = lic.granted_on
        first, entry, login = lic.first_sign_in, lic.last_client_data_entry, lic.last_login
        if (
            (first is None or first >= granted)
            and (entry is None or entry >= granted)
            and (login is None or login >= granted)
        ):
            continue  # the usual case, asked of every license before the one by one below
        for name, header in _LICENSE_DATES:
            day = getattr(lic, name)
            if day is None or day >= lic.granted_on:
                continue
            problems.append(
                Problem(
                    "Warning",
                    Where("Licenses", lic.row, header),
                    f"License {lic.license_id}: {header} {day} is before Granted On"
                    f" {lic.granted_on}; it is taken to belong to the license's previous"
                    " holder (a reassigned license) and does not count for this one (§1).",
                    f"If the license was reassigned, clear {header} or enter the new"
                    " holder's date; otherwise correct Granted On.",
                )
            )
    return problems


def _dates_contradicting(inputs: Inputs) -> list[Problem]:
    """SPEC §2 Dates: a revocation before the grant, and a First Sign-In after a login or
    client data entry (which needs a sign-in), are never trusted silently."""
    problems = []
    for lic in inputs.licenses:
        if lic.revoked_on is not None and lic.revoked_on < lic.granted_on:
            problems.append(
                Problem(
                    "Warning",
                    Where("Licenses", lic.row, "Revoked On"),
                    f"License {lic.license_id}: Revoked On {lic.revoked_on} is before Granted"
                    f" On {lic.granted_on}; the license is taken as revoked, so it is not"
                    " judged and not counted as an active license (SPEC §2).",
                    "If the license was granted again after that revocation (reassigned),"
                    " clear Revoked On, Revoked By and Revocation Reason; otherwise correct"
                    " the dates.",
                )
            )
        first = lic.first_sign_in
        if first is None or first < lic.granted_on:
            continue  # no First Sign-In, or one already warned of as before the grant
        login, entry = lic.last_login, lic.last_client_data_entry
        if (login is None or login >= first) and (entry is None or entry >= first):
            continue  # the usual case: no login or client data entry before it
        earlier = [
            (day, header)
            for day, header in (
                (lic.last_login, "Last Login"),
                (lic.last_client_data_entry, "Last Client Data Entry"),
            )
            if day is not None and lic.granted_on <= day < first
        ]
        if earlier:
            day, header = min(earlier)
            problems.append(
                Problem(
                    "Warning",
                    Where("Licenses", lic.row, "First Sign-In"),
                    f"License {lic.license_id}: First Sign-In {first} is after its {header}"
                    f" {day}, which needs a sign-in; the earlier date is taken as the first"
                    " sign-in (§1.2).",
                    "Correct First Sign-In to the day the user first signed in.",
                )
            )
    return problems


def _duplicate_ids(inputs: Inputs) -> list[Problem]:
    problems = duplicates(inputs.regions, lambda r: r.region, _row, "Regions", "Region")
    problems += duplicates(
        inputs.organizations, lambda r: r.organization, _row, "Organizations", "Organization"
    )
    problems += duplicates(inputs.licenses, lambda r: r.license_id, _row, "Licenses", "License ID")
    if inputs.counties is not None:
        problems += duplicates(inputs.counties, lambda r: r.county, _row, "Counties", "County")
    if inputs.appeals is not None:
        problems += duplicates(inputs.appeals, lambda r: r.appeal_id, _row, "Appeals", "Appeal ID")
    if inputs.intakes is not None:
        for same in repeated(
            inputs.intakes, lambda r: f"{name_key(r.organization)} / {name_key(r.region)}"
        ).values():
            rows = ", ".join(str(r.row) for r in same)
            problems += [
                Problem(
                    "Error",
                    Where("Intakes", r.row, "Average Intakes"),
                    f"{r.organization} has more than one Intakes row for {r.region} (rows"
                    f" {rows}), so its average intakes there are not known (§3.2).",
                    "Keep one row per organization and region, with the average intakes.",
                )
                for r in same
            ]
    if inputs.self_pay_requests is not None:
        problems += duplicates(
            inputs.self_pay_requests,
            lambda r: r.request_id,
            _row,
            "Self-Pay Requests",
            "Request ID",
        )
    return problems


def _appeal_problems(
    appeal: AppealRow,
    organizations: Container[str],
    regions: Container[str],
    regions_known: bool,
    license_ids: Container[str],
) -> list[Problem]:
    problems = _unknown_organization(
        organizations, appeal.organization, ("Appeals", appeal.row, "Organization")
    )
    if appeal.license_id and name_key(appeal.license_id) not in license_ids:
        problems.append(
            Problem(
                "Warning",
                Where("Appeals", appeal.row, "License ID"),
                f"Appeal {appeal.appeal_id} names license {appeal.license_id}, which"
                " is not on the Licenses sheet.",
                "Correct the License ID, or clear it if the appeal covers the whole organization.",
            )
        )
    if appeal.region and regions_known:
        problems += _unknown_region(
            regions,
            appeal.region,
            ("Appeals", appeal.row, "Region"),
            f"Appeal {appeal.appeal_id}",
            "",
        )
    if appeal.decided_on is not None and appeal.decided_on < appeal.filed_on:
        problems.append(
            Problem(
                "Warning",
                Where("Appeals", appeal.row, "Decided On"),
                f"Appeal {appeal.appeal_id} was decided on {appeal.decided_on}, before"
                f" it was filed on {appeal.filed_on}.",
                "Check the Filed On and Decided On dates.",
            )
        )
    approved = name_key(appeal.decision) == "approved"
    if approved and appeal.decided_on is None:
        problems.append(
            Problem(
                "Warning",
                Where("Appeals", appeal.row, "Decided On"),
                f"Appeal {appeal.appeal_id} is Approved but has no Decided On date, so"
                " it is not applied yet (§1.E3, §4).",
                "Enter the date the committee approved it.",
            )
        )
    if (
        approved
        and appeal.decided_on is not None
        and appeal.exception_until is not None
        and appeal.exception_until < appeal.decided_on
    ):
        problems.append(
            Problem(
                "Warning",
                Where("Appeals", appeal.row, "Exception Until"),
                f"Appeal {appeal.appeal_id} was approved on {appeal.decided_on} with an"
                f" Exception Until of {appeal.exception_until}, before the decision: the"
                " exception never applied (§1.E3).",
                "Check the Exception Until date the committee set.",
            )
        )
    return problems


def _dates_against_policy(policy: Policy, as_of: dt.date) -> list[Problem]:
    if as_of >= policy.effective_date:
        return []
    return [
        Problem(
            "Warning",
            Where(_policy_file(policy), column="policy.effective_date"),
            f"The as-of date {as_of} is before this policy took effect on"
            f" {policy.effective_date} (policy version {policy.version}): the results"
            " apply a policy that was not yet in force on that date.",
            "Recalculate with the policy that was in force on the as-of date, or check"
            " the As Of date.",
        )
    ]


def _policy_file(policy: Policy) -> str:
    return policy.source.replace("\\", "/").rsplit("/", 1)[-1] if policy.source else "policy.yaml"


# (sheet, row, column): where a name is, made a Where only for a name that is not known
# (asked of every row).
_At = tuple[str, int, str]


def _unknown_organization(known: Container[str], name: str, at: _At) -> list[Problem]:
    if name_key(name) in known:
        return []
    return [
        Problem(
            "Warning",
            Where(*at),
            f'Organization "{name}" is not on the Organizations sheet.',
            "Add it to the Organizations sheet (with its county), or correct the spelling.",
        )
    ]


def _unknown_region(
    known: Container[str], name: str, at: _At, subject: str, consequence: str
) -> list[Problem]:
    """One wording for every column that names a region."""
    if name_key(name) in known:
        return []
    tail = f", {consequence}" if consequence else ""
    return [
        Problem(
            "Warning",
            Where(*at),
            f'{subject}: region "{name}" is not on the Regions sheet{tail}.',
            "Correct the region name to one on the Regions sheet, or clear it.",
        )
    ]


def license_blocks(policy: Policy, inputs: Inputs) -> dict[int, list[str]]:
    """License rows §1 cannot judge, by row number, with why (for their Explanation)."""
    blocks: dict[int, list[str]] = {}
    for rows in repeated(inputs.licenses, lambda r: r.license_id).values():
        numbers = ", ".join(str(r.row) for r in rows)
        for lic in rows:
            blocks.setdefault(lic.row, []).append(
                f"License ID {lic.license_id} is on more than one Licenses row ({numbers}),"
                " so it is not known which row is right."
            )
    unknown_types = _unknown_types(policy, inputs)
    for lic in inputs.licenses:
        if lic.license_type in unknown_types:
            blocks.setdefault(lic.row, []).append(
                f'License type "{lic.license_type}" is not in the policy.'
            )
    return blocks


def exemption_doubts(inputs: Inputs, policy: Policy | None = None) -> dict[int, list[str]]:
    """License rows an unreadable Appeals row (or a duplicate Appeal ID) may exempt.

    Such a row may be a special request, so a license it names (or, with no License ID,
    each license of its organization) that would otherwise be eligible is not judged
    until it is fixed: no sheet advises revoking a license that may be exempt.
    """
    blocks: dict[int, list[str]] = {}
    doubtful: list[tuple[str, str, str]] = []  # (license id key, organization key, why)
    honoured = special_request_reasons(policy) if policy is not None else set()
    known = {name_key(r) for r in APPEAL_REASONS} | {
        name_key(a) for a in (policy.reason_aliases if policy is not None else {})
    }
    for row in inputs.unreadable:
        if row.sheet != "Appeals":
            continue
        reason, decision = name_key(row.text("reason")), name_key(row.text("decision"))
        if policy is not None and (
            (reason in known and reason not in honoured) or decision in ("pending", "denied")
        ):
            continue  # readable enough to tell: it cannot exempt a license under §1.E3
        why = f"Appeals row {row.row} could not be read ({'; '.join(row.reasons)})"
        doubtful.append((name_key(row.text("license_id")), name_key(row.text("organization")), why))
    for rows in repeated(inputs.appeals or (), lambda r: r.appeal_id).values():
        for appeal in rows:
            why = f"Appeal ID {appeal.appeal_id} is on more than one Appeals row"
            doubtful.append((name_key(appeal.license_id or ""), name_key(appeal.organization), why))
    for lic in inputs.licenses:
        for license_key, org_key, why in doubtful:
            if license_key == name_key(lic.license_id) or (
                not license_key and org_key and org_key == name_key(lic.organization)
            ):
                blocks.setdefault(lic.row, []).append(
                    f"{why}; it may be a special request that exempts this license (§1.E3)."
                )
    return blocks


def _row(row: object) -> int:
    return int(getattr(row, "row", 0))


def sorted_problems(problems: Sequence[Problem]) -> list[Problem]:
    """Errors first, then by sheet and row, so the Problems sheet reads top to bottom."""
    return sorted(
        problems,
        key=lambda p: (p.severity != "Error", p.where.sheet, p.where.row or 0),
    )
