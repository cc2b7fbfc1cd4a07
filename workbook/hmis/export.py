"""Who last entered or updated client data, read from a HUD HMIS CSV export (SPEC §7).

    activity = read_export_activity(Path("export.zip"), as_of, window_start)
    activity.users["4101"].latest        # 2026-11-02: the latest activity up to as-of
    activity.users["4101"].window_rows   # client-data rows with activity in the window

EXPORT is a zip (the files may sit in a folder inside it) or a folder of FY2022, FY2024 or
FY2026 HMIS CSV files. Only the client-data files are read (`CLIENT_DATA_FILES`), and of
them only four columns: UserID, DateCreated, DateUpdated, DateDeleted. Every other field
of a row (client names, SSN, date of birth, ...) is split off by the CSV parser and
dropped at once: nothing else is kept, returned, printed or written (privacy by
construction; the tests plant marker values in those fields and look for them).

The rules, one place each:

* `read_date(text)` - the date of one audit value, or why it is skipped. Accepted:
  `yyyy-mm-dd` and `yyyy-mm-dd hh:mm:ss` (the HUD spec; also `T` between, `hh` or `hh:mm`,
  fractions of a second), and `mm-dd-yyyy` / `mm/dd/yyyy` with an optional time
  (`h:mm[:ss]`, optionally AM/PM). Anything else is never guessed: two-digit years,
  day-first dates (31/12/2024), month names, impossible days. Blank and `NULL` are blank.
* `row_activity(dates, as_of)` - a row's activity date is the latest of its DateCreated,
  DateUpdated and DateDeleted *that are on or before the as-of date*. A row created in
  the window and updated after the as-of date was still client data entered in the
  window; dropping the whole row would hide it. A deleted row counts with its DateDeleted
  (deleting client data is working on it).
* Per UserID (`UserActivity`): rows credited, latest activity, and rows whose activity date
  falls in the §1.1 window `window_start <= day <= as_of`.
* `user_id_shaped(text)` - whether a UserID is shaped like one (`USER_ID_SHAPE`: 1 to 32
  letters, digits, `.`, `_`, `-`, `@`; HUD's UserID is S32, and real ones are numbers or
  short logins). A row whose UserID is not (a shifted row puts a client's name there) is
  counted and not used, and its UserID is never kept, printed or written.

Encoding: files are split into fields as Latin-1, which maps every byte to a character and
so never fails mid-file; a UTF-8 byte-order mark is dropped from the header. The only
text kept, the UserID, is then read as UTF-8 when its bytes are valid UTF-8, else as
Latin-1. Dates are ASCII in every accepted format, so other bytes in them are unreadable
dates. (A UTF-16 file, marked by its byte-order mark, is decoded as UTF-16.)

Two routes read the files and give the same result: the csv module (always available)
and, when pyarrow is installed (`pip install hmis-licensing[fast]`), `workbook.hmis.arrow_route`,
which hands a file back to the csv-module route whenever it meets a value it cannot read
exactly as `read_date` does.

Bounds (an export is a file from outside; memory must stay flat whatever it holds): the
client-data files may unpack to at most `MAX_EXPORT_BYTES` together, a zip member may not
unpack to more than `MAX_RATIO` times its size (a zip bomb does), checked before anything
is unpacked; a line longer than `MAX_LINE_CHARS` (a field too) is skipped and counted,
never held in memory; an export with more than `MAX_USER_IDS` different UserIDs is
refused. A damaged member (a bad checksum, an unknown compression method) is refused
with its name: "the file is damaged".
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import io
import re
import sys
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import IO, Any, TextIO

from engine.words import plural
from workbook.errors import UsageError
from workbook.xlsx.rawzip import ZIP_ERRORS

MAX_EXPORT_BYTES = 64 * 1024**3  # the client-data files, unpacked (a large HMIS: a few GB)
MAX_RATIO = 200  # unpacked ÷ packed size of a zip member; CSV packs 3-20 times, a bomb 1000
RATIO_FLOOR = 64 * 1024**2  # smaller members are not judged by their ratio
MAX_LINE_CHARS = 1 << 20  # one CSV line (and one field); HUD's widest rows are a few KB
MAX_USER_IDS = 100_000  # different UserIDs in one export; an HMIS has at most thousands

# ---------------------------------------------------------------------------- the files

CLIENT_DATA_FILES = (
    "Client",
    "Enrollment",
    "EnrollmentCoC",  # FY2022 only; FY2024 moved it into Enrollment
    "Exit",
    "IncomeBenefits",
    "HealthAndDV",
    "EmploymentEducation",
    "Disabilities",
    "Services",
    "CurrentLivingSituation",
    "Assessment",
    "AssessmentQuestions",
    "AssessmentResults",
    "Event",
    "YouthEducationStatus",
)
PROJECT_LEVEL_FILES = (
    "Export",
    "Organization",
    "User",
    "Project",
    "Funder",
    "ProjectCoC",
    "Inventory",
    "Affiliation",
    "HMISParticipation",
    "CEParticipation",
)
USER_ID = "UserID"
DATE_COLUMNS = ("DateCreated", "DateUpdated", "DateDeleted")
AUDIT_COLUMNS = (USER_ID, *DATE_COLUMNS)

CLIENT_BY_KEY = {name.casefold(): name for name in CLIENT_DATA_FILES}
_PROJECT_BY_KEY = {name.casefold(): name for name in PROJECT_LEVEL_FILES}
UTF8_BOM_AS_LATIN1 = codecs.BOM_UTF8.decode("latin-1")

# ------------------------------------------------------------------------------- dates


class Skip(Enum):
    """Why a date value was not used; each is reported with a count and an example."""

    TWO_DIGIT_YEAR = "two-digit year"
    DAY_FIRST = "day first"
    NO_SUCH_DAY = "no such day"
    NOT_A_DATE = "not in an accepted date format"


_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_US_DAY = re.compile(r"(\d{1,2})([-/])(\d{1,2})\2(\d{4})", re.ASCII)
_ISO_TIME = re.compile(r"(\d{1,2})(?::(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?", re.ASCII)
_US_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?: ?([AaPp])[Mm])?", re.ASCII)
_TWO_DIGIT_YEAR = re.compile(r"\d{1,2}([-/.])\d{1,2}\1\d{2}(?:[ T].*)?", re.DOTALL | re.ASCII)
_DAY_FIRST_DOTS = re.compile(r"\d{1,2}\.\d{1,2}\.\d{4}(?:[ T].*)?", re.DOTALL | re.ASCII)
# Examples of skipped values are shown only when they are shaped like a date attempt, so
# that a shifted row can never put a client's name or SSN into a warning.
_DATE_SHAPED = re.compile(
    r"(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{2}|\d{4})"
    r"|\d{1,2}[-/ ][A-Za-z]{3}[-/ ](?:\d{2}|\d{4}))"
    r"(?:[ T][0-9:. ]{1,15}(?:[AaPp][Mm])?)?",
    re.ASCII,
)


def _day(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _time_ok(hour: str, minute: str | None, second: str | None, meridiem: str | None) -> bool:
    h = int(hour)
    if meridiem is not None:
        if not 1 <= h <= 12:
            return False
    elif h > 23:
        return False
    return (minute is None or int(minute) < 60) and (second is None or int(second) < 60)


def _iso_time_ok(text: str) -> bool:
    match = _ISO_TIME.fullmatch(text)
    return match is not None and _time_ok(match[1], match[2], match[3], None)


def _us_time_ok(text: str) -> bool:
    match = _US_TIME.fullmatch(text)
    return match is not None and _time_ok(match[1], match[2], match[3], match[4])


def date_token_day(token: str) -> str | Skip:
    """The ISO day of a date without its time (`2026-11-02`, `11/02/2026`), or why not."""
    match = _ISO_DAY.fullmatch(token)
    if match:
        return _day(int(match[1]), int(match[2]), int(match[3])) or Skip.NO_SUCH_DAY
    match = _US_DAY.fullmatch(token)
    if match:
        month, day, year = int(match[1]), int(match[3]), int(match[4])
        if month > 12:
            return Skip.DAY_FIRST if 1 <= day <= 12 else Skip.NOT_A_DATE
        return _day(year, month, day) or Skip.NO_SUCH_DAY
    return _classify(token)


def time_token_ok(token: str, *, iso: bool) -> bool:
    """Whether what follows the date (after one space) is a time of day."""
    return _iso_time_ok(token) or _us_time_ok(token) if iso else _us_time_ok(token)


def read_date(text: str) -> str | Skip | None:
    """The ISO day (`yyyy-mm-dd`) of one audit date value; None when blank; else why not.

    Returned as text because ISO days compare in date order, which keeps the hot loop
    free of date objects.
    """
    value = text.strip()
    if not value or value.upper() == "NULL":
        return None
    head, space, tail = value.partition(" ")
    if not space and len(head) > 10 and head[10] == "T":
        head, tail = head[:10], head[11:]
        if not _ISO_DAY.fullmatch(head):
            return _classify(value)
        space = "T"
    day = date_token_day(head)
    if isinstance(day, Skip):
        return day if day is not Skip.NOT_A_DATE else _classify(value)
    if space and not time_token_ok(tail, iso=head[4] == "-"):
        return Skip.NOT_A_DATE
    return day


def _classify(value: str) -> Skip:
    if _TWO_DIGIT_YEAR.fullmatch(value):
        return Skip.TWO_DIGIT_YEAR
    if _DAY_FIRST_DOTS.fullmatch(value):
        return Skip.DAY_FIRST
    return Skip.NOT_A_DATE


def row_activity(days: tuple[str | None, ...], as_of: str) -> str | None:
    """A row's activity day: the latest of its readable days on or before `as_of`."""
    usable = [day for day in days if day is not None and day <= as_of]
    return max(usable) if usable else None


def shown_example(value: str) -> str:
    """A skipped value as it may be shown: only when it is shaped like a date."""
    value = value.strip()
    if len(value) <= 40 and _DATE_SHAPED.fullmatch(value):
        return value
    return f"(not shown: {len(value)} characters not shaped like a date)"


_WHOLE_DECIMAL = re.compile(r"(\d+)\.0+")


def normalize_user_id(raw: str) -> str:
    """A UserID as matched against the workbook's HMIS User ID, on both sides: spaces
    trimmed, and a whole number written with decimals (`4101.0`, as a spreadsheet or an
    export script may show 4101) is that number."""
    value = " ".join(raw.split())
    whole = _WHOLE_DECIMAL.fullmatch(value)
    return whole.group(1) if whole else value


# HUD: UserID is S32. Real ones are numbers (4101) or short logins (andre.ha); a value with a
# space, a comma, a slash, or longer than 32 characters is not one: a shifted row's client
# name or date of birth. Letters may be any alphabet's (josé).
USER_ID_SHAPE = re.compile(r"[\w.@-]{1,32}")


def user_id_shaped(user_id: str) -> bool:
    """Whether a (normalized) UserID is shaped like one; only such UserIDs are kept."""
    return USER_ID_SHAPE.fullmatch(user_id) is not None


def decode_user_id(raw: bytes) -> str:
    """UTF-8 when the bytes are valid UTF-8, else Latin-1 (never fails)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


# ---------------------------------------------------------------------------- results


@dataclass
class UserActivity:
    """One UserID's client-data activity in the export."""

    user_id: str
    rows: int = 0
    latest: str | None = None  # ISO day, on or before the as-of date
    window_rows: int = 0

    @property
    def latest_date(self) -> dt.date | None:
        return dt.date.fromisoformat(self.latest) if self.latest else None


@dataclass
class SkippedValues:
    """Unreadable values of one kind in one file and column: counted, one example."""

    file: str
    column: str
    reason: Skip
    count: int
    example: str

    def describe(self) -> str:
        noun = "value" if self.count == 1 else "values"
        return (
            f"{self.file} {self.column}: {self.count:,} {noun} skipped ({self.reason.value}),"
            f' e.g. "{self.example}"'
        )


@dataclass
class FileRead:
    name: str  # as found in the export, with any folder inside a zip
    kind: str  # the HUD file it is, e.g. "Services"
    rows: int = 0
    malformed_rows: int = 0  # a different number of fields from the header: not used
    malformed_lines: list[int] = field(default_factory=list)  # the first few, 1 = header
    long_lines: int = 0  # longer than MAX_LINE_CHARS: skipped unread
    rows_without_user: int = 0
    rows_unshaped_user: int = 0  # a UserID not shaped like one (never kept): not used
    unusable: bool = False  # the header cannot be read or lacks the columns: not read
    reader: str = "csv"  # "csv" or "pyarrow"
    note: str = ""  # e.g. why the fast reader handed it back; missing columns


@dataclass
class ExportActivity:
    """Everything an import learned from an export; no client-level data in it."""

    source: Path
    as_of: dt.date
    window_start: dt.date
    files: list[FileRead] = field(default_factory=list)
    other_files: list[str] = field(default_factory=list)  # project-level and unknown
    users: dict[str, UserActivity] = field(default_factory=dict)
    skipped: list[SkippedValues] = field(default_factory=list)
    csv_version: str = ""
    export_start: dt.date | None = None
    export_end: dt.date | None = None

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def malformed_rows(self) -> int:
        return sum(f.malformed_rows for f in self.files)

    @property
    def rows_without_user(self) -> int:
        return sum(f.rows_without_user for f in self.files)

    @property
    def rows_unshaped_user(self) -> int:
        return sum(f.rows_unshaped_user for f in self.files)

    @property
    def skipped_values(self) -> int:
        return sum(s.count for s in self.skipped)


MALFORMED_LINES_SHOWN = 5  # line numbers of rows with the wrong number of fields kept


def note_malformed(file: FileRead, line: int) -> None:
    """One row with a different number of fields from the header, at `line`."""
    file.malformed_rows += 1
    if len(file.malformed_lines) < MALFORMED_LINES_SHOWN:
        file.malformed_lines.append(line)


def unused_rows(file: FileRead) -> list[str]:
    """What of a read file's rows was not used, in words (no value of any row in them)."""
    found = []
    if file.malformed_rows:
        found.append(
            f"{plural(file.malformed_rows, 'row')} with a different number of fields from the"
            f" header ({lines_text(file)})"
        )
    if file.long_lines:
        found.append(f"{plural(file.long_lines, 'line')} longer than {MAX_LINE_CHARS:,} characters")
    if file.rows_unshaped_user:
        found.append(
            f"{plural(file.rows_unshaped_user, 'row')} whose UserID is not shaped like a user ID"
            " (not shown)"
        )
    if file.rows_without_user:
        found.append(f"{plural(file.rows_without_user, 'row')} without a UserID")
    return found


def lines_text(file: FileRead) -> str:
    """ "line 7", "lines 2, 3 and 7", "lines 2, 3, 5, 8, 9, ..." (the first few)."""
    shown_lines = [str(n) for n in file.malformed_lines]
    if len(shown_lines) == 1 and file.malformed_rows == 1:
        return f"line {shown_lines[0]}"
    if file.malformed_rows > len(shown_lines):
        return "lines " + ", ".join(shown_lines) + ", ..."
    return "lines " + ", ".join(shown_lines[:-1]) + " and " + shown_lines[-1]


def check_usable(activity: ExportActivity) -> None:
    """Refuse an export none of whose client data could be used: no client-data file has
    the audit columns (a file separated by semicolons, a report instead of the export), or
    no row of them could be credited and some were not used (every row with the wrong
    number of fields). Imported, it would look like an export in which nobody entered
    client data; each file is named with why."""
    used = [f for f in activity.files if not f.unusable]
    if used and (activity.users or not any(unused_rows(f) for f in used)):
        return
    reasons = []
    for file in activity.files:
        why = file.note if file.unusable else "; ".join(unused_rows(file)) or "no rows"
        reasons.append(f"    {file.name}: {why}")
    what = "no client-data file in it" if not used else "no row of its client-data files"
    separated = any("separated by" in f.note for f in activity.files)
    fix = (
        "HUD HMIS CSV files are comma-separated: export again from the HMIS as the HUD HMIS"
        " CSV export (not a file saved with another separator), and give that .zip or folder."
        if separated
        else "Export again from the HMIS as the HUD HMIS CSV export (FY2022, FY2024 or FY2026)"
        " and give that .zip or folder as it is (a file opened and saved in another program"
        " can lose its quotes, fields or columns)."
    )
    raise UsageError(
        f"{activity.source}: {what} could be used, so nothing was imported and the workbook"
        " was not changed:\n" + "\n".join(reasons),
        fix=fix,
    )


class Tally:
    """Per-user totals for one file, merged into the export's when the file is done.

    Kept per file so that a file the fast reader hands back can be read again from the
    start without counting anything twice.
    """

    def __init__(self, file: FileRead) -> None:
        self.file = file
        self.users: dict[str, list] = {}  # user id -> [rows, latest or "", window_rows]
        self.skipped: dict[tuple[str, Skip], list] = {}  # (column, reason) -> [count, ex]

    def add_user(self, user_id: str, rows: int, latest: str | None, window_rows: int) -> None:
        entry = self.users.get(user_id)
        if entry is None:
            if len(self.users) >= MAX_USER_IDS:
                raise too_many_users(self.file.name)
            self.users[user_id] = [rows, latest or "", window_rows]
            return
        entry[0] += rows
        if latest and latest > entry[1]:
            entry[1] = latest
        entry[2] += window_rows

    def skip(self, column: str, reason: Skip, raw: str, count: int = 1) -> None:
        entry = self.skipped.get((column, reason))
        if entry is None:
            self.skipped[(column, reason)] = [count, shown_example(raw)]
        else:
            entry[0] += count

    def merge_into(self, activity: ExportActivity) -> None:
        """Add this file's totals to the export's, and let go of them (so that memory
        holds one file's users at a time, not every file's)."""
        for user_id, (rows, latest, window_rows) in self.users.items():
            user = activity.users.get(user_id)
            if user is None:
                if len(activity.users) >= MAX_USER_IDS:
                    raise too_many_users(self.file.name)
                user = activity.users[user_id] = UserActivity(user_id)
            user.rows += rows
            if latest and (user.latest is None or latest > user.latest):
                user.latest = latest
            user.window_rows += window_rows
        self.users = {}
        for (column, reason), (count, example) in self.skipped.items():
            activity.skipped.append(SkippedValues(self.file.name, column, reason, count, example))


def too_many_users(file_name: str) -> UsageError:
    return UsageError(
        f"{file_name}: the export holds more than {MAX_USER_IDS:,} different UserIDs; an HMIS"
        " has at most a few thousand users, so this is not an HMIS CSV export's UserID"
        " column (it was not imported).",
        fix="Check that the file is the HUD HMIS CSV export, as the HMIS produced it.",
    )


# ----------------------------------------------------------------------- export files


@dataclass(frozen=True)
class ExportFile:
    name: str  # shown to people: "Services.csv" or "export-2026/Services.csv"
    kind: str  # "Services", or "" for a file that is not part of the HUD format
    size: int  # uncompressed bytes, for the progress bar
    open: Callable[[], IO[bytes]]
    path: Path | None = None  # a real file, which the fast reader may open itself


@contextlib.contextmanager
def export_files(export: Path) -> Iterator[list[ExportFile]]:
    """The CSV files of a zip or folder export, wherever they sit inside it."""
    if not export.exists():
        raise UsageError(f"{export}: no such file or folder.", fix="Check the export's path.")
    if export.is_dir():
        _refuse_unreadable_members(export)
        found = [
            ExportFile(
                _relative(p, export), _kind(p.name), p.stat().st_size, file_opener(p), path=p
            )
            for p in sorted(export.rglob("*"))
            if p.is_file() and p.suffix.lower() == ".csv" and not _hidden(p.relative_to(export))
        ]
        _check_one_export(export, found, nested_zips=[p.name for p in export.rglob("*.zip")])
        _check_sizes(export, found)
        yield found
        return
    if not export.is_file():
        raise UsageError(
            f"{export}: is not a file or folder (a device, pipe or socket).",
            fix="Give the HMIS CSV export's .zip or its folder.",
        )
    if not zipfile.is_zipfile(export):
        raise UsageError(
            f"{export}: is neither a folder nor a zip file.",
            fix="Give the HMIS CSV export as the .zip the HMIS produced, or a folder of its"
            " .csv files.",
        )
    try:
        archive = zipfile.ZipFile(export)
    except ZIP_ERRORS as exc:
        raise UsageError(
            f"{export}: the file is damaged: its list of files cannot be read ({exc}).",
            fix="Download or export it again from the HMIS.",
        ) from None
    with archive:
        found = []
        nested = []
        for info in archive.infolist():
            path = PurePosixPath(info.filename)
            if info.is_dir() or _hidden(path):
                continue
            if path.suffix.lower() == ".zip":
                nested.append(info.filename)
            if path.suffix.lower() != ".csv":
                continue
            if info.flag_bits & 0x1:
                raise UsageError(
                    f"{export}: {info.filename} is password-protected.",
                    fix="Export again without a password, or unzip it and give the folder.",
                )
            found.append(
                ExportFile(
                    info.filename,
                    _kind(path.name),
                    info.file_size,
                    _member_opener(export, archive, info),
                )
            )
        _check_one_export(export, found, nested_zips=nested)
        _check_sizes(export, found, {i.filename: i for i in archive.infolist()})
        yield found


def file_opener(path: Path) -> Callable[[], IO[bytes]]:
    """How a file of a folder export is opened (in this process or a worker's)."""
    return lambda: path.open("rb")


def _member_opener(
    export: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo
) -> Callable[[], IO[bytes]]:
    def opener() -> IO[bytes]:
        try:
            return io.BufferedReader(_Member(archive.open(info), export, info.filename))
        except (zipfile.BadZipFile, NotImplementedError, zlib.error, EOFError, OSError) as exc:
            raise _damaged_member(export, info.filename, exc) from None

    return opener


def _damaged_member(export: Path, name: str, exc: BaseException) -> UsageError:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return UsageError(
        f"{export}: the file is damaged: {name} cannot be unpacked ({reason}); nothing was"
        " imported.",
        fix="Download or export it again from the HMIS.",
    )


class _Member(io.RawIOBase):
    """A zip member's bytes, with zipfile's complaints about a damaged member (a bad CRC
    at its end, corrupt deflate data) turned into a message naming it."""

    def __init__(self, inner: IO[bytes], export: Path, name: str) -> None:
        self.inner = inner
        self.export = export
        self.name_in_zip = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self.inner.read(len(buffer))
        except (zipfile.BadZipFile, NotImplementedError, zlib.error, EOFError, OSError) as exc:
            raise _damaged_member(self.export, self.name_in_zip, exc) from None
        count = len(data)
        buffer[:count] = data
        return count

    def close(self) -> None:
        self.inner.close()
        super().close()


def _check_sizes(
    export: Path, found: list[ExportFile], infos: dict[str, zipfile.ZipInfo] | None = None
) -> None:
    """Refuse, before unpacking anything, an export that unpacks to more than any HMIS
    export (its sizes as declared: zipfile never unpacks more than a member declares)."""
    client = [f for f in found if f.kind in CLIENT_BY_KEY.values()]
    total = sum(f.size for f in client)
    if total > MAX_EXPORT_BYTES:
        raise UsageError(
            f"{export}: its client-data files unpack to {total:,} bytes, more than the"
            f" {MAX_EXPORT_BYTES:,} hmis-licensing reads; nothing was imported.",
            fix="Export a shorter period from the HMIS (the window needs six months).",
        )
    for f in client if infos is not None else ():
        info = infos[f.name]  # type: ignore[index]
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise UsageError(
                f"{export}: {f.name} would unpack to {info.file_size:,} bytes from"
                f" {info.compress_size:,}, more than {MAX_RATIO} times its size, as only a zip"
                " bomb does; nothing was imported.",
                fix="Do not open it; ask for the export again, exported by the HMIS itself.",
            )


def _refuse_unreadable_members(export: Path) -> None:
    """A HUD file of a folder export that is not a regular file (a named pipe, a device)
    is refused by name before anything is read: skipped, it would make the export look as
    if it had no such file (and opened, a pipe would hang the import)."""
    for path in sorted(export.rglob("*")):
        if path.suffix.lower() != ".csv" or _hidden(path.relative_to(export)) or path.is_file():
            continue
        if not _kind(path.name) or path.is_dir() or not path.exists():
            continue
        raise UsageError(
            f"{path}: is not a regular file (a device, pipe or socket), so the export cannot"
            " be read; the workbook was not changed.",
            fix=f"Put the export's own {path.name} in the folder in its place (export it"
            " again from the HMIS), or give the export's .zip.",
        )


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _hidden(path: PurePosixPath | Path) -> bool:
    """macOS zips carry __MACOSX/._Client.csv shadows; they are not export files."""
    return any(part.startswith((".", "__MACOSX")) for part in path.parts)


def _kind(file_name: str) -> str:
    stem = PurePosixPath(file_name).stem.casefold()
    return CLIENT_BY_KEY.get(stem) or _PROJECT_BY_KEY.get(stem) or ""


def _check_one_export(export: Path, found: list[ExportFile], nested_zips: list[str]) -> None:
    by_kind: dict[str, list[str]] = {}
    for f in found:
        if f.kind:
            by_kind.setdefault(f.kind, []).append(f.name)
    twice = {kind: names for kind, names in by_kind.items() if len(names) > 1}
    if twice:
        kind, names = next(iter(twice.items()))
        raise UsageError(
            f"{export}: holds more than one export ({kind}.csv appears as "
            + " and ".join(names)
            + ").",
            fix="Give one export at a time: its zip, or the folder holding its files.",
        )
    if not any(kind in CLIENT_BY_KEY.values() for kind in by_kind):
        hint = (
            f" It holds another zip ({nested_zips[0]}); unzip that one and give it instead."
            if nested_zips
            else ""
        )
        raise UsageError(
            f"{export}: no HMIS client-data files found (looked for "
            + ", ".join(f"{n}.csv" for n in CLIENT_DATA_FILES[:4])
            + ", ...)."
            + hint,
            fix="Give the HUD HMIS CSV export (FY2022, FY2024 or FY2026) as produced by the"
            " HMIS: a .zip, or a folder of its .csv files.",
        )


# ---------------------------------------------------------------------------- reading


def open_text(raw: IO[bytes]) -> TextIO:
    """The file as text, split-safe for any bytes (see the module docstring); closing it
    closes `raw`."""
    buffered = raw if isinstance(raw, io.BufferedIOBase) else io.BufferedReader(raw)  # type: ignore[type-var]
    head = buffered.peek(4)[:4] if hasattr(buffered, "peek") else b""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return io.TextIOWrapper(buffered, encoding="utf-16", newline="")
    return io.TextIOWrapper(buffered, encoding="latin-1", newline="")


def header_positions(header: list[str]) -> dict[str, int]:
    """Where each audit column is: matched without regard to case, spaces or a BOM."""
    positions: dict[str, int] = {}
    wanted = {name.casefold(): name for name in AUDIT_COLUMNS}
    for index, cell in enumerate(header):
        key = cell.replace(UTF8_BOM_AS_LATIN1, "").replace("\ufeff", "").strip().casefold()
        name = wanted.get(key)
        if name is not None and name not in positions:
            positions[name] = index
    return positions


_SEPARATORS = {";": "semicolons (;)", "\t": "tabs", "|": "vertical bars (|)"}


def usable_columns(positions: dict[str, int], header: list[str]) -> tuple[bool, str]:
    """Whether a file can be credited (a UserID and a date column), and what is missing
    (and, for a header with no comma, which character the file looks separated by)."""
    missing = [name for name in AUDIT_COLUMNS if name not in positions]
    if not missing:
        return True, ""
    note = "no " + ", ".join(missing) + " column" + ("s" if len(missing) > 1 else "")
    if USER_ID not in positions or not any(c in positions for c in DATE_COLUMNS):
        return False, note + separator_hint(header) + "; file not used"
    return True, note


def separator_hint(header: list[str]) -> str:
    """ " (...looks separated by semicolons...)" for a header of one field holding another
    separator (HUD CSV is comma-separated), else ""."""
    if len(header) != 1:
        return ""
    counts = {sep: header[0].count(sep) for sep in _SEPARATORS}
    sep = max(counts, key=lambda s: counts[s])
    if not counts[sep]:
        return ""
    return (
        f" (its header has no comma but {counts[sep]:,} {_SEPARATORS[sep].split(' ')[0]}:"
        f" the file looks separated by {_SEPARATORS[sep]}, and HUD CSV files are"
        " comma-separated)"
    )


class _Counting(io.RawIOBase):
    """Passes bytes through, telling the progress bar how many went by."""

    def __init__(self, inner: IO[bytes], progress: Progress) -> None:
        self.inner = inner
        self.progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        count = len(data)
        buffer[:count] = data
        self.progress.advance(count)
        return count

    def close(self) -> None:
        self.inner.close()
        super().close()


def counted(raw: IO[bytes], progress: Progress | None) -> IO[bytes]:
    if progress is None:
        return raw
    return io.BufferedReader(_Counting(raw, progress), buffer_size=1 << 20)


# --------------------------------------------------------------------------- progress

LARGE_EXPORT_BYTES = 64 << 20  # below this an import takes about a second: no bar


class Progress:
    """A one-line progress bar on a terminal's stderr, redrawn at most 10 times a second."""

    def __init__(self, stream: TextIO | None = None, label: str = "Reading export") -> None:
        self.stream = stream or sys.stderr
        self.label = label
        self.total = 0
        self.done = 0
        self._drawn = 0.0
        self._lock = threading.Lock()

    def start(self, total: int) -> bool:
        """Show the bar only on a terminal and for a large export; False: not shown."""
        if total < LARGE_EXPORT_BYTES or not self.stream.isatty():
            return False
        self.total = total
        self._draw()
        return True

    def advance(self, count: int) -> None:
        with self._lock:
            self.done += count
            now = time.monotonic()
            if now - self._drawn < 0.1:
                return
            self._drawn = now
        self._draw()

    def rewind(self, count: int) -> None:
        """A file read again from the start (the fast reader handed it back)."""
        with self._lock:
            self.done = max(0, self.done - count)

    def _draw(self) -> None:
        share = min(1.0, self.done / self.total) if self.total else 0.0
        width = 30
        filled = int(share * width)
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {share:4.0%} of {self.total / 1e6:,.0f} MB")
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\r" + " " * 70 + "\r")
        self.stream.flush()
