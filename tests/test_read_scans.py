"""The reader's fast checks give what the general checks give: the quick look for a
formula or an error cell, the DOCTYPE refusal, and the sheet extent, on XML of any form."""

from __future__ import annotations

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
