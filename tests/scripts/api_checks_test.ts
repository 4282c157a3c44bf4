/**
 * The public-API checks on synthetic trees: `scripts/unused_exports.ts` finds exactly the exports
 * no other module imports (named, namespace, dynamic and `typeof import()` uses and the exports
 * map count; uses inside the declaring file do not), and `scripts/check_doc_examples.ts` fails on
 * a public export without an `@example`.
 */
import assert from "node:assert/strict";
import { scanExports, trackedTypeScript } from "../../scripts/unused_exports.ts";
import { findMissingExamples } from "../../scripts/check_doc_examples.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

const SCRIPTS = new URL("../../scripts/", import.meta.url).pathname;

/** Writes `files` (path → source) under `dir`. */
async function writeTree(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    const slash = path.lastIndexOf("/");
    if (slash > 0) await Deno.mkdir(`${dir}/${path.slice(0, slash)}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/${path}`, text);
  }
}

async function run(script: string, root: string): Promise<{ code: number; stdout: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${SCRIPTS}${script}`, "--root", root, "--fail"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
}

async function gitInit(dir: string): Promise<void> {
  const out = await new Deno.Command("git", { args: ["init", "-q"], cwd: dir }).output();
  assert.ok(out.success, "git init");
}

const TREE: Record<string, string> = {
  "deno.json": JSON.stringify({ exports: { ".": "./mod.ts" } }),
  "mod.ts": 'export { published } from "./lib/a.ts";\n',
  "lib/a.ts": [
    "export function published(): number { return 1; }",
    "export function importedByB(): number { return 2; }",
    "export function onlyUsedHere(): number { return 3; }",
    "export const total = onlyUsedHere();",
    "export type Never = never;",
    "",
  ].join("\n"),
  "lib/b.ts": 'import { importedByB, total } from "./a.ts";\nconsole.log(importedByB(), total);\n',
  "lib/c.ts": "export const loadedDynamically = 1;\n",
  "lib/d.ts": "export const viaNamespace = 1;\nexport type ViaTypeof = string;\n",
  "lib/e.ts": "export const viaTypeofImport = 1;\n",
  "main.ts": [
    'const c = await import("./lib/c.ts");',
    'import * as d from "./lib/d.ts";',
    'type E = typeof import("./lib/e.ts");',
    "const e: E | undefined = undefined;",
    "console.log(c, d, e);",
    "",
  ].join("\n"),
};

Deno.test("unused_exports: exactly the exports nobody else imports, public API counted as used", () =>
  withTempDir(async (dir) => {
    await writeTree(dir, TREE);
    await gitInit(dir);
    const root = await Deno.realPath(dir);
    const scan = scanExports(root, await trackedTypeScript(root), ["mod.ts"]);
    assert.deepEqual(
      scan.unused.map((u) => `${u.file}:${u.line} ${u.kind} ${u.name}`),
      ["lib/a.ts:3 value onlyUsedHere", "lib/a.ts:5 type Never"],
    );
    assert.equal(scan.publicApi, 1);
    const cli = await run("unused_exports.ts", root);
    assert.equal(cli.code, 1, "--fail exits 1 when an export is unused");
    assert.match(cli.stdout, /unused exports: 2 \(1 values, 1 types\)/);
  }));

Deno.test("unused_exports: a clean tree passes with --fail, also outside a git checkout", () =>
  withTempDir(async (dir) => {
    await writeTree(dir, {
      "deno.json": JSON.stringify({ exports: "./mod.ts" }),
      "mod.ts": 'import { helper } from "./helper.ts";\nexport const api = helper;\n',
      "helper.ts": "export const helper = 1;\n",
      "dist/stale.ts": "export const notScanned = 1;\n",
    });
    assert.deepEqual(await trackedTypeScript(await Deno.realPath(dir)), ["helper.ts", "mod.ts"]);
    const cli = await run("unused_exports.ts", await Deno.realPath(dir));
    assert.equal(cli.code, 0, cli.stdout);
    assert.match(cli.stdout, /unused exports: 0 /);
  }));

Deno.test("check_doc_examples: names each public export without an @example and fails", () =>
  withTempDir(async (dir) => {
    await writeTree(dir, {
      "deno.json": JSON.stringify({ exports: { ".": "./mod.ts" } }),
      "mod.ts": [
        "/**",
        " * Documented.",
        " *",
        " * @example Use it",
        " * ```ts",
        ' * import { withExample } from "./mod.ts";',
        " * console.log(withExample);",
        " * ```",
        " */",
        "export const withExample = 1;",
        "",
        "/** No example. */",
        "export const withoutExample = 2;",
        "",
      ].join("\n"),
    });
    const root = await Deno.realPath(dir);
    const { exports, missing } = await findMissingExamples(root, ["mod.ts"]);
    assert.equal(exports, 2);
    assert.deepEqual(missing.map((m) => `${m.file}:${m.line} ${m.name}`), [
      "mod.ts:13 withoutExample",
    ]);
    const cli = await run("check_doc_examples.ts", root);
    assert.equal(cli.code, 1);
    assert.match(cli.stdout, /public exports: 2, with @example: 1/);
  }));
