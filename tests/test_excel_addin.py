"""The ribbon add-in: built from xlwings' template, with buttons that work.

Excel is not here, so the add-in is checked the way Excel reads it: a valid zip of
well-formed parts; a VBA project (read back with olefile, an independent reader of
compound files, and with our MS-OVBA reader) named HMISLicensing, whose ribbon module has
a callback for every button, each importing the module named like the file and calling a
function it has; every other stream of the template's VBA kept byte for byte; and a
settings sheet (read with openpyxl) that points at a Python that can import that module.
"""

from __future__ import annotations

import importlib
import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import olefile
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import SAMPLE
from workbook.cli import main
from workbook.errors import UsageError
from workbook.excel import udfs
from workbook.excel.addin.build_addin import (
    ADDIN_NAME,
    CALLBACKS_VBA,
    CONF_SHEET,
    RIBBON_MODULE,
    TEMPLATE_CALLBACK,
    VBA_PROJECT,
    AddinSettings,
    build_addin,
    template_path,
    xlwings_version,
)
from workbook.excel.addin.install import check_interpreter, next_steps
from workbook.excel.addin.vba import (
    compress,
    decompress,
    edit_project,
    read_compound_file,
    read_project,
    write_compound_file,
)

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


def _vba(path: Path) -> bytes:
    with zipfile.ZipFile(path) as package:
        return package.read("xl/vbaProject.bin")


def _streams(vba_bin: bytes) -> dict[str, bytes]:
    """Every stream, read by olefile (not by our own reader)."""
    ole = olefile.OleFileIO(vba_bin)
    try:
        return {"/".join(p): ole.openstream("/".join(p)).read() for p in ole.listdir()}
    finally:
        ole.close()


def test_the_vba_project_has_a_name_of_its_own(addin: Path) -> None:
    template, built = _vba(template_path()), _vba(addin)
    assert read_project(template).name == "MyAddin"  # what every template add-in is called
    project = read_project(built)
    assert project.name == project.project_stream_name == VBA_PROJECT == "HMISLicensing"
    streams = _streams(built)
    assert b'\r\nName="HMISLicensing"\r\n' in streams["PROJECT"]
    # The name was nowhere else: no stream of the built project holds the old one, in ANSI
    # or UTF-16, but as part of the module name RibbonMyAddin.
    for name, data in streams.items():
        for old in (b"MyAddin", "MyAddin".encode("utf-16-le")):
            rest = data.replace(b"RibbonMyAddin", b"").replace(
                "RibbonMyAddin".encode("utf-16-le"), b""
            )
            assert old not in rest or name == "VBA/dir", name
    assert b"MyAddin" not in decompress(streams["VBA/dir"]).replace(b"RibbonMyAddin", b"")


def test_only_the_name_and_the_ribbon_module_change_in_the_vba(addin: Path) -> None:
    template, built = read_project(_vba(template_path())), read_project(_vba(addin))
    assert built.modules.keys() == template.modules.keys()
    for module, source in template.modules.items():
        if module == RIBBON_MODULE:
            assert built.modules[module] == source + CALLBACKS_VBA
        else:
            assert built.modules[module] == source, module
    before, after = _streams(_vba(template_path())), _streams(_vba(addin))
    assert before.keys() == after.keys()
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"PROJECT", "VBA/dir", f"VBA/{RIBBON_MODULE}"}
    # Still a project without compiled code, so that Excel compiles the edited source.
    assert (
        after["VBA/_VBA_PROJECT"] == before["VBA/_VBA_PROJECT"] == bytes.fromhex("cc61ffff000100")
    )


def test_every_ribbon_button_has_its_callback_and_its_python_function(addin: Path) -> None:
    import hmis_licensing

    with zipfile.ZipFile(addin) as package:
        ui = ElementTree.fromstring(package.read("customUI/customUI.xml"))
    tabs = ui.findall(f"{UI}ribbon/{UI}tabs/{UI}tab")
    assert [t.get("label") for t in tabs] == ["HMIS Licensing"]
    buttons = tabs[0].findall(f".//{UI}button")
    assert [(b.get("label"), b.get("size")) for b in buttons] == [
        ("Recalculate", "large"),
        ("Check", "large"),
        ("Packet", "large"),  # tests/test_review.py tests its function
        ("About", "large"),
    ]
    assert f'onAction="{buttons[0].get("onAction")}"' == TEMPLATE_CALLBACK
    source = read_project(_vba(addin)).modules[RIBBON_MODULE]
    subs = dict(
        re.findall(
            r'(?ms)^Sub (\w+)\(control As IRibbonControl\)\r\n.*?RunPython "import " & mymodule'
            r' & ";" & mymodule & "\.(\w+)\(\)"\r\nEnd Sub',
            source,
        )
    )
    assert subs == {
        "RunMain": "main",
        "RunCheck": "check",
        "RunPacket": "packet",
        "RunAbout": "about",
    }
    for button in buttons:
        module, sub = button.get("onAction", "").split(".")
        assert module == RIBBON_MODULE and sub in subs, button.get("label")
        assert callable(getattr(hmis_licensing, subs[sub]))
    # `mymodule` is the add-in's file name without .xlam: the module the buttons import.
    module = importlib.import_module(addin.stem)
    assert Path(module.__file__).name == f"{addin.stem}.py"


def test_the_compound_file_writer_keeps_every_stream_and_entry() -> None:
    template = _vba(template_path())
    rewritten = write_compound_file(read_compound_file(template))
    assert _streams(rewritten) == _streams(template)
    ole_before, ole_after = olefile.OleFileIO(template), olefile.OleFileIO(rewritten)
    try:
        for old, new in zip(ole_before.direntries, ole_after.direntries, strict=True):
            if old is None:
                continue
            assert (old.name, old.entry_type, old.color, old.clsid) == (
                new.name,
                new.entry_type,
                new.color,
                new.clsid,
            )
            assert (old.sid_left, old.sid_right, old.sid_child) == (
                new.sid_left,
                new.sid_right,
                new.sid_child,
            )
    finally:
        ole_before.close()
        ole_after.close()


def test_ms_ovba_compression_matches_the_specification_s_examples() -> None:
    # MS-OVBA 3.2.1 (no compression possible) and 3.2.3 (maximum compression).
    plain = bytes.fromhex("0119B000616263646566676800696A6B6C6D6E6F7000717273747576 2E")
    assert decompress(plain) == b"abcdefghijklmnopqrstuv."
    assert compress(b"abcdefghijklmnopqrstuv.") == plain
    packed = bytes.fromhex(
        "012FB00023616161626364658266007061676869 6A013808616B6C00306D6E6F70067102700410"
        "727374757610777879 7A003C"
    )
    text = b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa"
    assert decompress(packed) == text
    assert decompress(compress(text)) == text and len(compress(text)) <= len(packed) + 4


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=10_000),
        st.text(alphabet="ab \r\nSub End", max_size=12_000).map(str.encode),
    )
)
def test_compression_round_trips(data: bytes) -> None:
    assert decompress(compress(data)) == data


def test_a_project_with_compiled_code_or_a_bad_name_is_refused() -> None:
    template = read_compound_file(_vba(template_path()))
    template.replace("VBA/_VBA_PROJECT", bytes.fromhex("cc61b200000300") + b"cache")
    cached = write_compound_file(template)
    with pytest.raises(ValueError, match="compiled"):
        edit_project(cached, name="HMISLicensing", appended={})
    with pytest.raises(ValueError, match="not a VBA project name"):
        edit_project(_vba(template_path()), name="HMIS Licensing", appended={})
    with pytest.raises(ValueError, match="no module"):
        edit_project(_vba(template_path()), name="X", appended={"Nope": ""})


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
    with pytest.raises(SystemExit, match="click Check on the HMIS Licensing tab"):
        hmis_licensing.check()


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


# ------------------------------------------------ the startup folder, uninstall, status


def test_excel_s_startup_folder_on_each_system(tmp_path: Path) -> None:
    from workbook.excel.addin.install import xlstart_folder

    roaming = {"APPDATA": "C:\\Users\\pat\\AppData\\Roaming"}
    assert xlstart_folder("win32", roaming) == Path(roaming["APPDATA"], "Microsoft/Excel/XLSTART")
    assert xlstart_folder("darwin", {}, Path("/Users/pat")) == Path(
        "/Users/pat/Library/Group Containers/UBF8T346G9.Office/User Content.localized"
        "/Startup.localized/Excel"
    )
    with pytest.raises(UsageError, match="APPDATA is not set"):
        xlstart_folder("win32", {})
    with pytest.raises(UsageError, match="Excel does not run on this system"):
        xlstart_folder("linux", {})


def test_install_xlstart_puts_the_add_in_where_excel_loads_it_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from workbook.excel.addin import install as installer

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    monkeypatch.setattr(installer, "DEFAULT_FOLDER", tmp_path / "HMIS Licensing")
    installed = installer.install(xlstart=True)
    startup = tmp_path / "Roaming" / "Microsoft" / "Excel" / "XLSTART"
    assert installed.addin == startup / ADDIN_NAME and installed.at_start
    # Excel opens every file in XLSTART at start: only the add-in goes there.
    assert sorted(p.name for p in startup.iterdir()) == [ADDIN_NAME]
    steps = (tmp_path / "HMIS Licensing" / "README-Excel.txt").read_text(encoding="utf-8")
    assert "Excel loads it every time it starts" in steps and "Browse" not in steps
    assert read_project(_vba(installed.addin)).name == VBA_PROJECT
    capsys.readouterr()


def test_install_xlstart_where_excel_does_not_run_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    if sys.platform in ("win32", "darwin"):
        pytest.skip("Excel runs here")
    assert main(["excel", "install", "--xlstart"]) == 2
    assert "Excel does not run on this system" in capsys.readouterr().err


def test_status_reads_the_installed_add_in_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "addin"
    assert main(["excel", "install", "--dir", str(folder)]) == 0
    capsys.readouterr()
    assert main(["excel", "status", "--dir", str(folder)]) == 0
    out = capsys.readouterr().out
    from engine import ENGINE_VERSION

    version = xlwings_version(template_path())
    assert f"Built by:    hmis-licensing {ENGINE_VERSION}; xlwings {version}" in out
    assert "VBA project HMISLicensing" in out
    assert "Buttons:     RunMain, RunCheck, RunPacket, RunAbout" in out
    assert f"which has: hmis-licensing {ENGINE_VERSION}, xlwings {version}" in out
    assert "Functions:   not imported" in out and "Current:     yes" in out
    # An add-in built by another version is not current, and says why.
    addin = folder / ADDIN_NAME
    older = tmp_path / "older.xlam"
    with zipfile.ZipFile(addin) as source, zipfile.ZipFile(older, "w") as copy:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "docProps/core.xml":
                data = data.replace(
                    f"hmis-licensing {ENGINE_VERSION};".encode(), b"hmis-licensing 0.0.9;"
                )
            copy.writestr(info, data)
    older.replace(addin)
    assert main(["excel", "status", "--dir", str(folder)]) == 1
    out = capsys.readouterr().out
    assert f"NO: it was built by hmis-licensing 0.0.9, not {ENGINE_VERSION}" in out
    assert main(["excel", "status", "--dir", str(tmp_path / "none")]) == 1
    assert "No HMIS Licensing add-in in" in capsys.readouterr().out


def test_uninstall_removes_what_install_wrote_and_nothing_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "addin"
    assert main(["excel", "install", "--dir", str(folder)]) == 0
    (folder / "my notes.txt").write_text("keep me", encoding="utf-8")
    assert main(["excel", "uninstall", "--dir", str(folder)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["my notes.txt"]
    assert "Removed" in capsys.readouterr().out
    assert main(["excel", "uninstall", "--dir", str(folder)]) == 0  # nothing left to do
    assert "No HMIS Licensing add-in" in capsys.readouterr().out
    (folder / ADDIN_NAME).write_bytes(b"someone else's file")
    assert main(["excel", "uninstall", "--dir", str(folder)]) == 2
    assert "is not an add-in hmis-licensing wrote" in capsys.readouterr().err
    assert (folder / ADDIN_NAME).read_bytes() == b"someone else's file"


# ------------------------------------------------------ the Check and About buttons


def _press(button: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], str]:
    """Press a button on the sample as the remote engine would show it; (actions, message)."""
    import xlwings as xw

    import hmis_licensing
    from tests.xlwings_bridge import ALERTS, apply_actions, payload_from_xlsx

    book = xw.Book(json=payload_from_xlsx(SAMPLE))
    monkeypatch.setattr(xw.Book, "caller", classmethod(lambda cls: book))
    getattr(hmis_licensing, button)()
    copy = openpyxl.load_workbook(SAMPLE)
    try:
        ALERTS.clear()
        applied = apply_actions(copy, book.json()["actions"])
    finally:
        copy.close()
    [(title, message)] = ALERTS
    assert title == "HMIS Licensing"
    return applied, message


def test_check_shows_the_problems_and_writes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    applied, message = _press("check", monkeypatch)
    assert applied == ["alert"], "no sheet, no Run Log row"
    assert message.startswith("Check only: nothing was written. As of 2026-11-24")
    assert "0 error(s) and 6 warning(s):" in message
    assert 'Warning: Licenses!C22: Organization "Iron County Food Pantry"' in message


def test_about_names_the_versions_and_the_policy_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    import xlwings

    from engine import ENGINE_VERSION
    from policy import adopted_policy_path, load_policy

    applied, message = _press("about", monkeypatch)
    assert applied == ["alert"]
    policy = load_policy(adopted_policy_path())
    assert f"hmis-licensing {ENGINE_VERSION}" in message
    assert f"xlwings {xlwings.__version__}" in message and sys.executable in message
    assert f"version {policy.version}" in message and policy.sha256[:12] in message
    assert "As of: 2026-11-24 (the Settings sheet's As Of)" in message
