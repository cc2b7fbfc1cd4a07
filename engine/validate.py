"""Checks across rows and sheets that no single cell can show: duplicates and references.

A cell that is not a date or a number is caught when the sheet is read; what is caught
here is a value that is fine on its own but does not fit the rest of the workbook.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from engine.model import Inputs, Policy, Problem, Where, name_key

Row = TypeVar("Row")


def duplicates(
    rows: Iterable[Row],
    key: Callable[[Row], str],
    row_number: Callable[[Row], int],
    sheet: str,
    column: str,
) -> list[Problem]:
    """An Error for every row whose key was already used by an earlier row."""
    first_seen: dict[str, int] = {}
    problems = []
    for row in rows:
        value = key(row)
        k = name_key(value)
        if k in first_seen:
            problems.append(
                Problem(
                    "Error",
                    Where(sheet, row_number(row), column),
                    f'{column} "{value}" is used twice: also on row {first_seen[k]}.',
                    f"Give each row its own {column}, or delete the repeated row.",
                )
            )
        else:
            first_seen[k] = row_number(row)
    return problems


def validate(policy: Policy, inputs: Inputs) -> list[Problem]:
    problems: list[Problem] = []
    problems += duplicates(inputs.regions, lambda r: r.region, _row, "Regions", "Region")
    problems += duplicates(
        inputs.organizations,
        lambda r: r.organization,
        _row,
        "Organizations",
        "Organization",
    )
    problems += duplicates(inputs.licenses, lambda r: r.license_id, _row, "Licenses", "License ID")
    if inputs.counties is not None:
        problems += duplicates(inputs.counties, lambda r: r.county, _row, "Counties", "County")
    if inputs.appeals is not None:
        problems += duplicates(inputs.appeals, lambda r: r.appeal_id, _row, "Appeals", "Appeal ID")
    if inputs.self_pay_requests is not None:
        problems += duplicates(
            inputs.self_pay_requests,
            lambda r: r.request_id,
            _row,
            "Self-Pay Requests",
            "Request ID",
        )

    organizations = {name_key(o.organization) for o in inputs.organizations}
    regions = {name_key(r.region) for r in inputs.regions}
    license_ids = {name_key(lic.license_id) for lic in inputs.licenses}
    type_names = ", ".join(policy.license_types)

    for lic in inputs.licenses:
        if policy.license_type(lic.license_type) is None:
            problems.append(
                Problem(
                    "Error",
                    Where("Licenses", lic.row, "License Type"),
                    f'License {lic.license_id}: license type "{lic.license_type}" is not'
                    " in the policy.",
                    f"Use one of: {type_names}; or add the type under license_types in"
                    " policy.yaml.",
                )
            )
        problems += _unknown_organization(
            organizations, lic.organization, Where("Licenses", lic.row, "Organization")
        )
        if lic.region and name_key(lic.region) not in regions:
            problems.append(
                Problem(
                    "Warning",
                    Where("Licenses", lic.row, "Region"),
                    f'License {lic.license_id}: region "{lic.region}" is not on the'
                    " Regions sheet, so the entry is ignored.",
                    "Correct the region name to one on the Regions sheet, or clear it.",
                )
            )

    for intake in inputs.intakes or ():
        problems += _unknown_organization(
            organizations, intake.organization, Where("Intakes", intake.row, "Organization")
        )
        if name_key(intake.region) not in regions:
            problems.append(
                Problem(
                    "Warning",
                    Where("Intakes", intake.row, "Region"),
                    f'Region "{intake.region}" is not on the Regions sheet; this row is ignored.',
                    "Correct the region name to one on the Regions sheet.",
                )
            )

    for request in inputs.self_pay_requests or ():
        problems += _unknown_organization(
            organizations,
            request.organization,
            Where("Self-Pay Requests", request.row, "Organization"),
        )

    for appeal in inputs.appeals or ():
        problems += _unknown_organization(
            organizations, appeal.organization, Where("Appeals", appeal.row, "Organization")
        )
        if appeal.license_id and name_key(appeal.license_id) not in license_ids:
            problems.append(
                Problem(
                    "Warning",
                    Where("Appeals", appeal.row, "License ID"),
                    f"Appeal {appeal.appeal_id} names license {appeal.license_id}, which"
                    " is not on the Licenses sheet.",
                    "Correct the License ID, or clear it if the appeal covers the whole"
                    " organization.",
                )
            )
        if appeal.region and name_key(appeal.region) not in regions:
            problems.append(
                Problem(
                    "Warning",
                    Where("Appeals", appeal.row, "Region"),
                    f'Appeal {appeal.appeal_id}: region "{appeal.region}" is not on the'
                    " Regions sheet.",
                    "Correct the region name to one on the Regions sheet.",
                )
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
        if name_key(appeal.decision) == "approved" and appeal.decided_on is None:
            problems.append(
                Problem(
                    "Warning",
                    Where("Appeals", appeal.row, "Decided On"),
                    f"Appeal {appeal.appeal_id} is Approved but has no Decided On date, so"
                    " it does not exempt any license yet (§1.E3).",
                    "Enter the date the committee approved it.",
                )
            )
    return problems


def _unknown_organization(known: set[str], name: str, where: Where) -> list[Problem]:
    if name_key(name) in known:
        return []
    return [
        Problem(
            "Warning",
            where,
            f'Organization "{name}" is not on the Organizations sheet.',
            "Add it to the Organizations sheet (with its county), or correct the spelling.",
        )
    ]


def _row(row: object) -> int:
    return int(getattr(row, "row", 0))


def sorted_problems(problems: Sequence[Problem]) -> list[Problem]:
    """Errors first, then by sheet and row, so the Problems sheet reads top to bottom."""
    return sorted(
        problems,
        key=lambda p: (p.severity != "Error", p.where.sheet, p.where.row or 0),
    )
