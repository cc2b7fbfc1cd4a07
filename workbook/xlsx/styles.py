"""Adding the result sheets' cell formats to xl/styles.xml without rewriting it.

Cells refer to formats by their position in styles.xml's cellXfs list, and every cell of
every other sheet already points into that list, so nothing may move: new fonts, fills,
number formats and cell formats are appended at the end, and a format added by an earlier
run is found again and reused (a workbook recalculated every day does not grow). The file
is edited as text at the few places that change, so that everything Excel wrote there
(namespaces, x14ac attributes, extension lists) stays exactly as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

from workbook.errors import WorkbookError
from workbook.presentation import HEADER_FILL
from workbook.xlsx.package import MAIN_NS, STRICT_MAIN_NS, local_name, namespace, parse_xml
from workbook.xlsx.sheetxml import CellStyle, escape_attr

HEADER_FILL_RGB = HEADER_FILL
# Number formats every copy of Excel knows by number (ECMA-376 Part 1 §18.8.30).
BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9}
BUILTIN_FORMATS["0.00%"] = 10
FIRST_CUSTOM_FORMAT = 164
# CT_Stylesheet's children, in the order the schema requires.
ORDER = (
    "numFmts",
    "fonts",
    "fills",
    "borders",
    "cellStyleXfs",
    "cellXfs",
    "cellStyles",
    "dxfs",
    "tableStyles",
    "colors",
    "extLst",
)
_DEFAULT_FONT = '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
_PLAIN_XF = '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
MINIMAL_STYLESHEET = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<styleSheet xmlns="{MAIN_NS}">'
    f'<fonts count="1">{_DEFAULT_FONT}</fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    "</cellStyleXfs>"
    f'<cellXfs count="1">{_PLAIN_XF}</cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
).encode()


def _canonical(element: ET.Element) -> tuple:
    """An element's identity for reuse: names, attributes and children, not spelling."""
    return (
        element.tag,
        tuple(sorted(element.attrib.items())),
        tuple(_canonical(child) for child in element),
    )


def _snippet_canonical(snippet: str) -> tuple:
    return _canonical(ET.fromstring(f'<w xmlns="{MAIN_NS}">{snippet}</w>')[0])


def _prefixed(snippet: str, prefix: str) -> str:
    """The same markup with every element name given the document's prefix."""
    if not prefix:
        return snippet
    return re.sub(r"<(/?)([A-Za-z])", rf"<\1{prefix}\2", snippet)


@dataclass
class _Container:
    name: str
    existing: list[ET.Element]
    added: list[str] = field(default_factory=list)  # unprefixed snippets
    canon: list[tuple] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.canon = [_canonical(e) for e in self.existing]

    def index_of(self, snippet: str) -> int:
        """The position of an equal entry, appending the snippet when there is none."""
        wanted = _snippet_canonical(snippet)
        if wanted in self.canon:
            return self.canon.index(wanted)
        self.canon.append(wanted)
        self.added.append(snippet)
        return len(self.canon) - 1

    def append(self, snippet: str) -> int:
        self.canon.append(_snippet_canonical(snippet))
        self.added.append(snippet)
        return len(self.canon) - 1

    def __len__(self) -> int:
        return len(self.canon)


def _style_sheet(source: bytes, where: str) -> tuple[str, ET.Element]:
    """The part's text and parsed root, refused with a fix unless it is a transitional
    SpreadsheetML style sheet in UTF-8."""
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError:
        raise WorkbookError(
            f"{where}: is not UTF-8.", fix="Open the workbook in Excel and save it again."
        ) from None
    root = parse_xml(source, where)
    if namespace(root.tag) == STRICT_MAIN_NS:
        raise WorkbookError(
            f"{where}: is Strict Open XML.",
            fix="Open it in Excel and save it as Excel Workbook (.xlsx).",
        )
    if root.tag != f"{{{MAIN_NS}}}styleSheet":
        raise WorkbookError(
            f"{where}: is not a SpreadsheetML style sheet.",
            fix="Open the workbook in Excel and save it again.",
        )
    return text, root


def add_cell_styles(
    xml: bytes | None, wanted: Iterable[CellStyle], where: str
) -> tuple[bytes | None, dict[CellStyle, int]]:
    """styles.xml with the wanted cell formats present, and each one's cellXfs index.

    Returns None for the bytes when nothing had to be added (the part stays as it was).
    """
    created = xml is None
    source = MINIMAL_STYLESHEET if xml is None else xml
    text, root = _style_sheet(source, where)
    children: dict[str, ET.Element] = {}
    for child in root:
        if namespace(child.tag) == MAIN_NS:
            children.setdefault(local_name(child.tag), child)
    containers = {
        name: _Container(name, list(children[name]) if name in children else [])
        for name in ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs")
    }

    fonts = containers["fonts"]
    fills = containers["fills"]
    borders = containers["borders"]
    style_xfs = containers["cellStyleXfs"]
    cell_xfs = containers["cellXfs"]
    if not len(fonts):
        fonts.append(_DEFAULT_FONT)
    while len(fills) < 2:  # Excel reserves fills 0 (none) and 1 (gray125)
        pattern = "none" if len(fills) == 0 else "gray125"
        fills.append(f'<fill><patternFill patternType="{pattern}"/></fill>')
    if not len(borders):
        borders.append("<border><left/><right/><top/><bottom/><diagonal/></border>")
    if not len(style_xfs):
        style_xfs.append('<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>')
    if not len(cell_xfs):
        cell_xfs.append(_PLAIN_XF)

    formats = _NumberFormats(containers["numFmts"])
    named = _NamedFonts(fonts)
    indexes: dict[CellStyle, int] = {}
    for style in dict.fromkeys(wanted):
        format_id = formats.id_of(style.number_format)
        font_id = named.index(bold=style.header or style.bold, size=style.size)
        fill_rgb = HEADER_FILL_RGB if style.header else style.fill
        fill_id = fills.index_of(_solid_fill(fill_rgb)) if fill_rgb else 0
        indexes[style] = cell_xfs.index_of(_xf(format_id, font_id, fill_id, style.wrap))

    if not any(c.added for c in containers.values()) and not created:
        return None, indexes
    prefix = _root_prefix(text)
    edits: list[tuple[int, int, int, str]] = []
    for order, name in enumerate(ORDER):
        container = containers.get(name)
        if container is None or not container.added:
            continue
        start, end, replacement = _edit(text, name, container, prefix, where)
        edits.append((start, order, end, replacement))
    # From the end backwards, so earlier offsets stay valid; two containers created at the
    # same place go in schema order.
    for start, _order, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    data = text.encode("utf-8")
    parse_xml(data, where)
    return data, indexes


class _NumberFormats:
    def __init__(self, container: _Container) -> None:
        self.container = container
        self.by_code: dict[str, int] = {}
        highest = FIRST_CUSTOM_FORMAT - 1
        for element in container.existing:
            try:
                number = int(element.get("numFmtId", ""))
            except ValueError:
                continue
            self.by_code.setdefault(element.get("formatCode", ""), number)
            highest = max(highest, number)
        self.next_id = highest + 1

    def id_of(self, code: str | None) -> int:
        if code is None:
            return 0
        if code in BUILTIN_FORMATS:
            return BUILTIN_FORMATS[code]
        if code not in self.by_code:
            self.by_code[code] = self.next_id
            self.container.append(
                f'<numFmt numFmtId="{self.next_id}" formatCode="{escape_attr(code)}"/>'
            )
            self.next_id += 1
        return self.by_code[code]


class _NamedFonts:
    """Fonts in the workbook's default face and size, always with a name.

    A font without a name renders in a serif face (LibreOffice, and Excel for some
    workbooks written by other programs), so none is ever added without one; the default
    font itself is reused for plain cells only when it is named.
    """

    def __init__(self, fonts: _Container) -> None:
        self.fonts = fonts
        base = fonts.existing[0] if fonts.existing else None
        self.name, self.size, self.family = "Calibri", "11", "2"
        self.base_named = False
        if base is not None:
            for child in base:
                name, value = local_name(child.tag), child.get("val")
                if value is None:
                    continue
                if name == "name":
                    self.name, self.base_named = value, True
                elif name == "sz":
                    self.size = value
                elif name == "family":
                    self.family = value
            self.base_named = self.base_named and not any(
                local_name(c.tag) in ("b", "i", "u", "strike") for c in base
            )

    def index(self, *, bold: bool, size: float | None) -> int:
        if not bold and size is None and self.base_named:
            return 0
        points = f"{size:g}" if size is not None else self.size
        snippet = (
            f'<font>{"<b/>" if bold else ""}<sz val="{escape_attr(points)}"/>'
            f'<name val="{escape_attr(self.name)}"/><family val="{escape_attr(self.family)}"/>'
            "</font>"
        )
        return self.fonts.index_of(snippet)


def _solid_fill(rgb: str) -> str:
    return (
        '<fill><patternFill patternType="solid">'
        f'<fgColor rgb="{escape_attr(rgb)}"/><bgColor indexed="64"/></patternFill></fill>'
    )


def _xf(format_id: int, font_id: int, fill_id: int, wrap: bool) -> str:
    applied = ""
    if format_id:
        applied += ' applyNumberFormat="1"'
    if font_id:
        applied += ' applyFont="1"'
    if fill_id:
        applied += ' applyFill="1"'
    wrapped = ' wrapText="1"' if wrap else ""
    alignment = f'<alignment vertical="top"{wrapped}/>'
    return (
        f'<xf numFmtId="{format_id}" fontId="{font_id}" fillId="{fill_id}" borderId="0"'
        f' xfId="0"{applied} applyAlignment="1">{alignment}</xf>'
    )


def _root_prefix(text: str) -> str:
    match = re.search(r"<([A-Za-z_][\w.-]*:)?styleSheet\b", text)
    return (match.group(1) or "") if match else ""


def _locate(text: str, name: str, prefix: str) -> tuple[int, int, int, bool] | None:
    """(start, end of start tag, end, self-closing) of a top-level container element."""
    opening = re.search(rf"<{re.escape(prefix)}{name}\b[^>]*?(/?)>", text)
    if opening is None:
        return None
    if opening.group(1):
        return opening.start(), opening.end(), opening.end(), True
    closing = text.find(f"</{prefix}{name}>", opening.end())
    if closing < 0:
        return None
    return opening.start(), opening.end(), closing + len(f"</{prefix}{name}>"), False


def _with_count(start_tag: str, count: int) -> str:
    if re.search(r"\bcount\s*=", start_tag):
        return re.sub(r"""\bcount\s*=\s*("[^"]*"|'[^']*')""", f'count="{count}"', start_tag)
    end = -2 if start_tag.endswith("/>") else -1
    return f'{start_tag[:end].rstrip()} count="{count}"{start_tag[end:]}'


def _edit(
    text: str, name: str, container: _Container, prefix: str, where: str
) -> tuple[int, int, str]:
    """One text edit that appends a container's new entries (creating it if needed)."""
    added = "".join(_prefixed(s, prefix) for s in container.added)
    count = len(container)
    found = _locate(text, name, prefix)
    if found is not None:
        start, tag_end, end, self_closing = found
        start_tag = _with_count(text[start:tag_end], count)
        if self_closing:
            open_tag = start_tag[:-2].rstrip() + ">"
            return start, end, f"{open_tag}{added}</{prefix}{name}>"
        closing = f"</{prefix}{name}>"
        return start, end, start_tag + text[tag_end : end - len(closing)] + added + closing
    # Missing: insert it after the last container that must come before it.
    position = None
    for earlier in reversed(ORDER[: ORDER.index(name)]):
        previous = _locate(text, earlier, prefix)
        if previous is not None:
            position = previous[2]
            break
    if position is None:
        root = re.search(rf"<{re.escape(prefix)}styleSheet\b[^>]*>", text)
        if root is None or root.group(0).endswith("/>"):
            raise WorkbookError(
                f"{where}: has an empty style sheet.",
                fix="Open the workbook in Excel and save it again.",
            )
        position = root.end()
    element = f'<{prefix}{name} count="{count}">{added}</{prefix}{name}>'
    return position, position, element
