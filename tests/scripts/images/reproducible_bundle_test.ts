/**
 * A bundle's bytes must not depend on where it was built: `deno bundle` names every module in the
 * output (comments, and the keys of CommonJS wrappers in the code), relative to the folder it runs
 * in. Names of files outside the checkout (Deno's npm cache below the builder's home, a temporary
 * folder) made the images' digests and the release's `contrast.js` differ between two checkouts
 * of one commit, so nobody could check a published image lock or release by building it again.
 */
import assert from "node:assert/strict";
import {
  bundleComponent,
  bundleEntry,
  bundleEntrySplit,
  lazyCreateRequire,
  REPO_ROOT,
} from "../../../scripts/images/bundle.ts";
import { COMPONENTS } from "../../../scripts/images/components.ts";
import { ParseError } from "../../../util/errors/mod.ts";
import { withTempDir } from "../../helpers/temp_dir.ts";

/** Every module name `deno bundle` wrote that leaves the checkout or is absolute. */
function outsideNames(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(/^\/\/ (\S+)$/gm)) names.add(m[1]!);
  for (const m of text.matchAll(/"([^"\n]+\.[cm]?js)"\(\)/g)) names.add(m[1]!);
  return [...names].filter((n) => n.startsWith("../") || n.startsWith("/"));
}

Deno.test({
  name: "an image's bundle names no file outside the checkout (same bytes wherever it is built)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withTempDir(async (dir) => {
      const coordinator = COMPONENTS.find((c) => c.name === "coordinator")!;
      const text = await Deno.readTextFile(await bundleComponent(coordinator, dir));
      assert.deepEqual(outsideNames(text).slice(0, 5), []);
      assert.ok(!text.includes(REPO_ROOT), "the checkout's path is in the bundle");
      const denoDir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
      assert.ok(!text.includes(denoDir), "Deno's cache folder is in the bundle");
    }, { prefix: "contrast-bundle-" }),
});

Deno.test({
  name: "a code-split bundle (the release's CLI) names no file outside the checkout in any chunk",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withTempDir(async (dir) => {
      await bundleEntrySplit("cli/main.ts", `${dir}/cli`);
      const chunks = [...Deno.readDirSync(`${dir}/cli`)].map((e) => e.name);
      assert.ok(chunks.includes("main.js") && chunks.length > 10, chunks.join(" "));
      for (const chunk of chunks) {
        const text = await Deno.readTextFile(`${dir}/cli/${chunk}`);
        assert.deepEqual(outsideNames(text).slice(0, 5), [], chunk);
        assert.ok(!text.includes(REPO_ROOT), `the checkout's path is in ${chunk}`);
        assert.ok(!text.includes(dir), `the output folder's path is in ${chunk}`);
      }
    }, { prefix: "contrast-bundle-" }),
});

Deno.test("a bundle of another Deno version than the images' is refused", async () => {
  await assert.rejects(
    bundleEntry("cli/main.ts", "/nonexistent/contrast.js", "2.9.5"),
    (e) => e instanceof ParseError && e.field === "deno" && /2\.9\.5/.test(e.message),
  );
  await assert.rejects(
    bundleEntrySplit("cli/main.ts", "/nonexistent/contrast", "2.9.5"),
    (e) => e instanceof ParseError && e.field === "deno" && /2\.9\.5/.test(e.message),
  );
});

Deno.test("lazyCreateRequire makes deno bundle's require on first call, not when the chunk loads", async () => {
  const eager = "var __create = Object.create;\n" +
    'import { createRequire as __deno_internal_createRequire } from "node:module";\n' +
    "var __require = __deno_internal_createRequire(import.meta.url);\n" +
    "export { __require };\n";
  const lazy = lazyCreateRequire(eager, "chunk-A.js");
  assert.ok(!lazy.includes('node:module";'), lazy);
  assert.ok(!/^import\s/m.test(lazy), lazy);
  // The lazy require still works: it loads Node's module layer when called.
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/chunk.js`, lazy);
    const { __require } = await import(`file://${dir}/chunk.js`);
    assert.equal(typeof __require("node:buffer").Buffer.from, "function");
  });

  const plain = 'console.log("no CommonJS");\n';
  assert.equal(lazyCreateRequire(plain, "main.js"), plain);
  const other = 'import { createRequire as __deno_internal_createRequire } from "node:module";\n' +
    "var __require = __deno_internal_createRequire(new URL(import.meta.url));\n";
  assert.throws(() => lazyCreateRequire(other, "chunk-B.js"), /chunk-B\.js: deno bundle made/);
});
