/**
 * A Coordinator does not start fresh over a store that lost its latest record but holds a longer
 * history; what one interrupted first set leaves behind (a first transition) does not block it.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { encodeHex } from "../../util/bytes/mod.ts";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { HistoryResetError } from "../../coordinator/history/errors.ts";
import { MemoryHistoryBackend } from "../../coordinator/history/memory_backend.ts";
import { transitionBody } from "../../manifest/hash.ts";
import { CoordinatorMetrics } from "../../coordinator/http/metrics.ts";
import { Logger } from "../../util/log/logger.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { ManifestVerifiers } from "../../manifest/verifiers.ts";
import { SimulatedSnpEvidenceSource } from "../../testing/simulated_evidence.ts";
import { sha256 } from "../../util/bytes/mod.ts";
import { deployment, MEASUREMENT } from "./fixture.ts";

const d = await deployment();

async function start(backend: MemoryHistoryBackend): Promise<Coordinator> {
  const verifiers = new ManifestVerifiers();
  return await Coordinator.start({
    evidenceSource: new SimulatedSnpEvidenceSource(d.authority, {
      hostData: d.coordinator.digest,
      measurement: await MEASUREMENT,
    }),
    historyBackend: backend,
    parseManifest,
    verifyEvidence: (m, e, o) => verifiers.verify(m, e, o),
    logger: new Logger("coordinator", { sink: () => {} }),
    metrics: new CoordinatorMetrics(),
  });
}

async function putTransition(backend: MemoryHistoryBackend, previous: Uint8Array) {
  const body = transitionBody(await sha256(crypto.getRandomValues(new Uint8Array(8))), previous);
  const name = await sha256(body);
  await backend.putObject("transitions", encodeHex(name), body);
  return name;
}

Deno.test("first transitions left by interrupted first sets do not block a fresh start", async () => {
  const backend = new MemoryHistoryBackend();
  await putTransition(backend, new Uint8Array(32));
  await putTransition(backend, new Uint8Array(32));
  assert.equal((await start(backend)).phase, "awaiting-manifest");
});

Deno.test("a later transition without a latest record refuses the start", async () => {
  const backend = new MemoryHistoryBackend();
  const first = await putTransition(backend, new Uint8Array(32));
  await putTransition(backend, first);
  await assert.rejects(
    start(backend),
    (e: unknown) =>
      e instanceof HistoryResetError && e.field === "transitions/latest" &&
      /refusing to start fresh/.test(e.message),
  );
});

Deno.test("an unreadable transition without a latest record refuses the start", async () => {
  const backend = new MemoryHistoryBackend();
  await backend.putObject("transitions", "ab".repeat(32), new Uint8Array(3));
  await assert.rejects(start(backend), HistoryResetError);
});
