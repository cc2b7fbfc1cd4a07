"""The bundled sample workbook: realistic, rebuilt by its script, every finding in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLE, sheet_dicts
from workbook.sample.build import DEFAULT_DATA, build
from workbook.sample.regions_data import REGION_COUNTIES

SHARED = DEFAULT_DATA / "mo-county-population-2020.csv"


def test_sample_regions_are_the_policy_populations() -> None:
    regions = {r["Region"]: r["Population"] for r in sheet_dicts(SAMPLE, "Regions")}
    assert len(regions) == 10
    assert regions["Region 1"] == 596_788
    assert sum(regions.values()) == 2_909_430  # type: ignore[arg-type]
    counties = sheet_dicts(SAMPLE, "Counties")
    assert len(counties) == 101
    assert sum(int(c["Population"]) for c in counties) == 2_909_430  # type: ignore[arg-type]
    assert {c["County"] for c in counties} == {
        county for group in REGION_COUNTIES.values() for county in group
    }


def test_sample_size_is_realistic() -> None:
    assert 35 <= len(sheet_dicts(SAMPLE, "Organizations")) <= 50
    licenses = sheet_dicts(SAMPLE, "Licenses")
    assert 130 <= len(licenses) <= 180
    assert {str(x["License Type"]) for x in licenses} == {
        "CE Access Only",
        "Housing Project",
        "Other Funded",
        "Self-Pay",
    }
    assert len(sheet_dicts(SAMPLE, "Appeals")) >= 5


@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared/data (the Census file)")
def test_sample_is_what_the_build_script_makes(tmp_path: Path) -> None:
    rebuilt = build(DEFAULT_DATA, tmp_path / "rebuilt.xlsx")
    for sheet in ("Regions", "Counties", "Organizations", "Intakes", "Licenses", "Appeals"):
        assert sheet_dicts(rebuilt, sheet) == sheet_dicts(SAMPLE, sheet), sheet


def test_sample_holds_no_client_level_fields() -> None:
    text = " ".join(str(h) for row in sheet_dicts(SAMPLE, "Licenses")[:1] for h in row).casefold()
    for forbidden in ("ssn", "birth", "dob", "client name", "personalid"):
        assert forbidden not in text
    assert (REPO / "workbook" / "sample" / "build.py").exists()
