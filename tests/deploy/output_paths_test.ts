import assert from "node:assert/strict";
import { outputPaths } from "../../deploy/output_paths.ts";
import { InvalidDocumentError } from "../../util/errors/mod.ts";

Deno.test("-o out /abs/path.yaml writes out/path.yaml, not out/abs/path.yaml", () => {
  assert.deepEqual(outputPaths(["/abs/path.yaml"], ["/abs/path.yaml"], "out"), ["out/path.yaml"]);
  assert.deepEqual(outputPaths(["../x/app.yml"], ["../x/app.yml"], "out/"), ["out/app.yml"]);
});

Deno.test("files found in a directory keep their path below it; stdin is stdin.yml", () => {
  assert.deepEqual(
    outputPaths(["/srv/k8s/a.yml", "/srv/k8s/sub/b.yaml", "-"], ["/srv/k8s", "-"], "/tmp/o"),
    ["/tmp/o/a.yml", "/tmp/o/sub/b.yaml", "/tmp/o/stdin.yml"],
  );
});

Deno.test("two inputs that would land on the same output path are refused", () => {
  assert.throws(
    () => outputPaths(["/a/app.yml", "/b/app.yml"], ["/a/app.yml", "/b/app.yml"], "out"),
    (e: unknown) =>
      e instanceof InvalidDocumentError && e.issues[0]!.path === "/b/app.yml" &&
      /would be written to out\/app\.yml, like \/a\/app\.yml/.test(e.issues[0]!.reason),
  );
});
