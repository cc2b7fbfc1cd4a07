"""xlwings Lite in real Pyodide: the README's Lite steps, run as Lite runs them.

xlwings Lite is Python in WebAssembly (Pyodide) inside Excel. Here the npm `pyodide`
package runs under node, offline: hmis-licensing laid out as its wheel installs it, the
PyPI wheels of xlwings and of jsonschema's pure-Python dependencies, PyYAML's pure-Python
`yaml` from its sdist, and, for rpds-py (compiled; only Pyodide's CDN serves it), a pure
STAND-IN, tests/pyodide/rpds_stand_in.py. tests/pyodide/lite_driver.py then does what
Lite does with the README's main.py: registers the script and the functions, runs
Recalculate on the client's JSON of the sample and calls HMIS_ALLOTMENT and
HMIS_SELF_PAY_COST. Both with the xlwings new Lite workbooks name (0.33.15) and with
0.37.8.

`bash tests/pyodide/prepare.sh` downloads all of it once; without node or that download
the tests are skipped with the reason, except under .ci/run (HMIS_REQUIRE_PYODIDE=1),
where they fail instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import xlwings as xw
from xlwings.server import custom_scripts_call

import workbook.lite as lite_main
from policy import adopted_policy_path
from tests.conftest import REPO, SAMPLE
from tests.xlwings_bridge import OFFICE_JS, payload_from_xlsx

HERE = REPO / "tests" / "pyodide"
CACHE = HERE / "cache"
LITE_XLWINGS = "0.33.15"  # what requirements.txt says in a new xlwings Lite workbook
XLWINGS_VERSIONS = (LITE_XLWINGS, "0.37.8")
MAIN_PY = "from workbook.lite import *  # noqa: F403\n"  # the README's main.py
CALLS = [
    {"name": "HMIS_ALLOTMENT", "args": [[[596788]], [[2909430]]]},
    {"name": "HMIS_SELF_PAY_COST", "args": [[[3]], [[2]]]},
]
REQUIRED = os.environ.get("HMIS_REQUIRE_PYODIDE") == "1"


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed (Debian: apt-get install nodejs npm)"
    if not (HERE / "node_modules" / "pyodide" / "pyodide.mjs").is_file():
        return "Pyodide is not downloaded: run bash tests/pyodide/prepare.sh"
    wanted = [f"xlwings-{v}-py3-none-any.whl" for v in XLWINGS_VERSIONS] + ["pyyaml-6.0.2.tar.gz"]
    if not all((CACHE / name).is_file() for name in wanted):
        return "the Python packages are not downloaded: run bash tests/pyodide/prepare.sh"
    return None


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hmis-licensing as its wheel lays it out (pyproject.toml's packages and force-include)."""
    missing = _missing()
    if missing is not None:
        if REQUIRED:
            pytest.fail(f"HMIS_REQUIRE_PYODIDE=1 but {missing}")
        pytest.skip(missing)
    wheel = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = wheel["tool"]["hatch"]["build"]["targets"]["wheel"]
    folder = tmp_path_factory.mktemp("site")
    for package in wheel["packages"]:
        shutil.copytree(
            REPO / package, folder / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    for source, target in wheel["force-include"].items():
        shutil.copy(REPO / source, folder / target)
    return folder


def run_in_pyodide(app: Path, work: Path, xlwings_version: str) -> dict[str, Any]:
    request = {"payload": payload_from_xlsx(SAMPLE, client=OFFICE_JS), "main_py": MAIN_PY}
    request["calls"] = CALLS
    (work / "request.json").write_text(json.dumps(request), encoding="utf-8")
    config = {
        "cache": str(CACHE),
        "xlwings": xlwings_version,
        "app": str(app),
        "work": str(work),
        "tests": str(HERE),
    }
    (work / "config.json").write_text(json.dumps(config), encoding="utf-8")
    run = subprocess.run(
        ["node", str(HERE / "run_lite.mjs"), str(work / "config.json")],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    response = json.loads((work / "response.json").read_text(encoding="utf-8"))
    assert "error" not in response, response.get("traceback")
    return response


def in_cpython() -> tuple[list[dict[str, Any]], str]:
    """The same script on the same JSON in this Python (xlwings' remote engine)."""
    import contextlib
    import io

    book = xw.Book(json=payload_from_xlsx(SAMPLE, client=OFFICE_JS))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        asyncio.run(
            custom_scripts_call(lite_main, "recalculate", typehint_to_value={xw.Book: book})
        )
    return book.json()["actions"], printed.getvalue()


_RUN_AT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
# Where the adopted policy is: inside the installed package, or this repository's file.
_ADOPTED = {"'/app/policy/adopted.yaml", "'" + str(adopted_policy_path())}


def _without_run_at(value: Any) -> Any:
    """Actions with the run's clock time (Run At, in Run Log and Findings History) and the
    adopted policy's path (Run Log's Policy File) masked."""
    if isinstance(value, list):
        return [_without_run_at(v) for v in value]
    if isinstance(value, dict):
        return {k: _without_run_at(v) for k, v in value.items()}
    if isinstance(value, str) and _RUN_AT.match(value):
        return "<Run At>"
    if value in _ADOPTED:
        return "<the adopted policy>"
    return value


@pytest.mark.parametrize("xlwings_version", XLWINGS_VERSIONS)
def test_lite_in_pyodide_gives_what_cpython_gives(
    app: Path, tmp_path: Path, xlwings_version: str
) -> None:
    response = run_in_pyodide(app, tmp_path, xlwings_version)
    assert (response["platform"], response["python"]) == ("emscripten", "3.12.7")
    assert response["xlwings"] == xlwings_version
    assert response["yaml_pure"] is True, "PyYAML without its C extension"
    assert response["rpds_stand_in"] is True, "the stand-in, named as such"
    assert [s["name"] for s in response["scripts"]] == ["Recalculate"]
    assert response["functions"] == [
        "HMIS_ALLOTMENT",
        "HMIS_LICENSE_FINDING",
        "HMIS_POLICY",
        "HMIS_SELF_PAY_COST",
    ]
    assert response["results"] == [[[4]], [[14259]]]  # 596,788 of 2,909,430; 3 for 2 years
    actions, printed = in_cpython()
    assert len(response["actions"]) == len(actions) > 100
    assert _without_run_at(response["actions"]) == _without_run_at(actions)
    assert response["printed"] == printed
    assert "As of 2026-11-24" in printed and "eligible for revocation" in printed
