"""Rebuild the bundled sample workbook (MoBoS-HMIS-Licensing-sample.xlsx).

    python -m workbook.sample.build [--data ../shared/data] [--output PATH]

The ten regions are real Missouri Balance of State counties (2020 Census populations,
read from the data folder; Region 1 is the policy's worked example, 596,788). The
organizations, users and dates are fictional, generated with a fixed seed so the file is
the same on every rebuild, and chosen so that on the as-of date 2026-11-24 every finding
(Active, Inactive, Not signed in) and every exception (§1.E1, §1.E2, §1.E3) appears.
Only user-level activity dates and counts are in it; no client data.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import functools
import random
from collections.abc import Iterable, Sequence
from pathlib import Path

from policy import adopted_policy_path, load_policy
from workbook.layout import (
    APPEALS,
    COUNTIES,
    INTAKES,
    LICENSES,
    ORGANIZATIONS,
    REGIONS,
    SELF_PAY_REQUESTS,
    InputSheet,
)
from workbook.sample.regions_data import REGION_COUNTIES
from workbook.xlsx.inputbook import (
    INSTRUCTIONS,
    new_workbook,
    save,
    settings_rows,
    write_input_sheet,
    write_settings,
)

AS_OF = dt.date(2026, 11, 24)
HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "MoBoS-HMIS-Licensing-sample.xlsx"
DEFAULT_DATA = HERE.parents[2] / "shared" / "data"


# (organization, county) -- fictional organizations in real counties.
ORGANIZATION_LIST: tuple[tuple[str, str], ...] = (
    ("Clay County Housing Alliance", "Clay County"),
    ("Platte Valley Family Shelter", "Platte County"),
    ("Johnson County Community Services", "Johnson County"),
    ("Sedalia Hope House", "Pettis County"),
    ("Lake of the Ozarks Outreach", "Camden County"),
    ("Macon Area Helping Hands", "Macon County"),
    ("Northwest Missouri Housing Partners", "Nodaway County"),
    ("Kirksville Community Shelter", "Adair County"),
    ("Hannibal Family Resource Center", "Marion County"),
    ("Chillicothe Open Door", "Livingston County"),
    ("Mexico Area Outreach", "Audrain County"),
    ("Cass County Crisis Center", "Cass County"),
    ("Henry County Housing Connection", "Henry County"),
    ("Bolivar Community Table", "Polk County"),
    ("Vernon County Shelter", "Vernon County"),
    ("Columbia Interfaith Shelter", "Boone County"),
    ("Capital City Housing Services", "Cole County"),
    ("Callaway County Family Services", "Callaway County"),
    ("Boonville Community Action", "Cooper County"),
    ("Mid-Missouri Youth Shelter", "Boone County"),
    ("Missouri Veterans Outreach Network", "Boone County"),
    ("Branson Area Homeless Coalition", "Taney County"),
    ("Lawrence County Family Resources", "Lawrence County"),
    ("Barry County Helping Hand", "Barry County"),
    ("McDonald County Outreach", "McDonald County"),
    ("Ozark Youth Network", "Howell County"),
    ("West Plains Neighbors", "Howell County"),
    ("Pulaski County Community Services", "Pulaski County"),
    ("Lebanon Community Shelter", "Laclede County"),
    ("Texas County Food and Housing", "Texas County"),
    ("Franklin County Community Resource Board", "Franklin County"),
    ("Rolla Mission", "Phelps County"),
    ("Gasconade Valley Services", "Gasconade County"),
    ("Great Rivers Domestic Violence Services", "Jefferson County"),
    ("Jefferson County Community Partnership", "Jefferson County"),
    ("St. Francois County Haven House", "St. Francois County"),
    ("Ste. Genevieve Family Services", "Ste. Genevieve County"),
    ("Community Partnership of Southeast Missouri", "Cape Girardeau County"),
    ("Poplar Bluff Haven", "Butler County"),
    ("Bootheel Family Services", "Pemiscot County"),
    ("Dunklin County Shelter", "Dunklin County"),
    ("Lafayette County Helping Hands", "Lafayette County"),
)

# Organizations that cover several regions: average intakes per region (§3.2).
INTAKE_LIST: tuple[tuple[str, str, float], ...] = (
    ("Missouri Veterans Outreach Network", "Region 4", 38.5),
    ("Missouri Veterans Outreach Network", "Region 1", 21.0),
    ("Missouri Veterans Outreach Network", "Region 2", 12.25),
    ("Great Rivers Domestic Violence Services", "Region 8", 17.0),
    ("Great Rivers Domestic Violence Services", "Region 7", 22.5),
    ("Ozark Youth Network", "Region 6", 14.0),
    ("Ozark Youth Network", "Region 5", 14.0),
    ("Community Partnership of Southeast Missouri", "Region 9", 41.0),
    ("Community Partnership of Southeast Missouri", "Region 8", 6.5),
)

# One active CE Access Only license each (besides the hand-placed cases below).
CE_ACCESS_POINTS = (
    "Clay County Housing Alliance",
    "Platte Valley Family Shelter",
    "Johnson County Community Services",
    "Lake of the Ozarks Outreach",
    "Hannibal Family Resource Center",
    "Columbia Interfaith Shelter",
    "Capital City Housing Services",
    "Branson Area Homeless Coalition",
    "Barry County Helping Hand",
    "Ozark Youth Network",
    "Great Rivers Domestic Violence Services",
    "Franklin County Community Resource Board",
    "Jefferson County Community Partnership",
    "St. Francois County Haven House",
    "Community Partnership of Southeast Missouri",
    "Poplar Bluff Haven",
)

CE_LEADS = (
    ("Dana Whitfield", "region1.celead@example.org"),
    ("Marcus Bell", "region2.celead@example.org"),
    ("Priya Natarajan", "region3.celead@example.org"),
    ("Hannah Ostrowski", "region4.celead@example.org"),
    ("Luis Carrillo", "region5.celead@example.org"),
    ("Renee Dubois", "region6.celead@example.org"),
    ("Tom Albrecht", "region7.celead@example.org"),
    ("Keisha Monroe", "region8.celead@example.org"),
    ("Walter Greene", "region9.celead@example.org"),
    ("Ana Lucia Ortiz", "region10.celead@example.org"),
)

FIRST_NAMES = [
    "Avery",
    "Blake",
    "Casey",
    "Dakota",
    "Emerson",
    "Finley",
    "Harper",
    "Jordan",
    "Kendall",
    "Logan",
    "Morgan",
    "Parker",
    "Quinn",
    "Reese",
    "Riley",
    "Rowan",
    "Sage",
    "Skyler",
    "Taylor",
    "Jamie",
    "Alex",
    "Cameron",
    "Drew",
    "Hayden",
    "Jesse",
    "Lee",
    "Micah",
    "Noel",
    "Robin",
    "Shawn",
]
LAST_NAMES = [
    "Anderson",
    "Baker",
    "Carter",
    "Dawson",
    "Ellis",
    "Foster",
    "Garcia",
    "Hughes",
    "Irving",
    "Jensen",
    "Keller",
    "Lopez",
    "Mitchell",
    "Nguyen",
    "Owens",
    "Patel",
    "Ramirez",
    "Schultz",
    "Thompson",
    "Underwood",
    "Vasquez",
    "Walker",
    "Young",
    "Zimmerman",
    "Brooks",
    "Coleman",
    "Duncan",
    "Fischer",
    "Grant",
    "Holt",
]


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def read_populations(data: Path) -> dict[str, int]:
    """MO-606 county populations (Clay and Platte counted whole, as the policy does)."""
    path = data / "mo-county-population-2020.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {r["county"]: int(r["population"]) for r in rows if r["coc"].startswith("MO-606")}


def region_of_county() -> dict[str, str]:
    return {county: region for region, counties in REGION_COUNTIES.items() for county in counties}


class _People:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()
        self.next_user = 4101

    def name(self) -> str:
        while True:
            name = f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"
            if name not in self.used:
                self.used.add(name)
                return name

    def user_id(self) -> str:
        self.next_user += self.rng.randint(1, 7)
        return str(self.next_user)


def build_licenses(
    rng: random.Random,
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Licenses and appeals: hand-placed cases for each rule, then realistic bulk."""
    people = _People(rng)
    licenses: list[dict[str, object]] = []

    def add(org: str, license_type: str, granted: str, **fields: object) -> str:
        license_id = f"L-{1001 + len(licenses)}"
        row: dict[str, object] = {
            "license_id": license_id,
            "user": people.name(),
            "organization": org,
            "license_type": license_type,
            "hmis_user_id": people.user_id(),
            "granted_on": _d(granted),
            "level4_list_holder": "No",
        }
        for key, value in fields.items():
            row[key] = _d(value) if isinstance(value, str) and value[:2] == "20" else value
        licenses.append(row)
        return license_id

    # §1.E1: an organization whose only license is inactive keeps it.
    add(
        "Lafayette County Helping Hands",
        "CE Access Only",
        "2024-03-04",
        first_sign_in="2024-03-06",
        last_client_data_entry="2026-04-17",
        client_entries_window=0,
        last_login="2026-11-02",
    )
    # §1.E1: both licenses inactive; the one with the latest client data is kept.
    add(
        "Gasconade Valley Services",
        "CE Access Only",
        "2023-10-02",
        first_sign_in="2023-10-03",
        last_client_data_entry="2026-03-30",
        client_entries_window=0,
        last_login="2026-05-01",
    )
    add(
        "Gasconade Valley Services",
        "Other Funded",
        "2024-06-10",
        first_sign_in="2024-06-12",
        last_client_data_entry="2025-12-19",
        client_entries_window=0,
    )
    # §1.E2 vs §1.E1: all three inactive, one is a Level 4 List Holder, so no sole-license
    # exemption: the other two stay eligible.
    add(
        "Dunklin County Shelter",
        "CE Access Only",
        "2022-08-15",
        first_sign_in="2022-08-15",
        last_client_data_entry="2026-02-11",
        client_entries_window=0,
        level4_list_holder="Yes",
    )
    add(
        "Dunklin County Shelter",
        "Housing Project",
        "2023-01-09",
        first_sign_in="2023-01-10",
        last_client_data_entry="2026-01-28",
        client_entries_window=0,
        last_login="2026-10-30",
    )
    add(
        "Dunklin County Shelter",
        "Housing Project",
        "2025-11-03",
        first_sign_in="2025-11-04",
        client_entries_window=0,
    )
    # §1.E3 special request for one license and for a whole organization.
    special = add(
        "Columbia Interfaith Shelter",
        "Housing Project",
        "2021-05-17",
        first_sign_in="2021-05-18",
        last_client_data_entry="2026-03-12",
        client_entries_window=0,
        last_login="2026-11-18",
    )
    add(
        "Rolla Mission",
        "Housing Project",
        "2022-02-01",
        first_sign_in="2022-02-01",
        last_client_data_entry="2026-04-02",
        client_entries_window=0,
    )
    add(
        "Rolla Mission",
        "Other Funded",
        "2024-09-23",
        first_sign_in="2024-09-24",
        last_client_data_entry="2026-01-05",
        client_entries_window=0,
    )
    # An expired special request and a pending one do not exempt.
    expired = add(
        "Capital City Housing Services",
        "Other Funded",
        "2023-04-03",
        first_sign_in="2023-04-04",
        last_client_data_entry="2026-02-20",
        client_entries_window=0,
    )
    pending = add(
        "Sedalia Hope House",
        "Housing Project",
        "2022-11-14",
        first_sign_in="2022-11-15",
        last_client_data_entry="2026-05-01",
        client_entries_window=0,
        last_login="2026-11-20",
    )
    # §1.1 boundary: client data exactly six months before the as-of date is still active.
    add(
        "Bolivar Community Table",
        "CE Access Only",
        "2024-01-08",
        first_sign_in="2024-01-09",
        last_client_data_entry="2026-05-24",
        client_entries_window=1,
    )
    # §1.1 never entered client data, granted before the window.
    add(
        "Branson Area Homeless Coalition",
        "Housing Project",
        "2026-01-15",
        first_sign_in="2026-01-20",
        client_entries_window=0,
        last_login="2026-09-09",
    )
    # §1.2 not signed in within 30 days; a new license still inside its 30 days; one
    # signed in late (not revocable for that).
    add(
        "Kirksville Community Shelter",
        "CE Access Only",
        "2026-09-15",
        client_entries_window=0,
    )
    add("Hannibal Family Resource Center", "Housing Project", "2026-11-10")
    add(
        "Cass County Crisis Center",
        "CE Access Only",
        "2026-08-03",
        first_sign_in="2026-09-21",
        last_client_data_entry="2026-11-19",
        client_entries_window=14,
    )
    # Revoked licenses are not judged; one revoked with a future date still is.
    add(
        "Pulaski County Community Services",
        "CE Access Only",
        "2023-06-05",
        first_sign_in="2023-06-06",
        last_client_data_entry="2025-11-30",
        revoked_on="2026-07-01",
    )
    add(
        "Vernon County Shelter",
        "Other Funded",
        "2024-02-12",
        first_sign_in="2024-02-13",
        last_client_data_entry="2026-10-28",
        client_entries_window=37,
        revoked_on="2026-12-31",
    )
    # CE licenses whose region was decided by a CE Lead or the CE Committee (§3.2).
    add(
        "Missouri Veterans Outreach Network",
        "CE Access Only",
        "2025-03-03",
        first_sign_in="2025-03-03",
        last_client_data_entry="2026-11-21",
        client_entries_window=212,
        region="Region 2",
    )
    add(
        "Great Rivers Domestic Violence Services",
        "CE Access Only",
        "2025-07-14",
        first_sign_in="2025-07-15",
        last_client_data_entry="2026-11-12",
        client_entries_window=96,
        region="Region 8",
    )
    # A license for an organization missing from the Organizations sheet (a Warning).
    add(
        "Iron County Food Pantry",
        "CE Access Only",
        "2025-05-05",
        first_sign_in="2025-05-06",
        last_client_data_entry="2026-10-15",
        client_entries_window=22,
        county="Iron County",
    )

    # A multi-region organization's CE license charged by its most average intakes (§3.2).
    add(
        "Missouri Veterans Outreach Network",
        "CE Access Only",
        "2024-10-07",
        first_sign_in="2024-10-08",
        last_client_data_entry="2026-11-20",
        client_entries_window=143,
    )

    # The other CE Access Only licenses, placed so that some regions are over their
    # allotment, some have licenses available, and one organization's intakes tie (§3.2).
    for org in CE_ACCESS_POINTS:
        _bulk_license(rng, add, org, "CE Access Only", state="active")
    # A CE license whose entry count is unknown (ranked by what is known, §4).
    add(
        "West Plains Neighbors",
        "CE Access Only",
        "2025-02-10",
        first_sign_in="2025-02-11",
        last_client_data_entry="2026-10-02",
    )

    type_weights = (("Housing Project", 0.52), ("Other Funded", 0.33), ("Self-Pay", 0.15))
    small_orgs = {
        "Lafayette County Helping Hands",
        "Gasconade Valley Services",
        "Dunklin County Shelter",
        "Rolla Mission",
    }
    for org, _county in ORGANIZATION_LIST:
        if org in small_orgs:
            continue
        types = [name for name, _ in type_weights]
        weights = [weight for _, weight in type_weights]
        for _ in range(rng.randint(2, 4)):
            _bulk_license(rng, add, org, rng.choices(types, weights)[0])

    review = _review_cases(add)
    appeals = [
        {
            "appeal_id": "A-101",
            "filed_on": _d("2026-05-28"),
            "organization": "Columbia Interfaith Shelter",
            "license_id": special,
            "reason": "Special request",
            "decision": "Approved",
            "decided_on": _d("2026-06-15"),
            "exception_until": _d("2027-03-31"),
            "notes": "Case manager on FMLA leave until March.",
        },
        {
            "appeal_id": "A-102",
            "filed_on": _d("2026-08-19"),
            "organization": "Rolla Mission",
            "reason": "Inactivity revocation",
            "decision": "Approved",
            "decided_on": _d("2026-09-02"),
            "notes": "Annual reporting needs; licenses used for the HUD APR each autumn.",
        },
        {
            "appeal_id": "A-103",
            "filed_on": _d("2026-02-26"),
            "organization": "Capital City Housing Services",
            "license_id": expired,
            "reason": "Special request",
            "decision": "Approved",
            "decided_on": _d("2026-03-10"),
            "exception_until": _d("2026-10-31"),
            "notes": "Seasonal program; exception ran to the end of October.",
        },
        {
            "appeal_id": "A-104",
            "filed_on": _d("2026-10-01"),
            "organization": "Sedalia Hope House",
            "license_id": pending,
            "reason": "Special request",
            "decision": "Pending",
            "last_reviewed_on": _d("2026-11-05"),
            "notes": "Staff vacancy; new hire starts in January. Discussed 2026-11-05: HR"
            " letter requested.",
        },
        {
            "appeal_id": "A-105",
            "filed_on": _d("2026-07-07"),
            "organization": "Macon Area Helping Hands",
            "reason": "Inactivity revocation",
            "decision": "Denied",
            "decided_on": _d("2026-08-04"),
        },
        {
            "appeal_id": "A-106",
            "filed_on": _d("2026-11-10"),
            "organization": "Henry County Housing Connection",
            "region": "Region 3",
            "reason": "CE allotment denial",
            "decision": "Pending",
            "licenses_requested": 1,
            "notes": "Only access point in Henry County since the library closed.",
        },
        {
            "appeal_id": "A-107",
            "filed_on": _d("2026-09-21"),
            "organization": "Branson Area Homeless Coalition",
            "region": "Region 5",
            "reason": "Additional allotment request",
            "decision": "Pending",
            "last_reviewed_on": _d("2026-10-08"),
            "licenses_requested": 2,
            "notes": "Filed by the Region 5 CE Lead for the Taney and Stone county outreach.",
        },
        {
            "appeal_id": "A-108",
            "filed_on": _d("2026-04-13"),
            "organization": "Pulaski County Community Services",
            "region": "Region 6",
            "reason": "CE allotment revocation",
            "decision": "Denied",
            "decided_on": _d("2026-05-11"),
        },
        {
            "appeal_id": "A-109",
            "filed_on": _d("2026-09-08"),
            "organization": "Great Rivers Domestic Violence Services",
            "region": "Region 7",
            "reason": "Additional allotment request",
            "decision": "Approved",
            "decided_on": _d("2026-10-14"),
            "licenses_requested": 1,
            "granted_from": "Reassigned from Region 6",
            "notes": "Region 7 CE Lead's request; the CE Committee moved Region 6's spare license.",
        },
        {
            "appeal_id": "A-110",
            "filed_on": _d("2026-11-16"),
            "organization": review["level4_org"],
            "license_id": review["level4"],
            "reason": "Inactivity Appeal",
            "decision": "Pending",
            "notes": "The user runs the Region 4 priority list.",
        },
        {
            "appeal_id": "A-111",
            "filed_on": _d("2026-11-18"),
            "organization": "Lebanon Community Shelter",
            "region": "Region 2",
            "reason": "CE-Allotment Appeal",
            "decision": "Pending",
            "licenses_requested": 1,
            "notes": "Asked for a CE-only license for the new winter shelter.",
        },
    ]
    _record_revocations(licenses)
    return licenses, appeals


def _review_cases(add: object) -> dict[str, str]:
    """Rows for the monthly review (SPEC §8), added after the others so their IDs are new."""
    level4 = add(  # type: ignore[operator]
        "Jefferson County Community Partnership",
        "CE Access Only",
        "2021-03-01",
        first_sign_in="2021-03-02",
        last_client_data_entry="2026-04-02",
        client_entries_window=0,
        level4_list_holder="Yes",
        revoked_on="2026-11-12",
        revoked_by="HMIS Lead",
        revocation_reason="Inactivity §1.1",
    )
    add(  # type: ignore[operator]
        "Jefferson County Community Partnership",
        "Housing Project",
        "2022-06-13",
        first_sign_in="2022-06-14",
        last_client_data_entry="2026-02-27",
        client_entries_window=0,
        revoked_on="2026-11-03",
        revoked_by="HMIS Lead",
        revocation_reason="Inactivity §1.1",
    )
    # §1.2: a login is a sign-in, though First Sign-In was never filled in.
    add(  # type: ignore[operator]
        "Hannibal Family Resource Center",
        "Other Funded",
        "2026-10-01",
        last_login="2026-10-05",
    )
    # A reassigned license: the previous holder's entry is before the grant (a Warning).
    add(  # type: ignore[operator]
        "Sedalia Hope House",
        "Housing Project",
        "2026-09-01",
        first_sign_in="2026-09-03",
        last_client_data_entry="2026-03-15",
    )
    # On the watch list: its last entry, 2026-06-01, falls out of the window on 2026-12-02.
    add(  # type: ignore[operator]
        "Clay County Housing Alliance",
        "Housing Project",
        "2023-02-06",
        first_sign_in="2023-02-07",
        last_client_data_entry="2026-06-01",
        client_entries_window=4,
    )
    return {"level4": level4, "level4_org": "Jefferson County Community Partnership"}


def _record_revocations(licenses: list[dict[str, object]]) -> None:
    """Who revoked each license and why (SPEC §3 Licenses), where the row does not say."""
    for row in licenses:
        if row.get("revoked_on") is None or row.get("revoked_by"):
            continue
        ce = row["license_type"] == "CE Access Only"
        row["revoked_by"] = "CE Lead" if ce else "HMIS Lead"
        row["revocation_reason"] = "CE allotment §3" if ce else "Inactivity §1.1"


def _bulk_license(
    rng: random.Random, add: object, org: str, license_type: str, state: str | None = None
) -> None:
    """One license in a realistic state: mostly active, some inactive, new or revoked."""
    state = (
        state
        or rng.choices(
            ["active", "inactive", "never", "not_signed_in", "new", "revoked"],
            [0.78, 0.08, 0.02, 0.03, 0.03, 0.06],
        )[0]
    )

    def day(start: str, end: str) -> dt.date:
        a, b = _d(start).toordinal(), _d(end).toordinal()
        return dt.date.fromordinal(rng.randint(a, b))

    granted = day("2019-01-01", "2026-03-31")
    signed = granted + dt.timedelta(days=rng.randint(0, 12))
    fields: dict[str, object] = {"first_sign_in": signed.isoformat()}
    if state == "active":
        last = day("2026-06-01", "2026-11-23")
        fields.update(
            last_client_data_entry=max(last, signed).isoformat(),
            client_entries_window=rng.randint(3, 420),
            last_login=max(last, day("2026-11-01", "2026-11-23")).isoformat(),
        )
    elif state == "inactive":
        last = day("2025-06-01", "2026-05-10")
        fields.update(
            last_client_data_entry=max(last, signed).isoformat(),
            client_entries_window=0,
            last_login=day("2026-05-01", "2026-11-20").isoformat(),
        )
    elif state == "never":
        granted = day("2025-09-01", "2026-04-30")
        fields.update(
            first_sign_in=(granted + dt.timedelta(days=2)).isoformat(),
            client_entries_window=0,
        )
    elif state == "not_signed_in":
        granted = day("2026-07-01", "2026-10-15")
        fields = {"client_entries_window": 0}
    elif state == "new":
        granted = day("2026-10-28", "2026-11-20")
        fields = {}
    else:
        last = day("2025-01-01", "2026-04-30")
        fields.update(
            last_client_data_entry=max(last, signed).isoformat(),
            revoked_on=day("2026-05-01", "2026-11-15").isoformat(),
        )
    if license_type == "CE Access Only" and rng.random() < 0.05:
        fields["level4_list_holder"] = "Yes"
    add(org, license_type, granted.isoformat(), **fields)  # type: ignore[operator]


SAMPLE_NOTE = (
    "This is the sample workbook: regions and populations are real Missouri counties (2020"
    " Census); organizations, users and dates are fictional. As Of is 2026-11-24 on the"
    " Settings sheet, so the sample gives the same results on any day."
)
POLICY_WHERE = (
    "The sample uses the adopted policy shipped with hmis-licensing (policy.yaml in its"
    " policy folder) unless a policy.yaml is beside this workbook or the Settings sheet"
    " names one."
)


# §3 duties recorded for a few organizations (blank elsewhere: not recorded).
NOT_A_LEVEL_3_ACCESS_POINT = {"Barry County Helping Hand"}
NO_DATA_ENTRY_AGREEMENT = {"Ozark Youth Network"}


def _organization(org: str, county: str) -> dict[str, object]:
    slug = "".join(c if c.isalnum() else "-" for c in org.casefold()).strip("-")
    row: dict[str, object] = {
        "organization": org,
        "county": county,
        "contact_email": f"hmis@{slug.replace('--', '-')}.example.org",
    }
    if org in NOT_A_LEVEL_3_ACCESS_POINT:
        row["level3_access_point"] = "No"
    if org in NO_DATA_ENTRY_AGREEMENT:
        row["data_entry_agreement"] = "No"
    if org in CE_ACCESS_POINTS and org not in NOT_A_LEVEL_3_ACCESS_POINT:
        row["level3_access_point"] = "Yes"
    return row


def _write_sheet(book: object, spec: InputSheet, rows: Iterable[dict[str, object]]) -> None:
    """One input sheet, formatted as `hmis-licensing init` formats it."""
    write_input_sheet(book, spec, rows, license_types=adopted_license_types())


@functools.cache
def adopted_license_types() -> tuple[str, ...]:
    """The License Type drop-down: the types of the adopted policy."""
    return tuple(load_policy(adopted_policy_path()).license_types)


def build(data: Path, output: Path) -> Path:
    from openpyxl.styles import Font

    rng = random.Random(606)
    populations = read_populations(data)
    regions_by_county = region_of_county()
    missing = sorted(set(populations) ^ set(regions_by_county))
    if missing:
        raise SystemExit(f"county lists disagree: {missing}")

    book = new_workbook(POLICY_WHERE)
    instructions = book[INSTRUCTIONS]
    instructions.insert_rows(2)
    instructions["A2"] = SAMPLE_NOTE
    instructions["A2"].font = Font(name="Calibri", size=11, italic=True)

    region_totals: dict[str, int] = {}
    for county, region in regions_by_county.items():
        region_totals[region] = region_totals.get(region, 0) + populations[county]
    _write_sheet(
        book,
        REGIONS,
        (
            {
                "region": region,
                "population": region_totals[region],
                "ce_lead": lead,
                "ce_lead_email": email,
            }
            for region, (lead, email) in zip(REGION_COUNTIES, CE_LEADS, strict=True)
        ),
    )
    _write_sheet(
        book,
        COUNTIES,
        (
            {
                "county": county,
                "region": regions_by_county[county],
                "population": populations[county],
            }
            for region, counties in REGION_COUNTIES.items()
            for county in counties
        ),
    )
    _write_sheet(
        book,
        ORGANIZATIONS,
        (_organization(org, county) for org, county in ORGANIZATION_LIST),
    )
    _write_sheet(
        book,
        INTAKES,
        (
            {"organization": org, "region": region, "average_intakes": value}
            for org, region, value in INTAKE_LIST
        ),
    )
    licenses, appeals = build_licenses(rng)
    _write_sheet(book, LICENSES, licenses)
    _write_sheet(book, APPEALS, appeals)
    _write_sheet(
        book,
        SELF_PAY_REQUESTS,
        (
            {
                "request_id": "SP-1",
                "organization": "Barry County Helping Hand",
                "licenses_requested": 3,
                "years": 2,
            },
            {
                "request_id": "SP-2",
                "organization": "Lebanon Community Shelter",
                "licenses_requested": 1,
                "years": 1,
            },
            {
                "request_id": "SP-3",
                "organization": "Bootheel Family Services",
                "licenses_requested": 2,
                "years": 3,
            },
        ),
    )
    write_settings(book, settings_rows(AS_OF))
    save(book, output)
    return output


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    path = build(args.data, args.output)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
