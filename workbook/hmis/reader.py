"""Which route reads an export (pyarrow when installed, else the csv module), decided here only."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
from collections.abc import Generator
from pathlib import Path

from workbook.hmis.csv_route import DateCache, read_file_csv
from workbook.hmis.export import (
    CLIENT_BY_KEY,
    UTF8_BOM_AS_LATIN1,
    ExportActivity,
    ExportFile,
    FileRead,
    Progress,
    Tally,
    check_usable,
    export_files,
    open_text,
    read_date,
)

# ---------------------------------------------------------------------- the whole export

Reader = str  # "auto", "csv" or "pyarrow"


def fast_reader_available() -> bool:
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    return True


def address_space_capped() -> bool:
    """True under an address-space limit (`ulimit -v`, RLIMIT_AS), where "auto" takes the
    csv-module route: pyarrow's allocator and threads reserve far more address space than
    they use (1.7 GB for 120 MB on two cores) and, when a reservation is refused, pyarrow
    aborts the process (`std::bad_alloc`) or waits forever instead of raising."""
    try:
        import resource
    except ImportError:  # Windows has no such limit
        return False
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    return soft != resource.RLIM_INFINITY


def read_export_activity(
    export: Path,
    as_of: dt.date,
    window_start: dt.date,
    *,
    reader: Reader = "auto",
    progress: Progress | None = None,
    workers: int | None = None,
) -> ExportActivity:
    """Per-UserID client-data activity in an export, up to `as_of`.

    `workers`: how many processes the csv-module route reads files with at once (None:
    `csv_workers` decides, one per core for a large folder export). UsageError when no
    client data in it can be used (`check_usable`)."""
    if reader not in ("auto", "csv", "pyarrow"):
        raise ValueError(f"unknown reader {reader!r}")
    # (The cap is checked first: under one, pyarrow is not even imported.)
    use_arrow = reader == "pyarrow" or (
        reader == "auto" and not address_space_capped() and fast_reader_available()
    )
    activity = ExportActivity(export, as_of, window_start)
    with export_files(export) as found:
        client = [f for f in found if f.kind in CLIENT_BY_KEY.values()]
        activity.other_files = [f.name for f in found if f.kind not in CLIENT_BY_KEY.values()]
        export_file = next((f for f in found if f.kind == "Export"), None)
        if export_file is not None:
            _read_export_csv(export_file, activity)
        if progress is not None and not progress.start(sum(f.size for f in client)):
            progress = None
        try:
            tallies = _tallies(client, as_of, window_start, progress, use_arrow, workers)
            with contextlib.closing(tallies):  # an error here stops the worker processes
                for tally in tallies:
                    activity.files.append(tally.file)
                    tally.merge_into(activity)  # one file's users in memory at a time
        finally:
            if progress is not None:
                progress.finish()
    activity.files.sort(key=lambda f: f.name.casefold())
    activity.skipped.sort(key=lambda s: s.file.casefold())
    check_usable(activity)  # none of it usable: refused, each file named with why
    return activity


def _tallies(
    client: list[ExportFile],
    as_of: dt.date,
    window_start: dt.date,
    progress: Progress | None,
    use_arrow: bool,
    workers: int | None,
) -> Generator[Tally, None, None]:
    if use_arrow:
        from workbook.hmis.arrow_route import read_files_arrow

        yield from read_files_arrow(client, as_of, window_start, progress)
        return
    from workbook.hmis.side_by_side import (
        csv_workers,
        read_files_side_by_side,
        side_by_side_possible,
    )

    processes = csv_workers(client) if workers is None else workers
    if processes > 1 and side_by_side_possible(client):
        yield from read_files_side_by_side(
            client, as_of.isoformat(), window_start.isoformat(), progress, processes
        )
        return
    dates = DateCache()
    for source in client:
        tally = Tally(FileRead(source.name, source.kind))
        read_file_csv(source, tally, as_of.isoformat(), window_start.isoformat(), progress, dates)
        yield tally


def _read_export_csv(source: ExportFile, activity: ExportActivity) -> None:
    """CSVVersion and the export's period, from Export.csv (project-level, no client data)."""
    with open_text(source.open()) as text:
        rows = csv.reader(text)
        try:
            header = [h.replace(UTF8_BOM_AS_LATIN1, "").strip().casefold() for h in next(rows)]
            first = next(rows)
        except (StopIteration, csv.Error):
            return
    values = dict(zip(header, first, strict=False))
    activity.csv_version = values.get("csvversion", "").strip()
    for key, attribute in (("exportstartdate", "export_start"), ("exportenddate", "export_end")):
        day = read_date(values.get(key, ""))
        if isinstance(day, str):
            setattr(activity, attribute, dt.date.fromisoformat(day))
