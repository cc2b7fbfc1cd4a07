"""Benchmark: the monthly review's documents on the sample and on a generated workbook.

    python benchmarks/review_documents.py [--licenses 10000] [--keep FOLDER]

Times `packet --committee performance`, `packet --committee ce` and `notices` as whole
processes (wall seconds and the process's peak memory, through /usr/bin/time as
recalc_io.py does), and prints the pages of each packet (pypdf) and the number of
drafts. The generated workbook is recalc_io.py's (the sample's regions, counties and
organizations, N seeded licenses). A script that prints figures, not a test.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from recalc_io import AS_OF, SAMPLE, _time, generate  # noqa: E402


def bench(name: str, fresh: Path, folder: Path) -> None:
    """Each command once, as a whole process (`recalc_io._time`: wall s, peak MiB)."""
    from pypdf import PdfReader  # the test extra

    print(f"{name}:")
    workbook = folder / fresh.name
    command = [sys.executable, "-m", "workbook.cli"]
    for committee in ("performance", "ce"):
        pdf = folder / f"{committee}.pdf"
        argv = [*command, "packet", str(workbook), "--committee", committee, "--output", str(pdf)]
        seconds, peak = _time([*argv, "--as-of", AS_OF], workbook, fresh)
        pages = len(PdfReader(pdf).pages)
        print(f"  packet {committee:11} {seconds:6.2f} s  {peak:6.0f} MiB  {pages} pages")
    drafts = folder / "drafts"
    argv = [*command, "notices", str(workbook), "--output", str(drafts), "--as-of", AS_OF]
    seconds, peak = _time(argv, workbook, fresh)
    count = len(list(drafts.glob("*.eml")))
    print(f"  notices            {seconds:6.2f} s  {peak:6.0f} MiB  {count} drafts")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--licenses", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="leave the files in this folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="hmis-review-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        for part in ("sample", "generated"):
            (folder / part).mkdir(exist_ok=True)
        bench("the sample", SAMPLE, folder / "sample")
        generated = generate(folder / "generated.xlsx", args.licenses)
        bench(f"{args.licenses:,} licenses", generated, folder / "generated")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
