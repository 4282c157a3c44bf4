/**
 * `deno task compile` and the bundles embed only modules: every data file a program needs must
 * be imported (JSON, text or bytes imports), never read next to its module through
 * `new URL("…", import.meta.url)`, which works in a checkout but not in a compiled binary, a
 * bundle or an image. This walks each entry point's module graph and finds such reads, and checks
 * that the compile task builds the three programs without `--include` and without `-A` for the
 * Coordinator and the initializer.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);
const ENTRIES = ["cli/main.ts", "coordinator/main.ts", "initializer/main.ts"];

async function localModules(entry: string): Promise<URL[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  return info.modules.map((m) => m.specifier).filter((s) => s.startsWith("file:")).map((s) =>
    new URL(s)
  );
}

/** `file: literal` for every data file a module reads relative to itself. */
async function moduleRelativeReads(modules: readonly URL[]): Promise<string[]> {
  const reads: string[] = [];
  for (const module of modules) {
    if (!module.pathname.endsWith(".ts")) continue; // JSON, wasm, rego imported as data
    const text = await Deno.readTextFile(module);
    for (const m of text.matchAll(/new URL\(\s*[`"]([^`"]+)[`"]\s*,\s*import\.meta\.url\s*\)/g)) {
      if (m[1]!.endsWith(".ts")) continue;
      reads.push(`${module.pathname.slice(ROOT.pathname.length)}: ${m[1]}`);
    }
  }
  return reads;
}

for (const entry of ENTRIES) {
  Deno.test(`${entry} reads no data file next to its modules: every asset is imported`, async () => {
    const modules = await localModules(entry);
    assert.deepEqual(await moduleRelativeReads(modules), []);
    if (entry === "cli/main.ts") {
      const imported = modules.map((m) => m.pathname.slice(ROOT.pathname.length));
      for (const asset of ["rego/policy.wasm", "rego/policy.wasm.json", "rego/rules.rego"]) {
        assert.ok(imported.includes(asset), `the CLI no longer imports ${asset}`);
      }
      assert.ok(imported.includes("policy/settings.json"));
      assert.ok(imported.some((p) => p.startsWith("policy/platforms/")));
    }
  });
}

Deno.test("deno task compile builds the three programs; only the CLI gets -A and the task's V8 flags", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const commands = (config.tasks.compile as string).split("&&").map((c) => c.trim());
  for (const entry of ENTRIES) {
    const command = commands.find((c) => c.endsWith(entry));
    assert.ok(command, `the compile task has no command for ${entry}`);
    assert.doesNotMatch(command, /--include/);
    if (entry !== "cli/main.ts") assert.doesNotMatch(command, / -A /);
  }
  // The compiled CLI runs with the V8 flags of `deno task contrast` (the young generation's size:
  // README, issue 18's generate figures), so users of either get the same heap.
  const v8Flags = (command: string) =>
    command.split(/\s+/).filter((w) => w.startsWith("--v8-flags"));
  const cliCompile = commands.find((c) => c.endsWith("cli/main.ts"))!;
  assert.deepEqual(v8Flags(cliCompile), v8Flags(config.tasks.contrast as string));
  assert.notDeepEqual(v8Flags(cliCompile), []);
});
