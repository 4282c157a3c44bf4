/**
 * Benchmarks of the highly available Coordinator, on a real local API server (`testing/kube/`),
 * as ratios measured in the same run:
 *
 * 1. **Transition cost, Kubernetes vs file backend**: `ManifestHistory.append` (store policies,
 *    manifest, transition, then compare-and-swap latest) on each backend, interleaved, N times;
 *    median wall time of each and their ratio. The API server and etcd are other processes, so
 *    this is wall time, not CPU time.
 * 2. **Attestations per second, three replicas vs one**: the load test's full mesh exchange
 *    (evidence bound to the connection, certificate + workload secret) by `--initializers` concurrent
 *    simulated initializers, spread round-robin over three replica processes, then all against a
 *    single replica process, on the same history and machine (order 3, 1, 1, 3; means).
 *
 * Usage: `deno run -A bench/coordinator/ha_ratio.ts [--appends 30] [--initializers 300] [--json]`
 *
 * @module
 */
import "reflect-metadata";
import { generatePodKeys, requestMeshCredentials } from "../../atls/mesh_client.ts";
import { SimulatedSnpEvidenceSource } from "../../testing/simulated_evidence.ts";
import { FileHistoryBackend } from "../../coordinator/history/file_backend.ts";
import { KubernetesHistoryBackend } from "../../coordinator/history/kubernetes_backend.ts";
import { ManifestHistory } from "../../coordinator/history/manifest_history.ts";
import { loadKubeConnection } from "../../coordinator/kube/client.ts";
import { GENESIS_TRANSITION } from "../../manifest/hash.ts";
import { SeedEngine } from "../../seed/seed_engine.ts";
import { kubeToolsMissing, LocalKubeCluster } from "../../testing/kube/mod.ts";
import { MEASUREMENT } from "../../testing/simulation/deployment.ts";
import {
  type CoordinatorProcess,
  runDenoScript,
  startCoordinatorProcess,
} from "../../testing/simulation/processes.ts";
import {
  createWorkspace,
  type Workspace,
  workspaceVm,
} from "../../testing/simulation/workspace.ts";
import { podAddress } from "./pod_address.ts";
import { exitOnBadOptions } from "../script_options.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Median append times (ms) on the file and the Kubernetes backend, interleaved. */
async function transitionCost(cluster: LocalKubeCluster, appends: number, dir: string) {
  const keys = await SeedEngine.create().historySigningKey();
  const file = ManifestHistory.open(
    await FileHistoryBackend.open(`${dir}/bench-history`),
    keys.publicKey,
  );
  const kube = ManifestHistory.open(
    new KubernetesHistoryBackend({
      connection: loadKubeConnection({ kubeconfig: cluster.kubeconfigPath }),
      name: "bench-history",
    }),
    keys.publicKey,
  );
  const policy = new TextEncoder().encode(`version = "0.1.0"\n# bench policy\n`);
  const previous = [GENESIS_TRANSITION, GENESIS_TRANSITION];
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < appends; i++) {
    for (const [b, history] of [file, kube].entries()) {
      const manifest = new TextEncoder().encode(JSON.stringify({ Policies: {}, i, b }));
      const start = performance.now();
      const entry = await history.append(
        { manifestBytes: manifest, policies: [policy], expectedPrevious: previous[b]! },
        keys.privateKey,
      );
      times[b]!.push(performance.now() - start);
      previous[b] = entry.transitionHash;
    }
  }
  return { fileMs: median(times[0]), kubeMs: median(times[1]) };
}

/** Attestations per second of `count` concurrent full mesh exchanges spread over `targets`. */
async function attestationRate(ws: Workspace, targets: CoordinatorProcess[], count: number) {
  const d = ws.deployment;
  const pod = new SimulatedSnpEvidenceSource(d.authority, {
    hostData: d.pods.web.digest,
    measurement: await MEASUREMENT,
  });
  // The initializer's own exchange (atls/mesh_client.ts), as the load test runs it.
  // Each pod from its own loopback address, as real pods are: from one address, 300 at once
  // met the Coordinator's per-client bounds (handshakes refused) and the run failed.
  let pods = 0;
  const one = async (target: CoordinatorProcess) => {
    const credentials = await requestMeshCredentials(
      target.meshAddress,
      await generatePodKeys(),
      pod,
      { timeoutMs: 300_000, localAddress: podAddress(pods++) },
    );
    if (credentials.workloadSecret === undefined) throw new Error("no workload secret issued");
  };
  for (const t of targets) await one(t); // warm-up: verification caches
  const start = performance.now();
  const results = await Promise.allSettled(
    Array.from({ length: count }, (_, i) => one(targets[i % targets.length]!)),
  );
  const seconds = (performance.now() - start) / 1000;
  const failed = results.filter((r) => r.status === "rejected").length;
  return { perSecond: (count - failed) / seconds, failed };
}

async function main(): Promise<void> {
  exitOnBadOptions(Deno.args, {
    usage: "deno run -A bench/coordinator/ha_ratio.ts [options]",
    options: [
      { name: "--appends", value: "number", default: "30", help: "history appends timed" },
      { name: "--initializers", value: "number", default: "300", help: "concurrent exchanges" },
      { name: "--json", help: "print the results as JSON" },
    ],
  });
  if (kubeToolsMissing("bench/coordinator/ha_ratio.ts")) Deno.exit(2);
  const appends = flag("--appends", 30);
  const initializers = flag("--initializers", 300);
  const asJson = Deno.args.includes("--json");
  await using cluster = await LocalKubeCluster.start();
  const ws = await createWorkspace();
  const replicas: CoordinatorProcess[] = [];
  try {
    const cost = await transitionCost(cluster, appends, ws.dir);
    const start = (name: string) =>
      startCoordinatorProcess({
        vm: workspaceVm(ws, ws.deployment.coordinator.digest),
        readyFile: `${ws.dir}/ready-${name}.json`,
        cwd: ws.dir,
        extraArgs: [
          "--history-backend",
          "kubernetes",
          "--kubeconfig",
          cluster.kubeconfigPath,
          "--replica-name",
          name,
          "--log-level",
          "warn",
        ],
        env: { POD_IP: "127.0.0.1" },
      });
    for (const name of ["r1", "r2", "r3"]) replicas.push(await start(name));
    const set = await runDenoScript("cli/main.ts", [
      "set",
      "-c",
      replicas[0]!.userAddress,
      ws.yamlPath,
    ], ws.dir);
    if (set.code !== 0) throw new Error(`set failed: ${set.stderr}`);
    for (const r of replicas) {
      for (let i = 0; i < 600; i++) {
        const probe = await fetch(`http://127.0.0.1:${r.probePort}/probe/readiness`);
        await probe.body?.cancel();
        if (probe.status === 200) break;
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    // ABBA order, so a drift of the machine's load affects both sides alike.
    const runs: { replicas: number; perSecond: number; failed: number }[] = [];
    for (const targets of [replicas, replicas.slice(0, 1), replicas.slice(0, 1), replicas]) {
      runs.push({
        replicas: targets.length,
        ...(await attestationRate(ws, targets, initializers)),
      });
    }
    const mean = (n: number) => {
      const picked = runs.filter((r) => r.replicas === n);
      return {
        perSecond: picked.reduce((a, r) => a + r.perSecond, 0) / picked.length,
        failed: picked.reduce((a, r) => a + r.failed, 0),
      };
    };
    const three = mean(3);
    const one = mean(1);
    const summary = {
      transitionFileMs: Number(cost.fileMs.toFixed(2)),
      transitionKubernetesMs: Number(cost.kubeMs.toFixed(2)),
      transitionCostRatioKubernetesToFile: Number((cost.kubeMs / cost.fileMs).toFixed(2)),
      attestationsPerSecondThreeReplicas: Number(three.perSecond.toFixed(1)),
      attestationsPerSecondOneReplica: Number(one.perSecond.toFixed(1)),
      ratioThreeToOne: Number((three.perSecond / one.perSecond).toFixed(2)),
      failed: three.failed + one.failed,
      cores: navigator.hardwareConcurrency,
    };
    if (asJson) console.log(JSON.stringify(summary, null, 2));
    else {
      console.log(
        `transition: file ${summary.transitionFileMs} ms, Kubernetes ${summary.transitionKubernetesMs} ms (median of ${appends}), ratio ${summary.transitionCostRatioKubernetesToFile}`,
      );
      console.log(
        `attestations/s: 3 replicas ${summary.attestationsPerSecondThreeReplicas}, 1 replica ${summary.attestationsPerSecondOneReplica}, ratio ${summary.ratioThreeToOne} (${summary.cores} cores, ${initializers} concurrent initializers)`,
      );
    }
    if (summary.failed > 0) Deno.exitCode = 1;
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
    await ws.cleanup();
  }
}

if (import.meta.main) await main();
