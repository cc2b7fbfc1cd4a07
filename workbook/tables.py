"""From a grid of cell values (however it was read) to the engine's typed input rows.

Both the headless path (openpyxl) and the Excel path (xlwings) reduce a workbook to a
`WorkbookSnapshot` of plain 2-D value lists; everything after that is shared, so the
same cell gives the same value, and the same problem, on every path.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from engine.model import HistoryRow, Inputs, Problem, UnreadableRow, Where
from workbook.layout import (
    APPENDED_SHEETS,
    FINDINGS_HISTORY,
    HISTORY_INPUT,
    INPUT_SHEETS,
    SETTING_AS_OF,
    SETTING_NEXT_REVIEW,
    SETTING_POLICY_FILE,
    SETTINGS,
    Column,
    InputSheet,
    Kind,
    continuation_number,
    header_key,
)
from workbook.values import (
    DAYS_1900_TO_1904,
    FIRST_PLAUSIBLE_DATE,
    LARGEST_NUMBER,
    LAST_PLAUSIBLE_DATE,
    CellError,
    is_blank,
    parse_cell,
    parse_date,
    parse_text,
    plausible_date,
    shown,
)

Range = tuple[int, int, int, int]  # merged cells: first row, first column, last row, last column


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


@dataclass
class WorkbookSnapshot:
    """Every sheet's cell values, row 1 first, in workbook order.

    A cell a reader knows to be unusable (a formula never calculated, an error value such
    as #N/A) holds a `CellError` instead of a value. `merged` lists each sheet's merged
    ranges (1-based), where the reader can see them.
    """

    sheets: dict[str, list[list[object]]]
    merged: dict[str, list[Range]] = field(default_factory=dict)
    # The workbook counts dates from 1904 (workbookPr date1904, old Mac Excel): a date
    # typed as a plain number is a day count from 1904-01-01, not from 1899-12-30.
    date1904: bool = False

    def find(self, name: str) -> str | None:
        """The actual title of a sheet, matched without regard to case or spaces."""
        if name in self.sheets:
            return name
        wanted = header_key(name)
        return next((t for t in self.sheets if header_key(t) == wanted), None)


@dataclass
class CellMap:
    """Where each declared column was found, so a problem can name its cell."""

    titles: dict[str, str] = field(default_factory=dict)  # declared name -> actual title
    letters: dict[tuple[str, str], str] = field(default_factory=dict)  # (sheet, header)
    # (sheet, name) -> cell, for a value the engine names without a row: a Settings
    # sheet's setting ("Next Review") is the Value cell of the row that names it.
    named: dict[tuple[str, str], str] = field(default_factory=dict)

    def cell(self, where: Where) -> tuple[str, str]:
        sheet = self.titles.get(where.sheet, where.sheet)
        if where.row is None:
            named = self.named.get((where.sheet, where.column or ""))
            return sheet, named or where.column or ""
        letter = self.letters.get((where.sheet, where.column or ""))
        if letter is None:  # the column is not on the sheet: name the row's first cell
            found = [v for (name, _), v in self.letters.items() if name == where.sheet]
            letter = min(found, key=lambda v: (len(v), v)) if found else "A"
        return sheet, f"{letter}{where.row}"


@dataclass
class Settings:
    as_of: dt.date | None = None
    policy_file: str | None = None
    next_review: dt.date | None = None
    # A date setting whose cell (the last one with a value) could not be read, and why a
    # result that relies on it is held back: "As Of" or "Next Review" -> why.
    unreadable: dict[str, str] = field(default_factory=dict)


@dataclass
class InputRead:
    inputs: Inputs
    problems: list[Problem]
    cells: CellMap
    settings: Settings


def read_inputs(snapshot: WorkbookSnapshot) -> InputRead:
    problems: list[Problem] = []
    cells = CellMap()
    tables: dict[str, tuple[object, ...] | None] = {}
    unreadable: list[UnreadableRow] = []
    unusable: dict[str, str] = {}
    settings = Settings()
    for spec in INPUT_SHEETS:
        title = snapshot.find(spec.name)
        if title is None:
            tables[spec.name] = None
            if not spec.optional:
                problems.append(_missing_sheet(spec))
                tables[spec.name] = ()
                unusable[spec.name] = f"the workbook has no {spec.name} sheet"
            continue
        cells.titles[spec.name] = title
        grid = snapshot.sheets[title]
        if spec is SETTINGS:
            grid = settings_with_dates(grid, snapshot.date1904)
        read = read_table(
            spec,
            grid,
            cells,
            snapshot.merged.get(title, ()),
            date1904=snapshot.date1904,
        )
        problems += read.problems
        unreadable += read.unreadable
        if read.unusable:
            unusable[spec.name] = read.unusable
        if spec is SETTINGS:
            settings, settings_problems = _settings(read.rows)
            problems += settings_problems
            _name_setting_cells(read.rows, cells)
            continue
        tables[spec.name] = tuple(spec.row_type(**values) for values in read.rows)  # type: ignore[misc]
    history, history_problems = _history(snapshot, cells)
    problems += history_problems
    inputs = Inputs(
        regions=tables["Regions"] or (),  # type: ignore[arg-type]
        organizations=tables["Organizations"] or (),  # type: ignore[arg-type]
        licenses=tables["Licenses"] or (),  # type: ignore[arg-type]
        counties=tables["Counties"],  # type: ignore[arg-type]
        intakes=tables["Intakes"],  # type: ignore[arg-type]
        appeals=tables["Appeals"],  # type: ignore[arg-type]
        self_pay_requests=tables["Self-Pay Requests"],  # type: ignore[arg-type]
        history=history,
        next_review=settings.next_review,
        unreadable=tuple(unreadable),
        unusable_sheets=unusable,
        # Next Review is the inputs' own; As Of only matters to a run that takes its
        # date from it, which workbook.run decides (`settings_relied_on`).
        unreadable_settings={
            k: v for k, v in settings.unreadable.items() if k == SETTING_NEXT_REVIEW
        },
    )
    return InputRead(inputs, problems, cells, settings)


def _missing_sheet(spec: InputSheet) -> Problem:
    return Problem(
        "Error",
        Where(spec.name, column="A1"),
        f"The workbook has no {spec.name} sheet.",
        f"Add a sheet named {spec.name} with the headers: "
        + ", ".join(c.header for c in spec.columns if c.required)
        + ". `hmis-licensing init` writes a blank workbook with every sheet.",
    )


@dataclass
class TableRead:
    """One input sheet read: its good rows, the rows with a cell that could not be read,
    the problems, and why the whole sheet is unusable (a required column missing)."""

    rows: list[dict[str, object]] = field(default_factory=list)
    unreadable: list[UnreadableRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unusable: str | None = None


def read_table(
    spec: InputSheet,
    grid: Sequence[Sequence[object]],
    cells: CellMap,
    merged: Sequence[Range] = (),
    *,
    date1904: bool = False,
) -> TableRead:
    """The sheet's data rows as field -> typed value."""
    header_row = list(grid[0]) if grid else []
    positions, unknown, problems = _match_headers(spec, header_row, cells)
    near, near_problems = _near_misses(spec, positions, unknown)
    problems += near_problems
    misspelt = [p for p in near_problems if p.severity == "Error"]
    missing = [c for c in spec.columns if c.required and c.field not in positions]
    if missing:
        problems += _missing_columns(spec, grid, header_row, missing, near)
        names = ", ".join(f'"{c.header}"' for c in missing)
        return TableRead(problems=problems, unusable=f"the {spec.name} sheet has no {names} column")
    unusable = None
    if misspelt:
        where = ", ".join(p.where.column or "" for p in misspelt)
        unusable = f"a header of the {spec.name} sheet is misspelt ({where})"
    merged_problems = _merged_cells(spec, merged, set(positions.values()))
    if merged_problems:
        where = ", ".join(p.where.column or "" for p in merged_problems)
        unusable = unusable or f"the {spec.name} sheet has merged cells ({where})"
    problems += merged_problems
    problems += _data_without_header(spec, grid, header_row)
    problems += _absent_columns(spec, header_row, positions, near)
    read = _data_rows(spec, grid, positions, cells, date1904)
    read.problems[:0] = problems
    read.unusable = unusable
    return read


def _absent_columns(
    spec: InputSheet,
    header_row: Sequence[object],
    positions: dict[str, int],
    near: dict[str, tuple[int, str]],
) -> list[Problem]:
    """An optional column whose absence decides results (no Last Client Data Entry:
    every older license Inactive) is never absent silently; a header that looks like it
    already has its own Error."""
    problems = []
    for column in spec.columns:
        if not column.absent_means or column.field in positions or column.field in near:
            continue
        problems.append(
            Problem(
                "Warning",
                Where(spec.name, column=f"{column_letter(len(header_row))}1"),
                f'The {spec.name} sheet has no "{column.header}" column: {column.absent_means}',
                f'Add a "{column.header}" column (hmis-licensing init writes one), or rename'
                " the column that holds these dates to it.",
            )
        )
    return problems


def _match_headers(
    spec: InputSheet, header_row: Sequence[object], cells: CellMap
) -> tuple[dict[str, int], list[tuple[int, str]], list[Problem]]:
    """Where each declared column is, the headers that are none of them, and repeats."""
    positions: dict[str, int] = {}
    unknown: list[tuple[int, str]] = []
    problems: list[Problem] = []
    for index, header in enumerate(header_row):
        if is_blank(header) or isinstance(header, CellError):
            continue
        column = next((c for c in spec.columns if c.matches(str(header))), None)
        if column is None:
            unknown.append((index, str(header)))
            continue
        if column.field in positions:
            problems.append(
                Problem(
                    "Warning",
                    Where(spec.name, column=f"{column_letter(index)}1"),
                    f'The header "{column.header}" appears twice (columns'
                    f" {column_letter(positions[column.field])} and"
                    f" {column_letter(index)}); the first is used.",
                    "Rename or delete one of the two columns.",
                )
            )
            continue
        positions[column.field] = index
        cells.letters[(spec.name, column.header)] = column_letter(index)
    return positions, unknown, problems


def _missing_columns(
    spec: InputSheet,
    grid: Sequence[Sequence[object]],
    header_row: Sequence[object],
    missing: Sequence[Column],
    near: dict[str, tuple[int, str]],
) -> list[Problem]:
    free = max((i for i, h in enumerate(header_row) if not is_blank(h)), default=-1) + 1
    elsewhere = _headers_further_down(spec, grid)
    problems = []
    for column in missing:
        hint = near.get(column.field)
        letter = column_letter(hint[0] if hint else free)
        fix = f'Add a column headed "{column.header}" in row 1.'
        if hint:
            fix = (
                f'Column {letter} is headed "{hint[1]}": rename it to "{column.header}"'
                " if that is what it holds."
            )
        if elsewhere:
            fix += (
                f" The headers seem to be in row {elsewhere}: delete the rows above"
                " them, so that the headers are in row 1."
            )
        problems.append(
            Problem(
                "Error",
                Where(spec.name, column=f"{letter}1"),
                f'The {spec.name} sheet has no "{column.header}" column.',
                fix,
            )
        )
    return problems


def _data_rows(
    spec: InputSheet,
    grid: Sequence[Sequence[object]],
    positions: dict[str, int],
    cells: CellMap,
    date1904: bool = False,
) -> TableRead:
    read = TableRead()
    readers = _readers(spec, positions, date1904)
    # The readers as plain tuples: a cell costs one call and two identity tests. A row
    # with a cell that cannot be read (or a required cell left blank) is left at once
    # and read again by `_row_values`, which words its problems.
    # (Every reader reads None as blank, so it is not even called for an empty cell.)
    plan = [(r.index, r.read, r.field, r.on_blank) for r in readers]
    width = max((r.index for r in readers), default=-1) + 1
    blank_run: list[int] = []
    for row_number, row in enumerate(grid[1:], start=2):
        if _is_blank_row(row):
            blank_run.append(row_number)
            continue
        if blank_run:
            read.problems.append(_blank_rows_warning(spec, blank_run))
            blank_run = []
        cells_read = row if len(row) >= width else [*row, *[None] * (width - len(row))]
        values: dict[str, object] = {"row": row_number}
        for index, read_cell, name, on_blank in plan:
            raw = cells_read[index]
            if raw is not None:
                value = read_cell(raw)
                if value is not _BLANK:
                    if isinstance(value, CellError):
                        break
                    values[name] = value
                    continue
            if on_blank is _REQUIRED:
                break
            if on_blank is not _BLANK:
                values[name] = on_blank
        else:
            read.rows.append(values)
            continue
        values, errors = _row_values(spec, row, row_number, readers)
        if not errors:
            read.rows.append(values)
            continue
        errors = _named(spec, values, errors)
        read.problems += errors
        reasons = tuple(_reason(spec, error, cells) for error in errors)
        read.unreadable.append(UnreadableRow(spec.name, row_number, values, reasons))
    return read


def _is_blank_row(row: Sequence[object]) -> bool:
    """Whether every cell of the row is blank (most rows stop at their first cell)."""
    for value in row:
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return False
    return True


def _named(spec: InputSheet, values: dict[str, object], errors: list[Problem]) -> list[Problem]:
    """Each problem of a row names the row's region, license or appeal, not only its cell."""
    key = spec.columns[0]
    name = values.get(key.field)
    if not isinstance(name, str) or not name:
        return errors
    label = spec.row_label.format(name=name) if spec.row_label else f"{key.header} {name}"
    return [replace(e, problem=f"{label}: {e.problem}") for e in errors]


def _reason(spec: InputSheet, error: Problem, cells: CellMap) -> str:
    sheet, cell = cells.cell(error.where)
    column = error.where.column or ""
    text = error.problem
    return f"{column} ({sheet}!{cell}): {text}" if column else f"{sheet}!{cell}: {text}"


class _Blank:
    """What a column reader gives for a blank cell (None, or only spaces)."""


_BLANK = _Blank()


@dataclass(frozen=True, slots=True)
class _ColumnReader:
    """One declared column of a sheet as found: where it is, and how its cells are read.

    Built once per sheet, so that a row costs one call per cell: `read` gives `_BLANK`
    for a blank cell, the CellError a cell holds, or exactly what `parse_cell` gives (it
    is `parse_cell` with the column's usual cell, a date or a text, read first);
    `on_blank` is what a blank cell gives the row (`_REQUIRED`: an Error; `_BLANK`:
    nothing)."""

    column: Column
    index: int
    read: Callable[[object], object]
    field: str
    on_blank: object


_REQUIRED = _Blank()


def _readers(
    spec: InputSheet, positions: dict[str, int], date1904: bool = False
) -> list[_ColumnReader]:
    return [
        _ColumnReader(
            column,
            positions[column.field],
            _reader(column, date1904),
            column.field,
            _on_blank(column),
        )
        for column in spec.columns
        if column.field in positions
    ]


def _on_blank(column: Column) -> object:
    if column.needs_value:
        return _REQUIRED
    if column.kind is Kind.YESNO:
        return None if column.blank_unknown else False
    if column.required:  # a required column whose cells may be blank
        return None
    return _BLANK


def _reader(column: Column, date1904: bool = False) -> Callable[[object], object]:
    read_any = _any_cell_reader(column)
    if column.kind in (Kind.DATE, Kind.DATETIME):
        return _date_reader(column, read_any, date1904)
    if column.kind is Kind.CHOICE:
        return _choice_reader(column, read_any)
    if column.kind in _PARSED_AS_TEXT:
        # Each distinct text is tidied once: a column repeats its organizations, types,
        # regions and findings on row after row (the reader lives for one sheet's read).
        tidied: dict[str, object] = {}

        def read_text(raw: object) -> object:
            if raw.__class__ is str:
                value = tidied.get(raw)
                if value is None:
                    value = tidied[raw] = " ".join(raw.split()) or _BLANK
                return value
            if raw is None:
                return _BLANK
            return read_any(raw)

        return read_text
    if column.kind in _NUMBERS:
        return _number_reader(column, read_any)
    if column.kind is Kind.YESNO:

        def read_yes_no(raw: object) -> object:
            if raw is None:
                return _BLANK
            found = _YES_NO_AS_WRITTEN.get(raw) if raw.__class__ is str else None
            return read_any(raw) if found is None else found

        return read_yes_no
    return read_any


# Yes/No cells as drop-downs write them: read at once (any other spelling, by parse_cell).
_YES_NO_AS_WRITTEN = {"Yes": True, "No": False}


def _any_cell_reader(column: Column) -> Callable[[object], object]:
    def read_any(raw: object) -> object:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return _BLANK
        if isinstance(raw, CellError):
            return raw
        return parse_cell(column, raw)

    return read_any


def _date_reader(
    column: Column, read_any: Callable[[object], object], date1904: bool = False
) -> Callable[[object], object]:
    """A date column's reader. A date-formatted cell arrives as a date (calamine knows the
    workbook's date system); a plain number is read as an Excel date number, counted from
    1904 in a 1904 workbook."""

    def read_date(raw: object) -> object:
        if raw.__class__ is dt.datetime:
            day = raw.date()
        elif raw.__class__ is dt.date:
            day = raw
        elif raw is None:
            return _BLANK
        else:
            if date1904 and raw.__class__ in (int, float):
                shifted = read_any(raw + DAYS_1900_TO_1904)
                if not isinstance(shifted, CellError):
                    return shifted  # else the problem names the number as typed
            return read_any(raw)
        if FIRST_PLAUSIBLE_DATE <= day <= LAST_PLAUSIBLE_DATE:
            return day
        return parse_cell(column, raw)

    return read_date


def _number_reader(
    column: Column, read_any: Callable[[object], object]
) -> Callable[[object], object]:
    """A number column's reader: a float as calamine gives it, within the bounds and the
    column's minimum, taken at once (a whole number as an int); anything else as
    `parse_cell` reads it."""
    whole = column.kind is Kind.INTEGER
    lowest = -LARGEST_NUMBER if column.minimum is None else max(column.minimum, -LARGEST_NUMBER)

    def read_number(raw: object) -> object:
        if raw.__class__ is float and lowest <= raw <= LARGEST_NUMBER:
            if not whole:
                return raw
            if raw.is_integer():
                return int(raw)
        elif raw is None:
            return _BLANK
        return read_any(raw)

    return read_number


def _choice_reader(
    column: Column, read_any: Callable[[object], object]
) -> Callable[[object], object]:
    choices: dict[str, str] = {}
    for choice in column.choices:
        choices.setdefault(" ".join(choice.split()).casefold(), choice)

    def read_choice(raw: object) -> object:
        if raw.__class__ is str:
            found = choices.get(" ".join(raw.split()).casefold())
            if found is not None:
                return found
        return read_any(raw)

    return read_choice


# The kinds `parse_cell` reads as text, and as numbers.
_PARSED_AS_TEXT = (Kind.TEXT, Kind.ID)
_NUMBERS = (Kind.INTEGER, Kind.NUMBER, Kind.MONEY, Kind.PERCENT)


def _row_values(
    spec: InputSheet, row: Sequence[object], row_number: int, readers: Sequence[_ColumnReader]
) -> tuple[dict[str, object], list[Problem]]:
    """One row's typed values, and an Error for each cell that could not be read."""
    values: dict[str, object] = {"row": row_number}
    errors: list[Problem] = []
    width = len(row)
    for reader in readers:
        index = reader.index
        value = reader.read(row[index] if index < width else None)
        if value is _BLANK:
            blank = reader.on_blank
            if blank is _REQUIRED:
                column = reader.column
                errors.append(_blank_required(column, Where(spec.name, row_number, column.header)))
            elif blank is not _BLANK:
                values[reader.field] = blank
        elif isinstance(value, CellError):
            where = Where(spec.name, row_number, reader.column.header)
            errors.append(Problem("Error", where, value.problem, value.how_to_fix))
        else:
            values[reader.field] = value
    return values, errors


def _blank_required(column: Column, where: Where) -> Problem:
    kind = f" ({column.kind.value})." if column.kind is not Kind.TEXT else "."
    return Problem(
        "Error",
        where,
        f"{column.header} is blank.",
        f"Enter the {column.header}{kind} Or delete the row if it is not in use.",
    )


def _near_misses(
    spec: InputSheet,
    positions: dict[str, int],
    unknown: list[tuple[int, str]],
) -> tuple[dict[str, tuple[int, str]], list[Problem]]:
    """Headers that look like a declared column that is not there (e.g. "Revoked").

    A misspelt optional column would otherwise be ignored without a word, and its values
    (a revocation date, a Level 4 flag) would silently not count. Returns, for missing
    required columns, the column that probably is the one meant.
    """
    absent = [c for c in spec.columns if c.field not in positions]
    by_key = {header_key(c.header): c for c in absent}
    for column in absent:
        for alias in column.aliases:
            by_key.setdefault(header_key(alias), column)
    guesses: dict[str, tuple[int, str]] = {}
    problems: list[Problem] = []
    for index, text in unknown:
        closest = _closest_column(header_key(text), by_key)
        if closest is None:
            continue
        column = closest
        guesses.setdefault(column.field, (index, text))
        if column.required:
            continue
        # A column that decides something (Revoked On, Level 4 List Holder, ...) read as
        # absent would change decisions silently: an Error that holds the sheet back.
        decides = not column.informational
        problems.append(
            Problem(
                "Error" if decides else "Warning",
                Where(spec.name, column=f"{column_letter(index)}1"),
                f'The header "{text}" is not a column hmis-licensing reads, so this column'
                f' is ignored. Did you mean "{column.header}"?'
                + (
                    f" Its values decide results, so the sheets that need {spec.name} are"
                    " held back until it is renamed."
                    if decides
                    else ""
                ),
                f'Rename the header to "{column.header}" if that is what the column holds.',
            )
        )
    return guesses, problems


def _closest_column(key: str, by_key: dict[str, Column]) -> Column | None:
    """The declared column a header probably means: "Revoked" for "Revoked On"."""
    if len(key) < 3:
        return None
    close = difflib.get_close_matches(key, list(by_key), n=1, cutoff=0.75)
    if not close:  # "Revoked" for "Revoked On", "Grant Date" for "Granted On"
        stem = key.split()[0][:5]
        close = [
            k
            for k in by_key
            if (len(key) >= 4 and (k.startswith(key) or key in k))
            or (len(stem) == 5 and k.split()[0].startswith(stem))
        ][:1]
    return by_key[close[0]] if close else None


def _headers_further_down(spec: InputSheet, grid: Sequence[Sequence[object]]) -> int | None:
    """The row (2 to 6) that holds most of the required headers, when row 1 does not."""
    required = [c for c in spec.columns if c.required]
    for number, row in enumerate(grid[1:6], start=2):
        found = {
            c.field
            for value in row
            if not is_blank(value)
            for c in required
            if c.matches(str(value))
        }
        if len(found) >= max(1, (len(required) + 1) // 2):
            return number
    return None


def _merged_cells(
    spec: InputSheet, merged: Sequence[Range], read_columns: set[int]
) -> list[Problem]:
    """Merged cells in the columns that are read: only the first cell keeps the value."""
    problems = []
    for top, left, bottom, right in merged:
        if not any(c - 1 in read_columns for c in range(left, right + 1)):
            continue
        first = f"{column_letter(left - 1)}{top}"
        span = f"{first}:{column_letter(right - 1)}{bottom}"
        hidden = "the other cells read as blank"
        if top == 1:
            hidden = "a merged header hides the headers of the columns under it"
        problems.append(
            Problem(
                "Error",
                Where(spec.name, column=first),
                f"Cells {span} are merged; in a table every cell must hold its own value"
                f" ({hidden}).",
                "Select the cells, choose Home > Merge & Center > Unmerge Cells, and fill in"
                " each cell.",
            )
        )
    return problems


def _data_without_header(
    spec: InputSheet,
    grid: Sequence[Sequence[object]],
    header_row: Sequence[object],
) -> list[Problem]:
    """A column with values but no header is ignored; say so rather than drop it quietly."""
    problems = []
    width = max((len(row) for row in grid), default=0)
    for index in range(width):
        if index < len(header_row) and not is_blank(header_row[index]):
            continue
        for row_number, row in enumerate(grid[1:], start=2):
            if index < len(row) and not is_blank(row[index]):
                letter = column_letter(index)
                problems.append(
                    Problem(
                        "Warning",
                        Where(spec.name, column=f"{letter}{row_number}"),
                        f"Column {letter} has values (from {letter}{row_number}) but no"
                        " header in row 1, so they are ignored.",
                        f"Give the column a header in {letter}1, or move the values into"
                        " the column they belong to.",
                    )
                )
                break
    return problems


def _blank_rows_warning(spec: InputSheet, blank: list[int]) -> Problem:
    first, last = blank[0], blank[-1]
    which = f"Row {first} is" if first == last else f"Rows {first}-{last} are"
    return Problem(
        "Warning",
        Where(spec.name, column=f"A{first}"),
        f"{which} blank, in the middle of the table; the rows below are still read.",
        "Delete the blank rows, so that sorting and filtering in Excel cover the whole table.",
    )


def settings_with_dates(
    grid: Sequence[Sequence[object]], date1904: bool = False
) -> list[list[object]]:
    """The Settings sheet with an As Of or Next Review given as a number read as the
    Excel date it is.

    Clients that send dates as serial numbers (VBA, Office.js before ExcelApi 1.12) lose
    the difference between a date and a number, and a date typed into a General cell is
    a number in the file too. Date columns of the input sheets know they hold dates; the
    Settings sheet's Value column holds text as well, so its date rows are the one place
    that must be told, the same way for `recalc` and the Excel button (SPEC §1).
    """
    if not grid:
        return [list(row) for row in grid]
    setting, value = SETTINGS.column("setting"), SETTINGS.column("value")
    headers = [str(h) if h is not None else "" for h in grid[0]]
    name_at = next((i for i, h in enumerate(headers) if setting.matches(h)), None)
    value_at = next((i for i, h in enumerate(headers) if value.matches(h)), None)
    if name_at is None or value_at is None:
        return [list(row) for row in grid]
    fixed = [list(grid[0])]
    for row in grid[1:]:
        line = list(row)
        raw = line[value_at] if value_at < len(line) else None
        named = line[name_at] if name_at < len(line) else None
        number = isinstance(raw, int | float) and not isinstance(raw, bool)
        if number and header_key(named) in _DATE_SETTINGS:
            as_date = parse_date(raw + DAYS_1900_TO_1904 if date1904 else raw)  # type: ignore[operator]
            if isinstance(as_date, dt.date):
                line[value_at] = dt.datetime.combine(as_date, dt.time(0))
        fixed.append(line)
    return fixed


_DATE_SETTINGS = {header_key(SETTING_AS_OF), header_key(SETTING_NEXT_REVIEW)}


def _name_setting_cells(rows: list[dict[str, object]], cells: CellMap) -> None:
    """Where each setting's value is, so a problem about it names its cell (B4), not
    only the setting: the row `_settings` takes it from (the last one with a value)."""
    value = cells.letters.get((SETTINGS.name, "Value"))
    if value is None:
        return
    labels = {header_key(n): n for n in (SETTING_AS_OF, SETTING_NEXT_REVIEW, SETTING_POLICY_FILE)}
    for values in rows:
        label = labels.get(header_key(values.get("setting")))
        key = (SETTINGS.name, label or "")
        if label and (not is_blank(values.get("value")) or key not in cells.named):
            cells.named[key] = f"{value}{values['row']}"


def _settings(rows: list[dict[str, object]]) -> tuple[Settings, list[Problem]]:
    settings = Settings()
    problems: list[Problem] = []
    dates = {header_key(SETTING_AS_OF): "as_of", header_key(SETTING_NEXT_REVIEW): "next_review"}
    for values in rows:
        name = header_key(values.get("setting"))
        raw = values.get("value")
        row = int(values["row"])  # type: ignore[call-overload]
        if name in dates:
            if is_blank(raw):
                continue
            parsed = parse_date(raw)
            if not isinstance(parsed, CellError):
                parsed = plausible_date(raw, parsed)  # the windows must stay in the calendar
            label = SETTING_AS_OF if dates[name] == "as_of" else SETTING_NEXT_REVIEW
            if isinstance(parsed, CellError):
                problems.append(
                    Problem(
                        "Error",
                        Where("Settings", row, "Value"),
                        f"{label}: {parsed.problem}",
                        parsed.how_to_fix,
                    )
                )
                setattr(settings, dates[name], None)  # the last value given is the one meant
                settings.unreadable[label] = (
                    f"the Settings sheet's {label} could not be read (see Problems)"
                )
            else:
                setattr(settings, dates[name], parsed)
                settings.unreadable.pop(label, None)
        elif name == header_key(SETTING_POLICY_FILE):
            if not is_blank(raw):
                settings.policy_file = parse_text(raw)
        elif name:
            problems.append(
                Problem(
                    "Warning",
                    Where("Settings", row, "Setting"),
                    f"Unknown setting {shown(values.get('setting'))}; it is ignored.",
                    f"Use {SETTING_AS_OF}, {SETTING_POLICY_FILE} or {SETTING_NEXT_REVIEW}.",
                )
            )
    return settings, problems


def _history(
    snapshot: WorkbookSnapshot, cells: CellMap
) -> tuple[tuple[HistoryRow, ...] | None, list[Problem]]:
    """Findings History as earlier runs wrote it (None: no such sheet yet).

    A row edited by hand so that it cannot be read is left out with a Warning: history
    informs Eligible Since and Change Since Last Review, it never decides eligibility.
    """
    title = snapshot.find(FINDINGS_HISTORY.name)
    if title is None:
        return None, []
    cells.titles[HISTORY_INPUT.name] = title
    read = read_table(HISTORY_INPUT, snapshot.sheets[title], cells, date1904=snapshot.date1904)
    problems = [replace(p, severity="Warning") for p in read.problems]
    if read.unusable:
        problems.append(
            Problem(
                "Warning",
                Where(HISTORY_INPUT.name, column="A1"),
                f"Findings History cannot be read ({read.unusable}), so this run is treated"
                " as the first review: Eligible Since starts today and every license is"
                " recorded again.",
                "Restore the sheet's header row (or delete the sheet to start a new history).",
            )
        )
        return None, problems
    history = tuple(
        HistoryRow(
            as_of=values["as_of"],  # type: ignore[arg-type]
            license_id=str(values["license_id"]),
            finding=str(values.get("finding") or ""),
            exception=str(values.get("exception") or ""),
            eligible=bool(values.get("eligible")),
            run_at=values.get("run_at"),  # type: ignore[arg-type]
            row=int(values["row"]),  # type: ignore[call-overload]
        )
        for values in read.rows
    )
    return history, problems


def join_continuations(
    sheets: dict[str, list[list[object]]], merged: dict[str, list[tuple[int, int, int, int]]]
) -> None:
    """Each appended sheet's continuations ("Run Log 2", ...) as more rows of the first,
    matched to its columns by header."""
    for spec in APPENDED_SHEETS:
        found = sorted(
            (number, title)
            for title in sheets
            if (number := continuation_number(spec.name, title)) is not None
        )
        if len(found) < 2:
            continue
        base_title = found[0][1]
        base = sheets[base_title]
        header = [header_key(h) for h in (base[0] if base else [])]
        for _number, title in found[1:]:
            rows = sheets.pop(title)
            merged.pop(title, None)
            if not rows:
                continue
            own = [header_key(h) for h in rows[0]]
            if not base:
                base.append(list(rows[0]))
                header = own
            where = [header.index(key) if key in header else None for key in own]
            width = len(header)
            for row in rows[1:]:
                line: list[object] = [None] * width
                for value, index in zip(row, where, strict=False):
                    if index is not None and value is not None:
                        line[index] = value
                base.append(line)
