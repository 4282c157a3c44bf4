import "reflect-metadata";
import assert from "node:assert/strict";
import { encodeBase64, encodeHex } from "../../util/bytes/mod.ts";
import { ValidationError } from "../../util/errors/mod.ts";
import { MemoryHistoryBackend } from "../../coordinator/history/memory_backend.ts";
import { evidenceToJson } from "../../protocol/evidence_json.ts";
import { HpkeRecipient } from "../../protocol/hpke.ts";
import {
  CoordinatorBadRequestError,
  CoordinatorRejectedError,
  PinnedHttpsClient,
} from "../../atls/pinned_client.ts";
import { peerReportData } from "../../protocol/report_data.ts";
import { ApiPath, parseChallengeResponse, parseManifestRequest } from "../../protocol/messages.ts";
import { type Deployment, deployment, inProcessCoordinator, MEASUREMENT } from "./fixture.ts";
import { serveOnLoopback, sharedParts, startOn } from "./replica_fixture.ts";

/**
 * Asks the peer at `address` for the seed with evidence of a VM running the initdata with digest
 * `hostData`, bound to `attested`'s HPKE key, while offering `offered`'s key for the answer.
 */
async function requestPeerSeed(
  d: Deployment,
  address: string,
  hostData: Uint8Array,
  attested: HpkeRecipient,
  offered: HpkeRecipient = attested,
): Promise<unknown> {
  const client = new PinnedHttpsClient(address);
  const { nonce } = parseChallengeResponse(
    await client.request("POST", ApiPath.meshChallenge, {}),
  );
  const r = await d.authority.createReport({
    reportData: await peerReportData({ nonce, hpkePublicKey: attested.publicKey }),
    hostData,
    measurement: await MEASUREMENT,
  });
  return await client.request("POST", ApiPath.peerSeed, {
    nonce: encodeHex(nonce),
    evidence: evidenceToJson({ platform: "snp", report: r.report, aux: r.aux }),
    hpkePublicKey: encodeHex(offered.publicKey),
  });
}

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
      // A second replica on the same history: it starts in recovery mode.
      const replica = await startOn(d, active.backend, d.coordinator.digest, sharedParts("peer"));
      assert.equal(replica.phase, "recovery");

      await t.step("recovers from the peer, with the same root CA and history", async () => {
        await replica.recoverFromPeer(active.meshAddress);
        assert.equal(replica.phase, "active");
        const state = await replica.attest({ nonce: new Uint8Array(32) });
        assert.equal(state.rootCa, set.rootCa);
        assert.equal(state.latestTransition, set.transition);
      });

      await t.step("the peer refuses a workload pod that asks for the seed", async () => {
        const hpke = await HpkeRecipient.generate();
        await assert.rejects(
          requestPeerSeed(d, active.meshAddress, d.pods.web.digest, hpke),
          (e: unknown) =>
            e instanceof CoordinatorRejectedError && e.status === 403 &&
            /only a Coordinator running the coordinator policy/.test(e.message),
        );
      });

      await t.step("the peer refuses coordinator evidence bound to another key", async () => {
        const attested = await HpkeRecipient.generate();
        const relay = await HpkeRecipient.generate();
        await assert.rejects(
          requestPeerSeed(d, active.meshAddress, d.coordinator.digest, attested, relay),
          (e: unknown) => e instanceof CoordinatorRejectedError && e.status === 403,
        );
      });

      await t.step(
        "genuine coordinator evidence binding a low-order X25519 key gets 400, not 500",
        async () => {
          // The all-zero point and the point of order 8 (u = 1): X25519 gives an all-zero secret.
          // (Moved here from the mesh API's test: a pod's request carries no HPKE key any more.)
          const lowOrder = [
            new Uint8Array(32),
            Uint8Array.from({ length: 32 }, (_, i) => i === 0 ? 1 : 0),
          ];
          for (const publicKey of lowOrder) {
            const key = { publicKey } as HpkeRecipient;
            await assert.rejects(
              requestPeerSeed(d, active.meshAddress, d.coordinator.digest, key),
              (e: unknown) => {
                assert.ok(e instanceof CoordinatorBadRequestError, String(e));
                assert.equal(e.status, 400);
                assert.equal(e.field, "hpkePublicKey");
                assert.match(e.message, /not a usable X25519 public key \(low order point\)/);
                return true;
              },
            );
          }
        },
      );
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
    const parts = sharedParts("peer");
    // The host controls the storage: it plants a history with the deployment's exact manifest,
    // set by a process it runs (evidence of a workload policy, not of the coordinator policy).
    const planted = new MemoryHistoryBackend();
    const impostor = await startOn(d, planted, d.pods.web.digest, parts);
    await impostor.setManifest(parseManifestRequest({
      manifest: encodeBase64(d.manifest()),
      policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc].map(encodeBase64),
      previous_transition: "00".repeat(32),
      signature: await d.ownerSignature(d.manifest()),
    }));
    const service = await serveOnLoopback(impostor, parts);
    try {
      const victim = await startOn(d, planted, d.coordinator.digest, parts);
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
