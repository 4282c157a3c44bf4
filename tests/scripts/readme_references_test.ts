/**
 * The READMEs' references stay true: every repository path they name exists, every `deno task`
 * they name is a task of deno.json, and the README's test command is the one `.ci/run` runs.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);
const DOCUMENTS = ["README.md", "ARCHITECTURE.md", "examples/emojivoto/README.md"];

/** The top-level folders of the repository (a path naming one of them must exist). */
function topLevelFolders(): string[] {
  return [...Deno.readDirSync(ROOT)]
    .filter((e) => e.isDirectory && !e.name.startsWith("."))
    .map((e) => e.name);
}

/**
 * Every `folder/…` path in `text` that starts a token (not `../shared/…`, not the tail of a URL
 * or of another path), without patterns (`*`, `<…>`, `{…}`) and trailing punctuation.
 */
function repositoryPaths(text: string, folders: readonly string[]): string[] {
  const pattern = new RegExp(
    `(?<![\\w./@:-])(?:${folders.join("|")})/[\\w./-]*`,
    "g",
  );
  const paths = new Set<string>();
  for (const match of text.matchAll(pattern)) {
    const next = text[match.index + match[0].length] ?? "";
    if ("*<{".includes(next) && next !== "") continue;
    paths.add(match[0].replace(/[.]+$/, ""));
  }
  return [...paths].sort();
}

function exists(path: string): boolean {
  try {
    Deno.statSync(new URL(path, ROOT));
    return true;
  } catch {
    return false;
  }
}

Deno.test("every repository path the READMEs name exists", () => {
  const folders = topLevelFolders();
  const missing: string[] = [];
  let checked = 0;
  for (const document of DOCUMENTS) {
    const text = Deno.readTextFileSync(new URL(document, ROOT));
    for (const path of repositoryPaths(text, folders)) {
      checked++;
      if (!exists(path)) missing.push(`${document}: ${path}`);
    }
  }
  assert.deepEqual(missing, []);
  assert.ok(checked > 200, `only ${checked} paths found: is the pattern still right?`);
});

Deno.test("repositoryPaths skips patterns, URLs and paths outside the repository", () => {
  const text = "`tests/a_test.ts`, scripts/b.ts. `scripts/bench_*.ts` `../shared/snp/x` " +
    "https://example.com/tdx/v4 `contrast/coordinator/v1` `policy/platforms/<Platform>.json`";
  assert.deepEqual(repositoryPaths(text, ["tests", "scripts", "snp", "tdx", "policy"]), [
    "scripts/b.ts",
    "tests/a_test.ts",
  ]);
});

Deno.test("every deno task the READMEs name is a task of deno.json", () => {
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT)));
  const tasks = new Set(Object.keys(config.tasks));
  for (const document of DOCUMENTS) {
    const text = Deno.readTextFileSync(new URL(document, ROOT));
    for (const [, task] of text.matchAll(/deno(?:@[\d.]+)? task ([\w:-]+)/g)) {
      assert.ok(tasks.has(task!), `${document}: deno task ${task} is not in deno.json`);
    }
  }
});

Deno.test("the README's test command is the one .ci/run runs", () => {
  const ci = Deno.readTextFileSync(new URL(".ci/run", ROOT));
  const version = /^DENO_VERSION=(\S+)$/m.exec(ci)?.[1];
  assert.ok(version, ".ci/run pins DENO_VERSION");
  assert.match(ci, /^npx --yes "deno@\$\{DENO_VERSION\}" task test /m);
  const readme = Deno.readTextFileSync(new URL("README.md", ROOT));
  const start = readme.indexOf("## Quick start");
  const quickStart = readme.slice(start, readme.indexOf("\n## ", start));
  assert.ok(
    quickStart.includes(`\nnpx --yes deno@${version} task test\n`),
    `the Quick start runs npx --yes deno@${version} task test`,
  );
  assert.ok(quickStart.includes(`\nnpx --yes deno@${version} task demo\n`), "and the demo");
});
