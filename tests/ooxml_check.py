"""A strict reader for the parts of a workbook that Excel is strict about.

Excel has no headless mode here, so this checks, from ECMA-376 Part 1 (transitional), the
rules Excel enforces when it opens a file and "repairs" it otherwise: the order and number
of the children of worksheet, workbook, styleSheet, row, c, sheetView and sheetPr
(CT_Worksheet's sequence is the schema's, element by element); that cells are in column
order within increasing rows and agree with their row; that every style index, shared
string index, relationship and content type points at something that exists; that counts
agree with contents; defined names are unique per scope; sheet names are legal and unique.
It returns a list of complaints (empty: the package passes).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from xml.etree import ElementTree as ET

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"

# (child, maximum occurrences; None = unbounded), in schema order.
WORKSHEET = [
    ("sheetPr", 1),
    ("dimension", 1),
    ("sheetViews", 1),
    ("sheetFormatPr", 1),
    ("cols", None),
    ("sheetData", 1),
    ("sheetCalcPr", 1),
    ("sheetProtection", 1),
    ("protectedRanges", 1),
    ("scenarios", 1),
    ("autoFilter", 1),
    ("sortState", 1),
    ("dataConsolidate", 1),
    ("customSheetViews", 1),
    ("mergeCells", 1),
    ("phoneticPr", 1),
    ("conditionalFormatting", None),
    ("dataValidations", 1),
    ("hyperlinks", 1),
    ("printOptions", 1),
    ("pageMargins", 1),
    ("pageSetup", 1),
    ("headerFooter", 1),
    ("rowBreaks", 1),
    ("colBreaks", 1),
    ("customProperties", 1),
    ("cellWatches", 1),
    ("ignoredErrors", 1),
    ("smartTags", 1),
    ("drawing", 1),
    ("legacyDrawing", 1),
    ("legacyDrawingHF", 1),
    ("drawingHF", 1),
    ("picture", 1),
    ("oleObjects", 1),
    ("controls", 1),
    ("webPublishItems", 1),
    ("tableParts", 1),
    ("extLst", 1),
]
WORKBOOK = [
    ("fileVersion", 1),
    ("fileSharing", 1),
    ("workbookPr", 1),
    ("workbookProtection", 1),
    ("bookViews", 1),
    ("sheets", 1),
    ("functionGroups", 1),
    ("externalReferences", 1),
    ("definedNames", 1),
    ("calcPr", 1),
    ("oleSize", 1),
    ("customWorkbookViews", 1),
    ("pivotCaches", 1),
    ("smartTagPr", 1),
    ("smartTagTypes", 1),
    ("webPublishing", 1),
    ("fileRecoveryPr", None),
    ("webPublishObjects", 1),
    ("extLst", 1),
]
STYLESHEET = [
    ("numFmts", 1),
    ("fonts", 1),
    ("fills", 1),
    ("borders", 1),
    ("cellStyleXfs", 1),
    ("cellXfs", 1),
    ("cellStyles", 1),
    ("dxfs", 1),
    ("tableStyles", 1),
    ("colors", 1),
    ("extLst", 1),
]
ROW = [("c", None), ("extLst", 1)]
CELL = [("f", 1), ("v", 1), ("is", 1), ("extLst", 1)]
SHEET_VIEW = [("pane", 1), ("selection", 4), ("pivotSelection", 4), ("extLst", 1)]
SHEET_PR = [("tabColor", 1), ("outlinePr", 1), ("pageSetUpPr", 1)]
XF = [("alignment", 1), ("protection", 1), ("extLst", 1)]
CELL_TYPES = {"b", "d", "e", "inlineStr", "n", "s", "str"}
PANES = {"bottomRight", "topRight", "bottomLeft", "topLeft"}
MAX_BUILTIN_FORMAT = 163
_REF = re.compile(r"^([A-Z]{1,3})([0-9]+)$")
_RANGE = re.compile(r"^\$?([A-Z]{1,3})\$?([0-9]+)(?::\$?([A-Z]{1,3})\$?([0-9]+))?$")


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def ns(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def column_number(letters: str) -> int:
    number = 0
    for char in letters:
        number = number * 26 + ord(char) - 64
    return number


def check_order(element: ET.Element, schema: list[tuple[str, int | None]], where: str) -> list[str]:
    """Children in the schema's order, each no more often than allowed."""
    problems = []
    order = {name: i for i, (name, _) in enumerate(schema)}
    limits = dict(schema)
    counts: dict[str, int] = {}
    last = -1
    for child in element:
        if ns(child.tag) == MC:  # mc:AlternateContent may appear anywhere Excel puts it
            continue
        name = local(child.tag)
        if ns(child.tag) != MAIN or name not in order:
            problems.append(f"{where}: unexpected <{name}> in <{local(element.tag)}>")
            continue
        if order[name] < last:
            problems.append(f"{where}: <{name}> is out of schema order in <{local(element.tag)}>")
        last = max(last, order[name])
        counts[name] = counts.get(name, 0) + 1
        limit = limits[name]
        if limit is not None and counts[name] > limit:
            problems.append(f"{where}: <{name}> appears {counts[name]} times (at most {limit})")
    return problems


def resolve(source: str, target: str) -> str:
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def check_package(workbook: Path | bytes) -> list[str]:
    data = workbook.read_bytes() if isinstance(workbook, Path) else workbook
    with zipfile.ZipFile(BytesIO(data)) as archive:
        bad = archive.testzip()
        if bad is not None:
            return [f"zip member {bad} fails its CRC check"]
        return _check_parts(archive)


def _check_parts(archive: zipfile.ZipFile) -> list[str]:
    problems: list[str] = []
    names = [i.filename for i in archive.infolist()]
    lower = {n.lower(): n for n in names}
    if len(lower) != len(names):
        problems.append("the zip holds a part name twice")

    def read(name: str) -> ET.Element:
        return ET.fromstring(archive.read(lower[name.lower()]))

    problems += _check_content_types(read("[Content_Types].xml"), names, lower)
    relationships = _relationships(names, lower, read, problems)
    root_rels = relationships.get("", {})
    workbook_part = next(
        (p for t, p in root_rels.values() if t.endswith("/officeDocument")), "xl/workbook.xml"
    )
    book = read(workbook_part)
    problems += check_order(book, WORKBOOK, workbook_part)
    book_rels = relationships.get(workbook_part.lower(), {})
    sheet_names, sheet_parts = _check_sheets(book, book_rels, problems)
    problems += _check_defined_names(book, len(sheet_names))

    style_rel = next((p for t, p in book_rels.values() if t.endswith("/styles")), None)
    xf_count = 1
    if style_rel is not None:
        styles = read(style_rel)
        problems += check_order(styles, STYLESHEET, style_rel)
        problems += _check_styles(styles, style_rel)
        xfs = styles.find(f"{{{MAIN}}}cellXfs")
        xf_count = len(xfs) if xfs is not None else 0
    strings_rel = next((p for t, p in book_rels.values() if t.endswith("/sharedStrings")), None)
    string_count = len(read(strings_rel)) if strings_rel else 0

    for name, part in sheet_parts:
        problems += check_worksheet(read(part), f"{name} ({part})", xf_count, string_count)
    return problems


def _check_content_types(types: ET.Element, names: list[str], lower: dict[str, str]) -> list[str]:
    problems = []
    defaults = {
        e.get("Extension", "").lower(): e.get("ContentType")
        for e in types
        if local(e.tag) == "Default"
    }
    overrides = {
        e.get("PartName", "").lstrip("/").lower(): e.get("ContentType")
        for e in types
        if local(e.tag) == "Override"
    }
    for part in overrides:
        if part not in lower:
            problems.append(f"[Content_Types].xml overrides {part}, which does not exist")
    for name in names:
        if name == "[Content_Types].xml" or name.endswith("/"):
            continue
        extension = name.rsplit("/", 1)[-1].rsplit(".", 1)[-1].lower()
        if name.lower() not in overrides and extension not in defaults:
            problems.append(f"{name} has no content type")
    return problems


def _relationships(
    names: list[str],
    lower: dict[str, str],
    read: Callable[[str], ET.Element],
    problems: list[str],
) -> dict[str, dict[str, tuple[str, str]]]:
    """Each source part's relationships (id -> type, target part), problems appended."""
    relationships: dict[str, dict[str, tuple[str, str]]] = {}
    for name in names:
        if not name.endswith(".rels"):
            continue
        folder = posixpath.dirname(posixpath.dirname(name))
        source = posixpath.join(folder, posixpath.basename(name)[: -len(".rels")])
        rels: dict[str, tuple[str, str]] = {}
        for rel in read(name):
            rel_id = rel.get("Id", "")
            if rel_id in rels:
                problems.append(f"{name}: relationship id {rel_id} is used twice")
            target = rel.get("Target", "")
            if rel.get("TargetMode") != "External":
                part = resolve(source, target)
                if part.lower() not in lower:
                    problems.append(f"{name}: {rel_id} points at {part}, which does not exist")
                rels[rel_id] = (rel.get("Type", ""), part)
            else:
                rels[rel_id] = (rel.get("Type", ""), "")
        relationships[source.lower()] = rels
    return relationships


def _check_sheets(
    book: ET.Element, book_rels: dict[str, tuple[str, str]], problems: list[str]
) -> tuple[list[str], list[tuple[str, str]]]:
    """The sheet names and (name, worksheet part) pairs, problems appended."""
    sheets = book.find(f"{{{MAIN}}}sheets")
    sheet_names: list[str] = []
    sheet_parts: list[tuple[str, str]] = []
    seen_ids: set[str] = set()
    for sheet in sheets if sheets is not None else ():
        name = sheet.get("name", "")
        if not 1 <= len(name) <= 31 or re.search(r"[\[\]:*?/\\]", name):
            problems.append(f"sheet name {name!r} is not allowed in Excel")
        if name.casefold() in (n.casefold() for n in sheet_names):
            problems.append(f"sheet name {name!r} is used twice")
        sheet_names.append(name)
        sheet_id = sheet.get("sheetId", "")
        if sheet_id in seen_ids:
            problems.append(f"sheetId {sheet_id} is used twice")
        seen_ids.add(sheet_id)
        rel = book_rels.get(sheet.get(f"{{{REL}}}id", ""))
        if rel is None:
            problems.append(f"sheet {name!r} has no relationship")
            continue
        if rel[0].endswith("/worksheet"):
            sheet_parts.append((name, rel[1]))
    return sheet_names, sheet_parts


def _check_defined_names(book: ET.Element, sheet_count: int) -> list[str]:
    problems = []
    names_seen: set[tuple[str, str]] = set()
    defined = book.find(f"{{{MAIN}}}definedNames")
    for item in defined if defined is not None else ():
        key = (item.get("name", "").casefold(), item.get("localSheetId", ""))
        if key in names_seen:
            problems.append(f"defined name {key} is defined twice")
        names_seen.add(key)
        scope = item.get("localSheetId")
        if scope is not None and not (scope.isdigit() and int(scope) < sheet_count):
            problems.append(f"defined name {key} has localSheetId {scope} out of range")
    return problems


def _check_styles(styles: ET.Element, where: str) -> list[str]:
    problems = []
    sizes = {}
    for name in ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs"):
        element = styles.find(f"{{{MAIN}}}{name}")
        size = len(element) if element is not None else 0
        sizes[name] = size
        if element is not None and element.get("count") not in (None, str(size)):
            problems.append(f"{where}: <{name}> count={element.get('count')} but has {size}")
    formats = styles.find(f"{{{MAIN}}}numFmts")
    custom = {int(f.get("numFmtId", "-1")) for f in formats} if formats is not None else set()
    xfs = styles.find(f"{{{MAIN}}}cellXfs")
    for index, xf in enumerate(xfs if xfs is not None else ()):
        problems += check_order(xf, XF, f"{where} cellXfs[{index}]")
        for attribute, container in (
            ("fontId", "fonts"),
            ("fillId", "fills"),
            ("borderId", "borders"),
            ("xfId", "cellStyleXfs"),
        ):
            value = int(xf.get(attribute, "0"))
            if value >= max(sizes[container], 1):
                problems.append(f"{where} cellXfs[{index}]: {attribute}={value} out of range")
        number_format = int(xf.get("numFmtId", "0"))
        if number_format > MAX_BUILTIN_FORMAT and number_format not in custom:
            problems.append(f"{where} cellXfs[{index}]: numFmtId {number_format} is not defined")
    return problems


def check_worksheet(sheet: ET.Element, where: str, xf_count: int, string_count: int) -> list[str]:
    problems = check_order(sheet, WORKSHEET, where)
    problems += _check_views_and_columns(sheet, where)
    data = sheet.find(f"{{{MAIN}}}sheetData")
    if data is None:
        return [*problems, f"{where}: no sheetData"]
    previous_row = 0
    max_row = max_column = 0
    for row in data:
        if local(row.tag) != "row":
            problems.append(f"{where}: <{local(row.tag)}> in sheetData")
            continue
        number = int(row.get("r", previous_row + 1))
        if number <= previous_row:
            problems.append(f"{where}: row {number} is out of order")
        previous_row = number
        problems += check_order(row, ROW, f"{where} row {number}")
        if row.get("customHeight") in ("1", "true") and row.get("ht") is None:
            problems.append(f"{where}: row {number} has customHeight but no ht")
        last_column = _check_row_cells(row, number, where, xf_count, string_count, problems)
        if last_column:
            max_row, max_column = max(max_row, number), max(max_column, last_column)
    problems += _check_extent(sheet, where, max_row, max_column)
    return problems


def _check_views_and_columns(sheet: ET.Element, where: str) -> list[str]:
    problems = []
    properties = sheet.find(f"{{{MAIN}}}sheetPr")
    if properties is not None:
        problems += check_order(properties, SHEET_PR, f"{where} sheetPr")
    for view in sheet.iter(f"{{{MAIN}}}sheetView"):
        problems += check_order(view, SHEET_VIEW, f"{where} sheetView")
        for pane in view.iter(f"{{{MAIN}}}pane"):
            if pane.get("activePane", "topLeft") not in PANES or pane.get("state", "split") not in {
                "split",
                "frozen",
                "frozenSplit",
            }:
                problems.append(f"{where}: a pane has an invalid activePane or state")
    columns_seen = 0
    for col in sheet.iter(f"{{{MAIN}}}col"):
        low, high = int(col.get("min", "0")), int(col.get("max", "0"))
        if not 1 <= low <= high <= 16384 or low <= columns_seen:
            problems.append(f"{where}: <col min={low} max={high}> overlaps or is out of order")
        columns_seen = high
    return problems


def _check_row_cells(
    row: ET.Element,
    number: int,
    where: str,
    xf_count: int,
    string_count: int,
    problems: list[str],
) -> int:
    """The row's last column (0 when it has no cells), problems appended."""
    previous_column = 0
    for cell in row.iter(f"{{{MAIN}}}c"):
        ref = cell.get("r")
        match = _REF.match(ref or "")
        if match is None:
            column = previous_column + 1
        else:
            column = column_number(match.group(1))
            if int(match.group(2)) != number:
                problems.append(f"{where}: cell {ref} is in row {number}")
        if column <= previous_column:
            problems.append(f"{where}: cell {ref} is out of column order")
        previous_column = column
        problems += check_order(cell, CELL, f"{where} {ref}")
        style = int(cell.get("s", "0"))
        if style >= max(xf_count, 1):
            problems.append(f"{where} {ref}: style {style} is not in cellXfs ({xf_count})")
        problems += _check_cell_value(cell, f"{where} {ref}", string_count)
    return previous_column


def _check_cell_value(cell: ET.Element, where: str, string_count: int) -> list[str]:
    problems = []
    kind = cell.get("t", "n")
    if kind not in CELL_TYPES:
        problems.append(f"{where}: t={kind!r} is not a cell type")
    value = cell.find(f"{{{MAIN}}}v")
    inline = cell.find(f"{{{MAIN}}}is")
    if kind == "inlineStr":
        if value is not None:
            problems.append(f"{where}: an inline string has a <v>")
        elif inline is not None:
            text = "".join(t.text or "" for t in inline.iter(f"{{{MAIN}}}t"))
            if len(text.encode("utf-16-le")) // 2 > 32767:
                problems.append(f"{where}: more than 32,767 characters")
    elif inline is not None:
        problems.append(f"{where}: <is> in a cell of type {kind}")
    if kind == "s":
        if value is None or not (value.text or "").isdigit():
            problems.append(f"{where}: a shared string cell without an index")
        elif int(value.text or "0") >= string_count:
            problems.append(f"{where}: shared string {value.text} does not exist")
    if kind == "n" and value is not None and value.text:
        try:
            float(value.text)
        except ValueError:
            problems.append(f"{where}: {value.text!r} is not a number")
    if kind == "b" and value is not None and value.text not in ("0", "1"):
        problems.append(f"{where}: a boolean must be 0 or 1")
    return problems


def _check_extent(sheet: ET.Element, where: str, max_row: int, max_column: int) -> list[str]:
    """The dimension covers every cell; autoFilter and pageSetup are well formed."""
    problems = []
    dimension = sheet.find(f"{{{MAIN}}}dimension")
    if dimension is not None and max_row:
        match = _RANGE.match(dimension.get("ref", ""))
        if match is None:
            problems.append(f"{where}: dimension {dimension.get('ref')!r} is not a range")
        else:
            last_column = column_number(match.group(3) or match.group(1))
            last_row = int(match.group(4) or match.group(2))
            if last_column < max_column or last_row < max_row:
                problems.append(f"{where}: dimension {dimension.get('ref')} misses cells")
    auto = sheet.find(f"{{{MAIN}}}autoFilter")
    if auto is not None and not _RANGE.match(auto.get("ref", "")):
        problems.append(f"{where}: autoFilter ref {auto.get('ref')!r} is not a range")
    setup = sheet.find(f"{{{MAIN}}}pageSetup")
    if setup is not None and setup.get("orientation", "default") not in {
        "default",
        "portrait",
        "landscape",
    }:
        problems.append(f"{where}: pageSetup orientation is invalid")
    return problems
