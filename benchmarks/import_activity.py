"""Benchmark: `import-activity`'s aggregation against DuckDB's own GROUP BY, same files.

    python benchmarks/import_activity.py                  # 10 million rows, 3 runs each
    python benchmarks/import_activity.py --rows 1000000 --runs 5 --keep /tmp/hmis-1M

It writes a synthetic FY2024 HUD HMIS CSV export (every client-data file with its real
column set from ../shared/data/hmis-csv-columns-fy2022-2026.csv, Zipf-skewed UserIDs,
3 % deleted rows, `yyyy-mm-dd hh:mm:ss` datetimes, a few quoted fields with commas, some
rows dated after the as-of date, the project-level files beside them), then times, each
in its own fresh process so that peak memory is that process's own:

* `csv`    - hmis-licensing's pure-Python route (the csv module; always available; a large
             folder's files read side by side, one process per core);
* `arrow`  - hmis-licensing's fast route (pyarrow, `pip install hmis-licensing[fast]`);
* `duckdb` - DuckDB's own `GROUP BY` over the same client-data files, the same rule
             (latest of the three dates up to the as-of date, count in the window).

Runs are interleaved (csv, arrow, duckdb, csv, ...) so machine drift hits all alike.
Each reports wall seconds, CPU seconds (with its worker processes') and the process's own
peak RSS (VmHWM; for the csv route reading files side by side, plus the number of its
workers times the largest worker's peak: an upper bound), median (min-max); the script
checks that every route gives the same per-user result. This is a script that
prints figures, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COLUMNS_FILE = REPO.parent / "shared" / "data" / "hmis-csv-columns-fy2022-2026.csv"
AS_OF = dt.date(2026, 11, 24)
WINDOW_START = dt.date(2026, 5, 24)  # six months before, as the adopted policy says
USERS = 5000
SEED = 20261124

# Share of rows per client-data file, roughly as in HUD's DataLab sample export.
CLIENT_FILE_SHARES = {
    "Services": 0.30,
    "Disabilities": 0.24,
    "IncomeBenefits": 0.07,
    "HealthAndDV": 0.06,
    "Enrollment": 0.06,
    "EmploymentEducation": 0.05,
    "Exit": 0.05,
    "CurrentLivingSituation": 0.05,
    "Client": 0.04,
    "YouthEducationStatus": 0.03,
    "Assessment": 0.02,
    "AssessmentQuestions": 0.01,
    "AssessmentResults": 0.005,
    "Event": 0.005,
}
PROJECT_FILE_ROWS = {
    "Organization": 60,
    "Project": 240,
    "Funder": 300,
    "ProjectCoC": 260,
    "Inventory": 400,
    "Affiliation": 20,
    "HMISParticipation": 250,
    "CEParticipation": 120,
}
AUDIT = ("DateCreated", "DateUpdated", "UserID", "DateDeleted", "ExportID")
EXPORT_ID = "1036"


# ------------------------------------------------------------------------------ generate


def load_columns(path: Path, version: str = "2024") -> dict[str, list[tuple[str, str]]]:
    files: dict[str, list[tuple[str, str]]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["version"] == version:
                stem = row["file"].removesuffix(".csv")
                files.setdefault(stem, []).append((row["column"], row["type"]))
    return files


def _value(rng: random.Random, column: str, kind: str) -> str:
    """A plausible value for a non-audit column (most are blank or small codes)."""
    if column in ("FirstName", "LastName", "MiddleName"):
        return rng.choice(["Alex", "Jordan", "Casey", "Riley", "Morgan", "Taylor", ""])
    if column == "SSN":
        return f"{rng.randrange(100000000, 899999999)}"
    if column == "DOB":
        return f"{rng.randrange(1940, 2020)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    if column.endswith("ID"):
        return str(rng.randrange(1, 900000))
    if kind == "date":
        return "" if rng.random() < 0.5 else f"2025-{rng.randrange(1, 13):02d}-15"
    if kind == "integer":
        return rng.choice(["", "", "0", "1", "99", "8", "3"])
    if kind == "datetime":
        return ""
    roll = rng.random()
    if roll < 0.7:
        return ""
    if roll < 0.9:
        return "Other"
    return '"Food, clothing and ""bus"" tokens"'  # a quoted field with commas and quotes


def _datetimes(rng: random.Random, count: int) -> list[str]:
    """A sorted pool of activity times, 2019 to a little after the as-of date."""
    start = dt.datetime(2019, 1, 1)
    span = (dt.datetime(2026, 12, 20) - start).total_seconds()
    stamps = sorted(start + dt.timedelta(seconds=rng.random() * span) for _ in range(count))
    return [s.strftime("%Y-%m-%d %H:%M:%S") for s in stamps]


def generate(folder: Path, total_rows: int, columns_file: Path = COLUMNS_FILE) -> dict:
    """Write the export into `folder`; returns what was written."""
    rng = random.Random(SEED)
    layout = load_columns(columns_file)
    folder.mkdir(parents=True, exist_ok=True)
    user_ids = [str(4000 + n) for n in range(USERS)]
    weights = [1 / (rank + 1) ** 0.9 for rank in range(USERS)]  # a few users do most
    rng.shuffle(user_ids)
    cumulative = []
    running = 0.0
    for w in weights:
        running += w
        cumulative.append(running)
    pool = _datetimes(rng, 200_000)
    last = len(pool) - 1
    written = {}
    for stem, share in CLIENT_FILE_SHARES.items():
        columns = layout[stem]
        names = [c for c, _ in columns]
        if tuple(names[-5:]) != AUDIT:
            raise SystemExit(f"{stem}: unexpected audit columns {names[-5:]}")
        middle_columns = columns[1:-5]
        middles = [",".join(_value(rng, c, k) for c, k in middle_columns) for _ in range(512)]
        rows = max(1, round(total_rows * share))
        quoted_header = stem in ("Disabilities", "Assessment", "EmploymentEducation")
        header = ",".join(f'"{n}"' if quoted_header else n for n in names)
        path = folder / f"{stem}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            handle.write(header + "\r\n")
            done = 0
            while done < rows:
                n = min(100_000, rows - done)
                users = rng.choices(user_ids, cum_weights=cumulative, k=n)
                lines = []
                for offset, user in enumerate(users):
                    created = rng.randrange(last)
                    roll = rng.random()
                    updated = created if roll < 0.6 else min(last, created + rng.randrange(50_000))
                    deleted = pool[min(last, updated + rng.randrange(5_000))] if roll > 0.97 else ""
                    lines.append(
                        f"{done + offset + 1},{middles[(done + offset) & 511]},"
                        f"{pool[created]},{pool[updated]},{user},{deleted},{EXPORT_ID}\r\n"
                    )
                handle.write("".join(lines))
                done += n
        written[stem] = rows
    _project_files(folder, layout, rng, user_ids)
    return written


def _project_files(folder: Path, layout: dict, rng: random.Random, user_ids: list[str]) -> None:
    """The files an export has beside client data; import-activity does not read them."""
    stamp = "2026-11-20 08:00:00"
    for stem, rows in {**PROJECT_FILE_ROWS, "User": int(len(user_ids) * 0.8)}.items():
        names = [c for c, _ in layout[stem]]
        with (folder / f"{stem}.csv").open("w", encoding="utf-8", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(names)
            for n in range(rows):
                values = []
                for name, kind in layout[stem]:
                    if name == "UserID":
                        values.append(user_ids[n] if stem == "User" else user_ids[0])
                    elif name in ("DateCreated", "DateUpdated"):
                        values.append(stamp)
                    elif name == "ExportID":
                        values.append(EXPORT_ID)
                    else:
                        values.append(_value(rng, name, kind).strip('"'))
                out.writerow(values)
    export = {name: "" for name, _ in layout["Export"]}
    export.update(
        ExportID=EXPORT_ID,
        SourceType="1",
        ExportDate="2026-11-20 08:00:00",
        ExportStartDate="2019-01-01",
        ExportEndDate="2026-11-20",
        SoftwareName="benchmark",
        CSVVersion="2024 v1.4",
        ExportPeriodType="1",
        ExportDirective="2",
        HashStatus="1",
        ImplementationID="benchmark",
    )
    with (folder / "Export.csv").open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(export)
        out.writerow(export.values())


# ---------------------------------------------------------------------------------- run


def run_method(method: str, folder: Path, out: Path) -> None:
    """One timed process: aggregate the export, write per-user results for checking."""
    if method == "duckdb":
        users = _duckdb(folder)
    else:
        sys.path.insert(0, str(REPO))
        from workbook.hmis.reader import read_export_activity

        reader = {"csv": "csv", "arrow": "pyarrow"}[method]
        activity = read_export_activity(folder, AS_OF, WINDOW_START, reader=reader)
        users = {u.user_id: [u.rows, u.latest, u.window_rows] for u in activity.users.values()}
    peak = _own_peak_kib()
    if method == "csv":  # its worker processes (side_by_side.py): each as large as the largest
        from workbook.hmis.export import CLIENT_BY_KEY, export_files
        from workbook.hmis.side_by_side import csv_workers

        with export_files(folder) as found:
            workers = csv_workers([f for f in found if f.kind in CLIENT_BY_KEY.values()])
        if workers > 1:
            import resource

            peak += workers * resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out.write_text(json.dumps({"users": users, "peak_kib": peak}, sort_keys=True))


def _own_peak_kib() -> int:
    """This process's peak RSS since it started (VmHWM), in KiB.

    Not getrusage's ru_maxrss: Linux carries that over exec() from the forked parent, so a
    child of a large parent would report the parent's size.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _duckdb(folder: Path) -> dict[str, list]:
    """The same rule in DuckDB's SQL: a row's activity is the latest of its three dates on
    or before the as-of date; per UserID the latest activity and the rows in the window."""
    import duckdb

    cutoff = (AS_OF + dt.timedelta(days=1)).isoformat()

    def day(column: str) -> str:
        stamp = f"try_cast({column} AS TIMESTAMP)"
        return f"CASE WHEN {stamp} < TIMESTAMP '{cutoff}' THEN {stamp} END"

    selects = [
        f"SELECT UserID, DateCreated, DateUpdated, DateDeleted FROM read_csv("
        f"'{folder / (stem + '.csv')}', header = true, all_varchar = true)"
        for stem in CLIENT_FILE_SHARES
    ]
    sql = f"""
        WITH audit AS ({" UNION ALL ".join(selects)}),
        activity AS (
            SELECT UserID,
                   greatest({day("DateCreated")}, {day("DateUpdated")}, {day("DateDeleted")})
                       AS moment
            FROM audit)
        SELECT UserID, count(*), max(moment)::DATE,
               count(*) FILTER (WHERE moment >= TIMESTAMP '{WINDOW_START}')
        FROM activity GROUP BY UserID"""
    return {
        user: [rows, latest.isoformat() if latest else None, in_window]
        for user, rows, latest, in_window in duckdb.sql(sql).fetchall()
    }


def _available(method: str) -> bool:
    module = {"csv": "csv", "arrow": "pyarrow.csv", "duckdb": "duckdb"}[method]
    probe = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, check=False
    )
    return probe.returncode == 0


def _timed(method: str, folder: Path, out: Path) -> tuple[float, float, float, dict]:
    """Wall seconds of one child process (start to exit), its CPU seconds (user + system,
    all threads), its own peak RSS in MiB, and its per-user result."""
    command = [sys.executable, __file__, "--run", method, "--folder", str(folder)]
    command += ["--out", str(out)]
    start = time.perf_counter()
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{method} failed with exit code {child.returncode}")
    result = json.loads(out.read_text())
    return wall, usage.ru_utime + usage.ru_stime, result["peak_kib"] / 1024, result["users"]


def _figure(values: list[float], digits: int = 2) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return (
        f"{statistics.median(values):.{digits}f}"
        f" ({min(values):.{digits}f}-{max(values):.{digits}f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per method")
    parser.add_argument("--folder", type=Path, help="export folder (reused when it exists)")
    parser.add_argument("--keep", action="store_true", help="keep a generated temp folder")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_method(args.run, args.folder, args.out)
        return

    scratch = Path(tempfile.mkdtemp(prefix="hmis-bench-"))
    folder = args.folder or scratch / "export"
    marker = folder / ".generated-rows"
    if marker.exists() and marker.read_text() == str(args.rows):
        print(f"Reusing {folder}")
    else:
        if not COLUMNS_FILE.exists():
            raise SystemExit(f"{COLUMNS_FILE} is needed for the HUD column sets.")
        started = time.perf_counter()
        written = generate(folder, args.rows)
        marker.write_text(str(args.rows))
        print(
            f"Generated {sum(written.values()):,} client-data rows in {len(written)} files"
            f" in {time.perf_counter() - started:.0f} s: {folder}"
        )
    size = sum(p.stat().st_size for p in folder.glob("*.csv"))
    client_rows = sum(max(1, round(args.rows * share)) for share in CLIENT_FILE_SHARES.values())
    print(f"Export: {size / 1e9:.2f} GB of CSV; as of {AS_OF}, window from {WINDOW_START}")
    methods = [m for m in ("csv", "arrow", "duckdb") if _available(m)]
    missing = {"csv", "arrow", "duckdb"} - set(methods)
    if missing:
        print(f"Not installed, skipped: {', '.join(sorted(missing))}")
    print(f"Machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    walls: dict[str, list[float]] = {m: [] for m in methods}
    cpus: dict[str, list[float]] = {m: [] for m in methods}
    peaks: dict[str, list[float]] = {m: [] for m in methods}
    results: dict[str, dict] = {}
    for run in range(args.runs + 1):  # the first round warms the page cache: not counted
        for method in methods:
            out = scratch / f"{method}.json"
            wall, cpu, peak, results[method] = _timed(method, folder, out)
            if run:
                walls[method].append(wall)
                cpus[method].append(cpu)
                peaks[method].append(peak)
            print(
                f"  {'warm-up' if not run else f'run {run}'}: {method:6} {wall:6.2f} s"
                f" ({cpu:6.2f} s CPU) {peak:7.1f} MiB",
                flush=True,
            )
    reference = results[methods[0]]
    for method in methods[1:]:
        same = results[method] == reference
        print(
            f"{method} gives {'the same' if same else 'a DIFFERENT'} per-user result"
            f" as {methods[0]} ({len(reference):,} UserIDs)"
        )
    print()
    print("| route | wall s | CPU s (all cores) | peak MiB | rows/s | wall / DuckDB's (pairwise) |")
    print("| --- | --- | --- | --- | --- | --- |")
    names = {
        "csv": "hmis-licensing, csv module",
        "arrow": "hmis-licensing, pyarrow ([fast])",
        "duckdb": "DuckDB GROUP BY",
    }
    for method in methods:
        ratio = ""
        if "duckdb" in walls and method != "duckdb":
            pairs = [a / b for a, b in zip(walls[method], walls["duckdb"], strict=True)]
            ratio = _figure(pairs)
        rate = client_rows / statistics.median(walls[method]) / 1e6
        print(
            f"| {names[method]} | {_figure(walls[method])} | {_figure(cpus[method])} |"
            f" {_figure(peaks[method], 0)} | {rate:.2f} M | {ratio} |"
        )
    print("(median (min-max) of the timed runs)")
    if args.folder is None and not args.keep:
        shutil.rmtree(scratch)
    else:
        print(f"Kept {folder}")


if __name__ == "__main__":
    main()
