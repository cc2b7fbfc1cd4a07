"""The input sheets as staff type into them: a new workbook for `init` and the sample.

Written once with openpyxl (a new file has nothing to preserve; `recalc` never rewrites
these sheets afterwards). Each input sheet gets a bold frozen header in a named font,
widths that fit, date formats on its date columns, an Excel Table over its rows, and
drop-downs that refuse what the engine would refuse: Yes/No columns, the choices declared
in the layout, the license types of the policy in use, and Region and Organization lists
that follow the Regions and Organizations sheets as rows are added there. The first sheet
says in plain words what to type where and what to do each month.

The policy's license types come in as a parameter: this room knows the file format and
the layout, never the policy itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from workbook.layout import (
    INPUT_SHEETS,
    NUMBER_FORMATS,
    ORGANIZATIONS,
    POLICY_SHEET,
    REGIONS,
    RESULT_SHEETS,
    SETTING_AS_OF,
    SETTING_NEXT_REVIEW,
    SETTING_POLICY_FILE,
    SETTINGS,
    Column,
    InputSheet,
    Kind,
)
from workbook.presentation import INPUT_TAB_COLOUR

INSTRUCTIONS = "Instructions"
FONT = "Calibri"
INPUT_FILL = "FFFFF2CC"  # the input sheets' header: light yellow
LIST_ROWS = 2000  # drop-downs and date formats reach this far down each sheet
# Defined names whose lists grow with their sheets (Excel and LibreOffice both evaluate
# OFFSET/COUNTA names in data validation).
REGION_LIST = "HMIS_Regions"
ORGANIZATION_LIST = "HMIS_Organizations"
_LIST_SOURCES = {
    ("Region", REGION_LIST): (REGIONS, "region"),
    ("Organization", ORGANIZATION_LIST): (ORGANIZATIONS, "organization"),
}


def instructions(policy_where: str) -> list[tuple[str, str]]:
    """The Instructions sheet: (style, text) lines; style is "title", "heading" or ""."""
    inputs = list(INPUT_SHEETS)
    results = ", ".join(s.name for s in RESULT_SHEETS)
    lines: list[tuple[str, str]] = [
        ("title", "HMIS Licensing workbook"),
        (
            "",
            "This workbook is the CoC's shared record of HMIS user licenses. You type on the"
            " yellow-tabbed sheets; hmis-licensing writes the blue-tabbed sheets.",
        ),
        ("heading", "What to type where"),
    ]
    for sheet in inputs:
        required = ", ".join(c.header for c in sheet.columns if c.required)
        optional = " (optional sheet)" if sheet.optional else ""
        lines.append(("", f"{sheet.name}{optional}: {sheet.purpose} Required: {required}."))
    lines += [
        (
            "",
            "Row 1 of every sheet is its header: type below it, one row per item. Dates as"
            " dates (2026-11-24). A cell with a drop-down accepts only what is in its list;"
            " the Region and Organization lists are the Regions and Organizations sheets,"
            " so add a region or organization there first.",
        ),
        ("heading", "What Recalculate does"),
        (
            "",
            "Recalculate (the HMIS Licensing tab in Excel, or `hmis-licensing recalc"
            " WORKBOOK` on the command line) reads the yellow sheets, applies the policy and"
            f" replaces the blue sheets: {results}. It never changes what you typed. Each"
            " result sheet's first line says the As Of date and the policy version it used;"
            " Problems lists what needs fixing, with the sheet and cell; Run Log and"
            " Findings History gain rows and keep them. Never type on a blue sheet: the next"
            " run replaces it.",
        ),
        ("heading", "Where the policy lives"),
        ("", policy_where),
        (
            "",
            "The Settings sheet chooses: As Of (blank: today), Policy File (blank: a sheet"
            f" named {POLICY_SHEET}, else policy.yaml beside this workbook, else the adopted"
            " policy), Next Review (blank: As Of plus"
            f" the policy's review period). A sheet named {POLICY_SHEET} holding the policy"
            " text is used by Excel on the web.",
        ),
        ("heading", "Every month"),
        (
            "",
            "1. Import activity: hmis-licensing import-activity WORKBOOK EXPORT.zip (the"
            " HMIS CSV export) fills Last Client Data Entry and Client Entries (Window).",
        ),
        ("", "2. Set As Of on the Settings sheet (or leave it blank for today) and Recalculate."),
        (
            "",
            "3. Read the Watch List: licenses that become eligible for revocation before the"
            " next review unless their holders sign in or enter client data.",
        ),
        (
            "",
            "4. Send notices: hmis-licensing notices WORKBOOK --output FOLDER writes one"
            " e-mail draft per organization and per region's CE Lead.",
        ),
        (
            "",
            "5. Print the committee packets: the Revocations, Allotments and Appeals Queue"
            " sheets print on Letter paper, or hmis-licensing packet WORKBOOK --committee"
            " performance (or ce).",
        ),
        (
            "",
            "6. Record what was decided: Revoked On, Revoked By and Revocation Reason on"
            " Licenses for each revocation; Decision, Decided On and Last Reviewed On on"
            " Appeals for each appeal the committee discussed. Then Recalculate again.",
        ),
        (
            "",
            "The tool never revokes a license: it says which licenses the policy makes"
            " eligible, and why, with the policy clause.",
        ),
    ]
    return lines


def new_workbook(policy_where: str) -> Any:
    """A workbook with only the Instructions sheet, in a named font."""
    import openpyxl
    from openpyxl.styles import Alignment, Font

    book = openpyxl.Workbook()
    sheet = book.worksheets[0]  # a new workbook has one sheet: it becomes Instructions
    sheet.title = INSTRUCTIONS
    sheet.sheet_properties.tabColor = INPUT_TAB_COLOUR
    sheet.column_dimensions["A"].width = 110
    fonts = {
        "title": Font(name=FONT, size=16, bold=True),
        "heading": Font(name=FONT, size=12, bold=True),
        "": Font(name=FONT, size=11),
    }
    for number, (style, text) in enumerate(instructions(policy_where), start=1):
        cell = sheet.cell(row=number, column=1, value=text)
        cell.font = fonts[style]
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.data_type = "s"
        if style == "" and len(text) > 110:
            sheet.row_dimensions[number].height = 15 * -(-len(text) // 120)
    _defined_list_names(book)
    return book


def _defined_list_names(book: Any) -> None:
    from openpyxl.workbook.defined_name import DefinedName

    for (_label, name), (sheet, field) in _LIST_SOURCES.items():
        letter = _letter(sheet.columns.index(sheet.column(field)) + 1)
        quoted = "'" + sheet.name.replace("'", "''") + "'"
        reference = (
            f"OFFSET({quoted}!${letter}$2,0,0,MAX(1,COUNTA({quoted}!${letter}:${letter})-1),1)"
        )
        book.defined_names[name] = DefinedName(name, attr_text=reference)


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index))


def _width(column: Column, rows: Sequence[Mapping[str, object]]) -> float:
    longest = max(
        (len(_shown(row.get(column.field))) for row in rows),
        default=0,
    )
    header = max(len(w) for w in column.header.split())
    wanted = max(header + 2, min(longest + 2, 44), 10 if column.kind is Kind.DATE else 0)
    return float(max(wanted, min(column.width, 44)))


def _shown(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return "2026-11-24"
    return str(value)


def write_input_sheet(
    book: Any,
    spec: InputSheet,
    rows: Iterable[Mapping[str, object]] = (),
    *,
    license_types: Sequence[str],
    list_rows: int = LIST_ROWS,
) -> Any:
    """One input sheet: header, rows (dicts keyed by layout field), table, drop-downs."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.table import Table, TableStyleInfo

    sheet = book.create_sheet(spec.name)
    sheet.sheet_properties.tabColor = INPUT_TAB_COLOUR
    data = list(rows)
    body = Font(name=FONT, size=11)
    for index, column in enumerate(spec.columns, start=1):
        cell = sheet.cell(row=1, column=index, value=column.header)
        cell.font = Font(name=FONT, size=11, bold=True)
        cell.fill = PatternFill("solid", fgColor=INPUT_FILL)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[_letter(index)].width = _width(column, data)
    sheet.row_dimensions[1].height = 30
    for number, values in enumerate(data, start=2):
        for index, column in enumerate(spec.columns, start=1):
            value = values.get(column.field)
            if value is None:
                continue
            cell = sheet.cell(row=number, column=index, value=value)
            cell.font = body
            if isinstance(value, str):
                cell.data_type = "s"  # as typed: never a formula
            if column.kind in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[column.kind]
    last = max(len(data) + 1, 2)  # a table needs a row below its header
    for index, column in enumerate(spec.columns, start=1):
        if column.kind in (Kind.DATE, Kind.DATETIME):
            for number in range(len(data) + 2, list_rows + 1):
                sheet.cell(row=number, column=index).number_format = NUMBER_FORMATS[column.kind]
    sheet.freeze_panes = "A2"
    table = Table(
        displayName="tbl" + "".join(ch for ch in spec.name if ch.isalnum()),
        ref=f"A1:{_letter(len(spec.columns))}{last}",
    )
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=True)
    sheet.add_table(table)
    _add_dropdowns(sheet, spec, license_types, list_rows)
    return sheet


def choices_of(
    spec: InputSheet, column: Column, license_types: Sequence[str]
) -> tuple[str, str] | None:
    """The drop-down of a column: (formula, what it lists), or None for free text."""
    if column.kind is Kind.YESNO:
        return '"Yes,No"', "Yes or No"
    if column.choices:  # Kind.CHOICE, or free text with suggested values (Reason)
        return '"' + ",".join(column.choices) + '"', ", ".join(column.choices)
    if column.field == "license_type" and license_types:
        return '"' + ",".join(license_types) + '"', ", ".join(license_types)
    for (label, name), (source, _field) in _LIST_SOURCES.items():
        if column.header == label and source is not spec:
            return f"={name}", f"an {label.lower()} on the {source.name} sheet".replace(
                "an region", "a region"
            )
    return None


def _add_dropdowns(sheet: Any, spec: InputSheet, license_types: Sequence[str], last: int) -> None:
    from openpyxl.worksheet.datavalidation import DataValidation

    for index, column in enumerate(spec.columns, start=1):
        found = choices_of(spec, column, license_types)
        if found is None:
            continue
        formula, listed = found
        rule = DataValidation(
            type="list",
            formula1=formula,
            allow_blank=True,
            showErrorMessage=True,
            showInputMessage=bool(column.note),
            errorStyle="stop",
        )
        rule.errorTitle = column.header
        rule.error = f"Choose {listed} from the list."[:255]
        if column.note:
            rule.promptTitle = column.header[:32]
            rule.prompt = column.note[:255]
        letter = _letter(index)
        sheet.add_data_validation(rule)
        rule.add(f"{letter}2:{letter}{last}")


def settings_rows(as_of: dt.date | None = None) -> list[dict[str, object]]:
    return [
        {"setting": SETTING_AS_OF, "value": as_of},
        {"setting": SETTING_POLICY_FILE, "value": None},
        {"setting": SETTING_NEXT_REVIEW, "value": None},
    ]


SETTING_NOTES = {
    SETTING_AS_OF: "the date to judge on; blank: today",
    SETTING_POLICY_FILE: f"the policy file; blank: a sheet named {POLICY_SHEET}, else"
    " policy.yaml beside this workbook, else the adopted policy",
    SETTING_NEXT_REVIEW: "the next monthly review; blank: As Of plus the policy's review period",
}


def write_settings(book: Any, rows: Sequence[Mapping[str, object]]) -> Any:
    """The Settings sheet: its rows, a date format on its values, a note beside each."""
    from openpyxl.styles import Font

    sheet = write_input_sheet(book, SETTINGS, rows, license_types=(), list_rows=len(rows) + 1)
    note_column = len(SETTINGS.columns) + 1
    sheet.cell(row=1, column=note_column, value="About").font = Font(name=FONT, size=11, bold=True)
    sheet.column_dimensions[_letter(note_column)].width = 80
    for number, row in enumerate(rows, start=2):
        note = SETTING_NOTES.get(str(row.get("setting")))
        if note:
            sheet.cell(row=number, column=note_column, value=note).font = Font(name=FONT, size=11)
        sheet.cell(row=number, column=2).number_format = NUMBER_FORMATS[Kind.DATE]
    return sheet


def save(book: Any, path: Path) -> None:
    """Save atomically, with fixed document times (the same content gives the same file)."""
    import io

    from workbook.xlsx.safesave import atomic_write

    fixed = dt.datetime(2026, 1, 1, 0, 0, 0)
    book.properties.creator = "hmis-licensing"
    book.properties.created = fixed
    book.properties.modified = fixed
    buffer = io.BytesIO()
    book.save(buffer)
    # A new workbook replaces a link of that name, never the workbook the link points to.
    atomic_write(
        path,
        buffer.getvalue(),
        replace_link=True,
        space_fix="Free some space, or choose a file in another folder, and run again.",
    )


def blank_workbook(path: Path, *, license_types: Sequence[str], policy_where: str) -> Path:
    """`hmis-licensing init`: every input sheet, empty, ready to type into."""
    book = new_workbook(policy_where)
    for spec in INPUT_SHEETS:
        if spec is SETTINGS:
            write_settings(book, settings_rows())
        else:
            write_input_sheet(book, spec, (), license_types=license_types)
    save(book, path)
    return path
