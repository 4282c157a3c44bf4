import "reflect-metadata";
import assert from "node:assert/strict";
import { encodeBase64, encodeHex } from "../../bytes/mod.ts";
import { ValidationError } from "../../errors/mod.ts";
import { MemoryHistoryBackend } from "../../coordinator/history/memory_backend.ts";
import { DEFAULT_SERVICE_CONFIG, startService } from "../../coordinator/service.ts";
import { evidenceToJson } from "../../atls/evidence_json.ts";
import { HpkeRecipient } from "../../atls/hpke.ts";
import { CoordinatorRejectedError, PinnedHttpsClient } from "../../atls/pinned_client.ts";
import { peerReportData } from "../../atls/report_data.ts";
import {
  ApiPath,
  parseChallengeResponse,
  parseManifestRequest,
} from "../../coordinator/api/messages.ts";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { CoordinatorMetrics } from "../../coordinator/http/metrics.ts";
import { Logger } from "../../coordinator/logger.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { ManifestVerifiers } from "../../manifest/verifiers.ts";
import { SimulatedSnpEvidenceSource } from "../../coordinator/simulated_evidence.ts";
import { deployment, inProcessCoordinator, MEASUREMENT } from "./fixture.ts";

Deno.test({
  name:
    "a restarted Coordinator recovers the same root CA from an active peer running the coordinator policy",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const d = await deployment();
    const active = await inProcessCoordinator(d);
    try {
      const set = await active.setFirstManifest();
      const verifiers = new ManifestVerifiers();
      const metrics = new CoordinatorMetrics();
      const logger = new Logger("peer", { sink: () => {} });
      // A second replica on the same history: it starts in recovery mode.
      const replica = await Coordinator.start({
        evidenceSource: new SimulatedSnpEvidenceSource(d.authority, {
          hostData: d.coordinator.digest,
          measurement: await MEASUREMENT,
        }),
        historyBackend: active.backend,
        parseManifest,
        verifyEvidence: (m, e, o) => verifiers.verify(m, e, o),
        logger,
        metrics,
      });
      assert.equal(replica.phase, "recovery");

      await t.step("recovers from the peer, with the same root CA and history", async () => {
        await replica.recoverFromPeer(active.meshAddress);
        assert.equal(replica.phase, "active");
        const state = await replica.attest({ nonce: new Uint8Array(32) });
        assert.equal(state.rootCa, set.rootCa);
        assert.equal(state.latestTransition, set.transition);
      });

      await t.step("the peer refuses a workload pod that asks for the seed", async () => {
        const client = new PinnedHttpsClient(active.meshAddress);
        const { nonce } = parseChallengeResponse(
          await client.request("POST", ApiPath.meshChallenge, {}),
        );
        const hpke = await HpkeRecipient.generate();
        const r = await d.authority.createReport({
          reportData: await peerReportData({ nonce, hpkePublicKey: hpke.publicKey }),
          hostData: d.pods.web.digest,
          measurement: await MEASUREMENT,
        });
        await assert.rejects(
          client.request("POST", ApiPath.peerSeed, {
            nonce: encodeHex(nonce),
            evidence: evidenceToJson({ platform: "snp", report: r.report, aux: r.aux }),
            hpkePublicKey: encodeHex(hpke.publicKey),
          }),
          (e: unknown) =>
            e instanceof CoordinatorRejectedError && e.status === 403 &&
            /only a Coordinator running the coordinator policy/.test(e.message),
        );
      });

      await t.step("the peer refuses coordinator evidence bound to another key", async () => {
        const client = new PinnedHttpsClient(active.meshAddress);
        const { nonce } = parseChallengeResponse(
          await client.request("POST", ApiPath.meshChallenge, {}),
        );
        const attested = await HpkeRecipient.generate();
        const relay = await HpkeRecipient.generate();
        const r = await d.authority.createReport({
          reportData: await peerReportData({ nonce, hpkePublicKey: attested.publicKey }),
          hostData: d.coordinator.digest,
          measurement: await MEASUREMENT,
        });
        await assert.rejects(
          client.request("POST", ApiPath.peerSeed, {
            nonce: encodeHex(nonce),
            evidence: evidenceToJson({ platform: "snp", report: r.report, aux: r.aux }),
            hpkePublicKey: encodeHex(relay.publicKey),
          }),
          (e: unknown) => e instanceof CoordinatorRejectedError && e.status === 403,
        );
      });
    } finally {
      await active.close();
    }
  },
});

Deno.test({
  name:
    "a recovering Coordinator refuses the seed of a peer that does not run the coordinator policy",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const d = await deployment();
    const verifiers = new ManifestVerifiers();
    const metrics = new CoordinatorMetrics();
    const logger = new Logger("peer", { sink: () => {} });
    // The host controls the storage: it plants a history with the deployment's exact manifest,
    // set by a process it runs (evidence of a workload policy, not of the coordinator policy).
    const planted = new MemoryHistoryBackend();
    const impostor = await Coordinator.start({
      evidenceSource: new SimulatedSnpEvidenceSource(d.authority, {
        hostData: d.pods.web.digest,
        measurement: await MEASUREMENT,
      }),
      historyBackend: planted,
      parseManifest,
      verifyEvidence: (m, e, o) => verifiers.verify(m, e, o),
      logger,
      metrics,
    });
    await impostor.setManifest(parseManifestRequest({
      manifest: encodeBase64(d.manifest()),
      policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc].map(encodeBase64),
      previous_transition: "00".repeat(32),
      signature: "",
    }));
    const service = await startService(
      impostor,
      { ...DEFAULT_SERVICE_CONFIG, host: "127.0.0.1", userPort: 0, meshPort: 0, probePort: 0 },
      logger,
      metrics,
    );
    try {
      const victim = await Coordinator.start({
        evidenceSource: new SimulatedSnpEvidenceSource(d.authority, {
          hostData: d.coordinator.digest,
          measurement: await MEASUREMENT,
        }),
        historyBackend: planted,
        parseManifest,
        verifyEvidence: (m, e, o) => verifiers.verify(m, e, o),
        logger,
        metrics,
      });
      assert.equal(victim.phase, "recovery");
      await assert.rejects(
        victim.recoverFromPeer(`127.0.0.1:${service.meshPort}`),
        (e: unknown) => e instanceof ValidationError && e.field === "hostData",
      );
      assert.equal(victim.phase, "recovery");
    } finally {
      await service.close();
    }
  },
});
