"""How big Findings History gets: a simulated year of monthly reviews (SPEC §8).

    python benchmarks/history_growth.py                  # 10,000 licenses, 12 months
    python benchmarks/history_growth.py --licenses 1000 --months 3 --keep /tmp/hist

A workbook of N licenses (benchmarks/recalc_io.py's generator: the sample's inputs grown),
then one `hmis-licensing recalc` per month on the 24th, each a whole process. Between two
runs a share of the users enter client data (their Last Client Data Entry moves to a day in
the month before the run) and a few licenses are revoked, as a month of real work would do.
Printed per month: rows Findings History gained, its total, the sheet's compressed and
uncompressed size in the file, the file's size and the run's wall time. A script that
prints figures, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.recalc_io import generate  # noqa: E402
from workbook.layout import FINDINGS_HISTORY, LICENSES  # noqa: E402


def month_days(first: dt.date, months: int) -> list[dt.date]:
    days = []
    for n in range(months):
        year, month = divmod(first.month - 1 + n, 12)
        days.append(dt.date(first.year + year, month + 1, first.day))
    return days


def simulate_month(path: Path, as_of: dt.date, rng: random.Random, share: float) -> None:
    """Some users enter client data in the month before `as_of`; a few are revoked."""
    import openpyxl

    book = openpyxl.load_workbook(path)
    try:
        sheet = book[LICENSES.name]
        headers = [c.value for c in sheet[1]]
        entry = headers.index(LICENSES.column("last_client_data_entry").header) + 1
        revoked = headers.index(LICENSES.column("revoked_on").header) + 1
        for row in range(2, sheet.max_row + 1):
            if sheet.cell(row, revoked).value:
                continue
            draw = rng.random()
            if draw < share:
                day = as_of - dt.timedelta(days=rng.randrange(1, 31))
                sheet.cell(row, entry).value = day
                sheet.cell(row, entry).number_format = "yyyy-mm-dd"
            elif draw < share + 0.005:
                sheet.cell(row, revoked).value = as_of - dt.timedelta(days=3)
                sheet.cell(row, revoked).number_format = "yyyy-mm-dd"
        book.save(path)
    finally:
        book.close()


def history_figures(path: Path) -> tuple[int, int, int]:
    """Findings History's rows, compressed and uncompressed bytes in the file."""
    import python_calamine

    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        if FINDINGS_HISTORY.name not in workbook.sheet_names:
            return 0, 0, 0
        rows = len(workbook.get_sheet_by_name(FINDINGS_HISTORY.name).to_python()) - 1
        index = workbook.sheet_names.index(FINDINGS_HISTORY.name)
    finally:
        workbook.close()
    with zipfile.ZipFile(path) as archive:
        part = _sheet_part(archive, index)
        info = archive.getinfo(part)
        return rows, info.compress_size, info.file_size


def _sheet_part(archive: zipfile.ZipFile, index: int) -> str:
    import re

    book = archive.read("xl/workbook.xml").decode("utf-8")
    rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    ids = re.findall(r'<sheet [^>]*?r:id="([^"]+)"', book)
    targets = dict(re.findall(r'Id="([^"]+)"[^>]*?Target="([^"]+)"', rels))
    targets.update({k: v for v, k in re.findall(r'Target="([^"]+)"[^>]*?Id="([^"]+)"', rels)})
    target = targets[ids[index]]
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--licenses", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--share", type=float, default=0.3, help="users entering data a month")
    parser.add_argument("--keep", type=Path, help="keep the workbook in this folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="hmis-history-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = generate(folder / f"history-{args.licenses}.xlsx", args.licenses)
    rng = random.Random(20261201)
    print(
        f"{args.licenses:,} licenses, {args.months} monthly runs;"
        f" {args.share:.0%} of users enter client data each month, 0.5 % are revoked"
    )
    print("| As Of | rows added | history rows | sheet KB (zip) | sheet KB (xml) | file KB | s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    before = 0
    for number, as_of in enumerate(month_days(dt.date(2026, 12, 24), args.months)):
        if number:
            simulate_month(path, as_of, rng, args.share)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "workbook.cli", "recalc", str(path), "--as-of", str(as_of)],
            cwd=REPO,
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - started
        rows, packed, unpacked = history_figures(path)
        print(
            f"| {as_of} | {rows - before:,} | {rows:,} | {packed / 1024:,.0f}"
            f" | {unpacked / 1024:,.0f} | {path.stat().st_size / 1024:,.0f} | {seconds:.1f} |"
        )
        before = rows
    if args.keep is None:
        shutil.rmtree(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
