/**
 * Every benchmark and script that takes options prints its usage on `--help` (exit 0, before any
 * work) and refuses an unknown option with exit 2 naming it.
 */
import { ok, strictEqual } from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

/** Entry points, relative to the repository root. */
const SCRIPTS: readonly string[] = [
  "scripts/load_test.ts",
  "scripts/bench.ts",
  "scripts/bench_generate.ts",
  "scripts/bench_policy_check.ts",
  "scripts/bench_client_gone.ts",
  "bench/cli/cold_start.ts",
  "bench/coordinator/ha_ratio.ts",
  "bench/coordinator_floor/app_cpu.ts",
  "bench/coordinator_floor/ratio.ts",
  "bench/meshproxy/ratio.ts",
  "bench/meshproxy/flood.ts",
  "bench/transit/ratio.ts",
  "bench/transit/held_bodies.ts",
  "bench/tdx/pcs_path.ts",
  "scripts/bench_policy_baseline.ts",
  "scripts/bench_policy_vs_opa.ts",
];

async function run(script: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

for (const script of SCRIPTS) {
  Deno.test(`${script} --help prints the usage and exits 0`, async () => {
    const r = await run(script, "--help");
    strictEqual(r.code, 0, r.stderr);
    ok(r.stdout.startsWith("Usage: "), r.stdout);
    ok(r.stdout.includes("--help"), r.stdout);
  });
  Deno.test(`${script} refuses an unknown option with exit 2`, async () => {
    const r = await run(script, "--no-such-option");
    strictEqual(r.code, 2, r.stdout + r.stderr);
    ok(r.stderr.includes("--no-such-option"), r.stderr);
  });
}
