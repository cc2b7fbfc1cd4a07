"""§4 CE-Allotment Appeal: the CE Committee's reassignment agenda.

"The CE committee may reassign excess allotted licenses from other regions ... The CE
committee should work to ensure any licenses removed from users are either under-utilized
(i.e. low number of client entries), not geographically unique to their county, and when
possible - not the only HMIS licenses for a given organization." §3 adds: "Organizations
that are not providing the necessary CE access and data entry for HMIS, may lose HMIS
access."

So the CE licenses that stay (active, not eligible for revocation under §1) are ranked as
removal candidates: first those of organizations recorded as not serving as a level 3
access point or without a data-entry agreement (§3), then under-utilized ones (at most
`reassignment.under_utilized_at_most` client entries in the window), then those whose
county has another access point that stays (§3.3: funded licenses still serve as access
points), then fewest client entries, then License ID. Only licenses that stay count as an
organization's "other" licenses. An organization whose staying licenses are all CE
licenses keeps its best-used one off the list of candidates ("when possible"), so no
removal the agenda ranks, in any region, together with the Revocations sheet, leaves an
organization without a license.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.appeals import NOT_ROUTED
from engine.charging import ce_committee, ce_license_types
from engine.inactivity import Exemption, Judgement, natural_key
from engine.model import (
    AppealGrant,
    CeCharge,
    Inputs,
    LicenseRow,
    OrganizationRow,
    Policy,
    QueuedAppeal,
    ReassignmentItem,
    RegionAllotment,
    name_key,
)
from engine.words import plural

_DUTIES_CLAUSE = (
    '"Organizations that are not providing the necessary CE access and data entry for HMIS,'
    ' may lose HMIS access" (§3)'
)
CANDIDATE = "Removal candidate"
KEPT = "Kept: last license"
BEING_REVOKED = "Eligible for revocation"
AVAILABLE = "Licenses available"
REQUEST = "Pending request"
GRANTED = "Granted by appeal"  # a region with fewer licenses to spare than it granted


@dataclass(frozen=True, slots=True)
class Agenda:
    items: tuple[ReassignmentItem, ...]
    # License ID key -> a sentence for the Inactivity Report, where a license kept by a
    # §1 exception is also a removal candidate (both rows say so).
    cross_references: Mapping[str, str]


# _Others and _Candidate are made for every CE license that stays, and are never changed
# once made: not frozen only because a frozen dataclass's __init__ is several times slower.
@dataclass(slots=True)
class _Others:
    """The other staying licenses of a county or organization: how many, and the first
    few IDs (the agenda names at most `_NAMED`). Counted, not listed, because a county
    can have thousands."""

    count: int
    first: tuple[str, ...]

    def __bool__(self) -> bool:
        return self.count > 0


_NAMED = 4
_NAMED_IN_COUNTY = 6
# What "stays" means on this agenda (§4: only such licenses count as "other"): a removal
# candidate is one of them, so the Reasons never call it a license that stays.
_STAYING = "not eligible for revocation"


def _others(staying: Sequence[LicenseRow], lic: LicenseRow) -> _Others:
    """The licenses of `staying` (a county's or organization's staying licenses, in sheet
    order) other than `lic`, itself one of them: a removal candidate stays."""
    if not staying:
        return _Others(0, ())
    first = []
    for o in staying:
        if o is not lic:
            first.append(o.license_id)
            if len(first) == _NAMED:
                break
    return _Others(len(staying) - 1, tuple(first))


@dataclass(slots=True)
class _Candidate:
    judgement: Judgement
    county: str | None
    region: str | None
    duties: list[str]  # §3 duties recorded as not met
    entries: int | None  # Client Entries (Window) as they count for it (_holder_entries)
    others_in_county: _Others  # other staying licenses in the county
    others_in_org: _Others  # other staying licenses of the organization
    under_utilized: bool | None  # None: no count, or a count of less than the window
    granted_within_window: bool = False  # its count covers only part of the window
    uncharged: str | None = None  # why no region is charged (CE Charges' Basis), if none is

    @property
    def license(self) -> LicenseRow:
        return self.judgement.license

    def key(self) -> tuple[object, ...]:
        entries = self.entries
        return (
            not self.duties,
            self.under_utilized is not True,
            not self.others_in_county,
            not self.others_in_org,
            entries is None,
            entries or 0,
            natural_key(self.license.license_id),
        )


def reassignment_agenda(
    policy: Policy,
    inputs: Inputs,
    judgements: Sequence[Judgement],
    allotments: Sequence[RegionAllotment],
    charges: Sequence[CeCharge],
    queue: Sequence[QueuedAppeal],
    as_of: dt.date | None = None,
    grants: Sequence[AppealGrant] = (),
) -> Agenda:
    """The CE Committee's agenda: ranked candidates, keepers, then availability (with the
    licenses approved appeals granted and not yet issued, `grants`) and requests."""
    window_start = (
        policy.inactivity.client_data_window.before(as_of)
        if as_of and not policy.new_licenses_under_utilized
        else None
    )
    organizations = {name_key(o.organization): o for o in inputs.organizations}
    # The staying licenses of each organization and county, by name key, in sheet order.
    by_org: dict[str, list[LicenseRow]] = defaultdict(list)
    by_county: dict[str, list[LicenseRow]] = defaultdict(list)
    for j in judgements:
        if j.stays:
            lic = j.license
            org_key = name_key(lic.organization)
            by_org[org_key].append(lic)
            county = _county(lic, organizations.get(org_key))
            if county:
                by_county[name_key(county)].append(lic)
    charged = {name_key(c.license_id): c.charged_region for c in charges}
    uncharged = {name_key(c.license_id): c.basis for c in charges if c.charged_region is None}
    pending = _pending_by_license(queue)

    candidates: list[_Candidate] = []
    keepers: list[tuple[_Candidate, str]] = []
    leaving: list[Judgement] = []
    ce_types = ce_license_types(policy, (j.license for j in judgements))
    for j in judgements:
        lic = j.license
        if not j.license_is_active or j.finding == "Cannot judge":
            continue
        if lic.license_type not in ce_types:
            continue
        if not j.stays:
            leaving.append(j)
            continue
        candidate = _candidate(
            policy,
            j,
            organizations,
            by_org,
            by_county,
            charged.get(name_key(lic.license_id)),
            window_start,
            uncharged.get(name_key(lic.license_id)),
        )
        candidates.append(candidate)
    keepers = _keepers(policy, candidates, by_org)
    kept_ids = {id(k) for k, _ in keepers}
    ranked = sorted((c for c in candidates if id(c) not in kept_ids), key=_Candidate.key)

    items: list[ReassignmentItem] = []
    references: dict[str, str] = {}
    emptied = _emptied_counties(ranked)
    for rank, candidate in enumerate(ranked, start=1):
        reasons = _candidate_reasons(policy, candidate, pending, emptied.get(id(candidate), ""))
        items.append(_item(CANDIDATE, rank, candidate, reasons))
        exempted = candidate.judgement.exemptions
        if exempted:
            labels = "; ".join(f"{e.label} ({e.clause})" for e in exempted)
            references[name_key(candidate.license.license_id)] = (
                f"The {ce_committee(policy)}'s Reassignment agenda lists it as removal candidate"
                f" {rank} (§4): its §1 exception ({labels}) does not decide CE reassignment."
            )
    for keeper, why in sorted(keepers, key=lambda k: natural_key(k[0].license.license_id)):
        items.append(_item(KEPT, None, keeper, _keeper_reasons(policy, keeper, why, pending)))
    for j in leaving:
        region = charged.get(name_key(j.license.license_id)) or j.license.region
        unset = uncharged.get(name_key(j.license.license_id)) if region is None else None
        frees = (
            f"it is charged to no region ({_why_uncharged(unset)}), so"
            " revoking it frees no region's allotment"
            if unset
            else f"once revoked it frees one of {region or 'its region'}'s CE licenses"
        )
        items.append(
            ReassignmentItem(
                item=BEING_REVOKED,
                rank=None,
                license_id=j.license.license_id,
                organization=j.license.organization,
                region=region,
                county=_county(j.license, organizations.get(name_key(j.license.organization))),
                client_entries_window=_holder_entries(j.license),
                reasons="; ".join(
                    [
                        f"Eligible for revocation under §1 (on the Revocations sheet): {frees}",
                        *pending.get(name_key(j.license.license_id), []),
                    ]
                )
                + ". §4",
            )
        )
    items.extend(_available(allotments, grants, ce_committee(policy)))
    items.extend(_requests(queue, allotments, ce_committee(policy)))
    return Agenda(tuple(items), references)


def _county(lic: LicenseRow, org: OrganizationRow | None) -> str | None:
    """The license's own County, else its organization's (`org`: its Organizations row)."""
    return lic.county or (org.county if org else None)


def _candidate(
    policy: Policy,
    j: Judgement,
    organizations: Mapping[str, OrganizationRow],
    by_org: Mapping[str, Sequence[LicenseRow]],
    by_county: Mapping[str, Sequence[LicenseRow]],
    region: str | None,
    window_start: dt.date | None = None,
    uncharged: str | None = None,
) -> _Candidate:
    lic = j.license
    org_key = name_key(lic.organization)
    org = organizations.get(org_key)
    duties = []
    if org is not None and org.level3_access_point is False:
        duties.append("not serving as a level 3 access point")
    if org is not None and org.data_entry_agreement is False:
        duties.append("having no data entry agreement")
    county = _county(lic, org)
    others_in_county = _others(by_county.get(name_key(county), ()) if county else (), lic)
    others_in_org = _others(by_org.get(org_key, ()), lic)
    entries = _holder_entries(lic)
    under = None if entries is None else entries <= policy.under_utilized_at_most
    # A license granted within the §1.1 window has not had the window to enter data in:
    # its few entries do not show it is under-utilized (a reading; §4 gives no period).
    recent = window_start is not None and lic.granted_on > window_start
    return _Candidate(
        j,
        county,
        region or lic.region,
        duties,
        entries,
        others_in_county,
        others_in_org,
        None if recent else under,
        recent,
        uncharged,
    )


def _keepers(
    policy: Policy, candidates: Sequence[_Candidate], by_org: Mapping[str, Sequence[LicenseRow]]
) -> list[tuple[_Candidate, str]]:
    """Per organization whose staying licenses are all CE licenses: the one it keeps, and
    why that one (what decided it among them)."""
    by_org_candidates: dict[str, list[_Candidate]] = defaultdict(list)
    for c in candidates:
        by_org_candidates[name_key(c.license.organization)].append(c)
    keepers = []
    for org_key, group in by_org_candidates.items():
        if len(group) < len(by_org.get(org_key, ())):
            continue  # it keeps a license the agenda never removes (a funded one)
        keeper = min(group, key=_keep_order)
        keepers.append((keeper, _why_kept(keeper, [c for c in group if c is not keeper])))
    return keepers


def _why_kept(keeper: _Candidate, others: Sequence[_Candidate]) -> str:
    """What chose the keeper among its organization's CE licenses, in `_keep_order`'s
    order: §1.E1, then most client entries, then most recent client data, then License ID."""
    org = keeper.license.organization
    if any(e.clause == "§1.E1" for e in keeper.judgement.exemptions):
        return f"§1.E1 keeps it as the license {org} retains"
    if not others:
        return f"it is the only license of {org} {_STAYING}"
    mine = keeper.entries or 0
    count = len(others) + 1
    lead = f"the {count} licenses of {org} {_STAYING} are all CE licenses, and"
    if all((o.entries or 0) < mine for o in others):
        entries = plural(mine, "client entry", "client entries")
        return f"{lead} it has the most client entries in the window ({entries})"
    tied = [o for o in others if (o.entries or 0) == mine]
    entry = keeper.judgement.entry
    if entry and all(o.judgement.entry is None or o.judgement.entry < entry for o in tied):
        return (
            f"{lead} with as many client entries in the window as any of them ({mine:,}) it"
            f" has the most recent client data ({entry})"
        )
    return (
        f"{lead} with as many client entries in the window ({mine:,}) and as recent client"
        " data as any of them, it has the lowest License ID"
    )


def _why_uncharged(basis: str) -> str:
    """CE Charges' Basis for a license charged to no region, as a clause in its Reasons."""
    return basis.removesuffix(" §3.2").rstrip(".")


def _keep_order(c: _Candidate) -> tuple[object, ...]:
    entries = c.entries
    entry = c.judgement.entry
    return (
        0 if any(e.clause == "§1.E1" for e in c.judgement.exemptions) else 1,
        -(entries or 0),
        -(entry.toordinal() if entry else 0),
        natural_key(c.license.license_id),
    )


def _item(item: str, rank: int | None, c: _Candidate, reasons: str) -> ReassignmentItem:
    return ReassignmentItem(
        item=item,
        rank=rank,
        license_id=c.license.license_id,
        organization=c.license.organization,
        region=c.region,
        county=c.county,
        client_entries_window=c.entries,
        reasons=reasons,
    )


def _holder_entries(lic: LicenseRow) -> int | None:
    """Client Entries (Window) as they count for the license's holder: none when its Last
    Client Data Entry is before its grant, since then every entry counted was the previous
    holder's (SPEC §2: what came before the grant does not count for this license)."""
    entries = lic.client_entries_window
    last = lic.last_client_data_entry
    if entries and last is not None and last < lic.granted_on:
        return 0
    return entries


def _criteria(policy: Policy, c: _Candidate, *, kept: bool = False) -> list[str]:
    """Each §4 criterion as it holds for the license (`kept`: a license kept off the list
    of candidates, which has no rank)."""
    lic = c.license
    limit = policy.under_utilized_at_most
    entries = c.entries
    if entries is None:
        used = "under-utilized: not known (Client Entries (Window) is blank)"
    elif c.granted_within_window:
        window = policy.inactivity.client_data_window.describe()
        used = (
            f"under-utilized: not known, granted on {lic.granted_on}, within the window of"
            f" {window}: its {plural(entries, 'client entry', 'client entries')} so far"
            " cover only part of it"
        )
    elif c.under_utilized:
        used = (
            f"under-utilized: yes, {plural(entries, 'client entry', 'client entries')} in the"
            f" window (at most {limit}, reassignment.under_utilized_at_most)"
        )
    else:
        used = (
            f"under-utilized: no, {plural(entries, 'client entry', 'client entries')} in the"
            f" window (more than {limit})"
        )
    recorded = lic.client_entries_window
    if recorded and entries != recorded:
        used += (
            f" (the {plural(recorded, 'client entry', 'client entries')} recorded in Client"
            f" Entries (Window) came before it was granted on {lic.granted_on}, to the"
            " previous holder, and do not count)"
        )
    if c.uncharged:
        found_region = (
            f"region: not charged to one ({_why_uncharged(c.uncharged)}):"
            " its region is decided first (§3.2), since until then removing it frees no"
            " region's allotment"
        )
    else:
        found_region = ""
    if not c.county:
        unique = "geographically unique: not known (no county on the license or organization)"
    elif c.others_in_county:
        unique = (
            f"geographically unique: no, {c.county} has"
            f" {plural(c.others_in_county.count, 'other active license')} {_STAYING}"
            f" ({_listed(c.others_in_county)}; funded licenses still serve as access"
            " points, §3.3)"
        )
    else:
        unique = f"geographically unique: yes, the only active license in {c.county} {_STAYING}"
    if c.others_in_org:
        only = (
            f"the organization's only license: no, {lic.organization} has"
            f" {plural(c.others_in_org.count, 'other active license')} {_STAYING}"
            f" ({_listed(c.others_in_org)})"
        )
    else:
        only = (
            "the organization's only license: yes, the only active license of"
            f" {lic.organization} {_STAYING}"
        )
    found = [used, unique, only]
    if c.duties:
        ranked = "which would rank it first among candidates" if kept else "so it is ranked first"
        found.insert(
            0,
            f"§3 duties: {lic.organization} is recorded on the Organizations sheet as"
            f" {' and '.join(c.duties)}: " + _DUTIES_CLAUSE + f", {ranked}",
        )
    if found_region:
        found.insert(0, found_region)
    return found


def _listed(others: _Others) -> str:
    shown = ", ".join(others.first)
    more = others.count - len(others.first)
    return shown + (f" and {more} more" if more > 0 else "")


def _emptied_counties(ranked: Sequence[_Candidate]) -> dict[int, str]:
    """§4 "not geographically unique to their county" holds for each candidate alone; where
    every license that stays in a county is a removal candidate, removing them all would
    leave the county without one. Each of them says so (by id() of the candidate)."""
    by_county: dict[str, list[_Candidate]] = defaultdict(list)
    for c in ranked:
        if c.county:
            by_county[name_key(c.county)].append(c)
    notes = {}
    for group in by_county.values():
        if len(group) < 2 or group[0].others_in_county.count != len(group) - 1:
            continue
        county = group[0].county
        shown = ", ".join(c.license.license_id for c in group[:_NAMED_IN_COUNTY])
        more = len(group) - _NAMED_IN_COUNTY
        shown += f" and {more} more" if more > 0 else ""
        note = (
            f"every active license in {county} {_STAYING} is a removal candidate ({shown}):"
            f" removing all {len(group)} would leave {county} without an access point, so"
            " keep at least one (§4: not geographically unique to their county)"
        )
        for c in group:
            notes[id(c)] = note
    return notes


def _candidate_reasons(
    policy: Policy, c: _Candidate, pending: Mapping[str, list[str]], county_note: str = ""
) -> str:
    parts = _criteria(policy, c)
    if county_note:
        parts.append(county_note)
    return _closed(parts, c, c.judgement.exemptions, pending)


def _closed(
    parts: list[str],
    c: _Candidate,
    exempted: Sequence[Exemption],
    pending: Mapping[str, list[str]],
) -> str:
    """A license's Reasons: its own parts, then the §1 exceptions that keep it (which do
    not decide CE reassignment) and the appeals pending on it."""
    if exempted:
        labels = "; ".join(f"{e.label} ({e.clause})" for e in exempted)
        parts.append(
            f"kept under §1 by {labels} (Inactivity Report): that exception does not decide"
            " CE reassignment"
        )
    parts.extend(pending.get(name_key(c.license.license_id), []))
    return "; ".join(parts) + ". §4"


def _keeper_reasons(
    policy: Policy, c: _Candidate, why: str, pending: Mapping[str, list[str]]
) -> str:
    org = c.license.organization
    # §1.E1 is `why` it is kept; any other §1 exception is a fact the committee sees too.
    exempted = [e for e in c.judgement.exemptions if e.clause != "§1.E1"]
    leave = (  # its other licenses that stay are on this agenda too: removal candidates
        f"removing it as well as its other licenses on this agenda would leave {org}"
        if c.others_in_org.count
        else f"removing it would leave {org}"
    )
    parts = [
        f"Not a removal candidate: {why}, and {leave} without an"
        ' HMIS license ("when possible - not the only HMIS licenses for a given'
        ' organization", §4). Listed last; remove it only if the'
        f" {ce_committee(policy)} decides the"
        " organization should lose HMIS access (§3)",
        *_criteria(policy, c, kept=True),
    ]
    return _closed(parts, c, exempted, pending)


def _pending_by_license(queue: Sequence[QueuedAppeal]) -> dict[str, list[str]]:
    """The Appeals Queue's appeals by license: pending on the as-of date, as it lists them."""
    found: dict[str, list[str]] = defaultdict(list)
    for appeal in queue:
        if not appeal.license_id:
            continue
        committee = "no committee yet" if appeal.committee == NOT_ROUTED else appeal.committee
        found[name_key(appeal.license_id)].append(
            f"appeal {appeal.appeal_id} on this license is pending ({appeal.reason}, {committee})"
        )
    return found


def granted_text(grants: Sequence[AppealGrant], available: int, region: str, ce: str) -> str:
    """What a region's Available holds for the approved appeals whose licenses are not yet
    issued (§4), the same words in the agenda, the CE packet and the CE Lead's notice:
    "of which 1 granted to <organization> by appeal A-106 on 2026-11-20: issue it to them
    (§4)", and, when the region has fewer to spare than granted, who finds the rest."""
    if not grants:
        return ""
    owed = sum(g.outstanding for g in grants)
    named = "; ".join(
        f"{g.text}: issue {'it' if g.outstanding == 1 else 'them'} to them" for g in grants
    )
    if available >= owed:
        left = available - owed
        return (
            f", of which {named} (§4); {plural(left, 'license') if left else 'none'} left to"
            " designate or reassign"
        )
    spare = f"only {plural(available, 'license')}" if available > 0 else "none"
    return (
        f"; approved appeals granted licenses still to be issued: {named} (§4), but"
        f" {region} has {spare} to spare for the {plural(owed, 'license')} granted: the"
        f" {ce} reassigns excess licenses from another region or requests more from HMIS,"
        " or the CE Lead frees one (§3, §4), before the rest can be issued"
    )


def _available(
    allotments: Sequence[RegionAllotment], grants: Sequence[AppealGrant] = (), ce: str = ""
) -> list[ReassignmentItem]:
    by_region: dict[str, list[AppealGrant]] = defaultdict(list)
    for grant in grants:
        by_region[name_key(grant.region)].append(grant)
    items = []
    for allotment in allotments:
        mine = by_region.get(name_key(allotment.region), [])
        if allotment.available is None or (allotment.available <= 0 and not mine):
            continue
        added = f" ({allotment.added_by_appeal:+d} by appeal)" if allotment.added_by_appeal else ""
        available = allotment.available
        if available > 0:
            balance = f"so {plural(available, 'license')} available"
        elif available == 0:
            balance = "so none available"
        else:
            balance = f"so over the allotment by {-available}"
        granted = granted_text(mine, available, allotment.region, ce)
        enough = available >= sum(g.outstanding for g in mine)
        items.append(
            ReassignmentItem(
                item=AVAILABLE if available > 0 and enough else GRANTED,
                rank=None,
                license_id=None,
                organization=", ".join(g.organization for g in mine) or None,
                region=allotment.region,
                county=None,
                client_entries_window=None,
                reasons=f"{allotment.region}: allotment {allotment.allotment}{added},"
                f" {allotment.in_use} in use, {balance}"
                + (granted if mine else " to reassign")
                + ". §4",
            )
        )
    return items


def _requests(
    queue: Sequence[QueuedAppeal], allotments: Sequence[RegionAllotment], ce: str
) -> list[ReassignmentItem]:
    """Pending CE-allotment appeals and requests before the CE Committee (`ce`, its name),
    with the originating region's balance."""
    balance = {name_key(a.region): a for a in allotments}
    items = []
    for queued in queue:
        # As the Appeals Queue routes it: the appeal of a CE-allotment revocation is here
        # whatever its Reason says, that of an inactivity revocation is not (§4).
        if queued.committee != ce or not queued.allotment_request:
            continue
        wanted = (
            f" for {plural(queued.licenses_requested, 'license')}"
            if queued.licenses_requested
            else ""
        )
        region = balance.get(name_key(queued.region or ""))
        if not queued.region:
            origin = "; the originating region is not known"
        elif region is None:
            origin = f"; {queued.region} is not on the Regions sheet, so its balance is not known"
        elif region.available is None:
            origin = f"; {region.region}'s balance is not known"
        elif region.available > 0:
            origin = f"; {region.region} has {plural(region.available, 'license')} available"
        elif region.available == 0:
            origin = f"; {region.region} has none available"
        else:
            origin = f"; {region.region} is over its allotment by {-region.available}"
        items.append(
            ReassignmentItem(
                item=REQUEST,
                rank=None,
                license_id=queued.license_id,
                organization=queued.organization,
                region=queued.region,
                county=None,
                client_entries_window=None,
                reasons=f"Appeal {queued.appeal_id}: {queued.reason}{wanted}, pending"
                f" {queued.days_pending} days since {queued.filed_on}"
                + ("; overdue" if queued.overdue else "")
                + origin
                + (f". {queued.region_note.rstrip('.')}" if queued.region_note else "")
                + ". §4",
            )
        )
    return items
