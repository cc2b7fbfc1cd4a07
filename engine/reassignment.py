"""§4 CE-Allotment Appeal: the CE Committee's reassignment agenda.

"The CE committee may reassign excess allotted licenses from other regions ... The CE
committee should work to ensure any licenses removed from users are either under-utilized
(i.e. low number of client entries), not geographically unique to their county, and when
possible - not the only HMIS licenses for a given organization."

So active CE Access Only licenses are ranked as removal candidates: fewest client entries
in the window first, then those whose county has another access point, then those whose
organization holds other licenses, then by License ID. §3.3 says organizations with
Housing Project or other funded licenses "still serve as Coordinated Entry Access
points", so any other active license in the county counts as another access point. A
license with no entry count is ranked after those with one, by what is known, and says so.
The agenda then lists regions with licenses available and the pending additional-allotment
requests and allotment denials the committee has to answer.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

from engine.appeals import appeals_queue
from engine.charging import counts_against_allotment
from engine.inactivity import natural_key
from engine.model import (
    CeCharge,
    Inputs,
    LicenseRow,
    Policy,
    ReassignmentItem,
    RegionAllotment,
    name_key,
)

CANDIDATE = "Removal candidate"
AVAILABLE = "Licenses available"
REQUEST = "Pending request"
_REQUEST_REASONS = {"additional allotment request", "ce allotment denial"}


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def reassignment_agenda(
    policy: Policy,
    inputs: Inputs,
    as_of: dt.date,
    allotments: Sequence[RegionAllotment],
    charges: Sequence[CeCharge],
) -> list[ReassignmentItem]:
    active = [lic for lic in inputs.licenses if lic.is_active(as_of)]
    org_county = {name_key(o.organization): o.county for o in inputs.organizations}

    def county_of(lic: LicenseRow) -> str | None:
        return lic.county or org_county.get(name_key(lic.organization))

    per_county = Counter(name_key(c) for lic in active if (c := county_of(lic)))
    per_org = Counter(name_key(lic.organization) for lic in active)
    charged = {name_key(c.license_id): c.charged_region for c in charges}

    ranked = []
    for lic in active:
        if not counts_against_allotment(policy, lic):
            continue
        county = county_of(lic)
        others_in_county = per_county[name_key(county)] - 1 if county else 0
        others_in_org = per_org[name_key(lic.organization)] - 1
        key = (
            lic.client_entries_window is None,
            lic.client_entries_window or 0,
            others_in_county == 0,
            others_in_org == 0,
            natural_key(lic.license_id),
        )
        reasons = [
            f"{_plural(lic.client_entries_window, 'client entry', 'client entries')} in the window"
            if lic.client_entries_window is not None
            else "Client Entries (Window) unknown, so ranked after the licenses with a"
            " count, by the other two criteria",
            (
                f"{county} has {_plural(others_in_county, 'other active license')} (another"
                " access point)"
                if others_in_county
                else f"the only access point in {county}"
                if county
                else "county unknown"
            ),
            (
                f"{lic.organization} holds {_plural(others_in_org, 'other license')}"
                if others_in_org
                else f"the only license of {lic.organization}"
            ),
        ]
        region = charged.get(name_key(lic.license_id)) or lic.region
        ranked.append((key, lic, county, region, "; ".join(reasons) + ". §4"))
    ranked.sort(key=lambda item: item[0])

    agenda = [
        ReassignmentItem(
            item=CANDIDATE,
            rank=rank,
            license_id=lic.license_id,
            organization=lic.organization,
            region=region,
            county=county,
            client_entries_window=lic.client_entries_window,
            reasons=reasons,
        )
        for rank, (_, lic, county, region, reasons) in enumerate(ranked, start=1)
    ]
    for allotment in allotments:
        if allotment.available is not None and allotment.available > 0:
            agenda.append(
                ReassignmentItem(
                    item=AVAILABLE,
                    rank=None,
                    license_id=None,
                    organization=None,
                    region=allotment.region,
                    county=None,
                    client_entries_window=None,
                    reasons=f"{allotment.region}: allotment {allotment.allotment},"
                    f" {allotment.in_use} in use, so {_plural(allotment.available, 'license')}"
                    " available to reassign. §4",
                )
            )
    for queued in appeals_queue(policy, inputs.appeals or (), as_of):
        if name_key(queued.reason) not in _REQUEST_REASONS:
            continue
        wanted = (
            f" for {_plural(queued.licenses_requested, 'license')}"
            if queued.licenses_requested
            else ""
        )
        agenda.append(
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
                + ". §4",
            )
        )
    return agenda
