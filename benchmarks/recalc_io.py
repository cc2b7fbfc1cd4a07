"""Benchmark: `recalc` with the old openpyxl reader/writer against calamine + the zip writer.

    python benchmarks/recalc_io.py                       # the sample and 10,000 licenses
    python benchmarks/recalc_io.py --licenses 10000 --runs 7 --keep /tmp/hmis-bench

Two workbooks: the bundled sample (154 licenses) and a generated one of N licenses
(benchmarks/generate.py, the same seeded workbooks benchmarks/run.py times). For each,
whole processes are timed in interleaved pairs (old, new, old, new, ...,
after one warm-up each) so that machine drift hits both alike:

* `old` - the path `hmis-licensing recalc` took before: openpyxl read_only read, then
          openpyxl load + replace sheets + save (tests/openpyxl_reference.py);
* `new` - `hmis-licensing recalc` itself: python-calamine read plus the XML scan for
          uncalculated formulas and error cells, then the zip writer (workbook/xlsx/write.py).

Each figure is wall seconds, median (min-max), and the process's peak RSS. In-process
phase timings (read, evaluate, write) are printed too. This is a script that prints
figures, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SAMPLE = REPO / "workbook" / "sample" / "MoBoS-HMIS-Licensing-sample.xlsx"
AS_OF = "2026-11-24"

OLD = """
import datetime as dt, sys
from pathlib import Path
from workbook.run import evaluate
from tests.openpyxl_reference import read_snapshot, save_results
path = Path(sys.argv[1])
outcome = evaluate(read_snapshot(path), workbook_folder=path.parent,
                   as_of=dt.date(2026, 11, 24), today=dt.date.today(),
                   now=dt.datetime.now(), ran_from="benchmark")
save_results(path, path, outcome.tables, outcome.run_log)
"""

PHASES = """
import datetime as dt, json, sys, time
from pathlib import Path
path, route = Path(sys.argv[1]), sys.argv[2]
t0 = time.perf_counter()
from workbook.run import evaluate
if route == "old":
    from tests.openpyxl_reference import read_snapshot, save_results
else:
    from workbook.xlsx.read import read_snapshot
    from workbook.xlsx.write import save_results
t1 = time.perf_counter()
snapshot = read_snapshot(path)
t2 = time.perf_counter()
outcome = evaluate(snapshot, workbook_folder=path.parent, as_of=dt.date(2026, 11, 24),
                   today=dt.date.today(), now=dt.datetime.now(), ran_from="benchmark")
t3 = time.perf_counter()
save_results(path, path, outcome.tables, outcome.run_log)
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "read": t2 - t1, "evaluate": t3 - t2, "write": t4 - t3}))
"""


def _time(argv: list[str], workbook: Path, fresh: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one process run on a fresh copy."""
    shutil.copy(fresh, workbook)
    started = time.perf_counter()
    run = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *argv],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    wall = time.perf_counter() - started
    if run.returncode not in (0, 1):
        raise SystemExit(f"{argv[:3]} failed:\n{run.stderr}")
    peak_kib = int(run.stderr.strip().splitlines()[-1])
    return wall, peak_kib / 1024


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def bench(name: str, fresh: Path, folder: Path, runs: int) -> None:
    workbook = folder / f"run-{fresh.name}"
    routes = {
        "old": [sys.executable, "-c", OLD, str(workbook)],
        "new": [
            sys.executable,
            "-c",
            "import sys; from workbook.cli import main; sys.exit(main())",
            "recalc",
            str(workbook),
            "--as-of",
            AS_OF,
        ],
    }
    walls: dict[str, list[float]] = {"old": [], "new": []}
    peaks: dict[str, list[float]] = {"old": [], "new": []}
    ratios = []
    for route in routes:  # warm-up
        _time(routes[route], workbook, fresh)
    for _ in range(runs):
        pair = {}
        for route in ("old", "new"):
            wall, peak = _time(routes[route], workbook, fresh)
            walls[route].append(wall)
            peaks[route].append(peak)
            pair[route] = wall
        ratios.append(pair["old"] / pair["new"])
    print(f"\n{name} ({fresh.stat().st_size:,} bytes), {runs} pairs, whole process:")
    print("| route | wall s, median (min-max) | peak MiB |")
    print("| --- | --- | --- |")
    for route in ("old", "new"):
        print(f"| {route} | {_summary(walls[route])} | {statistics.median(peaks[route]):.1f} |")
    print(f"old/new, pair by pair: {_summary(ratios)}")
    print("In-process phases (seconds, median of 3):")
    for route in ("old", "new"):
        phases: dict[str, list[float]] = {}
        for _ in range(3):
            shutil.copy(fresh, workbook)
            out = subprocess.run(
                [sys.executable, "-c", PHASES, str(workbook), route],
                capture_output=True,
                text=True,
                cwd=REPO,
                check=True,
            )
            for key, value in json.loads(out.stdout.strip().splitlines()[-1]).items():
                phases.setdefault(key, []).append(value)
        shown = ", ".join(f"{k}={statistics.median(v):.3f}" for k, v in phases.items())
        print(f"  {route}: {shown}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--licenses", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="keep the generated workbooks here")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="hmis-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    sample = Path(shutil.copy(SAMPLE, folder / "sample.xlsx"))
    from benchmarks.generate import generate

    big = generate(folder / f"licenses-{args.licenses}.xlsx", args.licenses)
    bench("Sample workbook", sample, folder, args.runs)
    bench(f"Generated workbook, {args.licenses:,} licenses", big, folder, args.runs)
    if args.keep is None:
        shutil.rmtree(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
