"""The csv-module route: always available, one pass, four fields picked from each row.

Every other field of a row is split off by the csv parser and dropped at once. A large
folder export's files are read by several processes at once (`side_by_side.py`).
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from workbook.hmis.export import (
    DATE_COLUMNS,
    MAX_LINE_CHARS,
    MAX_USER_IDS,
    USER_ID,
    ExportFile,
    FileRead,
    Progress,
    Skip,
    Tally,
    counted,
    decode_user_id,
    header_positions,
    normalize_user_id,
    note_malformed,
    open_text,
    read_date,
    too_many_users,
    usable_columns,
    user_id_shaped,
)

_FIELD_LIMIT = MAX_LINE_CHARS  # a longer field is one row skipped, never held in memory


def read_file_csv(
    source: ExportFile,
    tally: Tally,
    as_of: str,
    window_start: str,
    progress: Progress | None,
    dates: DateCache | None = None,
) -> None:
    """The csv-module route: one pass, four fields picked from each row, the rest dropped."""
    previous_limit = csv.field_size_limit()
    csv.field_size_limit(_FIELD_LIMIT)
    try:
        with open_text(counted(source.open(), progress)) as text:
            _read_rows(text, tally, as_of, window_start, dates or DateCache())
    finally:
        csv.field_size_limit(previous_limit)


@functools.cache
def _every_iso_time() -> frozenset[str]:
    """Every `hh:mm:ss` and `hh:mm` of a day (87,840 strings, built in a few ms): with
    them known, no time in an export needs reading one by one."""
    minutes = [f"{h:02d}:{m:02d}" for h in range(24) for m in range(60)]
    return frozenset([*minutes, *(f"{hm}:{s:02d}" for hm in minutes for s in range(60))])


class DateCache:
    """What `read_date` said of each date (without its time) and each time seen so far.

    An export has a few thousand distinct days and at most 86,400 distinct times, but
    millions of distinct date-times: looking the two halves up is what makes the csv
    route fast. Only what `read_date` accepted is learned, so the cache can never say
    anything `read_date` would not.
    """

    LIMIT = 200_000

    def __init__(self) -> None:
        self.iso_days: dict[str, str] = {}
        self.us_days: dict[str, str] = {}
        self.iso_times: set[str] = set(_every_iso_time())  # HUD's own hh:mm:ss, known ahead
        self.us_times: set[str] = set()

    def read(self, value: str) -> str | Skip | None:
        """`read_date(value)`, remembering its halves when it was an ordinary date."""
        day = read_date(value)
        if isinstance(day, str) and value == value.strip():
            head, space, tail = value.partition(" ")
            if len(head) == 10 and head[4] == "-":
                days, times = self.iso_days, self.iso_times
            elif len(head) <= 10:
                days, times = self.us_days, self.us_times
            else:
                return day
            if len(days) < self.LIMIT:
                days[head] = day
            if space and len(times) < self.LIMIT:
                times.add(tail)
        return day


class _Feed:
    """The lines of a file, one at a time, for a csv.reader that shares them with a loop.

    Most lines of an export hold no quote character, and for those splitting at the
    commas is exactly what the csv module would do, several times faster on wide files
    (only the fields at the end, where HUD puts the audit columns, become strings). A
    line with a quote is handed to the csv reader, which takes further lines from the
    same iterator while a quoted field runs on (a note with a line break in it).
    """

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.first: str | None = None

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        if self.first is not None:
            line, self.first = self.first, None
            return line
        return next(self.lines)


def _bounded_lines(text: TextIO, file: FileRead, at: list[int]) -> Iterator[str]:
    """The file's lines, each at most MAX_LINE_CHARS long: a longer one is read through
    in pieces, counted and skipped, so it never sits in memory whole. `at[0]` is the
    number of the line last yielded (the header, read before, is line 1)."""
    limit = MAX_LINE_CHARS
    readline = text.readline
    while True:
        line = readline(limit)
        at[0] += 1
        if len(line) < limit or line.endswith(("\n", "\r")):
            if not line:
                return
            yield line
            continue
        while len(line) == limit and not line.endswith(("\n", "\r")):
            line = readline(limit)
        file.long_lines += 1


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where the audit fields are in a file's rows, from its header."""

    width: int
    splits: int  # a quote-free line split from the right: field i is parts[i - base]
    base: int
    user_index: int
    date_items: list[tuple[str, int]]


def _layout(text: TextIO, file: FileRead) -> _Layout | None:
    """The file's header read (None, with a note, when the file cannot be credited)."""
    first = text.readline(MAX_LINE_CHARS + 1)
    problem = ""
    header: list[str] = []
    if not first:
        problem = "empty file"
    elif len(first) > MAX_LINE_CHARS:
        problem = f"header line longer than {MAX_LINE_CHARS:,} characters"
    else:
        try:
            header = next(csv.reader([first]))
        except (csv.Error, StopIteration):
            problem = "header cannot be read"
    if problem:
        file.note = "; ".join(n for n in (file.note, problem) if n)
        file.unusable = True
        return None
    positions = header_positions(header)
    usable, note = usable_columns(positions, header)
    file.note = "; ".join(n for n in (file.note, note) if n)
    if not usable:
        file.unusable = True
        return None
    width = len(header)
    first_needed = min(positions.values())
    splits, base = (width - first_needed, first_needed - 1) if first_needed else (-1, 0)
    date_items = [(c, positions[c]) for c in DATE_COLUMNS if c in positions]
    return _Layout(width, splits, base, positions[USER_ID], date_items)


def _read_rows(text: TextIO, tally: Tally, as_of: str, window_start: str, dates: DateCache) -> None:
    file = tally.file
    layout = _layout(text, file)
    if layout is None:
        return
    at = [1]  # the line last read; the header was line 1
    lines = _bounded_lines(text, file, at)
    feed = _Feed(lines)
    reader = csv.reader(feed)
    width, commas, splits, base = layout.width, layout.width - 1, layout.splits, layout.base
    user_index, date_items = layout.user_index, layout.date_items
    per_user = tally.users
    rows = 0
    for line in lines:  # each row's other fields are dropped with it, unread
        if '"' in line:
            feed.first = line
            fields = _quoted_row(reader, width, lines, file, at[0])
            if not fields:
                continue
            offset = 0
        else:
            line = line.rstrip("\r\n")
            if line.count(",") != commas:
                if line:
                    note_malformed(file, at[0])
                continue
            fields = line.rsplit(",", splits)
            offset = base
        rows += 1
        best = _row_day(fields, offset, date_items, dates, tally, as_of)
        user_id = fields[user_index - offset]
        if not (user_id.isascii() and user_id.isalnum() and len(user_id) <= 32):
            user_id = _other_user_id(user_id, file)
            if not user_id:
                continue
        entry = per_user.get(user_id)
        if entry is None:
            if len(per_user) >= MAX_USER_IDS:
                raise too_many_users(file.name)
            entry = per_user[user_id] = [0, "", 0]
        entry[0] += 1
        if best:
            if best > entry[1]:
                entry[1] = best
            if best >= window_start:
                entry[2] += 1
    file.rows += rows


def _other_user_id(raw: str, file: FileRead) -> str:
    """A UserID that is not a short run of ASCII letters and digits, normalized; "" (the
    row counted on `file`) when blank or not shaped like a user ID (a shifted row's
    client name: never kept)."""
    user_id = normalize_user_id(_redecode(raw))
    if not user_id:
        file.rows_without_user += 1
        return ""
    if not user_id_shaped(user_id):
        file.rows_unshaped_user += 1
        return ""
    return user_id


def _quoted_row(
    reader: Iterator[list[str]], width: int, lines: Iterator[str], file: FileRead, line: int
) -> list[str]:
    """A row with a quote, beginning at `line`, read by the csv module (which may take
    more lines): its fields, or [] for a blank row or one that cannot be used (counted on
    `file` when its number of fields is not the header's)."""
    fields = _quoted_fields(reader, width, lines)
    if fields is None:
        note_malformed(file, line)
        return []
    return fields


def _quoted_fields(
    reader: Iterator[list[str]], width: int, lines: Iterator[str]
) -> list[str] | None:
    """A row with a quote, read by the csv module (which may take more lines): its
    fields, [] for a blank row, None for a row that cannot be used."""
    try:
        fields = next(reader)
    except csv.Error as exc:  # e.g. a NUL byte, a field over the limit: that row is not used
        if "field limit" in str(exc):  # skip the rest of the field: to its closing quote
            for line in lines:
                if line.count('"') % 2:
                    break
        return None
    except StopIteration:  # pragma: no cover - the reader was just fed a line
        return []
    if len(fields) != width:
        return None if fields else []
    return fields


def _row_day(
    fields: list[str],
    offset: int,
    date_items: list[tuple[str, int]],
    dates: DateCache,
    tally: Tally,
    as_of: str,
) -> str:
    """The row's activity day (the latest of its dates on or before `as_of`), or ""."""
    iso_days, us_days = dates.iso_days, dates.us_days
    iso_times, us_times = dates.iso_times, dates.us_times
    best = ""
    for column, index in date_items:
        value = fields[index - offset]
        if not value:
            continue
        head, space, tail = value.partition(" ")
        day = iso_days.get(head)
        if day is None or (space and tail not in iso_times):
            day = us_days.get(head)
            if day is None or (space and tail not in us_times):
                read = dates.read(value)  # anything out of the ordinary
                if isinstance(read, Skip):
                    tally.skip(column, read, value)
                    continue
                if read is None:
                    continue
                day = read
        if best < day <= as_of:
            best = day
    return best


def _redecode(text: str) -> str:
    """A Latin-1-decoded field read again as UTF-8 when its bytes are UTF-8."""
    try:
        return decode_user_id(text.encode("latin-1"))
    except UnicodeEncodeError:  # decoded as UTF-16 already
        return text
