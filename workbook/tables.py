"""From a grid of cell values (however it was read) to the engine's typed input rows.

Both the headless path (openpyxl) and the Excel path (xlwings) reduce a workbook to a
`WorkbookSnapshot` of plain 2-D value lists; everything after that is shared, so the
same cell gives the same value, and the same problem, on every path.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.model import Inputs, Problem, Where
from workbook.layout import (
    INPUT_SHEETS,
    SETTING_AS_OF,
    SETTING_POLICY_FILE,
    SETTINGS,
    InputSheet,
    Kind,
    header_key,
)
from workbook.values import (
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

    def cell(self, where: Where) -> tuple[str, str]:
        sheet = self.titles.get(where.sheet, where.sheet)
        if where.row is None:
            return sheet, where.column or ""
        letter = self.letters.get((where.sheet, where.column or ""))
        if letter is None:  # the column is not on the sheet: name the row's first cell
            found = [v for (name, _), v in self.letters.items() if name == where.sheet]
            letter = min(found, key=lambda v: (len(v), v)) if found else "A"
        return sheet, f"{letter}{where.row}"


@dataclass
class Settings:
    as_of: dt.date | None = None
    policy_file: str | None = None


@dataclass
class InputRead:
    inputs: Inputs
    problems: list[Problem]
    cells: CellMap
    settings: Settings


def read_inputs(snapshot: WorkbookSnapshot) -> InputRead:
    problems: list[Problem] = []
    cells = CellMap()
    tables: dict[str, tuple | None] = {}
    settings = Settings()
    for spec in INPUT_SHEETS:
        title = snapshot.find(spec.name)
        if title is None:
            if not spec.optional:
                problems.append(
                    Problem(
                        "Error",
                        Where(spec.name, column="A1"),
                        f"The workbook has no {spec.name} sheet.",
                        f"Add a sheet named {spec.name} with the headers: "
                        + ", ".join(c.header for c in spec.columns if c.required)
                        + ". `hmis-licensing init` writes a blank workbook with every sheet.",
                    )
                )
                tables[spec.name] = ()
            else:
                tables[spec.name] = None
            continue
        cells.titles[spec.name] = title
        rows = read_table(
            spec, snapshot.sheets[title], cells, problems, merged=snapshot.merged.get(title, ())
        )
        if spec is SETTINGS:
            settings = _settings(rows, problems)
            continue
        tables[spec.name] = tuple(spec.row_type(**values) for values in rows)  # type: ignore[misc]

    inputs = Inputs(
        regions=tables["Regions"] or (),
        organizations=tables["Organizations"] or (),
        licenses=tables["Licenses"] or (),
        counties=tables["Counties"],
        intakes=tables["Intakes"],
        appeals=tables["Appeals"],
        self_pay_requests=tables["Self-Pay Requests"],
    )
    return InputRead(inputs, problems, cells, settings)


def read_table(
    spec: InputSheet,
    grid: Sequence[Sequence[object]],
    cells: CellMap,
    problems: list[Problem],
    merged: Sequence[Range] = (),
) -> list[dict[str, object]]:
    """The sheet's data rows as field -> typed value, for rows without errors."""
    header_row = list(grid[0]) if grid else []
    positions: dict[str, int] = {}
    unknown: list[tuple[int, str]] = []  # headers that are no declared column
    for index, header in enumerate(header_row):
        if is_blank(header) or isinstance(header, CellError):
            continue
        matched = False
        for column in spec.columns:
            if column.matches(str(header)):
                matched = True
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
        if not matched:
            unknown.append((index, str(header)))
    near = _near_misses(spec, positions, unknown, problems)
    missing = [c for c in spec.columns if c.required and c.field not in positions]
    if missing:
        free = max((i for i, h in enumerate(header_row) if not is_blank(h)), default=-1) + 1
        elsewhere = _headers_further_down(spec, grid)
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
        return []

    read_columns = set(positions.values())
    _merged_cells(spec, merged, read_columns, problems)
    _data_without_header(spec, grid, header_row, problems)

    rows = []
    blank_run: list[int] = []
    for row_number, row in enumerate(grid[1:], start=2):
        if all(is_blank(v) for v in row):
            blank_run.append(row_number)
            continue
        if blank_run:
            _blank_rows_warning(spec, blank_run, problems)
            blank_run = []
        values: dict[str, object] = {"row": row_number}
        ok = True
        for column in spec.columns:
            index = positions.get(column.field)
            if index is None:
                continue
            raw = row[index] if index < len(row) else None
            where = Where(spec.name, row_number, column.header)
            if isinstance(raw, CellError):
                problems.append(Problem("Error", where, raw.problem, raw.how_to_fix))
                ok = False
                continue
            if is_blank(raw):
                if column.needs_value:
                    problems.append(
                        Problem(
                            "Error",
                            where,
                            f"{column.header} is blank.",
                            f"Enter the {column.header}"
                            + (f" ({column.kind.value})." if column.kind is not Kind.TEXT else ".")
                            + " Or delete the row if it is not in use.",
                        )
                    )
                    ok = False
                elif column.kind is Kind.YESNO:
                    values[column.field] = None if column.blank_unknown else False
                elif column.required:  # a required column whose cells may be blank
                    values[column.field] = None
                continue
            value = parse_cell(column, raw)
            if isinstance(value, CellError):
                problems.append(Problem("Error", where, value.problem, value.how_to_fix))
                ok = False
                continue
            values[column.field] = value
        if ok:
            rows.append(values)
    return rows


def _near_misses(
    spec: InputSheet,
    positions: dict[str, int],
    unknown: list[tuple[int, str]],
    problems: list[Problem],
) -> dict[str, tuple[int, str]]:
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
    for index, text in unknown:
        key = header_key(text)
        if len(key) < 3:
            continue
        close = difflib.get_close_matches(key, list(by_key), n=1, cutoff=0.75)
        if not close:  # "Revoked" for "Revoked On", "Grant Date" for "Granted On"
            stem = key.split()[0][:5]
            close = [
                k
                for k in by_key
                if (len(key) >= 4 and (k.startswith(key) or key in k))
                or (len(stem) == 5 and k.split()[0].startswith(stem))
            ][:1]
        if not close:
            continue
        column = by_key[close[0]]
        if column.required:
            guesses.setdefault(column.field, (index, text))
            continue
        problems.append(
            Problem(
                "Warning",
                Where(spec.name, column=f"{column_letter(index)}1"),
                f'The header "{text}" is not a column hmis-licensing reads, so this column'
                f' is ignored. Did you mean "{column.header}"?',
                f'Rename the header to "{column.header}" if that is what the column holds.',
            )
        )
    return guesses


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
    spec: InputSheet, merged: Sequence[Range], read_columns: set[int], problems: list[Problem]
) -> None:
    """Merged cells in the columns that are read: only the first cell keeps the value."""
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


def _data_without_header(
    spec: InputSheet,
    grid: Sequence[Sequence[object]],
    header_row: Sequence[object],
    problems: list[Problem],
) -> None:
    """A column with values but no header is ignored; say so rather than drop it quietly."""
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


def _blank_rows_warning(spec: InputSheet, blank: list[int], problems: list[Problem]) -> None:
    first, last = blank[0], blank[-1]
    which = f"Row {first} is" if first == last else f"Rows {first}-{last} are"
    problems.append(
        Problem(
            "Warning",
            Where(spec.name, column=f"A{first}"),
            f"{which} blank, in the middle of the table; the rows below are still read.",
            "Delete the blank rows, so that sorting and filtering in Excel cover the whole table.",
        )
    )


def _settings(rows: list[dict[str, object]], problems: list[Problem]) -> Settings:
    settings = Settings()
    for values in rows:
        name = header_key(values.get("setting"))
        raw = values.get("value")
        where = Where("Settings", int(values["row"]), "Value")  # type: ignore[call-overload]
        if name == header_key(SETTING_AS_OF):
            if is_blank(raw):
                continue
            parsed = parse_date(raw)
            if not isinstance(parsed, CellError):
                parsed = plausible_date(raw, parsed)  # the windows must stay in the calendar
            if isinstance(parsed, CellError):
                problems.append(
                    Problem("Error", where, f"As Of: {parsed.problem}", parsed.how_to_fix)
                )
            else:
                settings.as_of = parsed
        elif name == header_key(SETTING_POLICY_FILE):
            if not is_blank(raw):
                settings.policy_file = parse_text(raw)
        elif name:
            problems.append(
                Problem(
                    "Warning",
                    Where("Settings", int(values["row"]), "Setting"),  # type: ignore[call-overload]
                    f"Unknown setting {shown(values.get('setting'))}; it is ignored.",
                    f"Use {SETTING_AS_OF} or {SETTING_POLICY_FILE}.",
                )
            )
    return settings
