// Runs xlwings Lite's side of a call in real Pyodide (the npm package), offline.
//
//   node run_lite.mjs CONFIG.json
//
// CONFIG names: "cache" (the wheels and the PyYAML sdist prepare.sh downloaded), "xlwings"
// (the version to install, e.g. "0.33.15"), "app" (hmis-licensing laid out as its wheel
// is), "work" (request.json in, response.json out) and "tests" (this folder, for the rpds
// stand-in). Wheels are unpacked into Pyodide's site-packages as micropip would; folders
// are mounted with NODEFS; then lite_driver.py runs as Lite runs a script and functions.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { loadPyodide } from "pyodide";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
process.on("uncaughtException", (error) => {
  console.error(`run_lite.mjs: ${error.message}`); // not the minified source of Pyodide
  process.exit(1);
});
const pyodide = await loadPyodide({
  stdout: (text) => console.log(text),
  stderr: (text) => console.error(text),
});
for (const name of readdirSync(config.cache).sort()) {
  if (!name.endsWith(".whl")) continue;
  if (name.startsWith("xlwings-") && !name.startsWith(`xlwings-${config.xlwings}-`)) continue;
  pyodide.unpackArchive(new Uint8Array(readFileSync(path.join(config.cache, name))), "wheel");
}
for (const [folder, mountPoint] of [
  [config.cache, "/cache"],
  [config.app, "/app"],
  [config.work, "/work"],
  [config.tests, "/tests"],
]) {
  pyodide.FS.mkdirTree(mountPoint);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: folder }, mountPoint);
}
try {
  await pyodide.runPythonAsync(readFileSync(path.join(config.tests, "lite_driver.py"), "utf8"));
} catch (error) {
  console.error(`run_lite.mjs: ${error.message}`);
  process.exit(1);
}
