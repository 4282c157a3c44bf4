import "reflect-metadata";
import assert from "node:assert/strict";
import { concatBytes, decodeHex, encodeBase64, encodeHex } from "../../util/bytes/mod.ts";
import { importWorkloadOwnerKey, signManifestUpdate } from "../../protocol/signatures.ts";
import { parseManifestRequest, parseRecoverRequest } from "../../protocol/messages.ts";
import { Coordinator, type CoordinatorOptions } from "../../coordinator/coordinator.ts";
import { statusFor } from "../../coordinator/http/errors.ts";
import type { HistoryBackend } from "../../coordinator/history/backend.ts";
import { HistoryCorruptionError } from "../../coordinator/history/errors.ts";
import { manifestHash, transitionHash } from "../../manifest/hash.ts";
import { type Deployment } from "./fixture.ts";
import { ownerRecoveryRequest, sharedParts, startOn } from "./replica_fixture.ts";
import type { SeedShareDocument } from "../../seed/seed_shares.ts";
import { coordinatorTest } from "./coordinator_test_case.ts";

function replicaOn(
  d: Deployment,
  backend: HistoryBackend,
  extra: Partial<CoordinatorOptions> = {},
): Promise<Coordinator> {
  return startOn(d, backend, d.coordinator.digest, sharedParts("replica"), extra);
}

/** An owner-signed update of `d`'s manifest (one more trailing newline per `n`) after `previous`. */
async function update(d: Deployment, previous: string, n: number) {
  const bytes = concatBytes(d.manifest(), new TextEncoder().encode("\n".repeat(n)));
  const owner = await importWorkloadOwnerKey(d.workloadOwner.pem);
  const next = await transitionHash(await manifestHash(bytes), decodeHex(previous));
  return parseManifestRequest({
    manifest: encodeBase64(bytes),
    policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc].map(encodeBase64),
    previous_transition: previous,
    signature: encodeHex(await signManifestUpdate(owner, next)),
  });
}

coordinatorTest(
  "replicas: a transition made elsewhere is loaded before answering, a replayed older latest is refused, mesh CA per transition is shared",
  async (d, a) => {
    const first = await a.setFirstManifest();
    const b = await replicaOn(d, a.backend);
    await b.recoverFromPeer(a.meshAddress);
    const zero = { nonce: new Uint8Array(32) };
    assert.equal((await b.attest(zero)).meshCa, first.meshCa);
    const firstRecord = (await a.backend.readLatest())!.bytes;

    const second = await a.coordinator.setManifest(await update(d, first.transition, 1));
    assert.notEqual(second.meshCa, first.meshCa);
    // No watch on the memory backend: B notices when it answers, and answers with new state.
    const seen = await b.attest(zero);
    assert.equal(seen.latestTransition, second.transition);
    assert.equal(seen.meshCa, second.meshCa);
    assert.equal(seen.manifests.length, 2);
    assert.equal(b.ready(), true);

    // Someone replays the first (genuinely signed) latest record: B refuses to go back.
    const current = (await a.backend.readLatest())!;
    assert.ok(await a.backend.compareAndSwapLatest(current.version, firstRecord));
    await assert.rejects(b.attest(zero), (e) => {
      assert.ok(e instanceof HistoryCorruptionError);
      assert.match(e.message, /rollback refused/);
      return true;
    });
    assert.equal(b.ready(), false);
  },
);

coordinatorTest(
  "replicas: user recovery is refused (409, field force) while ready peers exist, unless forced",
  async (d, a) => {
    const first = await a.setFirstManifest();
    let discoveries = 0;
    const b = await replicaOn(d, a.backend, {
      readyPeers: () => {
        discoveries++;
        return Promise.resolve([a.meshAddress]);
      },
    });
    assert.equal(b.phase, "recovery");
    const owner = await ownerRecoveryRequest(
      d,
      first.seedShares as SeedShareDocument,
      (await b.attest({ nonce: new Uint8Array(32) })).hpkePublicKey,
      decodeHex(first.transition),
    );
    await assert.rejects(b.recover(owner), (e) => {
      assert.equal(statusFor(e), 409);
      assert.equal((e as { field?: string }).field, "force");
      return true;
    });
    assert.equal(discoveries, 1);
    // Review (low, amplification): a stranger's unsigned request is refused on its signature
    // before peers are discovered (a Kubernetes API call each; before: 409 force, one call).
    const stranger = {
      sealedSeed: { enc: "AA==", ciphertext: "AA==" },
      ownerPublicKey: "00",
      signature: "00",
    };
    await assert.rejects(
      b.recover(parseRecoverRequest(stranger)),
      (e) => statusFor(e) === 403 && (e as { field?: string }).field === "ownerPublicKey",
    );
    assert.equal(discoveries, 1, "no peer discovery for a stranger's request");
    // Forced, the owner's request gets past the peer check and recovers.
    await b.recover({ ...owner, force: true });
    assert.equal(b.phase, "active");
    assert.equal(discoveries, 1);
  },
);
