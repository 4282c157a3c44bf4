/**
 * A Coordinator replica whose own policy the owner removed from the manifest (an old Coordinator
 * version, retired the way the README describes: add the new policy, roll, drop the old) must stop
 * serving once it sees that manifest, even when the host keeps it running: it must not go on
 * issuing certificates and workload secrets, or handing the seed to peers, under a manifest that
 * no longer trusts it.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { decodeHex, encodeBase64, encodeHex, sha256 } from "../../util/bytes/mod.ts";
import type { MemoryHistoryBackend } from "../../coordinator/history/memory_backend.ts";
import { GENESIS_TRANSITION } from "../../manifest/hash.ts";
import { parseManifestRequest } from "../../protocol/messages.ts";
import { ForbiddenError } from "../../protocol/errors.ts";
import type { SeedShareDocument } from "../../seed/seed_shares.ts";
import type { Coordinator } from "../../coordinator/coordinator.ts";
import { type Deployment, initdata, withCoordinatorPolicy } from "./fixture.ts";
import {
  ownerRecoveryRequest,
  recoveredReplica,
  replicaTest,
  type SharedParts,
  startOn,
  whileServing,
} from "./replica_fixture.ts";

/** The deployment's manifest with a second coordinator policy `digest`, and without it. */
function manifests(d: Deployment, digest: Uint8Array) {
  return {
    both: d.manifest(withCoordinatorPolicy(digest)),
    withoutIt: d.manifest(),
  };
}

/** Sets the owner-signed `bytes` on `c` after `previous`, with the initdata documents `docs`. */
async function set(
  d: Deployment,
  c: Coordinator,
  bytes: Uint8Array,
  docs: readonly Uint8Array[],
  previous: Uint8Array,
) {
  return await c.setManifest(parseManifestRequest({
    manifest: encodeBase64(bytes),
    policies: docs.map(encodeBase64),
    previous_transition: encodeHex(previous),
    signature: await d.ownerSignature(bytes, previous),
  }));
}

/**
 * What both tests start from: the current Coordinator on `shared`, with a first manifest that
 * lists a second coordinator policy (`retired`, an older version's) set.
 */
async function withRetiredPolicyListed(
  d: Deployment,
  parts: SharedParts,
  shared: MemoryHistoryBackend,
) {
  const retiredDoc = initdata("coordinator, an older version");
  const retired = await sha256(retiredDoc);
  const { both, withoutIt } = manifests(d, retired);
  const docs = [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc];
  const current = await startOn(d, shared, d.coordinator.digest, parts);
  const first = await set(d, current, both, [...docs, retiredDoc], GENESIS_TRANSITION);
  return { retired, withoutIt, docs, current, first };
}

replicaTest(
  "a replica whose coordinator policy an update removed stops serving and drops its seed",
  "retired-policy",
  async (d, parts, shared) => {
    const { retired, withoutIt, docs, current, first } = await withRetiredPolicyListed(
      d,
      parts,
      shared,
    );
    await whileServing(current, parts, async (peer) => {
      // The older version's replica recovers from its peer while the manifest lists it.
      const old = await recoveredReplica(d, shared, parts, peer, retired);
      assert.equal(old.phase, "active");

      // The owner drops the older policy (through the replica running the new one).
      const second = await set(d, current, withoutIt, docs, decodeHex(first.transition));
      await old.refresh();
      const served = await old.attest({ nonce: new Uint8Array(32) });
      assert.equal(served.latestTransition, second.transition);
      assert.equal(
        old.phase,
        "recovery",
        "the retired replica serves the new manifest (issues its certificates and workload " +
          "secrets, hands out the seed) although the manifest no longer lists its policy",
      );
      assert.equal(old.ready(), false);
      assert.equal(served.rootCa, "", "no CA is served without the seed");
      // Nor does it get the seed back: its peer refuses a policy the manifest does not list.
      await assert.rejects(old.recoverFromPeer(peer), /hostData: coordinator answered 403/);
      assert.equal(old.phase, "recovery");
    });
  },
);

replicaTest(
  "a restarted replica of a removed coordinator policy is not recovered onto the manifest " +
    "that removed it, even with the owners' seed",
  "retired-policy",
  async (d, parts, shared) => {
    const { retired, withoutIt, docs, current, first } = await withRetiredPolicyListed(
      d,
      parts,
      shared,
    );
    const second = await set(d, current, withoutIt, docs, decodeHex(first.transition));

    // The older version restarted on the store; an owner whose workspace still holds the first
    // manifest (which lists that policy) recovers it: the CLI's checks pass (the history contains
    // the first manifest, the replica runs a coordinator policy of it).
    const old = await startOn(d, shared, retired, parts);
    const claimed = await old.attest({ nonce: new Uint8Array(32) });
    assert.equal(claimed.latestTransition, second.transition);
    await assert.rejects(
      old.recover(
        await ownerRecoveryRequest(
          d,
          first.seedShares as SeedShareDocument,
          claimed.hpkePublicKey,
          decodeHex(second.transition),
        ),
      ),
      (e) => e instanceof ForbiddenError && e.field === "hostData",
    );
    assert.equal(old.phase, "recovery");
  },
);
