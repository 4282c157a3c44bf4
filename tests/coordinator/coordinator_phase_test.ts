import "reflect-metadata";
import assert from "node:assert/strict";
import { concatBytes, decodeHex, encodeBase64, encodeHex } from "../../util/bytes/mod.ts";
import { parseManifestRequest, parseRecoverRequest } from "../../protocol/messages.ts";
import { importWorkloadOwnerKey, signManifestUpdate } from "../../protocol/signatures.ts";
import { statusFor } from "../../coordinator/http/errors.ts";
import { PreconditionFailedError } from "../../protocol/errors.ts";
import { manifestHash, transitionHash } from "../../manifest/hash.ts";
import type { SeedShareDocument } from "../../seed/seed_shares.ts";
import { ownerRecoveryRequest, sharedParts, startOn } from "./replica_fixture.ts";
import { coordinatorTest } from "./coordinator_test_case.ts";

function isPreconditionFailed(e: unknown): boolean {
  return e instanceof PreconditionFailedError && statusFor(e) === 412;
}

coordinatorTest(
  "a Coordinator without a manifest issues no challenge, certificate or seed (412)",
  async (d, c) => {
    assert.equal(c.coordinator.phase, "awaiting-manifest");
    assert.throws(() => c.coordinator.challenge(), isPreconditionFailed);
    const request = {
      nonce: new Uint8Array(32),
      evidence: { platform: "snp" as const, report: new Uint8Array(1184) },
      leafPublicKey: new Uint8Array(91),
      hpkePublicKey: new Uint8Array(32),
    };
    await assert.rejects(
      c.coordinator.issueMeshCertificate(request, new Uint8Array(32)),
      isPreconditionFailed,
    );
    await assert.rejects(c.coordinator.peerSeed(request), isPreconditionFailed);
    await assert.rejects(
      c.coordinator.recover(parseRecoverRequest({
        sealedSeed: { enc: encodeBase64(new Uint8Array(32)), ciphertext: "AAAA" },
        ownerPublicKey: d.seedshareOwner.publicHex,
        signature: "00",
      })),
      isPreconditionFailed,
    );
  },
);

coordinatorTest(
  "a restarted Coordinator refuses manifest updates (412) until it is recovered",
  async (d, c) => {
    const set = await c.setFirstManifest();
    await c.restart();
    assert.equal(c.coordinator.phase, "recovery");
    const bytes = d.manifest((m) => {
      m.WorkloadOwnerPubKeys = [];
    });
    const next = await transitionHash(
      await manifestHash(bytes),
      decodeHex(set.transition),
    );
    const owner = await importWorkloadOwnerKey(d.workloadOwner.pem);
    await assert.rejects(
      c.coordinator.setManifest(parseManifestRequest({
        manifest: encodeBase64(bytes),
        policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc].map(encodeBase64),
        previous_transition: set.transition,
        signature: encodeHex(await signManifestUpdate(owner, next)),
      })),
      isPreconditionFailed,
    );
    assert.equal(c.coordinator.phase, "recovery");
  },
);

coordinatorTest(
  "a seed share sealed for a history that moved on is refused (409) and the Coordinator stays in recovery",
  async (d, active) => {
    const set = await active.setFirstManifest();
    const replica = await startOn(
      d,
      active.backend,
      d.coordinator.digest,
      sharedParts("replica"),
    );
    const claimed = await replica.attest({ nonce: new Uint8Array(32) });
    assert.equal(claimed.recoveryNeeded, true);
    assert.equal(claimed.latestTransition, set.transition);

    // The active replica moves the shared history on after the owner attested the replica.
    const update = concatBytes(d.manifest(), new TextEncoder().encode("\n"));
    const previous = decodeHex(set.transition);
    const owner = await importWorkloadOwnerKey(d.workloadOwner.pem);
    const signature = await signManifestUpdate(
      owner,
      await transitionHash(await manifestHash(update), previous),
    );
    await active.coordinator.setManifest(parseManifestRequest({
      manifest: encodeBase64(update),
      policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc].map(encodeBase64),
      previous_transition: set.transition,
      signature: encodeHex(signature),
    }));

    const request = await ownerRecoveryRequest(
      d,
      set.seedShares as SeedShareDocument,
      claimed.hpkePublicKey,
      previous,
    );
    await assert.rejects(
      replica.recover(request),
      (e: unknown) => statusFor(e) === 409 && /moved/.test(String(e)),
    );
    assert.equal(replica.phase, "recovery");
  },
);
