/**
 * A Coordinator that recovers a seed accepts it only for a history whose every manifest is
 * signed by a workload owner (the first by a key it lists, each later one by a key of its
 * predecessor), as `set` only ever makes. The infrastructure controls the store: it can extend
 * the genuine owner-signed history with a manifest of its own (listing its own seedshare key, so
 * that it can sign the recovery request itself) and sign the latest record with a seed it chose.
 * Before, the genuine Coordinator recovered onto that history and served it: `/attest` claims,
 * mesh certificates and the seed to peers from a manifest no owner signed.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { decodeHex, encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { GENESIS_TRANSITION } from "../../manifest/hash.ts";
import { ManifestHistory } from "../../coordinator/history/manifest_history.ts";
import { MemoryHistoryBackend } from "../../coordinator/history/memory_backend.ts";
import { ForbiddenError } from "../../protocol/errors.ts";
import { SeedEngine } from "../../seed/seed_engine.ts";
import { createSeedShares } from "../../seed/seed_shares.ts";
import { deployment, initdata, withCoordinatorPolicy } from "./fixture.ts";
import { ownerRecoveryRequest, replicaTest, startOn, whileServing } from "./replica_fixture.ts";

replicaTest(
  "recovery: a seed is refused for a history with a manifest no owner signed",
  "recovery-owner-chain",
  async (d, parts, shared) => {
    // The host: a seed of its own, a seedshare key and a workload owner key of its own.
    const host = await deployment();
    const hostSeed = SeedEngine.create();
    const historyKey = await hostSeed.historySigningKey();
    const history = ManifestHistory.open(shared, historyKey.publicKey);
    // The genuine first manifest with the owner's genuine signature (both are public) ...
    const genuine = d.manifest();
    const first = await history.append({
      manifestBytes: genuine,
      policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc],
      expectedPrevious: GENESIS_TRANSITION,
      ownerSignature: decodeHex(await d.ownerSignature(genuine)),
    }, historyKey.privateKey);
    // ... then the host's manifest: a pod of its own with a workload secret, its own seedshare
    // key, the genuine Coordinator's policy kept (so the Coordinator runs a coordinator policy of
    // it). The host holds no key the first manifest lists: it signs with its own.
    const hostPod = initdata("host's pod");
    const hostPodDigest = encodeHex(await sha256(hostPod));
    const planted = d.manifest((m) => {
      (m.Policies as Record<string, unknown>)[hostPodDigest] = {
        SANs: ["web"],
        WorkloadSecretID: "web-secret",
        Role: "",
      };
      m.SeedshareOwnerPubKeys = [host.seedshareOwner.publicHex];
      m.WorkloadOwnerPubKeys = [host.workloadOwner.publicHex];
    });
    const second = await history.append({
      manifestBytes: planted,
      policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc, hostPod],
      expectedPrevious: first.transitionHash,
      ownerSignature: decodeHex(await host.ownerSignature(planted, first.transitionHash)),
    }, historyKey.privateKey);

    const victim = await startOn(d, shared, d.coordinator.digest, parts);
    assert.equal(victim.phase as string, "recovery");
    const attested = await victim.attest({ nonce: new Uint8Array(32) });
    assert.equal(attested.latestTransition, encodeHex(second.transitionHash));
    // The host recovers it with its own seed, signed by the seedshare key its manifest lists.
    const shares = await createSeedShares(hostSeed, [host.seedshareOwner.publicHex]);
    const request = await ownerRecoveryRequest(
      host,
      shares,
      attested.hpkePublicKey,
      second.transitionHash,
    );
    const refusal = await victim.recover(request).then(() => undefined, (e: unknown) => e);
    if (victim.phase === "active") {
      const served = await victim.attest({ nonce: new Uint8Array(32) });
      assert.fail(
        `the Coordinator recovered onto the host's history: it serves latest ${
          served.latestTransition.slice(0, 16)
        }… (${served.manifests.length} manifests, the last one no owner signed) under the ` +
          "host's seed",
      );
    }
    assert.ok(
      refusal instanceof ForbiddenError && refusal.field === "history[1].signature",
      `refused for another reason: ${refusal}`,
    );
    assert.match(refusal.message, /not signed by a key of the previous manifest/);
    assert.equal(victim.phase, "recovery");
    assert.equal(
      await shared.getObject("seedshares", encodeHex(first.transitionHash)),
      undefined,
      "a refused seed writes nothing",
    );
  },
);

replicaTest(
  "peer recovery: a seed is refused for a history with a manifest no owner signed",
  "recovery-owner-chain",
  async (d, parts, shared) => {
    // The host: a VM running its own code, a seed, a workload owner and a seedshare key of its
    // own. Its first manifest names its own keys and its VM as a coordinator.
    const host = await deployment();
    const evil = await sha256(initdata("host's own code"));
    const hostSeed = SeedEngine.create();
    const historyKey = await hostSeed.historySigningKey();
    const own = d.manifest((m) => {
      withCoordinatorPolicy(evil)(m);
      m.WorkloadOwnerPubKeys = [host.workloadOwner.publicHex];
      m.SeedshareOwnerPubKeys = [host.seedshareOwner.publicHex];
    });
    const policies = [
      d.coordinator.doc,
      d.pods.web.doc,
      d.pods.db.doc,
      initdata("host's own code"),
    ];
    const append = async (
      store: MemoryHistoryBackend,
      manifestBytes: Uint8Array,
      previous: Uint8Array,
      signature?: Uint8Array,
    ) =>
      await ManifestHistory.open(store, historyKey.publicKey).append({
        manifestBytes,
        policies,
        expectedPrevious: previous,
        ...(signature ? { ownerSignature: signature } : {}),
      }, historyKey.privateKey);
    const ownSignature = decodeHex(await host.ownerSignature(own));
    // The impostor peer holds the host's seed on that history (recovered with the host's share).
    const impostorStore = new MemoryHistoryBackend();
    const first = await append(impostorStore, own, GENESIS_TRANSITION, ownSignature);
    const impostor = await startOn(d, impostorStore, evil, parts);
    const impostorState = await impostor.attest({ nonce: new Uint8Array(32) });
    await impostor.recover(
      await ownerRecoveryRequest(
        host,
        await createSeedShares(hostSeed, [host.seedshareOwner.publicHex]),
        impostorState.hpkePublicKey,
        first.transitionHash,
      ),
    );
    assert.equal(impostor.phase, "active");
    // The genuine replica's store: that history followed by a manifest no owner signed, the
    // genuine deployment's with the host's VM as a coordinator.
    await append(shared, own, GENESIS_TRANSITION, ownSignature);
    const unsigned = d.manifest(withCoordinatorPolicy(evil));
    const latest = await append(shared, unsigned, first.transitionHash);
    const victim = await startOn(d, shared, d.coordinator.digest, parts);
    await whileServing(impostor, parts, async (peer) => {
      const refusal = await victim.recoverFromPeer(peer).then(() => undefined, (e: unknown) => e);
      if (victim.phase === "active") {
        assert.fail(
          `the replica recovered onto latest ${
            encodeHex(latest.transitionHash).slice(0, 16)
          }…, a manifest no owner signed, under the host's seed`,
        );
      }
      assert.ok(
        refusal instanceof ForbiddenError && refusal.field === "history[1].signature",
        `refused for another reason: ${refusal}`,
      );
      assert.match(refusal.message, /not signed by an owner/);
    });
  },
);
