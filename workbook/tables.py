"""From a grid of cell values (however it was read) to the engine's typed input rows.

Both the headless path (openpyxl) and the Excel path (xlwings) reduce a workbook to a
`WorkbookSnapshot` of plain 2-D value lists; everything after that is shared, so the
same cell gives the same value, and the same problem, on every path.
"""

from __future__ import annotations

import datetime as dt
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
from workbook.values import CellError, is_blank, parse_cell, parse_date, parse_text, shown


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
    """Every sheet's cell values, row 1 first, in workbook order."""

    sheets: dict[str, list[list[object]]]

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
        if where.column is None:
            return sheet, f"row {where.row}"
        letter = self.letters.get((where.sheet, where.column))
        return sheet, f"{letter}{where.row}" if letter else f"row {where.row}"


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
                        Where(spec.name),
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
        rows = read_table(spec, snapshot.sheets[title], cells, problems)
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
) -> list[dict[str, object]]:
    """The sheet's data rows as field -> typed value, for rows without errors."""
    header_row = list(grid[0]) if grid else []
    positions: dict[str, int] = {}
    for index, header in enumerate(header_row):
        if is_blank(header):
            continue
        for column in spec.columns:
            if column.matches(str(header)):
                if column.field in positions:
                    problems.append(
                        Problem(
                            "Warning",
                            Where(spec.name, 1),
                            f'The header "{column.header}" appears twice (columns'
                            f" {column_letter(positions[column.field])} and"
                            f" {column_letter(index)}); the first is used.",
                            "Rename or delete one of the two columns.",
                        )
                    )
                    continue
                positions[column.field] = index
                cells.letters[(spec.name, column.header)] = column_letter(index)
    missing = [c for c in spec.columns if c.required and c.field not in positions]
    for column in missing:
        problems.append(
            Problem(
                "Error",
                Where(spec.name, 1),
                f'The {spec.name} sheet has no "{column.header}" column.',
                f'Add a column headed "{column.header}" in row 1.',
            )
        )
    if missing:
        return []

    rows = []
    for row_number, row in enumerate(grid[1:], start=2):
        if all(is_blank(v) for v in row):
            continue
        values: dict[str, object] = {"row": row_number}
        ok = True
        for column in spec.columns:
            index = positions.get(column.field)
            if index is None:
                continue
            raw = row[index] if index < len(row) else None
            where = Where(spec.name, row_number, column.header)
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
                    values[column.field] = False
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
