/**
 * `deno bundle` of contrast's entry points: one self-contained JavaScript file per program, with
 * every asset it reads embedded (JSON/bytes imports), runnable with `deno run` anywhere.
 *
 * The bytes depend only on the source tree, `deno.lock` and the Deno version, not on where they
 * are built: `deno bundle` names every module in its output (a comment per module, and the key of
 * each CommonJS wrapper in the code) by its path relative to the folder it runs in, so the bundle
 * runs in the repository root, takes npm packages from a `node_modules` folder there
 * (`--node-modules-dir=auto`, filled from Deno's cache; it is in `.gitignore`) rather than from
 * Deno's cache below the builder's home, and names no file outside the checkout. The packages are
 * exactly `deno.lock`'s (`--frozen-lockfile`: a lock that would need a change stops the build),
 * and the Deno that bundles must be the one the images run (`pins.json`), whose bundler the
 * published digests come from.
 *
 * @module
 */
import { ParseError } from "../../util/errors/mod.ts";
import type { Component } from "./components.ts";
import { PINS } from "./inputs.ts";

/** The repository root (with a trailing slash). */
export const REPO_ROOT: string = new URL("../../", import.meta.url).pathname;

/**
 * Bundles `component` into `outDir/<name>.js`; returns the path.
 *
 * @throws {Error} with deno's output when bundling fails
 */
export async function bundleComponent(component: Component, outDir: string): Promise<string> {
  return await bundleEntry(component.entry, `${outDir}/${component.name}.js`);
}

/**
 * Bundles the module `entry` (relative to the repository root, or absolute; give a path inside
 * the checkout, since the bundle names it) into `out`. `denoVersion` is the Deno that bundles
 * (this one).
 *
 * @throws {ParseError} naming `deno` when that is not the version `pins.json` pins
 * @throws {Error} with deno's output when bundling fails
 */
export async function bundleEntry(
  entry: string,
  out: string,
  denoVersion: string = Deno.version.deno,
): Promise<string> {
  checkBundler(denoVersion);
  await Deno.mkdir(out.slice(0, out.lastIndexOf("/")) || "/", { recursive: true });
  await runBundler(entry, ["-o", out]);
  return out;
}

/**
 * Bundles the module `entry` (as for `bundleEntry`) with code splitting into the folder `outDir`:
 * `<entry's name>.js` and one chunk per dynamically imported module and per shared part, each
 * named by a hash of its content, so a program loads only the chunks its path imports; the
 * `require` of bundled CommonJS modules is made on its first call (`lazyCreateRequire`).
 * `denoVersion` is the Deno that bundles (this one).
 *
 * @throws {ParseError} naming `deno` when that is not the version `pins.json` pins
 * @throws {Error} with deno's output when bundling fails
 */
export async function bundleEntrySplit(
  entry: string,
  outDir: string,
  denoVersion: string = Deno.version.deno,
): Promise<string> {
  checkBundler(denoVersion);
  await Deno.mkdir(outDir, { recursive: true });
  await runBundler(entry, ["--code-splitting", "--outdir", outDir]);
  for await (const chunk of Deno.readDir(outDir)) {
    const path = `${outDir}/${chunk.name}`;
    const text = await Deno.readTextFile(path);
    const lazy = lazyCreateRequire(text, chunk.name);
    if (lazy !== text) await Deno.writeTextFile(path, lazy);
  }
  return outDir;
}

/** The `require` that `deno bundle` gives CommonJS modules, made when the bundle loads. */
const EAGER_REQUIRE =
  `import { createRequire as __deno_internal_createRequire } from "node:module";\n` +
  "var __require = __deno_internal_createRequire(import.meta.url);\n";

/** The same `require`, made on its first call. */
const LAZY_REQUIRE = "var __deno_internal_require;\n" +
  "var __require = (id) => (__deno_internal_require ??= globalThis.process.getBuiltinModule(" +
  `"node:module").createRequire(import.meta.url))(id);\n`;

/**
 * `text` (a chunk of a code-split bundle) with the `require` of its CommonJS modules made on first
 * use: `deno bundle` puts its helpers in one chunk that nearly every other chunk imports, and
 * that chunk imports `node:module` to make `require` when it loads, which loads Deno's Node layer
 * into every process (a TDX `evidence verify` of the release 56 against 40 ms CPU, `--help` 41
 * against 38 ms), though only the npm packages of some commands call it. `name` is the chunk's, for
 * errors.
 *
 * @throws {Error} naming the chunk when it makes `require` in another form than `deno bundle`'s
 *
 * @example
 * ```ts
 * lazyCreateRequire('console.log("no CommonJS");\n', "main.js"); // the same text
 * ```
 */
export function lazyCreateRequire(text: string, name: string): string {
  if (!text.includes("__deno_internal_createRequire")) return text;
  const lazy = text.replace(EAGER_REQUIRE, LAZY_REQUIRE);
  if (lazy.includes("__deno_internal_createRequire")) {
    throw new Error(`${name}: deno bundle made require in a form this build does not know`);
  }
  return lazy;
}

/** Throws unless `denoVersion` is the Deno that `pins.json` pins. */
function checkBundler(denoVersion: string): void {
  if (denoVersion !== PINS.deno.version) {
    throw new ParseError(
      "deno",
      `bundling with Deno ${denoVersion}, but the images run Deno ${PINS.deno.version} ` +
        "(scripts/images/pins.json) and their published digests come from its bundler; " +
        `run the build with Deno ${PINS.deno.version} (npx --yes deno@${PINS.deno.version} task …)`,
    );
  }
}

/** Runs `deno bundle` of `entry` with `output` (the options naming where it writes). */
async function runBundler(entry: string, output: readonly string[]): Promise<void> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--config",
      `${REPO_ROOT}deno.json`,
      "--node-modules-dir=auto",
      "--frozen-lockfile",
      ...output,
      entry,
    ],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(`deno bundle ${entry} failed: ${new TextDecoder().decode(result.stderr)}`);
  }
}
