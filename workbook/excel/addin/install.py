"""`hmis-licensing excel install | uninstall | status`: the ribbon add-in on this computer.

`install` builds hmis_licensing.xlam for the Python running this command (the add-in
records its path, so Excel runs the Python where hmis-licensing and xlwings are installed),
checks that this Python can import what the add-in will import, and prints the next steps
(kept as README-Excel.txt in the default folder). With `--xlstart` the add-in goes into
Excel's own startup folder, which Excel opens, and trusts, every time it starts; otherwise
into a folder of your choice, and adding it is a click in Excel's Add-ins dialog. It never
drives Excel itself. `uninstall` removes what `install` wrote; `status` reads an installed
add-in back (its VBA project, its buttons, its Python) and says whether it is current.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from workbook.errors import UsageError, WorkbookError
from workbook.excel.addin.build_addin import (
    ADDIN_NAME,
    MODULE,
    VBA_PROJECT,
    AddinSettings,
    build_addin,
    template_path,
    xlwings_version,
)

DEFAULT_FOLDER = Path.home() / "HMIS Licensing"
NEXT_STEPS_FILE = "README-Excel.txt"
# Where Excel 2016 and later for Mac open files at start (its "Startup" folder).
MAC_STARTUP = (
    "Library/Group Containers/UBF8T346G9.Office/User Content.localized/Startup.localized/Excel"
)


def xlstart_folder(
    platform: str | None = None,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> Path:
    """Excel's per-user startup folder: Excel opens every file in it when it starts.

    Windows: %APPDATA%\\Microsoft\\Excel\\XLSTART (one of Excel's default Trusted Locations);
    a Mac: ~/Library/Group Containers/UBF8T346G9.Office/User Content.localized/
    Startup.localized/Excel. Excel does not run elsewhere.
    """
    platform = platform or sys.platform
    environ = os.environ if environ is None else environ
    home = home or Path.home()
    if platform == "win32":
        appdata = environ.get("APPDATA", "").strip()
        if not appdata:
            raise UsageError(
                "APPDATA is not set, so Excel's startup folder (XLSTART) cannot be found.",
                fix="Run the command from a normal Command Prompt, or use --dir FOLDER.",
            )
        return Path(appdata) / "Microsoft" / "Excel" / "XLSTART"
    if platform == "darwin":
        return home / MAC_STARTUP
    raise UsageError(
        f"Excel does not run on this system ({platform}), so there is no Excel startup"
        " folder to install into.",
        fix="Use --dir FOLDER, or run the command on the Windows or Mac computer with Excel.",
    )


@dataclass(frozen=True, slots=True)
class Installed:
    addin: Path
    interpreter: str
    xlwings: str
    check: str  # "" when the interpreter imports everything, else what went wrong
    at_start: bool = False  # in Excel's startup folder: loaded every time Excel starts


def install(
    folder: Path | None = None,
    *,
    interpreter: str | None = None,
    pythonpath: str = "",
    xlstart: bool = False,
    out: TextIO | None = None,
) -> Installed:
    """Build the add-in into `folder` (Excel's startup folder with `xlstart`), print the
    next steps and keep them as README-Excel.txt in the default folder (never in the
    startup folder: Excel would open it at every start)."""
    out = out or sys.stdout
    if xlstart:
        folder = xlstart_folder()
    folder = (folder or DEFAULT_FOLDER).expanduser().resolve()
    interpreter = interpreter or sys.executable
    template = template_path()
    version = xlwings_version(template)
    try:
        addin = build_addin(folder, AddinSettings(interpreter, pythonpath), template=template)
    except PermissionError:
        raise WorkbookError(
            f"{folder / ADDIN_NAME}: cannot be written.",
            fix="Quit Excel (it keeps the add-in open) and run the command again.",
        ) from None
    problem = check_interpreter(interpreter, pythonpath, version)
    installed = Installed(addin, interpreter, version, problem, at_start=xlstart)
    steps = next_steps(installed)
    notes = DEFAULT_FOLDER if xlstart else folder
    notes.mkdir(parents=True, exist_ok=True)
    (notes / NEXT_STEPS_FILE).write_text(steps, encoding="utf-8")
    if sys.platform == "darwin":
        _enable_runpython_on_mac(out)
    print(steps, file=out)
    return installed


def check_interpreter(interpreter: str, pythonpath: str, version: str) -> str:
    """Run, in the add-in's Python, the imports the add-in will run; "" if they work."""
    probed = probe_interpreter(interpreter, pythonpath)
    if isinstance(probed, str):
        return probed
    found = probed[1]
    if found != version:
        return (
            f"{interpreter} has xlwings {found}, but the add-in was built from xlwings"
            f" {version}; they must be the same."
        )
    return ""


def probe_interpreter(interpreter: str, pythonpath: str) -> tuple[str, str] | str:
    """(hmis-licensing version, xlwings version) of a Python, or what went wrong."""
    env = dict(os.environ)
    if pythonpath:
        folders = [*pythonpath.split(";"), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(f for f in folders if f)
    code = f"import {MODULE}, xlwings, engine; print(engine.ENGINE_VERSION, xlwings.__version__)"
    if not interpreter:
        return "the add-in names no Python"
    try:
        run = subprocess.run(
            [interpreter, "-c", code], capture_output=True, text=True, env=env, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{interpreter} cannot be run ({exc})."
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ["(no message)"])[-1]
        return f"{interpreter} cannot import {MODULE}: {last}"
    hmis, _, xlwings = run.stdout.strip().partition(" ")
    return hmis, xlwings


def _enable_runpython_on_mac(out: TextIO) -> None:
    """What `xlwings runpython install` does: Excel on a Mac runs Python through AppleScript."""
    try:
        from xlwings.cli import runpython_install

        runpython_install(None)
    except Exception as exc:  # the add-in is written; say what to do by hand
        print(f"Note: run `xlwings runpython install` yourself ({exc}).", file=out)


def next_steps(installed: Installed) -> str:
    """The instructions printed after installing, and kept as README-Excel.txt."""
    addin, folder = installed.addin, installed.addin.parent
    lines = [
        f"Wrote the HMIS Licensing add-in: {addin}",
        f"It runs Python {installed.interpreter} (xlwings {installed.xlwings}).",
        "",
    ]
    if installed.check:
        lines += [
            "WARNING: " + installed.check,
            "  The Recalculate button will fail with 'module not found' until this is fixed:",
            "  run `hmis-licensing excel install` with the Python where hmis-licensing is",
            '  installed (pip install "hmis-licensing[excel]"), or pass --interpreter.',
            "",
        ]
    if installed.at_start:
        lines += [
            "It is in Excel's startup folder: Excel loads it every time it starts.",
            "  Quit Excel and start it again; a tab 'HMIS Licensing' appears. (If you had",
            "  added hmis_licensing.xlam from another folder in the Add-ins dialog, untick",
            "  that one.) To remove it: hmis-licensing excel uninstall --xlstart",
            "",
        ]
    else:
        lines += [
            "Next steps in Excel (once per computer):",
            "  Windows: File > Options > Add-ins; at the bottom, Manage: Excel Add-ins > Go...",
            "  Mac:     Tools > Excel Add-ins...",
            f"  Then Browse..., choose {addin},",
            "  make sure 'HMIS Licensing' is ticked, and click OK.",
            "  A tab 'HMIS Licensing' appears: Recalculate, Check, Packet, About.",
            "  (Or let Excel load it at every start: hmis-licensing excel install --xlstart)",
            "",
            "If Excel blocks the add-in's macros (Windows): File > Options > Trust Center >",
            "  Trust Center Settings > Trusted Locations > Add new location, and add",
            f"  {folder}",
            "",
        ]
    lines += [
        "To recalculate: open the shared workbook, then HMIS Licensing > Recalculate.",
        "  The as-of date is the Settings sheet's As Of (blank: today). The policy is the",
        "  Settings sheet's Policy File (a path; relative to the workbook's folder), else",
        "  a sheet named Policy holding the policy text, else policy.yaml in the",
        "  workbook's folder, else the adopted policy shipped with hmis-licensing.",
        "",
        "Worksheet functions (HMIS_ALLOTMENT, HMIS_LICENSE_FINDING, HMIS_SELF_PAY_COST,",
        "  HMIS_POLICY; desktop Excel on Windows only): File > Options > Trust Center >",
        "  Trust Center Settings > Macro Settings > tick 'Trust access to the VBA project",
        f"  object model'. Then press Alt+F11, open {VBA_PROJECT} (hmis_licensing.xlam) >",
        "  Modules > xlwings, click inside 'Sub ImportPythonUDFsToAddin()' and press F5;",
        f"  then, with {VBA_PROJECT} selected, press Ctrl+S to save the add-in (or the",
        "  functions are gone when Excel restarts).",
        "  This add-in was just written afresh, without imported functions: import them",
        "  again after every `excel install` (and when a function's name or arguments",
        "  change). `hmis-licensing excel status` says whether they are imported.",
        "",
        "After upgrading hmis-licensing or xlwings, run `hmis-licensing excel install`",
        "  again (quit Excel first). The README's Excel section explains every step.",
    ]
    return "\n".join(lines) + "\n"


def require_folder(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path}: is a file; --dir must be a folder.")
    return path
