"""The native Excel chart on the Allotments sheet: a drawing part holding one chart part.

DrawingML written by hand (ECMA-376 Part 1 §20.5 spreadsheetDrawing, §21.2 charts), in
schema order, with cached values so that a viewer that does not recalculate (LibreOffice,
a phone's preview) shows the bars too. The chart's series point at the sheet's own cells.

The drawing is marked as hmis-licensing's own (`OWN_NAME` on its one graphic frame), so
that the next run, which replaces the sheet whole, knows it may replace the chart as well;
any other drawing on a result sheet is staff's and is never deleted (workbook/xlsx/write.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from workbook.presentation import CHART_TITLE, EARLIER_CHART_TITLES, Chart
from workbook.tables import column_letter
from workbook.xlsx.package import REL_NS
from workbook.xlsx.sheetxml import XML_DECLARATION, escape_attr, escape_text, number_text

CHART_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/chart"
DRAWING_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.drawing+xml"
CHART_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
OWN_NAME = "hmis-licensing chart"
OWN_TITLES = (CHART_TITLE, *EARLIER_CHART_TITLES)
_XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
_C = "http://schemas.openxmlformats.org/drawingml/2006/chart"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
SERIES_COLOURS = ("ED7D31", "2F5597")  # In Use orange, Available blue


@dataclass(frozen=True, slots=True)
class ChartData:
    """The chart and the cached values of the cells it points at."""

    chart: Chart
    sheet_name: str
    categories: tuple[str, ...]
    series: tuple[tuple[str, tuple[float | None, ...]], ...]  # (header, values)


def _ref(sheet: str, column: int, first: int, last: int | None = None) -> str:
    quoted = "'" + sheet.replace("'", "''") + "'"
    letter = column_letter(column - 1)
    if last is None:
        return f"{quoted}!${letter}${first}"
    return f"{quoted}!${letter}${first}:${letter}${last}"


def _str_cache(values: Sequence[str]) -> str:
    points = "".join(
        f'<c:pt idx="{i}"><c:v>{escape_text(v)}</c:v></c:pt>' for i, v in enumerate(values)
    )
    return f'<c:strCache><c:ptCount val="{len(values)}"/>{points}</c:strCache>'


def _num_cache(values: Sequence[float | None]) -> str:
    points = "".join(
        f'<c:pt idx="{i}"><c:v>{number_text(v)}</c:v></c:pt>'
        for i, v in enumerate(values)
        if v is not None
    )
    return (
        f'<c:numCache><c:formatCode>General</c:formatCode><c:ptCount val="{len(values)}"/>'
        f"{points}</c:numCache>"
    )


def _text(text: str, size: int, bold: bool) -> str:
    b = ' b="1"' if bold else ' b="0"'
    return (
        "<c:tx><c:rich><a:bodyPr/><a:lstStyle/><a:p>"
        f'<a:pPr><a:defRPr sz="{size}"{b}/></a:pPr>'
        f'<a:r><a:rPr lang="en-US" sz="{size}"{b}/><a:t>{escape_text(text)}</a:t></a:r>'
        "</a:p></c:rich></c:tx>"
    )


def chart_xml(data: ChartData) -> bytes:
    chart = data.chart
    categories = _ref(data.sheet_name, chart.category_column, chart.first_row, chart.last_row)
    series = []
    for order, (column, (name, values)) in enumerate(
        zip(chart.series_columns, data.series, strict=True)
    ):
        colour = SERIES_COLOURS[order % len(SERIES_COLOURS)]
        header = _ref(data.sheet_name, column, chart.first_row - 1)
        series.append(
            f'<c:ser><c:idx val="{order}"/><c:order val="{order}"/>'
            f"<c:tx><c:strRef><c:f>{escape_text(header)}</c:f>{_str_cache([name])}</c:strRef></c:tx>"
            f'<c:spPr><a:solidFill><a:srgbClr val="{colour}"/></a:solidFill></c:spPr>'
            '<c:invertIfNegative val="0"/>'
            "<c:dLbls><c:spPr><a:noFill/><a:ln><a:noFill/></a:ln></c:spPr>"
            '<c:showLegendKey val="0"/><c:showVal val="1"/><c:showCatName val="0"/>'
            '<c:showSerName val="0"/><c:showPercent val="0"/><c:showBubbleSize val="0"/>'
            "</c:dLbls>"
            f"<c:cat><c:strRef><c:f>{escape_text(categories)}</c:f>"
            f"{_str_cache(data.categories)}</c:strRef></c:cat>"
            "<c:val><c:numRef>"
            f"<c:f>{escape_text(_ref(data.sheet_name, column, chart.first_row, chart.last_row))}"
            f"</c:f>{_num_cache(values)}</c:numRef></c:val></c:ser>"
        )
    axis_ids = ('<c:axId val="50010001"/>', '<c:axId val="50010002"/>')
    xml = (
        XML_DECLARATION + f'<c:chartSpace xmlns:c="{_C}" xmlns:a="{_A}" xmlns:r="{REL_NS}">'
        '<c:roundedCorners val="0"/>'
        "<c:chart>"
        f'<c:title>{_text(chart.title, 1300, True)}<c:overlay val="0"/></c:title>'
        '<c:autoTitleDeleted val="0"/>'
        "<c:plotArea><c:layout/>"
        '<c:barChart><c:barDir val="col"/><c:grouping val="clustered"/>'
        '<c:varyColors val="0"/>' + "".join(series) + '<c:gapWidth val="80"/>'
        '<c:overlap val="-10"/>' + "".join(axis_ids) + "</c:barChart>"
        '<c:catAx><c:axId val="50010001"/><c:scaling><c:orientation val="minMax"/>'
        '</c:scaling><c:delete val="0"/><c:axPos val="b"/>'
        '<c:numFmt formatCode="General" sourceLinked="0"/><c:majorTickMark val="out"/>'
        # The regions' names below the plot: an Available under zero would cover them.
        '<c:minorTickMark val="none"/><c:tickLblPos val="low"/>'
        '<c:crossAx val="50010002"/><c:crosses val="autoZero"/><c:auto val="1"/>'
        '<c:lblAlgn val="ctr"/><c:lblOffset val="100"/><c:noMultiLvlLbl val="0"/>'
        "</c:catAx>"
        '<c:valAx><c:axId val="50010002"/><c:scaling><c:orientation val="minMax"/>'
        '</c:scaling><c:delete val="0"/><c:axPos val="l"/><c:majorGridlines/>'
        '<c:numFmt formatCode="0" sourceLinked="0"/><c:majorTickMark val="out"/>'
        '<c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>'
        '<c:crossAx val="50010001"/><c:crosses val="autoZero"/>'
        '<c:crossBetween val="between"/><c:majorUnit val="1"/></c:valAx>'
        "</c:plotArea>"
        '<c:legend><c:legendPos val="b"/><c:overlay val="0"/></c:legend>'
        '<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/>'
        "</c:chart>"
        # 11-point labels: printed at fit-to-width they stay legible, like the cells.
        '<c:txPr><a:bodyPr/><a:lstStyle/><a:p><a:pPr><a:defRPr sz="1100"/></a:pPr>'
        '<a:endParaRPr lang="en-US"/></a:p></c:txPr>'
        "</c:chartSpace>"
    )
    return xml.encode("utf-8")


def drawing_xml(chart: Chart, chart_rel_id: str) -> bytes:
    """A drawing with one graphic frame anchored to cells, holding the chart."""
    top, left = chart.anchor_row, chart.anchor_column

    def marker(tag: str, column: int, row: int) -> str:
        return (
            f"<xdr:{tag}><xdr:col>{column}</xdr:col><xdr:colOff>0</xdr:colOff>"
            f"<xdr:row>{row}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:{tag}>"
        )

    xml = (
        XML_DECLARATION + f'<xdr:wsDr xmlns:xdr="{_XDR}" xmlns:a="{_A}">'
        '<xdr:twoCellAnchor editAs="oneCell">'
        + marker("from", left, top)
        + marker("to", left + chart.columns_wide, top + chart.rows_tall)
        + '<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr>'
        f'<xdr:cNvPr id="2" name="{escape_attr(OWN_NAME)}" descr="{escape_attr(chart.title)}"/>'
        "<xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>"
        '<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm>'
        f'<a:graphic><a:graphicData uri="{_C}">'
        f'<c:chart xmlns:c="{_C}" xmlns:r="{REL_NS}" r:id="{chart_rel_id}"/>'
        "</a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/>"
        "</xdr:twoCellAnchor></xdr:wsDr>"
    )
    return xml.encode("utf-8")


def relationships_xml(entries: Sequence[tuple[str, str, str]]) -> bytes:
    """A .rels part for (id, type, target) relationships."""
    body = "".join(
        f'<Relationship Id="{rel_id}" Type="{rel_type}" Target="{escape_attr(target)}"/>'
        for rel_id, rel_type, target in entries
    )
    return (XML_DECLARATION + f'<Relationships xmlns="{_PKG_REL}">{body}</Relationships>').encode()


def chart_title(data: bytes) -> str | None:
    """The text of a chart part's title, if it has one."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return None
    title = root.find(f"{{{_C}}}chart/{{{_C}}}title")
    if title is None:
        return None
    return "".join(t.text or "" for t in title.iter(f"{{{_A}}}t"))


def is_own_drawing(data: bytes, chart_titles: Sequence[str | None] = ()) -> bool:
    """Whether a drawing part is one this writer made: one graphic frame holding a chart,
    ours by name or, after another program rewrote the file (openpyxl renames frames), by
    the titles of the charts it holds (`chart_titles`)."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return False
    if root.tag != f"{{{_XDR}}}wsDr" or len(root) != 1:
        return False
    frames = root.findall(f".//{{{_XDR}}}graphicFrame")
    shapes = [e for e in root.iter() if e.tag in (f"{{{_XDR}}}sp", f"{{{_XDR}}}pic")]
    if len(frames) != 1 or shapes:
        return False
    names = [e.get("name") for e in frames[0].iter(f"{{{_XDR}}}cNvPr")]
    if names == [OWN_NAME]:
        return True
    return bool(chart_titles) and all(t in OWN_TITLES for t in chart_titles)
