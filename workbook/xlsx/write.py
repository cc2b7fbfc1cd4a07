"""The headless writer: replace the result sheets inside the zip, copy everything else.

`save_results(source, destination, tables, run_log)` has the same interface as the
openpyxl writer (tests/openpyxl_reference.py), which it replaces for `hmis-licensing recalc`. An
openpyxl load-and-save rewrites every part of the file and silently drops what openpyxl
does not model (text boxes, form controls, slicers, x14 data validations and conditional
formats, cached formula values), and takes 3 s for 10,000 licenses. Here:

* each result sheet's own part is written anew (replaced in place, keeping its position;
  a new one is added at the end); the appended sheets (Run Log, Findings History) get
  their new rows added and keep everything else byte for byte (workbook/xlsx/appended.py),
  continuing on "Run Log 2" once Excel's last row is reached;
* the few bookkeeping parts that must change are edited as text at the places that
  change: xl/workbook.xml (new sheets, print titles, recalculate-on-open),
  xl/_rels/workbook.xml.rels, [Content_Types].xml, and xl/styles.xml when the header and
  number formats are not there yet (calcChain.xml only if it lists a replaced sheet);
* every other zip member is copied byte for byte, compressed bytes included.

A workbook that cannot be written this way without losing something (a result sheet
that is a chart sheet, a chart or comments staff placed on a result sheet, a protected
structure, a result sheet stored in another sheet's part) is refused with a message that
says what to do; nothing is dropped silently.
The chart this writer puts on Allotments is its own (workbook/xlsx/chart.py) and is
replaced with the sheet. A sheet an Error held back keeps every byte but its title.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from workbook.errors import WorkbookError
from workbook.layout import (
    APPENDED_SHEETS,
    RUN_LOG,
    ResultSheet,
    continuation_name,
    continuation_number,
    header_key,
)
from workbook.presentation import (
    ColumnValues,
    SheetLook,
    column_values,
    footer,
    header_row,
    look,
    shown_title,
    titled,
)
from workbook.results import ResultTable, RunLogEntry
from workbook.tables import column_letter
from workbook.xlsx.appended import append_rows, log_floor
from workbook.xlsx.chart import (
    CHART_CONTENT_TYPE,
    CHART_REL,
    DRAWING_CONTENT_TYPE,
    ChartData,
    chart_title,
    chart_xml,
    drawing_xml,
    is_own_drawing,
    relationships_xml,
)
from workbook.xlsx.extent import MAX_ROWS
from workbook.xlsx.package import (
    CALC_CHAIN,
    DRAWING,
    MAIN_NS,
    PRINTER_SETTINGS,
    REL_NS,
    STYLES,
    STYLES_CONTENT_TYPE,
    WORKBOOK_CONTENT_TYPES,
    WORKSHEET,
    WORKSHEET_CONTENT_TYPE,
    Relationship,
    SheetEntry,
    XlsxPackage,
    append_children,
    apply_edits,
    attributes,
    check_workbook_file,
    local_name,
    locate_element,
    open_package,
    parse_relationships,
    parse_xml,
    read_shared_strings,
    set_attribute,
    utf8_text,
    xml_prefix,
)
from workbook.xlsx.rawzip import Copied, Deflated, Written, build_zip, deflate
from workbook.xlsx.safesave import atomic_write, check_can_write, workbook_lock
from workbook.xlsx.sheetxml import (
    HEADER_STYLE,
    TITLE_STYLE,
    CellStyle,
    column_style,
    escape_attr,
    escape_text,
    is_tab_selected,
    result_sheet_xml,
    retitle,
    sheet_styles,
)

# CT_Workbook's children in schema order (ECMA-376 Part 1 §18.2.27).
_WORKBOOK_ORDER = (
    "fileVersion",
    "fileSharing",
    "workbookPr",
    "workbookProtection",
    "bookViews",
    "sheets",
    "functionGroups",
    "externalReferences",
    "definedNames",
    "calcPr",
)
# Deflate level of the parts written anew. The generated sheet XML is repetitive, so level 1
# already shrinks it about elevenfold; level 3 saves a tenth more bytes at a third more
# time (10,000 licenses: 2.24 MB in 0.068 s against 2.02 MB in 0.092 s; 100,000: 0.25 s
# of the save). Any level inflates the same way in Excel, LibreOffice and every reader.
WRITTEN_PART_LEVEL = 1
_REPLACED_NAMES = ("_xlnm.print_titles", "_xlnm._filterdatabase", "_xlnm.print_area")
_WHAT_IT_HOLDS = {
    "drawing": "a chart, picture or shape",
    "vmlDrawing": "comments, notes or form controls",
    "comments": "comments or notes",
    "threadedComment": "threaded comments",
    "table": "an Excel table",
    "hyperlink": "hyperlinks",
    "pivotTable": "a pivot table",
    "oleObject": "an embedded object",
    "image": "a background picture",
    "ctrlProp": "form controls",
}


def save_results(
    source: Path,
    destination: Path,
    tables: Sequence[ResultTable],
    run_log: RunLogEntry,
) -> None:
    """Replace the result sheets (appending to Run Log) and save atomically."""
    check_workbook_file(source)
    check_can_write(destination)
    with workbook_lock(destination):
        package = open_package(source)
        try:
            check_copy_suffix(package, source, destination)
            data = WorkbookWriter(package, tables, run_log).build()
        finally:
            package.close()
        atomic_write(destination, data, replace_link=destination.absolute() != source.absolute())


def recalculated_bytes(source: Path, tables: Sequence[ResultTable], run_log: RunLogEntry) -> bytes:
    """The new workbook's bytes, without writing them anywhere (for tests and benchmarks)."""
    package = open_package(source)
    try:
        return WorkbookWriter(package, tables, run_log).build()
    finally:
        package.close()


def check_copy_suffix(package: XlsxPackage, source: Path, destination: Path) -> None:
    """A copy keeps the source's kind: Excel will not open a macro workbook saved as .xlsx
    (or the reverse)."""
    if source.resolve() == destination.resolve():
        return
    wanted = WORKBOOK_CONTENT_TYPES[package.workbook_content_type]
    if destination.suffix.lower() != wanted:
        raise WorkbookError(
            f"{destination}: a copy of {source.name} must end in {wanted}; Excel will not"
            f" open a {wanted} workbook under another extension.",
            fix=f"Choose an --output name ending in {wanted}.",
        )


@dataclass
class _Target:
    sheet: ResultSheet
    rows: Sequence[Sequence[object]]  # all of them; for an appended sheet, the new ones
    entry: SheetEntry | None  # the sheet it replaces (or extends), if the workbook has one
    appended: bool = False
    part: str = ""
    rel_id: str = ""
    sheet_id: int = 0
    index: int = 0
    title: str = ""  # this run's (a held-back sheet's is made from the title it has)
    held_back: str | None = None  # why an Error held it back: only its title changes
    as_of: dt.date | None = None  # this run's
    look: SheetLook | None = None
    # The rows as columns, made once for both the look and the cells (then let go).
    by_column: Sequence[ColumnValues] | None = None
    rewritten: bool = True  # False: the sheet was kept as it was (held back, untitled)
    floor: int | None = None  # an appended sheet's last row in use, once scanned
    old_xml: bytes | None = None  # the appended sheet's part, once read (it is large)


def _held_title(target: _Target, kept: str) -> str:
    """A held-back sheet's title, from the title it has (`retitle` reads it)."""
    return shown_title(target.title, target.held_back, kept=kept, as_of=target.as_of)


class WorkbookWriter:
    """Plans and builds the new zip; refuses before writing anything it cannot keep."""

    def __init__(
        self,
        package: XlsxPackage,
        tables: Sequence[ResultTable],
        run_log: RunLogEntry,
        *,
        input_patches: Mapping[str, Callable[[Mapping[CellStyle, int]], bytes]] | None = None,
    ) -> None:
        """`input_patches` maps an input sheet's part to a function that returns its new
        bytes given the style indexes this writer settled on: the one way a command other
        than recalc (import-activity) changes an input sheet inside the same atomic save."""
        self.package = package
        self.run_log = run_log
        self.input_patches = dict(input_patches or {})
        self.where = str(package.path)
        self.folder = posixpath.dirname(package.workbook_part)
        self.replaced: dict[str, bytes] = {}  # lower-cased part -> new bytes
        self.deleted: set[str] = set()  # lower-cased parts
        self.added: list[tuple[str, bytes]] = []
        self.overrides_added: list[tuple[str, str]] = []
        self.rels_added: list[tuple[str, str, str]] = []  # id, type, target
        self.rels_removed: set[str] = set()
        # sheet part -> (drawing, chart) of the chart an earlier run put there: reused by
        # name, so a workbook recalculated every day keeps the same parts.
        self.own_charts: dict[str, tuple[str, str]] = {}
        names = [t.sheet.name for t in tables]
        if RUN_LOG.name in names or len(set(names)) != len(names):
            raise ValueError("each result sheet may be given once, and Run Log is separate")
        appended = {s.name for s in APPENDED_SHEETS}
        self.targets = [
            _Target(
                t.sheet,
                t.rows,
                None,
                title=t.title,
                held_back=t.held_back,
                as_of=t.as_of,
                by_column=None
                if t.held_back is not None
                else column_values(t.rows, len(t.sheet.columns)),
            )
            for t in tables
            if t.sheet.name not in appended
        ]
        for target in self.targets:
            if target.by_column is not None:
                target.look = look(target.sheet, target.rows, target.by_column)
        self.appended = [(RUN_LOG, (run_log.row(),))] + [
            (t.sheet, t.rows) for t in tables if t.sheet.name in appended
        ]
        self._used_rel_ids = {r.rel_id for r in package.workbook_rels}
        self._strings: list[str] | None = None  # the shared strings, once read
        self._deflater: ThreadPoolExecutor | None = None
        self._deflating: dict[int, tuple[bytes, Future[Deflated]]] = {}  # by id(data)

    # ------------------------------------------------------------------ planning

    def build(self) -> bytes:
        # The result sheets are deflated on a second thread as each is laid out, so that
        # on two cores their compression overlaps building the next (see `deflate`).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="deflate") as deflater:
            self._deflater = deflater
            try:
                return self._build()
            finally:
                self._deflater = None

    def _build(self) -> bytes:
        self._match_sheets()
        # A held-back sheet the workbook does not have yet is not added (nothing to keep).
        self.targets = [t for t in self.targets if t.entry is not None or t.held_back is None]
        styles = self._styles()
        # The sheets that grow are made first: their parts are the largest to deflate
        # (the whole log, old rows and new), which then overlaps making the result sheets
        # instead of coming last. They replace parts in place, so the zip's order of
        # members, which follows the workbook's and then `added`, stays the same.
        growing = [t.appended and t.entry is not None for t in self.targets]
        in_order = [t for t, g in zip(self.targets, growing, strict=True) if g]
        in_order += [t for t, g in zip(self.targets, growing, strict=True) if not g]
        for target in in_order:
            if target.appended:
                if target.entry is not None and not target.rows:
                    target.rewritten = False  # nothing to add: kept byte for byte
                    continue
                data = self._appended_xml(target, styles)
            elif target.held_back is not None:
                assert target.entry is not None  # held-back sheets are never added
                kept = retitle(
                    self.package.read(target.part),
                    functools.partial(_held_title, target),
                    styles[TITLE_STYLE],
                    self._shared_string,
                )
                if kept is None:
                    target.rewritten = False
                    continue
                data = kept
            else:
                data = self._result_sheet_xml(target, styles)
            if self._deflater is not None:
                self._deflating[id(data)] = (
                    data,
                    self._deflater.submit(deflate, data, WRITTEN_PART_LEVEL),
                )
            if target.entry is not None:
                self.replaced[target.part.lower()] = data
            else:
                self.added.append((target.part, data))
        for drawing, chart in self.own_charts.values():  # charts no longer drawn
            self.deleted |= {drawing.lower(), chart.lower()}
            self.deleted.add(self.package.rels_part(drawing).lower())
        for part, patch in self.input_patches.items():
            self.replaced[part.lower()] = patch(styles)
        self._calc_chain()
        self._workbook_xml()
        self._workbook_rels()
        self._content_types()
        return self._zip()

    def _result_sheet_xml(self, target: _Target, styles: dict[CellStyle, int]) -> bytes:
        assert target.look is not None
        selected = target.entry is not None and is_tab_selected(
            self.package.read_head(target.part, 20_000).decode("utf-8", "replace")
        )
        drawing = self._add_chart(target) if target.look.chart is not None else None
        by_column, target.by_column = target.by_column, None
        return result_sheet_xml(
            target.sheet,
            target.rows,
            styles,
            date1904=self.package.date1904,
            tab_selected=selected,
            title=target.title,
            appearance=target.look,
            footer=footer(self.run_log.as_of),
            drawing_rel_id=drawing,
            by_column=by_column,
        )

    def _fresh_part(self, folder: str, stem: str) -> str:
        taken = {m.lower() for m in self.package.members} | {n.lower() for n, _ in self.added}
        number = 1
        while True:
            part = posixpath.join(folder, f"{stem}{number}.xml")
            if part.lower() not in taken:
                return part
            number += 1

    def _add_chart(self, target: _Target) -> str:
        """Add the sheet's chart (a drawing and a chart part); returns the drawing's rel id."""
        assert target.look is not None and target.look.chart is not None and target.rows
        chart = target.look.chart
        first = header_row(target.sheet) + 1
        rows = target.rows[chart.first_row - first : chart.last_row - first + 1]
        categories = tuple(str(r[chart.category_column - 1]) for r in rows)
        series = tuple(
            (
                target.sheet.columns[column - 1].header,
                tuple(_number_or_none(r[column - 1]) for r in rows),
            )
            for column in chart.series_columns
        )
        data = ChartData(chart, target.sheet.name, categories, series)
        reused = self.own_charts.pop(target.part, None)
        if reused is not None:
            drawing, chart_part = reused
        else:
            drawing = self._fresh_part(posixpath.join(self.folder, "drawings"), "drawing")
            self.added.append((drawing, b""))  # reserves the name
            chart_part = self._fresh_part(posixpath.join(self.folder, "charts"), "chart")
            self.added.pop()
            self.overrides_added += [
                (drawing, DRAWING_CONTENT_TYPE),
                (chart_part, CHART_CONTENT_TYPE),
            ]
        drawing_rels = relationships_xml(
            [("rId1", CHART_REL, posixpath.relpath(chart_part, posixpath.dirname(drawing)))]
        )
        for part, content in (
            (drawing, drawing_xml(chart, "rId1")),
            (chart_part, chart_xml(data)),
            (self.package.rels_part(drawing), drawing_rels),
        ):
            if reused is not None and self.package.has(part):
                self.replaced[part.lower()] = content
            else:
                self.added.append((part, content))
        sheet_rels = self.package.rels_part(target.part)
        rels = relationships_xml(
            [("rId1", DRAWING, posixpath.relpath(drawing, posixpath.dirname(target.part)))]
        )
        if self.package.has(sheet_rels) and sheet_rels.lower() not in self.deleted:
            self.replaced[sheet_rels.lower()] = rels
        else:
            self.added.append((sheet_rels, rels))
        return "rId1"

    def _match_sheets(self) -> None:
        package = self.package
        next_sheet_id = max((s.sheet_id for s in package.sheets), default=0) + 1
        next_index = len(package.sheets)
        taken = set(package.members)
        number = 1
        for sheet, rows in self.appended:
            self.targets += self._appended_targets(sheet, rows)
        for target in self.targets:
            if target.entry is not None:  # an appended sheet, matched already
                continue
            key = header_key(target.sheet.name)
            found = [s for s in package.sheets if header_key(s.name) == key]
            if len(found) > 1:
                raise WorkbookError(
                    f"{self.where}: has {len(found)} sheets named like"
                    f' "{target.sheet.name}" ({", ".join(s.name for s in found)}).',
                    fix="Rename or delete all but one of them.",
                )
            if not found and target.held_back is not None:
                continue
            if found:
                entry = found[0]
                if entry.kind != "worksheet" or entry.part is None:
                    what = {
                        "chartsheet": "a chart sheet",
                        "dialogsheet": "a dialog sheet",
                        "macrosheet": "a macro sheet",
                    }.get(entry.kind, "not an ordinary worksheet")
                    raise WorkbookError(
                        f'{self.where}: the sheet "{entry.name}" is {what}, but'
                        f" hmis-licensing writes its {target.sheet.name} results there.",
                        fix=f'Rename that sheet (e.g. "{entry.name} chart") and run again.',
                    )
                self._check_own_part(entry)
                if target.held_back is None:
                    self._check_replaceable(entry)
                target.entry = entry
                target.part = entry.part
                target.index = entry.index
                continue
            while True:
                part = posixpath.join(self.folder, "worksheets", f"sheet{number}.xml")
                number += 1
                if part.lower() not in taken:
                    break
            taken.add(part.lower())
            target.part = part
            target.rel_id = self._new_rel_id()
            target.sheet_id = next_sheet_id
            target.index = next_index
            next_sheet_id += 1
            next_index += 1

    def _appended_targets(
        self, sheet: ResultSheet, rows: Sequence[Sequence[object]]
    ) -> list[_Target]:
        """Where an appended sheet's new rows go: the last of its sheets ("Run Log", or
        its latest continuation "Run Log 3") as far as Excel's grid allows, then new
        continuations."""
        found: dict[int, list[SheetEntry]] = {}
        for entry in self.package.sheets:
            number = continuation_number(sheet.name, entry.name)
            if number is not None:
                found.setdefault(number, []).append(entry)
        for number, entries in found.items():
            if len(entries) > 1:
                raise WorkbookError(
                    f"{self.where}: has {len(entries)} sheets named like"
                    f' "{continuation_name(sheet.name, number)}"'
                    f" ({', '.join(e.name for e in entries)}).",
                    fix="Rename or delete all but one of them.",
                )
        targets: list[_Target] = []
        remaining = list(rows)
        number = max(found, default=0)
        if number:
            entry = found[number][0]
            self._check_appendable(entry, sheet)
            assert entry.part is not None
            old_xml = self.package.read(entry.part)
            floor = log_floor(old_xml, f"{self.where}: {entry.part}")
            room = floor.room
            if remaining[:room]:
                target = _Target(sheet, remaining[:room], entry, appended=True)
                target.part, target.index = entry.part, entry.index
                target.floor, target.old_xml = floor.floor, old_xml
                targets.append(target)
            remaining = remaining[room:]
        while remaining or not number:  # no sheet yet: it is created, if need be empty
            number += 1
            name = continuation_name(sheet.name, number)
            more = sheet if number == 1 else dataclasses.replace(sheet, name=name)
            targets.append(_Target(more, remaining[: MAX_ROWS - 1], None, appended=True))
            remaining = remaining[MAX_ROWS - 1 :]
        return targets

    def _check_appendable(self, entry: SheetEntry, sheet: ResultSheet) -> None:
        if entry.kind != "worksheet" or entry.part is None:
            raise WorkbookError(
                f'{self.where}: the sheet "{entry.name}" is not an ordinary worksheet, but'
                f" hmis-licensing adds its {sheet.name} rows there.",
                fix=f'Rename that sheet (e.g. "{entry.name} old") and run again.',
            )
        self._check_own_part(entry)

    def _check_own_part(self, entry: SheetEntry) -> None:
        """A result sheet must be stored in a worksheet part of its own: were its part
        another sheet's (or any other part), writing results would overwrite that."""
        assert entry.part is not None
        key = entry.part.lower()
        shared = [
            s for s in self.package.sheets if s is not entry and (s.part or "").lower() == key
        ]
        other = f'the sheet "{shared[0].name}"' if shared else None
        if other is None and self.package.content_type(entry.part) != WORKSHEET_CONTENT_TYPE:
            other = f"a part that is not a worksheet ({self.package.content_type(entry.part)})"
        if other is None and self._referenced_elsewhere(entry.part, ""):
            other = "a part that other parts of the workbook point to"
        if other is not None:
            raise WorkbookError(
                f'{self.where}: the result sheet "{entry.name}" is stored in'
                f" {entry.part}, which is also {other}; writing the results would overwrite"
                " it, so the workbook was not changed.",
                fix="Open the workbook in Excel and save it (Excel gives every sheet its own"
                " part), or delete that result sheet; then run again.",
            )

    def _new_rel_id(self) -> str:
        number = 1
        while f"rId{number}" in self._used_rel_ids:
            number += 1
        rel_id = f"rId{number}"
        self._used_rel_ids.add(rel_id)
        return rel_id

    def _check_replaceable(self, entry: SheetEntry) -> None:
        """A result sheet is replaced whole: refuse if that would delete staff's objects."""
        assert entry.part is not None
        rels_part = self.package.rels_part(entry.part)
        relationships = self.package.relationships(entry.part)
        own_drawings = [r for r in relationships if self._own_drawing(r)]
        for rel in relationships:
            kind = rel.rel_type.rsplit("/", 1)[-1]
            if rel.rel_type == PRINTER_SETTINGS or self._empty_drawing(rel):
                continue
            if rel in own_drawings:
                continue
            what = _WHAT_IT_HOLDS.get(kind, f"other content ({kind})")
            located = f" ({rel.part})" if rel.part else ""
            raise WorkbookError(
                f'{self.where}: the result sheet "{entry.name}" holds {what}{located}.'
                " Result sheets are replaced whole on every run, so hmis-licensing will not"
                " delete it; the workbook was not changed.",
                fix=f'Move it to a sheet of your own (it can still refer to "{entry.name}"),'
                " then run again.",
            )
        if relationships:
            self.deleted.add(rels_part.lower())
            for rel in relationships:
                if rel in own_drawings:
                    continue
                if rel.part and not self._referenced_elsewhere(rel.part, rels_part):
                    self.deleted.add(rel.part.lower())
        for rel in own_drawings:
            assert rel.part is not None
            charts = [c.part for c in self.package.relationships(rel.part) if c.part]
            if len(charts) == 1 and entry.part not in self.own_charts:
                self.own_charts[entry.part] = (rel.part, charts[0])
                continue
            self.deleted |= {rel.part.lower(), self.package.rels_part(rel.part).lower()}
            self.deleted |= {c.lower() for c in charts}

    def _own_drawing(self, rel: Relationship) -> bool:
        """The chart this writer put there: a drawing of ours holding only chart parts
        that refer to nothing else (so replacing them loses nothing of staff's)."""
        if rel.rel_type != DRAWING or rel.part is None or not self.package.has(rel.part):
            return False
        inner = self.package.relationships(rel.part)
        charts = [r.part for r in inner if r.rel_type == CHART_REL and r.part is not None]
        if not inner or len(charts) != len(inner):
            return False
        if any(not self.package.has(c) or self.package.relationships(c) for c in charts):
            return False
        titles = [chart_title(self.package.read(c)) for c in charts]
        return is_own_drawing(self.package.read(rel.part), titles)

    def _empty_drawing(self, rel: Relationship) -> bool:
        """A drawing with nothing in it (LibreOffice writes one for every sheet it saves)."""
        if rel.rel_type != DRAWING or rel.part is None or not self.package.has(rel.part):
            return False
        if self.package.relationships(rel.part):
            return False
        root = parse_xml(self.package.read(rel.part), f"{self.where}: {rel.part}")
        return len(root) == 0

    def _referenced_elsewhere(self, part: str, except_rels: str) -> bool:
        """Whether a relationship other than the workbook's (and `except_rels`) points at
        `part`."""
        workbook_rels = self.package.rels_part(self.package.workbook_part).lower()
        for info in self.package.infos:
            name = info.filename
            if not name.lower().endswith(".rels") or name.lower() in (
                except_rels.lower(),
                workbook_rels,
            ):
                continue
            source = posixpath.join(
                posixpath.dirname(posixpath.dirname(name)), posixpath.basename(name)[:-5]
            )
            rels = parse_relationships(self.package.read(name), source, f"{self.where}: {name}")
            if any(r.part and r.part.lower() == part.lower() for r in rels):
                return True
        return False

    # -------------------------------------------------------------------- styles

    def _styles(self) -> dict[CellStyle, int]:
        from workbook.xlsx.styles import add_cell_styles

        wanted = [HEADER_STYLE, TITLE_STYLE]
        for target in self.targets:
            if target.look is not None:
                wanted += sheet_styles(target.sheet, target.look)
            else:
                wanted += [column_style(c) for c in target.sheet.columns]
        part = self.package.styles_part
        where = f"{self.where}: {part or 'styles.xml'}"
        data, indexes = add_cell_styles(self.package.read(part) if part else None, wanted, where)
        if data is not None:
            if part is not None:
                self.replaced[part.lower()] = data
            else:
                part = posixpath.join(self.folder, "styles.xml")
                number = 1
                while self.package.has(part):
                    part = posixpath.join(self.folder, f"styles{number}.xml")
                    number += 1
                self.added.append((part, data))
                self.overrides_added.append((part, STYLES_CONTENT_TYPE))
                self.rels_added.append(
                    (self._new_rel_id(), STYLES, posixpath.relpath(part, self.folder))
                )
        return indexes

    # ------------------------------------------------------------------- Run Log

    def _appended_xml(self, target: _Target, styles: dict[CellStyle, int]) -> bytes:
        old = target.old_xml
        if old is None and target.entry is not None:
            old = self.package.read(target.part)
        return append_rows(
            old,
            target.sheet.columns,
            target.rows,
            styles,
            self._shared_string,
            date1904=self.package.date1904,
            where=f"{self.where}: {target.part}",
            floor=target.floor,
        )

    def _shared_string(self, index: int) -> str:
        """A string of the workbook's shared-string table (read once, when first asked)."""
        if self._strings is None:
            self._strings = read_shared_strings(self.package)
        strings = self._strings
        return strings[index] if 0 <= index < len(strings) else ""

    # ---------------------------------------------------------------- calcChain

    def _calc_chain(self) -> None:
        """Drop calculation-chain entries of replaced sheets (Excel repairs a file whose
        chain names a cell without a formula)."""
        rel = self.package.relationship(CALC_CHAIN)
        if rel is None or rel.part is None or not self.package.has(rel.part):
            return
        replaced_ids = {
            t.entry.sheet_id for t in self.targets if t.entry is not None and not t.appended
        }
        where = f"{self.where}: {rel.part}"
        root = parse_xml(self.package.read(rel.part), where)
        kept: list[str] = []
        removed = False
        current = ""
        for cell in root:
            if local_name(cell.tag) != "c":
                continue
            current = cell.get("i", current)
            if current.isdigit() and int(current) in replaced_ids:
                removed = True
                continue
            values = {k: v for k, v in cell.attrib.items() if "}" not in k}
            values["i"] = current
            kept.append(
                "<c" + "".join(f' {k}="{escape_attr(v)}"' for k, v in values.items()) + "/>"
            )
        if not removed:
            return
        if kept:
            self.replaced[rel.part.lower()] = (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<calcChain xmlns="{MAIN_NS}">{"".join(kept)}</calcChain>'
            ).encode()
        else:
            self.deleted.add(rel.part.lower())
            self.rels_removed.add(rel.rel_id)

    # ------------------------------------------------------------- workbook.xml

    def _workbook_xml(self) -> None:
        part = self.package.workbook_part
        where = f"{self.where}: {part}"
        text = utf8_text(self.package.read(part), where)
        root = parse_xml(text.encode("utf-8"), where)
        prefix = xml_prefix(text, "workbook")
        new = [t for t in self.targets if t.entry is None]
        protection = root.find(f"{{{MAIN_NS}}}workbookProtection")
        locked = protection is not None and protection.get("lockStructure", "0") in ("1", "true")
        if new and locked:
            raise WorkbookError(
                f"{self.where}: the workbook's structure is protected, so the new sheets"
                f" ({', '.join(t.sheet.name for t in new)}) cannot be added.",
                fix="In Excel, Review > Protect Workbook to unprotect it, run again, then"
                " protect it again.",
            )
        edits: list[tuple[int, int, int, str]] = []
        if new:
            rel_prefix = _relationship_prefix(text)
            declaration = "" if rel_prefix else f' xmlns:r="{REL_NS}"'
            rel_prefix = rel_prefix or "r"
            sheets = "".join(
                f'<{prefix}sheet name="{escape_attr(t.sheet.name)}" sheetId="{t.sheet_id}"'
                f'{declaration} {rel_prefix}:id="{t.rel_id}"/>'
                for t in new
            )
            try:
                start, end, replacement = append_children(text, "sheets", prefix, sheets)
            except ValueError:
                raise WorkbookError(
                    f"{where}: has no list of sheets.",
                    fix="Open the workbook in Excel and save it again.",
                ) from None
            edits.append((start, _WORKBOOK_ORDER.index("sheets"), end, replacement))
        edits += self._defined_names(text, prefix)
        edits.append(self._calc_properties(text, prefix))
        result = _apply(text, edits).encode("utf-8")
        parse_xml(result, where)
        self.replaced[part.lower()] = result

    def _defined_names(self, text: str, prefix: str) -> list[tuple[int, int, int, str]]:
        replaced = [t for t in self.targets if not t.appended and t.held_back is None]
        written = {t.index for t in replaced}
        names = []
        for target in replaced:
            quoted = "'" + target.sheet.name.replace("'", "''") + "'"
            last = column_letter(len(target.sheet.columns) - 1)
            head = header_row(target.sheet)
            repeated = f"$1:${head}" if titled(target.sheet) else "$1:$1"
            names.append(
                f'<{prefix}definedName name="_xlnm._FilterDatabase" localSheetId='
                f'"{target.index}" hidden="1">'
                f"{escape_text(f'{quoted}!$A${head}:${last}${len(target.rows) + head}')}"
                f"</{prefix}definedName>"
            )
            names.append(
                f'<{prefix}definedName name="_xlnm.Print_Titles" localSheetId="{target.index}">'
                f"{escape_text(f'{quoted}!{repeated}')}</{prefix}definedName>"
            )
        order = _WORKBOOK_ORDER.index("definedNames")
        found = locate_element(text, "definedNames", prefix)
        if found is None:
            if not names:
                return []
            position = _end_of_last(text, prefix, _WORKBOOK_ORDER[:order])
            block = f"<{prefix}definedNames>{''.join(names)}</{prefix}definedNames>"
            return [(position, order, position, block)]
        begin, tag_end, end = found
        if tag_end == end:
            inner = ""
            start_tag = text[begin:tag_end][:-2].rstrip() + ">"
        else:
            inner = text[tag_end : end - len(f"</{prefix}definedNames>")]
            start_tag = text[begin:tag_end]
        pattern = re.compile(
            rf"<{re.escape(prefix)}definedName\b([^>]*?)(?:/>|>.*?</{re.escape(prefix)}definedName>)",
            re.S,
        )

        def keep(match: re.Match[str]) -> str:
            values = attributes(match.group(1))
            name = values.get("name", "").lower()
            sheet = values.get("localSheetId", "")
            if name in _REPLACED_NAMES and sheet.isdigit() and int(sheet) in written:
                return ""
            return match.group(0)

        inner = pattern.sub(keep, inner) + "".join(names)
        if not inner.strip():
            return [(begin, order, end, "")]
        block = f"{start_tag}{inner}</{prefix}definedNames>"
        return [(begin, order, end, block)]

    def _calc_properties(self, text: str, prefix: str) -> tuple[int, int, int, str]:
        """Ask Excel to recalculate on opening, so formulas that use results are fresh."""
        order = _WORKBOOK_ORDER.index("calcPr")
        found = locate_element(text, "calcPr", prefix)
        if found is not None:
            begin, tag_end, _end = found
            start_tag = set_attribute(text[begin:tag_end], "fullCalcOnLoad", "1")
            return begin, order, tag_end, start_tag
        position = _end_of_last(text, prefix, _WORKBOOK_ORDER[:order])
        return position, order, position, f'<{prefix}calcPr fullCalcOnLoad="1"/>'

    # ------------------------------------------------------- relationships, types

    def _workbook_rels(self) -> None:
        for target in self.targets:
            if target.entry is None:
                self.rels_added.append(
                    (target.rel_id, WORKSHEET, posixpath.relpath(target.part, self.folder))
                )
        if not self.rels_added and not self.rels_removed:
            return
        part = self.package.rels_part(self.package.workbook_part)
        if not self.package.has(part):  # a workbook with no sheets may have none yet
            self.added.append((part, relationships_xml(self.rels_added)))
            return
        where = f"{self.where}: {part}"
        text = utf8_text(self.package.read(part), where)
        prefix = xml_prefix(text, "Relationships")
        edits: list[tuple[int, int, int, str]] = []
        for rel_id in self.rels_removed:
            for match in re.finditer(rf"<{re.escape(prefix)}Relationship\b[^>]*?/>", text):
                if attributes(match.group(0)).get("Id") == rel_id:
                    edits.append((match.start(), 0, match.end(), ""))
        added = "".join(
            f'<{prefix}Relationship Id="{rel_id}" Type="{rel_type}"'
            f' Target="{escape_attr(target)}"/>'
            for rel_id, rel_type, target in self.rels_added
        )
        if added:
            start, end, replacement = append_children(text, "Relationships", prefix, added)
            edits.append((start, 1, end, replacement))
        result = _apply(text, edits).encode("utf-8")
        parse_xml(result, where)
        self.replaced[part.lower()] = result

    def _content_types(self) -> None:
        for target in self.targets:
            if target.entry is None:
                self.overrides_added.append((target.part, WORKSHEET_CONTENT_TYPE))
        where = f"{self.where}: [Content_Types].xml"
        text = utf8_text(self.package.read("[Content_Types].xml"), where)
        prefix = xml_prefix(text, "Types")
        edits: list[tuple[int, int, int, str]] = []
        if self.deleted:
            for match in re.finditer(rf"<{re.escape(prefix)}Override\b[^>]*?/>", text):
                name = attributes(match.group(0)).get("PartName", "").lstrip("/").lower()
                if name in self.deleted:
                    edits.append((match.start(), 0, match.end(), ""))
        added = "".join(
            f'<{prefix}Override PartName="/{escape_attr(part)}" ContentType="{content_type}"/>'
            for part, content_type in self.overrides_added
            if self.package.content_type(part) != content_type
        )
        if added:
            start, end, replacement = append_children(text, "Types", prefix, added)
            edits.append((start, 1, end, replacement))
        if not edits:
            return
        result = _apply(text, edits).encode("utf-8")
        parse_xml(result, where)
        self.replaced["[content_types].xml"] = result

    # ----------------------------------------------------------------------- zip

    def _zip(self) -> bytes:
        members: list[Copied | Written] = []
        for info in self.package.infos:
            key = info.filename.lower()
            if key in self.deleted:
                continue
            if key in self.replaced:
                members.append(self._written(info.filename, self.replaced[key]))
            else:
                members.append(Copied(info))
        members += [self._written(name, data) for name, data in self.added]
        data = build_zip(self.package.data, members, self.where, level=WRITTEN_PART_LEVEL)
        _check_zip(data, self.where)
        return data

    def _written(self, name: str, data: bytes) -> Written:
        """The member, with its deflating already under way when these very bytes were
        handed to the deflater (a part replaced again since is deflated afresh)."""
        started = self._deflating.get(id(data))
        return Written(name, data, started[1] if started and started[0] is data else None)


def _number_or_none(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _apply(text: str, edits: list[tuple[int, int, int, str]]) -> str:
    return apply_edits(text, edits)


def _relationship_prefix(text: str) -> str:
    root = re.search(r"<([A-Za-z_][\w.-]*:)?workbook\b[^>]*>", text)
    if root is None:
        return ""
    for name, value in attributes(root.group(0)).items():
        if name.startswith("xmlns:") and value == REL_NS:
            return name[len("xmlns:") :]
    return ""


def _end_of_last(text: str, prefix: str, names: Sequence[str]) -> int:
    """Where an element goes: after the last of the elements that must precede it."""
    best = -1
    for name in names:
        found = locate_element(text, name, prefix)
        if found is not None:
            best = max(best, found[2])
    if best < 0:
        root = re.search(rf"<{re.escape(prefix)}workbook\b[^>]*>", text)
        if root is None:
            raise WorkbookError("the workbook part has no <workbook> element.")
        best = root.end()
    return best


def _check_zip(data: bytes, where: str) -> None:
    """A last look before the new file replaces the old one: it must open as a zip."""
    import zipfile

    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            archive.infolist()
    except zipfile.BadZipFile as exc:  # pragma: no cover - a bug in rawzip
        raise WorkbookError(f"{where}: the new workbook could not be assembled ({exc}).") from None


def sheet_part_names(path: Path) -> dict[str, str]:
    """Sheet name -> zip member, for tests and tools that compare parts."""
    package = open_package(path)
    try:
        return {s.name: s.part for s in package.sheets if s.part}
    finally:
        package.close()


__all__ = ["WorkbookWriter", "recalculated_bytes", "save_results", "sheet_part_names"]
