#!/usr/bin/env bash
# Download, once, what tests/test_excel_pyodide.py needs, so that the test itself runs
# offline: Pyodide (the npm package, into node_modules/) and the Python packages xlwings
# Lite would install (into cache/): both xlwings versions the test runs, jsonschema and
# the pure-Python packages under it (at the versions Pyodide 0.27.5 ships), and PyYAML's
# sdist (its pure-Python `yaml`). rpds-py is compiled and has no wheel on PyPI for
# Pyodide; the test uses rpds_stand_in.py instead. .ci/run runs this; so can you:
#
#     bash tests/pyodide/prepare.sh
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
mkdir -p cache
python=${PYTHON:-python3}
fetch() {  # pure wheels, as they would be chosen for Pyodide's Python 3.12
    "$python" -m pip download --quiet --no-deps --only-binary :all: --implementation py \
        --python-version 3.12 --platform emscripten_3_1_58_wasm32 --dest cache "$@"
}
fetch xlwings==0.33.15
fetch xlwings==0.37.8
fetch jsonschema==4.21.1 jsonschema-specifications==2023.12.1 referencing==0.34.0 attrs==23.2.0
"$python" -m pip download --quiet --no-deps --no-binary :all: --dest cache pyyaml==6.0.2
echo "tests/pyodide: Pyodide $(node -p 'require("./node_modules/pyodide/package.json").version') and $(ls cache | wc -l) packages ready"
