/**
 * Runs every benchmark the repository has and prints one table of the ratios they measured, with
 * the load average before and after each, so a reviewer can rerun the whole picture in one
 * command (`deno task bench:all`).
 *
 * - `deno bench` files (`**\/*_bench.ts`): run with `--json`; for every group with a baseline the
 *   ratio is baseline average / bench average (1.0 = as fast as the baseline).
 * - Ratio scripts (`bench/*\/*.ts` with a main, `scripts/bench_*.ts`, `scripts/load_test.ts`): run as
 *   processes; their `ratio` lines (the ratios each computes against a baseline of the same run)
 *   are copied into the table.
 *
 * Every benchmark asserts the path it measures before timing (its own checks); a benchmark that
 * exits non-zero is reported as FAILED and makes this script exit 1. Ratios are never asserted
 * here: the table is for reading, not a timed test.
 *
 * Usage: `deno run -A scripts/bench.ts [--quick] [--only SUBSTRING]`
 *
 * @module
 */
import { exitOnBadOptions } from "../bench/script_options.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const quick = Deno.args.includes("--quick");
const onlyIndex = Deno.args.indexOf("--only");
const only = onlyIndex >= 0 ? Deno.args[onlyIndex + 1] : undefined;

/** One benchmark process to run. */
interface Benchmark {
  /** Label in the table (the file). */
  readonly name: string;
  /** Arguments after `deno`. */
  readonly args: readonly string[];
  /** `deno bench --json` output (ratios computed here) or a script printing ratio lines. */
  readonly kind: "deno-bench" | "script";
}

/** One row of the table. */
interface Row {
  readonly name: string;
  readonly ok: boolean;
  readonly seconds: number;
  readonly loadBefore: number;
  readonly loadAfter: number;
  readonly ratios: readonly string[];
}

function script(path: string, ...args: string[]): Benchmark {
  return { name: path, args: ["run", "-A", `${ROOT}${path}`, ...args], kind: "script" };
}

async function benchmarks(): Promise<Benchmark[]> {
  const list: Benchmark[] = [];
  for await (const path of walk(ROOT, (p) => p.endsWith("_bench.ts"))) {
    list.push({
      name: path,
      args: ["bench", "-A", "--json", `${ROOT}${path}`],
      kind: "deno-bench",
    });
  }
  list.push(
    script("bench/snp/ratio.ts"),
    script("bench/cli/cold_start.ts", "--rounds", quick ? "3" : "9"),
    script(
      "bench/meshproxy/ratio.ts",
      ...(quick ? ["--rounds", "2", "--megabytes", "8", "--warmup-megabytes", "16"] : []),
    ),
    script("bench/transit/ratio.ts", ...(quick ? ["--rounds", "2", "--requests", "100"] : [])),
    script("bench/coordinator/ha_ratio.ts", ...(quick ? ["--initializers", "60"] : [])),
    // The Coordinator's floor: its connection layer alone, and its request handling alone,
    // each against the crypto bound (issue 18's CPU goal).
    script(
      "bench/coordinator_floor/ratio.ts",
      ...(quick ? ["--rounds", "2", "--connections", "200"] : []),
    ),
    script(
      "bench/coordinator_floor/app_cpu.ts",
      ...(quick ? ["--rounds", "2", "--attestations", "150"] : []),
    ),
    // Every concurrency 1–16 in one run (CPU ratio), then the open-loop step search: the load the
    // machine sustains and its p99; the Coordinator and the generator pinned to separate CPUs.
    script(
      "scripts/load_test.ts",
      "--sweep",
      "--initializers",
      quick ? "60" : "300",
      "--rounds",
      "3",
      "--warmup",
      quick ? "30" : "200",
    ),
    script("scripts/bench_generate.ts", quick ? "200" : "1000"),
    script("scripts/bench_policy_check.ts"),
    script("scripts/bench_policy_vs_opa.ts", quick ? "1" : "3"),
    script("scripts/bench_policy_baseline.ts", "--rounds", quick ? "5" : "15"),
  );
  return list.filter((b) => only === undefined || b.name.includes(only));
}

/** Repository-relative paths of files under `dir` matching `keep` (skips dot folders, deps). */
async function* walk(dir: string, keep: (path: string) => boolean, rel = ""): AsyncGenerator<
  string
> {
  const entries = [];
  for await (const e of Deno.readDir(`${dir}${rel}`)) entries.push(e);
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    if (e.name.startsWith(".") || e.name === "node_modules" || e.name === "dist") continue;
    const path = `${rel}${e.name}`;
    if (e.isDirectory) yield* walk(dir, keep, `${path}/`);
    else if (e.isFile && keep(path)) yield path;
  }
}

interface DenoBenchJson {
  readonly benches: readonly {
    readonly name: string;
    readonly group?: string | null;
    readonly baseline: boolean;
    readonly results: readonly { readonly ok?: { readonly avg: number } }[];
  }[];
}

/** Ratios of a `deno bench --json` run: per group, baseline avg / each other bench's avg. */
export function denoBenchRatios(json: DenoBenchJson): string[] {
  const lines: string[] = [];
  const groups = new Map<string, DenoBenchJson["benches"][number][]>();
  for (const b of json.benches) {
    const key = b.group ?? "";
    groups.set(key, [...groups.get(key) ?? [], b]);
  }
  for (const [group, benches] of groups) {
    const base = benches.find((b) => b.baseline)?.results[0]?.ok?.avg;
    for (const b of benches) {
      const avg = b.results[0]?.ok?.avg;
      if (b.baseline || avg === undefined) continue;
      const us = (avg / 1000).toFixed(1);
      lines.push(
        base === undefined
          ? `${b.name}: ${us} µs (no baseline in group ${group || "-"})`
          : `${b.name}: ratio ${(base / avg).toFixed(3)} (${us} µs vs ${
            (base / 1000).toFixed(1)
          } µs)`,
      );
    }
  }
  return lines;
}

/**
 * The lines of a script's output that state a ratio (or a goal verdict), and the load test's
 * warnings that its load generator, not the Coordinator, was the bottleneck.
 */
export function ratioLines(stdout: string): string[] {
  return stdout.split("\n").map((l) => l.trim()).filter((l) =>
    /ratio|×|goal|GENERATOR-BOUND/i.test(l)
  );
}

async function run(b: Benchmark): Promise<Row> {
  const loadBefore = Deno.loadavg()[0]!;
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...b.args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - started) / 1000;
  const stdout = new TextDecoder().decode(out.stdout);
  let ratios: string[];
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3);
    ratios = [`FAILED (exit ${out.code}): ${stderr.join(" | ")}`];
  } else if (b.kind === "deno-bench") {
    ratios = denoBenchRatios(JSON.parse(stdout) as DenoBenchJson);
  } else {
    ratios = ratioLines(stdout);
  }
  return {
    name: b.name,
    ok: out.success,
    seconds,
    loadBefore,
    loadAfter: Deno.loadavg()[0]!,
    ratios: ratios.length > 0 ? ratios : ["(printed no ratio)"],
  };
}

if (import.meta.main) {
  exitOnBadOptions(Deno.args, {
    usage: "deno run -A scripts/bench.ts [options]",
    options: [
      { name: "--quick", help: "shorter runs of every benchmark" },
      {
        name: "--only",
        value: "string",
        help: "only the benchmarks whose file contains SUBSTRING",
      },
    ],
  });
  const rows: Row[] = [];
  for (const b of await benchmarks()) {
    console.error(`running ${b.name} …`);
    rows.push(await run(b));
  }
  console.log(`| benchmark | load avg before→after | s | ratios (same run) |`);
  console.log(`|---|---|---|---|`);
  for (const r of rows) {
    const load = `${r.loadBefore.toFixed(1)}→${r.loadAfter.toFixed(1)}`;
    console.log(
      `| ${r.name} | ${load} | ${r.seconds.toFixed(0)} | ${r.ratios.join("<br>")} |`,
    );
  }
  console.log(`\ncores: ${navigator.hardwareConcurrency}`);
  if (rows.some((r) => !r.ok)) Deno.exitCode = 1;
}
