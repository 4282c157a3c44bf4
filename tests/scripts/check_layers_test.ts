import assert from "node:assert/strict";
import { type ImportEdge, layerViolations } from "../../scripts/check_layers.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

const SCRIPT = new URL("../../scripts/check_layers.ts", import.meta.url).pathname;

function edge(from: string, to: string, dynamic = false): ImportEdge {
  return { from, to, dynamic };
}

/** Writes `files` (path → source) under `dir`. */
async function writeTree(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(`${dir}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/${path}`, text);
  }
}

async function runCheck(root: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, "--root", root],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("a synthetic cycle between two library folders fails the check, naming both imports", () =>
  withTempDir(async (dir) => {
    await writeTree(dir, {
      "alpha/a.ts": 'import { b } from "../beta/b.ts";\nexport const a = () => b;\n',
      "beta/b.ts":
        'import type { a } from "../alpha/a.ts";\nexport const b = 1 as unknown as typeof a;\n',
    });
    const result = await runCheck(dir);
    assert.equal(result.code, 1, result.stdout);
    assert.match(
      result.stderr,
      /import cycle between folders alpha\/ -> beta\/ -> alpha\/ \(alpha\/a\.ts -> beta\/b\.ts; beta\/b\.ts -> alpha\/a\.ts/,
    );
  }));

Deno.test("the same tree without the back edge passes", () =>
  withTempDir(async (dir) => {
    await writeTree(dir, {
      "alpha/a.ts": 'import { b } from "../beta/b.ts";\nexport const a = () => b;\n',
      "beta/b.ts": "export const b = 1;\n",
    });
    const result = await runCheck(dir);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /no cycle/);
  }));

Deno.test("a cycle around three folders is found", () => {
  const violations = layerViolations([
    edge("a/x.ts", "b/y.ts"),
    edge("b/y.ts", "c/z.ts"),
    edge("c/z.ts", "a/w.ts"),
  ]);
  assert.equal(violations.length, 1);
  assert.match(violations[0]!, /^import cycle between folders a\/ -> b\/ -> c\/ -> a\//);
});

Deno.test("a library importing an application is refused", () => {
  const [violation] = layerViolations([edge("protocol/s.ts", "coordinator/http/errors.ts")]);
  assert.match(violation!, /a library \(protocol\/\) imports an application \(coordinator\/\)/);
});

Deno.test("an application importing another application's internals is refused", () => {
  const [violation] = layerViolations([edge("initializer/run.ts", "coordinator/main.ts")]);
  assert.match(violation!, /an application imports another application/);
});

Deno.test("production code importing a development aid is refused, simulators included", () => {
  const violations = layerViolations([
    edge("snp/mod.ts", "testing/snp/mod.ts"),
    edge("evidence/config.ts", "testing/simulated_evidence.ts", true),
    edge("coordinator/main.ts", "testing/simulated_evidence.ts"),
    edge("scripts/bench.ts", "tests/helpers/registry.ts"),
  ]);
  assert.equal(violations.length, 4, violations.join("\n"));
  assert.match(violations.join("\n"), /a library \(snp\/\) imports a testing aid \(testing\/\)/);
  assert.match(
    violations.join("\n"),
    /a development tool \(scripts\/\) imports a test \(tests\/\)/,
  );
});

Deno.test("only the listed dynamic load of the simulated TEE by an application is allowed", () => {
  assert.deepEqual(
    layerViolations([
      edge("coordinator/main.ts", "testing/simulated_evidence.ts", true),
      edge("initializer/main.ts", "testing/simulated_evidence.ts", true),
      edge("testing/simulation/deployment.ts", "deploy/generate.ts"),
      edge("tests/x_test.ts", "testing/snp/mod.ts"),
      edge("tests/x_test.ts", "scripts/check_layers.ts"),
      edge("cli/main.ts", "snp/mod.ts"),
    ]),
    [],
  );
});

Deno.test("the repository itself is layered", async () => {
  const result = await runCheck(new URL("../../", import.meta.url).pathname);
  assert.equal(result.code, 0, result.stderr);
});

Deno.test("production code importing a restricted test-only entry point is refused, its own wrapper and development aids are not", () => {
  const violations = layerViolations([
    edge("protocol/hpke.ts", "protocol/hpke_seal_core.ts"),
    edge("coordinator/coordinator.ts", "protocol/hpke_seal_core.ts"),
    edge("protocol/hpke_seal.ts", "protocol/hpke_seal_core.ts"),
    edge("testing/hpke_seal_vectors.ts", "protocol/hpke_seal_core.ts"),
    edge("tests/protocol/hpke_seal_test.ts", "protocol/hpke_seal_core.ts"),
  ]);
  assert.deepEqual(violations, [
    "coordinator/coordinator.ts imports protocol/hpke_seal_core.ts: only protocol/hpke_seal.ts and development aids may import it (a test-only entry point)",
    "protocol/hpke.ts imports protocol/hpke_seal_core.ts: only protocol/hpke_seal.ts and development aids may import it (a test-only entry point)",
  ]);
});
