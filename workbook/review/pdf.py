"""A packet laid out as a PDF for Letter paper, with reportlab (pure Python, no system fonts).

    data, pages = render(packet)

What makes it readable on paper: body text 10 pt and table text 9 pt (nothing smaller,
chart labels included); tables that wrap long explanations in their column instead of
shrinking them, with the header row repeated on every page a table runs onto; on every
page a running header (CoC, committee, As Of, policy version and fingerprint, NOT FINAL
when the workbook has errors) and a footer with "Page N of M". Section titles start a new
page only when too little of the page is left, so no page is ever blank.

The standard PDF fonts (Helvetica) are used, so nothing is embedded and every reader shows
them; characters outside their range (rare in names here) print as a small box rather
than failing. Workbook text is escaped before reportlab's paragraph markup sees it, and
each cell is bounded so that no row can grow taller than a page; rows are not split.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Table as RlTable
from reportlab.platypus.doctemplate import LayoutError

import engine
from workbook.review.packet import BarChart, Block, Packet, Section, Table
from workbook.review.text import clean, cut, one_line

PAGE_WIDTH, PAGE_HEIGHT = LETTER
MARGIN = 0.6 * inch
TOP = 0.85 * inch  # room for the running header
BOTTOM = 0.75 * inch  # room for the footer
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN
BODY_SIZE = 10.0
TABLE_SIZE = 9.0  # the smallest text anywhere in a packet
FONT, BOLD, ITALIC = "Helvetica", "Helvetica-Bold", "Helvetica-Oblique"
HEADER_FILL = colors.HexColor("#DDE4EE")  # the result sheets' header colour
MARK_FILL = colors.HexColor("#F8DEDE")  # over, overdue, against policy: grey on paper
RULE = colors.HexColor("#8A96A8")
_CELL_LINES = 36  # at most this many lines in one cell (a page holds about 55)
_CHART_BARS = 24  # regions per chart; more regions get further charts
_PADDING = 3.0
_KEEP_ROWS = 6  # a table this short stays on the page of its section's title
_UNBROKEN = 12  # words up to this long (dates, IDs, "Inactive") are never broken

BODY = ParagraphStyle("body", fontName=FONT, fontSize=BODY_SIZE, leading=13, spaceAfter=6)
NOTE = ParagraphStyle("note", parent=BODY, fontName=ITALIC)
LABEL = ParagraphStyle("label", parent=BODY, keepWithNext=1)
TITLE = ParagraphStyle("title", fontName=BOLD, fontSize=20, leading=24, spaceAfter=4)
SUBTITLE = ParagraphStyle("subtitle", fontName=FONT, fontSize=12, leading=15, spaceAfter=14)
HEADING = ParagraphStyle(
    "heading", fontName=BOLD, fontSize=13, leading=16, spaceBefore=14, spaceAfter=6
)
CELL = ParagraphStyle("cell", fontName=FONT, fontSize=TABLE_SIZE, leading=11)
CELL_RIGHT = ParagraphStyle("cell-right", parent=CELL, alignment=TA_RIGHT)
HEAD_CELL = ParagraphStyle("head-cell", parent=CELL, fontName=BOLD)
HEAD_RIGHT = ParagraphStyle("head-right", parent=HEAD_CELL, alignment=TA_RIGHT)
STATUS = ParagraphStyle("status", parent=BODY, fontName=BOLD)
NOT_FINAL = ParagraphStyle(
    "not-final",
    parent=STATUS,
    textColor=colors.HexColor("#8B0000"),
    borderColor=colors.HexColor("#8B0000"),
    borderWidth=1,
    borderPadding=5,
    spaceBefore=6,
    spaceAfter=10,
)


def render(packet: Packet) -> tuple[bytes, int]:
    """The packet as PDF bytes, and its number of pages.

    A table row is kept whole on a page: split, its tail starts the next page under a
    header of its own and reportlab may draw the header again lower on that page. Cells
    are bounded so that a row fits a page; should one still not, its table is drawn
    again with rows that go on over the next page rather than not at all."""
    try:
        return _build(packet, split_rows=False)
    except LayoutError:
        return _build(packet, split_rows=True)


def _build(packet: Packet, *, split_rows: bool) -> tuple[bytes, int]:
    buffer = io.BytesIO()
    pages: list[int] = []
    document = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=TOP,
        bottomMargin=BOTTOM,
        title=f"{packet.title}, As Of {packet.as_of_text}",
        author="hmis-licensing",
        subject=packet.running_header,
        creator=f"hmis-licensing {engine.ENGINE_VERSION}",
    )
    story = list(_story(packet))
    if split_rows:
        for flowable in story:
            if isinstance(flowable, RlTable):
                flowable.splitInRow = 1
    document.build(story, canvasmaker=_page_canvas(packet, pages))
    return buffer.getvalue(), pages[0] if pages else 0


# ------------------------------------------------------------------------- the story


def _story(packet: Packet) -> Iterator[Flowable]:
    yield Paragraph(_markup(packet.title), TITLE)
    yield Paragraph(_markup(packet.facts[0][1]), SUBTITLE)
    yield _key_values(packet.facts)
    yield Spacer(1, 10)
    yield Paragraph(_markup(packet.status), STATUS if packet.final else NOT_FINAL)
    for line in packet.errors:
        yield Paragraph(_markup(line), BODY, bulletText="•")
    yield Paragraph("Summary", HEADING)
    yield _key_values(packet.summary, numbers=True)
    for section in packet.sections:
        yield from _section(section)


def _section(section: Section) -> Iterator[Flowable]:
    """The title kept on a page with its first paragraph and, when short, what follows it."""
    kept: list[Flowable] = [Paragraph(_markup(section.title), HEADING)]
    blocks = list(section.blocks)
    while blocks and (len(kept) == 1 or (len(kept) < 4 and _short(blocks[0]))):
        kept += _flowables(blocks.pop(0))
    yield KeepTogether(kept)
    for index, block in enumerate(blocks):
        follows = blocks[index + 1] if index + 1 < len(blocks) else None
        if isinstance(block, str) and isinstance(follows, Table):
            yield Paragraph(_markup(block), LABEL)  # a table's label stays with its table
        else:
            yield from _flowables(block)


def _short(block: Block) -> bool:
    """Whether a block is small enough to keep on the page of its section's title."""
    return isinstance(block, str) or (isinstance(block, Table) and len(block.rows) <= _KEEP_ROWS)


def _flowables(block: Block) -> list[Flowable]:
    if isinstance(block, str):
        return [Paragraph(_markup(block), BODY)]
    if isinstance(block, Table):
        return _tables(block)
    return [*_charts(block), Spacer(1, 8)]


def _key_values(rows: Sequence[tuple[str, str]], *, numbers: bool = False) -> Flowable:
    if not rows:
        return Spacer(1, 1)
    value_style = CELL_RIGHT if numbers else CELL
    data = [
        [Paragraph(_markup(key), HEAD_CELL), Paragraph(_markup(value), value_style)]
        for key, value in rows
    ]
    widths = [0.62 * TEXT_WIDTH, 0.38 * TEXT_WIDTH] if numbers else [1.5 * inch, None]
    if not numbers:
        widths[1] = TEXT_WIDTH - 1.5 * inch
    table = RlTable(data, colWidths=widths, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _tables(table: Table) -> list[Flowable]:
    """The table whole: reportlab splits it at page ends and repeats its header row."""
    if not table.rows:
        return [Paragraph(_markup(table.empty), NOTE)]
    widths = column_widths(table)
    header = [
        Paragraph(_markup(c.header), HEAD_RIGHT if c.numeric else HEAD_CELL) for c in table.columns
    ]
    plain = [CELL_RIGHT if c.numeric else CELL for c in table.columns]
    bold = [HEAD_RIGHT if c.numeric else HEAD_CELL for c in table.columns]
    last = len(table.rows) - 1
    data: list[list[Any]] = [header]
    for index, row in enumerate(table.rows):
        styles = bold if table.total_row and index == last else plain
        data.append(
            [
                Paragraph(_markup(bounded(value, width - 2 * _PADDING)), style)
                for value, style, width in zip(row, styles, widths, strict=True)
            ]
        )
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
        ("BOX", (0, 0), (-1, -1), 0.5, RULE),
        ("LEFTPADDING", (0, 0), (-1, -1), _PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), _PADDING),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    commands += [("BACKGROUND", (0, i + 1), (-1, i + 1), MARK_FILL) for i in sorted(table.marked)]
    block = RlTable(
        data,
        colWidths=widths,
        repeatRows=1,
        splitInRow=0,  # a row whole on one page (render: unless it cannot fit one)
        longTableOptimize=1,  # thousands of rows split in seconds, not minutes
        hAlign="LEFT",
    )
    block.setStyle(TableStyle(commands))
    return [block, Spacer(1, 8)]


def bounded(value: str, width: float) -> str:
    """The cell's text, cut (with an ellipsis) to what about `_CELL_LINES` lines of a
    column `width` points wide can hold, so that no row outgrows a page."""
    text = clean(value)
    budget = width * _CELL_LINES * 0.8  # room for the ends of wrapped lines
    if stringWidth(text, BOLD, TABLE_SIZE) <= budget:
        return text
    return _fit(text, budget, BOLD)


def column_widths(table: Table, total: float = TEXT_WIDTH) -> list[float]:
    """Each column's share of the width, widened where a header word or a short value
    (a date, an ID, a number) would otherwise be broken in the middle; the room comes
    from the columns that wrap prose."""
    wanted = [c.width * total for c in table.columns]
    needed = []
    for index, column in enumerate(table.columns):
        words = column.header.split()
        widest = max((stringWidth(w, BOLD, TABLE_SIZE) for w in words), default=0.0)
        for row in table.rows:
            for word in row[index].split():
                if len(word) <= _UNBROKEN or column.numeric:
                    widest = max(widest, stringWidth(word, FONT, TABLE_SIZE))
        needed.append(min(widest + 2 * _PADDING + 1, 0.3 * total))
    widths = [max(w, n) for w, n in zip(wanted, needed, strict=True)]
    excess = sum(widths) - total
    if excess > 0:
        spare = [w - n for w, n in zip(widths, needed, strict=True)]
        room = sum(spare)
        if room > 0:
            shrink = min(1.0, excess / room)
            widths = [w - s * shrink for w, s in zip(widths, spare, strict=True)]
    return widths


def _charts(chart: BarChart) -> Iterator[Flowable]:
    for start in range(0, len(chart.categories), _CHART_BARS):
        part = slice(start, start + _CHART_BARS)
        yield _chart(chart, chart.categories[part], [(n, v[part]) for n, v in chart.series])


def _chart(
    chart: BarChart, categories: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]
) -> Flowable:
    """Horizontal bars, one group per region: long region names fit, and any number of them."""
    bar_group = 12.0 * len(series) + 8
    plot_height = bar_group * len(categories)
    label_width = 1.6 * inch
    height = plot_height + 70
    drawing = Drawing(TEXT_WIDTH, height)
    drawing.add(String(0, height - 12, chart.title, fontName=BOLD, fontSize=BODY_SIZE))
    bars = HorizontalBarChart()
    bars.x, bars.y = int(label_width), 32
    bars.width, bars.height = int(TEXT_WIDTH - label_width - 20), int(plot_height)
    # reportlab draws the first category and the first series at the bottom: reverse
    # both, so that regions read down in the table's order and each group in the legend's.
    bars.data = [list(reversed(values)) for _, values in reversed(series)]
    bars.categoryAxis.categoryNames = [cut(c, 28) for c in reversed(categories)]
    bars.categoryAxis.labels.fontName = FONT
    bars.categoryAxis.labels.fontSize = TABLE_SIZE
    bars.categoryAxis.labels.boxAnchor = "e"
    bars.categoryAxis.labels.dx = -4
    top = max((max(v, default=0) for _, v in series), default=0)
    bars.valueAxis.valueMin = 0
    bars.valueAxis.valueMax = max(1, top + 1)
    bars.valueAxis.valueStep = max(1, (top + 1) // 8 or 1)
    bars.valueAxis.labels.fontName = FONT
    bars.valueAxis.labels.fontSize = TABLE_SIZE
    bars.barLabelFormat = "%d"
    bars.barLabels.fontName = FONT
    bars.barLabels.fontSize = TABLE_SIZE
    bars.barLabels.boxAnchor = "w"
    bars.barLabels.dx = 3
    fills = [colors.HexColor("#4A6FA5"), colors.HexColor("#E3A13B")]
    for index in range(len(series)):
        bars.bars[index].fillColor = fills[(len(series) - 1 - index) % len(fills)]
        bars.bars[index].strokeColor = None
    bars.groupSpacing = 8
    drawing.add(bars)
    legend = Legend()
    legend.x, legend.y = int(label_width), 12
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.fontName = FONT
    legend.fontSize = TABLE_SIZE
    legend.dx = legend.dy = 8
    legend.deltax = 110
    legend.colorNamePairs = [(fills[i % len(fills)], name) for i, (name, _) in enumerate(series)]
    drawing.add(legend)
    return drawing


def _fit(text: str, width: float, font: str = FONT) -> str:
    """The text cut (with an ellipsis) to fit `width` points in 9 pt Helvetica."""
    if stringWidth(text, font, TABLE_SIZE) <= width:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits
        middle = (low + high + 1) // 2
        if stringWidth(cut(text, middle), font, TABLE_SIZE) <= width:
            low = middle
        else:
            high = middle - 1
    return cut(text, low)


def _markup(text: str) -> str:
    """Plain text as reportlab paragraph markup: nothing in it can be read as a tag."""
    return escape(clean(text)).replace("\n", "<br/>")


# ----------------------------------------------------------------------- every page


def _page_canvas(packet: Packet, pages: list[int]) -> type[Canvas]:
    """A canvas that draws the running header and "Page N of M" once the total is known."""
    header = one_line(packet.running_header)
    footer = f"{packet.title} · As Of {packet.as_of_text} · prepared by hmis-licensing"

    class PageCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()  # type: ignore[attr-defined]  # reportlab's own reset

        def save(self) -> None:
            total = len(self._pages)
            pages.append(total)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._furniture(number, total)
                super().showPage()
            super().save()

        def _furniture(self, number: int, total: int) -> None:
            self.saveState()
            self.setFont(FONT, TABLE_SIZE)
            self.setFillColor(colors.black)
            self.drawString(MARGIN, PAGE_HEIGHT - 0.5 * inch, _fit(header, TEXT_WIDTH))
            self.setStrokeColor(RULE)
            self.setLineWidth(0.5)
            self.line(
                MARGIN, PAGE_HEIGHT - 0.56 * inch, PAGE_WIDTH - MARGIN, PAGE_HEIGHT - 0.56 * inch
            )
            self.line(MARGIN, 0.58 * inch, PAGE_WIDTH - MARGIN, 0.58 * inch)
            self.drawString(MARGIN, 0.42 * inch, _fit(footer, TEXT_WIDTH - 1.2 * inch))
            self.drawRightString(PAGE_WIDTH - MARGIN, 0.42 * inch, f"Page {number} of {total}")
            self.restoreState()

    return PageCanvas
