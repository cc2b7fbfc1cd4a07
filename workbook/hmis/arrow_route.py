"""The fast route for reading an export: pyarrow's CSV reader, used when pyarrow is installed.

pyarrow parses each file in C++ and converts only the four audit columns (UserID as raw
bytes, the three dates as timestamps); the other fields of a row are tokenized and never
turned into values. Two files are read at a time, one per core. Each group of rows is
reduced to per-user totals (latest activity on or before the as-of date, rows in the
window) before the next is read, so memory stays flat however large the export.

Exactly the same result as the csv-module route, by construction: pyarrow reads only
`yyyy-mm-dd[ hh[:mm[:ss[.ffffff]]]]`, which `read_date` reads to the same day; a file with
any other date value (US order, a two-digit year, `NULL` in another spelling, a stray
space, a year 0000, ...), with a row of a different number of fields from the header
(whose line number only the csv module can tell) or that pyarrow cannot parse for any
other reason is handed back whole to the csv-module route. pyarrow's own error messages
are never shown: they can quote a row of client data.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from workbook.hmis.csv_route import read_file_csv
from workbook.hmis.export import (
    DATE_COLUMNS,
    USER_ID,
    ExportFile,
    FileRead,
    Progress,
    Tally,
    decode_user_id,
    header_positions,
    normalize_user_id,
    open_text,
    usable_columns,
    user_id_shaped,
)

BLOCK_BYTES = 1 << 20  # pyarrow parses 1 MB at a time; bigger blocks only cost memory
GROUP_ROWS = 500_000  # rows reduced to per-user totals at once
MAX_PARALLEL_FILES = 4
_NULLS = ["", "NULL", "null", "Null"]  # read_date treats these as blank too
_STAMP = pa.timestamp("us")
_YEAR_ONE = pa.scalar(dt.datetime(1, 1, 1), _STAMP)


class _HandBack(Exception):
    """This file goes to the csv-module route; the reason is for the summary."""


def read_files_arrow(
    files: list[ExportFile],
    as_of: dt.date,
    window_start: dt.date,
    progress: Progress | None,
) -> Iterator[Tally]:
    """One Tally per file, reading up to one file per core at a time, largest first;
    each is handed on as soon as it is done, so that its totals can be merged and let go."""
    order = sorted(files, key=lambda f: -f.size)
    workers = max(1, min(len(order), MAX_PARALLEL_FILES, os.cpu_count() or 1))

    def one(source: ExportFile) -> Tally:
        return _read_file(source, as_of, window_start, progress)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hmis-csv") as pool:
        yield from pool.map(one, order)


def _read_file(
    source: ExportFile, as_of: dt.date, window_start: dt.date, progress: Progress | None
) -> Tally:
    tally = Tally(FileRead(source.name, source.kind, reader="pyarrow"))
    counter = _Counter()
    try:
        _read_with_arrow(source, tally, as_of, window_start, progress, counter)
        return tally
    except (pa.ArrowException, _HandBack) as exc:
        reason = str(exc) if isinstance(exc, _HandBack) else "a value pyarrow does not read"
    if progress is not None:
        progress.rewind(counter.count)
    tally = Tally(FileRead(source.name, source.kind, reader="csv", note=f"{reason}; csv module"))
    read_file_csv(source, tally, as_of.isoformat(), window_start.isoformat(), progress)
    return tally


class _Counter(io.RawIOBase):
    """Counts the bytes pyarrow pulls, for the progress bar (and to rewind it)."""

    def __init__(self) -> None:
        self.inner: IO[bytes] | None = None
        self.progress: Progress | None = None
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        assert self.inner is not None
        data = self.inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        if self.progress is not None:
            self.progress.advance(n)
        return n


def _read_with_arrow(
    source: ExportFile,
    tally: Tally,
    as_of: dt.date,
    window_start: dt.date,
    progress: Progress | None,
    counter: _Counter,
) -> None:
    with source.open() as raw:
        if raw.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            raise _HandBack("UTF-16 text")
    with open_text(source.open()) as text:
        try:
            header = next(csv.reader(text))
        except (StopIteration, csv.Error) as exc:
            raise _HandBack("header not read by pyarrow") from exc
    positions = header_positions(header)
    usable, note = usable_columns(positions, header)
    tally.file.note = note
    if not usable:
        tally.file.unusable = True
        return
    names = [f"c{i}" for i in range(len(header))]
    user_column = names[positions[USER_ID]]
    date_columns = [names[positions[c]] for c in DATE_COLUMNS if c in positions]
    malformed = 0

    def count_malformed(row: pacsv.InvalidRow) -> str:
        nonlocal malformed
        malformed += 1
        return "skip"

    options = (
        pacsv.ReadOptions(
            column_names=names, skip_rows=1, block_size=BLOCK_BYTES, use_threads=True
        ),
        pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=count_malformed),
        pacsv.ConvertOptions(
            include_columns=[user_column, *date_columns],
            column_types={user_column: pa.binary(), **dict.fromkeys(date_columns, _STAMP)},
            null_values=_NULLS,
            strings_can_be_null=False,
            quoted_strings_can_be_null=True,
        ),
    )
    cutoff = pa.scalar(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time()), _STAMP)
    window = pa.scalar(dt.datetime.combine(window_start, dt.time()), _STAMP)
    with source.open() as raw:
        if progress is not None or source.path is None:
            counter.inner, counter.progress = raw, progress
            stream: object = io.BufferedReader(counter, buffer_size=BLOCK_BYTES)
        else:
            stream = str(source.path)  # pyarrow reads the file itself
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        for batch in pacsv.open_csv(stream, *options):
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= GROUP_ROWS:
                _reduce(pa.Table.from_batches(pending), tally, cutoff, window)
                pending, pending_rows = [], 0
        if pending:
            _reduce(pa.Table.from_batches(pending), tally, cutoff, window)
    if malformed:  # pyarrow cannot tell their line numbers (quoted line breaks): csv can
        raise _HandBack("rows with a different number of fields from the header")


def _reduce(table: pa.Table, tally: Tally, cutoff: pa.Scalar, window: pa.Scalar) -> None:
    """Per-user totals of a group of rows: the same rule as export.row_activity."""
    capped = []
    for column in table.columns[1:]:
        if column.null_count < len(column) and pc.less(pc.min(column), _YEAR_ONE).as_py():
            raise _HandBack("a date before the year 1")
        capped.append(pc.if_else(pc.less(column, cutoff), column, None))
    activity = capped[0] if len(capped) == 1 else pc.max_element_wise(*capped, skip_nulls=True)
    reduced = pa.table(
        {"user": table.column(0), "day": activity, "in_window": pc.greater_equal(activity, window)}
    )
    totals = reduced.group_by("user").aggregate(
        [("day", "max"), ("in_window", "sum"), ("user", "count")]
    )
    tally.file.rows += table.num_rows
    latest_days = pc.cast(totals.column("day_max"), pa.date32(), safe=False).to_pylist()
    for raw_user, latest, in_window, rows in zip(
        totals.column("user").to_pylist(),
        latest_days,
        totals.column("in_window_sum").to_pylist(),
        totals.column("user_count").to_pylist(),
        strict=True,
    ):
        user_id = normalize_user_id(decode_user_id(raw_user))
        if not user_id:
            tally.file.rows_without_user += rows
            continue
        if not user_id_shaped(user_id):  # a client's name, shifted: never kept
            tally.file.rows_unshaped_user += rows
            continue
        tally.add_user(user_id, rows, latest.isoformat() if latest else None, in_window or 0)
