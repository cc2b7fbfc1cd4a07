"""`hmis-licensing excel status` and `excel uninstall`: the installed add-in, read back.

Status reads what Excel will load: the add-in's VBA project (its name, the ribbon's
callbacks, whether the worksheet functions were imported into it), what built it, and
the Python its settings name, which it runs to see which hmis-licensing and xlwings that
Python has. The add-in is *current* when it was built by the hmis-licensing and from the
xlwings that its Python has now (an upgrade of either needs `excel install` again: the
template's VBA loads the DLL of its own xlwings version) and that Python imports what the
buttons import.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from workbook.errors import UsageError, WorkbookError
from workbook.excel.addin.build_addin import (
    ADDIN_NAME,
    CALLBACKS,
    RIBBON_MODULE,
    TITLE,
    read_settings,
)
from workbook.excel.addin.install import (
    DEFAULT_FOLDER,
    NEXT_STEPS_FILE,
    probe_interpreter,
    xlstart_folder,
)
from workbook.excel.addin.vba import read_project

UDF_MODULE = "xlwings_udfs"  # the module xlwings' "import functions" writes into the add-in
_BUILT_BY = re.compile(r"hmis-licensing ([^;<\s]+); xlwings ([^;<\s]+)")


@dataclass
class AddinStatus:
    path: Path
    at_start: bool
    built_by: str = ""
    vba_project: str = ""
    callbacks: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    interpreter: str = ""
    runs: str = ""
    reasons: list[str] = field(default_factory=list)  # why it is not current; [] = current

    @property
    def current(self) -> bool:
        return not self.reasons


def places(folder: Path | None, xlstart: bool) -> list[tuple[Path, bool]]:
    """Where to look: the folder asked for, or the default folder and Excel's startup one."""
    if folder is not None:
        return [(folder.expanduser().resolve(), False)]
    found: list[tuple[Path, bool]] = []
    try:
        found.append((xlstart_folder(), True))
    except UsageError:  # no Excel on this system: only the default folder
        if xlstart:
            raise
    if not xlstart:
        found.insert(0, (DEFAULT_FOLDER, False))
    return found


def is_ours(path: Path) -> bool:
    """Whether the file is an add-in hmis-licensing built (never delete anything else)."""
    try:
        with zipfile.ZipFile(path) as package:
            core = package.read("docProps/core.xml").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
    return f"<dc:title>{TITLE}</dc:title>" in core and _BUILT_BY.search(core) is not None


def addin_status(path: Path, at_start: bool) -> AddinStatus:
    status = AddinStatus(path, at_start)
    with zipfile.ZipFile(path) as package:
        parts = {name: package.read(name) for name in package.namelist()}
    core = parts.get("docProps/core.xml", b"").decode("utf-8", "replace")
    built = _BUILT_BY.search(core)
    status.built_by = built.group(0) if built else ""
    try:
        project = read_project(parts["xl/vbaProject.bin"])
    except (KeyError, ValueError) as exc:
        status.reasons.append(f"its VBA project cannot be read ({exc})")
        return status
    status.vba_project = project.name
    ribbon = project.modules.get(RIBBON_MODULE, "")
    subs = set(re.findall(r"(?m)^Sub (\w+)\(control As IRibbonControl\)", ribbon))
    status.callbacks = [s for s in ("RunMain", *CALLBACKS) if s in subs]
    status.functions = sorted(
        set(re.findall(r"(?m)^Function (HMIS_\w+)\(", project.modules.get(UDF_MODULE, "")))
    )
    settings = read_settings(parts)
    status.interpreter = str(settings.get("INTERPRETER_WIN", ""))
    missing = [s for s in ("RunMain", *CALLBACKS) if s not in status.callbacks]
    if missing:
        status.reasons.append("the ribbon's callbacks " + ", ".join(missing) + " are missing")
    probed = probe_interpreter(status.interpreter, str(settings.get("PYTHONPATH", "")))
    if isinstance(probed, str):
        status.runs = probed
        status.reasons.append(probed)
        return status
    hmis, xlwings = probed
    status.runs = f"hmis-licensing {hmis}, xlwings {xlwings}"
    if built is None:
        status.reasons.append("it does not say what built it")
    else:
        if built.group(1) != hmis:
            status.reasons.append(f"it was built by hmis-licensing {built.group(1)}, not {hmis}")
        if built.group(2) != xlwings:
            status.reasons.append(
                f"its VBA comes from xlwings {built.group(2)}, but its Python has {xlwings}"
            )
    return status


def find(folder: Path | None, xlstart: bool) -> list[AddinStatus]:
    return [
        addin_status(place / ADDIN_NAME, at_start)
        for place, at_start in places(folder, xlstart)
        if (place / ADDIN_NAME).is_file()
    ]


def status_text(found: list[AddinStatus], looked_in: list[Path]) -> str:
    if not found:
        return (
            f"No HMIS Licensing add-in in {', '.join(str(p) for p in looked_in)}.\n"
            "Install it with: hmis-licensing excel install (or --xlstart)\n"
        )
    lines: list[str] = []
    for status in found:
        where = (
            "Excel's startup folder: loaded when Excel starts"
            if status.at_start
            else ("added to Excel with the Add-ins dialog")
        )
        functions = (
            ", ".join(status.functions)
            if status.functions
            else "not imported (see README-Excel.txt; needed again after every excel install)"
        )
        lines += [
            f"Add-in:      {status.path} ({where})",
            f"Built by:    {status.built_by or 'unknown'}; VBA project {status.vba_project}",
            f"Buttons:     {', '.join(status.callbacks) or 'none'}",
            f"Functions:   {functions}",
            f"Python:      {status.interpreter or '(none set)'}",
            f"  which has: {status.runs}",
            "Current:     yes"
            if status.current
            else "Current:     NO: "
            + "; ".join(status.reasons)
            + ". Quit Excel and run `hmis-licensing excel install` again with that Python.",
            "",
        ]
    return "\n".join(lines)


def uninstall(folder: Path | None, xlstart: bool) -> tuple[list[Path], list[Path]]:
    """Remove the add-ins hmis-licensing wrote (and their README-Excel.txt).

    Returns (removed, looked in). A file of the same name that hmis-licensing did not
    write is left alone and named in a WorkbookError.
    """
    looked = places(folder, xlstart)
    removed: list[Path] = []
    for place, _at_start in looked:
        addin = place / ADDIN_NAME
        if not addin.is_file():
            continue
        if not is_ours(addin):
            raise WorkbookError(
                f"{addin}: is not an add-in hmis-licensing wrote; it was left as it is.",
                fix="Remove it yourself if you are sure it is not needed.",
            )
        try:
            addin.unlink()
        except PermissionError:
            raise WorkbookError(
                f"{addin}: cannot be removed (Excel keeps it open).",
                fix="Quit Excel and run the command again.",
            ) from None
        removed.append(addin)
    for place, _at_start in looked:
        notes = place / NEXT_STEPS_FILE
        if notes.is_file() and notes.read_text("utf-8", "replace").startswith("Wrote the HMIS"):
            notes.unlink()
            removed.append(notes)
    return removed, [p for p, _ in looked]
