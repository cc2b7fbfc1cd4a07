"""The appended sheets' fast scans (last row, columns in use) find exactly what the
general patterns find, whatever form the XML takes: prefixed tags, rows without numbers,
attributes with spaces around `=`, references after a tab, merged cells and links."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from workbook.xlsx import appended
from workbook.xlsx.extent import column_number, plain_row_numbers

_ROW_PATTERN = appended._ROW_START


def slow_floor(text: str) -> int:
    """log_floor as it was: every row tag, each unnumbered row after the one before."""
    floor = 0
    for match in _ROW_PATTERN.finditer(text):
        number = appended._row_number(match.group(1), floor)
        floor = max(floor, number)
    for pattern in (appended._MERGE, appended._HYPERLINK):
        for match in pattern.finditer(text):
            for ref in match.group(1).split():
                found = appended._RANGE.match(ref.replace("$", ""))
                if found:
                    floor = max(floor, int(found.group(4) or found.group(2)))
    return min(floor, appended.MAX_ROWS)


def slow_columns(text: str) -> set[int]:
    return {column_number(letter) - 1 for letter in appended._CELL_REF.findall(text)}


_prefix = st.sampled_from(["", "x:", "ns1:"])
_space = st.sampled_from(["", " ", "\t"])
_letters = st.sampled_from(["A", "B", "Z", "AA", "XFD"])


@st.composite
def cell(draw: st.DrawFn) -> str:
    p = draw(_prefix)
    before = draw(st.sampled_from([" ", "\t", "\n"]))
    around = draw(_space)
    ref = f"{draw(_letters)}{draw(st.integers(1, 99))}"
    text = draw(st.sampled_from(["", "a = b", "Other r = 2", "x\tr", 'var="Q9" r="XA12"']))
    body = f"<{p}is><{p}t>{text}</{p}t></{p}is>"
    return f'<{p}c{before}r{around}={around}"{ref}" t="inlineStr">{body}</{p}c>'


@st.composite
def row(draw: st.DrawFn) -> str:
    p = draw(_prefix)
    number = draw(st.none() | st.integers(1, 5000))
    attrs = "" if number is None else f' r="{number}"'
    other = draw(st.sampled_from(["", ' spans="1:3"', ' ht="30" customHeight="1"']))
    attrs = other + attrs if draw(st.booleans()) else attrs + other  # r first, or not
    cells = "".join(draw(st.lists(cell(), max_size=3)))
    return f"<{p}row{attrs}/>" if not cells else f"<{p}row{attrs}>{cells}</{p}row>"


@st.composite
def sheet(draw: st.DrawFn) -> str:
    rows = "".join(draw(st.lists(row(), max_size=8)))
    extra = ""
    if draw(st.booleans()):
        extra += f'<mergeCells><mergeCell ref="A{draw(st.integers(1, 9000))}:C7"/></mergeCells>'
    if draw(st.booleans()):
        extra += f'<hyperlinks><hyperlink ref="$B${draw(st.integers(1, 9000))}"/></hyperlinks>'
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    return (
        f'<worksheet xmlns="{main}" xmlns:r="http://r"><sheetData>{rows}</sheetData>{extra}'
        '<pageMargins header="0.3" footer="0.3"/></worksheet>'
    )


@given(sheet())
def test_the_last_row_is_found_as_the_general_scan_finds_it(text: str) -> None:
    assert appended.log_floor(text.encode(), "Run Log").floor == slow_floor(text)


@given(sheet())
def test_the_columns_in_use_are_found_as_the_general_scan_finds_them(text: str) -> None:
    assert set(appended._used_columns(text)) == slow_columns(text)


def test_excel_written_rows_take_the_fast_scan() -> None:
    text = "".join(f'<row r="{n}"><c r="A{n}"><v>1</v></c><c r="F{n}"/></row>' for n in (1, 5))
    assert re.search(":row", text) is None
    assert plain_row_numbers(text.encode()) == [b"1", b"5"]
    assert appended.log_floor(text.encode(), "Run Log").floor == 5
    assert sorted(appended._used_columns(text)) == [0, 5]


def old_edited(text: str, edits: list[tuple[int, int, str]]) -> str:
    """append_rows' edits as they were made: one at a time, from the end."""
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


@st.composite
def edits(draw: st.DrawFn) -> tuple[str, list[tuple[int, int, str]]]:
    text = draw(st.text(alphabet="ab<>", max_size=20))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=8)))
    spans = [(a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False)]  # never overlapping
    points = draw(st.lists(st.sampled_from(cuts), max_size=3)) if cuts else []  # insertions
    made = [(a, b, draw(st.sampled_from(["X", "YY", ""]))) for a, b in spans]
    made += [(a, a, draw(st.sampled_from(["1", "22"]))) for a in points]
    return text, draw(st.permutations(made))


@given(edits())
def test_the_edits_are_made_in_one_pass_as_they_were_one_by_one(
    case: tuple[str, list[tuple[int, int, str]]],
) -> None:
    text, made = case
    assert appended._edited(text, made) == old_edited(text, made)


@given(sheet())
def test_a_row_is_found_as_the_plain_pattern_finds_it(text: str) -> None:
    """`_ROW` against the obvious `(.*?)</row>` (on every Python 3.11: 3.11.2's `re`
    found nothing with a possessive version of it)."""
    plain = re.compile(rf"<{appended._P}row\b([^>]*?)(/>|>(.*?)</{appended._P}row>)", re.S)
    found = [m.group(0) for m in appended._ROW.finditer(text)]
    assert found == [m.group(0) for m in plain.finditer(text)]
    if "<row r=" in text and "</row>" in text:
        assert found
