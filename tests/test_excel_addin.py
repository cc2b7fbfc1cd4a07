"""The ribbon add-in: built from xlwings' template, with a Recalculate button that works.

Excel is not here, so the add-in is checked the way Excel reads it: a valid zip of
well-formed parts, a ribbon whose button calls the template's own VBA callback, which
imports the module named like the file (it must exist and have main()), and a settings
sheet (read with openpyxl) that points at a Python that can import that module.
"""

from __future__ import annotations

import importlib
import io
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest

from tests.conftest import SAMPLE
from workbook.cli import main
from workbook.errors import UsageError
from workbook.excel import udfs
from workbook.excel.addin.build_addin import (
    ADDIN_NAME,
    CONF_SHEET,
    TEMPLATE_CALLBACK,
    AddinSettings,
    build_addin,
    template_path,
    xlwings_version,
)
from workbook.excel.addin.install import check_interpreter, next_steps

UI = "{http://schemas.microsoft.com/office/2006/01/customui}"


@pytest.fixture(scope="module")
def addin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("addin")
    return build_addin(folder, AddinSettings(sys.executable, pythonpath="C:\\CoC\\code"))


def test_the_add_in_is_a_valid_package_of_well_formed_parts(addin: Path) -> None:
    assert addin.name == ADDIN_NAME
    with zipfile.ZipFile(addin) as package:
        assert package.testzip() is None
        names = package.namelist()
        for name in names:
            if name.endswith((".xml", ".rels")):
                ElementTree.fromstring(package.read(name))
        types = package.read("[Content_Types].xml").decode()
        assert "application/vnd.ms-excel.addin.macroEnabled.main+xml" in types
    with zipfile.ZipFile(template_path()) as template:
        assert sorted(template.namelist()) == sorted(names)
        with zipfile.ZipFile(addin) as package:
            # The VBA (xlwings' RunPython machinery for this xlwings version) is untouched.
            assert package.read("xl/vbaProject.bin") == template.read("xl/vbaProject.bin")


def test_the_ribbon_has_the_hmis_licensing_tab_and_a_large_recalculate_button(addin: Path) -> None:
    with zipfile.ZipFile(addin) as package:
        ui = ElementTree.fromstring(package.read("customUI/customUI.xml"))
    tabs = ui.findall(f"{UI}ribbon/{UI}tabs/{UI}tab")
    assert [t.get("label") for t in tabs] == ["HMIS Licensing"]
    buttons = tabs[0].findall(f".//{UI}button")
    assert [(b.get("label"), b.get("size")) for b in buttons] == [
        ("Recalculate", "large"),
        ("Packet", "large"),  # tests/test_review.py tests its function
    ]
    assert f'onAction="{buttons[0].get("onAction")}"' == TEMPLATE_CALLBACK


def test_the_button_s_callback_is_in_the_vba_and_imports_a_module_with_main(addin: Path) -> None:
    with zipfile.ZipFile(addin) as package:
        vba = package.read("xl/vbaProject.bin")
    module_name = TEMPLATE_CALLBACK.split('"')[1].split(".")[0]  # RibbonMyAddin
    assert module_name.encode("utf-16-le") in vba, "the VBA module the button calls"
    # RunMain runs `import <file stem>; <file stem>.main()`.
    module = importlib.import_module(addin.stem)
    assert callable(module.main)
    assert Path(module.__file__).name == f"{addin.stem}.py"


def _settings(addin: Path) -> dict[str, object]:
    """The add-in's settings sheet as xlwings' VBA reads it: column A down to a blank."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(addin) as source, zipfile.ZipFile(buffer, "w") as copy:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "[Content_Types].xml":  # openpyxl does not open add-ins
                data = data.replace(b"addin.macroEnabled.main", b"sheet.macroEnabled.main")
            copy.writestr(info, data)
    buffer.seek(0)
    book = openpyxl.load_workbook(buffer, keep_vba=True)
    try:
        assert book.sheetnames == [CONF_SHEET], "active (no leading _), the VBA's project name"
        values: dict[str, object] = {}
        for key, value in book.active.iter_rows(values_only=True):
            if key is None:
                break
            values[key.upper()] = value
        return values
    finally:
        # keep_vba keeps the archive open for a later save; a leaked ZipFile fails a
        # random later test under warnings-as-errors.
        book.vba_archive.close()


def test_the_settings_sheet_names_this_python_and_the_functions_module(addin: Path) -> None:
    values = _settings(addin)
    assert values["INTERPRETER_WIN"] == values["INTERPRETER_MAC"] == sys.executable
    assert values["PYTHONPATH"] == "C:\\CoC\\code"
    assert values["ADD_WORKBOOK_TO_PYTHONPATH"] is False
    assert values["USE UDF SERVER"] is False
    assert values["CONDA PATH"] is None  # written blank, so no other config can set it
    module = importlib.import_module(values["UDF MODULES"])
    for function in udfs.FUNCTIONS:
        assert getattr(module, function.__name__) is function


def test_building_twice_gives_the_same_bytes(tmp_path: Path, addin: Path) -> None:
    again = build_addin(tmp_path, AddinSettings(sys.executable, pythonpath="C:\\CoC\\code"))
    assert again.read_bytes() == addin.read_bytes()


def test_the_add_in_must_keep_its_name(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"must be named hmis_licensing\.xlam"):
        build_addin(tmp_path / "coc.xlam", AddinSettings(sys.executable))


# --------------------------------------------------------------------- installing


def test_excel_install_writes_the_add_in_and_the_next_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "HMIS Licensing"
    assert main(["excel", "install", "--dir", str(folder)]) == 0
    out = capsys.readouterr().out
    addin = folder / ADDIN_NAME
    assert addin.is_file() and _settings(addin)["INTERPRETER_WIN"] == sys.executable
    steps = (folder / "README-Excel.txt").read_text(encoding="utf-8")
    assert str(addin) in out and str(addin) in steps
    for words in ("Excel Add-ins", "Trusted Locations", "ImportPythonUDFsToAddin", "Policy"):
        assert words in steps
    assert "WARNING" not in out


def test_excel_install_warns_when_the_python_cannot_import_the_add_in_module(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = bare / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    code = main(["excel", "install", "--dir", str(tmp_path / "x"), "--interpreter", str(python)])
    assert code == 1
    out = capsys.readouterr().out
    assert "WARNING" in out and "cannot import hmis_licensing" in out and "module not found" in out


def test_the_interpreter_check(tmp_path: Path) -> None:
    version = xlwings_version(template_path())
    assert check_interpreter(sys.executable, "", version) == ""
    assert "must be the same" in check_interpreter(sys.executable, "", "0.0.1")
    assert "cannot be run" in check_interpreter(str(tmp_path / "no-python"), "", version)


def test_next_steps_are_written_for_people(addin: Path) -> None:
    from workbook.excel.addin.install import Installed

    text = next_steps(Installed(addin, sys.executable, "0.37.8", ""))
    assert "File > Options > Add-ins" in text and "Tools > Excel Add-ins" in text


def test_main_outside_excel_says_what_to_do_instead() -> None:
    import hmis_licensing

    with pytest.raises(SystemExit, match="click Recalculate on the HMIS Licensing tab"):
        hmis_licensing.main()


def test_the_command_line_never_imports_xlwings(tmp_path: Path) -> None:
    code = (
        "import sys; from workbook.cli import main; "
        f"rc = main(['check', {str(SAMPLE)!r}]); "
        "assert 'xlwings' not in sys.modules, 'xlwings imported'; sys.exit(rc)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_main_recalculates_the_calling_workbook_and_says_what_it_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The button's main() end to end, with the workbook Excel would hand it.

    Desktop Excel is not here, so `Book.caller()` (the one call that needs it) returns a
    workbook on xlwings' remote engine built from the sample; everything else is real.
    """
    import shutil

    import xlwings as xw

    import hmis_licensing
    from tests.xlwings_bridge import ALERTS, apply_actions, payload_from_xlsx, sheet_cells

    book = xw.Book(json=payload_from_xlsx(SAMPLE))
    monkeypatch.setattr(xw.Book, "caller", classmethod(lambda cls: book))
    hmis_licensing.main()
    actions = book.json()["actions"]
    assert actions[-1]["func"] == "alert"
    copy = openpyxl.load_workbook(SAMPLE)
    ALERTS.clear()
    apply_actions(copy, actions)
    copy.save(tmp_path / "by-button.xlsx")
    [(title, message)] = ALERTS
    assert title == "HMIS Licensing"
    assert "As of 2026-11-24" in message and "eligible for revocation" in message
    by_cli = Path(shutil.copy(SAMPLE, tmp_path / "by-recalc.xlsx"))
    assert main(["recalc", str(by_cli)]) == 0
    button, cli = sheet_cells(tmp_path / "by-button.xlsx"), sheet_cells(by_cli)
    assert button["Inactivity Report"] == cli["Inactivity Report"]
    assert button["Run Log"][1][-1][0] == "Excel (Recalculate button)"
