"""`hmis-licensing excel install`: put the ribbon add-in where a person can add it to Excel.

It builds hmis_licensing.xlam for the Python running this command (the add-in records its
path, so Excel runs the Python where hmis-licensing and xlwings are installed), checks that
this Python can import what the add-in will import, writes the next steps beside the
add-in, and prints them. It does not touch Excel itself: adding an add-in is a click in
Excel's Add-ins dialog, which also makes Excel trust it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from workbook.errors import UsageError, WorkbookError
from workbook.excel.addin.build_addin import (
    ADDIN_NAME,
    MODULE,
    AddinSettings,
    build_addin,
    template_path,
    xlwings_version,
)

DEFAULT_FOLDER = Path.home() / "HMIS Licensing"
NEXT_STEPS_FILE = "README-Excel.txt"


@dataclass(frozen=True, slots=True)
class Installed:
    addin: Path
    interpreter: str
    xlwings: str
    check: str  # "" when the interpreter imports everything, else what went wrong


def install(
    folder: Path | None = None,
    *,
    interpreter: str | None = None,
    pythonpath: str = "",
    out: TextIO | None = None,
) -> Installed:
    """Build the add-in into `folder`, write README-Excel.txt, print the next steps."""
    out = out or sys.stdout
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
    installed = Installed(addin, interpreter, version, problem)
    steps = next_steps(installed)
    (folder / NEXT_STEPS_FILE).write_text(steps, encoding="utf-8")
    if sys.platform == "darwin":
        _enable_runpython_on_mac(out)
    print(steps, file=out)
    return installed


def check_interpreter(interpreter: str, pythonpath: str, version: str) -> str:
    """Run, in the add-in's Python, the imports the add-in will run; "" if they work."""
    env = dict(os.environ)
    if pythonpath:
        folders = [*pythonpath.split(";"), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(f for f in folders if f)
    code = f"import {MODULE}, xlwings; print(xlwings.__version__)"
    try:
        run = subprocess.run(
            [interpreter, "-c", code], capture_output=True, text=True, env=env, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{interpreter} cannot be run ({exc})."
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ["(no message)"])[-1]
        return f"{interpreter} cannot import {MODULE}: {last}"
    found = run.stdout.strip()
    if found != version:
        return (
            f"{interpreter} has xlwings {found}, but the add-in was built from xlwings"
            f" {version}; they must be the same."
        )
    return ""


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
    lines += [
        "Next steps in Excel (once per computer):",
        "  Windows: File > Options > Add-ins; at the bottom, Manage: Excel Add-ins > Go...",
        "  Mac:     Tools > Excel Add-ins...",
        f"  Then Browse..., choose {addin},",
        "  make sure 'HMIS Licensing' is ticked, and click OK.",
        "  A tab 'HMIS Licensing' with a Recalculate button appears.",
        "",
        "If Excel blocks the add-in's macros (Windows): File > Options > Trust Center >",
        "  Trust Center Settings > Trusted Locations > Add new location, and add",
        f"  {folder}",
        "",
        "To recalculate: open the shared workbook, then HMIS Licensing > Recalculate.",
        "  The as-of date is the Settings sheet's As Of (blank: today). The policy is the",
        "  Settings sheet's Policy File (a path; relative to the workbook's folder), else",
        "  a sheet named Policy holding the policy text, else policy.yaml in the",
        "  workbook's folder, else the adopted policy shipped with hmis-licensing.",
        "",
        "Worksheet functions (HMIS_ALLOTMENT, HMIS_LICENSE_FINDING, HMIS_SELF_PAY_COST,",
        "  HMIS_POLICY; desktop Excel on Windows only), once: File > Options > Trust",
        "  Center > Trust Center Settings > Macro Settings > tick 'Trust access to the VBA",
        "  project object model'. Then press Alt+F11, open MyAddin (hmis_licensing.xlam) >",
        "  Modules > xlwings, click inside 'Sub ImportPythonUDFsToAddin()' and press F5.",
        "",
        "After upgrading hmis-licensing or xlwings, run `hmis-licensing excel install`",
        "  again (quit Excel first). The README's Excel section explains every step.",
    ]
    return "\n".join(lines) + "\n"


def require_folder(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path}: is a file; --dir must be a folder.")
    return path
