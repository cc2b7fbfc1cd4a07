"""Build the HMIS Licensing ribbon add-in, hmis_licensing.xlam, from xlwings' own template.

    python -m workbook.excel.addin.build_addin [DESTINATION] [--interpreter PYTHON]
        [--pythonpath DIR]

(`hmis-licensing excel install` runs this for users.) The template is
`quickstart_addin_ribbon.xlam` inside the installed xlwings package. What changes:

* `customUI/customUI.xml`: the ribbon, tab "HMIS Licensing" with the buttons Recalculate,
  Check, Packet and About (`customUI.xml` beside this file). Recalculate calls the
  template's own callback `RibbonMyAddin.RunMain`, which runs `import <file stem>;
  <file stem>.main()`; the file is named hmis_licensing.xlam, so Excel runs
  `hmis_licensing.main()`.
* `xl/vbaProject.bin` (`vba.py`): the VBA project is renamed from the template's `MyAddin`,
  which every add-in made from the template shares, to `HMISLicensing`; and the module
  RibbonMyAddin gains the other buttons' callbacks, `RunCheck`, `RunPacket` and
  `RunAbout`, written like `RunMain` (they run `check()`, `packet()`, `about()`). The
  template's VBA is source only (no compiled cache), so Excel compiles the edited source
  when it loads the add-in; every other module, the xlwings RunPython machinery written
  for that xlwings version (it loads `xlwings64-<version>.dll`), is kept as it is.
* the settings sheet: the template's inactive `_myaddin.conf` becomes `myaddin.conf`
  (xlwings' VBA finds its settings by its constant PROJECT_NAME, "myaddin", which is not
  the VBA project's name and stays) and holds the Python interpreter, PYTHONPATH and the
  module with the worksheet functions. Every key is written, blanks included, so that no
  other xlwings configuration on the machine (a ~/.myaddin/myaddin.conf of another add-in)
  changes what this add-in runs.
* `docProps/core.xml`: the title and description Excel's Add-ins dialog shows, and in its
  keywords what built it (`hmis-licensing 0.1.0; xlwings 0.37.8`), for `excel status`.

That coupling to the installed xlwings is why the add-in is built on each machine, and
not kept in git. The output is deterministic: the same template and settings give the same
bytes.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import re
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from engine import ENGINE_VERSION
from workbook.errors import UsageError
from workbook.excel.addin.vba import edit_project

ADDIN_NAME = "hmis_licensing.xlam"  # its stem is the module the Recalculate button imports
MODULE = Path(ADDIN_NAME).stem
TEMPLATE_NAME = "quickstart_addin_ribbon.xlam"
TEMPLATE_CALLBACK = 'onAction="RibbonMyAddin.RunMain"'
TEMPLATE_CONF_SHEET = "_myaddin.conf"
CONF_SHEET = "myaddin.conf"
VBA_PROJECT = "HMISLicensing"  # the template's is "MyAddin", shared by every add-in made from it
RIBBON_MODULE = "RibbonMyAddin"  # the template's module with the ribbon's callback, RunMain
# The other buttons' callbacks, each written like the template's RunMain.
CALLBACKS = {"RunCheck": "check", "RunPacket": "packet", "RunAbout": "about"}
CALLBACKS_VBA = "".join(
    f"Sub {sub}(control As IRibbonControl)\r\n"
    '    mymodule = Left(ThisWorkbook.Name, (InStrRev(ThisWorkbook.Name, ".", -1,'
    " vbTextCompare) - 1))\r\n"
    f'    RunPython "import " & mymodule & ";" & mymodule & ".{function}()"\r\n'
    "End Sub\r\n\r\n"
    for sub, function in CALLBACKS.items()
)
TITLE = "HMIS Licensing"
DESCRIPTION = (
    "Recalculate, Check, Packet and About buttons and HMIS_* worksheet functions for the"
    " CoC's HMIS licensing policy workbook (hmis-licensing)."
)

_CUSTOM_UI = "customUI/customUI.xml"
_WORKBOOK = "xl/workbook.xml"
_CORE = "docProps/core.xml"
_STRINGS = "xl/sharedStrings.xml"
_VBA = "xl/vbaProject.bin"
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@dataclass(frozen=True, slots=True)
class AddinSettings:
    """What the add-in's settings sheet tells xlwings' VBA."""

    interpreter: str
    pythonpath: str = ""
    udf_modules: str = MODULE

    def rows(self) -> list[tuple[str, str | bool]]:
        """Key/value rows; VBA reads column A down to the first blank, keys in any case."""
        return [
            ("Interpreter_Win", self.interpreter),
            ("Interpreter_Mac", self.interpreter),
            ("PYTHONPATH", self.pythonpath),
            ("Conda Path", ""),
            ("Conda Env", ""),
            ("UDF Modules", self.udf_modules),
            ("Debug UDFs", False),
            ("Use UDF Server", False),
            ("Show Console", False),
            # hmis_licensing is installed; the workbook's folder on sys.path could only
            # shadow it (a stray policy.py or engine.py next to the workbook).
            ("ADD_WORKBOOK_TO_PYTHONPATH", False),
        ]


def template_path() -> Path:
    """The ribbon add-in template of the installed xlwings (without importing xlwings)."""
    spec = importlib.util.find_spec("xlwings")
    if spec is None or not spec.submodule_search_locations:
        raise UsageError(
            "The Excel add-in is built from xlwings, which is not installed in this Python.",
            fix='Install it with: pip install "hmis-licensing[excel]"',
        )
    path = Path(next(iter(spec.submodule_search_locations))) / TEMPLATE_NAME
    if not path.is_file():
        raise UsageError(
            f"{path}: the xlwings ribbon add-in template is missing.",
            fix="Reinstall xlwings: pip install --force-reinstall xlwings",
        )
    return path


def xlwings_version(template: Path) -> str:
    """The xlwings version the template's VBA was written for (its package's version)."""
    init = template.parent / "__init__.py"
    match = re.search(r'__version__ = "([^"]+)"', init.read_text(encoding="utf-8"))
    return match.group(1) if match else "unknown"


def custom_ui() -> bytes:
    """The ribbon XML shipped beside this module."""
    return resources.files("workbook.excel.addin").joinpath("customUI.xml").read_bytes()


def build_addin(
    destination: Path, settings: AddinSettings, *, template: Path | None = None
) -> Path:
    """Write the add-in to `destination` (a folder or a .xlam path); returns its path."""
    template = template or template_path()
    if destination.suffix.lower() != ".xlam":
        destination = destination / ADDIN_NAME
    if destination.name != ADDIN_NAME:
        raise UsageError(
            f"{destination}: the add-in must be named {ADDIN_NAME}: the Recalculate"
            f" button imports the Python module named like the file ({MODULE}).",
        )
    with zipfile.ZipFile(template) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
        infos = source.infolist()
    replaced = _replaced_parts(parts, settings, template)
    destination.parent.mkdir(parents=True, exist_ok=True)
    from workbook.xlsx.safesave import atomic_write

    built = io.BytesIO()
    with zipfile.ZipFile(built, "w") as target:
        for info in infos:
            data = replaced.get(info.filename, parts[info.filename])
            entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            target.writestr(entry, data)
    atomic_write(destination, built.getvalue())
    _readable_by_all(destination)
    return destination


def _readable_by_all(path: Path) -> None:
    """An add-in on a shared drive is read by everyone's Excel (the temporary file was 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def _replaced_parts(
    parts: dict[str, bytes], settings: AddinSettings, template: Path
) -> dict[str, bytes]:
    workbook_xml = parts.get(_WORKBOOK, b"").decode("utf-8")
    sheet_part = _conf_sheet_part(parts, workbook_xml)
    template_ui = parts.get(_CUSTOM_UI, b"").decode("utf-8")
    if TEMPLATE_CALLBACK not in template_ui or sheet_part is None:
        raise UsageError(
            f"{template}: this xlwings template is not laid out as expected (a ribbon"
            f" button with {TEMPLATE_CALLBACK} and a {TEMPLATE_CONF_SHEET} sheet).",
            fix="Install an xlwings version this hmis-licensing was tested with"
            " (see the README, Excel section).",
        )
    ribbon = custom_ui()
    if TEMPLATE_CALLBACK.encode() not in ribbon:  # pragma: no cover - shipped file
        raise UsageError("customUI.xml must call the template's RibbonMyAddin.RunMain.")
    try:
        vba = edit_project(parts[_VBA], name=VBA_PROJECT, appended={RIBBON_MODULE: CALLBACKS_VBA})
    except (KeyError, ValueError) as exc:
        raise UsageError(
            f"{template}: its VBA project cannot be given the HMIS Licensing buttons safely"
            f" ({exc}).",
            fix="Install an xlwings version this hmis-licensing was tested with"
            " (see the README, Excel section).",
        ) from None
    sheet_xml, strings_xml = _conf_sheet(parts[sheet_part].decode("utf-8"), settings.rows())
    return {
        _CUSTOM_UI: ribbon,
        _VBA: vba,
        _WORKBOOK: workbook_xml.replace(
            f'name="{TEMPLATE_CONF_SHEET}"', f'name="{CONF_SHEET}"'
        ).encode("utf-8"),
        sheet_part: sheet_xml.encode("utf-8"),
        _STRINGS: strings_xml.encode("utf-8"),
        _CORE: _core_properties(
            parts[_CORE].decode("utf-8"), built_by(xlwings_version(template))
        ).encode("utf-8"),
    }


def built_by(xlwings: str) -> str:
    """What the add-in records about its build (docProps/core.xml's keywords)."""
    return f"hmis-licensing {ENGINE_VERSION}; xlwings {xlwings}"


def _conf_sheet_part(
    parts: dict[str, bytes], workbook_xml: str, name: str = TEMPLATE_CONF_SHEET
) -> str | None:
    """The worksheet part of the settings sheet (the template's, or a built add-in's)."""
    sheet = re.search(rf'<sheet name="{re.escape(name)}"[^>]*r:id="(\w+)"', workbook_xml)
    rels = parts.get("xl/_rels/workbook.xml.rels", b"").decode("utf-8")
    if sheet is None:
        return None
    target = re.search(rf'Id="{sheet.group(1)}"[^>]*Target="([^"]+)"', rels) or re.search(
        rf'Target="([^"]+)"[^>]*Id="{sheet.group(1)}"', rels
    )
    if target is None:
        return None
    part = "xl/" + target.group(1).lstrip("/").removeprefix("xl/")
    return part if part in parts and _STRINGS in parts else None


def _conf_sheet(template_sheet: str, rows: Sequence[tuple[str, str | bool]]) -> tuple[str, str]:
    """The settings sheet's XML (template's frame, new rows) and its shared strings."""
    strings: list[str] = []

    def shared(text: str) -> int:
        if text not in strings:
            strings.append(text)
        return strings.index(text)

    xml_rows = []
    for number, (key, value) in enumerate(rows, start=1):
        cells = [f'<c r="A{number}" t="s"><v>{shared(key)}</v></c>']
        if isinstance(value, bool):
            cells.append(f'<c r="B{number}" t="b"><v>{int(value)}</v></c>')
        elif value:
            cells.append(f'<c r="B{number}" t="s"><v>{shared(value)}</v></c>')
        xml_rows.append(f'<row r="{number}">{"".join(cells)}</row>')
    sheet_data = f"<sheetData>{''.join(xml_rows)}</sheetData>"
    sheet = re.sub(
        r"<sheetData>.*</sheetData>|<sheetData\s*/>", sheet_data, template_sheet, flags=re.S
    )
    sheet = re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="A1:B{len(rows)}" />', sheet)
    sst = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
    strings_xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<sst xmlns="{_MAIN_NS}" count="{len(strings)}" uniqueCount="{len(strings)}">{sst}</sst>'
    )
    return sheet, strings_xml


def _core_properties(core: str, keywords: str) -> str:
    core = re.sub(r"<dc:title\s*/>|<dc:title>.*?</dc:title>", f"<dc:title>{TITLE}</dc:title>", core)
    core = re.sub(
        r"<cp:keywords\s*/>|<cp:keywords>.*?</cp:keywords>",
        f"<cp:keywords>{escape(keywords)}</cp:keywords>",
        core,
    )
    return re.sub(
        r"<dc:description\s*/>|<dc:description>.*?</dc:description>",
        f"<dc:description>{escape(DESCRIPTION)}</dc:description>",
        core,
    )


def read_settings(parts: dict[str, bytes]) -> dict[str, str | bool]:
    """A built add-in's settings sheet as xlwings' VBA reads it (keys upper-cased)."""
    workbook_xml = parts.get(_WORKBOOK, b"").decode("utf-8")
    part = _conf_sheet_part(parts, workbook_xml, CONF_SHEET)
    if part is None:
        return {}
    ns = {"m": _MAIN_NS}
    strings = [
        "".join(t.text or "" for t in si.iter(f"{{{_MAIN_NS}}}t"))
        for si in ElementTree.fromstring(parts[_STRINGS]).findall("m:si", ns)
    ]
    cells: dict[str, str | bool] = {}
    for cell in ElementTree.fromstring(parts[part]).iter(f"{{{_MAIN_NS}}}c"):
        value = cell.findtext("m:v", "", ns)
        kind = cell.get("t")
        cells[cell.get("r", "")] = (
            strings[int(value)] if kind == "s" else value == "1" if kind == "b" else value
        )
    settings: dict[str, str | bool] = {}
    row = 1
    while f"A{row}" in cells:
        settings[str(cells[f"A{row}"]).upper()] = cells.get(f"B{row}", "")
        row += 1
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workbook.excel.addin.build_addin",
        description=f"Build {ADDIN_NAME} from the installed xlwings' ribbon template.",
    )
    parser.add_argument(
        "destination",
        nargs="?",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="a folder or .xlam path (default: workbook/excel/addin/)",
    )
    parser.add_argument(
        "--interpreter", default=sys.executable, help="Python for Excel to run (default: this one)"
    )
    parser.add_argument("--pythonpath", default="", help="folders to add to sys.path, ;-separated")
    args = parser.parse_args(argv)
    path = build_addin(args.destination, AddinSettings(args.interpreter, args.pythonpath))
    print(f"Wrote {path} (from {template_path()}, xlwings {xlwings_version(template_path())})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
