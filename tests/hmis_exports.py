"""Small HUD HMIS CSV exports written by the tests themselves (never copied from elsewhere).

Each client-data file gets a realistic column set (a subset of FY2024's, audit columns
last, as HUD orders them); every client field is filled with a distinctive marker value
so that a test can prove none of them reaches the workbook.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

AUDIT = ["DateCreated", "DateUpdated", "UserID", "DateDeleted", "ExportID"]
LAYOUTS: dict[str, list[str]] = {
    "Client": [
        "PersonalID",
        "FirstName",
        "MiddleName",
        "LastName",
        "NameSuffix",
        "NameDataQuality",
        "SSN",
        "SSNDataQuality",
        "DOB",
        "DOBDataQuality",
        "VeteranStatus",
        *AUDIT,
    ],
    "Enrollment": [
        "EnrollmentID",
        "PersonalID",
        "ProjectID",
        "EntryDate",
        "HouseholdID",
        "RelationshipToHoH",
        "EnrollmentCoC",
        "LivingSituation",
        *AUDIT,
    ],
    "EnrollmentCoC": [  # FY2022 only
        "EnrollmentCoCID",
        "EnrollmentID",
        "HouseholdID",
        "ProjectID",
        "PersonalID",
        "InformationDate",
        "CoCCode",
        "DataCollectionStage",
        *AUDIT,
    ],
    "Services": [
        "ServicesID",
        "EnrollmentID",
        "PersonalID",
        "DateProvided",
        "RecordType",
        "TypeProvided",
        "OtherTypeProvided",
        *AUDIT,
    ],
    "Exit": ["ExitID", "EnrollmentID", "PersonalID", "ExitDate", "Destination", *AUDIT],
    "CurrentLivingSituation": [
        "CurrentLivingSitID",
        "EnrollmentID",
        "PersonalID",
        "InformationDate",
        "CurrentLivingSituation",
        "LocationDetails",
        *AUDIT,
    ],
}
USER_LAYOUT = [
    "UserID",
    "UserFirstName",
    "UserLastName",
    "UserPhone",
    "UserExtension",
    "UserEmail",
    "DateCreated",
    "DateUpdated",
    "DateDeleted",
    "ExportID",
]
EXPORT_LAYOUT = [
    "ExportID",
    "SourceType",
    "SourceName",
    "ExportDate",
    "ExportStartDate",
    "ExportEndDate",
    "SoftwareName",
    "CSVVersion",
    "ExportPeriodType",
    "ExportDirective",
    "HashStatus",
    "ImplementationID",
]
PROJECT_LAYOUT = ["ProjectID", "OrganizationID", "ProjectName", "ProjectType", *AUDIT]

# Values no workbook would hold by chance: the privacy test looks for each of them.
MARKERS = {
    "FirstName": "Zebulon-MARKER-first",
    "MiddleName": "Quentin-MARKER-middle",
    "LastName": "Xanthopoulos-MARKER-last",
    "SSN": "987650123",
    "DOB": "1911-11-11",
    "PersonalID": "PID-MARKER-4242",
    "OtherTypeProvided": "bus tokens, MARKER-note",
    "LocationDetails": 'under the "MARKER" bridge',
    "HouseholdID": "HH-MARKER-9",
    "EnrollmentID": "ENR-MARKER-7",
}
PRIVATE_MARKERS = list(MARKERS.values())


def row(
    user: str,
    created: str = "",
    updated: str = "",
    deleted: str = "",
    **fields: str,
) -> dict[str, str]:
    """One client-data row; `created` defaults `updated` (HUD requires both)."""
    return {
        "UserID": user,
        "DateCreated": created,
        "DateUpdated": updated or created,
        "DateDeleted": deleted,
        **fields,
    }


def _values(layout: Sequence[str], given: Mapping[str, str], number: int) -> list[str]:
    values = []
    for column in layout:
        if column in given:
            values.append(given[column])
        elif column == "ExportID":
            values.append("1036")
        elif column in MARKERS:
            values.append(MARKERS[column])
        elif column.endswith("ID"):
            values.append(f"{column[:3]}{number}")
        else:
            values.append("99")
    return values


def export_files(
    files: Mapping[str, Sequence[Mapping[str, str]]],
    *,
    users: Sequence[str] = (),
    header: Callable[[str], str] = str,
    export_start: str = "2019-01-01",
    export_end: str = "2026-11-20",
    csv_version: str = "2024 v1.4",
) -> dict[str, list[list[str]]]:
    """File name -> rows (header first) of an export holding `files` plus the usual
    project-level files; `users` are the UserIDs listed in User.csv."""
    out: dict[str, list[list[str]]] = {}
    for stem, rows in files.items():
        layout = LAYOUTS[stem]
        out[f"{stem}.csv"] = [[header(c) for c in layout]] + [
            _values(layout, given, n) for n, given in enumerate(rows, start=1)
        ]
    stamp = "2026-11-20 08:00:00"
    out["User.csv"] = [USER_LAYOUT] + [
        [u, "Staff", f"Member{u}", "5735550100", "", f"u{u}@example.org", stamp, stamp, "", "1036"]
        for u in users
    ]
    out["Export.csv"] = [
        EXPORT_LAYOUT,
        [
            "1036",
            "1",
            "Test HMIS",
            stamp,
            export_start,
            export_end,
            "Test",
            csv_version,
            "1",
            "2",
            "1",
            "test",
        ],
    ]
    out["Project.csv"] = [
        PROJECT_LAYOUT,
        ["P1", "O1", "Shelter", "0", stamp, stamp, "1", "", "1036"],
    ]
    return out


def csv_bytes(
    rows: Sequence[Sequence[str]],
    *,
    bom: bool = False,
    quote_all: bool = False,
    encoding: str = "utf-8",
    line_end: str = "\r\n",
) -> bytes:
    text = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    csv.writer(text, quoting=quoting, lineterminator=line_end).writerows(rows)
    data = text.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def write_folder(folder: Path, files: Mapping[str, Sequence[Sequence[str]]], **options) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        (folder / name).write_bytes(csv_bytes(rows, **options))
    return folder


def write_zip(
    path: Path,
    files: Mapping[str, Sequence[Sequence[str]]],
    *,
    inner_folder: str = "",
    **options,
) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        if inner_folder:
            archive.writestr(inner_folder.rstrip("/") + "/", b"")
        for name, rows in files.items():
            member = f"{inner_folder.rstrip('/')}/{name}" if inner_folder else name
            archive.writestr(member, csv_bytes(rows, **options))
    return path
