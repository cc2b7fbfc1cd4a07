"""`hmis-licensing import-activity`: HMIS CSV export -> two columns of the Licenses sheet.

    outcome = import_activity(Path("hmis.xlsx"), Path("export.zip"), today=..., now=...)

The only command that writes an input sheet, and only `Last Client Data Entry` and
`Client Entries (Window)` of the Licenses rows whose `HMIS User ID` appears in the export
(SPEC §5, §7):

* `Last Client Data Entry` only ever moves later: the export's latest activity (on or
  before the as-of date) replaces it when it is later, and never when it is earlier (staff
  may know of later work than the export shows);
* `Client Entries (Window)` becomes the export's count of client-data rows with activity
  in the §1.1 window (the window comes from the policy, as for `recalc`).

How the bytes change: the Licenses sheet's XML part is edited in place at exactly those
cells (a date is written as a number with a date style the workbook already uses; a count
as a number; never a shared string), and one row is appended to Run Log by recalc's own
writer (workbook/xlsx/write.py), which copies every other zip member byte for byte. Like
recalc it sets "recalculate on open" in workbook.xml, so that formulas using those dates
are fresh when Excel opens the file. The save is atomic and holds the workbook's lock.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

import engine
from engine.model import Policy
from engine.words import plural
from workbook.errors import WorkbookError
from workbook.hmis.export import (
    MAX_LINE_CHARS,
    ExportActivity,
    Progress,
    UserActivity,
    lines_text,
    normalize_user_id,
)
from workbook.hmis.reader import read_export_activity
from workbook.layout import LICENSES, POLICY_SHEET, RUN_LOG, SETTINGS, header_key
from workbook.results import RunLogEntry
from workbook.run import (
    Choice,
    as_of_words,
    choose_as_of,
    choose_policy_file,
    load_chosen_policy,
)
from workbook.tables import CellMap, column_letter, read_inputs
from workbook.values import CellError, is_blank, parse_date, parse_text, shown
from workbook.xlsx.cells import (
    DuplicateError,
    FormulaRange,
    SharedStrings,
    XmlRow,
    cell_value,
    column_index,
    date_styles,
    formula_ranges,
    serial_day,
    set_number_cells,
    sheet_rows,
)
from workbook.xlsx.package import (
    XlsxPackage,
    check_workbook_file,
    open_package,
    utf8_text,
)
from workbook.xlsx.safesave import atomic_write, check_can_write, workbook_lock
from workbook.xlsx.sheetxml import CellStyle, column_style, excel_serial, number_text
from workbook.xlsx.write import WorkbookWriter, check_copy_suffix

RAN_FROM = "hmis-licensing import-activity"
USER_ID_FIELD = "hmis_user_id"
DATE_FIELD = "last_client_data_entry"
COUNT_FIELD = "client_entries_window"
LISTED = 25  # names listed on the screen before "... and N more"
LISTED_IN_LOG = 10

# ------------------------------------------------------------------ reading, planning


@dataclass
class LicenseRowCells:
    """One row of the Licenses sheet, as the import sees it."""

    row: int
    license_id: str
    user_id: str  # normalized text; "" when blank
    last_entry: dt.date | None = None
    last_entry_problem: str = ""  # why that cell cannot be compared or written
    count: object = None
    count_problem: str = ""


@dataclass
class LicensesSheet:
    title: str
    part: str
    letters: dict[str, str]  # field -> column letter, for the columns found
    rows: list[LicenseRowCells]
    text: str  # the sheet part's XML, parsed once into xml_rows
    xml_rows: list[XmlRow]


@dataclass(frozen=True, slots=True)
class CellUpdate:
    row: int
    field: str  # DATE_FIELD or COUNT_FIELD
    value: dt.date | int
    before: object  # the value it replaces (a date, a count, or None)


@dataclass
class Plan:
    """What the import will write, and what it found, in words for the summary."""

    updates: list[CellUpdate] = field(default_factory=list)
    matched: list[LicenseRowCells] = field(default_factory=list)
    without_activity: list[LicenseRowCells] = field(default_factory=list)
    with_user_id: int = 0
    without_user_id: int = 0
    not_written: list[str] = field(default_factory=list)  # cells that could not be updated
    unlicensed_active: list[tuple[str, int]] = field(default_factory=list)  # id, window rows
    unlicensed_older: int = 0  # UserIDs without a license whose activity is all older
    dates_moved: int = 0
    dates_kept: int = 0  # the sheet already had the same or a later date
    counts_kept: bool = False  # the export ends before the window: counts left as they are
    missing_columns: list[str] = field(default_factory=list)  # fields with no column to write


def read_licenses(package: XlsxPackage, shared: Callable[[int], str]) -> LicensesSheet:
    """The Licenses sheet's rows with the cells the import reads and writes."""
    wanted = header_key(LICENSES.name)
    entry = next(
        (s for s in package.sheets if header_key(s.name) == wanted and s.kind == "worksheet"),
        None,
    )
    if entry is None or entry.part is None:
        raise _SheetProblem(
            f"The workbook has no {LICENSES.name} sheet.",
            f"Add a sheet named {LICENSES.name} with an HMIS User ID column.",
        )
    text = utf8_text(package.read(entry.part), f"{package.path}: {entry.part}")
    try:
        rows = sheet_rows(text)
    except DuplicateError as exc:
        raise _SheetProblem(
            f"The {entry.name} sheet's XML holds {exc.what} twice (Excel never writes a file"
            " like this), so which of its values counts cannot be told; nothing was imported.",
            f"Open the workbook in Excel or LibreOffice, check {exc.what}, and save it.",
        ) from None
    header = next((r for r in rows if r.number == 1), None)
    columns: dict[str, int] = {}
    for index, cell in sorted(header.cells.items()) if header else ():
        label = cell_value(cell, shared)
        if is_blank(label) or not isinstance(label, str):
            continue
        for column in LICENSES.columns:
            if column.matches(label) and column.field not in columns:
                columns[column.field] = index
    if USER_ID_FIELD not in columns:
        raise _SheetProblem(
            f'The {entry.name} sheet has no "{_header(USER_ID_FIELD)}" column, so no license'
            " can be matched to the export's UserIDs.",
            f'Add a column headed "{_header(USER_ID_FIELD)}" in row 1 and enter each'
            " license's UserID in the HMIS.",
        )
    if DATE_FIELD not in columns and COUNT_FIELD not in columns:
        raise _SheetProblem(
            f'The {entry.name} sheet has neither a "{_header(DATE_FIELD)}" nor a'
            f' "{_header(COUNT_FIELD)}" column to import into.',
            f'Add columns headed "{_header(DATE_FIELD)}" and "{_header(COUNT_FIELD)}" in row 1.',
        )
    ranges = formula_ranges(text)
    found = []
    for row in rows:
        if row.number < 2:
            continue
        found.append(_license_row(row, columns, shared, package.date1904, ranges))
    letters = {name: column_letter(index) for name, index in columns.items()}
    return LicensesSheet(entry.name, entry.part, letters, found, text, rows)


def _license_row(
    row: XmlRow,
    columns: Mapping[str, int],
    shared: Callable[[int], str],
    date1904: bool,
    ranges: list[FormulaRange],
) -> LicenseRowCells:
    def value(name: str) -> object:
        cell = row.cells.get(columns[name]) if name in columns else None
        return cell_value(cell, shared) if cell is not None else None

    raw_id = value(USER_ID_FIELD)
    user_id = (
        ""
        if is_blank(raw_id) or isinstance(raw_id, CellError)
        else normalize_user_id(parse_text(raw_id))
    )
    raw_license = value("license_id")
    found = LicenseRowCells(
        row.number,
        "" if is_blank(raw_license) else parse_text(raw_license),
        user_id,
    )
    for name, problem_attr in ((DATE_FIELD, "last_entry_problem"), (COUNT_FIELD, "count_problem")):
        cell = row.cells.get(columns[name]) if name in columns else None
        owner = (
            next((r for r in ranges if r.holds(row.number, columns[name])), None)
            if name in columns
            else None
        )
        if owner is not None and owner.kind in ("array", "dataTable"):
            what = "an array formula" if owner.kind == "array" else "a data table"
            setattr(found, problem_attr, f"is part of {what} ({owner.ref}); it was left as it is")
        elif (cell is not None and cell.has_formula) or owner is not None:
            setattr(found, problem_attr, "holds a formula; it was left as it is")
    raw_date = value(DATE_FIELD)
    if not found.last_entry_problem and not is_blank(raw_date):
        if isinstance(raw_date, float) and not isinstance(raw_date, bool):
            day = serial_day(raw_date, date1904)
            if day is None:
                found.last_entry_problem = f"{shown(raw_date)} is not a date"
            found.last_entry = day
        else:
            parsed = parse_date(raw_date)
            if isinstance(parsed, CellError):
                found.last_entry_problem = parsed.problem.rstrip(".")
            else:
                found.last_entry = parsed
    found.count = value(COUNT_FIELD)
    return found


def plan_updates(sheet: LicensesSheet, activity: ExportActivity) -> Plan:
    """Which cells change, and the summary's lists. Pure: reads, decides, writes nothing."""
    plan = Plan()
    plan.missing_columns = [f for f in (DATE_FIELD, COUNT_FIELD) if f not in sheet.letters]
    plan.counts_kept = ends_before_window(activity) is not None
    licensed: set[str] = set()
    for row in sheet.rows:
        if not row.user_id:
            if row.license_id:
                plan.without_user_id += 1
            continue
        licensed.add(row.user_id)
        plan.with_user_id += 1
        user = activity.users.get(row.user_id)
        if user is None or user.latest is None:
            plan.without_activity.append(row)
        if user is None:
            continue
        plan.matched.append(row)
        _plan_date(plan, sheet, row, user)
        _plan_count(plan, sheet, row, user)
    for user in activity.users.values():
        if user.user_id in licensed:
            continue
        if user.window_rows:
            plan.unlicensed_active.append((user.user_id, user.window_rows))
        elif user.latest is not None:
            plan.unlicensed_older += 1
    plan.unlicensed_active.sort(key=lambda pair: (-pair[1], pair[0]))
    return plan


def _plan_date(plan: Plan, sheet: LicensesSheet, row: LicenseRowCells, user: UserActivity) -> None:
    """Last Client Data Entry only ever moves later."""
    latest = user.latest_date
    if DATE_FIELD not in sheet.letters or latest is None:
        return
    if row.last_entry_problem:
        plan.not_written.append(
            f"{sheet.title}!{sheet.letters[DATE_FIELD]}{row.row}:"
            f" {row.last_entry_problem}; the export's latest activity is {latest}."
        )
    elif row.last_entry is None or latest > row.last_entry:
        plan.updates.append(CellUpdate(row.row, DATE_FIELD, latest, row.last_entry))
        plan.dates_moved += 1
    else:
        plan.dates_kept += 1


def _plan_count(plan: Plan, sheet: LicensesSheet, row: LicenseRowCells, user: UserActivity) -> None:
    """Client Entries (Window) becomes the export's count, unless the export ends before
    the window starts: it cannot count the window, and its 0 would replace real counts."""
    if COUNT_FIELD not in sheet.letters or plan.counts_kept:
        return
    if row.count_problem:
        plan.not_written.append(
            f"{sheet.title}!{sheet.letters[COUNT_FIELD]}{row.row}:"
            f" {row.count_problem}; the export counts {user.window_rows:,}."
        )
    elif not _same_number(row.count, user.window_rows):
        plan.updates.append(CellUpdate(row.row, COUNT_FIELD, user.window_rows, row.count))


def _same_number(value: object, number: int) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == number


# ----------------------------------------------------------------------------- writing


def changed_cells(
    updates: Iterable[CellUpdate],
    sheet: LicensesSheet,
    existing_styles: Mapping[tuple[int, int], int | None],
    *,
    date_style: int | None,
    count_style: int | None,
    is_date_style: Callable[[int], bool],
    date1904: bool,
) -> dict[tuple[int, int], tuple[str, int | None]]:
    """(row, column) -> (number, style) for each update. A cell keeps its own style when
    that suits it (a date format for a date, anything else for a count), else gets the
    style chosen for its column."""
    cells: dict[tuple[int, int], tuple[str, int | None]] = {}
    for update in updates:
        column = column_index(sheet.letters[update.field])
        own = existing_styles.get((update.row, column))
        if update.field == DATE_FIELD:
            serial = excel_serial(update.value, date1904)
            if serial is None:  # before 1900: Excel cannot show it (never from an export)
                continue
            style = own if own is not None and is_date_style(own) else date_style
            cells[(update.row, column)] = (number_text(serial), style)
        else:
            style = own if own is not None and not is_date_style(own) else count_style
            cells[(update.row, column)] = (str(update.value), style)
    return cells


def choose_styles(
    rows: Iterable[XmlRow], letters: Mapping[str, str], date_like: set[int]
) -> tuple[int | None, int | None]:
    """The styles new cells get: what the column's cells already use (the most common
    date style among its dates; the most common style among its counts), else a date
    style used elsewhere on the sheet (e.g. Granted On)."""
    date_column = column_index(letters[DATE_FIELD]) if DATE_FIELD in letters else -1
    count_column = column_index(letters[COUNT_FIELD]) if COUNT_FIELD in letters else -1
    in_column: Counter[int] = Counter()
    on_sheet: Counter[int] = Counter()
    counts: Counter[int] = Counter()
    for row in rows:
        if row.number < 2:
            continue
        for column, cell in row.cells.items():
            style = cell.style
            if style is None or cell.inner is None or cell.attrs.get("t", "n") != "n":
                continue
            if style in date_like:
                on_sheet[style] += 1
                if column == date_column:
                    in_column[style] += 1
            elif column == count_column:
                counts[style] += 1
    date_style = (in_column or on_sheet).most_common(1)[0][0] if in_column or on_sheet else None
    count_style = counts.most_common(1)[0][0] if counts else None
    return date_style, count_style


# ----------------------------------------------------------------------------- command


class _SheetProblem(Exception):
    """The Licenses sheet cannot take the import (exit 1, nothing written)."""

    def __init__(self, problem: str, how_to_fix: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.how_to_fix = how_to_fix


@dataclass
class ImportOutcome:
    as_of: Choice
    policy_file: Choice
    policy: Policy | None = None
    activity: ExportActivity | None = None
    plan: Plan | None = None
    errors: list[str] = field(default_factory=list)  # with their fixes, for stderr
    written: Path | None = None
    run_log: RunLogEntry | None = None
    cells: CellMap = field(default_factory=CellMap)  # the Settings cells, for as_of_words

    @property
    def exit_code(self) -> int:
        """SPEC §5: 1 when the workbook had errors (cells not written, a missing column)."""
        if self.errors:
            return 1
        return 1 if self.plan is not None and self.plan.not_written else 0


def import_activity(
    workbook: Path,
    export: Path,
    *,
    as_of: dt.date | None = None,
    policy_file: Path | None = None,
    output: Path | None = None,
    today: dt.date,
    now: dt.datetime,
    reader: str = "auto",
    progress: Progress | None = None,
) -> ImportOutcome:
    """Read the export, update the Licenses columns, append to Run Log, save atomically.

    HmisLicensingError (exit 2) for a bad policy, export or workbook file; a Licenses
    sheet the import cannot use comes back as `errors` with nothing written.
    """
    destination = output or workbook
    check_workbook_file(workbook)
    check_can_write(destination)
    from workbook.xlsx.read import read_snapshot

    snapshot = read_snapshot(workbook, [SETTINGS.name, POLICY_SHEET])
    settings_read = read_inputs(snapshot)
    as_of_choice = choose_as_of(as_of, settings_read.settings, today)
    policy_choice = choose_policy_file(
        policy_file, settings_read.settings, workbook.resolve().parent, snapshot.find(POLICY_SHEET)
    )
    outcome = ImportOutcome(as_of_choice, policy_choice, cells=settings_read.cells)
    settings_errors = [
        p for p in settings_read.problems if p.severity == "Error" and p.where.sheet == "Settings"
    ]
    if settings_errors and as_of is None:
        outcome.errors = [
            f"Settings: {p.problem}\n    How to fix: {p.how_to_fix}" for p in settings_errors
        ]
        return outcome
    policy = load_chosen_policy(policy_choice, snapshot, workbook.resolve().parent)
    outcome.policy = policy
    day: dt.date = as_of_choice.value  # type: ignore[assignment]
    window_start = policy.inactivity.client_data_window.before(day)
    activity = read_export_activity(export, day, window_start, reader=reader, progress=progress)
    outcome.activity = activity
    with workbook_lock(destination):
        package = open_package(workbook)
        try:
            check_copy_suffix(package, workbook, destination)
            shared = SharedStrings(package)
            try:
                sheet = read_licenses(package, shared)
            except _SheetProblem as problem:
                outcome.errors = [f"{problem.problem}\n    How to fix: {problem.how_to_fix}"]
                return outcome
            plan = plan_updates(sheet, activity)
            outcome.plan = plan
            run_log = RunLogEntry(
                run_at=now.replace(microsecond=0),
                as_of=day,
                policy_version=policy.version,
                policy_sha256=policy.sha256,
                engine_version=engine.ENGINE_VERSION,
                # An import judges no license: Licenses and Eligible are left blank, so
                # that each column means one thing (recalc's counts); what it did is in
                # Ran From, in words ("2 licenses updated from ...").
                licenses=None,
                eligible=None,
                errors=len(plan.not_written),
                warnings=len(warnings(activity, plan)),
                policy_file=str(policy_choice.value),
                ran_from=f"{RAN_FROM}: " + log_summary(activity, plan, export),
            )
            outcome.run_log = run_log
            data = _build(package, sheet, plan, run_log)
        finally:
            package.close()
        atomic_write(destination, data, replace_link=output is not None and output != workbook)
    outcome.written = destination
    return outcome


_DECLARED_ENCODING = re.compile(r"""\A(\s*<\?xml\b[^>]*?\bencoding\s*=\s*)("[^"]*"|'[^']*')""")


def _build(package: XlsxPackage, sheet: LicensesSheet, plan: Plan, run_log: RunLogEntry) -> bytes:
    date_like, exact = date_styles(package)
    date_style, count_style = choose_styles(sheet.xml_rows, sheet.letters, date_like)
    if date_style is None:
        date_style = exact  # else the Run Log's own date style, which the writer ensures
    as_of_style = column_style(RUN_LOG.columns[1])  # yyyy-mm-dd, which the writer ensures

    rows = {r.number: r for r in sheet.xml_rows}
    existing_styles = {
        (update.row, column_index(sheet.letters[update.field])): cell.style
        for update in plan.updates
        if (cell := rows[update.row].cells.get(column_index(sheet.letters[update.field])))
    }

    def patch(indexes: Mapping[CellStyle, int]) -> bytes:
        chosen = date_style if date_style is not None else indexes.get(as_of_style)
        known = date_like | ({chosen} if chosen is not None else set())
        cells = changed_cells(
            plan.updates,
            sheet,
            existing_styles,
            date_style=chosen,
            count_style=count_style,
            is_date_style=known.__contains__,
            date1904=package.date1904,
        )
        text = set_number_cells(sheet.text, cells, sheet.xml_rows)
        # The part is written as UTF-8 (it was read as text): its declaration must say so,
        # whatever it said (x-bogus-9 made the last check below fail with a LookupError).
        data = _DECLARED_ENCODING.sub(r'\1"UTF-8"', text, count=1).encode("utf-8")
        try:
            ET.fromstring(data)  # a last check: the part is still well-formed XML
        except (ET.ParseError, LookupError) as exc:
            raise WorkbookError(
                f"{package.path}: the Licenses sheet's XML cannot be updated ({exc});"
                " the workbook was not changed.",
                fix="Open the workbook in Excel and save it again, then import again.",
            ) from None
        return data

    return WorkbookWriter(package, [], run_log, input_patches={sheet.part: patch}).build()


def _header(field_name: str) -> str:
    return LICENSES.column(field_name).header


# ----------------------------------------------------------------------------- summary


def warnings(activity: ExportActivity, plan: Plan | None) -> list[str]:
    """Everything in the import a person should look at, one line each."""
    found = [s.describe() for s in activity.skipped]
    for file in activity.files:
        if file.malformed_rows:
            found.append(
                f"{file.name}: {plural(file.malformed_rows, 'row')} with a different number of"
                f" fields from the header ({lines_text(file)}) "
                + ("was" if file.malformed_rows == 1 else "were")
                + " not used (a row lacking only its last, empty fields is not filled in"
                " either: which of its fields is missing cannot be told). Look at "
                + ("that line" if file.malformed_rows == 1 else "those lines")
                + " in a text editor (a field holding a comma must be in double quotes), or"
                " export the file again from the HMIS."
            )
        if file.rows_unshaped_user:
            found.append(
                f"{file.name}: {plural(file.rows_unshaped_user, 'row')} whose UserID is not"
                " shaped like a user ID (not shown) "
                + ("was" if file.rows_unshaped_user == 1 else "were")
                + " not used (a UserID is 1 to 32 letters, digits, '.', '_', '-' or '@'; a"
                " row whose fields have shifted can hold client data there)."
            )
        if file.long_lines:
            found.append(
                f"{file.name}: {plural(file.long_lines, 'line')} longer than {MAX_LINE_CHARS:,}"
                " characters " + ("was" if file.long_lines == 1 else "were") + " skipped unread."
            )
        if file.note and "csv module" not in file.note:
            found.append(f"{file.name}: {file.note}.")
    if activity.rows_without_user:
        found.append(
            f"{plural(activity.rows_without_user, 'row')} without a UserID"
            + (" was" if activity.rows_without_user == 1 else " were")
            + " not credited."
        )
    start = activity.export_start
    if start is not None and start > activity.window_start:
        found.append(
            f"The export starts on {start}, after the window starts ({activity.window_start}):"
            " Client Entries (Window) counts only what the export holds."
        )
    found += _coverage_warnings(activity)
    if plan is not None:
        found += match_warnings(plan)
    if plan is not None and plan.unlicensed_active:
        found.append(
            f"{plural(len(plan.unlicensed_active), 'UserID')} entered client data in the window"
            " but " + ("has" if len(plan.unlicensed_active) == 1 else "have") + " no license row."
        )
    return found


def ends_before_window(activity: ExportActivity) -> str | None:
    """How an export that cannot speak for the window ends before it starts (from
    Export.csv's ExportEndDate, or without one from its latest activity), else None. An
    export that overlaps the window only in part still counts what it holds."""
    end, start = activity.export_end, activity.window_start
    if end is not None and end < start:
        return f"The export ends on {end}"
    latest = max((u.latest for u in activity.users.values() if u.latest), default=None)
    if end is None and latest is not None and dt.date.fromisoformat(latest) < start:
        return f"The export's latest client data entry is on {latest}"
    return None


def _coverage_warnings(activity: ExportActivity) -> list[str]:
    """An export that cannot speak for the window: it ends before the window starts."""
    ends = ends_before_window(activity)
    if ends is None:
        return []
    return [
        f"{ends}, before the window starts ({activity.window_start}): it cannot show client"
        " data entry in the window. Is it the right export, or an old one? Client Entries"
        " (Window) was left as it was on every license (Last Client Data Entry only moves"
        " later, as always)."
    ]


def match_warnings(plan: Plan) -> list[str]:
    """An import that changed nothing because no license could be matched, and a column
    it could not write because the sheet has none."""
    missing = [
        f'The Licenses sheet has no "{_header(name)}" column, so the export\'s'
        f" {'latest activity dates' if name == DATE_FIELD else 'counts'} were not written:"
        f' add a column headed "{_header(name)}" in row 1 and import again.'
        for name in plan.missing_columns
    ]
    return missing + _unmatched(plan)


def _unmatched(plan: Plan) -> list[str]:
    if plan.with_user_id == 0:
        return [
            f"No Licenses row has an {_header(USER_ID_FIELD)}, so nothing could be matched:"
            f" fill in {_header(USER_ID_FIELD)} (the user's ID in the HMIS) on Licenses."
        ]
    if not plan.matched:
        return [
            f"No {_header(USER_ID_FIELD)} matched a UserID in the export: wrong export, or"
            f" IDs missing on Licenses? ({plan.with_user_id:,} licenses have an"
            f" {_header(USER_ID_FIELD)}; none is in the export.)"
        ]
    return []


def summary_lines(outcome: ImportOutcome, workbook: Path, export: Path) -> list[str]:
    """The summary printed after an import (SPEC §7), in words staff can act on."""
    activity, plan = outcome.activity, outcome.plan
    lines = [
        f"Workbook: {workbook}",
        f"Policy:   {outcome.policy_file.value} ({outcome.policy_file.origin})",
        "As of:    "
        + as_of_words(outcome.as_of, outcome.cells, so="so nothing was imported (see below)"),
    ]
    if activity is None:
        return lines
    policy = outcome.policy
    window = policy.inactivity.client_data_window.describe() if policy else ""
    lines.append(
        f"Window:   {activity.window_start} to {activity.as_of} ({window}, §1.1):"
        " rows with activity in it are counted"
    )
    version = f", CSV version {activity.csv_version}" if activity.csv_version else ""
    readers = sorted({f.reader for f in activity.files})
    lines.append(f"Export:   {export}{version}")
    lines.append(
        f"Read:     {plural(len(activity.files), 'client-data file')},"
        f" {plural(activity.rows, 'row')}"
        f" ({' and '.join(_reader_name(r) for r in readers)}); UserID and the three dates only"
    )
    fallback = [f for f in activity.files if "csv module" in f.note]
    for file in fallback:
        lines.append(f"          {file.name}: {file.note}")
    if activity.other_files:
        lines.append(
            f"          {plural(len(activity.other_files), 'other file')} not read"
            " (not client data)"
        )
    lines.append(f"Users:    {plural(len(activity.users), 'UserID')} in the export")
    if plan is None:
        return lines
    lines.append(
        f"Matched:  {len(plan.matched):,} of {plural(plan.with_user_id, 'license')} with an HMIS"
        " User ID;"
        f" Last Client Data Entry moved later on {plan.dates_moved:,}"
        f" ({plan.dates_kept:,} already had that date or a later one)"
    )
    if plan.without_user_id:
        lines.append(
            f"          {plural(plan.without_user_id, 'license')}"
            + (" has" if plan.without_user_id == 1 else " have")
            + " no HMIS User ID"
        )
    lines.append(
        f"No activity in the export: {plural(len(plan.without_activity), 'license')}"
        + (": " if plan.without_activity else "")
        + _listed(
            [f"{r.license_id or f'row {r.row}'} ({r.user_id})" for r in plan.without_activity]
        )
    )
    lines.append(
        f"No license: {plural(len(plan.unlicensed_active), 'UserID')} entered client data in the"
        " window but "
        + ("has" if len(plan.unlicensed_active) == 1 else "have")
        + " no license row"
        + (": " if plan.unlicensed_active else "")
        + _listed([f"{u} ({plural(n, 'row')})" for u, n in plan.unlicensed_active])
    )
    if plan.unlicensed_older:
        older = plural(plan.unlicensed_older, "more UserID" if plan.unlicensed_active else "UserID")
        lines.append(
            "          "
            + ("and " if plan.unlicensed_active else "")
            + older
            + " without a license "
            + ("has" if plan.unlicensed_older == 1 else "have")
            + " only older activity"
        )
    skipped = activity.skipped_values
    lines.append(f"Skipped:  {plural(skipped, 'unreadable date value')} (never guessed)")
    lines += [f"          {s.describe()}" for s in activity.skipped]
    for line in [*warnings(activity, None), *match_warnings(plan)]:
        if not any(line == s.describe() for s in activity.skipped):
            lines.append(f"Warning:  {line}")
    return lines


def _reader_name(reader: str) -> str:
    return "pyarrow" if reader == "pyarrow" else "Python's csv module"


def _listed(items: list[str], limit: int = LISTED) -> str:
    shown_items = ", ".join(_printable(i) for i in items[:limit])
    more = len(items) - limit
    return shown_items + (f", ... and {more:,} more" if more > 0 else "")


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)


def log_summary(activity: ExportActivity, plan: Plan, export: Path) -> str:
    """The import's summary in one line, for the Run Log's Ran From cell: how many licenses
    it updated (rows with a cell changed) and from what, then what it found."""
    updated = len({update.row for update in plan.updates})
    parts = [
        f"{plural(updated, 'license')} updated from {export.name}:"
        f" {plural(len(activity.files), 'client-data file')},"
        f" {plural(activity.rows, 'row')}, {plural(len(activity.users), 'UserID')}",
        f"{plural(len(plan.matched), 'license')} matched,"
        f" {plural(plan.dates_moved, 'date')} moved later",
        f"{plural(len(plan.without_activity), 'license')} with no activity in the export",
    ]
    if plan.unlicensed_active:
        ids = _listed([u for u, _ in plan.unlicensed_active], LISTED_IN_LOG)
        parts.append(
            f"{plural(len(plan.unlicensed_active), 'UserID')} active in the window with no"
            f" license: {ids}"
        )
    else:
        parts.append("no UserID active in the window without a license")
    if activity.skipped:
        kinds = "; ".join(s.describe() for s in activity.skipped[:5])
        more = len(activity.skipped) - 5
        parts.append(
            f"{activity.skipped_values:,} unreadable dates skipped ({kinds}"
            + (f"; and {more} more kinds" if more > 0 else "")
            + ")"
        )
    if activity.rows_unshaped_user:
        parts.append(
            f"{plural(activity.rows_unshaped_user, 'row')} whose UserID is not shaped like a"
            " user ID (not shown) not used"
        )
    if plan.counts_kept:
        parts.append("Client Entries (Window) not changed: the export ends before the window")
    if plan.not_written:
        parts.append(f"{len(plan.not_written)} cells not updated (see the command's output)")
    return "; ".join(parts)
