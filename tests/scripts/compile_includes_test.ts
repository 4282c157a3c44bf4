/**
 * `deno task compile` must embed every data file the CLI reads next to its own modules
 * (`new URL("…", import.meta.url)`): the compiled binary has no checkout to read them from. This
 * finds those reads in the CLI's module graph and checks that the task's `--include` flags cover
 * each one, and that the included paths exist.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

interface ModuleInfo {
  readonly specifier: string;
}

async function localModules(entry: string): Promise<URL[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: ModuleInfo[] };
  return info.modules.map((m) => m.specifier).filter((s) => s.startsWith("file:")).map((s) =>
    new URL(s)
  );
}

/** Repository-relative paths of the files modules read relative to themselves. */
async function moduleRelativeReads(modules: readonly URL[]): Promise<string[]> {
  const reads = new Set<string>();
  for (const module of modules) {
    const text = await Deno.readTextFile(module);
    for (const m of text.matchAll(/new URL\(\s*[`"]([^`"]+)[`"]\s*,\s*import\.meta\.url\s*\)/g)) {
      const literal = m[1]!;
      if (literal.endsWith(".ts")) continue;
      // A template such as `./platforms/${platform}.json` reads from its directory.
      const path = literal.includes("${") ? literal.slice(0, literal.indexOf("${")) : literal;
      reads.add(new URL(path, module).pathname.slice(ROOT.pathname.length));
    }
  }
  return [...reads].sort();
}

function compileIncludes(task: string, entry: string): string[] {
  const command = task.split("&&").map((c) => c.trim()).find((c) => c.endsWith(entry));
  assert.ok(command, `the compile task has no command for ${entry}`);
  return [...command.matchAll(/--include\s+(\S+)/g)].map((m) => m[1]!.replace(/\/$/, ""));
}

Deno.test("deno task compile embeds every file the CLI reads next to its modules", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const includes = compileIncludes(config.tasks.compile, "cli/main.ts");
  const reads = await moduleRelativeReads(await localModules("cli/main.ts"));
  for (const expected of ["rego/policy.wasm", "rego/policy.wasm.json", "rego/rules.rego"]) {
    assert.ok(reads.includes(expected), `the CLI no longer reads ${expected}: update this test`);
  }
  for (const read of reads) {
    const covered = includes.some((inc) =>
      read === inc || read.startsWith(`${inc}/`) || `${read}`.replace(/\/$/, "") === inc
    );
    assert.ok(covered, `${read} is read by the CLI but not passed to deno compile --include`);
  }
  for (const inc of includes) {
    await Deno.stat(new URL(inc, ROOT)); // throws when an included path does not exist
  }
});
