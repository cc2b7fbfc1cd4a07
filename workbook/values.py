"""Turning what a cell holds into a typed value, or into a message a person can act on.

Cells arrive in many shapes: real dates, ISO text, Excel serial numbers (the VBA and old
Office.js clients send those), floats for whole numbers, text with stray spaces, empty
strings, None. Each kind accepts every honest spelling and refuses guesses: a date is
never read day-first or with a two-digit year.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from workbook.layout import Column, Kind

EXCEL_EPOCH = dt.date(1899, 12, 30)
# A 1904 workbook's day number n is day n + 1462 of the usual system (1904-01-01 is 0).
DAYS_1900_TO_1904 = 1462
_LAST_SERIAL = 2958465  # 9999-12-31
_ISO_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"  # the date
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"  # a time
)
_YES = {"yes", "y", "true", "t", "1", "x", "on", "✓", "✔", "☑", "✅"}
_NO = {"no", "n", "false", "f", "0", "-", "off", "✗", "✘", "☐", "❌"}
# Dates a license can plausibly carry; outside this a year was mistyped, or a number that
# is not a date (a population, a count) landed in a date column.
FIRST_PLAUSIBLE_DATE = dt.date(1990, 1, 1)
LAST_PLAUSIBLE_DATE = dt.date(2099, 12, 31)
# No count, population or fee in the workbook comes near this; Excel keeps 15 digits.
LARGEST_NUMBER = 1e15
_NUMERIC_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})(?:\s.*)?$")
_NUMBER_TEXT = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")


@dataclass(frozen=True, slots=True)
class CellError:
    problem: str
    how_to_fix: str


# Excel's error values, as a cell shows them (and as xlwings hands them over as text).
EXCEL_ERRORS = frozenset(
    {
        "#NULL!",
        "#DIV/0!",
        "#VALUE!",
        "#REF!",
        "#NAME?",
        "#NUM!",
        "#N/A",
        "#GETTING_DATA",
        "#SPILL!",
        "#CALC!",
        "#FIELD!",
        "#BLOCKED!",
        "#CONNECT!",
        "#BUSY!",
        "#UNKNOWN!",
        "#PYTHON!",
    }
)


def error_value(shown_as: str) -> CellError:
    """A cell that shows one of Excel's error values: never a value (SPEC §3). The same
    words whichever way the workbook is read (a file, or the open book in Excel)."""
    return CellError(
        f"The cell shows the error {shown_as or '#VALUE!'}.",
        "Correct the formula or what it refers to, or type the value itself.",
    )


def is_blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def shown(raw: object) -> str:
    """A cell's value as a person would recognise it in a message."""
    if isinstance(raw, str):
        text = raw if len(raw) <= 60 else raw[:57] + "..."
        return f'"{text}"'
    if isinstance(raw, float) and raw.is_integer() and abs(raw) < 1e16:
        return str(int(raw))
    if isinstance(raw, dt.datetime) and raw.time() == dt.time(0):
        return raw.date().isoformat()
    return str(raw)


def serial_to_date(serial: float) -> dt.date:
    return EXCEL_EPOCH + dt.timedelta(days=math.floor(serial))


def parse_date(raw: object) -> dt.date | CellError:
    """A real date, ISO text (2026-05-31, optionally with a time) or an Excel serial."""
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, bool):
        return _not_a_date(raw)
    if isinstance(raw, int | float):
        if math.isfinite(raw) and 1 <= raw <= _LAST_SERIAL:
            return serial_to_date(raw)
        return _not_a_date(raw)
    if isinstance(raw, str):
        match = _ISO_DATE.match(raw.strip())
        if match:
            year, month, day = (int(g) for g in match.groups()[:3])
            try:
                return dt.date(year, month, day)
            except ValueError:
                return CellError(
                    f"{shown(raw)} is not a real date (no such day).",
                    "Enter a real date as yyyy-mm-dd, e.g. 2026-02-28, or as an Excel date.",
                )
    return _not_a_date(raw)


def _not_a_date(raw: object) -> CellError:
    fix = (
        "Enter the date as yyyy-mm-dd (e.g. 2026-05-31) or as an Excel date; day-first"
        " and two-digit years are not guessed."
    )
    if isinstance(raw, str):
        fix = _numeric_date_fix(raw.strip()) or fix
    return CellError(f"{shown(raw)} is not a date.", fix)


def _numeric_date_fix(text: str) -> str | None:
    """What a date like 03/04/2026 could mean, so the fix names the candidates."""
    match = _NUMERIC_DATE.match(text)
    if match is None:
        return None
    first, second, year_text = (int(g) for g in match.groups())
    if len(match.group(3)) == 2:
        return (
            f'Write the year in full, as yyyy-mm-dd: "{text}" has a two-digit year, which'
            " is not guessed (19xx or 20xx?)."
        )
    readings: list[tuple[str, str]] = []
    for label, month, day in (("month first", first, second), ("day first", second, first)):
        try:
            candidate = dt.date(year_text, month, day).isoformat()
        except ValueError:
            continue
        if (candidate, label) not in readings and candidate not in [r[0] for r in readings]:
            readings.append((candidate, label))
    if not readings:
        return f'Enter a real date as yyyy-mm-dd: "{text}" is not a day of any calendar.'
    if len(readings) == 1:
        candidate, label = readings[0]
        return (
            f"Write it as yyyy-mm-dd: if you meant {candidate} ({label}), enter {candidate}."
            " Dates like this are not guessed."
        )
    (one, one_label), (two, two_label) = readings
    return (
        f'Write it as yyyy-mm-dd: "{text}" could be {one} ({one_label}) or {two}'
        f" ({two_label}), so it is not guessed."
    )


def plausible_date(raw: object, value: dt.date, *, open_ended: bool = False) -> dt.date | CellError:
    """A date within the years a license can carry, or why it is refused; with
    `open_ended`, also the usual "no end date" of 9999 (Exception Until)."""
    if FIRST_PLAUSIBLE_DATE <= value <= LAST_PLAUSIBLE_DATE:
        return value
    typed_as_date = isinstance(raw, dt.date | str)
    if open_ended and typed_as_date and value.year == 9999:
        return value
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return CellError(
            f"{shown(raw)} is a number, not a date (as an Excel date number it would be"
            f" {value.isoformat()}).",
            "Enter the date as yyyy-mm-dd (e.g. 2026-05-31), or format the cell as a date.",
        )
    return CellError(
        f"{value.isoformat()} is not a plausible date (it is outside"
        f" {FIRST_PLAUSIBLE_DATE.year}-{LAST_PLAUSIBLE_DATE.year}).",
        "Check the year; leave the cell blank if there is no date.",
    )


def parse_number(raw: object, whole: bool) -> float | int | CellError:
    kind = "whole number" if whole else "number"
    value: float | int
    if isinstance(raw, bool):
        return CellError(f"{shown(raw)} is not a {kind}.", f"Enter a {kind}.")
    if isinstance(raw, int | float):
        value = raw
    elif isinstance(raw, str) and _NUMBER_TEXT.match(raw.strip()):
        value = float(raw.strip().replace(",", ""))
    else:
        return CellError(f"{shown(raw)} is not a {kind}.", f"Enter a {kind}, e.g. 12.")
    if not math.isfinite(value):
        return CellError(f"{shown(raw)} is not a {kind}.", f"Enter a {kind}.")
    if abs(value) > LARGEST_NUMBER:
        return CellError(
            f"{shown(raw)} is too large to be a {kind} in this workbook.",
            f"Enter a {kind} of at most {LARGEST_NUMBER:,.0f}.",
        )
    if whole:
        if not float(value).is_integer():
            # As Excel shows it (15 significant digits): a sum such as 0.1*3*10 is stored as
            # 3.0000000000000004, and nobody can "fix" a cell that shows 3.
            shown_value = float(f"{value:.15g}")
            if shown_value.is_integer():
                return int(shown_value)
            return CellError(
                f"{shown(raw)} is not a whole number.", "Enter a whole number, e.g. 12."
            )
        return int(value)
    return float(value)


def parse_yes_no(raw: object) -> bool | CellError:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        word = raw.strip().strip("\"'").strip().rstrip(".!").casefold()
        if word in _YES:
            return True
        if word in _NO:
            return False
    return CellError(
        f"{shown(raw)} is not Yes or No.",
        "Enter Yes or No (or leave blank for No); Y/N, True/False and X also work.",
    )


def parse_text(raw: object) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, dt.datetime):
        return raw.date().isoformat() if raw.time() == dt.time(0) else raw.isoformat(" ")
    if isinstance(raw, dt.date):
        return raw.isoformat()
    return " ".join(str(raw).split())


def parse_cell(column: Column, raw: object) -> object:
    """The typed value of a non-blank cell for its column, or a CellError."""
    kind = column.kind
    if kind in (Kind.DATE, Kind.DATETIME):
        parsed = parse_date(raw)
        if isinstance(parsed, CellError):
            return parsed
        return plausible_date(raw, parsed, open_ended=column.open_ended)
    if kind in (Kind.INTEGER, Kind.NUMBER, Kind.MONEY, Kind.PERCENT):
        value = parse_number(raw, whole=kind is Kind.INTEGER)
        if (
            not isinstance(value, CellError)
            and column.minimum is not None
            and value < column.minimum
        ):
            bound = int(column.minimum) if float(column.minimum).is_integer() else column.minimum
            return CellError(
                f"{shown(raw)} is less than {bound}.",
                f"Enter a {kind.value} of at least {bound}.",
            )
        return value
    if kind is Kind.YESNO:
        return parse_yes_no(raw)
    if kind is Kind.CHOICE:
        text = parse_text(raw)
        for choice in column.choices:
            if " ".join(choice.split()).casefold() == text.casefold():
                return choice
        return CellError(
            f"{shown(raw)} is not one of the allowed values.",
            "Use one of: " + ", ".join(column.choices) + ".",
        )
    return parse_text(raw)
