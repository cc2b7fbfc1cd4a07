"""Reading the input sheets fast with python-calamine, plus what calamine does not say.

calamine reads cell values about six times faster than openpyxl (shared/research/perf.md)
but it is a compiled library that trusts the file: given the workbook itself, a zip bomb
inflates to gigabytes inside it, a stray value at XFD1048576 makes it allocate 17 billion
cells and abort the process, and a few crafted attributes make it panic. So it is never
given the file. It gets a small in-memory copy (`reader_copy`) holding only the parts a
run reads (the workbook's bookkeeping, styles, shared strings and the sheets wanted), each
unpacked within a budget by workbook.xlsx.rawzip, checked by workbook.xlsx.extent (no
cell outside Excel's grid, no row twice, no more cells than a sheet may hold) and cleaned
of what makes calamine misbehave; the other sheets are empty stand-ins. Whatever calamine
still raises, panics included, becomes a WorkbookError naming the file and the sheet.
The largest sheet, when large, is checked first and read from a copy of its own on a
second thread while the others are checked and read (calamine parses without the GIL).

calamine shows two kinds of bad cell as blank: a formula whose value was never calculated
(a file written by a program that does not calculate) and an error such as #N/A. A blank
would silently change a decision, so the sheets' XML is scanned for exactly those cells
(only when the sheet has a formula or an error at all) and they arrive in the snapshot as
`CellError`s, which become Problems naming the cell. Merged ranges come from calamine.

Sheets that grow (`APPENDED_SHEETS`) continue on "Run Log 2", "Run Log 3", ... once full;
their rows are joined back under the first sheet's name, so a reader sees one table.
"""

from __future__ import annotations

import contextlib
import html
import math
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from workbook.errors import WorkbookError
from workbook.layout import (
    APPENDED_SHEETS,
    INPUT_SHEETS,
    POLICY_SHEET,
    continuation_number,
    header_key,
)
from workbook.tables import WorkbookSnapshot, join_continuations
from workbook.values import CellError, error_value
from workbook.xlsx.cells import date_styles
from workbook.xlsx.extent import MAX_SHEET_CELLS, ExtentError, keep_last_rows, sheet_extent
from workbook.xlsx.package import (
    SheetEntry,
    XlsxPackage,
    attributes,
    damaged,
    open_package,
)

_PREFIX = r"(?:[A-Za-z_][\w.-]*:)?"
# Byte strings whose absence proves a sheet has no formula and no error cell (a literal
# search is a hundred times faster than a regular expression over megabytes of XML).
_FORMULA_OR_ERROR_MARKS = (b"<f>", b"<f ", b"<f/", b":f>", b":f ", b":f/", b't="e"', b"t='e'")
_ERROR_MARKS = _FORMULA_OR_ERROR_MARKS[-2:]
# The formula marks without their first byte ("<" or ":"): a pattern led by "f", a byte
# rare in sheet XML, is scanned for quickly, where "<" would stop a search at every tag.
_FORMULA_MARK_TAIL = re.compile(rb"f[> /]")
_ROW = re.compile(rf"<{_PREFIX}row\b([^>]*?)(?:/>|>(.*?)</{_PREFIX}row>)".encode(), re.S)
_CELL = re.compile(rf"<{_PREFIX}c\b([^>]*?)(?:/>|>(.*?)</{_PREFIX}c>)".encode(), re.S)
_FORMULA = re.compile(rf"<{_PREFIX}f\b[^>]*?(?:/>|>(.*?)</{_PREFIX}f>)".encode(), re.S)
_VALUE = re.compile(rf"<{_PREFIX}v\b[^>]*?(?:/>|>(.*?)</{_PREFIX}v>)".encode(), re.S)
# An attribute's value is quoted with " or ' (both are XML; a few writers use ').
_REF = re.compile(rb"""\br\s*=\s*(["'])([A-Z]{1,3})?(\d+)?\1""")
_TYPE = re.compile(rb"""\bt\s*=\s*(["'])([a-zA-Z]+)\1""")
# What calamine is given instead of a sheet the run does not read.
_EMPTY_SHEET = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b"<sheetData/></worksheet>"
)
_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?dimension\b[^>]*>")
_SST_COUNTS = re.compile(rb"""\s(?:count|uniqueCount)\s*=\s*("[^"]*"|'[^']*')""")
# A value that is not an ordinary non-negative number (a sign, nan, inf): the only ones
# that, in a date-formatted cell, calamine turns into nonsense or a panic.
_ODD_NUMBER = re.compile(rb"v>[-+nNiI]")  # in <v> or <x:v>
_STYLE_ATTRIBUTE = re.compile(rb"""\ss\s*=\s*("[^"]*"|'[^']*')""")
_LAST_DATE_SERIAL = 2958466  # 10000-01-01: Excel shows no date from here on
_EMPTY_ROW: list[object] = []  # the rows of an appended sheet that were not read


def wanted_sheets() -> list[str]:
    """The sheets a recalculation reads: inputs, the Policy sheet and the appended sheets."""
    return [s.name for s in INPUT_SHEETS] + [POLICY_SHEET] + [s.name for s in APPENDED_SHEETS]


def read_snapshot(path: Path, sheet_names: Iterable[str] | None = None) -> WorkbookSnapshot:
    """The cell values of the sheets a run reads (or of the sheets named).

    Result sheets are never read: nothing needs them and they are the largest sheets of
    the workbook; the appended ones (Run Log, Findings History) are, with their
    continuations, from their newest rows back as far as MAX_SHEET_CELLS cells reach
    (older rows stay in the workbook; their places in the grid are empty rows). Blank
    cells are None; dates and date-times are `date`/`datetime` values; numbers are
    floats; unusable cells (uncalculated formulas, error values) are `CellError`s.
    """
    package = open_package(path)
    try:
        entries = _chosen(package, sheet_names)
        with _native_errors_quiet(), ThreadPoolExecutor(1, "calamine") as reader:
            sheets, merged = _read_sheets(path, package, entries, reader)
        date1904 = package.date1904
    finally:
        package.close()
    join_continuations(sheets, merged)
    return WorkbookSnapshot(sheets, merged=merged, date1904=date1904)


# A sheet part this large is read on a second thread, by a calamine of its own, while the
# other sheets are checked and read: calamine parses without holding the GIL, so on two
# cores the largest sheet (Licenses, or Findings History) costs little more than the rest.
# Below it, a second reader is not worth parsing the shared strings twice.
PARALLEL_FROM_BYTES = 1 << 20

_Grids = dict[str, list[list[object]]]
_Merged = dict[str, list[tuple[int, int, int, int]]]


def _read_sheets(
    path: Path, package: XlsxPackage, entries: list[SheetEntry], reader: ThreadPoolExecutor
) -> tuple[_Grids, _Merged]:
    """Every wanted sheet checked (`_checked_parts`), given to calamine in a reader copy
    (`reader_copy`) and made the snapshot's grid (`_grids`).

    The largest part, when large, is checked first and read on `reader`, in a copy of its
    own, while the others are checked and read here in one copy."""
    sizes = {e.name: package.info(e.part).file_size for e in entries if e.part is not None}
    largest = max(sizes, key=lambda name: sizes[name], default=None)
    if largest is not None and sizes[largest] < PARALLEL_FROM_BYTES:
        largest = None
    base = _bookkeeping(package)
    given: dict[str, bytes] = {}  # sheet part -> its XML as calamine gets it
    wanted: list[tuple[str, SheetPart]] = []
    alone: Future[tuple[_Grids, _Merged]] | None = None
    for entry, part, xml in _checked_parts(package, entries, first=largest):
        assert entry.part is not None
        if entry.name == largest:
            copy = reader_copy(package, base, {entry.part: xml})
            try:
                alone = reader.submit(_grids, path, copy, [(entry.name, part)])
            except RuntimeError:  # no thread to be had (a process limit, Pyodide): read here
                given[entry.part] = xml
                wanted.append((entry.name, part))
        else:
            given[entry.part] = xml
            wanted.append((entry.name, part))
    order = {e.name: index for index, e in enumerate(entries)}
    unread: list[_SheetUnread] = []
    sheets: _Grids = {}
    merged: _Merged = {}
    try:
        sheets, merged = _grids(path, reader_copy(package, base, given), wanted)
    except _SheetUnread as exc:
        unread.append(exc)
    if alone is not None:
        try:
            more_sheets, more_merged = alone.result()
            sheets.update(more_sheets)
            merged.update(more_merged)
        except _SheetUnread as exc:
            unread.append(exc)
    if unread:  # as one reader would have said it: the first sheet in the workbook's order
        first = min(unread, key=lambda exc: order.get(exc.sheet or "", -1))
        raise first.error from None
    return (
        dict(sorted(sheets.items(), key=lambda item: order[item[0]])),
        dict(sorted(merged.items(), key=lambda item: order[item[0]])),
    )


@dataclass(frozen=True, slots=True)
class SheetPart:
    """A wanted sheet's XML as calamine gets it; `first_row` > 1 when only the rows from
    there on were kept (an appended sheet too long to read whole)."""

    xml: bytes
    first_row: int = 1


def _chosen(package: XlsxPackage, sheet_names: Iterable[str] | None) -> list[SheetEntry]:
    names = list(sheet_names) if sheet_names is not None else wanted_sheets()
    wanted = {header_key(n) for n in names}
    chosen = []
    for entry in package.sheets:
        if entry.kind != "worksheet" or entry.part is None:
            continue
        if header_key(entry.name) in wanted or (sheet_names is None and _family(entry.name)):
            chosen.append(entry)
    return chosen


def _family(title: str) -> tuple[str, int] | None:
    """(appended sheet, continuation number) for "Run Log", "Run Log 2", ...; else None."""
    for spec in APPENDED_SHEETS:
        number = continuation_number(spec.name, title)
        if number is not None:
            return spec.name, number
    return None


def _bookkeeping(package: XlsxPackage) -> dict[str, bytes]:
    """The parts every reader copy holds besides sheets: the workbook's bookkeeping, its
    styles and its shared strings (checked)."""
    members: dict[str, bytes] = {}
    for name in ("[Content_Types].xml", "_rels/.rels", package.workbook_part):
        members[package.info(name).filename] = package.read(name)
    rels = package.rels_part(package.workbook_part)
    if package.has(rels):
        members[package.info(rels).filename] = package.read(rels)
    if package.styles_part is not None:
        members[package.styles_part] = package.read(package.styles_part)
    strings = package.shared_strings_part
    if strings is not None:
        members[strings] = _without_counts(package.read(strings))
    return members


def _checked_parts(
    package: XlsxPackage, entries: list[SheetEntry], first: str | None = None
) -> Iterator[tuple[SheetEntry, SheetPart, bytes]]:
    """Each wanted sheet that is read, checked: its part, and its XML as calamine gets it.

    Appended sheets come newest first, so that their family's budget of cells goes to the
    newest rows; the sheet named `first` leads when that keeps this so. (No two sheets
    share a part: `open_package` refuses that as damage.)"""
    budget = {spec.name: MAX_SHEET_CELLS for spec in APPENDED_SHEETS}
    dates: set[int] | None = None
    order = sorted(entries, key=lambda e: -(_family(e.name) or ("", 0))[1])
    leader = next((e for e in order if e.name == first), None)
    family = _family(leader.name) if leader is not None else None
    if leader is not None and (family is None or _newest_of(family[0], order) is leader):
        order.remove(leader)
        order.insert(0, leader)
    for entry in order:
        assert entry.part is not None
        try:
            part = _checked_sheet(package.read(entry.part), _family(entry.name), budget)
        except ExtentError as exc:
            raise WorkbookError(
                f'{package.path}: the sheet "{entry.name}" cannot be read: {exc.problem}.',
                fix=exc.fix,
            ) from None
        if part is None:  # an older continuation beyond what is read back
            continue
        if _ODD_NUMBER.search(part.xml):
            dates = date_styles(package)[0] if dates is None else dates
        yield entry, part, _for_calamine(part.xml, dates or set())


def _newest_of(name: str, entries: Sequence[SheetEntry]) -> SheetEntry | None:
    """The newest continuation of an appended sheet among entries ordered newest first."""
    return next((e for e in entries if (_family(e.name) or ("", 0))[0] == name), None)


def reader_copy(package: XlsxPackage, base: dict[str, bytes], sheets: dict[str, bytes]) -> bytes:
    """A small zip for calamine: the bookkeeping parts (`_bookkeeping`), the sheets given
    (by part) and empty stand-ins for the workbook's other sheets."""
    members = {**base, **sheets}
    for entry in package.sheets:
        if entry.part is not None and entry.part not in members:
            members[entry.part] = _EMPTY_SHEET
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _checked_sheet(
    xml: bytes, family: tuple[str, int] | None, budget: dict[str, int]
) -> SheetPart | None:
    """The sheet as a reader may get it: refused when no reader should (ExtentError);
    an appended sheet cut to the rows its family's budget of cells still allows."""
    if family is None:
        return SheetPart(sheet_extent(xml).without_trailing_rows(xml))
    extent = sheet_extent(xml, limit=None)
    name = family[0]
    xml = extent.without_trailing_rows(xml)
    if extent.cells <= budget[name]:
        budget[name] -= extent.cells
        return SheetPart(xml)
    rows = budget[name] // max(extent.columns, 1) - 1
    if rows < 1:
        return None
    cut = keep_last_rows(xml, rows)
    if cut is None:
        sheet_extent(xml)  # not cut plainly: refused with the cell that does it
        return SheetPart(xml)
    budget[name] = 0
    return SheetPart(cut[0], cut[1])


def _without_counts(xml: bytes) -> bytes:
    """Shared strings without the counts in <sst> (calamine reserves memory for the
    claimed uniqueCount first: 18446744073709551615 is a panic)."""
    start = xml.find(b"<sst")
    if start < 0:
        start = xml.find(b":sst")
    end = xml.find(b">", start)
    if start < 0 or end < 0:
        return xml
    return xml[:start] + _SST_COUNTS.sub(b"", xml[start:end]) + xml[end:]


def _for_calamine(xml: bytes, dates: set[int]) -> bytes:
    """The sheet without its <dimension> (a claim calamine need not trust) and with the
    date format taken off cells whose number is no date (negative, nan, inf): calamine
    would show them as a time of day, or panic; as plain numbers they are reported."""
    head = _DIMENSION.search(xml, 0, 8192)
    if head is not None:  # one copy of a sheet that may be tens of megabytes, not three
        view = memoryview(xml)
        xml = b"".join((view[: head.start()], view[head.end() :]))
    if not dates:
        return xml
    pieces: list[bytes] = []
    done = 0
    for match in _ODD_NUMBER.finditer(xml):
        start = max(xml.rfind(b"<c ", done, match.start()), xml.rfind(b":c ", done, match.start()))
        if start < 0:
            continue
        start = xml.rfind(b"<", done, start + 1)
        tag_end = xml.find(b">", start)
        tag = xml[start : tag_end + 1].decode("utf-8", "replace")
        values = attributes(tag)
        style = values.get("s", "")
        if values.get("t", "n") != "n" or not style.isdigit() or int(style) not in dates:
            continue
        end = xml.find(b"<", match.end())
        text = xml[match.end() - 1 : end].decode("ascii", "replace").strip()
        try:
            number = float(text)
        except ValueError:
            continue  # not a number at all: calamine says so, and that is reported
        if math.isfinite(number) and 0 <= number < _LAST_DATE_SERIAL:
            continue
        pieces += [
            xml[done:start],
            re.sub(rb"""\ss\s*=\s*("[^"]*"|'[^']*')""", b"", xml[start : tag_end + 1]),
        ]
        done = tag_end + 1
    return b"".join([*pieces, xml[done:]]) if pieces else xml


class _SheetUnread(Exception):
    """A sheet calamine could not read (`sheet` None: the reader copy itself), carried
    back to `_read_sheets`, which reports the first one in the workbook's order whichever
    thread read it."""

    def __init__(self, sheet: str | None, error: WorkbookError) -> None:
        super().__init__(sheet)
        self.sheet = sheet
        self.error = error


def _grids(path: Path, copy: bytes, wanted: list[tuple[str, SheetPart]]) -> tuple[_Grids, _Merged]:
    """The sheets named, read by calamine from a reader copy, as the snapshot's grids with
    their unusable cells marked, and their merged ranges (1-based). On any thread: the
    caller keeps calamine's own messages off the screen (`_native_errors_quiet`)."""
    import python_calamine

    sheets: _Grids = {}
    merged: _Merged = {}
    if not wanted:
        return sheets, merged
    try:
        with _reader_errors(path, None, quiet=False):
            book = python_calamine.CalamineWorkbook.from_filelike(BytesIO(copy))
    except WorkbookError as exc:
        raise _SheetUnread(None, exc) from None
    try:
        for name, part in wanted:
            try:
                with _reader_errors(path, name, quiet=False):
                    sheet = book.get_sheet_by_name(name)
                    cut = part.first_row > 1
                    raw = sheet.to_python(skip_empty_area=cut)
                    start = sheet.start if cut else (0, 0)
                    ranges = sheet.merged_cell_ranges or []
            except WorkbookError as exc:
                raise _SheetUnread(name, exc) from None
            sheets[name] = grid = _grid(raw, start, part.first_row)
            _mark_unusable_cells(part.xml, grid, part.first_row - 1)
            if ranges:
                merged[name] = [
                    (top + 1, left + 1, bottom + 1, right + 1)
                    for (top, left), (bottom, right) in ranges
                ]
    finally:
        book.close()
    return sheets, merged


def _grid(
    raw: Sequence[Sequence[object]], start: tuple[int, int] | None, first_row: int
) -> list[list[object]]:
    """calamine's rows as the snapshot's grid. For a sheet cut to its last rows (with its
    header moved to just above them), the header goes back to row 1 and the rows that
    were not read are empty (one shared empty row: the grid is never written to)."""
    rows = [[None if value == "" else value for value in row] for row in raw]
    if first_row <= 1:
        return rows
    top, left = start or (0, 0)
    grid: list[list[object]] = [_EMPTY_ROW] * (top + len(rows))
    grid[0] = []
    for index, row in enumerate(rows):
        line = [None] * left + row if left else row
        at = top + index
        grid[0 if at == first_row - 2 else at] = line
    return grid


@contextlib.contextmanager
def _reader_errors(path: Path, sheet: str | None, *, quiet: bool = True) -> Iterator[None]:
    """Whatever calamine raises, or a Rust panic (a BaseException), as a WorkbookError.
    `quiet=False` when the caller already keeps stderr quiet (on more than one thread)."""
    import python_calamine

    what = f'the sheet "{sheet}" cannot be read' if sheet else "it cannot be read as a workbook"
    try:
        with _native_errors_quiet() if quiet else contextlib.nullcontext():
            yield
    except python_calamine.PasswordError:
        raise WorkbookError(
            f"{path}: is password-protected.",
            fix="Open it in Excel, remove the password (File > Info > Protect Workbook)"
            " and save it again.",
        ) from None
    except Exception as exc:  # calamine raises several unrelated types for a bad file
        raise damaged(path, f"{what} ({_short(exc)})") from None
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":
            raise
        raise damaged(path, f"{what} (the reader stopped: {_short(exc)})") from None


@contextlib.contextmanager
def _native_errors_quiet() -> Iterator[None]:
    """Keep what compiled code writes to the process's stderr (a Rust panic message and
    backtrace) off the user's screen; the panic itself is reported in words. With
    HMIS_LICENSING_DEBUG set it is shown."""
    if os.environ.get("HMIS_LICENSING_DEBUG"):
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def may_have_unusable_cells(xml: bytes) -> bool:
    """Whether one of `_FORMULA_OR_ERROR_MARKS` is in the sheet (False proves it has no
    formula and no error cell), found in three scans rather than eight."""
    if any(mark in xml for mark in _ERROR_MARKS):
        return True
    for tail in _FORMULA_MARK_TAIL.finditer(xml):
        if xml[tail.start() - 1 : tail.start()] in (b"<", b":"):
            return True
    return False


def _mark_unusable_cells(xml: bytes, grid: list[list[object]], from_row: int = 0) -> None:
    if not may_have_unusable_cells(xml):
        return
    for row, column, error in unusable_cells(xml):
        if row < from_row:
            continue
        while len(grid) <= row:
            grid.append([])
        line = grid[row]
        if line is _EMPTY_ROW:
            line = grid[row] = []
        while len(line) <= column:
            line.append(None)
        line[column] = error


def unusable_cells(xml: bytes) -> list[tuple[int, int, CellError]]:
    """(0-based row, 0-based column, why) of each formula without a value and each error.

    A sheet full of calculated formulas is the common case, so the cells worth a look are
    found by literal searches (an error type, a formula with no value after it) and only
    those are parsed; a sheet written some other way (namespace prefixes, line breaks
    between elements, cells without references) is read cell by cell instead.
    """
    if b"<sheetData" not in xml or xml.count(b"\n", 0, 4096) > 3:
        return _scan_every_cell(xml)
    starts: set[int] = set()
    for mark in (b't="e"', b"t='e'", b"</f></c>", b"<v/>", b"<v />", b"<v></v>"):
        position = xml.find(mark)
        while position >= 0:
            starts.add(xml.rfind(b"<c ", 0, position))
            position = xml.find(mark, position + 1)
    position = xml.find(b"/></c>")  # a formula that is only a reference: <f t="shared" .../>
    while position >= 0:
        cell_start = xml.rfind(b"<c ", 0, position)
        if xml.rfind(b"<f", 0, position) > cell_start:
            starts.add(cell_start)
        position = xml.find(b"/></c>", position + 1)
    found = []
    for start in sorted(starts - {-1}):
        cell = _CELL.match(xml, start)
        ref = _REF.search(cell.group(1)) if cell else None
        if cell is None or ref is None or not ref.group(2) or not ref.group(3):
            return _scan_every_cell(xml)
        error = _judge(cell.group(1), cell.group(2) or b"")
        if error is not None:
            found.append((int(ref.group(3)) - 1, _column_index(ref.group(2).decode()), error))
    return found


def _scan_every_cell(xml: bytes) -> list[tuple[int, int, CellError]]:
    found = []
    row_number = 0
    for row in _ROW.finditer(xml):
        ref = _REF.search(row.group(1))
        row_number = int(ref.group(3)) if ref and ref.group(3) else row_number + 1
        column = -1
        for cell in _CELL.finditer(row.group(2) or b""):
            attrs, body = cell.group(1), cell.group(2) or b""
            ref = _REF.search(attrs)
            if ref and ref.group(2):
                column = _column_index(ref.group(2).decode())
            else:
                column += 1
            error = _judge(attrs, body)
            if error is not None:
                found.append((row_number - 1, column, error))
    return found


def _judge(attrs: bytes, body: bytes) -> CellError | None:
    """Why a cell's value cannot be used, or None when it can."""
    kind = _TYPE.search(attrs)
    cell_type = kind.group(2).decode() if kind else "n"
    value = _VALUE.search(body)
    shown = _text(value.group(1)) if value else ""
    formula = _FORMULA.search(body)
    if cell_type == "e" and value is None and formula is None:
        return None  # an error type with nothing in it: every reader shows it blank
    if cell_type == "e":
        return error_value(shown)
    # A text formula (t="str") may have calculated to "" (<v></v>); with no <v> at all it
    # was never calculated, like any other formula.
    if formula and not shown.strip() and (cell_type != "str" or value is None):
        text = _text(formula.group(1))
        what = f"The formula ={text}" if text else "The formula"
        return CellError(
            f"{what} has no calculated value (the file was saved by a program that does"
            " not calculate formulas).",
            "Open the workbook in Excel or LibreOffice and save it, so the formula is"
            " calculated; or type the value itself.",
        )
    return None


def _text(content: bytes | None) -> str:
    return html.unescape((content or b"").decode("utf-8", "replace"))


def _column_index(letters: str) -> int:
    index = 0
    for char in letters:
        index = index * 26 + (ord(char) - 64)
    return index - 1
