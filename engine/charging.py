"""§3 Delegation: which region's allotment each CE Access Only license uses.

§3.2 in the order the policy gives it: a region a CE Lead or the CE Committee entered on
the license; else, for an organization that covers several regions, the region of its
most average intakes ("Organizations that cover multiple regions should take the license
from the region they provide the most coverage, as measured by average intakes"); else
the region of the organization's county (also when its Intakes rows all show 0: no
coverage is no evidence of where it covers most). A tie in positive intakes is the CE
Committee's call ("The CE committee may determine allocation for multi-region
organizations"), so it is reported, never silently picked. §3.3: licenses of types that
do not count against the CE allotment (Housing Project and other funded licenses) are
never charged.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace

from engine.appeals import AllotmentChange
from engine.model import (
    CeCharge,
    Inputs,
    IntakeRow,
    LicenseRow,
    Policy,
    Problem,
    RegionAllotment,
    Where,
    name_key,
)


def _number(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def ce_committee(policy: Policy) -> str:
    """The Coordinated Entry Committee as policy.yaml names it (committees), for every
    sentence that says who decides (§3.2 ties, §4 reassignment)."""
    return policy.committees.get("coordinated_entry", "CE Committee")


def ce_license_types(policy: Policy, licenses: Iterable[LicenseRow]) -> set[str]:
    """The License Type texts, as entered on `licenses`, whose type counts against the
    CE allotment (§3.3)."""
    return policy.license_types_among(
        (lic.license_type for lic in licenses),
        lambda rule: rule is not None and rule.counts_against_ce_allotment,
    )


@dataclass(frozen=True, slots=True)
class _Lookups:
    """What §3.2 looks up, by name key: the regions, each county's region, each
    organization's county, its Intakes rows, the Intakes rows that could not be read, and
    each organization's Intakes rows that repeat one of its regions (which is right is not
    known: validate reports them as Errors)."""

    regions: dict[str, str]
    county_region: dict[str, str]
    org_county: dict[str, str | None]
    intakes: dict[str, list[IntakeRow]]
    unread_intakes: dict[str, list[int]]
    repeated_intakes: dict[str, list[list[IntakeRow]]]


def _lookups(inputs: Inputs) -> _Lookups:
    regions = {name_key(r.region): r.region for r in inputs.regions}
    links = [(c.county, c.region) for c in inputs.counties or ()]
    unread_intakes: dict[str, list[int]] = defaultdict(list)
    for row in inputs.unreadable:  # what a row set aside for another cell still says
        if row.sheet == "Regions" and row.text("region"):
            regions.setdefault(name_key(row.text("region")), row.text("region"))
        elif row.sheet == "Counties" and row.text("county") and row.text("region"):
            links.append((row.text("county"), row.text("region")))
        elif row.sheet == "Intakes" and row.text("organization"):
            unread_intakes[name_key(row.text("organization"))].append(row.row)
    intakes: dict[str, list[IntakeRow]] = defaultdict(list)
    for intake in inputs.intakes or ():
        if name_key(intake.region) in regions:
            intakes[name_key(intake.organization)].append(intake)
    return _Lookups(
        regions,
        {name_key(c): regions[name_key(r)] for c, r in links if name_key(r) in regions},
        {name_key(o.organization): o.county for o in inputs.organizations},
        intakes,
        unread_intakes,
        _repeated_intakes(intakes),
    )


def _repeated_intakes(intakes: dict[str, list[IntakeRow]]) -> dict[str, list[list[IntakeRow]]]:
    """By organization key, its groups of Intakes rows naming the same region (a row
    pasted twice, or "oa" and "OA"): their averages are not added together (§3.2)."""
    found: dict[str, list[list[IntakeRow]]] = {}
    for org_key, rows in intakes.items():
        by_region: dict[str, list[IntakeRow]] = {}
        for row in rows:
            by_region.setdefault(name_key(row.region), []).append(row)
        groups = [same for same in by_region.values() if len(same) > 1]
        if groups:
            found[org_key] = groups
    return found


def _intakes_not_known(lic: LicenseRow, found: _Lookups, org_key: str) -> str | None:
    """Why the organization's region of most average intakes is not known (an Intakes row
    that could not be read, or two rows for one region), or None when it is. `org_key`:
    the name key of the license's organization."""
    if org_key not in found.unread_intakes and org_key not in found.repeated_intakes:
        return None
    why = []
    if org_key in found.unread_intakes:
        rows = ", ".join(str(n) for n in found.unread_intakes[org_key])
        why.append(f"{lic.organization}'s Intakes row {rows} could not be read")
    for same in found.repeated_intakes.get(org_key, ()):
        rows = ", ".join(str(r.row) for r in same)
        why.append(
            f"{lic.organization} has more than one Intakes row for {same[0].region} (rows {rows})"
        )
    if not why:
        return None
    return (
        f"Not charged: {' and '.join(why)} (see Problems), so the region of its most average"
        " intakes is not known. It is counted as in use until it is fixed. §3.2"
    )


def charge_ce_licenses(
    policy: Policy, inputs: Inputs, as_of: dt.date
) -> tuple[list[CeCharge], list[Problem]]:
    """§3.2 for every active license whose type counts against the CE allotment."""
    found = _lookups(inputs)
    set_aside = _organizations_set_aside(inputs)
    charges: list[CeCharge] = []
    problems: list[Problem] = []
    tied_organizations: dict[str, list[LicenseRow]] = defaultdict(list)
    ce_types = ce_license_types(policy, inputs.licenses)
    for lic in inputs.licenses:
        if lic.license_type not in ce_types or not lic.is_active(as_of):
            continue
        charge, problem = _charge_license(policy, lic, found, set_aside)
        charges.append(charge)
        if problem is not None:
            problems.append(problem)
        if charge.tied_regions:
            tied_organizations[name_key(lic.organization)].append(lic)
    for org_key, licenses in tied_organizations.items():
        problems.append(_tie_problem(found.intakes[org_key], licenses, ce_committee(policy)))
    charges.extend(_unreadable_ce_rows(policy, inputs, as_of, as_of))
    return charges, problems


def appeal_region_problems(inputs: Inputs) -> list[Problem]:
    """§3/§4: a Warning on an appeal's Region when it names a region its organization is
    not in. CE Leads designate licenses "to organizations in their region" (§3) and the
    CE Committee may use "one of the regional allotments from the region the appeal
    originated from" (§4). An organization is in its county's region, in each region of
    its Intakes rows, and in a region entered on one of its licenses (a CE Lead's or the
    committee's decision). Nothing is said when those are not known (an organization not
    on the sheet or unreadable, a county not on the Counties sheet, an unreadable Intakes
    row), nor for a Region not on the Regions sheet (validate warns of that). The appeal
    is still routed by its Region as recorded."""
    found = _lookups(inputs)
    set_aside = _organizations_set_aside(inputs)
    entered: dict[str, dict[str, str]] = defaultdict(dict)
    for lic in inputs.licenses:
        region = found.regions.get(name_key(lic.region or ""))
        if region is not None:
            entered[name_key(lic.organization)].setdefault(name_key(region), region)
    problems = []
    for appeal in inputs.appeals or ():
        region = found.regions.get(name_key(appeal.region or ""))
        org_key = name_key(appeal.organization)
        if region is None or org_key not in found.org_county or org_key in set_aside:
            continue
        if org_key in found.unread_intakes:
            continue
        county = found.org_county[org_key]
        county_region = found.county_region.get(name_key(county)) if county else None
        if county and county_region is None:
            continue  # its county's region is not known
        why: list[str] = []
        in_regions: dict[str, str] = {}
        if county_region is not None:
            in_regions[name_key(county_region)] = county_region
            why.append(f"its county, {county}, is in {county_region} on the Counties sheet")
        if org_key in found.intakes:
            rows = found.intakes[org_key]
            names = list(dict.fromkeys(found.regions[name_key(r.region)] for r in rows))
            why.append(f"it has Intakes rows for {' and '.join(names)}")
            in_regions.update((name_key(r), r) for r in names)
        if entered[org_key]:
            names = list(entered[org_key].values())
            why.append(f"its licenses' Region names {' and '.join(names)}")
            in_regions.update(entered[org_key])
        if not in_regions or name_key(region) in in_regions:
            continue
        listing = " and ".join(in_regions.values())
        problems.append(
            Problem(
                "Warning",
                Where("Appeals", appeal.row, "Region"),
                f"Appeal {appeal.appeal_id} is filed for {region}, but"
                f" {appeal.organization} is not in {region}: it is in {listing}"
                f" ({'; '.join(why)}). CE Leads designate licenses to organizations in"
                " their region (§3) and the committee grants from the region the appeal"
                f" originated from (§4); until this is settled it goes to {region}'s CE"
                " Lead, as recorded.",
                f"Correct the appeal's Region to the region it originated from ({listing}),"
                f" or, if {appeal.organization} provides CE access in {region}, record its"
                f" average intakes for {region} on the Intakes sheet.",
            )
        )
    return problems


def in_use_on(
    policy: Policy, inputs: Inputs, days: Collection[dt.date]
) -> dict[dt.date, Counter[str]]:
    """§3.2 In Use on each of `days`, by region name key: the CE licenses active on that
    day (granted on or before it, not revoked on or before it), each charged where
    today's §3.2 charging charges it, including licenses revoked since, which were in use
    that day. One pass over the licenses whatever the number of days (§4: a reassignment
    is judged on the day it was decided)."""
    ordered = sorted(set(days))
    # By region key, +1 on the first of the days a license is active and -1 on the first
    # after it: the running sum over the days is the region's In Use on each.
    steps: dict[str, list[int]] = defaultdict(lambda: [0] * (len(ordered) + 1))

    def count(region: str | None, granted: object, revoked: object) -> None:
        if region is None:
            return
        first = bisect_left(ordered, granted) if isinstance(granted, dt.date) else 0
        after = bisect_left(ordered, revoked) if isinstance(revoked, dt.date) else len(ordered)
        if first < after:
            step = steps[name_key(region)]
            step[first] += 1
            step[after] -= 1

    if ordered:
        found = _lookups(inputs)
        set_aside = _organizations_set_aside(inputs)
        last, earliest = ordered[-1], ordered[0]
        ce_types = ce_license_types(policy, inputs.licenses)
        for lic in inputs.licenses:
            if lic.granted_on > last or (lic.revoked_on is not None and lic.revoked_on <= earliest):
                continue  # active on none of the days
            if lic.license_type not in ce_types:
                continue
            charge, _ = _charge_license(policy, lic, found, set_aside)
            count(charge.charged_region, lic.granted_on, lic.revoked_on)
        for charge, granted, revoked in _unreadable_ce_rows_dated(policy, inputs, earliest, last):
            count(charge.charged_region, granted, revoked)
    used: dict[dt.date, Counter[str]] = {day: Counter() for day in ordered}
    for key, step in steps.items():
        running = 0
        for day, change in zip(ordered, step, strict=False):
            running += change
            if running:
                used[day][key] = running
    return used


def _organizations_set_aside(inputs: Inputs) -> set[str]:
    """Organizations rows with a cell that could not be read: still on the sheet."""
    return {
        name_key(r.text("organization")) for r in inputs.unreadable if r.sheet == "Organizations"
    }


def _charge_license(
    policy: Policy, lic: LicenseRow, found: _Lookups, set_aside: set[str]
) -> tuple[CeCharge, Problem | None]:
    """§3.2 where one CE license is charged, and the Warning when it is charged nowhere
    for want of a region (an intake tie is reported for its organization's licenses
    together, by `charge_ce_licenses`)."""
    regions, county_region, org_county = found.regions, found.county_region, found.org_county
    intakes = found.intakes
    notes: list[str] = []
    if lic.region:
        entered = regions.get(name_key(lic.region))
        if entered is not None:
            return _charge(
                lic,
                entered,
                f"Region entered on the license ({entered}): a CE Lead's or the"
                f" {ce_committee(policy)}'s decision. §3.2",
            ), None
        notes.append(f'The Region entered, "{lic.region}", is not on the Regions sheet.')
    org_key = name_key(lic.organization)
    not_known = _intakes_not_known(lic, found, org_key)
    if not_known:  # its intakes cannot be weighed: nothing is guessed
        return _charge(lic, None, " ".join([*notes, not_known])), None
    rows = intakes.get(org_key)
    if rows and any(row.average_intakes > 0 for row in rows):
        return _by_intakes(lic, rows, notes, ce_committee(policy)), None
    # No intakes anywhere is no evidence of coverage: the county decides, as for an
    # organization with no Intakes rows (a tie is only between positive intakes).
    if org_key in intakes:
        no_intakes = "its Intakes rows all show 0 average intakes, so its county decides"
        no_intakes_for, intake_row = "Intakes rows with average intakes", "Intakes row above 0"
    else:
        no_intakes = "it has no Intakes rows"
        no_intakes_for, intake_row = "Intakes rows", "Intakes row"
    county = org_county.get(org_key)
    region = county_region.get(name_key(county)) if county else None
    if region is not None:
        return _charge(
            lic,
            region,
            " ".join(
                [
                    *notes,
                    f"{lic.organization} is in {county}, which is in {region}"
                    f" (Counties sheet); {no_intakes}. §3.2",
                ]
            ),
        ), None
    if org_key in set_aside:
        missing = f"{lic.organization}'s Organizations row could not be read (see Problems)"
    elif org_key not in org_county:
        missing = f"{lic.organization} is not on the Organizations sheet"
    elif not county:
        missing = f"{lic.organization} has no County on the Organizations sheet"
    else:
        missing = f"{county} is not on the Counties sheet"
    basis = " ".join(
        [
            *notes,
            f"No region could be determined: no Region on the license, no {no_intakes_for}"
            f" for the organization, and {missing}. §3.2",
        ]
    )
    return _charge(lic, None, basis), Problem(
        "Warning",
        Where("Licenses", lic.row, "Region"),
        f"License {lic.license_id} ({lic.license_type}) is not charged to any"
        f" region: {missing}, and there is no Region or {intake_row} for it.",
        "Enter the region in the license's Region column (the CE Lead's decision),"
        " or give the organization a County that is on the Counties sheet.",
    )


def _active(granted: object, revoked: object, day: dt.date) -> bool:
    """SPEC §2 for a row that could not be read: active on `day` unless a date it still
    has says otherwise (granted after it, or revoked on or before it)."""
    if isinstance(revoked, dt.date) and revoked <= day:
        return False
    return not (isinstance(granted, dt.date) and granted > day)


def _unreadable_ce_rows(
    policy: Policy, inputs: Inputs, first: dt.date, last: dt.date
) -> list[CeCharge]:
    """Licenses rows that could not be read but are CE licenses, active on some day from
    `first` to `last`: charged nowhere, counted."""
    return [charge for charge, _, _ in _unreadable_ce_rows_dated(policy, inputs, first, last)]


def _unreadable_ce_rows_dated(
    policy: Policy, inputs: Inputs, first: dt.date, last: dt.date
) -> list[tuple[CeCharge, object, object]]:
    """`_unreadable_ce_rows`, each with the Granted On and Revoked On its row still has."""
    found = []
    regions = {name_key(r.region): r.region for r in inputs.regions}
    for row in inputs.unreadable:
        if row.sheet != "Licenses":
            continue
        rule = policy.license_type(row.text("license_type"))
        revoked, granted = row.values.get("revoked_on"), row.values.get("granted_on")
        if rule is None or not rule.counts_against_ce_allotment:
            continue
        if isinstance(revoked, dt.date) and revoked <= first:
            continue
        if isinstance(granted, dt.date) and granted > last:
            continue  # not yet a license on the as-of date (SPEC §2)
        entered = regions.get(name_key(row.text("region")))
        why = "; ".join(row.reasons)
        charge = CeCharge(
            license_id=row.text("license_id") or f"(row {row.row})",
            organization=row.text("organization"),
            license_type=rule.name,
            charged_region=entered,
            # The Region entered is a CE Lead's decision, whatever else the row says.
            basis=(
                f"Region entered on the license ({entered}): a CE Lead's or the"
                f" {ce_committee(policy)}'s decision. Another cell of the row could not"
                f" be read ({why}), which does not change where it is charged. §3.2"
            )
            if entered is not None
            else f"Not charged: the row could not be read ({why}). It is counted as in"
            " use until it is fixed. §3.2",
            row=row.row,
        )
        found.append((charge, granted, revoked))
    return found


def _charge(
    lic: LicenseRow, region: str | None, basis: str, tied: tuple[str, ...] = ()
) -> CeCharge:
    return CeCharge(
        license_id=lic.license_id,
        organization=lic.organization,
        license_type=lic.license_type,
        charged_region=region,
        basis=basis,
        row=lic.row,
        tied_regions=tied,
    )


def _intake_totals(rows: Sequence[IntakeRow]) -> dict[str, float]:
    totals: dict[str, float] = {}
    names: dict[str, str] = {}
    for row in rows:
        key = name_key(row.region)
        names.setdefault(key, row.region)
        totals[names[key]] = totals.get(names[key], 0.0) + row.average_intakes
    return totals


def _by_intakes(
    lic: LicenseRow, rows: Sequence[IntakeRow], notes: list[str], committee: str
) -> CeCharge:
    totals = _intake_totals(rows)
    best = max(totals.values())
    leaders = [region for region, value in totals.items() if value == best]
    listing = ", ".join(f"{region} {_number(value)}" for region, value in totals.items())
    if len(leaders) == 1:
        basis = (
            f"Most average intakes in {leaders[0]} ({listing}): an organization covering"
            " several regions takes the license from the region it covers most. §3.2"
        )
        return _charge(lic, leaders[0], " ".join([*notes, basis]))
    basis = (
        f"Tie in average intakes between {' and '.join(leaders)} ({_number(best)} each):"
        f" the {committee} decides which region this license is charged to. Not charged"
        " until the decision is entered in the license's Region column. §3.2"
    )
    return _charge(lic, None, " ".join([*notes, basis]), tuple(leaders))


def _tie_problem(
    rows: Sequence[IntakeRow], licenses: Sequence[LicenseRow], committee: str
) -> Problem:
    totals = _intake_totals(rows)
    best = max(totals.values())
    leaders = [region for region, value in totals.items() if value == best]
    first = min(r.row for r in rows if name_key(r.region) in {name_key(x) for x in leaders})
    ids = ", ".join(lic.license_id for lic in licenses)
    return Problem(
        "Warning",
        Where("Intakes", first, "Average Intakes"),
        f"For the {committee}: {licenses[0].organization} has equal average intakes in"
        f" {' and '.join(leaders)} ({_number(best)} each), so its CE license(s) {ids}"
        " cannot be charged to a region by intakes (§3.2).",
        f"The {committee} decides the region and enters it in the Region column of those"
        " licenses on the Licenses sheet.",
    )


def with_use(
    allotments: Sequence[RegionAllotment],
    charges: Sequence[CeCharge],
    changes: Sequence[AllotmentChange] = (),
) -> list[RegionAllotment]:
    """Allotments with Added By Appeal, In Use and Available filled in (§3.2, §4)."""
    in_use: dict[str, int] = defaultdict(int)
    for charge in charges:
        if charge.charged_region is not None:
            in_use[name_key(charge.charged_region)] += 1
    by_region: dict[str, list[AllotmentChange]] = defaultdict(list)
    for change in changes:
        by_region[name_key(change.region)].append(change)
    result = []
    for allotment in allotments:
        used = in_use.get(name_key(allotment.region), 0)
        found = by_region.get(name_key(allotment.region), [])
        added = sum(c.licenses for c in found)
        available = allotment.allotment + added - used
        if available < 0:
            status = f"Over the allotment by {-available}."
        elif available == 0:
            status = "All licenses in use."
        else:
            status = f"{available} available."
        appeal_text = " ".join(c.text.rstrip(".") + "." for c in found)
        with_appeals = f" {appeal_text.rstrip('.')} (§4)." if appeal_text else ""
        text = (
            f"{allotment.explanation}{with_appeals} In use: {used} CE Access Only"
            f" license{'' if used == 1 else 's'} charged here (§3.2). {status}"
        )
        result.append(
            replace(
                allotment,
                in_use=used,
                available=available,
                added_by_appeal=added,
                explanation=text,
            )
        )
    return result


def not_charged_text(charges: Sequence[CeCharge]) -> tuple[tuple[str, ...], str]:
    """§3: the active CE licenses charged to no region, for their own Allotments row."""
    ids = tuple(c.license_id for c in charges if c.charged_region is None)
    if not ids:
        return (), ""
    count = len(ids)
    text = (
        f"{count} active CE Access Only license{'' if count == 1 else 's'}"
        f" ({', '.join(ids)}) {'is' if count == 1 else 'are'} charged to no region: see CE"
        " Charges and Problems for why. They count in the Total's In Use, so its Available"
        " is true. §3.2"
    )
    return ids, text
