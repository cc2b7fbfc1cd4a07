"""Workbooks with bad input, built for the reliability tests (real .xlsx files).

A `Book` is a set of sheets as rows of values (row 1 the headers) plus merged ranges;
`write` saves it with openpyxl. Two markers write what a program that does not calculate
leaves behind: `Formula` (a formula without a calculated value) and `ErrorValue` (#N/A).
Every other string is written as text, even one that starts with "=".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl

from workbook.layout import APPEALS, LICENSES, NUMBER_FORMATS, SETTINGS, Kind
from workbook.tables import column_letter

AS_OF = "2026-11-24"
CELL = re.compile(r"^[A-Z]{1,3}[0-9]+(:[A-Z]{1,3}[0-9]+)?$")


@dataclass(frozen=True)
class Formula:
    text: str


@dataclass(frozen=True)
class ErrorValue:
    code: str


@dataclass
class Book:
    sheets: dict[str, list[list[object]]]
    merges: dict[str, list[str]] = field(default_factory=dict)

    def headers(self, sheet: str) -> list[object]:
        return self.sheets[sheet][0]

    def column(self, sheet: str, header: str) -> int:
        return self.headers(sheet).index(header)

    def set(self, sheet: str, row: int, header: str, value: object) -> str:
        """Set a data cell (row 2 is the first data row); returns its reference."""
        index = self.column(sheet, header)
        line = self.sheets[sheet][row - 1]
        while len(line) <= index:
            line.append(None)
        line[index] = value
        return f"{letter(index)}{row}"

    def write(self, path: Path) -> Path:
        book = openpyxl.Workbook()
        book.remove(book.active)
        for name, rows in self.sheets.items():
            sheet = book.create_sheet(name)
            for r, row in enumerate(rows, start=1):
                for c, value in enumerate(row, start=1):
                    if value is None:
                        continue
                    cell = sheet.cell(row=r, column=c)
                    if isinstance(value, Formula):
                        cell.value = "=" + value.text
                    elif isinstance(value, ErrorValue):
                        cell.value = value.code
                        cell.data_type = "e"
                    else:
                        cell.value = value
                        if isinstance(value, str):
                            cell.data_type = "s"
                        elif isinstance(value, dt.date):
                            cell.number_format = NUMBER_FORMATS[Kind.DATE]
            for span in self.merges.get(name, []):
                sheet.merge_cells(span)
        book.save(path)
        return path


letter = column_letter


def write_with_xlsxwriter(book: Book, path: Path, **options: object) -> Path:
    """`book` saved by xlsxwriter, as Excel saves (text in shared strings, dates with a
    date format); `options` go to xlsxwriter.Workbook (e.g. date_1904=True)."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), options)
    date = workbook.add_format({"num_format": NUMBER_FORMATS[Kind.DATE]})
    for name, rows in book.sheets.items():
        sheet = workbook.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, dt.date):
                    sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date)
                elif value is not None:
                    sheet.write(r, c, value)
    workbook.close()
    return path


LICENSE_HEADERS = [c.header for c in LICENSES.columns]
APPEAL_HEADERS = [c.header for c in APPEALS.columns]


def base_book(licenses: int = 6) -> Book:
    """A valid workbook: two regions, three organizations, licenses, an appeal, settings."""
    rows: list[list[object]] = [list(LICENSE_HEADERS)]
    for n in range(1, licenses + 1):
        values = {
            "License ID": f"L-{n}",
            "User": f"User {n}",
            "Organization": ("Org A", "Org B", "Org C")[n % 3],
            "License Type": "CE Access Only" if n % 4 == 0 else "Housing Project",
            "Region": "Region 1" if n % 4 == 0 else None,
            "Granted On": dt.date(2024, 1, 1) + dt.timedelta(days=n % 300),
            "First Sign-In": dt.date(2024, 1, 2) + dt.timedelta(days=n % 300),
            "Last Client Data Entry": dt.date(2026, 1 + n % 11, 1),
            "Client Entries (Window)": n * 3,
            "Last Login": dt.date(2026, 11, 1),
            "Level 4 List Holder": "No",
        }
        rows.append([values.get(h) for h in LICENSE_HEADERS])
    appeal = {
        "Appeal ID": "A-1",
        "Filed On": dt.date(2026, 10, 1),
        "Organization": "Org A",
        "Reason": "Special request",
        "Decision": "Pending",
    }
    return Book(
        {
            "Regions": [["Region", "Population"], ["Region 1", 596788], ["Region 2", 2312642]],
            "Organizations": [
                ["Organization", "County"],
                ["Org A", "Clay County"],
                ["Org B", "Platte County"],
                ["Org C", "Cole County"],
            ],
            "Licenses": rows,
            "Appeals": [list(APPEAL_HEADERS), [appeal.get(h) for h in APPEAL_HEADERS]],
            SETTINGS.name: [["Setting", "Value"], ["As Of", None]],
        }
    )


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """The command line, in this process, with its output captured."""
    from workbook.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse
            code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


def raw_members(path: Path) -> dict[str, bytes]:
    """Each zip member's compressed bytes and CRC, exactly as stored in the file."""
    data = path.read_bytes()
    found = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            offset = info.header_offset
            name_length = int.from_bytes(data[offset + 26 : offset + 28], "little")
            extra_length = int.from_bytes(data[offset + 28 : offset + 30], "little")
            start = offset + 30 + name_length + extra_length
            found[info.filename] = (
                info.CRC.to_bytes(4, "little") + data[start : start + info.compress_size]
            )
    return found


def problems_of(path: Path) -> list[dict[str, object]]:
    """The Problems sheet as dicts, read with python-calamine."""
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        rows = book.get_sheet_by_name("Problems").to_python()
    finally:
        book.close()
    # Below the title line (calamine starts at the first used row, so look for the header).
    at = next(i for i, row in enumerate(rows) if row and row[0] == "Severity")
    head = [str(h) for h in rows[at]]
    return [dict(zip(head, row, strict=False)) for row in rows[at + 1 :]]
