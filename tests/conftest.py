"""Shared helpers: the adopted policy, policy variants, license rows and real .xlsx files."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, settings

from engine.model import LicenseRow, Policy
from policy import adopted_policy_path, load_policy, load_policy_bytes
from workbook.cli import SAMPLE_NAME
from workbook.layout import INPUT_SHEETS, NUMBER_FORMATS, InputSheet, Kind

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

# No test asserts a time: hypothesis's per-example deadline and its "input generation is
# slow" check are timings too, which a loaded CI machine fails at random.
settings.register_profile(
    "hmis-licensing", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("hmis-licensing")

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "workbook" / "sample" / SAMPLE_NAME
AS_OF = dt.date(2026, 11, 24)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.fixture(scope="session", autouse=True)
def _policy_record_in_a_folder_of_its_own(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Policies that passed the schema are recorded here, not in the user's cache folder
    (policy/validated.py); subprocesses inherit it."""
    os.environ["HMIS_LICENSING_CACHE"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def adopted() -> Policy:
    return load_policy(adopted_policy_path())


def policy_text(**replacements: str) -> str:
    """The adopted policy.yaml with `key: value` lines replaced, e.g. minimum="5"."""
    text = adopted_policy_path().read_text(encoding="utf-8")
    for key, value in replacements.items():
        text, count = re.subn(rf"(?m)^(\s*{key}:) .*$", rf"\g<1> {value}", text)
        assert count == 1, f"{key} not found exactly once in policy.yaml"
    return text


def policy_with(**replacements: str) -> Policy:
    return load_policy_bytes(policy_text(**replacements).encode(), "test-policy.yaml")


_license_counter = iter(range(1, 10**6))


def lic(
    granted_on: str = "2024-01-01",
    *,
    last: str | None = None,
    signed: str | None = "2024-01-02",
    org: str = "Org A",
    license_id: str | None = None,
    **fields: object,
) -> LicenseRow:
    """A license row; dates as ISO text for brevity."""
    values: dict[str, object] = {
        "license_id": license_id or f"L-{next(_license_counter)}",
        "user": "Test User",
        "organization": org,
        "license_type": "Housing Project",
        "granted_on": d(granted_on),
        "first_sign_in": d(signed) if signed else None,
        "last_client_data_entry": d(last) if last else None,
    }
    for key, value in fields.items():
        values[key] = (
            d(value) if isinstance(value, str) and key.endswith(("_on", "_login")) else value
        )
    return LicenseRow(**values)  # type: ignore[arg-type]


def write_workbook(path: Path, sheets: Mapping[str, Sequence[Sequence[object]]]) -> Path:
    """A real .xlsx with the given sheets (first row = headers), dates formatted as dates."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, dt.date):
                    cell.number_format = NUMBER_FORMATS[Kind.DATE]
                elif isinstance(cell.value, str):
                    cell.data_type = "s"  # text as staff typed it, even "=..."
    book.save(path)
    return path


def headers(spec: InputSheet) -> list[str]:
    return [c.header for c in spec.columns]


def minimal_sheets(
    licenses: Sequence[Mapping[str, object]] = (),
    *,
    organizations: Sequence[str] = ("Org A",),
    regions: Sequence[tuple[str, int]] = (("Region 1", 596788), ("Region 2", 2312642)),
    extra: Mapping[str, Sequence[Sequence[object]]] | None = None,
) -> dict[str, list[list[object]]]:
    """Input sheets in the SPEC layout; `licenses` rows are dicts keyed by header."""
    by_name = {s.name: s for s in INPUT_SHEETS}
    license_headers = headers(by_name["Licenses"])
    sheets: dict[str, list[list[object]]] = {
        "Regions": [["Region", "Population"], *[[r, p] for r, p in regions]],
        "Organizations": [["Organization", "County"], *[[o, None] for o in organizations]],
        "Licenses": [license_headers] + [[row.get(h) for h in license_headers] for row in licenses],
    }
    for name, rows in (extra or {}).items():
        sheets[name] = [list(r) for r in rows]
    return sheets


def read_sheet(path: Path, name: str) -> list[tuple[object, ...]]:
    book = openpyxl.load_workbook(path, data_only=True)
    try:
        return [tuple(r) for r in book[name].iter_rows(values_only=True)]
    finally:
        book.close()


def header_index(name: str) -> int:
    """The 0-based row of a sheet's header: result sheets have a title line above it."""
    from workbook.layout import RESULT_SHEETS
    from workbook.presentation import header_row

    found = [s for s in RESULT_SHEETS if s.name == name]
    return header_row(found[0]) - 1 if found else 0


def sheet_dicts(path: Path, name: str) -> list[dict[str, object]]:
    rows = read_sheet(path, name)
    at = header_index(name)
    head = [str(h) for h in rows[at]]
    # Rows formatted but empty (an input sheet's date formats run ahead of the data) are not rows.
    return [
        dict(zip(head, r, strict=False)) for r in rows[at + 1 :] if any(v is not None for v in r)
    ]
