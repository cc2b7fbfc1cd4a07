"""What an .xlsx/.xlsm file is made of: its zip members, relationships and sheets.

Both the fast reader and the byte-preserving writer need to know which zip member holds
which sheet, and the writer must refuse anything it does not understand rather than guess.
This module only reads; it never changes a byte. Parts are found the way Excel finds them
(through _rels/.rels, the workbook's relationships and [Content_Types].xml), not by
assuming the usual file names.
"""

from __future__ import annotations

import html
import os
import posixpath
import re
import stat
import zipfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from xml.etree import ElementTree as ET

from workbook.errors import WorkbookError
from workbook.xlsx.rawzip import ZIP_ERRORS, MemberError, inflate_member

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_MAIN_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_REL_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
OFFICE_DOCUMENT = _REL_TYPE + "officeDocument"
WORKSHEET = _REL_TYPE + "worksheet"
CHARTSHEET = _REL_TYPE + "chartsheet"
DIALOGSHEET = _REL_TYPE + "dialogsheet"
STYLES = _REL_TYPE + "styles"
SHARED_STRINGS = _REL_TYPE + "sharedStrings"
CALC_CHAIN = _REL_TYPE + "calcChain"
PRINTER_SETTINGS = _REL_TYPE + "printerSettings"
DRAWING = _REL_TYPE + "drawing"
MACROSHEET_TYPES = (
    "http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet",
    "http://schemas.microsoft.com/office/2006/relationships/xlIntlMacrosheet",
)
WORKSHEET_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
STYLES_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
WORKBOOK_CONTENT_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": ".xlsx",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": ".xlsm",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": ".xltx",
    "application/vnd.ms-excel.template.macroEnabled.main+xml": ".xltm",
}
# A shared workbook is a few megabytes (10,000 licenses: 0.6 MB, its largest part 8 MB of
# XML). What one run may unpack is bounded while it is unpacked (workbook.xlsx.rawzip),
# so a zip bomb is refused in milliseconds instead of filling memory.
MAX_FILE_BYTES = 512 * 1024**2  # the .xlsx file itself
MAX_PART_BYTES = 256 * 1024**2  # one part (a sheet's XML, the shared strings), unpacked
MAX_READ_BYTES = 1024**3  # every part one run unpacks, together
DAMAGED_FIX = (
    "Open the workbook in Excel and save it again (Excel repairs what it can), or use an"
    " earlier copy of the file."
)


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _unreadable(path: Path, exc: OSError) -> WorkbookError:
    if isinstance(exc, PermissionError):
        return WorkbookError(
            f"{path}: permission denied.",
            fix="Check that you may read the file (and that no one has it locked).",
        )
    return WorkbookError(f"{path}: cannot be read ({exc.strerror}).")


def damaged(path: Path | str, detail: str) -> WorkbookError:
    """The one message for a package a reader cannot take apart."""
    return WorkbookError(f"{path}: the file is damaged: {detail}.", fix=DAMAGED_FIX)


def check_workbook_file(path: Path) -> None:
    """Refuse, with a reason, anything that is not a readable .xlsx/.xlsm file."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise WorkbookError(f"{path}: no such file.", fix="Check the workbook's path.") from None
    except OSError as exc:
        raise WorkbookError(f"{path}: cannot be read ({exc.strerror}).") from None
    if stat.S_ISDIR(info.st_mode):
        raise WorkbookError(
            f"{path}: is a folder, not a workbook.",
            fix="Give the path of the .xlsx workbook file (in that folder, say).",
        )
    if not stat.S_ISREG(info.st_mode):  # a pipe would block, a device never end
        raise WorkbookError(
            f"{path}: is not a file (a device, pipe or socket).",
            fix="Give the path of the workbook file itself.",
        )
    if info.st_size > MAX_FILE_BYTES:
        raise WorkbookError(
            f"{path}: is {info.st_size:,} bytes; a workbook hmis-licensing reads is at most"
            f" {MAX_FILE_BYTES:,} bytes.",
            fix="Check that this is the shared workbook; remove pictures or old sheets from it.",
        )
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    if head.startswith(_OLE_MAGIC):
        raise WorkbookError(
            f"{path}: is password-protected or an old .xls workbook.",
            fix="Open it in Excel, remove the password (File > Info > Protect Workbook)"
            " and save it as an Excel Workbook (.xlsx).",
        )
    if not zipfile.is_zipfile(path):
        if head.startswith(b"PK"):
            raise damaged(path, "its list of parts (the zip directory) is missing or cut short")
        raise WorkbookError(
            f"{path}: is not an Excel workbook (.xlsx).",
            fix="Save it from Excel as Excel Workbook (.xlsx).",
        )


@dataclass(frozen=True, slots=True)
class Relationship:
    rel_id: str
    rel_type: str
    target: str
    external: bool
    part: str | None  # the zip member it points to (None when external)


@dataclass(frozen=True, slots=True)
class SheetEntry:
    """One <sheet> of xl/workbook.xml and the part that holds it."""

    index: int  # position in the workbook (localSheetId of defined names)
    name: str
    sheet_id: int
    rel_id: str
    kind: str  # worksheet, chartsheet, dialogsheet, macrosheet or unknown
    part: str | None


@dataclass
class XlsxPackage:
    """A workbook file held in memory, with its structure parsed (read-only)."""

    path: Path
    data: bytes
    infos: list[zipfile.ZipInfo]
    members: dict[str, zipfile.ZipInfo]  # lower-cased name -> info
    overrides: dict[str, str]  # lower-cased part name -> content type
    defaults: dict[str, str]  # lower-cased extension -> content type
    workbook_part: str
    workbook_content_type: str
    sheets: list[SheetEntry] = field(default_factory=list)
    workbook_rels: list[Relationship] = field(default_factory=list)
    date1904: bool = False
    unpacked: int = 0  # bytes unpacked so far, against MAX_READ_BYTES
    _cache: dict[str, bytes] = field(default_factory=dict)

    # --------------------------------------------------------------------- parts

    def has(self, part: str) -> bool:
        return part.lower() in self.members

    def info(self, part: str) -> zipfile.ZipInfo:
        return self.members[part.lower()]

    def read(self, part: str) -> bytes:
        """An XML part, unpacked within its budget and refused if it declares a DOCTYPE
        (which no workbook does: entities are how XML bombs multiply)."""
        key = part.lower()
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        info = self.info(part)
        room = min(MAX_PART_BYTES, MAX_READ_BYTES - self.unpacked)
        try:
            data = inflate_member(self.data, info, room)
        except MemberError as exc:
            if exc.bomb:
                raise WorkbookError(
                    f"{self.path}: the part {info.filename} is refused: {exc.detail}. A"
                    " workbook's parts are at most a few megabytes; this file is a zip"
                    " bomb or is damaged.",
                    fix="Do not open it; ask for the workbook again, or use an earlier copy.",
                ) from None
            raise damaged(self.path, f"the part {info.filename}: {exc.detail}") from None
        self.unpacked += len(data)
        refuse_doctype(data, f"{self.path}: {info.filename}")
        if len(data) < 1 << 20:  # the small bookkeeping parts are read more than once
            self._cache[key] = data
        return data

    def read_head(self, part: str, size: int) -> bytes:
        """The first bytes of a part, without unpacking the rest of it."""
        try:
            return inflate_member(self.data, self.info(part), size, head=size)
        except (MemberError, KeyError):
            return b""

    def content_type(self, part: str) -> str | None:
        found = self.overrides.get("/" + part.lower())
        if found is not None:
            return found
        extension = posixpath.splitext(part)[1].lstrip(".").lower()
        return self.defaults.get(extension)

    def rels_part(self, part: str) -> str:
        folder, name = posixpath.split(part)
        return posixpath.join(folder, "_rels", name + ".rels")

    def relationships(self, part: str) -> list[Relationship]:
        """The relationships of `part` (empty when it has none)."""
        rels = self.rels_part(part)
        if not self.has(rels):
            return []
        return parse_relationships(self.read(rels), part, f"{self.path}: {rels}")

    def relationship(self, rel_type: str) -> Relationship | None:
        return next((r for r in self.workbook_rels if r.rel_type == rel_type), None)

    @property
    def styles_part(self) -> str | None:
        rel = self.relationship(STYLES)
        return rel.part if rel and rel.part and self.has(rel.part) else None

    @property
    def shared_strings_part(self) -> str | None:
        rel = self.relationship(SHARED_STRINGS)
        return rel.part if rel and rel.part and self.has(rel.part) else None

    def sheet(self, name: str) -> SheetEntry | None:
        return next((s for s in self.sheets if s.name == name), None)

    def close(self) -> None:
        """Nothing stays open (the file is held in memory); kept for the callers' symmetry."""
        self._cache.clear()


def utf8_text(data: bytes, where: str) -> str:
    """An XML part's text; parts are UTF-8 (a byte-order mark allowed)."""
    try:
        return data.decode("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8")
    except UnicodeDecodeError:
        raise WorkbookError(
            f"{where}: is not UTF-8.", fix="Open the workbook in Excel and save it again."
        ) from None


def read_shared_strings(package: XlsxPackage) -> list[str]:
    """The workbook's shared strings as plain text (rich-text runs joined, phonetic
    guides left out), for the few cells a writer must read back."""
    part = package.shared_strings_part
    if part is None:
        return []
    root = parse_xml(package.read(part), f"{package.path}: {part}")
    text_tag, phonetic_tag = f"{{{MAIN_NS}}}t", f"{{{MAIN_NS}}}rPh"
    strings = []
    for item in root:
        pieces = []
        for child in item:
            if child.tag == text_tag:
                pieces.append(child.text or "")
            elif child.tag != phonetic_tag:
                pieces += [t.text or "" for t in child.iter(text_tag)]
        strings.append("".join(pieces))
    return strings


def resolve_target(source_part: str, target: str) -> str:
    """A relationship target as a zip member name (relative to its source part's folder)."""
    if target.startswith("/"):
        resolved = target.lstrip("/")
    else:
        resolved = posixpath.join(posixpath.dirname(source_part), target)
    return posixpath.normpath(resolved).lstrip("/")


def parse_relationships(data: bytes, source_part: str, where: str) -> list[Relationship]:
    root = parse_xml(data, where)
    rels = []
    for element in root:
        if local_name(element.tag) != "Relationship":
            continue
        target = element.get("Target", "")
        external = element.get("TargetMode", "Internal") == "External"
        rels.append(
            Relationship(
                rel_id=element.get("Id", ""),
                rel_type=element.get("Type", ""),
                target=target,
                external=external,
                part=None if external else resolve_target(source_part, target),
            )
        )
    return rels


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def refuse_doctype(data: bytes, where: str) -> None:
    """A DOCTYPE or entity declaration anywhere in a part, refused before any parser sees it.

    Both start with "<!": a part without a "!" (most sheets) is cleared by one memchr."""
    if b"!" in data and (b"<!DOCTYPE" in data or b"<!ENTITY" in data):
        raise WorkbookError(
            f"{where}: declares a DOCTYPE or entities, which a workbook never does.",
            fix=DAMAGED_FIX,
        )


def parse_xml(data: bytes, where: str) -> ET.Element:
    """Parse XML that must be well formed; a clear refusal when it is not."""
    refuse_doctype(data, where)
    try:
        return ET.fromstring(data)
    except (ET.ParseError, ValueError, LookupError) as exc:  # LookupError: unknown encoding
        raise WorkbookError(
            f"{where}: the file is damaged: this part is not well-formed XML ({exc}).",
            fix=DAMAGED_FIX,
        ) from None


def _not_understood(path: Path, what: str) -> WorkbookError:
    return WorkbookError(
        f"{path}: {what}",
        fix="Open it in Excel and save it again as Excel Workbook (.xlsx).",
    )


def open_package(path: Path, data: bytes | None = None) -> XlsxPackage:
    """Parse the structure of a workbook file; WorkbookError when it is not one we know."""
    if data is None:
        data = _file_bytes(path)
    infos = _zip_directory(path, data)
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        key = info.filename.lower()
        if key in members:
            raise _not_understood(path, f"the zip holds {info.filename} twice.")
        if info.flag_bits & 0x1:
            raise WorkbookError(
                f"{path}: is encrypted (password-protected).",
                fix="Open it in Excel, remove the password (File > Info > Protect Workbook)"
                " and save it again.",
            )
        members[key] = info
    package = XlsxPackage(
        path=path,
        data=data,
        infos=infos,
        members=members,
        overrides={},
        defaults={},
        workbook_part="",
        workbook_content_type="",
    )
    _read_content_types(package)
    _find_workbook_part(package)
    _read_workbook(package)
    return package


def _file_bytes(path: Path) -> bytes:
    """The file, read whole: at most MAX_FILE_BYTES, and only from a regular file."""
    check_workbook_file(path)
    try:
        with path.open("rb") as handle:
            size = min(os.fstat(handle.fileno()).st_size, MAX_FILE_BYTES)
            data = handle.read(size + 1)  # never a buffer larger than the file
    except OSError as exc:
        raise _unreadable(path, exc) from None
    if len(data) > MAX_FILE_BYTES:
        raise WorkbookError(f"{path}: is larger than {MAX_FILE_BYTES:,} bytes.")
    return data


def _zip_directory(path: Path, data: bytes) -> list[zipfile.ZipInfo]:
    """The zip's list of members (only the directory is read here, nothing unpacked)."""
    if not data.startswith(b"PK"):
        raise _not_understood(path, "is not an Excel workbook (.xlsx).")
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            return archive.infolist()
    except ZIP_ERRORS as exc:
        raise damaged(path, f"its list of parts cannot be read ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _read_content_types(package: XlsxPackage) -> None:
    path = package.path
    if not package.has("[Content_Types].xml"):
        raise _not_understood(path, "has no [Content_Types].xml, so it is not an Excel workbook.")
    types = parse_xml(package.read("[Content_Types].xml"), f"{path}: [Content_Types].xml")
    for element in types:
        name = local_name(element.tag)
        if name == "Default":
            package.defaults[element.get("Extension", "").lower()] = element.get("ContentType", "")
        elif name == "Override":
            package.overrides[element.get("PartName", "").lower()] = element.get("ContentType", "")


def _find_workbook_part(package: XlsxPackage) -> None:
    path = package.path
    if not package.has("_rels/.rels"):
        raise _not_understood(path, "has no _rels/.rels, so it is not an Excel workbook.")
    root_rels = parse_relationships(package.read("_rels/.rels"), "", f"{path}: _rels/.rels")
    office = next((r for r in root_rels if r.rel_type == OFFICE_DOCUMENT and r.part), None)
    if office is None or office.part is None or not package.has(office.part):
        raise _not_understood(path, "has no workbook part; it may be a different Office file.")
    package.workbook_part = package.info(office.part).filename
    content_type = package.content_type(package.workbook_part) or ""
    if content_type not in WORKBOOK_CONTENT_TYPES:
        raise _not_understood(
            path, f"is not an Excel workbook (its main part is {content_type or 'untyped'})."
        )
    package.workbook_content_type = content_type


def _read_workbook(package: XlsxPackage) -> None:
    where = f"{package.path}: {package.workbook_part}"
    root = parse_xml(package.read(package.workbook_part), where)
    if namespace(root.tag) == STRICT_MAIN_NS:
        raise WorkbookError(
            f"{package.path}: is saved as Strict Open XML Spreadsheet.",
            fix="Open it in Excel and save it as Excel Workbook (.xlsx).",
        )
    if namespace(root.tag) != MAIN_NS or local_name(root.tag) != "workbook":
        raise _not_understood(package.path, f"{package.workbook_part} is not a workbook.")
    package.workbook_rels = package.relationships(package.workbook_part)
    by_id = {r.rel_id: r for r in package.workbook_rels}
    properties = root.find(f"{{{MAIN_NS}}}workbookPr")
    package.date1904 = properties is not None and properties.get("date1904", "0") in (
        "1",
        "true",
    )
    sheets = root.find(f"{{{MAIN_NS}}}sheets")
    for index, element in enumerate(sheets if sheets is not None else ()):
        rel_id = element.get(f"{{{REL_NS}}}id", "")
        rel = by_id.get(rel_id)
        kind = "unknown"
        part = None
        if rel is not None and rel.part is not None and package.has(rel.part):
            part = package.info(rel.part).filename
            if rel.rel_type == WORKSHEET:
                kind = "worksheet"
            elif rel.rel_type == CHARTSHEET:
                kind = "chartsheet"
            elif rel.rel_type == DIALOGSHEET:
                kind = "dialogsheet"
            elif rel.rel_type in MACROSHEET_TYPES:
                kind = "macrosheet"
        try:
            sheet_id = int(element.get("sheetId", ""))
        except ValueError:
            raise _not_understood(
                package.path, f"sheet {element.get('name')!r} has no valid sheetId."
            ) from None
        name = element.get("name", "")
        if rel is None:
            rels = package.rels_part(package.workbook_part)
            held = "does not have it" if package.has(rels) else "is missing"
            raise damaged(
                package.path,
                f'the sheet "{name}" names the relationship {rel_id or "(none)"},'
                f" and {rels} {held}",
            )
        if part is None and rel.part is not None:
            raise damaged(package.path, f'the sheet "{name}" has no part ({rel.part} is missing)')
        package.sheets.append(SheetEntry(index, name, sheet_id, rel_id, kind, part))
    _check_sheets_apart(package)


def _check_sheets_apart(package: XlsxPackage) -> None:
    """Excel never gives two sheets one name (in any case) or one part: a reader would
    take one for the other, and a writer would put a result sheet where another is."""
    names: dict[str, str] = {}
    parts: dict[str, str] = {}
    for entry in package.sheets:
        other = names.setdefault(entry.name.casefold(), entry.name)
        if other is not entry.name:
            raise damaged(package.path, f'two sheets are named "{other}" and "{entry.name}"')
        if entry.part is not None:
            first = parts.setdefault(entry.part.lower(), entry.name)
            if first != entry.name:
                raise damaged(
                    package.path,
                    f'the sheets "{first}" and "{entry.name}" are stored in one part'
                    f" ({entry.part})",
                )


def xml_prefix(data: bytes | str, local: str) -> str:
    """The prefix (with colon) a document uses for an element, e.g. '' or 'x:'."""
    text = data if isinstance(data, str) else data[:4096].decode("utf-8", "replace")
    match = re.search(rf"<([A-Za-z_][\w.-]*:)?{local}\b", text)
    return match.group(1) or "" if match else ""


# ----------------------------------------------------------- editing XML as text
#
# Bookkeeping parts (workbook.xml, its relationships, [Content_Types].xml, styles.xml)
# are changed by inserting or replacing text at a few places found by their tags, never
# by parsing and re-serialising: a parser round trip would drop namespace declarations
# that Excel needs (mc:Ignorable names prefixes that no element uses).

ATTRIBUTE = re.compile(r"""([A-Za-z_][\w.:-]*)\s*=\s*("[^"]*"|'[^']*')""")


def locate_element(
    text: str, name: str, prefix: str, start: int = 0
) -> tuple[int, int, int] | None:
    """(start, end of the start tag, end) of the first <name> element; end == end of the
    start tag when the element is self-closing."""
    opening = re.search(rf"<{re.escape(prefix)}{name}\b[^>]*?(/?)>", text[start:])
    if opening is None:
        return None
    begin, tag_end = start + opening.start(), start + opening.end()
    if opening.group(1):
        return begin, tag_end, tag_end
    closing_tag = f"</{prefix}{name}>"
    closing = text.find(closing_tag, tag_end)
    if closing < 0:
        return None
    return begin, tag_end, closing + len(closing_tag)


def set_attribute(start_tag: str, name: str, value: str) -> str:
    """A start tag with attribute `name` set to `value` (already escaped)."""
    pattern = rf"""(\s){re.escape(name)}\s*=\s*("[^"]*"|'[^']*')"""
    if re.search(pattern, start_tag):
        return re.sub(pattern, lambda m: f'{m.group(1)}{name}="{value}"', start_tag, count=1)
    end = -2 if start_tag.endswith("/>") else -1
    return f'{start_tag[:end].rstrip()} {name}="{value}"{start_tag[end:]}'


def append_children(text: str, name: str, prefix: str, children: str) -> tuple[int, int, str]:
    """An edit that appends markup inside the first <name> element (which must exist)."""
    found = locate_element(text, name, prefix)
    if found is None:
        raise ValueError(f"no <{prefix}{name}> element")
    begin, tag_end, end = found
    if tag_end == end:  # self-closing
        start_tag = text[begin:tag_end]
        return begin, end, f"{start_tag[:-2].rstrip()}>{children}</{prefix}{name}>"
    closing = end - len(f"</{prefix}{name}>")
    return closing, closing, children


def apply_edits(text: str, edits: list[tuple[int, int, int, str]]) -> str:
    """Apply (start, order, end, replacement) edits from the end of the text backwards;
    insertions at the same place go in `order`."""
    for start, _order, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def attributes(start_tag: str) -> dict[str, str]:
    return {name: html.unescape(quoted[1:-1]) for name, quoted in ATTRIBUTE.findall(start_tag)}
