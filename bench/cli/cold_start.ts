/**
 * Cold-start cost of the `contrast` CLI as whole processes: CPU time (user + system, from bash's
 * `times` for the child) of `contrast --help`, `contrast verify --help` and `contrast evidence
 * verify` (SNP and TDX, real evidence from `../shared/conformance`, offline) against a bare
 * `deno run` of an empty script, interleaved round by round in the same run. Prints the medians
 * and the ratio to the baseline's median (goal: ≤ 3×). Before timing, each command's output is
 * checked (the help it names; for `evidence verify` the `--json` verdict: verified, the platform,
 * the pinned vendor root, and for TDX the PCK revocation check), and every timed run's exit code
 * is checked, so the benchmark fails loudly when a command takes another path than it names.
 *
 * `--release DIR` (repeatable) adds the same rows for a release folder (`deno task release`):
 * its CLI (`contrast/contrast.js`, the code-split bundle, or `contrast.js`, a one-file bundle of
 * an older release) run with the `deno run` options of the `contrast:release` task, or with the `deno run` options
 * given after `@` (`--release 'DIR@-A --v8-flags=--no-lazy'`), from an empty folder, each variant
 * with a `DENO_DIR` of its own (runs whose V8 flags differ share no code cache). Its rows carry a
 * ratio to the first release's same row too, interleaved in the same rounds. `--no-tree` leaves
 * out the source tree's rows.
 *
 * Usage: `deno run -A bench/cli/cold_start.ts [--rounds 9] [--json] [--release DIR[@FLAGS]]…
 * [--no-tree]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { exitOnBadOptions } from "../script_options.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const CONFORMANCE = new URL("../shared/conformance/", new URL(ROOT, "file://")).pathname;

/** One measured command line. */
interface Case {
  /** Label in the table. */
  readonly name: string;
  /** Arguments after `deno`. */
  readonly args: readonly string[];
  /** The exit code the command must return for its time to count. */
  readonly expectedExit: number;
  /** Whether this is the baseline. */
  readonly baseline?: boolean;
  /** Throws unless `stdout` (of the untimed first run) is what the named path prints. */
  readonly check?: (stdout: string) => void;
  /** The folder it runs in (default: the repository root). */
  readonly cwd?: string;
  /** Its `DENO_DIR` (default: the inherited one). */
  readonly denoDir?: string;
  /** The release variant it belongs to (index into the `--release` list). */
  readonly release?: number;
  /** The row name without the variant's label (rows of releases are compared by it). */
  readonly row?: string;
}

/** One `--release` variant: the folder and the `deno run` options its CLI runs with. */
interface ReleaseVariant {
  /** The release folder. */
  readonly dir: string;
  /** `deno run` options before the entry module. */
  readonly runFlags: readonly string[];
}

/**
 * The `deno run` options of the `contrast:release` task (deno.json): how the README runs the
 * release's CLI.
 */
function releaseRunFlags(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)) as {
    tasks: Record<string, string>;
  };
  const task = config.tasks["contrast:release"] ?? "";
  const [deno, run, ...rest] = task.split(/\s+/);
  if (deno !== "deno" || run !== "run" || rest.at(-1) !== "dist/release/contrast/contrast.js") {
    throw new Error(`unexpected contrast:release task: ${task}`);
  }
  return rest.slice(0, -1);
}

/**
 * Parses a `--release` value: `DIR`, run with the `contrast:release` task's options, or `DIR@FLAGS` with `FLAGS`
 * the space-separated `deno run` options.
 *
 * @example
 * ```ts
 * parseReleaseVariant("dist/release@-A --v8-flags=--no-lazy");
 * // { dir: "dist/release", runFlags: ["-A", "--v8-flags=--no-lazy"] }
 * ```
 */
export function parseReleaseVariant(spec: string): ReleaseVariant {
  const at = spec.indexOf("@");
  if (at < 0) return { dir: spec, runFlags: releaseRunFlags() };
  const runFlags = spec.slice(at + 1).split(/\s+/).filter((f) => f !== "");
  if (spec.slice(0, at) === "" || runFlags.length === 0) {
    throw new Error(`--release ${spec}: give DIR or DIR@FLAGS`);
  }
  return { dir: spec.slice(0, at), runFlags };
}

/**
 * The CLI entry module of a release folder: `contrast/contrast.js` (code-split) or, in a release
 * made before the split, `contrast.js`.
 */
function releaseEntry(dir: string): string {
  const abs = dir.startsWith("/") ? dir : `${Deno.cwd()}/${dir}`;
  for (const entry of [`${abs}/contrast/contrast.js`, `${abs}/contrast.js`]) {
    if (exists(entry)) return entry;
  }
  throw new Error(`--release ${dir}: neither contrast/contrast.js nor contrast.js is there`);
}

/** A check that `stdout` matches `pattern`. */
function printsMatching(pattern: RegExp): (stdout: string) => void {
  return (stdout) => {
    if (!pattern.test(stdout)) throw new Error(`output does not match ${pattern}`);
  };
}

/**
 * A check that `stdout` is the `--json` document of an accepted `evidence verify` on `platform`,
 * chained to the vendor's real root (not a simulated one), with `extra` fields as given.
 */
function verifiedEvidence(
  platform: string,
  extra: Record<string, unknown>,
): (stdout: string) => void {
  return (stdout) => {
    const doc = JSON.parse(stdout) as {
      command?: string;
      ok?: boolean;
      result?: Record<string, unknown>;
    };
    const expected: Record<string, unknown> = {
      platform,
      verified: true,
      simulatedRoot: false,
      ...extra,
    };
    const problems = Object.entries(expected)
      .filter(([key, value]) => doc.result?.[key] !== value)
      .map(([key, value]) => `${key}: ${JSON.stringify(doc.result?.[key])}, expected ${value}`);
    if (doc.command !== "evidence verify" || doc.ok !== true || problems.length > 0) {
      throw new Error(`not a verified ${platform} verdict: ${problems.join("; ")}`);
    }
  };
}

/**
 * The `deno` arguments of `deno task contrast` (deno.json), with the config and entry point made
 * absolute: the benchmark measures the command as users of the source tree run it.
 */
function contrastTaskArgs(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)) as {
    tasks: Record<string, string>;
  };
  const [deno, run, ...rest] = config.tasks.contrast!.split(/\s+/);
  if (deno !== "deno" || run !== "run" || rest.at(-1) !== "cli/main.ts") {
    throw new Error(`unexpected contrast task: ${config.tasks.contrast}`);
  }
  return ["run", "--config", `${ROOT}deno.json`, ...rest.slice(0, -1), `${ROOT}cli/main.ts`];
}

const CONTRAST_TASK_ARGS = contrastTaskArgs();

function contrast(...args: string[]): string[] {
  return [...CONTRAST_TASK_ARGS, ...args];
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The rows every CLI gets: `--help`, `verify --help`, SNP and TDX `evidence verify`. */
function cliRows(contrast: (...args: string[]) => string[]): Case[] {
  const list: Case[] = [
    {
      name: "contrast --help",
      args: contrast("--help"),
      expectedExit: 0,
      check: printsMatching(/^Usage: contrast \[options\] \[command\]/),
    },
    {
      name: "contrast verify --help",
      args: contrast("verify", "--help"),
      expectedExit: 0,
      check: printsMatching(/^Usage: contrast verify \[options\]/),
    },
  ];
  const snp = `${CONFORMANCE}snp/milan-v2-virtee`;
  if (exists(snp)) {
    list.push({
      name: "contrast evidence verify (SNP)",
      args: contrast(
        "evidence",
        "verify",
        "--platform",
        "snp",
        "--report",
        `${snp}/report.bin`,
        "--vcek",
        `${snp}/vcek.der`,
        "--ask",
        `${snp}/ask.pem`,
        "--ark",
        `${snp}/ark.pem`,
        "--offline",
        "--skip-revocation", // the conformance folder has no AMD CRL for this VCEK
        "--now",
        "2023-04-04T19:23:43Z",
        "--json",
      ),
      expectedExit: 0,
      // The VCEK's chain to the pinned AMD root and the default reference values (entry 0).
      check: verifiedEvidence("snp", { product: "Milan", referenceValueIndex: 0 }),
    });
  } else console.warn(`skipping the SNP case: ${snp} not found`);
  const tdx = `${CONFORMANCE}tdx/v4-phala-b0c06f-uptodate`;
  if (exists(tdx)) {
    list.push({
      name: "contrast evidence verify (TDX)",
      args: contrast(
        "evidence",
        "verify",
        "--platform",
        "tdx",
        "--quote",
        `${tdx}/quote.bin`,
        "--collateral-dir",
        tdx,
        "--offline",
        "--now",
        "2025-06-19T11:32:27Z",
        "--json",
      ),
      expectedExit: 0,
      // Collateral signatures, the PCK chain and its CRL, the TCB status, the default values.
      check: verifiedEvidence("tdx", { revocationChecked: true, tcbStatus: "UpToDate" }),
    });
  } else console.warn(`skipping the TDX case: ${tdx} not found`);
  return list;
}

function cases(
  emptyScript: string,
  releases: readonly ReleaseVariant[],
  tree: boolean,
  scratch: string,
): Case[] {
  const list: Case[] = [
    {
      name: "deno run (empty script)",
      args: ["run", "-A", "--config", `${ROOT}deno.json`, emptyScript],
      expectedExit: 0,
      baseline: true,
    },
  ];
  if (tree) list.push(...cliRows(contrast));
  for (const [i, variant] of releases.entries()) {
    const entry = releaseEntry(variant.dir);
    const denoDir = `${scratch}/deno-dir-${i + 1}`;
    const cwd = `${scratch}/cwd-${i + 1}`;
    Deno.mkdirSync(cwd);
    const rows = cliRows((...args) => ["run", ...variant.runFlags, entry, ...args]);
    for (const row of rows) {
      list.push({
        ...row,
        name: `R${i + 1} ${row.name.replace(/^contrast /, "")}`,
        row: row.name,
        release: i,
        cwd,
        denoDir,
      });
    }
  }
  return list;
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Runs one case in bash and returns the child's CPU seconds (user + system). */
async function cpuSeconds(c: Case): Promise<number> {
  const line = [Deno.execPath(), ...c.args].map(shellQuote).join(" ");
  const script = `${line} >/dev/null 2>/tmp/contrast-cold-start.err; rc=$?; times; exit $rc`;
  const out = await new Deno.Command("bash", {
    args: ["-c", script],
    cwd: c.cwd ?? ROOT,
    stdout: "piped",
    stderr: "inherit",
    env: caseEnv(c),
  }).output();
  if (out.code !== c.expectedExit) {
    const err = await Deno.readTextFile("/tmp/contrast-cold-start.err").catch(() => "");
    throw new Error(`${c.name}: exit ${out.code}, expected ${c.expectedExit}\n${err}`);
  }
  // `times` prints the shell's own times, then its children's: "0m0.350s 0m0.120s".
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  const children = lines.at(-1)!.match(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/);
  if (!children) throw new Error(`cannot read times output: ${lines.at(-1)}`);
  const [, um, us, sm, ss] = children;
  return Number(um) * 60 + Number(us) + Number(sm) * 60 + Number(ss);
}

function caseEnv(c: Case): Record<string, string> {
  return c.denoDir === undefined ? { NO_COLOR: "1" } : { NO_COLOR: "1", DENO_DIR: c.denoDir };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One row of the result table. */
interface ColdStartRow {
  readonly name: string;
  readonly medianMs: number;
  readonly minMs: number;
  /** Median CPU time over the baseline's median CPU time. */
  readonly ratio: number;
  /** For a release's row: its median over the first release's same row's median. */
  readonly ratioToFirstRelease?: number;
}

/** Runs `c` once, untimed, and checks its exit code and its output. */
async function checkPath(c: Case): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...c.args],
    cwd: c.cwd ?? ROOT,
    stdout: "piped",
    stderr: "piped",
    env: caseEnv(c),
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  if (out.code !== c.expectedExit) {
    throw new Error(`${c.name}: exit ${out.code}, expected ${c.expectedExit}\n${text(out.stderr)}`);
  }
  try {
    c.check?.(text(out.stdout));
  } catch (e) {
    throw new Error(`${c.name}: ${(e as Error).message}`);
  }
}

/** Runs every case `rounds` times, interleaved, after one checked warm-up round. */
async function measureColdStart(
  rounds: number,
  releases: readonly ReleaseVariant[],
  tree: boolean,
): Promise<ColdStartRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "contrast-cold-start-" });
  try {
    const empty = `${dir}/empty.ts`;
    await Deno.writeTextFile(empty, "\n");
    const list = cases(empty, releases, tree, dir);
    for (const c of list) await checkPath(c); // warm-up (module cache) and the path's output
    const samples = list.map(() => [] as number[]);
    for (let round = 0; round < rounds; round++) {
      for (const [i, c] of list.entries()) samples[i]!.push(await cpuSeconds(c));
    }
    const base = median(samples[list.findIndex((c) => c.baseline)]!);
    const firstRelease = (c: Case) =>
      list.findIndex((d) => d.release === 0 && d.row === c.row && c.release !== undefined);
    return list.map((c, i) => {
      const first = firstRelease(c);
      return {
        name: c.name,
        medianMs: median(samples[i]!) * 1000,
        minMs: Math.min(...samples[i]!) * 1000,
        ratio: median(samples[i]!) / base,
        ...(first < 0
          ? {}
          : { ratioToFirstRelease: median(samples[i]!) / median(samples[first]!) }),
      };
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  exitOnBadOptions(Deno.args, {
    usage: "deno run -A bench/cli/cold_start.ts [options]",
    inlineValues: true,
    options: [
      { name: "--rounds", value: "number", default: "9", help: "interleaved rounds" },
      { name: "--json", help: "print the rows as JSON" },
      {
        name: "--release",
        value: "raw",
        help: "DIR[@FLAGS], a release folder's rows too (repeatable)",
      },
      { name: "--no-tree", help: "leave out this tree's rows" },
    ],
  });
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string", default: "9" },
      json: { type: "boolean", default: false },
      release: { type: "string", multiple: true, default: [] },
      "no-tree": { type: "boolean", default: false },
    },
  });
  const rounds = Number(values.rounds);
  const releases = values.release!.map(parseReleaseVariant);
  const rows = await measureColdStart(rounds, releases, !values["no-tree"]);
  const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).split(" ")[0];
  if (values.json) {
    console.log(JSON.stringify({ rounds, loadAverage: Number(load), releases, rows }, null, 2));
  } else {
    console.log(`CLI cold start, CPU time per process, ${rounds} interleaved rounds, load ${load}`);
    for (const [i, r] of releases.entries()) {
      console.log(`  R${i + 1}: ${releaseEntry(r.dir)} with deno run ${r.runFlags.join(" ")}`);
    }
    for (const r of rows) {
      const toFirst = r.ratioToFirstRelease === undefined
        ? ""
        : `  ${r.ratioToFirstRelease.toFixed(2)}× R1`;
      console.log(
        `  ${r.name.padEnd(32)} median ${r.medianMs.toFixed(0).padStart(4)} ms  min ${
          r.minMs.toFixed(0).padStart(4)
        } ms  ${r.ratio.toFixed(2)}×${toFirst}`,
      );
    }
    console.log("goal: every contrast row ≤ 3.00× the empty deno run");
  }
}
