/**
 * contrast deploys only its own components: no file of the deploying code, the shipped settings
 * or the example names another project's images (`ghcr.io/edgelesssys/…`, which speak another
 * protocol than contrast's Coordinator).
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);
const FOLDERS = ["deploy", "policy", "examples", "cli", "coordinator", "initializer", "meshproxy"];

async function* files(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.isDirectory ? `${entry.name}/` : entry.name, dir);
    if (entry.isDirectory) yield* files(url);
    else if (entry.isFile && !entry.name.endsWith(".wasm")) yield url;
  }
}

Deno.test("no deploying code, setting or example names ghcr.io/edgelesssys images", async () => {
  const found: string[] = [];
  for (const folder of FOLDERS) {
    for await (const file of files(new URL(`${folder}/`, ROOT))) {
      if ((await Deno.readTextFile(file)).includes("ghcr.io/edgelesssys")) {
        found.push(file.pathname.slice(ROOT.pathname.length));
      }
    }
  }
  assert.deepEqual(found, []);
});
