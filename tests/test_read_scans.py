"""The reader's fast checks give what the general checks give: the quick look for a
formula or an error cell, the DOCTYPE refusal, and the sheet extent, on XML of any form."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from workbook.errors import WorkbookError
from workbook.xlsx import extent, read
from workbook.xlsx.package import refuse_doctype

# Pieces that make up sheet XML, near misses of every mark included.
_PIECES = [
    "<f>",
    "<f ",
    "<f/",
    ":f>",
    ":f ",
    ":f/",
    "f>",
    "f ",
    "<ff>",
    "<fo",
    't="e"',
    "t='e'",
    't="e',
    "t=e",
    '<c r="A1">',
    "<v>1</v>",
    "</c>",
    "<",
    ":",
    "f",
    " ",
    "/",
    ">",
    "!",
    "<!",
    "<!DOCTYPE",
    "<!ENTITY",
    "DOCTYPE",
    "of staff",
]
_xml = st.lists(st.sampled_from(_PIECES), max_size=12).map(lambda p: "".join(p).encode())


@given(_xml)
def test_the_quick_look_for_formulas_and_errors_finds_every_mark(xml: bytes) -> None:
    expected = any(mark in xml for mark in read._FORMULA_OR_ERROR_MARKS)
    assert read.may_have_unusable_cells(xml) == expected


@given(_xml)
def test_a_doctype_is_refused_exactly_when_it_is_there(xml: bytes) -> None:
    declared = b"<!DOCTYPE" in xml or b"<!ENTITY" in xml
    if declared:
        with pytest.raises(WorkbookError):
            refuse_doctype(xml, "part")
    else:
        refuse_doctype(xml, "part")


_SHEET_PIECES = ['<c r="A1">', '<c r="AB7">', '<row r="AB">', 'r="AB"', "<v>", "<is>", "<f>"]
_SHEET_PIECES += ["<f", "<v", "<i", "s>", "x", "<"]
_sheet_xml = st.lists(st.sampled_from(_SHEET_PIECES), max_size=10).map(
    lambda p: "".join(p).encode()
)


@given(_sheet_xml, st.integers(0, 40), st.integers(0, 40))
def test_the_last_value_is_found_where_the_three_searches_find_it(
    xml: bytes, start: int, end: int
) -> None:
    expected = max(xml.rfind(mark, start, end) for mark in (b"<v", b"<is", b"<f"))
    assert extent.last_value_mark(xml, start, end) == expected


@st.composite
def _cell_tag(draw: st.DrawFn) -> str:
    letters = draw(st.text(alphabet="ABXZa", min_size=0, max_size=4))
    digits = draw(st.text(alphabet="0123459", min_size=0, max_size=9))
    ref = f'r="{letters}{digits}"'
    start = draw(st.sampled_from(["<c ", "<c", "<c\t", "<c  ", "<row ", "<row", "<cols ", "<x:c "]))
    before = draw(st.sampled_from(["", 's="1" ', 't="n" ']))
    end = draw(st.sampled_from([">", "/>", " >", ""]))
    return f"{start}{before}{ref}{end}" + draw(st.sampled_from(["", "<v>123456</v></c>", "</row>"]))


_tags = st.lists(_cell_tag(), max_size=8).map(lambda t: "".join(t).encode())


@given(_tags)
def test_an_irregular_tag_is_found_as_the_pattern_finds_it(region: bytes) -> None:
    expected = extent._IRREGULAR.search(region) is not None
    assert extent.has_irregular_tag(region) == expected


@given(_tags)
def test_a_wide_cell_is_found_in_the_shapes_as_the_pattern_finds_it(region: bytes) -> None:
    shapes = region.translate(extent._REF_SHAPES)
    assert (b'<c r="AA' in shapes) == (extent._WIDE.search(region) is not None)


@settings(max_examples=500)
@given(_tags, st.integers(1, 8))
@example(b'<c r="A12">', 1)
@example(b'<c r="AB01234" s="1">', 3)
@example(b'<c r="XFD1048577"/>', 6)
@example(b'<c r="ABCD123"/>', 2)
def test_no_deeper_cell_is_missed_by_the_look_at_the_shapes(region: bytes, digits: int) -> None:
    shapes = region.translate(extent._REF_SHAPES)
    if extent._deeper_than(10**digits - 1).search(region):
        assert extent.may_have_more_digits(shapes, digits)


@given(_tags, st.integers(1, 8))
@example(b'<c r="A100000"/><c r="B100001"><v>1</v></c>', 6)
@example(b'<c r="AB0123"/><c r="C99">', 4)
def test_the_deepest_reference_of_a_length_is_found_from_the_shapes(
    region: bytes, digits: int
) -> None:
    refs = re.findall(rb'<c r="[A-Z]{1,3}(\d{%d})"' % digits, region)
    expected = max((int(r) for r in refs), default=0)
    shapes = region.translate(extent._REF_SHAPES)
    assert extent.deepest_of_digits(region, shapes, digits) == expected
    if b'<c r="AA' not in shapes:  # the caller's one-letter case: one search
        assert extent.deepest_of_digits(region, shapes, digits, (1,)) == expected


def test_too_many_references_of_a_length_are_left_to_the_pattern() -> None:
    region = b"".join(b'<c r="A%d"/>' % row for row in range(10_000, 40_000))
    shapes = region.translate(extent._REF_SHAPES)
    assert extent.deepest_of_digits(region, shapes, 5) is None
    assert extent.deepest_of_digits(region, shapes, 4) == 0


@given(_tags)
@example(b'<row r="1"><c r="C1"/></row><row r="2"><c r="D2"/></row>')
@example(b'<row r="1"><c r="Z1"/></row>')
def test_the_widest_one_letter_column_is_the_one_every_reference_shows(region: bytes) -> None:
    if b'<c r="AA' in region.translate(extent._REF_SHAPES):
        return  # the caller reads every reference then
    letters = extent._CELL_LETTERS.findall(region)
    found = extent.widest_single_letter(region)
    assert found is None or found == max(letters)
    if letters and set(letters) <= set(
        extent._CELL_LETTERS.findall(region, 0, region.find(b"</row>"))
    ):
        assert found == max(letters)  # the first row holds the widest: no second look fails


def _tall_sheet(stray: bytes = b"", last_row_extra: bytes = b"") -> bytes:
    """A worksheet of 100,001 rows and five columns, written the way openpyxl writes."""
    rows = 100_001
    cells = b"".join(
        b'<c r="' + letter + b'ROW"><v>1</v></c>' for letter in (b"A", b"B", b"C", b"D", b"E")
    )
    body = [
        b'<row r="%d">' % r
        + cells.replace(b"ROW", b"%d" % r)
        + (stray if r == 5 else last_row_extra if r == rows else b"")
        + b"</row>"
        for r in range(1, rows + 1)
    ]
    return (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<sheetData>" + b"".join(body) + b"</sheetData></worksheet>"
    )


@pytest.mark.parametrize(
    ("stray", "last_row_extra", "expected"),
    [
        (b"", b"", (100_001, 5)),  # rows x 26 columns would be too many: the columns are read
        (b"", b'<c r="H100001"><v>4</v></c>', (100_001, 8)),  # wider than the first row
        (b'<c r="E100002"><v>4</v></c>', b"", (100_002, 5)),  # deeper than its row says
        (b'<c r="E999999"><v>4</v></c>', b"", None),  # 999,999 x 5 cells: refused
    ],
)
def test_a_tall_sheet_is_measured_by_its_cells_not_its_rows(
    stray: bytes, last_row_extra: bytes, expected: tuple[int, int] | None
) -> None:
    xml = _tall_sheet(stray, last_row_extra)
    if expected is None:
        with pytest.raises(extent.ExtentError, match="E999999"):
            extent.sheet_extent(xml)
        return
    found = extent.sheet_extent(xml)
    assert (found.rows, found.columns) == expected
    thorough = extent._thorough(xml)
    assert (thorough.rows, thorough.columns) == expected


# ----------------------------------------------- cells that cannot be used, however quoted

_SHEET = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b"<sheetData>%s</sheetData></worksheet>"
)
_CELLS = (
    b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    b'<row r="3"><c r="A3"><v>1</v></c><c r="N3" t="e"><v>#N/A</v></c></row>'
    b'<row r="6"><c r="H6"><v>2</v></c><c r="N6"><f>DATE(2026,10,1)</f></c></row>'
)


@pytest.mark.parametrize("quote", [b'"', b"'"])
def test_error_and_uncalculated_cells_are_found_with_either_quote(quote: bytes) -> None:
    """Single-quoted attributes are XML too: the scans found neither #N/A (a license
    judged as if Revoked On were blank) nor the right cell of an uncalculated formula."""
    xml = _SHEET % _CELLS.replace(b'"', quote)
    found = [
        (row, column, error.problem.split(" (")[0])
        for row, column, error in read.unusable_cells(xml)
    ]
    assert found == [
        (2, 13, "The cell shows the error #N/A."),
        (5, 13, "The formula =DATE(2026,10,1) has no calculated value"),
    ]
    assert found == [(r, c, e.problem.split(" (")[0]) for r, c, e in read._scan_every_cell(xml)]


def test_a_text_formula_without_a_value_is_uncalculated_and_one_that_gave_nothing_is_not() -> None:
    never = b'<row r="2"><c r="N2" t="str"><f>TEXT(DATE(2026,10,1),"yyyy-mm-dd")</f></c></row>'
    empty = b'<row r="3"><c r="N3" t="str"><f>IF(1,"","x")</f><v></v></c></row>'
    found = read.unusable_cells(_SHEET % (never + empty))
    assert [(row, column) for row, column, _ in found] == [(1, 13)]
    assert "has no calculated value" in found[0][2].problem
