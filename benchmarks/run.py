"""The performance benchmark: `hmis-licensing recalc` against the I/O floor and LibreOffice.

    python benchmarks/run.py                          # 1k, 10k and 100k licenses, 5 runs
    python benchmarks/run.py --sizes 10k --runs 7
    python benchmarks/run.py --sizes 60 --runs 1      # a tiny workbook, for a smoke test

Every process runs with its bytecode cached (in --work), as an installed package has it.
For each size, a seeded workbook (benchmarks/generate.py; kept in --work between runs)
and, one after another in interleaved rounds after a warm-up round (so that machine drift
hits all alike), three whole processes:

* `recalc`      - `hmis-licensing recalc WORKBOOK --output OUT` (what a user runs);
* `floor`       - /work/shared/bench/floor.py WORKBOOK OUT: read every sheet with
                  python-calamine and write result sheets of the same shape into a copy
                  of the zip, no policy logic (skipped, with a note, where it is absent);
* `libreoffice` - LibreOffice recalculating an equivalent formula workbook on load (two
                  formula columns: eligible for inactivity, and the regions' allotments;
                  no explanations), when `soffice` is installed;

and `recalc` and `floor` again, "next month", on the same workbook after last month's
recalc (as of the latest As Of in its history): the workbook as staff have it from the
second month on, with the result sheets of that run in it (which recalc replaces without
reading them, and the floor reads and copies).

Each is timed by wall clock and its own peak memory (wait4's ru_maxrss, measured by a
small helper process so that none counts this script's memory); medians (min-max),
and the ratios pair by pair within each round. Then the phases inside one recalc (read,
engine, result tables, layout, write), the engine alone, the Excel path's Python time for
1,000 licenses (xlwings' remote engine: payload in, actions out), and the start-up of
`hmis-licensing --version` and of the add-in's `main()` up to its first read.

A script that prints figures, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.generate import AS_OF, SEED, generate, size  # noqa: E402
from engine.dates import add_months  # noqa: E402

FLOOR = Path("/work/shared/bench/floor.py")
DEFAULT_WORK = Path(tempfile.gettempdir()) / "hmis-licensing-bench"


# ------------------------------------------------------------------------ processes


@dataclass
class Timed:
    walls: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)  # MiB


# The measured process is started by this small helper, not by the benchmark itself: on
# Linux a child's ru_maxrss includes the peak of the process that spawned it (exec records
# the spawning process's memory, with fork, vfork or posix_spawn alike, and a launcher
# that exec()s again keeps it), and the benchmark has built workbooks in memory. The
# helper starts from nothing, so its child's peak is the child's own.
_MEASURE = (
    "import json, os, subprocess, sys, time; "
    "started = time.perf_counter(); "
    "child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL); "
    "_pid, status, usage = os.wait4(child.pid, 0); "
    "wall = time.perf_counter() - started; "
    "print(json.dumps([wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)]))"
)


def run_process(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and the process's own peak RSS in MiB (wait4, in a fresh helper)."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *argv],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    try:
        wall, peak, code = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise SystemExit(f"{' '.join(argv[:4])} could not be measured:\n{done.stderr}") from None
    if code not in (0, 1):  # 1: the workbook has Errors, and is still written
        raise SystemExit(f"{' '.join(argv[:4])} failed ({code}):\n{done.stderr}")
    return wall, peak


def _summary(values: list[float], digits: int = 3) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    low, middle, high = min(values), statistics.median(values), max(values)
    return f"{middle:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"


# ----------------------------------------------------------------------- workbooks


def workbook_for(licenses: int, work: Path) -> Path:
    """The generated workbook of this size, built once per generator version."""
    source = (REPO / "benchmarks" / "generate.py").read_bytes()
    tag = hashlib.sha256(source + f"{licenses}:{SEED}".encode()).hexdigest()[:10]
    path = work / f"licenses-{licenses}-{tag}.xlsx"
    if not path.exists():
        started = time.perf_counter()
        generate(path.with_suffix(".tmp.xlsx"), licenses)
        path.with_suffix(".tmp.xlsx").replace(path)
        print(f"(generated {path.name} in {time.perf_counter() - started:.1f} s)", flush=True)
    return path


def formula_workbook(source: Path, destination: Path) -> Path:
    """The same licenses and regions with the rules as spreadsheet formulas: a column
    Eligible (no client data in six months, not revoked) and each region's Allotment."""
    if destination.exists():
        return destination
    import python_calamine
    import xlsxwriter

    book = python_calamine.CalamineWorkbook.from_path(str(source))
    try:
        licenses = book.get_sheet_by_name("Licenses").to_python()
        regions = book.get_sheet_by_name("Regions").to_python()
    finally:
        book.close()
    out = xlsxwriter.Workbook(str(destination), {"use_future_functions": True})
    dates = out.add_format({"num_format": "yyyy-mm-dd"})
    sheet = out.add_worksheet("Licenses")
    head = licenses[0]
    granted = head.index("Granted On")
    entry = head.index("Last Client Data Entry")
    revoked = head.index("Revoked On")
    letter = {i: xlsxwriter.utility.xl_col_to_name(i) for i in range(len(head) + 3)}
    sheet.write_row(0, 0, [*head, "Eligible"])
    sheet.write(0, len(head) + 2, "As Of")
    sheet.write_datetime(1, len(head) + 2, _moment(AS_OF), dates)
    as_of = f"${letter[len(head) + 2]}$2"
    for r, row in enumerate(licenses[1:], start=1):
        for c, value in enumerate(row):
            if hasattr(value, "year"):
                sheet.write_datetime(r, c, _moment(value), dates)
            elif value not in ("", None):
                sheet.write(r, c, value)
        n = r + 1
        g, e, v = (f"{letter[i]}{n}" for i in (granted, entry, revoked))
        sheet.write_formula(
            r,
            len(head),
            f'=IF(AND(OR({v}="",{v}>{as_of}),IF({e}="",{g},{e})<EDATE({as_of},-6)),"Yes","No")',
        )
    regions_sheet = out.add_worksheet("Regions")
    regions_sheet.write_row(0, 0, ["Region", "Population", "Allotment"])
    last = len(regions)
    for r, row in enumerate(regions[1:], start=1):
        regions_sheet.write(r, 0, row[0])
        regions_sheet.write(r, 1, row[1])
        regions_sheet.write_formula(r, 2, f"=MAX(1,ROUND(B{r + 1}/SUM($B$2:$B${last})*20,0))")
    out.close()
    return destination


def _moment(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time())  # type: ignore[arg-type]


def libreoffice_profile(work: Path) -> Path:
    """A LibreOffice profile that recalculates every formula on load (OOXMLRecalcMode 0)."""
    profile = work / "lo-profile"
    settings = profile / "user" / "registrymodifications.xcu"
    if not settings.exists():
        settings.parent.mkdir(parents=True, exist_ok=True)
        item = (
            '<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="{}"'
            ' oor:op="fuse"><value>0</value></prop></item>'
        )
        settings.write_text(
            '<?xml version="1.0" encoding="UTF-8"?><oor:items'
            ' xmlns:oor="http://openoffice.org/2001/registry"'
            ' xmlns:xs="http://www.w3.org/2001/XMLSchema"'
            ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            + item.format("OOXMLRecalcMode")
            + item.format("ODFRecalcMode")
            + "</oor:items>",
            encoding="utf-8",
        )
    return profile


# -------------------------------------------------------------------------- in process

PHASES = r"""
import datetime as dt, gc, json, sys, time
from pathlib import Path
gc.disable()  # as `recalc` runs (workbook/collector.py)
t0 = time.perf_counter()
import engine
import workbook.run as run
import workbook.xlsx.write as write
from workbook.xlsx.read import read_snapshot
spent = {}
def timed(name, function):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - started
    return wrapper
run.read_inputs = timed("read: tables", run.read_inputs)
run.result_tables = timed("result tables", run.result_tables)
engine.recalculate = timed("engine", engine.recalculate)
write.look = timed("layout", write.look)
path, out = Path(sys.argv[1]), Path(sys.argv[2])
t1 = time.perf_counter()
snapshot = read_snapshot(path)
t2 = time.perf_counter()
outcome = run.evaluate(snapshot, workbook_folder=path.parent, as_of=dt.date(2026, 11, 24),
                       today=dt.date(2026, 11, 24), now=dt.datetime.now(), ran_from="benchmark")
t3 = time.perf_counter()
write.save_results(path, out, outcome.tables, outcome.run_log)
t4 = time.perf_counter()
phases = {"import": t1 - t0, "read: cells": t2 - t1, **spent}
phases["write"] = t4 - t3 - spent["layout"]
print(json.dumps(phases))
"""

ENGINE_ALONE = r"""
import datetime as dt, json, sys, time
from pathlib import Path
import engine
from policy import adopted_policy_path, load_policy
from workbook.collector import collector_paused
from workbook.tables import read_inputs
from workbook.xlsx.read import read_snapshot
inputs = read_inputs(read_snapshot(Path(sys.argv[1]))).inputs
policy = load_policy(adopted_policy_path())
times = {"collector on": [], "collector paused": []}
for _ in range(int(sys.argv[2])):  # interleaved, so that drift hits both alike
    started = time.perf_counter()
    engine.recalculate(policy, inputs, dt.date(2026, 11, 24))
    times["collector on"].append(time.perf_counter() - started)
    with collector_paused():
        started = time.perf_counter()
        engine.recalculate(policy, inputs, dt.date(2026, 11, 24))
        times["collector paused"].append(time.perf_counter() - started)
print(json.dumps(times))
"""

EXCEL_PATH = r"""
import json, sys, time
from pathlib import Path
import xlwings as xw
from workbook.excel.book import recalculate
payload = json.loads(Path(sys.argv[1]).read_text())
times = {"payload in": [], "recalculate": [], "actions out": []}
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    book = xw.Book(json=payload)
    t1 = time.perf_counter()
    recalculate(book, workbook_folder=None)
    t2 = time.perf_counter()
    actions = json.dumps(book.json())
    t3 = time.perf_counter()
    for key, value in zip(times, (t1 - t0, t2 - t1, t3 - t2)):
        times[key].append(value)
print(json.dumps(times))
"""

ADDIN_START = r"""
import json, sys, time
from pathlib import Path
payload = json.loads(Path(sys.argv[1]).read_text())
class FirstRead(BaseException):
    pass
started = time.perf_counter()
import xlwings as xw
import hmis_licensing
import workbook.excel.book as book_module
book = xw.Book(json=payload)
xw.Book.caller = classmethod(lambda cls: book)
def first_read(book):
    raise FirstRead
book_module.read_book = first_read
try:
    hmis_licensing.main()
except FirstRead:
    print(json.dumps(time.perf_counter() - started))
"""


def child_json(code: str, *args: str) -> object:
    key = os.environ.get("XLWINGS_LICENSE_KEY", "noncommercial")  # xlwings' remote engine
    env = {**os.environ, "XLWINGS_LICENSE_KEY": key}
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO)},
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- report


def recalc_argv(book: Path, out: Path, as_of: dt.date = AS_OF) -> list[str]:
    return [
        sys.executable,
        "-m",
        "workbook.cli",
        "recalc",
        str(book),
        "--output",
        str(out),
        "--as-of",
        as_of.isoformat(),
        "--quiet",
    ]


def recalculated_last_month(book: Path) -> Path:
    """The workbook as its staff have it from the second month on: last month's review
    (the latest As Of in its history) written into it, result sheets and all."""
    path = book.with_name(book.stem + "-last-month.xlsx")
    if not path.exists():
        last_month = add_months(AS_OF, -1)  # the generator's last monthly run
        done = subprocess.run(
            recalc_argv(book, path, last_month), capture_output=True, text=True, check=False
        )
        if done.returncode not in (0, 1):  # 1: the workbook's own warnings/errors
            raise RuntimeError(f"could not recalculate {book} as of {last_month}: {done.stderr}")
    return path


# The ratios printed: each pair that compares like with like.
RATIOS = (
    ("recalc", "floor"),
    ("recalc", "libreoffice"),
    ("floor", "libreoffice"),
    ("recalc, next month", "floor, next month"),
)


def bench_size(licenses: int, work: Path, runs: int) -> None:
    book = workbook_for(licenses, work)
    later = recalculated_last_month(book)
    cases: dict[str, list[str]] = {"recalc": recalc_argv(book, work / "out.xlsx")}
    notes = []
    if FLOOR.exists():
        cases["floor"] = [sys.executable, str(FLOOR), str(book), str(work / "floor-out.xlsx")]
    else:
        notes.append(f"floor: {FLOOR} is not here, so it is not timed")
    cases["recalc, next month"] = recalc_argv(later, work / "out-next.xlsx")
    if FLOOR.exists():
        cases["floor, next month"] = [
            sys.executable,
            str(FLOOR),
            str(later),
            str(work / "floor-out-next.xlsx"),
        ]
    soffice = shutil.which("soffice")
    if soffice:
        formulas = formula_workbook(book, book.with_name(book.stem + "-formulas.xlsx"))
        profile = libreoffice_profile(work)
        lo_out = work / "lo"
        cases["libreoffice"] = [
            soffice,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(lo_out),
            str(formulas),
        ]
    else:
        notes.append("libreoffice: soffice is not installed, so it is not timed")
    timed = {name: Timed() for name in cases}
    for round_number in range(runs + 1):  # round 0 warms up
        for name, argv in cases.items():
            wall, peak = run_process(argv)
            if round_number:
                timed[name].walls.append(wall)
                timed[name].peaks.append(peak)
    size_bytes = book.stat().st_size
    print(f"\n### {licenses:,} licenses ({size_bytes / 1e6:.1f} MB workbook), {runs} rounds\n")
    print("| process | wall s, median (min-max) | peak MiB, median |")
    print("| --- | --- | --- |")
    for name, t in timed.items():
        print(f"| {name} | {_summary(t.walls)} | {statistics.median(t.peaks):.0f} |")
    for a, b in RATIOS:
        if a not in timed or b not in timed:
            continue
        walls = [x / y for x, y in zip(timed[a].walls, timed[b].walls, strict=True)]
        peaks = [x / y for x, y in zip(timed[a].peaks, timed[b].peaks, strict=True)]
        print(f"| {a} / {b} | {_summary(walls, 2)} | {statistics.median(peaks):.2f} |")
    print(
        "\n(next month: the same workbook after last month's recalc, with the result sheets"
        f" that run wrote, as every workbook has from its second month: {later.name})"
    )
    for note in notes:
        print(f"\nNote: {note}.")
    # Each phase's median of three processes (one is too noisy on a shared machine).
    runs_of_phases = [
        child_json(PHASES, str(book), str(work / "phases-out.xlsx")) for _ in range(3)
    ]
    phases = {
        k: statistics.median(r[k] for r in runs_of_phases)  # type: ignore[index]
        for k in runs_of_phases[0]  # type: ignore[union-attr]
    }
    shown = ", ".join(f"{k} {v:.3f}" for k, v in phases.items())
    print(f"\nPhases inside one recalc (s, medians of 3, collector paused as recalc runs): {shown}")
    alone: dict[str, list[float]] = child_json(ENGINE_ALONE, str(book), str(max(3, runs)))  # type: ignore[assignment]
    on, paused = alone["collector on"], alone["collector paused"]
    print(
        f"engine.recalculate alone (s, median (min-max)): {_summary(on)};"
        f" with the cycle collector paused, as the commands run it: {_summary(paused)}"
    )


def bench_excel(work: Path, runs: int, licenses: int) -> None:
    """The Excel path for `licenses` licenses, and the add-in's start-up."""
    try:
        import xlwings  # noqa: F401

        from tests.xlwings_bridge import payload_from_xlsx
    except ImportError as exc:
        print(f"\nNote: the Excel path is not timed ({exc}).")
        return
    book = workbook_for(licenses, work)
    payload = work / f"payload-{book.stem}.json"
    if not payload.exists():
        payload.write_text(json.dumps(payload_from_xlsx(book)), encoding="utf-8")
    times = child_json(EXCEL_PATH, str(payload), str(max(3, runs)))
    shown = ", ".join(f"{k} {_summary(v)}" for k, v in times.items())  # type: ignore[union-attr]
    print(f"\nExcel path, {licenses:,} licenses, Python time (s): {shown}")
    starts = [child_json(ADDIN_START, str(payload)) for _ in range(max(3, runs))]
    print(f"Add-in main() up to its first read (s, in process): {_summary(starts)}")  # type: ignore[arg-type]


def bench_version(runs: int) -> None:
    argv = [sys.executable, "-m", "workbook.cli", "--version"]
    run_process(argv)
    walls = [run_process(argv)[0] for _ in range(max(5, runs))]
    bare = [run_process([sys.executable, "-c", "pass"])[0] for _ in range(max(5, runs))]
    print(f"\n`hmis-licensing --version` (whole process, s): {_summary(walls)}")
    print(f"(Python itself, `python -c pass`: {_summary(bare)})")


def machine() -> str:
    model = ""
    with Path("/proc/cpuinfo").open(encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with Path("/proc/meminfo").open(encoding="utf-8") as info:
        for line in info:
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
                break
    return f"{os.cpu_count()} cores ({model}), {memory}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="1k,10k,100k",
        help="comma-separated numbers of licenses: 1k, 10k, 100k or a number",
    )
    parser.add_argument("--runs", type=int, default=5, help="timed rounds per size")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="where workbooks go")
    parser.add_argument(
        "--excel-licenses", type=size, default=1000, help="licenses for the Excel path"
    )
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    # Every process measured runs with its bytecode cached, as an installed hmis-licensing
    # (pip compiles on install) and a checkout that has run once do: with
    # PYTHONDONTWRITEBYTECODE set, as in some CI and sandbox shells, each start-up compiles
    # every module again (0.3 s more for recalc). The warm-up round writes the cache.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(args.work / "bytecode")
    print(f"Machine: {machine()}; load average {os.getloadavg()[0]:.2f} at the start")
    for text in args.sizes.split(","):
        bench_size(size(text.strip()), args.work, args.runs)
    bench_excel(args.work, args.runs, args.excel_licenses)
    bench_version(args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
