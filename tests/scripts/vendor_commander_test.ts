/**
 * `cli/vendor/commander.js` is exactly what `scripts/vendor_commander.ts` writes for the commander
 * version `deno.json` pins: the package's code, with only `node:fs` and `node:child_process`
 * replaced by stubs that throw (nobody edits the vendored file by hand, and a version bump in
 * `deno.json` without regenerating it fails here).
 */
import assert from "node:assert/strict";
import { VENDORED_COMMANDER, vendoredCommanderSource } from "../../scripts/vendor_commander.ts";
import { Command } from "../../cli/commander.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("cli/vendor/commander.js is the bundle of the pinned commander with the stubs", async () => {
  const committed = await Deno.readTextFile(`${ROOT}${VENDORED_COMMANDER}`);
  const fresh = await vendoredCommanderSource();
  // Line by line first, so a failure names the first line that differs.
  const a = committed.split("\n");
  const b = fresh.split("\n");
  const first = a.findIndex((line, i) => line !== b[i]);
  assert.equal(first, -1, `line ${first + 1}: ${a[first]} | regenerated: ${b[first]}`);
  assert.equal(committed, fresh, "run deno run -A scripts/vendor_commander.ts");
});

Deno.test("the vendored commander imports neither node:fs nor node:child_process", async () => {
  const text = await Deno.readTextFile(`${ROOT}${VENDORED_COMMANDER}`);
  const imports = text.split("\n").filter((line) => /^import\b/.test(line));
  assert.ok(imports.length >= 3, imports.join("\n"));
  assert.deepEqual(imports.filter((line) => /node:(fs|child_process)["/]/.test(line)), []);
});

Deno.test("an executable subcommand fails loudly instead of running anything", () => {
  const program = new Command("demo").exitOverride();
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  program.command("tool", "a command in a file of its own");
  assert.throws(
    () => program.parse(["tool"], { from: "user" }),
    /contrast has no executable subcommands/,
  );
});

Deno.test("the vendored commander carries the package's MIT copyright and permission notice", async () => {
  const text = await Deno.readTextFile(`${ROOT}${VENDORED_COMMANDER}`);
  const header = text.slice(0, text.indexOf("function noExecutableSubcommands"));
  assert.match(header, /^\/\/ Copyright \(c\) \d{4} TJ Holowaychuk/m);
  assert.match(header, /^\/\/ The above copyright notice and this permission notice shall be$/m);
});
