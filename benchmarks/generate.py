"""Seeded, realistic workbooks for the benchmarks: 1k, 10k or 100k licenses.

    python benchmarks/generate.py 10000 /tmp/hmis-bench/licenses-10000.xlsx

Built the way `init` and the sample builder build a workbook (workbook/xlsx/inputbook.py,
the layout in workbook/layout.py), then given a year of history through the product's own
writer (workbook/xlsx/write.py: twelve monthly runs appended to Findings History and Run
Log). What is in it:

* the sample's ten regions and all Missouri Balance of State counties, with populations;
* about one organization per four licenses, each in a real county; one in thirty covers
  two or three regions (Intakes), and half of their CE licenses carry a Region (§3.2);
* licenses in the sample's mix of states (`_bulk_license`: mostly active, some inactive,
  never signed in, new, revoked with Revoked On/By/Reason), a fifth of them CE Access Only,
  Level 4 List Holders among those; organizations with one license (§1.E1);
* one appeal per forty licenses, of every reason and decision (pending ones reviewed
  before), special requests with and without an end date, CE-allotment requests with each
  Granted From;
* Self-Pay Requests and the Settings sheet (As Of 2026-11-24);
* Findings History: every license at the first of twelve monthly runs, then a few percent
  changing each month; Run Log: one row a run.

The same size and seed always give the same cell values.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from engine.model import APPEAL_REASONS, DECISIONS  # noqa: E402
from workbook.layout import (  # noqa: E402
    APPEALS,
    COUNTIES,
    FINDINGS_HISTORY,
    INTAKES,
    LICENSES,
    ORGANIZATIONS,
    REGIONS,
    SELF_PAY_REQUESTS,
    InputSheet,
)
from workbook.results import ResultTable, RunLogEntry  # noqa: E402
from workbook.sample.build import (  # noqa: E402
    FIRST_NAMES,
    LAST_NAMES,
    SAMPLE_NOTE,
    _bulk_license,
    _record_revocations,
    adopted_license_types,
)
from workbook.xlsx.inputbook import (  # noqa: E402
    new_workbook,
    save,
    settings_rows,
    write_input_sheet,
    write_settings,
)

SAMPLE = REPO / "workbook" / "sample" / "MoBoS-HMIS-Licensing-sample.xlsx"
AS_OF = dt.date(2026, 11, 24)
SEED = 20261124
LICENSE_TYPES = (("CE Access Only", 0.2), ("Housing Project", 0.42), ("Other Funded", 0.26))
LICENSE_TYPES += (("Self-Pay", 0.12),)
ORG_KINDS = ("Housing Alliance", "Family Shelter", "Community Services", "Outreach", "Mission")
SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000}


def size(text: str) -> int:
    """`1k`, `10k`, `100k` or a plain number of licenses."""
    return SIZES.get(text) or int(text.replace(",", "").replace("_", ""))


@functools.cache
def _sample_places() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The sample's Regions and Counties rows, read through the product's own reader."""
    from workbook.tables import read_inputs
    from workbook.xlsx.read import read_snapshot

    inputs = read_inputs(read_snapshot(SAMPLE)).inputs
    regions = [
        {
            "region": r.region,
            "population": r.population,
            "ce_lead": r.ce_lead,
            "ce_lead_email": r.ce_lead_email,
        }
        for r in inputs.regions
    ]
    counties = [
        {"county": c.county, "region": c.region, "population": c.population}
        for c in inputs.counties or ()
    ]
    return regions, counties


class _Licenses:
    """The sample builder's `add`, with numbered IDs and names for any number of users."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.rows: list[dict[str, object]] = []

    def add(self, org: str, license_type: str, granted: str, **fields: object) -> str:
        license_id = f"L-{100001 + len(self.rows)}"
        row: dict[str, object] = {
            "license_id": license_id,
            "user": f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"
            f" {len(self.rows) + 1}",
            "organization": org,
            "license_type": license_type,
            "hmis_user_id": str(500000 + len(self.rows)),
            "granted_on": dt.date.fromisoformat(granted),
            "level4_list_holder": "No",
        }
        for key, value in fields.items():
            dated = isinstance(value, str) and value[:2] == "20"
            row[key] = dt.date.fromisoformat(value) if dated else value  # type: ignore[arg-type]
        self.rows.append(row)
        return license_id


def _organizations(
    rng: random.Random, count: int, counties: list[dict[str, object]]
) -> list[dict[str, object]]:
    orgs = []
    for number in range(1, count + 1):
        county = rng.choice(counties)
        town = str(county["county"]).removesuffix(" County")
        name = f"{town} {rng.choice(ORG_KINDS)} {number}"
        orgs.append(
            {
                "organization": name,
                "county": county["county"],
                "contact_email": f"hmis{number}@org{number}.example.org",
                "region": county["region"],  # not a column: where its licenses are charged
            }
        )
    return orgs


def _intakes(
    rng: random.Random, orgs: list[dict[str, object]], regions: list[str]
) -> dict[str, list[str]]:
    """Organization -> the regions it covers, for one organization in thirty."""
    covered = {}
    for org in orgs[::30]:
        others = [r for r in regions if r != org["region"]]
        covered[str(org["organization"])] = [
            str(org["region"]),
            *rng.sample(others, rng.randint(1, 2)),
        ]
    return covered


def _licenses(
    rng: random.Random, total: int, orgs: list[dict[str, object]], covered: dict[str, list[str]]
) -> list[dict[str, object]]:
    book = _Licenses(rng)
    types = [name for name, _ in LICENSE_TYPES]
    weights = [weight for _, weight in LICENSE_TYPES]
    while len(book.rows) < total:
        for org in orgs:
            if len(book.rows) >= total:
                break
            name = str(org["organization"])
            for _ in range(min(rng.choice((1, 2, 3, 4, 4, 5, 6, 7)), total - len(book.rows))):
                _bulk_license(rng, book.add, name, rng.choices(types, weights)[0])
                row = book.rows[-1]
                ce = name in covered and row["license_type"] == "CE Access Only"
                if ce and rng.random() < 0.5:
                    row["region"] = rng.choice(covered[name])
    _record_revocations(book.rows)
    for row in book.rows:
        if row.get("revoked_on") is not None and rng.random() < 0.1:
            row["revocation_reason"] = "Other"
            row["revoked_by"] = "CE Committee"
    return book.rows


def _appeal(
    rng: random.Random, number: int, lic: dict[str, object], regions: list[str]
) -> dict[str, object]:
    filed = AS_OF - dt.timedelta(days=rng.randint(3, 300))
    reason = APPEAL_REASONS[number % len(APPEAL_REASONS)]
    decision = DECISIONS[(number // len(APPEAL_REASONS)) % len(DECISIONS)]
    appeal: dict[str, object] = {
        "appeal_id": f"A-{1000 + number}",
        "filed_on": filed,
        "organization": lic["organization"],
        "reason": reason,
        "decision": decision,
    }
    if decision == "Pending":
        if rng.random() < 0.5:
            appeal["last_reviewed_on"] = filed + dt.timedelta(days=rng.randint(1, 30))
    else:
        appeal["decided_on"] = min(filed + dt.timedelta(days=rng.randint(5, 40)), AS_OF)
    if reason in ("Inactivity revocation", "Special request"):
        appeal["license_id"] = lic["license_id"]
        if reason == "Special request" and decision == "Approved" and rng.random() < 0.8:
            appeal["exception_until"] = AS_OF + dt.timedelta(days=rng.randint(-60, 200))
    else:
        appeal["region"] = lic.get("region") or rng.choice(regions)
        appeal["licenses_requested"] = rng.randint(1, 3)
        if decision == "Approved":
            source = rng.choice(("Region allotment", "Additional from HMIS", "Reassigned"))
            if source == "Reassigned":
                source = f"Reassigned from {rng.choice(regions)}"
            appeal["granted_from"] = source
    if rng.random() < 0.3:
        appeal["notes"] = "Discussed at the committee meeting; letter on file."
    return appeal


def _history_months(
    rng: random.Random, licenses: list[dict[str, object]]
) -> list[tuple[dt.date, list[tuple[str, str, bool]]]]:
    """Twelve monthly runs before As Of: every license first, then a few changes each."""
    findings = (("Active", "", False), ("Inactive", "", True), ("Not signed in", "", True))
    findings += (("Inactive", "Sole license kept (§1.E1)", False), ("Not judged", "", False))
    weights = (0.78, 0.1, 0.03, 0.02, 0.07)
    ids = [str(row["license_id"]) for row in licenses]
    months = []
    for back in range(12, 0, -1):
        year, month = divmod(AS_OF.month - 1 - back, 12)
        as_of = AS_OF.replace(year=AS_OF.year + year, month=month + 1)
        chosen = ids if back == 12 else rng.sample(ids, len(ids) // 16)
        months.append((as_of, [(i, *rng.choices(findings, weights)[0]) for i in chosen]))
    return months


def input_rows(licenses: int, *, seed: int = SEED) -> dict[InputSheet, list[dict[str, object]]]:
    """Every input sheet's rows (dicts keyed by the layout's fields), Settings aside."""
    rng = random.Random(seed)
    regions, counties = _sample_places()
    region_names = [str(r["region"]) for r in regions]
    orgs = _organizations(rng, max(licenses // 4, 12), counties)
    covered = _intakes(rng, orgs, region_names)
    rows = _licenses(rng, licenses, orgs, covered)
    with_ce = {r["organization"] for r in rows if r["license_type"] == "CE Access Only"}
    for org in orgs:
        if org["organization"] in with_ce:
            org["level3_access_point"] = "Yes"
    appeals = [
        _appeal(rng, number, rng.choice(rows), region_names)
        for number in range(max(licenses // 40, len(APPEAL_REASONS) * len(DECISIONS)))
    ]
    intakes = [
        {"organization": org, "region": region, "average_intakes": rng.randint(4, 80) / 2}
        for org, covers in covered.items()
        for region in covers
    ]
    requests = [
        {
            "request_id": f"SP-{n}",
            "organization": orgs[n * 7 % len(orgs)]["organization"],
            "licenses_requested": n % 4 + 1,
            "years": n % 3 + 1,
        }
        for n in range(1, 11)
    ]
    return {
        REGIONS: regions,
        COUNTIES: counties,
        ORGANIZATIONS: orgs,
        INTAKES: intakes,
        LICENSES: rows,
        APPEALS: appeals,
        SELF_PAY_REQUESTS: requests,
    }


def history_rows(
    licenses: list[dict[str, object]], *, seed: int = SEED
) -> list[tuple[RunLogEntry, tuple[tuple[object, ...], ...]]]:
    """A year of monthly runs: each run's Run Log row and its Findings History rows."""
    rng = random.Random(seed + 1)
    runs = []
    for as_of, changes in _history_months(rng, licenses):
        run_at = dt.datetime.combine(as_of, dt.time(9, 30))
        rows = tuple(
            (run_at, as_of, license_id, finding, exception, "Yes" if eligible else "No")
            for license_id, finding, exception, eligible in changes
        )
        entry = RunLogEntry(
            run_at=run_at,
            as_of=as_of,
            policy_version="2025-09",
            policy_sha256="0" * 64,
            engine_version="0.9.0",
            licenses=len(licenses),
            eligible=sum(1 for r in rows if r[5] == "Yes"),
            errors=0,
            warnings=rng.randint(0, 12),
            policy_file="policy.yaml",
            ran_from="command line",
        )
        runs.append((entry, rows))
    return runs


def generate(path: Path, licenses: int, *, seed: int = SEED, history: bool = True) -> Path:
    """A workbook of `licenses` licenses at `path` (see the module's docstring)."""
    from workbook.xlsx.write import save_results

    sheets = input_rows(licenses, seed=seed)
    types = adopted_license_types()
    book = new_workbook(SAMPLE_NOTE)
    for spec, sheet_rows in sheets.items():
        write_input_sheet(book, spec, sheet_rows, license_types=types)
    write_settings(book, settings_rows(AS_OF))
    path.parent.mkdir(parents=True, exist_ok=True)
    save(book, path)
    if history:
        for entry, rows in history_rows(sheets[LICENSES], seed=seed):
            save_results(path, path, [ResultTable(FINDINGS_HISTORY, rows)], entry)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("licenses", type=size, help="1k, 10k, 100k or a number")
    parser.add_argument("output", type=Path)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    generate(args.output, args.licenses, seed=args.seed)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
