"""How far a worksheet's values reach, found from its XML before any reader allocates for it.

python-calamine turns a sheet into a grid from A1 to its last value: one stray value at
XFD1048576 asks for 17 billion cells and aborts the process. So the XML is looked at
first (`sheet_extent`), with byte searches that cost a few milliseconds per megabyte:
a cell outside Excel's grid (row 1,048,576, column XFD), a row written twice (a reader
would keep only one of them) or values spread over more than `MAX_SHEET_CELLS` cells
is refused with the cell that did it, naming what to delete.

Only what holds a value counts: a sheet whose rows carry formatting down to the last row
(a whole column formatted) reaches no further than its last value, and everything after
the last value element is not even scanned.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass

from workbook.layout import MAX_ROWS

MAX_COLUMNS = 16_384  # XFD
# A sheet that is read is turned into a grid of rows × columns from A1 to its last value:
# 2,000,000 cells is 100,000 licenses of 20 columns, and about 120 MB.
MAX_SHEET_CELLS = 2_000_000

_CELL_LETTERS = re.compile(rb'<c r="([A-Z]+)')
_CELL_ROWS = re.compile(rb'<c r="[A-Z]+(\d+)')
_ROW_NUMBERS = re.compile(rb'<row r="(\d+)"')
_WIDE = re.compile(rb'<c r="[A-Z]{2}')  # a column past Z
# A cell or row whose reference does not come first (or that has none).
_IRREGULAR = re.compile(rb'<(?:c|row)(?:[\t\n\r>/]| (?!r="))')
# Each cell reference's letters as "A" and digits as "0": in this "shape" of the XML a
# reference too wide or too deep is a literal, found by a byte search that skips ahead,
# where a pattern stops at every cell.
_REF_SHAPES = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", b"A" * 26 + b"0" * 10)
# Markup that uses a namespace prefix on the elements the fast scan counts.
_PREFIXED = re.compile(rb":(?:c|row|v|f|is)[\s>/]")
# The thorough scan, for XML written another way (prefixes, other attribute order).
_ELEMENT = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>"
)
_R_ATTRIBUTE = re.compile(rb"""(?:^|\s)r\s*=\s*["']([^"']*)["']""")
_REF = re.compile(rb"([A-Z]*)(\d*)$")


class ExtentError(Exception):
    """A sheet no reader should be given; the message names the cell and what to do."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


@dataclass(frozen=True, slots=True)
class SheetExtent:
    rows: int  # the last row that may hold a value (0: none)
    columns: int  # the last column that may hold a value (1-based; 0: none)
    # Where the rows after the last value start, and where sheetData closes: a reader may
    # be given the sheet without what lies between (rows of formatting only).
    values_end: int = -1
    data_end: int = -1

    @property
    def cells(self) -> int:
        return self.rows * self.columns

    def without_trailing_rows(self, xml: bytes) -> bytes:
        """The sheet without the rows after its last value (they hold no value)."""
        if self.values_end < 0 or self.data_end - self.values_end < 1 << 16:
            return xml
        return xml[: self.values_end] + xml[self.data_end :]


def column_number(letters: bytes | str) -> int:
    """A -> 1, XFD -> 16384."""
    number = 0
    for char in letters.encode() if isinstance(letters, str) else letters:
        number = number * 26 + (char - 64)
    return number


def column_name(number: int) -> str:
    letters = ""
    while number > 0:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def sheet_extent(xml: bytes, limit: int | None = MAX_SHEET_CELLS) -> SheetExtent:
    """The extent of a worksheet's values; ExtentError for a sheet no reader should get
    (with `limit` None, one that is merely too large is returned, not refused)."""
    extent = _fast_extent(xml)
    if extent is None:
        extent = _thorough(xml)
    if limit is not None and extent.cells > limit:
        far = f"{column_name(extent.columns)}{extent.rows}"
        raise ExtentError(
            f"its values reach {far}: {extent.rows:,} rows × {extent.columns:,} columns, more"
            f" than the {MAX_SHEET_CELLS:,} cells hmis-licensing reads from one sheet",
            "A stray value far from the table usually does this: in Excel press Ctrl+End to"
            " go to the last used cell, delete what should not be there (whole rows or"
            " columns), and save.",
        )
    return extent


def _fast_extent(xml: bytes) -> SheetExtent | None:
    """The extent from byte searches, for XML written the way Excel, LibreOffice, openpyxl
    and xlsxwriter write it (no prefixes, `r="..."` first); None for any other XML."""
    root = re.search(rb"<([A-Za-z_][\w.-]*:)?worksheet\b", xml[:4096])
    data_start = xml.find(b"<sheetData")
    data_end = xml.rfind(b"</sheetData>")
    if root is None or root.group(1) or data_start < 0 or data_end < data_start:
        return None
    last_value = last_value_mark(xml, data_start, data_end)
    if last_value < 0:
        return SheetExtent(0, 0)
    values_end = xml.find(b"</row>", last_value, data_end)
    if values_end < 0:
        return None
    values_end += len(b"</row>")
    region = xml[data_start:values_end]
    if _PREFIXED.search(region) or has_irregular_tag(region):
        return None
    rows, columns = _fast(region)
    return SheetExtent(rows, columns, values_end, data_end)


def plain_row_numbers(xml: bytes) -> list[bytes] | None:
    """Every row's number when each "<row" in the XML is '<row r="<digits>"' (as Excel,
    LibreOffice and this program write rows): two counts and one search for a literal,
    where a general pattern stops at every row. None for any other XML."""
    opened = xml.count(b"<row")
    if opened != xml.count(b'<row r="'):
        return None
    numbers = _ROW_NUMBERS.findall(xml)
    return numbers if len(numbers) == opened else None


def has_irregular_tag(region: bytes) -> bool:
    """Whether a cell or row tag does not start with its reference (`_IRREGULAR`). When
    every "<c" and "<row" begins a '<c r="' or '<row r="' (four counts, most sheets),
    none can; only otherwise is the pattern searched for."""
    cells_regular = region.count(b"<c") == region.count(b'<c r="')
    if cells_regular and region.count(b"<row") == region.count(b'<row r="'):
        return False
    return _IRREGULAR.search(region) is not None


def last_value_mark(xml: bytes, start: int, end: int) -> int:
    """Where the last <v, <is or <f between positions `start` and `end` begins (-1:
    none). The formula is looked for only after the last <v or <is: most sheets have
    none, and a search that finds nothing reads the whole sheet."""
    last = max(xml.rfind(b"<v", start, end), xml.rfind(b"<is", start, end))
    return max(last, xml.rfind(b"<f", max(last, start), end))


def _refuse_far_cell(region: bytes, ref: bytes) -> None:
    """ExtentError naming the first cell whose reference matches `ref` (a pattern)."""
    found = re.search(rb'<c r="(' + ref + rb')"', region)
    cell = _REF.match(found.group(1) if found else b"")
    assert cell is not None
    _check_ref(cell.group(1), cell.group(2))
    raise AssertionError("a cell outside the grid was expected")  # pragma: no cover


def _check_ref(letters: bytes, digits: bytes) -> None:
    column = column_number(letters) if letters else 0
    row = int(digits) if digits else 0
    if column > MAX_COLUMNS or row > MAX_ROWS:
        ref = (letters + digits).decode()
        what = f"a cell at {ref}" if letters else f"a row numbered {ref}"
        raise ExtentError(
            f"it has {what}, outside Excel's grid (columns A to XFD, rows 1 to"
            f" {MAX_ROWS:,}); Excel itself would not open the file",
            "Save the sheet again from the program that made it, or copy its table into a"
            " new workbook.",
        )


def _fast(region: bytes) -> tuple[int, int]:
    """The last row and column of `region` (sheetData up to the row of its last value),
    which holds no prefixes and has every row's and cell's reference first.

    A reader places a cell by its own reference, so the rows' numbers are only a first
    guess. A cell reference with more digits than the last row is always looked for (one
    cheap search); one with as many digits but a larger number only where such a cell
    could make the grid larger than twice MAX_SHEET_CELLS (so that a file whose cells
    contradict its rows still gives a reader no more than that). The columns are read
    only when 26 of them (A-Z) could make the sheet too large.
    """
    rows = _ROW_NUMBERS.findall(region)
    if len(set(rows)) != len(rows):
        _refuse_duplicate_row(_first_repeated([int(r) for r in rows]))
    deepest = max(map(int, rows), default=0)
    columns = 26
    shapes = region.translate(_REF_SHAPES)
    wide = b'<c r="AA' in shapes  # as _WIDE.search(region)
    if deepest * 26 > MAX_SHEET_CELLS or wide:
        widest = (None if wide else widest_single_letter(region)) or max(
            set(_CELL_LETTERS.findall(region)), key=lambda t: (len(t), t), default=b""
        )
        if column_number(widest) > MAX_COLUMNS:
            _refuse_far_cell(region, widest + rb"\d+")
        columns = column_number(widest)
    digits = len(str(deepest))
    ceiling = 10**digits - 1  # the largest number with as many digits
    letters = (1, 2, 3) if wide else (1,)  # how many letters a reference may have
    more = may_have_more_digits(shapes, digits, letters)
    longer = more and _deeper_than(ceiling).search(region) is not None
    if not longer and ceiling * columns > 2 * MAX_SHEET_CELLS:
        by_shape = deepest_of_digits(region, shapes, digits, letters)
        if by_shape is not None:
            deepest = max(deepest, by_shape)
        elif _deeper_than(deepest).search(region):
            longer = True
    if longer:
        found = _CELL_ROWS.findall(region)
        deepest = max(deepest, *(int(r) for r in found)) if found else deepest
    if deepest > MAX_ROWS:
        _refuse_far_cell(region, rb"[A-Z]+" + str(deepest).encode())
    return deepest, columns


_FEW_CELLS = 20_000  # looked at one by one below; more, and one pattern search is cheaper


def deepest_of_digits(
    region: bytes, shapes: bytes, digits: int, letters: tuple[int, ...] = (1, 2, 3)
) -> int | None:
    """The largest row number among the cell references with exactly `digits` digits
    (0: none), found where `shapes` (the XML translated by `_REF_SHAPES`) shows one;
    None when there are more than `_FEW_CELLS` of them. In a sheet of 100,001 rows only
    rows 100,000 and 100,001 have six digits: a few byte searches, where a pattern
    search stops at every one of its two million cells."""
    deepest = seen = 0
    for count in letters:
        needle = b'<c r="' + b"A" * count + b"0" * digits + b'"'
        at = shapes.find(needle)
        while at >= 0:
            seen += 1
            if seen > _FEW_CELLS:
                return None
            start = at + 6 + count
            deepest = max(deepest, int(region[start : start + digits]))
            at = shapes.find(needle, start + digits)
    return deepest


def widest_single_letter(region: bytes) -> bytes | None:
    """The widest column of a sheet whose cell references all have one letter, guessed
    from its first row and then confirmed by one search for a letter past the guess;
    None when that search finds one (the caller reads every reference)."""
    first_row_end = region.find(b"</row>")
    guess = max(_CELL_LETTERS.findall(region, 0, max(first_row_end, 0)), default=b"")
    if len(guess) != 1:
        return None
    if guess == b"Z":
        return guess
    past = bytes(range(guess[0] + 1, ord("Z") + 1))
    marked = region.translate(bytes.maketrans(past, b"[" * len(past)))
    return None if b'<c r="[' in marked else guess


def may_have_more_digits(shapes: bytes, digits: int, letters: tuple[int, ...] = (1, 2, 3)) -> bool:
    """False when no cell reference in `shapes` (the XML translated by `_REF_SHAPES`) has
    more than `digits` digits (leading zeros counted): then `_deeper_than` of the largest
    number with `digits` digits finds nothing. `letters` is how many letters a reference
    may have: (1,) when `shapes` holds no '<c r="AA', which is then one search."""
    if len(letters) > 1 and b'<c r="AAAA' in shapes:
        return True
    more = b"0" * (digits + 1)
    return any(b'<c r="' + b"A" * count + more in shapes for count in letters)


@functools.lru_cache(maxsize=64)
def _deeper_than(row: int) -> re.Pattern[bytes]:
    """A cell reference whose row number is greater than `row`."""
    digits = str(row)
    greater = [rf"[1-9]\d{{{len(digits)},}}"]  # more digits
    for i, digit in enumerate(digits):
        if digit != "9":
            rest = len(digits) - i - 1
            greater.append(rf"{digits[:i]}[{int(digit) + 1}-9]\d{{{rest}}}")
    return re.compile(rf'<c r="[A-Z]+0*(?:{"|".join(greater)})"'.encode())


def _thorough(xml: bytes) -> SheetExtent:
    """Every row and cell parsed in order, numbering those without a reference the way a
    reader does (the next row; the next column)."""
    seen: set[int] = set()
    row = column = 0
    max_row = max_column = 0
    for match in _ELEMENT.finditer(xml):
        ref = _R_ATTRIBUTE.search(match.group(2))
        parts = _REF.match(ref.group(1)) if ref else None
        letters, digits = (parts.group(1), parts.group(2)) if parts else (b"", b"")
        _check_ref(letters, digits)
        if match.group(1) == b"row":
            row = int(digits) if digits else row + 1
            if row in seen:
                _refuse_duplicate_row(row)
            seen.add(row)
            column = 0
            continue
        column = column_number(letters) if letters else column + 1
        if digits:
            row = int(digits)
        if not match.group(2).rstrip().endswith(b"/"):  # a cell that may hold a value
            max_row, max_column = max(max_row, row), max(max_column, column)
    return SheetExtent(max_row, max_column)


def _first_repeated(numbers: list[int]) -> int:
    seen: set[int] = set()
    for number in numbers:
        if number in seen:
            return number
        seen.add(number)
    return numbers[0]


def _refuse_duplicate_row(row: int) -> None:
    raise ExtentError(
        f"its XML holds row {row} twice, so a reader would keep only one of them and"
        " lose the other's cells (Excel never writes a file like this)",
        "Open the workbook in Excel or LibreOffice, check that row's cells, and save it.",
    )


def keep_last_rows(xml: bytes, rows: int) -> tuple[bytes, int] | None:
    """A sheet too large to read whole, cut to its header row and its last `rows` rows,
    with the header moved to just above them, so that a reader allocates for those only.

    Returns the XML and the true number of the first row kept (the header now stands
    one row above it); None when the sheet is not written plainly enough to be cut.
    """
    data_open = re.search(rb"<sheetData\b[^>]*>", xml)
    data_end = xml.rfind(b"</sheetData>")
    if data_open is None or data_open.group(0).endswith(b"/>") or data_end < 0:
        return None
    found = [
        (int(m.group(1)), m.start()) for m in _ROW_NUMBERS.finditer(xml, data_open.end(), data_end)
    ]
    if not found or any(a[0] >= b[0] for a, b in itertools.pairwise(found)):
        return None
    cut = max(2, found[-1][0] - rows + 1)
    first = next(i for i, (number, _) in enumerate(found) if number >= cut)
    number, start = found[first]
    if number <= 2:
        return xml, 1
    header = b""
    if found[0][0] == 1:
        header = xml[found[0][1] : found[1][1]]
        moved = str(number - 1).encode()
        header = re.sub(rb'^<row r="1"', b'<row r="' + moved + b'"', header)
        header = re.sub(rb'(<c r="[A-Z]{1,3})1"', rb"\g<1>" + moved + b'"', header)
    return xml[: data_open.end()] + header + xml[start:], number
