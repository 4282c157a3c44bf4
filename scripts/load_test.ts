/**
 * Load test of the Coordinator's mesh API: N simulated initializers at once against a
 * Coordinator in its own process (simulated TEE), each doing the full exchange (fresh keys,
 * challenge, evidence bound to the challenge, certificate + sealed workload secret).
 *
 * The load runs in rounds of concurrent initializers. Around every round the Coordinator
 * process's CPU time (user + system of all its threads, `/proc/<pid>/stat`) is read; after every
 * round the bound is measured as this process's CPU time for the per-attestation cryptography the
 * Coordinator cannot avoid (ECDSA P-384 verification of the report + ECDSA P-384 signature of the
 * leaf). Interleaving keeps both under the same machine load. It prints the Coordinator's CPU per
 * attestation, the bound, their ratio (bound / Coordinator; 1.0 = nothing but the bound), the
 * attestations per second and p50/p90/p99 latency of the exchange, and the load average; then
 * the Coordinator's CPU by thread, the load generator's own CPU (it shares the machine) and the
 * run-queue wait of both (time their threads were runnable but had no CPU).
 *
 * `--log-level L` (default `info`, the Coordinator's default and what a deployment runs with:
 * an access line per request and one per issued certificate) is passed to the Coordinator.
 *
 * `--concurrency C` keeps at most C exchanges in flight (default 16, at most 32: all simulated
 * initializers share 127.0.0.1 and the Coordinator holds at most 32 challenge nonces per client).
 *
 * `--profile FILE` starts the Coordinator with its inspector on, samples its JavaScript thread
 * over the load phases (V8 CPU profile, written to FILE; open it in Chrome DevTools) and prints
 * the functions and files with the most self time. Profiling slows the Coordinator: the ratio
 * of a profiled run is not the figure to report.
 *
 * Usage: `deno run -A scripts/load_test.ts [--initializers 500] [--rounds 5] [--concurrency C]
 * [--bound-iterations 100] [--log-level info] [--profile FILE] [--json]`
 *
 * @module
 */
import "reflect-metadata";
import process from "node:process";
import { generatePodKeys, requestMeshCredentials } from "../atls/mesh_client.ts";
import { SimulatedSnpEvidenceSource } from "../testing/simulated_evidence.ts";
import { MEASUREMENT } from "../testing/simulation/deployment.ts";
import { runDenoScript, startCoordinatorProcess } from "../testing/simulation/processes.ts";
import { createWorkspace, workspaceVm } from "../testing/simulation/workspace.ts";
import {
  inspectorAddress,
  InspectorProfiler,
  summarizeProfile,
} from "../bench/coordinator/cpu_profile.ts";
import {
  type ThreadCpu,
  threadCpuDelta,
  threadCpuSeconds,
} from "../bench/coordinator/thread_cpu.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
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

/** USER_HZ of Linux's /proc accounting (100 on every mainstream architecture). */
const CLOCK_TICKS_PER_SECOND = 100;

/** The keys and inputs of the per-attestation crypto bound, prepared once. */
interface BoundFixture {
  /** The report-signing key's public half, imported from SPKI like a VCEK's from its certificate. */
  readonly vcekPublic: CryptoKey;
  /** A P-384 signing key imported from JWK, like the Coordinator's seed-derived mesh CA key. */
  readonly meshPrivate: CryptoKey;
  readonly report: Uint8Array<ArrayBuffer>;
  readonly signature: ArrayBuffer;
  readonly tbs: Uint8Array<ArrayBuffer>;
}

const P384 = { name: "ECDSA", namedCurve: "P-384" } as const;
const SHA384 = { name: "ECDSA", hash: "SHA-384" } as const;

/**
 * Keys in the form the Coordinator holds them. The public key must be imported: Deno's WebCrypto
 * verifies with a *generated* key pair's public key by deriving it from the private key on every
 * call (~2.1 ms against ~1.0 ms for an imported P-384 key, measured), and the Coordinator
 * verifies reports with the VCEK key imported from its certificate (`snp/verify/report_signature.ts`).
 */
async function boundFixture(): Promise<BoundFixture> {
  const vcek = await crypto.subtle.generateKey(P384, true, ["sign", "verify"]) as CryptoKeyPair;
  const mesh = await crypto.subtle.generateKey(P384, true, ["sign", "verify"]) as CryptoKeyPair;
  const vcekPublic = await crypto.subtle.importKey(
    "spki",
    await crypto.subtle.exportKey("spki", vcek.publicKey),
    P384,
    false,
    ["verify"],
  );
  const meshPrivate = await crypto.subtle.importKey(
    "jwk",
    await crypto.subtle.exportKey("jwk", mesh.privateKey),
    P384,
    false,
    ["sign"],
  );
  const report = crypto.getRandomValues(new Uint8Array(672));
  const signature = await crypto.subtle.sign(SHA384, vcek.privateKey, report);
  return {
    vcekPublic,
    meshPrivate,
    report,
    signature,
    tbs: crypto.getRandomValues(new Uint8Array(700)),
  };
}

/**
 * CPU seconds per unavoidable per-attestation crypto operation (ECDSA P-384 verification of the
 * report + P-384 signature of the leaf), measured as this process's CPU time over `iterations`
 * back-to-back runs. Throws when a verification fails, so it never times a rejection path.
 */
async function cryptoBoundCpuSeconds(f: BoundFixture, iterations: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < iterations; i++) {
    const ok = await crypto.subtle.verify(SHA384, f.vcekPublic, f.signature, f.report);
    if (!ok) throw new Error("bound: the report signature did not verify");
    await crypto.subtle.sign(SHA384, f.meshPrivate, f.tbs);
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6 / iterations;
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

async function main(): Promise<void> {
  const count = flag("--initializers", 500);
  const rounds = flag("--rounds", 5);
  const boundIterations = flag("--bound-iterations", 100);
  // Every simulated initializer connects from 127.0.0.1, and the Coordinator keeps at most 32
  // outstanding challenge nonces per client address (a 33rd replaces the oldest), so more than
  // 32 exchanges in flight would fail by design; the default stays below that.
  const concurrency = flag("--concurrency", 16);
  if (!(concurrency >= 1 && concurrency <= 32)) {
    throw new Error("--concurrency must be 1–32 (the Coordinator's per-client nonce limit)");
  }
  const asJson = Deno.args.includes("--json");
  // The Coordinator's own default (info: an access line per request and one per certificate),
  // as it runs in a deployment; `--log-level warn` measures it without those lines.
  const logLevelIndex = Deno.args.indexOf("--log-level");
  const logLevel = logLevelIndex >= 0 ? Deno.args[logLevelIndex + 1]! : "info";
  const profileIndex = Deno.args.indexOf("--profile");
  const profileFile = profileIndex >= 0 ? Deno.args[profileIndex + 1] : undefined;
  const log = (line: string) => asJson || console.log(line);
  const ws = await createWorkspace();
  let inspector: string | undefined;
  const coordinator = await startCoordinatorProcess({
    historyDir: `${ws.dir}/history`,
    vm: workspaceVm(ws, ws.deployment.coordinator.digest),
    readyFile: `${ws.dir}/ready.json`,
    cwd: ws.dir,
    extraArgs: ["--log-level", logLevel],
    ...(profileFile ? { denoFlags: ["--inspect=127.0.0.1:0"] } : {}),
    onLogLine: (line) => inspector ??= inspectorAddress(line),
  });
  try {
    if (profileFile && inspector === undefined) {
      throw new Error("--profile: the Coordinator printed no inspector address");
    }
    const profiler = inspector ? await InspectorProfiler.connect(inspector) : undefined;
    const set = await runDenoScript(
      "cli/main.ts",
      ["set", "-c", coordinator.userAddress, ws.yamlPath],
      ws.dir,
    );
    if (set.code !== 0) throw new Error(`set failed: ${set.stderr}`);
    const d = ws.deployment;
    const measurement = await MEASUREMENT;
    log(`load test: ${count} simulated initializers against ${coordinator.meshAddress}`);

    const pod = new SimulatedSnpEvidenceSource(d.authority, {
      hostData: d.pods.web.digest,
      measurement,
    });
    // The initializer's own exchange (atls/mesh_client.ts): challenge and certificate over one
    // pinned connection, the leaf checked to be for the pod's key, the secret opened.
    const one = async (): Promise<number> => {
      const keys = await generatePodKeys();
      const started = performance.now();
      const credentials = await requestMeshCredentials(coordinator.meshAddress, keys, pod, {
        timeoutMs: 300_000,
      });
      if (credentials.workloadSecret === undefined) {
        throw new Error("the web pod's policy has a workload secret, but none was issued");
      }
      return performance.now() - started;
    };

    await one(); // warm-up: chain verification is cached from here on
    const fixture = await boundFixture();
    await cryptoBoundCpuSeconds(fixture, 20); // warm-up of the bound's code paths
    const pid = coordinator.child.pid;
    const latencies: number[] = [];
    const failures: unknown[] = [];
    const boundSamples: number[] = [];
    let coordinatorCpu = 0;
    let generatorCpu = 0;
    let threads: ThreadCpu = { main: 0, blockingPool: 0, v8Workers: 0, other: 0, runQueueWait: 0 };
    let generatorWait = 0;
    let loadWall = 0;
    const perRound = Math.ceil(count / rounds);
    await profiler?.start();
    for (let round = 0; round < rounds; round++) {
      const batch = Math.min(perRound, count - round * perRound);
      if (batch <= 0) break;
      // Load phase: `batch` initializers at once; the Coordinator's CPU time is read around it.
      const cpuBefore = await processCpuSeconds(pid);
      const threadsBefore = await threadCpuSeconds(pid);
      const generatorThreadsBefore = await threadCpuSeconds(Deno.pid);
      const wallBefore = performance.now();
      const generatorBefore = process.cpuUsage();
      const results = await runPool(batch, concurrency, one);
      loadWall += (performance.now() - wallBefore) / 1000;
      const generatorUsed = process.cpuUsage(generatorBefore);
      generatorCpu += (generatorUsed.user + generatorUsed.system) / 1e6;
      coordinatorCpu += await processCpuSeconds(pid) - cpuBefore;
      const roundThreads = threadCpuDelta(threadsBefore, await threadCpuSeconds(pid));
      generatorWait += threadCpuDelta(generatorThreadsBefore, await threadCpuSeconds(Deno.pid))
        .runQueueWait;
      threads = {
        main: threads.main + roundThreads.main,
        blockingPool: threads.blockingPool + roundThreads.blockingPool,
        v8Workers: threads.v8Workers + roundThreads.v8Workers,
        other: threads.other + roundThreads.other,
        runQueueWait: threads.runQueueWait + roundThreads.runQueueWait,
      };
      for (const r of results) {
        if (r.status === "fulfilled") latencies.push(r.value);
        else failures.push(r.reason);
      }
      // Bound, interleaved: the same machine state as the round just measured.
      boundSamples.push(await cryptoBoundCpuSeconds(fixture, boundIterations));
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
    latencies.sort((a, b) => a - b);
    const boundMs = median(boundSamples) * 1000;
    const cpuPerAttestationMs = latencies.length > 0
      ? (coordinatorCpu * 1000) / latencies.length
      : Number.NaN;
    const perAttestationMs = (seconds: number) =>
      Number(((seconds * 1000) / latencies.length).toFixed(2));
    const [load1] = Deno.loadavg();
    const summary = {
      initializers: count,
      rounds,
      concurrency,
      succeeded: latencies.length,
      failed: failures.length,
      loadWallSeconds: Number(loadWall.toFixed(2)),
      attestationsPerSecond: Number((latencies.length / loadWall).toFixed(1)),
      p50Ms: Math.round(percentile(latencies, 50)),
      p90Ms: Math.round(percentile(latencies, 90)),
      p99Ms: Math.round(percentile(latencies, 99)),
      coordinatorCpuSeconds: Number(coordinatorCpu.toFixed(2)),
      coordinatorCpuMsPerAttestation: Number(cpuPerAttestationMs.toFixed(2)),
      coordinatorCpuMsPerAttestationByThread: {
        main: perAttestationMs(threads.main),
        blockingPool: perAttestationMs(threads.blockingPool),
        v8Workers: perAttestationMs(threads.v8Workers),
        other: perAttestationMs(threads.other),
      },
      coordinatorRunQueueWaitMsPerAttestation: perAttestationMs(threads.runQueueWait),
      loadGeneratorCpuMsPerAttestation: perAttestationMs(generatorCpu),
      loadGeneratorRunQueueWaitMsPerAttestation: perAttestationMs(generatorWait),
      boundCpuMs: Number(boundMs.toFixed(2)),
      boundCpuMsSamples: boundSamples.map((s) => Number((s * 1000).toFixed(2))),
      cpuRatio: Number((boundMs / cpuPerAttestationMs).toFixed(3)),
      loadAverage1m: Number(load1!.toFixed(1)),
      firstFailure: failures[0] === undefined ? undefined : String(failures[0]),
    };
    if (asJson) console.log(JSON.stringify(summary, null, 2));
    else {
      log(
        `succeeded ${summary.succeeded}/${count} in ${rounds} rounds ` +
          `(${summary.concurrency} in flight), ` +
          `${summary.loadWallSeconds} s of load (load average ${summary.loadAverage1m})`,
      );
      log(
        `attestations/s ${summary.attestationsPerSecond}   p50 ${summary.p50Ms} ms   ` +
          `p90 ${summary.p90Ms} ms   p99 ${summary.p99Ms} ms`,
      );
      log(
        `Coordinator CPU ${summary.coordinatorCpuMsPerAttestation} ms per attestation ` +
          `(${summary.coordinatorCpuSeconds} s over the load phases)`,
      );
      const byThread = summary.coordinatorCpuMsPerAttestationByThread;
      log(
        `  by thread: main ${byThread.main} ms (JavaScript, HTTP, TLS, leaf signature), ` +
          `blocking pool ${byThread.blockingPool} ms (WebCrypto verify, file reads), ` +
          `V8 workers ${byThread.v8Workers} ms (GC, compiler), other ${byThread.other} ms`,
      );
      log(
        `load generator (this process: pod keys, simulated evidence, TLS client) CPU ` +
          `${summary.loadGeneratorCpuMsPerAttestation} ms per attestation, on the same cores`,
      );
      log(
        `waiting for a CPU (run queue, all threads) per attestation: Coordinator ` +
          `${summary.coordinatorRunQueueWaitMsPerAttestation} ms, load generator ` +
          `${summary.loadGeneratorRunQueueWaitMsPerAttestation} ms`,
      );
      log(
        `bound (P-384 verify + sign, CPU, interleaved per round): ${summary.boundCpuMs} ms ` +
          `(rounds: ${summary.boundCpuMsSamples.join(", ")})`,
      );
      log(`CPU ratio (bound / Coordinator per attestation): ${summary.cpuRatio}`);
      if (summary.firstFailure) log(`first failure: ${summary.firstFailure}`);
    }
    if (failures.length > 0) Deno.exitCode = 1;
  } finally {
    await coordinator.stop();
    await ws.cleanup();
  }
}

if (import.meta.main) await main();
