/**
 * Load test of the Coordinator's mesh API: N simulated initializers at once against a
 * Coordinator in its own process (simulated TEE), each doing the full exchange (fresh key,
 * evidence bound to its TLS connection's channel binding, certificate + workload secret on that
 * connection; before the channel binding: a challenge and an HPKE-sealed secret).
 *
 * The load runs in rounds of concurrent initializers. Around every round the Coordinator
 * process's CPU time (user + system of all its threads, `/proc/<pid>/stat`) is read; after every
 * round the bound is measured as this process's CPU time for the per-attestation cryptography the
 * Coordinator cannot avoid (ECDSA P-384 verification of the report + ECDSA P-384 signature of the
 * leaf), each by the cheapest constant-time implementation Deno has and with keys in the form the
 * Coordinator holds them: WebCrypto's verification, the Coordinator's own `node:crypto` signer.
 * (Until round 8 the bound signed with WebCrypto, ~0.2–0.3 ms dearer than the signer the
 * Coordinator uses since round 7: ratios ~10 % too good; that ratio is still printed next to the
 * corrected one.) Interleaving keeps both under the same machine load. It prints the Coordinator's CPU per
 * attestation, the bound, their ratio (bound / Coordinator; 1.0 = nothing but the bound), the
 * attestations per second and p50/p90/p99 latency of the exchange, and the load average; then
 * the Coordinator's CPU by thread, the load generator's own CPU (it shares the machine) and the
 * run-queue wait of both (time their threads were runnable but had no CPU).
 *
 * `--flow initializer` runs the Initializer's whole exchange (`initializer/run.ts`) instead of the
 * mesh exchange alone (`--flow mesh`, the default and every figure before the tenth round): first
 * `/attest` of the Coordinator, verified against the pod's trust document, then the certificate
 * request, both over one pinned TLS connection (one full handshake per attestation in both flows:
 * a pod connects once). The Coordinator's simulated TEE then signs a report per
 * attestation in the Coordinator's process, which a real TEE's secure processor does outside it;
 * that signature's CPU is measured here interleaved with the bound (the same code) and the figures
 * without it are printed too. `--policy-kb N` pads every policy of the simulated deployment to N
 * KB (a generated policy is ~120 KB a pod; default: one-line policies): `/attest` carries every
 * policy document.
 *
 * `--log-level L` (default `info`, the Coordinator's default and what a deployment runs with:
 * an access line per request and one per issued certificate) is passed to the Coordinator.
 *
 * `--concurrency C` measures one fixed level: at most C exchanges in flight (at most 32, the
 * limit of the challenge protocol, whose nonce store held at most 32 per client address; kept so
 * that levels stay comparable with earlier runs).
 *
 * Without it (or with `--sweep [LIST]`, default 1,2,4,8,16) it measures every listed concurrency
 * in one run against one Coordinator (`--initializers` each, the levels interleaved round by
 * round, every other round in reverse order), prints every level, the peak throughput and the lowest concurrency reaching 95 % of it
 * (`bench/coordinator/sustained_load.ts`): the load the machine sustains, whose p99 and CPU ratio
 * are stated against issue 18's goals (p99 < 100 ms, ratio >= 0.7). More in flight than that only
 * queues (Little's law), so a fixed high concurrency reports queueing, not the service's latency.
 *
 * After the closed loop, an **open-loop step search** (`bench/coordinator/step_search.ts`,
 * `bench/coordinator/open_loop.ts`, as wrk2 measures): at each share of `--open-loop-share` (an
 * ascending comma-separated list, default 0.3,0.4,…,1.0,1.1,1.2,1.35,1.5) of the peak that
 * Coordinator reached in this run's closed loop, `--open-loop-initializers` (default
 * `--initializers`) exchanges start on a schedule fixed in advance (`--open-loop-schedule poisson`,
 * the default, seeded by `--open-loop-seed`, or `fixed`), each timed from its scheduled start, so a
 * stall counts against every request it delays. **The load the machine sustains** is the highest
 * step whose requests were all served, at >= 95 % of the rate offered, with the median latency of
 * the last third <= 2x the first third's + 20 ms (no queue building up), every lower step alike,
 * and the load generator never the bottleneck (its main thread busy < 85 %, its CPUs < 90 %, the
 * requests sent at >= 95 % of the scheduled rate). A step that is not is measured again, up to
 * `--step-attempts` (default 2) in all (one stall of a shared machine can end a step the
 * Coordinator sustains; a rate it cannot sustain fails every attempt; every attempt is printed).
 * When every listed step is sustained (a closed-loop peak measured low, e.g. during a burst of
 * other work) the search goes on in steps 15 % apart, up to 4 times the peak.
 * The search stops at the first step that is not sustained in any attempt; it prints every step and the p99 at the sustained one, against issue 18's goal.
 * A step where the generator was the bottleneck ends the search as GENERATOR-BOUND: the goal is
 * then not judged and the exit code is 1 (the run measured the generator, not the Coordinator).
 * `--no-open-loop` leaves the step search out. `--open-loop-peak R` takes R attestations/s as the
 * peak the shares are of, for every Coordinator (with `--against`, both are offered the same
 * rates; their own closed-loop peaks differ with the machine's noise). `--keep-going` measures
 * every step, sustained or not, and goes on in 15 % steps up to 4 times the peak (samples of an
 * overload, the Coordinators interleaved step by step).
 *
 * **The generator's cost.** In production every initializer runs in its own pod on another node;
 * here one process plays them all, on the same machine. By default the two processes are pinned
 * to separate CPUs (`bench/coordinator/cpu_pinning.ts`: `taskset` on every thread, checked after
 * pinning and again after the run): the Coordinator on the first half of the CPUs, the generator
 * on the rest (`--pin-coordinator LIST --pin-generator LIST` to choose, `--no-pin` to share every
 * CPU, the figures before the eleventh round). What a pod computes before it connects (its keys)
 * is made before each measured phase, and the simulated secure processor's P-384 signature of each
 * pod's report takes a nonce precomputed then (`bench/coordinator/presigned_ecdsa.ts`; the
 * Coordinator gets the same, valid, ECDSA signature; `--generator-signature webcrypto` signs at
 * request time as before). The generator's CPU per attestation and its main thread's busy share
 * are printed for every level and step. `--nice N` (e.g. -10, needs privileges) runs both
 * processes at that nice value, every thread, checked after the run: on a machine shared with
 * other work it measures a Coordinator whose CPU is its own, as a pod's CPU request gives it in a
 * cluster; every run prints its priority.
 *
 * `--profile FILE` starts the Coordinator with its inspector on, samples its JavaScript thread
 * over the load phases (V8 CPU profile, written to FILE; open it in Chrome DevTools) and prints
 * the functions and files with the most self time. Profiling slows the Coordinator: the ratio
 * of a profiled run is not the figure to report.
 *
 * `--against DIR` starts a second Coordinator from another checkout (e.g. main's worktree) and
 * interleaves its rounds with this tree's (order reversed every other round), so both are measured
 * under the same machine load; it prints both and their quotient of CPU per attestation, over the
 * run and as the median and range of the rounds' quotients. `--deno-flags "F …"` and
 * `--against-deno-flags "F …"` pass `deno run` flags (e.g. `--v8-flags=…`) to this tree's and the
 * other Coordinator; `--coordinator-stdout` lets the Coordinators' standard output through (V8's
 * `--trace-gc` lines).
 *
 * Usage: `deno run -A scripts/load_test.ts [--initializers 500] [--rounds 5]
 * [--sweep [LIST] | --concurrency C] [--bound-iterations 100] [--log-level info] [--profile FILE]
 * [--warmup 200] [--against DIR [--against-deno-flags FLAGS]] [--deno-flags FLAGS]
 * [--coordinator-stdout] [--flow mesh|initializer] [--policy-kb N] [--open-loop-share 0.3,…,1.5]
 * [--open-loop-initializers N] [--open-loop-schedule poisson|fixed] [--open-loop-seed 1]
 * [--step-attempts 2] [--open-loop-peak R] [--keep-going] [--no-open-loop] [--no-pin | --pin-coordinator LIST --pin-generator LIST]
 * [--nice N]
 * [--generator-signature presigned|webcrypto] [--json]`
 *
 * @module
 */
import "reflect-metadata";
import process from "node:process";
import {
  generatePodKeys,
  requestAttestedMeshCredentials,
  requestMeshCredentials,
} from "../atls/mesh_client.ts";
import { parseCoordinatorTrust } from "../atls/coordinator_trust.ts";
import { ManifestVerifiers } from "../manifest/verifiers.ts";
import { SimulatedSnpEvidenceSource } from "../testing/simulated_evidence.ts";
import { MEASUREMENT } from "../testing/simulation/deployment.ts";
import {
  type CoordinatorProcess,
  REPO_ROOT,
  runDenoScript,
  startCoordinatorProcess,
} from "../testing/simulation/processes.ts";
import { createWorkspace, type Workspace, workspaceVm } from "../testing/simulation/workspace.ts";
import { podAddress } from "../bench/coordinator/pod_address.ts";
import {
  inspectorAddress,
  InspectorProfiler,
  summarizeProfile,
} from "../bench/coordinator/cpu_profile.ts";
import {
  type BoundFixture,
  boundFixture,
  verifyBoundReport,
  webCryptoBoundSign,
} from "../bench/coordinator/crypto_bound.ts";
import { mulberry32 } from "../util/random/mulberry32.ts";
import { sustainedLevel, type SustainedLoad } from "../bench/coordinator/sustained_load.ts";
import {
  fixedSchedule,
  MAX_PEAK_SHARE,
  openLoopRate,
  percentileOf,
  poissonSchedule,
  runOpenLoop,
  type ScheduleKind,
} from "../bench/coordinator/open_loop.ts";
import {
  DEFAULT_GENERATOR_LIMITS,
  generatorBottleneck,
  type GeneratorLoad,
  type JudgedStep,
  judgeStep,
  stepShares,
  stepSustained,
  type SustainedRate,
  sustainedRate,
} from "../bench/coordinator/step_search.ts";
import {
  allowedCpus,
  checkNice,
  checkPinned,
  checkSplit,
  type CpuSplit,
  formatCpuList,
  parseCpuList,
  pinProcess,
  reniceProcess,
  setAutogroupNice,
  splitCpus,
} from "../bench/coordinator/cpu_pinning.ts";
import { PresignedP384Signer } from "../bench/coordinator/presigned_ecdsa.ts";
import {
  countFailures,
  type FailureCount,
  failureLines,
} from "../bench/coordinator/failure_reasons.ts";
import { exitOnBadOptions, type ScriptUsage } from "../bench/script_options.ts";
import type { SimulatedSnpAuthority } from "../testing/snp/authority.ts";
import {
  type ThreadCpu,
  threadCpuDelta,
  threadCpuSeconds,
} from "../bench/coordinator/thread_cpu.ts";

/** The command line `--help` prints and {@link exitOnBadOptions} checks. */
const OPTIONS: ScriptUsage = {
  usage: "deno run -A scripts/load_test.ts [options]",
  options: [
    {
      name: "--initializers",
      value: "number",
      default: "500",
      help: "exchanges per level and round",
    },
    { name: "--rounds", value: "number", default: "5", help: "rounds, levels interleaved" },
    {
      name: "--bound-iterations",
      value: "number",
      default: "100",
      help: "bound samples per round",
    },
    { name: "--warmup", value: "number", default: "200", help: "warm-up exchanges" },
    {
      name: "--concurrency",
      value: "number",
      help: "one fixed level (at most 32) instead of a sweep",
    },
    { name: "--sweep", value: "optional", default: "1,2,4,8,16", help: "concurrency levels" },
    { name: "--flow", value: "string", default: "mesh", help: "mesh | initializer" },
    { name: "--policy-kb", value: "number", default: "0", help: "pad every policy to N KB" },
    { name: "--log-level", value: "string", default: "info", help: "the Coordinator's log level" },
    { name: "--coordinator-stdout", help: "show the Coordinator's output" },
    { name: "--json", help: "print the results as JSON" },
    { name: "--profile", value: "string", help: "write a CPU profile of the Coordinator to FILE" },
    { name: "--against", value: "string", help: "also measure the checkout in DIR, interleaved" },
    { name: "--deno-flags", value: "raw", help: "deno run flags for this tree's Coordinator" },
    { name: "--against-deno-flags", value: "raw", help: "deno run flags for --against's" },
    { name: "--no-open-loop", help: "leave out the open-loop step search" },
    {
      name: "--open-loop-share",
      value: "string",
      default: "0.3,0.4,…,1.5",
      help: "steps, shares of the peak",
    },
    {
      name: "--open-loop-peak",
      value: "number",
      help: "attestations/s the shares are of (default: closed-loop peak)",
    },
    {
      name: "--open-loop-initializers",
      value: "number",
      default: "--initializers",
      help: "exchanges per step",
    },
    { name: "--open-loop-schedule", value: "string", default: "poisson", help: "poisson | fixed" },
    {
      name: "--open-loop-seed",
      value: "number",
      default: "1",
      help: "seed of the poisson schedule",
    },
    { name: "--step-attempts", value: "number", default: "2", help: "attempts per step" },
    { name: "--keep-going", help: "measure every step, sustained or not" },
    {
      name: "--generator-signature",
      value: "string",
      default: "presigned",
      help: "presigned | webcrypto",
    },
    {
      name: "--pin-coordinator",
      value: "string",
      default: "first half of the CPUs",
      help: "CPU list",
    },
    { name: "--pin-generator", value: "string", default: "the rest", help: "CPU list" },
    { name: "--no-pin", help: "share every CPU" },
    { name: "--nice", value: "number", help: "nice value of both processes (needs privileges)" },
  ],
};

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

/** CPU seconds (user + system, all threads) a process has used so far, from `/proc/<pid>/stat`. */
async function processCpuSeconds(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(ticks)) throw new Error(`unreadable /proc/${pid}/stat`);
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/** Length of SNP report data. */
const REPORT_DATA_LENGTH = 64;

/** A simulated pod's keys. */
type PodKeys = Awaited<ReturnType<typeof generatePodKeys>>;

/** USER_HZ of Linux's /proc accounting (100 on every mainstream architecture). */
const CLOCK_TICKS_PER_SECOND = 100;

const SHA384 = { name: "ECDSA", hash: "SHA-384" } as const;

/** CPU seconds of one bound sample, per operation. */
interface BoundSample {
  /** WebCrypto P-384 verification (imported SPKI key), as the Coordinator verifies reports. */
  readonly verify: number;
  /** The Coordinator's P-384 signature (`node:crypto`, parsed key). */
  readonly sign: number;
  /** WebCrypto's P-384 signature (rebuilds the key pair per call): the old bound's half. */
  readonly webCryptoSign: number;
  /**
   * One simulated SNP report for the Coordinator (`--flow initializer`, else 0): what its
   * simulated TEE computes in its own process for every `/attest`, where a real TEE's secure
   * processor signs the report outside the Coordinator's CPU time.
   */
  readonly simulatedReport: number;
}

/** This process's CPU seconds so far (user + system). */
function cpuSeconds(): number {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1e6;
}

/**
 * CPU seconds per unavoidable per-attestation crypto operation (ECDSA P-384 verification of the
 * report + P-384 signature of the leaf, each by the cheapest constant-time implementation the
 * runtime has: WebCrypto verifies ~20 % cheaper than `node:crypto`, `node:crypto` signs ~20 %
 * cheaper than WebCrypto), each measured as this process's CPU time over `iterations`
 * back-to-back runs; WebCrypto's signature too, for comparison with earlier figures. Throws when a
 * verification fails, so it never times a rejection path.
 */
async function cryptoBoundCpuSeconds(
  f: BoundFixture,
  iterations: number,
  simulatedReport?: () => Promise<unknown>,
): Promise<BoundSample> {
  let start = cpuSeconds();
  for (let i = 0; i < iterations; i++) {
    await verifyBoundReport(f);
  }
  const verify = (cpuSeconds() - start) / iterations;
  start = cpuSeconds();
  for (let i = 0; i < iterations; i++) f.meshSigner(f.tbs);
  const sign = (cpuSeconds() - start) / iterations;
  start = cpuSeconds();
  for (let i = 0; i < iterations; i++) await webCryptoBoundSign(f);
  const webCryptoSign = (cpuSeconds() - start) / iterations;
  let report = 0;
  if (simulatedReport) {
    start = cpuSeconds();
    for (let i = 0; i < iterations; i++) await simulatedReport();
    report = (cpuSeconds() - start) / iterations;
  }
  return { verify, sign, webCryptoSign, simulatedReport: report };
}

/** Runs `task` `total` times with at most `width` in flight; settles every run. */
async function runPool<T>(
  total: number,
  width: number,
  task: () => Promise<T>,
): Promise<PromiseSettledResult<T>[]> {
  const results: PromiseSettledResult<T>[] = [];
  let started = 0;
  const worker = async () => {
    while (started < total) {
      started++;
      try {
        results.push({ status: "fulfilled", value: await task() });
      } catch (reason) {
        results.push({ status: "rejected", reason });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, total) }, worker));
  return results;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** What one concurrency level accumulates over its rounds. */
interface LevelTotals {
  readonly concurrency: number;
  readonly latencies: number[];
  readonly failures: unknown[];
  readonly boundSamples: BoundSample[];
  /** The Coordinator's CPU ms per attestation of each round, in order. */
  readonly roundCpuMs: number[];
  coordinatorCpu: number;
  generatorCpu: number;
  /** CPU seconds of the generator's main thread (its event loop). */
  generatorMainCpu: number;
  generatorWait: number;
  loadWall: number;
  threads: ThreadCpu;
}

function emptyLevel(concurrency: number): LevelTotals {
  return {
    concurrency,
    latencies: [],
    failures: [],
    boundSamples: [],
    roundCpuMs: [],
    coordinatorCpu: 0,
    generatorCpu: 0,
    generatorMainCpu: 0,
    generatorWait: 0,
    loadWall: 0,
    threads: { main: 0, blockingPool: 0, v8Workers: 0, other: 0, runQueueWait: 0 },
  };
}

function addThreads(a: ThreadCpu, b: ThreadCpu): ThreadCpu {
  return {
    main: a.main + b.main,
    blockingPool: a.blockingPool + b.blockingPool,
    v8Workers: a.v8Workers + b.v8Workers,
    other: a.other + b.other,
    runQueueWait: a.runQueueWait + b.runQueueWait,
  };
}

/**
 * One load phase of `batch` exchanges at `level.concurrency` in flight, the Coordinator's and this
 * process's CPU time read around it, then the bound measured right after (same machine state).
 */
async function measureRound(
  target: Target,
  batch: number,
  level: LevelTotals,
  bound: () => Promise<BoundSample>,
): Promise<void> {
  await target.prepare(batch);
  const pid = target.coordinator.child.pid;
  const one = target.one;
  const cpuBefore = await processCpuSeconds(pid);
  const threadsBefore = await threadCpuSeconds(pid);
  const generatorThreadsBefore = await threadCpuSeconds(Deno.pid);
  const wallBefore = performance.now();
  const generatorBefore = process.cpuUsage();
  const results = await runPool(batch, level.concurrency, one);
  level.loadWall += (performance.now() - wallBefore) / 1000;
  const generatorUsed = process.cpuUsage(generatorBefore);
  level.generatorCpu += (generatorUsed.user + generatorUsed.system) / 1e6;
  const generatorThreads = threadCpuDelta(generatorThreadsBefore, await threadCpuSeconds(Deno.pid));
  const roundCpu = await processCpuSeconds(pid) - cpuBefore;
  level.coordinatorCpu += roundCpu;
  const succeeded = results.filter((r) => r.status === "fulfilled").length;
  level.roundCpuMs.push(succeeded > 0 ? (roundCpu * 1000) / succeeded : Number.NaN);
  level.threads = addThreads(
    level.threads,
    threadCpuDelta(threadsBefore, await threadCpuSeconds(pid)),
  );
  level.generatorWait += generatorThreads.runQueueWait;
  level.generatorMainCpu += generatorThreads.main;
  for (const r of results) {
    if (r.status === "fulfilled") level.latencies.push(r.value);
    else level.failures.push(r.reason);
  }
  level.boundSamples.push(await bound());
}

/** The figures of one level. */
function summarize(level: LevelTotals, initializers: number, rounds: number) {
  const latencies = [...level.latencies].sort((a, b) => a - b);
  const boundMs = median(level.boundSamples.map((b) => b.verify + b.sign)) * 1000;
  const webCryptoBoundMs = median(level.boundSamples.map((b) => b.verify + b.webCryptoSign)) * 1000;
  const simulatedReportMs = median(level.boundSamples.map((b) => b.simulatedReport)) * 1000;
  const ms = (seconds: number) => Number((seconds * 1000).toFixed(2));
  const cpuPerAttestationMs = latencies.length > 0
    ? (level.coordinatorCpu * 1000) / latencies.length
    : Number.NaN;
  const perAttestationMs = (seconds: number) =>
    Number(((seconds * 1000) / latencies.length).toFixed(2));
  return {
    initializers,
    rounds,
    concurrency: level.concurrency,
    succeeded: latencies.length,
    failed: level.failures.length,
    loadWallSeconds: Number(level.loadWall.toFixed(2)),
    attestationsPerSecond: Number((latencies.length / level.loadWall).toFixed(1)),
    p50Ms: Math.round(percentileOf(latencies, 50)),
    p90Ms: Math.round(percentileOf(latencies, 90)),
    p99Ms: Math.round(percentileOf(latencies, 99)),
    coordinatorCpuSeconds: Number(level.coordinatorCpu.toFixed(2)),
    coordinatorCpuMsPerAttestation: Number(cpuPerAttestationMs.toFixed(2)),
    coordinatorCpuMsPerAttestationByThread: {
      main: perAttestationMs(level.threads.main),
      blockingPool: perAttestationMs(level.threads.blockingPool),
      v8Workers: perAttestationMs(level.threads.v8Workers),
      other: perAttestationMs(level.threads.other),
    },
    coordinatorRunQueueWaitMsPerAttestation: perAttestationMs(level.threads.runQueueWait),
    loadGeneratorCpuMsPerAttestation: perAttestationMs(level.generatorCpu),
    /** Share of the load phases the generator's main thread was on a CPU (>= 0.85: its limit). */
    loadGeneratorMainThreadBusy: Number((level.generatorMainCpu / level.loadWall).toFixed(2)),
    loadGeneratorRunQueueWaitMsPerAttestation: perAttestationMs(level.generatorWait),
    boundCpuMs: Number(boundMs.toFixed(2)),
    boundCpuMsSamples: level.boundSamples.map((b) => ms(b.verify + b.sign)),
    coordinatorCpuMsPerAttestationByRound: level.roundCpuMs.map((v) => Number(v.toFixed(2))),
    boundVerifyCpuMs: ms(median(level.boundSamples.map((b) => b.verify))),
    boundSignCpuMs: ms(median(level.boundSamples.map((b) => b.sign))),
    cpuRatio: Number((boundMs / cpuPerAttestationMs).toFixed(3)),
    simulatedReportCpuMs: ms(simulatedReportMs / 1000),
    coordinatorCpuMsWithoutSimulatedReport: Number(
      (cpuPerAttestationMs - simulatedReportMs).toFixed(2),
    ),
    cpuRatioWithoutSimulatedReport: Number(
      (boundMs / (cpuPerAttestationMs - simulatedReportMs)).toFixed(3),
    ),
    webCryptoSignCpuMs: ms(median(level.boundSamples.map((b) => b.webCryptoSign))),
    cpuRatioWithWebCryptoSign: Number((webCryptoBoundMs / cpuPerAttestationMs).toFixed(3)),
    failureReasons: countFailures(level.failures),
  };
}

type LevelSummary = ReturnType<typeof summarize>;

/** The detailed lines of one level (the fixed-concurrency report). */
function printLevel(s: LevelSummary, load1: number, log: (line: string) => void): void {
  log(
    `succeeded ${s.succeeded}/${s.initializers} in ${s.rounds} rounds ` +
      `(${s.concurrency} in flight), ${s.loadWallSeconds} s of load (load average ${load1})`,
  );
  log(
    `attestations/s ${s.attestationsPerSecond}   p50 ${s.p50Ms} ms   ` +
      `p90 ${s.p90Ms} ms   p99 ${s.p99Ms} ms`,
  );
  log(
    `Coordinator CPU ${s.coordinatorCpuMsPerAttestation} ms per attestation ` +
      `(${s.coordinatorCpuSeconds} s over the load phases)`,
  );
  const byThread = s.coordinatorCpuMsPerAttestationByThread;
  log(
    `  by thread: main ${byThread.main} ms (JavaScript, HTTP, TLS, leaf signature), ` +
      `blocking pool ${byThread.blockingPool} ms (WebCrypto verify, file reads), ` +
      `V8 workers ${byThread.v8Workers} ms (GC, compiler), other ${byThread.other} ms`,
  );
  log(
    `load generator (this process: TLS client, simulated pod evidence, checks of the answers; ` +
      `pod keys and signature nonces made before the phase) CPU ` +
      `${s.loadGeneratorCpuMsPerAttestation} ms per attestation, its main thread busy ` +
      `${(s.loadGeneratorMainThreadBusy * 100).toFixed(0)} % of the load phases`,
  );
  log(
    `waiting for a CPU (run queue, all threads) per attestation: Coordinator ` +
      `${s.coordinatorRunQueueWaitMsPerAttestation} ms, load generator ` +
      `${s.loadGeneratorRunQueueWaitMsPerAttestation} ms`,
  );
  log(
    `bound (P-384 verify ${s.boundVerifyCpuMs} + sign ${s.boundSignCpuMs} ms, CPU, interleaved ` +
      `per round): ${s.boundCpuMs} ms (rounds: ${s.boundCpuMsSamples.join(", ")})`,
  );
  log(`CPU ratio (bound / Coordinator per attestation): ${s.cpuRatio}`);
  if (s.simulatedReportCpuMs > 0) {
    log(
      `  without the simulated TEE's report signature of /attest (${s.simulatedReportCpuMs} ms, ` +
        `CPU, interleaved; a real TEE signs it outside the Coordinator): ` +
        `${s.coordinatorCpuMsWithoutSimulatedReport} ms per attestation, ratio ` +
        `${s.cpuRatioWithoutSimulatedReport}`,
    );
  }
  log(
    `  (with WebCrypto's signature, ${s.webCryptoSignCpuMs} ms, as the bound before round 8: ` +
      `${s.cpuRatioWithWebCryptoSign})`,
  );
  for (const line of failureLines(s.failureReasons, s.succeeded + s.failed, "")) log(line);
}

/** Every level of a sweep as one table row each, then the sustained level and the goals. */
function printSweep(
  levels: readonly LevelSummary[],
  found: SustainedLoad<LevelSummary>,
  load1: number,
  log: (line: string) => void,
): void {
  log(
    `sweep: ${levels[0]!.initializers} initializers per level in ${levels[0]!.rounds} rounds ` +
      `(levels interleaved, order reversed every other round; load average ${load1})`,
  );
  log(
    "in flight | attestations/s | p50 / p90 / p99 ms | CPU ms/attestation (main, pool, V8) | " +
      "bound ms | bound/CPU | run-queue wait ms | generator CPU ms/attestation, main thread busy | " +
      "failed",
  );
  for (const s of levels) {
    const t = s.coordinatorCpuMsPerAttestationByThread;
    log(
      `${String(s.concurrency).padStart(9)} | ${String(s.attestationsPerSecond).padStart(14)} | ` +
        `${s.p50Ms} / ${s.p90Ms} / ${s.p99Ms} | ${s.coordinatorCpuMsPerAttestation} ` +
        `(${t.main}, ${t.blockingPool}, ${t.v8Workers}) | ${s.boundCpuMs} | ${s.cpuRatio} | ` +
        `${s.coordinatorRunQueueWaitMsPerAttestation} | ${s.loadGeneratorCpuMsPerAttestation}, ` +
        `${(s.loadGeneratorMainThreadBusy * 100).toFixed(0)} % | ${s.failed}`,
    );
    for (const line of failureLines(s.failureReasons, s.succeeded + s.failed, "    ")) log(line);
  }
  const { peak, sustained, share } = found;
  if (peak.loadGeneratorMainThreadBusy >= DEFAULT_GENERATOR_LIMITS.mainThreadBusy) {
    log(
      `GENERATOR-BOUND closed loop: at the peak (${peak.concurrency} in flight) the load ` +
        `generator's main thread was busy ${(peak.loadGeneratorMainThreadBusy * 100).toFixed(0)} ` +
        `% of the time: the peak, and the open-loop steps scaled from it, may be the generator's`,
    );
  }
  log(
    `peak ${peak.attestationsPerSecond} attestations/s at ${peak.concurrency} in flight; ` +
      `the lowest concurrency reaching ${share * 100} % of it: ${sustained.concurrency} ` +
      `(${sustained.attestationsPerSecond}/s)`,
  );
  const littleMs = (1000 * sustained.concurrency) / sustained.attestationsPerSecond;
  log(
    `closed loop at that level: p99 ${sustained.p99Ms} ms at ${sustained.concurrency} in flight ` +
      `(${sustained.p99Ms < P99_GOAL_MS ? "under" : "NOT under"} ${P99_GOAL_MS} ms); its mean ` +
      `latency is set by its own clients (Little's law: ${sustained.concurrency} in flight / ` +
      `${sustained.attestationsPerSecond}/s = ${littleMs.toFixed(0)} ms), so the p99 goal is ` +
      `judged by the open loop`,
  );
  log(
    `goal CPU ratio >= ${RATIO_GOAL} at that load: ${sustained.cpuRatio} ` +
      `(${sustained.coordinatorCpuMsPerAttestation} ms against a ${sustained.boundCpuMs} ms ` +
      `bound): ${sustained.cpuRatio >= RATIO_GOAL ? "met" : "NOT met"}`,
  );
  if (sustained.simulatedReportCpuMs > 0) {
    log(
      `  ratio without the simulated TEE's report signature of /attest ` +
        `(${sustained.simulatedReportCpuMs} ms; a real TEE signs it outside the Coordinator): ` +
        `${sustained.cpuRatioWithoutSimulatedReport} ` +
        `(${sustained.coordinatorCpuMsWithoutSimulatedReport} ms)`,
    );
  }
}

/** The step search's settings (`--open-loop-*`). */
interface OpenLoopSettings {
  /** Shares of the closed loop's peak throughput to offer, one step each, ascending. */
  readonly shares: readonly number[];
  /** Requests per step. */
  readonly count: number;
  /** How requests are spaced. */
  readonly schedule: ScheduleKind;
  /** Seed of the Poisson schedule. */
  readonly seed: number;
  /** Attempts at a step before it counts as not sustained (`--step-attempts`, default 2). */
  readonly attempts: number;
}

/**
 * The default steps, as shares of the closed loop's peak: from well below it to past it (an open
 * loop with more requests in flight than the closed loop's levels may be served faster).
 */
const DEFAULT_STEP_SHARES = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5] as const;

/** The step search's settings from the arguments, or `undefined` with `--no-open-loop`. */
function openLoopSettings(count: number): OpenLoopSettings | undefined {
  if (Deno.args.includes("--no-open-loop")) return undefined;
  const listed = stringFlag("--open-loop-share");
  const shares = listed === undefined ? [...DEFAULT_STEP_SHARES] : listed.split(",").map(Number);
  for (const [i, share] of shares.entries()) {
    if (!(share > 0 && share <= MAX_PEAK_SHARE)) {
      throw new Error(`--open-loop-share ${share}: not in (0, ${MAX_PEAK_SHARE}]`);
    }
    if (i > 0 && !(share > shares[i - 1]!)) {
      throw new Error("--open-loop-share: the steps must ascend");
    }
  }
  const requests = flag("--open-loop-initializers", count);
  if (!(Number.isInteger(requests) && requests >= 3)) {
    throw new Error("--open-loop-initializers: a whole number >= 3");
  }
  const schedule = stringFlag("--open-loop-schedule") ?? "poisson";
  if (schedule !== "poisson" && schedule !== "fixed") {
    throw new Error(`--open-loop-schedule ${schedule}: expected poisson or fixed`);
  }
  const attempts = flag("--step-attempts", 2);
  if (!(Number.isInteger(attempts) && attempts >= 1)) {
    throw new Error("--step-attempts: a whole number >= 1");
  }
  return { shares, count: requests, schedule, seed: flag("--open-loop-seed", 1), attempts };
}

/** What one open-loop step measured against one Coordinator, judged. */
interface StepSummary extends JudgedStep {
  readonly schedule: ScheduleKind;
  readonly share: number;
  readonly peakPerSecond: number;
  /** Requests / span of the realised schedule. */
  readonly scheduledPerSecond: number;
  readonly achievedPerSecond: number;
  readonly requests: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly maxInFlight: number;
  readonly maxSendLagMs: number;
  readonly coordinatorCpuMsPerAttestation: number;
  /** This process's CPU per attestation over the step (TLS client, pod evidence, checks). */
  readonly loadGeneratorCpuMsPerAttestation: number;
  /** How busy the generator was (main thread, its CPUs, send lag). */
  readonly generator: GeneratorLoad;
  /** Time the Coordinator's and this process's threads waited for a CPU, per attestation. */
  readonly runQueueWaitMsPerAttestation: {
    readonly coordinator: number;
    readonly generator: number;
  };
  readonly boundCpuMs: number;
  readonly cpuRatio: number;
  /** The simulated TEE's report signature per `/attest` (`--flow initializer`), else 0. */
  readonly simulatedReportCpuMs: number;
  readonly sustained: boolean;
  /** Earlier attempts at this share that were not sustained (see `--step-attempts`). */
  readonly failedAttempts?: readonly StepSummary[];
  /** Why requests failed, by reason (empty when none did). */
  readonly failureReasons: readonly FailureCount[];
}

/**
 * One open-loop step against `target` at `share` of `peakPerSecond` (this run's closed-loop
 * peak): what the requests need prepared first, then the requests started on their schedule,
 * each timed from its scheduled start; the Coordinator's and the generator's CPU read around it,
 * the bound measured right after, and the step judged ({@link judgeStep},
 * {@link generatorBottleneck}). `generatorCpus` is how many CPUs the generator may use.
 */
async function measureStep(
  target: Target,
  peakPerSecond: number,
  share: number,
  settings: OpenLoopSettings,
  bound: () => Promise<BoundSample>,
  generatorCpus: number,
): Promise<StepSummary> {
  const rate = openLoopRate(peakPerSecond, share);
  const schedule = settings.schedule === "poisson"
    ? poissonSchedule(rate, settings.count, mulberry32(settings.seed))
    : fixedSchedule(rate, settings.count);
  await target.prepare(settings.count);
  const pid = target.coordinator.child.pid;
  const cpuBefore = await processCpuSeconds(pid);
  const generatorBefore = process.cpuUsage();
  const threadsBefore = await threadCpuSeconds(pid);
  const generatorThreadsBefore = await threadCpuSeconds(Deno.pid);
  const result = await runOpenLoop(schedule, () => target.one().then(() => {}), {
    now: () => performance.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  });
  const cpu = await processCpuSeconds(pid) - cpuBefore;
  const generator = process.cpuUsage(generatorBefore);
  const waited = threadCpuDelta(threadsBefore, await threadCpuSeconds(pid)).runQueueWait;
  const generatorThreads = threadCpuDelta(generatorThreadsBefore, await threadCpuSeconds(Deno.pid));
  const b = await bound();
  const succeeded = result.latenciesMs.length;
  const cpuMs = succeeded > 0 ? (cpu * 1000) / succeeded : Number.NaN;
  const generatorSeconds = (generator.user + generator.system) / 1e6;
  const wallSeconds = result.wallMs / 1000;
  const boundMs = (b.verify + b.sign) * 1000;
  const round = (v: number) => Math.round(v);
  // The span of the realised schedule, with one mean gap for the first request's wait.
  const spanSeconds = (schedule.at(-1)! + 1000 / rate) / 1000;
  const scheduledPerSecond = settings.count / spanSeconds;
  const achievedPerSecond = succeeded / wallSeconds;
  const generatorLoad: GeneratorLoad = {
    mainThreadBusy: Number((generatorThreads.main / wallSeconds).toFixed(3)),
    cpusBusy: Number((generatorSeconds / (wallSeconds * generatorCpus)).toFixed(3)),
    // The schedule's span over the span until the last request really left.
    sentShare: Number(
      (schedule.at(-1)! / Math.max(result.lastSentMs, schedule.at(-1)!)).toFixed(3),
    ),
    p50SendLagMs: Number(percentileOf(result.sendLagsMs, 50).toFixed(1)),
    p99SendLagMs: Number(percentileOf(result.sendLagsMs, 99).toFixed(1)),
  };
  const verdict = judgeStep({
    scheduledPerSecond,
    achievedPerSecond,
    failed: result.failures.length,
    latencyByIndexMs: result.latencyByIndexMs,
  });
  const step = {
    offeredPerSecond: Number(rate.toFixed(1)),
    verdict,
    generatorReasons: generatorBottleneck(generatorLoad),
  };
  return {
    ...step,
    sustained: stepSustained(step),
    schedule: settings.schedule,
    share,
    peakPerSecond,
    scheduledPerSecond: Number(scheduledPerSecond.toFixed(1)),
    achievedPerSecond: Number(achievedPerSecond.toFixed(1)),
    requests: settings.count,
    succeeded,
    failed: result.failures.length,
    p50Ms: round(percentileOf(result.latenciesMs, 50)),
    p90Ms: round(percentileOf(result.latenciesMs, 90)),
    p99Ms: round(percentileOf(result.latenciesMs, 99)),
    maxMs: round(result.latenciesMs.at(-1) ?? Number.NaN),
    maxInFlight: result.maxInFlight,
    maxSendLagMs: round(result.maxSendLagMs),
    coordinatorCpuMsPerAttestation: Number(cpuMs.toFixed(2)),
    loadGeneratorCpuMsPerAttestation: Number(((generatorSeconds * 1000) / succeeded).toFixed(2)),
    generator: generatorLoad,
    runQueueWaitMsPerAttestation: {
      coordinator: Number(((waited * 1000) / succeeded).toFixed(2)),
      generator: Number(((generatorThreads.runQueueWait * 1000) / succeeded).toFixed(2)),
    },
    boundCpuMs: Number(boundMs.toFixed(2)),
    cpuRatio: Number((boundMs / cpuMs).toFixed(3)),
    simulatedReportCpuMs: Number((b.simulatedReport * 1000).toFixed(2)),
    failureReasons: countFailures(result.failures),
  };
}

/** What the step search found against one Coordinator. */
interface StepSearch {
  readonly steps: readonly StepSummary[];
  readonly found: SustainedRate<StepSummary>;
}

/** The step table, the load the machine sustains, its p99 and the goal's verdict. */
function printSteps(
  search: StepSearch,
  conditions: string,
  log: (line: string) => void,
): void {
  const { steps, found } = search;
  const first = steps[0]!;
  log(
    `open-loop step search (${first.schedule === "poisson" ? "Poisson" : "fixed"} arrivals, ` +
      `${first.requests} requests a step, rates as shares of this Coordinator's closed-loop peak ` +
      `${first.peakPerSecond}/s; latency from each scheduled start, wrk2 style):`,
  );
  log(
    "share | offered/s | served/s | p50 / p90 / p99 / max ms | most in flight | " +
      "Coordinator CPU ms (bound/CPU), run-queue wait ms | generator CPU ms, main thread / CPUs " +
      "busy, sent share of schedule, send lag p50 / p99 ms | sustained",
  );
  const row = (s: StepSummary, label: string) => {
    const g = s.generator;
    log(
      `${s.share.toFixed(2).padStart(5)} | ${String(s.offeredPerSecond).padStart(9)} | ` +
        `${String(s.achievedPerSecond).padStart(8)} | ` +
        `${s.p50Ms} / ${s.p90Ms} / ${s.p99Ms} / ${s.maxMs} | ${s.maxInFlight} | ` +
        `${s.coordinatorCpuMsPerAttestation} (${s.cpuRatio}), ` +
        `${s.runQueueWaitMsPerAttestation.coordinator} | ` +
        `${s.loadGeneratorCpuMsPerAttestation}, ${(g.mainThreadBusy * 100).toFixed(0)} % / ` +
        `${(g.cpusBusy * 100).toFixed(0)} %, ${(g.sentShare * 100).toFixed(1)} %, ` +
        `${g.p50SendLagMs} / ${g.p99SendLagMs} | ` +
        (s.sustained
          ? "yes"
          : `NO: ${
            [...s.verdict.reasons, ...s.generatorReasons.map((r) => `generator: ${r}`)]
              .join("; ")
          }`) +
        label,
    );
    for (const line of failureLines(s.failureReasons, s.requests, "    ")) log(line);
  };
  for (const s of steps) {
    const tries = s.failedAttempts ?? [];
    tries.forEach((f, n) => row(f, ` (attempt ${n + 1})`));
    row(s, tries.length > 0 ? ` (attempt ${tries.length + 1})` : "");
  }
  const at = found.sustained;
  const definition = "the highest open-loop rate served at >= 95 % of the rate offered, nothing " +
    "failed, the median latency of the last third <= 2x the first third's + 20 ms (in one of " +
    "--step-attempts tries), every lower step alike, and the generator never the bottleneck";
  if (found.endedBy === "generator") {
    const g = found.stoppedAt!;
    log(
      `GENERATOR-BOUND: at ${g.offeredPerSecond}/s the load generator, not the Coordinator, was ` +
        `the bottleneck (${g.generatorReasons.join("; ")}); this run does not measure the load ` +
        `the Coordinator sustains (at least ${at ? `${at.offeredPerSecond}/s` : "nothing"})`,
    );
  }
  if (at === undefined) {
    log(
      `load the machine sustains (${definition}): not even the lowest step ` +
        `(${first.offeredPerSecond}/s)`,
    );
    log(
      `goal p99 < ${P99_GOAL_MS} ms at the load the machine sustains (${conditions}): ` +
        (found.endedBy === "generator" ? "NOT JUDGED (generator-bound)" : "NOT met"),
    );
    return;
  }
  const above = found.endedBy === "steps"
    ? ` or more (every step up to ${MAX_PEAK_SHARE}x the closed-loop peak sustained)`
    : "";
  log(
    `load the machine sustains (${definition}): ${at.offeredPerSecond}/s${above} ` +
      `(${at.share} of the closed-loop peak; served ${at.achievedPerSecond}/s)`,
  );
  log(
    `  there: p50 ${at.p50Ms} / p90 ${at.p90Ms} / p99 ${at.p99Ms} ms; Coordinator CPU ` +
      `${at.coordinatorCpuMsPerAttestation} ms per attestation against a ${at.boundCpuMs} ms ` +
      `bound: ratio ${at.cpuRatio}` +
      (at.simulatedReportCpuMs > 0
        ? ` (without the simulated TEE's report signature, ${at.simulatedReportCpuMs} ms: ` +
          `${
            (at.boundCpuMs / (at.coordinatorCpuMsPerAttestation - at.simulatedReportCpuMs))
              .toFixed(3)
          })`
        : "") +
      `; load generator ${at.loadGeneratorCpuMsPerAttestation} ms per attestation; waiting for a ` +
      `CPU ${at.runQueueWaitMsPerAttestation.coordinator} / ` +
      `${at.runQueueWaitMsPerAttestation.generator} ms`,
  );
  const judged = found.endedBy === "coordinator";
  log(
    `goal p99 < ${P99_GOAL_MS} ms at the load the machine sustains (${at.offeredPerSecond}/s; ` +
      `${conditions}): ` +
      `p99 ${at.p99Ms} ms: ` +
      (judged
        ? (at.p99Ms < P99_GOAL_MS ? "met" : "NOT met")
        : `${at.p99Ms < P99_GOAL_MS ? "under" : "NOT under"} the goal, but NOT JUDGED ` +
          `(${found.endedBy === "generator" ? "generator-bound" : "the limit was not reached"})`),
  );
}

/** Issue 18's goals for the Coordinator. */
const P99_GOAL_MS = 100;
const RATIO_GOAL = 0.7;

/** The concurrencies of `--sweep` (a comma-separated list after it, or the default). */
/**
 * The concurrencies to sweep: the list after `--sweep`, the default list without one, and none
 * (one fixed level) when only `--concurrency` is given.
 */
function sweepLevels(): number[] | undefined {
  const i = Deno.args.indexOf("--sweep");
  if (i < 0) {
    if (Deno.args.includes("--concurrency")) return undefined;
    return [...DEFAULT_SWEEP];
  }
  const next = Deno.args[i + 1];
  if (next === undefined || next.startsWith("--")) return [...DEFAULT_SWEEP];
  return next.split(",").map(Number);
}

/**
 * The levels to measure: `sweep`, or the one `--concurrency` level (default 16), each checked:
 * at most 32, the limit of the challenge protocol (its nonce store held at most 32 outstanding
 * nonces per client address), kept so that levels stay comparable with earlier runs.
 */
function checkedConcurrencies(sweep: number[] | undefined): number[] {
  if (sweep && Deno.args.includes("--concurrency")) {
    throw new Error("--concurrency and --sweep exclude each other");
  }
  const concurrencies = sweep ?? [flag("--concurrency", 16)];
  for (const c of concurrencies) {
    if (!(Number.isInteger(c) && c >= 1 && c <= 32)) {
      throw new Error(
        `concurrency ${c}: must be an integer 1–32`,
      );
    }
  }
  if (new Set(concurrencies).size !== concurrencies.length) {
    throw new Error("--sweep: a concurrency is listed twice");
  }
  return concurrencies;
}

/**
 * Unmeasured attestations per Coordinator before the first round (`--warmup N`): the CPU that
 * compiling the serving path and growing the heap cost once per process is not charged to the
 * measured attestations (the bound gets its own warm-up too). `--warmup 0` measures from the
 * first attestation, as the load test did before the ninth round.
 */
const DEFAULT_WARMUP = 200;

/** The concurrencies swept by default. */
const DEFAULT_SWEEP = [1, 2, 4, 8, 16] as const;

/** Which Coordinator a set of levels measures: this tree's, or another checkout's. */
interface TargetSpec {
  /** Printed above its figures. */
  readonly label: string;
  /** The checkout whose `coordinator/main.ts` runs (trailing slash). */
  readonly repoRoot: string;
  /** Flags for `deno run` (before the script). */
  readonly denoFlags: readonly string[];
}

/** A running Coordinator with its workspace, its levels and one attestation against it. */
interface Target {
  readonly spec: TargetSpec;
  readonly coordinator: CoordinatorProcess;
  readonly ws: Workspace;
  readonly levels: LevelTotals[];
  /**
   * One full exchange by a fresh simulated initializer whose keys {@link Target.prepare} made;
   * resolves to its latency, ms.
   */
  readonly one: () => Promise<number>;
  /**
   * Makes what `count` exchanges need that does not depend on the Coordinator's answers, outside
   * the measured phases: the pods' keys (a pod makes them before it connects) and, with
   * presigned evidence, the nonces of the simulated secure processor's signatures.
   */
  readonly prepare: (count: number) => Promise<void>;
  /** One simulated SNP report for this Coordinator, as its simulated TEE makes for `/attest`. */
  readonly coordinatorReport: () => Promise<unknown>;
}

/**
 * What each simulated initializer does (`--flow`): `mesh`, the mesh exchange alone (the
 * certificate request bound to its connection; the figures of every round before the tenth);
 * `initializer`, the Initializer's whole exchange (`initializer/run.ts`): `/attest` of the
 * Coordinator verified against the pod's trust document, then the certificate request, both over
 * one pinned TLS connection.
 */
type Flow = "mesh" | "initializer";

/** Flags split on spaces (`--against-deno-flags "--v8-flags=--max-semi-space-size=8"`). */
function words(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(" ").filter((w) => w !== "");
}

/** The value after `name` in the arguments, if given. */
function stringFlag(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  if (i < 0) return undefined;
  const value = Deno.args[i + 1];
  if (value === undefined) throw new Error(`${name} needs a value`);
  return value;
}

/**
 * The Coordinators to measure: this tree's, and with `--against DIR` another checkout's (e.g.
 * main's worktree), whose rounds are interleaved with this tree's so both see the same machine.
 */
function targetSpecs(): TargetSpec[] {
  const specs: TargetSpec[] = [{
    label: "this tree",
    repoRoot: REPO_ROOT,
    denoFlags: words(stringFlag("--deno-flags")),
  }];
  const against = stringFlag("--against");
  if (against !== undefined) {
    const repoRoot = against.endsWith("/") ? against : `${against}/`;
    if (!existsSync(`${repoRoot}coordinator/main.ts`)) {
      throw new Error(`--against ${against}: no coordinator/main.ts there`);
    }
    specs.push({
      label: `against ${repoRoot}`,
      repoRoot,
      denoFlags: words(stringFlag("--against-deno-flags")),
    });
  } else if (Deno.args.includes("--against-deno-flags")) {
    throw new Error("--against-deno-flags needs --against");
  }
  return specs;
}

/** Whether `path` exists. */
function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The simulated VCEK's private key of `authority`: captured from one report signed through the
 * authority's signing hook (with WebCrypto, checked), the key the pods' reports are signed with.
 */
async function vcekSigningKey(authority: SimulatedSnpAuthority): Promise<CryptoKey> {
  let captured: CryptoKey | undefined;
  await authority.createReport({
    sign: async (key, body) => {
      captured = key;
      return new Uint8Array(await crypto.subtle.sign(SHA384, key, body as Uint8Array<ArrayBuffer>));
    },
  });
  if (captured === undefined) throw new Error("load test: the authority signed without its VCEK");
  return captured;
}

/**
 * Starts `spec`'s Coordinator in a fresh workspace, sets the workspace's manifest and returns
 * the exchange to load it with.
 */
async function startTarget(
  spec: TargetSpec,
  concurrencies: readonly number[],
  options: {
    readonly logLevel: string;
    readonly inspect: boolean;
    readonly traceStdout: boolean;
    readonly onLogLine: (line: string) => void;
    readonly flow: Flow;
    readonly policyBytes: number;
    /** Sign the pods' simulated reports with precomputed nonces (`--generator-signature`). */
    readonly presigned: boolean;
  },
): Promise<Target> {
  const ws = await createWorkspace("snp", { policyBytes: options.policyBytes });
  let coordinator: CoordinatorProcess;
  try {
    coordinator = await startCoordinatorProcess({
      historyDir: `${ws.dir}/history`,
      vm: workspaceVm(ws, ws.deployment.coordinator.digest),
      readyFile: `${ws.dir}/ready.json`,
      cwd: ws.dir,
      repoRoot: spec.repoRoot,
      extraArgs: ["--log-level", options.logLevel],
      denoFlags: [...(options.inspect ? ["--inspect=127.0.0.1:0"] : []), ...spec.denoFlags],
      ...(options.traceStdout ? { stdout: "inherit" as const } : {}),
      onLogLine: options.onLogLine,
    });
  } catch (error) {
    await ws.cleanup();
    throw error;
  }
  const coordinatorVm = new SimulatedSnpEvidenceSource(ws.deployment.authority, {
    hostData: ws.deployment.coordinator.digest,
    measurement: await MEASUREMENT,
  });
  const podKeys: PodKeys[] = [];
  let signer: PresignedP384Signer | undefined;
  const target = (exchange: (keys: PodKeys) => Promise<void>): Target => ({
    spec,
    coordinator,
    ws,
    levels: concurrencies.map(emptyLevel),
    one: async () => {
      const keys = podKeys.pop();
      if (keys === undefined) throw new Error("load test: no prepared pod keys left");
      const started = performance.now();
      await exchange(keys);
      return performance.now() - started;
    },
    prepare: async (count: number) => {
      while (podKeys.length < count) podKeys.push(await generatePodKeys());
      signer?.ensure(count);
    },
    coordinatorReport: () =>
      coordinatorVm.getEvidence(crypto.getRandomValues(new Uint8Array(REPORT_DATA_LENGTH))),
  });
  try {
    if (options.presigned) {
      signer = await PresignedP384Signer.fromKey(await vcekSigningKey(ws.deployment.authority));
    }
    const set = await runDenoScript(
      "cli/main.ts",
      ["set", "-c", coordinator.userAddress, ws.yamlPath],
      ws.dir,
    );
    if (set.code !== 0) throw new Error(`set failed: ${set.stderr}`);
    const pod = new SimulatedSnpEvidenceSource(ws.deployment.authority, {
      hostData: ws.deployment.pods.web.digest,
      measurement: await MEASUREMENT,
      // The simulated secure processor's signature with a nonce precomputed by prepare(): the
      // same ECDSA signature, without the scalar multiplication a real PSP does on its own chip.
      ...(signer
        ? { sign: (_key: CryptoKey, body: Uint8Array) => Promise.resolve(signer!.sign(body)) }
        : {}),
    });
    const trust = parseCoordinatorTrust(ws.deployment.coordinatorTrust());
    const verifiers = new ManifestVerifiers();
    // The initializer's own exchange (atls/mesh_client.ts): channel binding, evidence and
    // certificate over one pinned connection, the leaf checked to be for the pod's key; with
    // `--flow initializer` after attesting the Coordinator on that connection, as
    // initializer/run.ts does.
    let pods = 0;
    return target(async (keys: PodKeys): Promise<void> => {
      const localAddress = podAddress(pods++);
      const credentials = options.flow === "initializer"
        ? (await requestAttestedMeshCredentials(
          coordinator.meshAddress,
          keys,
          pod,
          trust,
          (m, e, o) => verifiers.verify(m, e, o),
          { timeoutMs: 300_000, localAddress },
        )).credentials
        : await requestMeshCredentials(coordinator.meshAddress, keys, pod, {
          timeoutMs: 300_000,
          localAddress,
        });
      if (credentials.workloadSecret === undefined) {
        throw new Error("the web pod's policy has a workload secret, but none was issued");
      }
    });
  } catch (error) {
    await stopTarget(target(() => Promise.reject(error)));
    throw error;
  }
}

/** Stops a target's Coordinator and removes its workspace. */
async function stopTarget(target: Target): Promise<void> {
  await target.coordinator.stop();
  await target.ws.cleanup();
}

/** Prints (or returns as JSON) one target's figures. */
function report(
  target: Target,
  summaries: readonly LevelSummary[],
  sweep: boolean,
  load1: number,
  open: StepSearch | undefined,
  pinning: string,
  conditions: string,
  log: (line: string) => void,
): Record<string, unknown> {
  const printOpen = () => {
    if (open) printSteps(open, conditions, log);
    else log(`goal p99 < ${P99_GOAL_MS} ms: not judged (--no-open-loop)`);
  };
  const sustainedLoad = open && {
    definition: "highest open-loop step served at >= 95 % of the offered rate, none failed, " +
      "median latency of the last third <= 2x the first third's + 20 ms (in one of " +
      "--step-attempts tries), every lower step alike, generator never the bottleneck",
    endedBy: open.found.endedBy,
    offeredPerSecond: open.found.sustained?.offeredPerSecond,
    p99Ms: open.found.sustained?.p99Ms,
    cpuRatio: open.found.sustained?.cpuRatio,
    loadGeneratorCpuMsPerAttestation: open.found.sustained?.loadGeneratorCpuMsPerAttestation,
  };
  if (sweep) {
    const found = sustainedLevel(summaries);
    printSweep(summaries, found, load1, log);
    printOpen();
    return {
      openLoopSteps: open?.steps,
      sustainedLoad,
      pinning,
      coordinator: target.spec.label,
      denoFlags: target.spec.denoFlags,
      loadAverage1m: load1,
      levels: summaries,
      peakConcurrency: found.peak.concurrency,
      sustainedConcurrency: found.sustained.concurrency,
      sustainedShare: found.share,
      p99AtSustainedMs: found.sustained.p99Ms,
      cpuRatioAtSustained: found.sustained.cpuRatio,
    };
  }
  printLevel(summaries[0]!, load1, log);
  printOpen();
  return {
    coordinator: target.spec.label,
    denoFlags: target.spec.denoFlags,
    ...summaries[0],
    loadAverage1m: load1,
    pinning,
    openLoopSteps: open?.steps,
    sustainedLoad,
  };
}

/**
 * This tree's CPU per attestation against the other checkout's, level by level: over the whole
 * run, and the median and range of the rounds' quotients (each round of one Coordinator next to
 * the same round of the other, so a drift in the machine's load cancels within a pair).
 */
function printComparison(
  mine: readonly LevelSummary[],
  theirs: readonly LevelSummary[],
  log: (line: string) => void,
): void {
  log("this tree against the other checkout (same run, rounds interleaved):");
  log(
    "in flight | CPU ms/attestation this / other | this ÷ other | by round: median (range) | " +
      "ratio this / other",
  );
  mine.forEach((m, i) => {
    const t = theirs[i]!;
    const paired = m.coordinatorCpuMsPerAttestationByRound.map((v, r) =>
      v / t.coordinatorCpuMsPerAttestationByRound[r]!
    );
    const sorted = [...paired].sort((a, b) => a - b);
    log(
      `${String(m.concurrency).padStart(9)} | ${m.coordinatorCpuMsPerAttestation} / ` +
        `${t.coordinatorCpuMsPerAttestation} | ` +
        `${(m.coordinatorCpuMsPerAttestation / t.coordinatorCpuMsPerAttestation).toFixed(3)} | ` +
        `${median(paired).toFixed(3)} (${sorted[0]!.toFixed(3)}–${sorted.at(-1)!.toFixed(3)}) | ` +
        `${m.cpuRatio} / ${t.cpuRatio}`,
    );
  });
}

/** How the pods' simulated reports are signed (`--generator-signature`, default presigned). */
function generatorSignature(): "presigned" | "webcrypto" {
  const value = stringFlag("--generator-signature") ?? "presigned";
  if (value !== "presigned" && value !== "webcrypto") {
    throw new Error(`--generator-signature ${value}: expected presigned or webcrypto`);
  }
  return value;
}

/**
 * The CPUs of the Coordinator and the generator: by default this process's CPUs split in two
 * halves ({@link splitCpus}), `--pin-coordinator LIST` / `--pin-generator LIST` explicitly, none
 * with `--no-pin` (both processes on every CPU, as before the eleventh round).
 */
async function cpuSplit(): Promise<CpuSplit | undefined> {
  const coordinator = stringFlag("--pin-coordinator");
  const generator = stringFlag("--pin-generator");
  if (Deno.args.includes("--no-pin")) {
    if (coordinator !== undefined || generator !== undefined) {
      throw new Error("--no-pin excludes --pin-coordinator and --pin-generator");
    }
    return undefined;
  }
  const available = await allowedCpus(Deno.pid);
  if (coordinator === undefined && generator === undefined) return splitCpus(available);
  if (coordinator === undefined || generator === undefined) {
    throw new Error("--pin-coordinator and --pin-generator go together");
  }
  return checkSplit({
    coordinator: parseCpuList(coordinator, "--pin-coordinator"),
    generator: parseCpuList(generator, "--pin-generator"),
  }, available);
}

async function main(): Promise<void> {
  exitOnBadOptions(Deno.args, OPTIONS);
  const count = flag("--initializers", 500);
  const rounds = flag("--rounds", 5);
  const boundIterations = flag("--bound-iterations", 100);
  const warmup = flag("--warmup", DEFAULT_WARMUP);
  if (!(Number.isInteger(warmup) && warmup >= 0)) throw new Error("--warmup: a whole number");
  const sweep = sweepLevels();
  const concurrencies = checkedConcurrencies(sweep);
  const specs = targetSpecs();
  const asJson = Deno.args.includes("--json");
  // The Coordinator's own default (info: an access line per request and one per certificate),
  // as it runs in a deployment; `--log-level warn` measures it without those lines.
  const logLevel = stringFlag("--log-level") ?? "info";
  const flow = stringFlag("--flow") ?? "mesh";
  if (flow !== "mesh" && flow !== "initializer") {
    throw new Error(`--flow ${flow}: expected mesh or initializer`);
  }
  const openSettings = openLoopSettings(count);
  const policyKb = flag("--policy-kb", 0);
  if (!(Number.isInteger(policyKb) && policyKb >= 0)) {
    throw new Error("--policy-kb: a whole number");
  }
  const profileFile = stringFlag("--profile");
  const presigned = generatorSignature() === "presigned";
  const split = await cpuSplit();
  const niceFlag = stringFlag("--nice");
  const nice = niceFlag === undefined ? undefined : Number(niceFlag);
  const log = (line: string) => asJson || console.log(line);
  let inspector: string | undefined;
  let autogroupBefore: number | undefined;
  const targets: Target[] = [];
  try {
    for (const [i, spec] of specs.entries()) {
      targets.push(
        await startTarget(spec, concurrencies, {
          logLevel,
          // Only this tree's Coordinator is profiled.
          inspect: i === 0 && profileFile !== undefined,
          traceStdout: Deno.args.includes("--coordinator-stdout"),
          flow,
          policyBytes: policyKb * 1000,
          presigned,
          onLogLine: (line) => {
            if (i === 0) inspector ??= inspectorAddress(line);
          },
        }),
      );
    }
    if (profileFile && inspector === undefined) {
      throw new Error("--profile: the Coordinator printed no inspector address");
    }
    const profiler = inspector ? await InspectorProfiler.connect(inspector) : undefined;
    if (split) {
      for (const t of targets) await pinProcess(t.coordinator.child.pid, split.coordinator);
      await pinProcess(Deno.pid, split.generator);
    }
    if (nice !== undefined) {
      for (const t of targets) await reniceProcess(t.coordinator.child.pid, nice);
      await reniceProcess(Deno.pid, nice);
      // The session's autogroup ranks it against other sessions' work (the Coordinators are
      // children in this session); restored in `finally`.
      autogroupBefore = await setAutogroupNice(Deno.pid, nice);
      for (const t of targets) await setAutogroupNice(t.coordinator.child.pid, nice);
    }
    const generatorCpus = split ? split.generator.length : (await allowedCpus(Deno.pid)).length;
    const priority = nice === undefined
      ? "default priority"
      : `both at nice ${nice} (renice, every thread, and their session's autogroup, checked: ` +
        `ahead of other work on the machine)`;
    const pinning = split
      ? `pinned: Coordinator on CPU ${formatCpuList(split.coordinator)}, load generator on CPU ` +
        `${formatCpuList(split.generator)} (taskset, every thread, checked)`
      : `NOT pinned (--no-pin): the Coordinator and the load generator share CPU ` +
        `${formatCpuList(await allowedCpus(Deno.pid))}`;
    const placement = `${pinning}; ${priority}`;
    // Short, for the goal's line (which deno task bench:all's table copies).
    const conditions = `${
      split
        ? `pinned, Coordinator CPU ${formatCpuList(split.coordinator)}, generator CPU ` +
          formatCpuList(split.generator)
        : "not pinned"
    }${nice === undefined ? "" : `, nice ${nice}`}, load average ${
      Deno.loadavg()[0]!.toFixed(1)
    } at the start`;
    log(
      `load test: ${count} simulated initializers ` +
        `${sweep ? `per level (${sweep.join(", ")} in flight) ` : ""}against ` +
        targets.map((t) => `${t.coordinator.meshAddress} (${t.spec.label})`).join(" and ") +
        `, each after ${warmup} unmeasured warm-up attestations; flow ${flow}` +
        (policyKb > 0 ? `, policies padded to ${policyKb} KB` : ""),
    );
    log(
      `${placement}; the pods' simulated report signatures ` +
        (presigned
          ? "with precomputed nonces (--generator-signature presigned)"
          : "by WebCrypto at request time (--generator-signature webcrypto)"),
    );

    for (const t of targets) {
      await t.prepare(1 + warmup);
      await t.one(); // chain verification is cached from here on
    }
    // Unmeasured warm-up at the highest level: V8 compiles the serving path (Maglev, TurboFan)
    // and the heap grows to its working size once per process, not per attestation.
    const warmupWidth = Math.max(...concurrencies);
    for (const t of targets) {
      const failed = (await runPool(warmup, warmupWidth, t.one)).find((r) =>
        r.status === "rejected"
      );
      if (failed) throw new Error(`warm-up attestation failed: ${String(failed.reason)}`);
    }
    const fixture = await boundFixture();
    await cryptoBoundCpuSeconds(fixture, 20); // warm-up of the bound's code paths
    // With the Initializer's flow, the simulated TEE's report for /attest is measured too (the
    // same computation the Coordinator's simulated TEE makes), to be stated and subtracted.
    const psp = flow === "initializer" ? targets[0]!.coordinatorReport : undefined;
    const bound = () => cryptoBoundCpuSeconds(fixture, boundIterations, psp);
    const perRound = Math.ceil(count / rounds);
    await profiler?.start();
    for (let round = 0; round < rounds; round++) {
      const batch = Math.min(perRound, count - round * perRound);
      if (batch <= 0) break;
      // Levels (and Coordinators) interleaved, every other round in reverse order: drift in
      // the machine's load reaches every level and both Coordinators alike.
      const forward = round % 2 === 0;
      const levelOrder = concurrencies.map((_, i) => i);
      if (!forward) levelOrder.reverse();
      const targetOrder = forward ? targets : [...targets].reverse();
      for (const l of levelOrder) {
        for (const t of targetOrder) {
          await measureRound(t, batch, t.levels[l]!, bound);
        }
      }
    }
    if (profiler && profileFile) {
      const profile = await profiler.stop();
      profiler.close();
      await Deno.writeTextFile(profileFile, JSON.stringify(profile));
      const summary = summarizeProfile(profile);
      log(`Coordinator profile (${profileFile}): ${summary.busyMs} ms busy on its JS thread`);
      log("self time by file:");
      for (const e of summary.files) {
        log(`  ${e.selfMs} ms  ${(e.share * 100).toFixed(1)}%  ${e.name}`);
      }
      log("self time by function:");
      for (const e of summary.functions) {
        log(`  ${e.selfMs} ms  ${(e.share * 100).toFixed(1)}%  ${e.name}`);
      }
    }
    const all = targets.map((t) => t.levels.map((l) => summarize(l, count, rounds)));
    // The step search after the closed loop, at ascending shares of each Coordinator's own
    // peak until a step is not sustained (the Coordinators' order reversed every other step).
    const steps: StepSummary[][] = targets.map(() => []);
    const openPeak = Deno.args.includes("--open-loop-peak")
      ? flag("--open-loop-peak", Number.NaN)
      : undefined;
    if (openPeak !== undefined && !(openPeak > 0)) {
      throw new Error("--open-loop-peak: a positive rate per second");
    }
    const searching = new Set(targets.keys());
    for (const [k, share] of stepShares(openSettings?.shares ?? [], () => searching.size > 0)) {
      const order = [...searching];
      if (k % 2 === 1) order.reverse();
      for (const i of order) {
        // `--open-loop-peak R`: one rate for every Coordinator (their own peaks differ with noise).
        const peak = openPeak ?? sustainedLevel(all[i]!).peak.attestationsPerSecond;
        // A step not sustained is measured again (up to --step-attempts in all): on a machine
        // shared with other work one stall can end a step that the Coordinator sustains; a rate
        // it cannot sustain fails every attempt. Every attempt is printed.
        const failedAttempts: StepSummary[] = [];
        let step: StepSummary;
        for (;;) {
          step = await measureStep(targets[i]!, peak, share, openSettings!, bound, generatorCpus);
          if (step.sustained || failedAttempts.length + 1 >= openSettings!.attempts) break;
          failedAttempts.push(step);
        }
        steps[i]!.push({ ...step, failedAttempts });
        // `--keep-going`: every step measured (repeated shares for interleaved samples).
        if (!step.sustained && !Deno.args.includes("--keep-going")) searching.delete(i);
      }
    }
    const open = openSettings &&
      steps.map((s) => ({ steps: s, found: sustainedRate(s) } satisfies StepSearch));
    if (split) {
      // Threads started during the run inherit the pin; a run whose figures claim it checks it.
      for (const t of targets) await checkPinned(t.coordinator.child.pid, split.coordinator);
      await checkPinned(Deno.pid, split.generator);
    }
    if (nice !== undefined) {
      for (const t of targets) await checkNice(t.coordinator.child.pid, nice);
      await checkNice(Deno.pid, nice);
    }
    const load1 = Number(Deno.loadavg()[0]!.toFixed(1));
    log(
      `load average ${
        Deno.loadavg().map((v) => v.toFixed(1)).join(" / ")
      } (1 / 5 / 15 min); ${placement}`,
    );
    const reports = targets.map((t, i) => {
      if (targets.length > 1) log(`— Coordinator of ${t.spec.label}:`);
      return report(t, all[i]!, sweep !== undefined, load1, open?.[i], placement, conditions, log);
    });
    if (targets.length > 1) printComparison(all[0]!, all[1]!, log);
    if (asJson) {
      console.log(JSON.stringify(
        targets.length > 1 ? { ...reports[0], against: reports[1] } : reports[0],
        null,
        2,
      ));
    }
    if (all.some((levels) => levels.some((s) => s.failed > 0))) Deno.exitCode = 1;
    // The benchmark fails loudly when it did not measure what it names: a step search ended by
    // the generator, or requests failing at its lowest step.
    if (open?.some((o) => o.found.endedBy === "generator")) Deno.exitCode = 1;
    if (open?.some((o) => o.steps[0]!.failed > 0)) Deno.exitCode = 1;
  } finally {
    for (const t of targets) await stopTarget(t);
    if (autogroupBefore !== undefined) await setAutogroupNice(Deno.pid, autogroupBefore);
  }
}

if (import.meta.main) await main();
