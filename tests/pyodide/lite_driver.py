"""Inside Pyodide: xlwings Lite's side of a Recalculate and of worksheet function calls.

Run by run_lite.mjs (top-level await: Pyodide's runPythonAsync). It installs PyYAML's
pure-Python `yaml` from its sdist and the rpds STAND-IN (rpds_stand_in.py; Lite gets the
compiled rpds-py from Pyodide's repository), puts hmis-licensing on sys.path, turns Lite's
main.py (from request.json) into the module `main` as Lite does, and calls it through
xlwings.server the way Lite's runtime does (xlwings-server's wasm_runtime.py is its open
twin): `custom_scripts_call` with a Book made from the client's JSON, then
`custom_functions_call` for each function call asked for. response.json gets the actions,
what the script printed, the functions' results and what was installed.
"""

import contextlib
import io
import json
import os
import shutil
import sys
import tarfile
import traceback
import types

os.environ["XLWINGS_LICENSE_KEY"] = "noncommercial"  # xlwings' free key, as Lite has it
site = next(p for p in sys.path if p.endswith("site-packages"))
sdist_path = next(f"/cache/{n}" for n in os.listdir("/cache") if n.startswith("pyyaml-"))
with tarfile.open(sdist_path) as sdist:
    for member in sdist.getmembers():
        parts = member.name.split("/")
        if len(parts) > 3 and parts[1:3] == ["lib", "yaml"] and member.isfile():
            target = os.path.join(site, "yaml", *parts[3:])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with sdist.extractfile(member) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
shutil.copy("/tests/rpds_stand_in.py", os.path.join(site, "rpds.py"))
sys.path.insert(0, "/app")

import rpds  # noqa: E402
import xlwings as xw  # noqa: E402
import xlwings.server  # noqa: E402
import yaml  # noqa: E402

with open("/work/request.json", encoding="utf-8") as source:
    request = json.load(source)
response = {
    "platform": sys.platform,
    "python": sys.version.split()[0],
    "xlwings": xw.__version__,
    "yaml_pure": not getattr(yaml, "__with_libyaml__", False),
    "rpds_stand_in": getattr(rpds, "STAND_IN", False),
}
main = types.ModuleType("main")
try:
    exec(compile(request["main_py"], "main.py", "exec"), main.__dict__)
    sys.modules["main"] = main
    response["scripts"] = xlwings.server.custom_scripts_meta(main)
    response["functions"] = sorted(
        f["name"] for f in xlwings.server.custom_functions_meta(main)["functions"]
    )
    book = xw.Book(json=request["payload"])
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        returned = await xlwings.server.custom_scripts_call(  # noqa: F704
            module=main, script_name="recalculate", typehint_to_value={xw.Book: book}
        )
    response["printed"] = printed.getvalue()
    response["actions"] = returned.json()["actions"]
    response["results"] = []
    for call in request["calls"]:
        data = {
            "func_name": call["name"],
            "args": call["args"],
            "caller_address": "Sheet1!A1",
            "formula_name": call["name"],
            "version": xw.__version__,
            "client": "Office.js",
            "culture_info_name": "en-US",
            "date_format": "yyyy-mm-dd",
            "runtime": "1.4",
        }
        response["results"].append(await xlwings.server.custom_functions_call(data, main))  # noqa: F704
except Exception as exc:
    response["error"] = f"{type(exc).__name__}: {exc}"
    response["traceback"] = traceback.format_exc()
with open("/work/response.json", "w", encoding="utf-8") as out:
    json.dump(response, out, default=str)
