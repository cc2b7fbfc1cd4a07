"""Excel on the web (xlwings Lite): the Recalculate script, run as Lite runs it.

Lite calls a script through `xlwings.server.custom_scripts_call` with the workbook it
built from the client's JSON (xlwings-server `wasm_runtime.py` does the same), then sends
`book.json()` back to Excel. Here the JSON comes from a real .xlsx, the actions go back
onto a copy, and the result must equal `hmis-licensing recalc` on the same file. Lite has
no files: the policy comes from the workbook's Policy sheet.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import openpyxl
import pytest
import xlwings as xw
from xlwings.server import custom_scripts_call, custom_scripts_meta

import workbook.excel.lite as lite
from tests.conftest import SAMPLE, policy_text
from tests.test_excel_parity import CLIENT_ACTIONS, assert_same_results, run_log
from tests.xlwings_bridge import OFFICE_JS, apply_actions, payload_from_xlsx
from workbook.cli import main
from workbook.layout import POLICY_SHEET


def _with_policy_sheet(folder: Path, text: str | None) -> Path:
    path = Path(shutil.copy(SAMPLE, folder / "source.xlsx"))
    if text is not None:
        book = openpyxl.load_workbook(path)
        sheet = book.create_sheet(POLICY_SHEET)
        for number, line in enumerate(text.splitlines(), start=1):
            sheet.cell(number, 1).value = line
            sheet.cell(number, 1).data_type = "s"
        book.save(path)
    return path


def run_lite_script(source: Path, destination: Path) -> list[str]:
    book = xw.Book(json=payload_from_xlsx(source, client=OFFICE_JS))
    returned = asyncio.run(
        custom_scripts_call(lite, "recalculate", typehint_to_value={xw.Book: book})
    )
    assert returned is book
    copy = openpyxl.load_workbook(source)
    applied = apply_actions(copy, book.json()["actions"])
    copy.save(destination)
    return applied


@pytest.mark.parametrize("target", [None, "25"])
def test_the_lite_script_writes_what_recalc_writes(
    tmp_path: Path, target: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _with_policy_sheet(tmp_path, policy_text(target=target) if target else None)
    by_cli = Path(shutil.copy(source, tmp_path / "by-recalc.xlsx"))
    assert main(["recalc", str(by_cli)]) == 0
    capsys.readouterr()
    by_lite = tmp_path / "by-lite.xlsx"
    applied = run_lite_script(source, by_lite)
    assert set(applied) <= CLIENT_ACTIONS
    assert_same_results(by_cli, by_lite, source)
    log = run_log(by_lite)[0]
    if target:
        assert log["Policy File"] == "Policy sheet"
    else:  # no Policy sheet, no folder: the adopted policy shipped with hmis-licensing
        assert Path(str(log["Policy File"])).name in ("policy.yaml", "adopted.yaml")
    printed = capsys.readouterr().out
    assert "As of 2026-11-24" in printed and "eligible for revocation" in printed


def test_the_script_is_offered_as_recalculate() -> None:
    [entry] = custom_scripts_meta(lite)
    assert entry["function_name"] == "recalculate" and entry["name"] == "Recalculate"
    assert set(lite.__all__) == {
        "recalculate",
        "HMIS_ALLOTMENT",
        "HMIS_LICENSE_FINDING",
        "HMIS_SELF_PAY_COST",
        "HMIS_POLICY",
    }
