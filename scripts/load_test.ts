/**
 * Load test of the Coordinator's mesh API: N simulated initializers at once against a
 * Coordinator in its own process (simulated TEE), each doing the full exchange (fresh keys,
 * challenge, evidence bound to the challenge, certificate + sealed workload secret).
 *
 * Reports attestations per second, p50/p99 latency of the exchange, and the ratio to the raw
 * crypto bound measured in the same run: the per-attestation cryptography the Coordinator cannot
 * avoid (ECDSA P-384 verification of the report + ECDSA P-384 signature of the leaf), run back
 * to back on one core of this machine. The initializers' own work (report signing, key
 * generation) runs on the same machine and is included in the wall time.
 *
 * Usage: `deno run -A scripts/load_test.ts [--initializers 500] [--json]`
 *
 * @module
 */
import "reflect-metadata";
import { encodeHex } from "../util/bytes/mod.ts";
import { evidenceToJson } from "../protocol/evidence_json.ts";
import { PinnedHttpsClient } from "../atls/pinned_client.ts";
import { meshReportData } from "../protocol/report_data.ts";
import {
  ApiPath,
  parseChallengeResponse,
  parseMeshCertificateResponse,
  WORKLOAD_SECRET_HPKE_INFO,
} from "../protocol/messages.ts";
import { generatePodKeys } from "../initializer/run.ts";
import { MEASUREMENT } from "../testing/simulation/deployment.ts";
import { runDenoScript, startCoordinatorProcess } from "../testing/simulation/processes.ts";
import { createWorkspace, workspaceVm } from "../testing/simulation/workspace.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Per-attestation unavoidable crypto (P-384 verify + P-384 sign), back to back. */
async function rawCryptoBound(iterations: number): Promise<number> {
  const alg = { name: "ECDSA", namedCurve: "P-384" } as const;
  const vcek = await crypto.subtle.generateKey(alg, false, ["sign", "verify"]) as CryptoKeyPair;
  const mesh = await crypto.subtle.generateKey(alg, false, ["sign", "verify"]) as CryptoKeyPair;
  const report = crypto.getRandomValues(new Uint8Array(672));
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-384" }, vcek.privateKey, report);
  const tbs = crypto.getRandomValues(new Uint8Array(700));
  const start = performance.now();
  for (let i = 0; i < iterations; i++) {
    await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-384" }, vcek.publicKey, sig, report);
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-384" }, mesh.privateKey, tbs);
  }
  return iterations / ((performance.now() - start) / 1000);
}

async function main(): Promise<void> {
  const count = flag("--initializers", 500);
  const asJson = Deno.args.includes("--json");
  const log = (line: string) => asJson || console.log(line);
  const ws = await createWorkspace();
  const coordinator = await startCoordinatorProcess({
    historyDir: `${ws.dir}/history`,
    vm: workspaceVm(ws, ws.deployment.coordinator.digest),
    readyFile: `${ws.dir}/ready.json`,
    cwd: ws.dir,
    extraArgs: ["--log-level", "warn"],
  });
  try {
    const set = await runDenoScript(
      "cli/main.ts",
      ["set", "-c", coordinator.userAddress, ws.yamlPath],
      ws.dir,
    );
    if (set.code !== 0) throw new Error(`set failed: ${set.stderr}`);
    const d = ws.deployment;
    const measurement = await MEASUREMENT;
    log(`load test: ${count} simulated initializers at once against ${coordinator.meshAddress}`);

    const one = async (): Promise<number> => {
      const keys = await generatePodKeys();
      const started = performance.now();
      const client = new PinnedHttpsClient(coordinator.meshAddress, { timeoutMs: 300_000 });
      const { nonce } = parseChallengeResponse(
        await client.request("POST", ApiPath.meshChallenge, {}),
      );
      const r = await d.authority.createReport({
        reportData: await meshReportData({
          nonce,
          leafSpki: keys.leafSpki,
          hpkePublicKey: keys.hpke.publicKey,
        }),
        hostData: d.pods.web.digest,
        measurement,
      });
      const answer = parseMeshCertificateResponse(
        await client.request("POST", ApiPath.meshCertificate, {
          nonce: encodeHex(nonce),
          evidence: evidenceToJson({ platform: "snp", report: r.report, aux: r.aux }),
          leafPublicKey: encodeHex(keys.leafSpki),
          hpkePublicKey: encodeHex(keys.hpke.publicKey),
        }),
      );
      await keys.hpke.open(answer.workloadSecret!, WORKLOAD_SECRET_HPKE_INFO, nonce);
      return performance.now() - started;
    };

    await one(); // warm-up: chain verification is cached from here on
    const wallStart = performance.now();
    const results = await Promise.allSettled(Array.from({ length: count }, one));
    const wallSeconds = (performance.now() - wallStart) / 1000;
    const latencies = results.flatMap((r) => r.status === "fulfilled" ? [r.value] : []).sort((
      a,
      b,
    ) => a - b);
    const failures = results.filter((r) => r.status === "rejected");
    const bound = await rawCryptoBound(200);
    const rate = latencies.length / wallSeconds;
    const summary = {
      initializers: count,
      succeeded: latencies.length,
      failed: failures.length,
      wallSeconds: Number(wallSeconds.toFixed(2)),
      attestationsPerSecond: Number(rate.toFixed(1)),
      p50Ms: Math.round(percentile(latencies, 50)),
      p99Ms: Math.round(percentile(latencies, 99)),
      rawCryptoBoundPerSecond: Number(bound.toFixed(1)),
      ratioToRawBound: Number((rate / bound).toFixed(3)),
      firstFailure: failures[0] ? String((failures[0] as PromiseRejectedResult).reason) : undefined,
    };
    if (asJson) console.log(JSON.stringify(summary, null, 2));
    else {
      log(`succeeded ${summary.succeeded}/${count} in ${summary.wallSeconds} s`);
      log(
        `attestations/s ${summary.attestationsPerSecond}   p50 ${summary.p50Ms} ms   p99 ${summary.p99Ms} ms`,
      );
      log(
        `raw crypto bound (P-384 verify + sign, one core, same run): ${summary.rawCryptoBoundPerSecond}/s` +
          `   ratio ${summary.ratioToRawBound}`,
      );
      if (summary.firstFailure) log(`first failure: ${summary.firstFailure}`);
    }
    if (failures.length > 0) Deno.exitCode = 1;
  } finally {
    await coordinator.stop();
    await ws.cleanup();
  }
}

if (import.meta.main) await main();
