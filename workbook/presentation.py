"""How the result sheets look on screen and on paper, decided once for every writer.

Pure: from a `ResultTable` to column widths, which columns wrap, which rows are
highlighted or bold, row heights, the Allotments chart and the print texts. The zip
writer (`workbook/xlsx/`) applies all of it; the xlwings path applies what every xlwings
client can (the title line, values, header and highlight colours) and leaves the rest,
so the values stay the same cell for cell.

Replaced result sheets carry a title line above their header (SPEC §3: what the sheet
is, As Of, policy version and SHA-256, or why it is held back); the appended sheets (Run
Log, Findings History) keep their header in row 1 because runs read them back.

Paper: committees print these sheets on Letter paper, landscape, one page wide. Excel and
LibreOffice shrink a sheet wider than the page, so every sheet is laid out to fit
`PRINT_WIDTH` character widths, which keeps 11-point text at 8 points or more when
printed; the long Explanation-like columns take what is left and wrap.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import cast

from workbook.layout import (
    ALLOTMENTS,
    APPENDED_SHEETS,
    CE_CHARGES,
    LINE_HEIGHT,
    REVOCATIONS,
    WRAP_WIDTH,
    Column,
    Kind,
    ResultSheet,
)

# Letter landscape with 0.4" side margins leaves 10.2" = 734 pt; 11-point text printed at
# 8 points or more allows a scale of 8/11, so the sheet may be 1009 pt wide: about 180
# column-width units of Calibri 11 (7 pixels each, plus 5 pixels of padding per column).
PRINT_WIDTH = 166
PROSE_FLOOR = 26  # the narrowest a prose column gets to keep a sheet on the page
PROSE_MIN = 34  # narrower than this, an Explanation reads as a column of single words
NARROW_CAP = 24  # the most a short-text column (names, organizations) takes before it wraps
TITLE_HEIGHT = 21.0
HEADER_LINE = 14.5

CHART_TITLE = "CE Access Only licenses in use and available, by region, after appeals (§2-§4)"
# Titles of this chart in earlier versions, so that a workbook they wrote keeps one chart.
EARLIER_CHART_TITLES = ("CE Access Only licenses: allotment and in use, by region (§2, §3)",)
TOTAL_LABEL = "Total"  # the Region of the Allotments row that adds up the regions

TAB_COLOUR = "FF2F5597"  # result sheets: blue, as the README and the Instructions say
INPUT_TAB_COLOUR = "FFBF9000"  # input sheets: dark yellow
ALERT_FILL = "FFF8CBAD"  # eligible for revocation, overdue
NOTICE_FILL = "FFFFE699"  # cannot judge, a CE license charged to no region
TOTAL_FILL = "FFE7E6E6"
HEADER_FILL = "FFDDE4EE"

# What a cell can hold, for every writer: the file writer and the Recalculate button
# write the same text. Excel's limit is on UTF-16 code units; an .xlsx file (XML) cannot
# hold these characters at all.
MAX_CELL_CHARS = 32_767
NOT_IN_A_CELL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class Mark(Enum):
    """How one data row stands out."""

    PLAIN = ""
    ALERT = "alert"  # Eligible For Revocation = Yes, Overdue = Yes
    NOTICE = "notice"  # Cannot judge; a CE license not charged to a region
    TOTAL = "total"  # the bold Total row

    # Each mark is a single object, so it may hash by identity, in C: Enum's own hash (of
    # the member's name, a Python call) is paid once a row wherever marks are looked up.
    __hash__ = object.__hash__


MARK_FILLS = {Mark.ALERT: ALERT_FILL, Mark.NOTICE: NOTICE_FILL, Mark.TOTAL: TOTAL_FILL}


def cell_text(value: str) -> str:
    """Text as a cell can hold it: no characters XML forbids, at most Excel's length (a
    longer text keeps its start and ends in "…")."""
    text = value if value.isprintable() else NOT_IN_A_CELL.sub("", value)
    if len(text) > MAX_CELL_CHARS // 2 and len(text.encode("utf-16-le")) // 2 > MAX_CELL_CHARS:
        text = _first_units(text, MAX_CELL_CHARS - 1) + "…"
    return text


def _first_units(text: str, units: int) -> str:
    """The longest start of `text` that is at most `units` UTF-16 code units long (a
    character beyond the Basic Multilingual Plane counts two), in one pass."""
    count = 0
    for index, char in enumerate(text):
        count += 2 if ord(char) > 0xFFFF else 1
        if count > units:
            return text[:index]
    return text


def titled(sheet: ResultSheet) -> bool:
    """Whether the sheet has a title line above its header (all but the appended ones)."""
    return sheet not in APPENDED_SHEETS


def header_row(sheet: ResultSheet) -> int:
    """The 1-based row of the sheet's header; data starts on the row below."""
    return 2 if titled(sheet) else 1


@dataclass(frozen=True, slots=True)
class Chart:
    """A clustered column chart: categories and series are 1-based sheet columns."""

    title: str
    category_column: int
    series_columns: tuple[int, ...]
    first_row: int
    last_row: int
    anchor_row: int  # 0-based row the chart's top-left corner sits on
    anchor_column: int
    rows_tall: int
    columns_wide: int


@dataclass(frozen=True, slots=True)
class SheetLook:
    widths: tuple[float, ...]
    wraps: tuple[bool, ...]
    marks: tuple[Mark, ...]  # one per data row
    heights: tuple[float | None, ...]  # one per data row; None: the default height
    header_height: float
    chart: Chart | None = None


def row_mark(sheet: ResultSheet, row: Sequence[object]) -> Mark:
    """The highlight a data row gets, from its values (see `Mark`)."""
    return _Marker(sheet).mark(row)


class _Marker:
    """`row_mark` for many rows of one sheet: where the deciding fields are, found once."""

    _FIELDS = (
        "region",
        "population",
        "charged_region",
        "eligible_for_revocation",
        "overdue_text",
        "finding",
    )

    def __init__(self, sheet: ResultSheet) -> None:
        self.sheet = sheet
        where = {c.field: i for i, c in enumerate(sheet.columns)}  # the last of a repeat
        self.where = {f: where[f] for f in self._FIELDS if f in where}

    def mark(self, row: Sequence[object]) -> Mark:
        width = len(row)
        values = {f: row[i] for f, i in self.where.items() if i < width}
        return _mark(self.sheet, values)

    def marks(self, rows: Sequence[Sequence[object]]) -> tuple[Mark, ...]:
        """`mark` of each row; rows alike in the deciding fields are judged once (most
        rows of a sheet share a handful of findings)."""
        fields = tuple(self.where)
        width = len(self.sheet.columns)
        if not fields or not all_of_width(rows, width):
            return tuple(self.mark(r) for r in rows)
        deciding = [list(map(operator.itemgetter(i), rows)) for i in self.where.values()]
        try:  # (zip makes a key tuple only for each distinct key: it reuses a dropped one)
            distinct = dict.fromkeys(zip(*deciding, strict=True))
        except TypeError:  # a value that cannot be a dict key
            return tuple(self.mark(r) for r in rows)
        if not all(v.__class__ in _PLAIN_OR_BLANK for key in distinct for v in key):
            return tuple(self.mark(r) for r in rows)
        known = {key: _mark(self.sheet, dict(zip(fields, key, strict=True))) for key in distinct}
        return tuple(map(known.__getitem__, zip(*deciding, strict=True)))


def _mark(sheet: ResultSheet, values: Mapping[str, object]) -> Mark:
    if sheet is ALLOTMENTS:
        if values.get("region") == TOTAL_LABEL:
            return Mark.TOTAL
        if values.get("population") is None:  # the row of CE licenses charged nowhere
            return Mark.NOTICE
        return Mark.PLAIN
    if sheet is CE_CHARGES and not values.get("charged_region"):
        return Mark.NOTICE
    eligible = values.get("eligible_for_revocation") == "Yes" and sheet is not REVOCATIONS
    if eligible or values.get("overdue_text") == "Yes":  # (every Revocations row is eligible)
        return Mark.ALERT
    if values.get("finding") == "Cannot judge":
        return Mark.NOTICE
    return Mark.PLAIN


def display_text(column: Column, value: object) -> str:
    """Roughly what Excel shows for a value under the column's number format."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE"
    if isinstance(value, int | float) and math.isfinite(value):
        if column.kind is Kind.PERCENT:
            return f"{value:.2%}"
        if column.kind is Kind.MONEY:
            return f"${value:,.2f}"
        if column.kind is Kind.NUMBER:
            return f"{value:,.2f}"
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"
    return str(value)


def _longest_line(text: str) -> int:
    if "\n" not in text:
        return len(text)
    return max((len(line) for line in text.split("\n")), default=0)


def _longest_shown(column: Column, values: Sequence[object]) -> int:
    """The longest line of any value as shown (text is shown as it is)."""
    classes = set(map(type, values))
    if classes <= _DATE_OR_BLANK:  # every date shows as yyyy-mm-dd
        return 10 if dt.date in classes else 0
    if classes <= _WHOLE_OR_BLANK and column.kind is Kind.INTEGER:
        whole = [v for v in values if isinstance(v, int)]  # "1,234": the largest or the
        ends = (max(whole), min(whole)) if whole else ()  # most negative is the longest
        return max((len(display_text(column, v)) for v in ends), default=0)
    if classes <= _TEXT_OR_BLANK:  # a blank shows as "", as display_text has it
        texts: list[str] = list(filter(None, values))  # type: ignore[arg-type]
    else:
        texts = [v if v.__class__ is str else display_text(column, v) for v in values]
    if "\n" in "".join(texts):
        return max(map(_longest_line, texts), default=0)
    return max(map(len, texts), default=0)


_DATE_OR_BLANK = frozenset({dt.date, type(None)})
_WHOLE_OR_BLANK = frozenset({int, type(None)})
_TEXT_OR_BLANK = frozenset({str, type(None)})
# Values of these classes are equal only when they are written and shown the same (given
# one class: across classes, 1 == 1.0 == True and 0 == False).
_PLAIN_CLASSES = frozenset({str, int, float, bool, dt.date, dt.datetime})


def same_kind(values: Sequence[object]) -> bool:
    """Whether the values (blanks aside) are all of one plain class, so that equal values
    are interchangeable and each distinct one can be worked out once, through a dict."""
    classes = set(map(type, values))
    classes.discard(type(None))
    return len(classes) <= 1 and classes <= _PLAIN_CLASSES


_PLAIN_OR_BLANK = _PLAIN_CLASSES | {type(None)}


@dataclass(frozen=True, slots=True)
class ColumnValues:
    """One column's values, row by row, and each distinct value once where equal values
    are interchangeable (`same_kind`; None otherwise): what is worked out from a value
    (its width, its lines, its cell) is worked out once for each distinct one. Made once
    a sheet (`column_values`) for both its look and its cells."""

    values: Sequence[object]
    distinct: Sequence[object] | None

    @property
    def each(self) -> Sequence[object]:
        """Every value at least once: the distinct ones where they can be told apart."""
        return self.values if self.distinct is None else self.distinct


def all_of_width(rows: Sequence[Sequence[object]], width: int) -> bool:
    """Whether every row has `width` values (asked of every row of a sheet: in C)."""
    return all(map(width.__eq__, map(len, rows)))


def transposed(rows: Sequence[Sequence[object]], width: int) -> list[list[object]]:
    """Rows of `width` values as columns. (Not `zip(*rows)`, which makes an iterator for
    every row: on a large sheet enough new objects to set off the garbage collector's
    full passes over everything the run holds.)"""
    return [list(map(operator.itemgetter(i), rows)) for i in range(width)]


def column_values(rows: Sequence[Sequence[object]], width: int) -> list[ColumnValues]:
    """The rows as columns (a value missing from a short row: blank)."""
    if all_of_width(rows, width):
        columns = transposed(rows, width)
    else:
        columns = [[r[i] if i < len(r) else None for r in rows] for i in range(width)]
    return [ColumnValues(c, list(dict.fromkeys(c)) if same_kind(c) else None) for c in columns]


def _header_width(header: str) -> float:
    """Headers wrap onto up to three lines: the longest word, or a third of the header."""
    words = header.split()
    return max(max(len(w) for w in words), math.ceil(len(header) / 3)) + 1.5


_WORD_FLOOR = 16  # a short-text column is at least this wide for its longest word


def _longest_word(values: Sequence[object]) -> int:
    """The longest word of a short-text column's values ("Thompson" in "Hayden
    Thompson"): narrower, a printed name breaks mid-word ("Thompso" / "n")."""
    words = " ".join([v for v in values if v.__class__ is str]).split()  # (the same words)
    return max(map(len, words), default=0)


def is_prose(column: Column) -> bool:
    """A column of sentences (Explanation, Basis, Reasons, Problem): it always wraps."""
    return column.width >= WRAP_WIDTH


def column_widths(
    sheet: ResultSheet, rows: Sequence[Sequence[object]]
) -> tuple[tuple[float, ...], tuple[bool, ...]]:
    """Widths that fit the content and, together, the printed page; and which wrap.

    Numbers, dates and IDs get what they need. Short-text columns (names, findings) get
    theirs up to a cap, lowered until the sheet fits `PRINT_WIDTH`, and wrap beyond it;
    the prose columns share what is left, at least `PROSE_MIN` each.
    """
    return _widths(sheet, column_values(rows, len(sheet.columns)))


def _widths(
    sheet: ResultSheet, by_column: Sequence[ColumnValues]
) -> tuple[tuple[float, ...], tuple[bool, ...]]:
    fits: list[float] = []
    floors: list[float] = []  # a header word is never broken, nor a name's word
    for column, values in zip(sheet.columns, by_column, strict=True):
        longest = _longest_shown(column, values.each)
        padding = 0.5 if column.kind in (Kind.DATE, Kind.DATETIME) else 1.5
        fits.append(max(_header_width(column.header), longest + padding, 5.0))
        floor = max(len(w) for w in column.header.split()) + 1.5
        if column.kind in (Kind.TEXT, Kind.CHOICE) and not is_prose(column):
            floor = max(floor, min(_longest_word(values.each), _WORD_FLOOR) + 1.5)
        floors.append(floor)
    kinds = [
        "prose" if is_prose(c) else "text" if c.kind in (Kind.TEXT, Kind.CHOICE) else "fixed"
        for c in sheet.columns
    ]
    prose = kinds.count("prose")

    def widths_at(cap: float) -> list[float]:
        return [
            PROSE_MIN if kind == "prose" else min(fit, max(cap, floor)) if kind == "text" else fit
            for kind, fit, floor in zip(kinds, fits, floors, strict=True)
        ]

    cap = float(NARROW_CAP)
    while cap > 8 and sum(widths_at(cap)) > PRINT_WIDTH:
        cap -= 1
    widths = widths_at(cap)
    if prose:
        # The prose columns share what is left; on a sheet with many fixed columns (the
        # Inactivity Report) they give up a little of their minimum before the page would
        # have to shrink below legible.
        share = (PRINT_WIDTH - sum(widths)) / prose + PROSE_MIN
        floor = min(PROSE_MIN, max(PROSE_FLOOR, share))
        widths = [
            max(floor, min(fit, share)) if kind == "prose" else width
            for kind, fit, width in zip(kinds, fits, widths, strict=True)
        ]
    wraps = [
        kind == "prose" or (kind == "text" and fit > width)
        for kind, fit, width in zip(kinds, fits, widths, strict=True)
    ]
    return tuple(round(w, 1) for w in widths), tuple(wraps)


def lines_needed(text: str, width: float) -> int:
    """How many lines wrapped text takes in a column (word wrap, a little pessimistic:
    Calibri's average letter is narrower than the digit a width unit measures)."""
    per_line = max(1, int((width - 1) * 1.3))
    if "\n" not in text:
        # (if it fits, no word can reach the end of the line)
        return 1 if len(text) <= per_line else _paragraph_lines(text, per_line)
    return sum(
        _paragraph_lines(paragraph, per_line) if len(paragraph) > per_line else 1
        for paragraph in text.split("\n")
    )


def _paragraph_lines(paragraph: str, per_line: int) -> int:
    """Lines of one paragraph: a line at a time, each ending at the last space that
    fits, where words are one space apart and none is longer than a line (else a word
    at a time, `_lines_word_by_word`)."""
    if "  " in paragraph or paragraph[0] == " " or paragraph[-1] == " ":
        return _lines_word_by_word(paragraph, per_line)
    start = 0
    count = 1
    while len(paragraph) - start > per_line:
        cut = paragraph.rfind(" ", start, start + per_line + 1)
        if cut < start:  # a word longer than a line
            return _lines_word_by_word(paragraph, per_line)
        start = cut + 1
        count += 1
    return count


def _lines_word_by_word(paragraph: str, per_line: int) -> int:
    """Lines of one paragraph, a word at a time; a word longer than a line breaks
    anywhere, and each space counts (also where spaces repeat)."""
    used = 0
    count = 1
    for word in paragraph.split(" "):
        size = len(word)
        if used and used + 1 + size > per_line:
            count += 1
            used = 0
        while size > per_line:
            count += 1
            size -= per_line
        used += size + (1 if used else 0)
    return count


def _heights(
    columns: Sequence[Column],
    rows: Sequence[Sequence[object]],
    widths: Sequence[float],
    wraps: Sequence[bool],
) -> tuple[float | None, ...]:
    """Each row's height: enough lines for its longest wrapped text (None: one line)."""
    return _row_heights(columns, column_values(rows, len(columns)), len(rows), widths, wraps)


def _row_heights(
    columns: Sequence[Column],
    by_column: Sequence[ColumnValues],
    count: int,
    widths: Sequence[float],
    wraps: Sequence[bool],
) -> tuple[float | None, ...]:
    """`_heights`, a column at a time, those with the fewest distinct values first.

    A column whose values recur (findings, clauses) has each distinct value counted once.
    In a column of mostly different values (names, explanations) a cell is counted only
    if it could take more lines than its row already needs (`_most_lines`): a short name
    beside a long explanation is not wrapped at all."""
    wrapped = sorted(
        (
            (column, values, width)
            for column, values, width, wrap in zip(columns, by_column, widths, wraps, strict=False)
            if wrap
        ),
        key=lambda wrapped_column: len(wrapped_column[1].each),
    )
    lines = [1] * count
    for column, values, width in wrapped:
        if len(values.each) * _RECURRING < count:
            lines = list(map(max, lines, _line_counts(column, values, width)))
        else:
            _raise_to_fit(lines, column, values.values, width)
    height = {n: LINE_HEIGHT * n if n > 1 else None for n in set(lines)}
    return tuple(map(height.__getitem__, lines))


_RECURRING = 4  # a column with fewer than a quarter as many distinct values as rows


def _most_lines(text: str, per_line: int) -> int:
    """At most the lines a paragraph (no line break) wraps to, found without wrapping it.

    Each line starts with a word, so there are no more lines than words when no word is
    longer than a line. And of two lines in a row, the first ends only where the second's
    first word would not fit after it, so together they hold at least a line's worth of
    characters (a longer word breaks into full lines)."""
    most = 2 * len(text) // per_line + 1
    words = text.count(" ") + 1
    if words < most and max(map(len, text.split(" "))) <= per_line:
        return words
    return most


def _raise_to_fit(lines: list[int], column: Column, values: Sequence[object], width: float) -> None:
    """Each row's `lines`, raised to what its value in this wrapped column takes, where
    that could be more than the row has already."""
    per_line = max(1, int((width - 1) * 1.3))
    rows: Sequence[int] = range(len(values))
    if set(map(type, values)) <= _TEXT_OR_BLANK:
        # Most rows are passed over at a glance: a blank, or a text (no line break) that
        # takes fewer lines than its row has even at `_most_lines`' first bound.
        texts = cast("Sequence[str | None]", values)
        rows = [
            row
            for row, (text, have) in enumerate(zip(texts, lines, strict=True))
            if text and (2 * len(text) // per_line >= have or "\n" in text)
        ]
    known: dict[str, int] = {}
    for row in rows:
        value = values[row]
        if value is None:
            continue
        have = lines[row]
        text = value if value.__class__ is str else display_text(column, value)
        # (a text that fits takes one line; `_most_lines` is at most 2 * size // per_line
        # + 1, which is cheaper to ask first)
        if "\n" not in text and (
            (size := len(text)) <= per_line
            or 2 * size // per_line < have
            or _most_lines(text, per_line) <= have
        ):
            continue
        needed = known.get(text)
        if needed is None:
            needed = known[text] = lines_needed(text, width)
        if needed > have:
            lines[row] = needed


def _line_counts(column: Column, values: ColumnValues, width: float) -> list[int]:
    """The lines each value of a wrapped column takes (a blank: one)."""
    per_line = max(1, int((width - 1) * 1.3))

    def lines(value: object) -> int:
        if value is None:
            return 1
        text = value if value.__class__ is str else display_text(column, value)
        if len(text) <= per_line and "\n" not in text:  # it fits on one line
            return 1
        return lines_needed(text, width)

    if values.distinct is None:
        return [lines(v) for v in values.values]
    known = {v: lines(v) for v in values.distinct}
    return list(map(known.__getitem__, values.values))


_BOLD = 0.85  # a bold Calibri line holds about this share of a regular one's letters


def look(
    sheet: ResultSheet,
    rows: Sequence[Sequence[object]],
    by_column: Sequence[ColumnValues] | None = None,
) -> SheetLook:
    """Everything about a result sheet's appearance that depends on its rows.

    `by_column`: `column_values` of the rows, when the caller has them already."""
    if by_column is None:
        by_column = column_values(rows, len(sheet.columns))
    widths, wraps = _widths(sheet, by_column)
    # Headers are bold, wider than the body text lines_needed measures for.
    header_lines = max(
        lines_needed(c.header, 1 + (w - 1) * _BOLD)
        for c, w in zip(sheet.columns, widths, strict=True)
    )
    marker = _Marker(sheet)
    marks = marker.marks(rows)
    heights = _row_heights(sheet.columns, by_column, len(rows), widths, wraps)
    return SheetLook(
        widths=widths,
        wraps=wraps,
        marks=marks,
        heights=heights,
        header_height=max(2, header_lines) * HEADER_LINE,
        chart=allotment_chart(sheet, rows, len(widths)),
    )


def allotment_chart(
    sheet: ResultSheet, rows: Sequence[Sequence[object]], width: int
) -> Chart | None:
    """Allotment against In Use per region, below the Allotments table (on screen and paper)."""
    if sheet is not ALLOTMENTS:
        return None
    fields = [c.field for c in sheet.columns]
    regions = 0
    for row in rows:
        if row_mark(sheet, row) is not Mark.PLAIN:
            break
        regions += 1
    if regions == 0:
        return None
    first = header_row(sheet) + 1
    return Chart(
        title=CHART_TITLE,
        category_column=fields.index("region") + 1,
        # In Use and Available, not Allotment: Available counts the appeals' changes (§4),
        # as the Reassignment sheet and the CE packet do, so the bars advise the same.
        series_columns=(fields.index("in_use") + 1, fields.index("available") + 1),
        first_row=first,
        last_row=first + regions - 1,
        anchor_row=first + len(rows) + 1,
        anchor_column=0,
        rows_tall=15,
        columns_wide=min(width, 10),
    )


AS_OF_NOT_READ = "As Of not read"  # a run whose Settings As Of could not be read


def _as_of_shown(as_of: dt.date | None) -> str:
    return f"as of {as_of.isoformat()}" if as_of is not None else AS_OF_NOT_READ


def footer(as_of: dt.date | None) -> str:
    """The printed footer: sheet name left, As Of centre, page right (Excel's codes: &L &C
    &R the sections, &A the sheet's name, &P the page, &N the pages). None: the run's
    Settings As Of could not be read, and no date is put on the page."""
    shown = f"As of {as_of.isoformat()}" if as_of is not None else AS_OF_NOT_READ
    return f"&L&A&C{shown}&RPage &P of &N"


def title_line(
    sheet: ResultSheet, *, as_of: dt.date | None, policy_version: str, policy_sha256: str
) -> str:
    """The line above a result sheet's header: what it is, As Of (None: not read), which
    policy.

    Short on purpose: text that runs past the last column widens the printed page."""
    if not policy_version:
        return f"{sheet.name} - {_as_of_shown(as_of)} - no usable policy"
    digest = f", SHA-256 {policy_sha256[:12]}" if policy_sha256 else ""
    return f"{sheet.name} - {_as_of_shown(as_of)} - policy {policy_version}{digest}"


HELD_BACK_MARK = " - HELD BACK"


def shown_title(
    title: str,
    held_back: str | None,
    *,
    kept: str | None = None,
    as_of: dt.date | None = None,
) -> str:
    """The title as written. A sheet an Error held back keeps its last good rows (SPEC §3),
    so it keeps the title that names their As Of and policy (`kept`, its title line until
    now, without an earlier run's HELD BACK) and adds the As Of of the run that held it
    back, and why: the title, the rows and the printed footer then speak of one run."""
    if held_back is None:
        return title
    if not kept:
        return f"{title}{HELD_BACK_MARK} ({held_back}): rows from the last good run"
    base = kept.split(HELD_BACK_MARK, 1)[0].rstrip()
    run = f" as of {as_of.isoformat()}" if as_of is not None else ""
    return f"{base}{HELD_BACK_MARK}{run} ({held_back}): rows from the last good run"
