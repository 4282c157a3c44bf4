/**
 * What a host that controls the Coordinator's storage (and the network, and the Leases that name
 * peers) can do to a Coordinator that recovers its seed: it must never make it adopt a seed the
 * host chose, nor roll it back to an older manifest than the peer it recovers from serves.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { decodeHex, encodeBase64, encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { MemoryHistoryBackend } from "../../coordinator/history/memory_backend.ts";
import type {
  HistoryBackend,
  LatestRecord,
  ObjectKind,
} from "../../coordinator/history/backend.ts";
import { GENESIS_TRANSITION, manifestHash, transitionHash } from "../../manifest/hash.ts";
import { ConflictError } from "../../protocol/errors.ts";
import { SeedEngine } from "../../seed/seed_engine.ts";
import { createSeedShares, encodeSeedShares } from "../../seed/seed_shares.ts";
import { initdata, withCoordinatorPolicy, withoutPolicy } from "./fixture.ts";
import {
  loadWithSeedShares,
  recoveredReplica,
  replicaTest,
  serveOnLoopback,
  setManifest,
  startOn,
  whileServing,
} from "./replica_fixture.ts";

/**
 * Storage under the host's control: it serves `inner`, except that the latest record it answers
 * with is whatever `latest()` says at the moment of the read.
 */
class HostControlledBackend implements HistoryBackend {
  readonly inner: MemoryHistoryBackend;
  latest: () => Promise<LatestRecord | undefined>;
  readonly reads: string[] = [];

  constructor(inner: MemoryHistoryBackend) {
    this.inner = inner;
    this.latest = () => inner.readLatest();
  }
  putObject(kind: ObjectKind, name: string, bytes: Uint8Array): Promise<void> {
    return this.inner.putObject(kind, name, bytes);
  }
  getObject(kind: ObjectKind, name: string): Promise<Uint8Array | undefined> {
    this.reads.push(`${kind}/${name}`);
    return this.inner.getObject(kind, name);
  }
  listObjects(kind: ObjectKind): Promise<string[]> {
    return this.inner.listObjects(kind);
  }
  readLatest(): Promise<LatestRecord | undefined> {
    return this.latest();
  }
  compareAndSwapLatest(expected: string | undefined, bytes: Uint8Array) {
    return this.inner.compareAndSwapLatest(expected, bytes);
  }
}

/** What `attempt` rejected with, or `undefined` when it succeeded. */
function refusalOf(attempt: Promise<unknown>): Promise<unknown> {
  return attempt.then(() => undefined, (e: unknown) => e);
}

replicaTest(
  "peer recovery: a host-planted manifest and a swapped latest do not hand a replica a " +
    "seed of the host's choosing",
  "recovery-binding",
  async (d, parts, shared) => {
    const manifest = d.manifest();
    // The genuine deployment: an active Coordinator on the shared storage.
    const genuine = await startOn(d, shared, d.coordinator.digest, parts);
    const set = await setManifest(d, genuine, manifest);

    // The host's impostor: a VM that runs a policy of the host's own (not the coordinator
    // policy), holding the genuine owner-signed first manifest (its signature is public) on a
    // store of its own, so it has a seed the host knows and a latest record signed with it.
    const evil = await sha256(initdata("host's own code"));
    const impostorStore = new MemoryHistoryBackend();
    const impostor = await startOn(d, impostorStore, evil, parts);
    const impostorSet = await setManifest(d, impostor, manifest);
    assert.equal(impostorSet.transition, set.transition);
    assert.notEqual(impostorSet.rootCa, set.rootCa);
    const service = await serveOnLoopback(impostor, parts);
    try {
      // The host plants an unsigned manifest naming its own policy a coordinator policy, and a
      // latest record naming it (the signature is not checked before a seed is known).
      const planted = d.manifest(withCoordinatorPolicy(evil));
      const plantedHash = await manifestHash(planted);
      await shared.putObject("manifests", encodeHex(plantedHash), planted);
      const plantedBody = new Uint8Array([...plantedHash, ...GENESIS_TRANSITION]);
      const plantedTransition = await transitionHash(plantedHash, GENESIS_TRANSITION);
      await shared.putObject("transitions", encodeHex(plantedTransition), plantedBody);
      const host = new HostControlledBackend(shared);
      // Until the victim asks the impostor for the seed, latest names the planted transition;
      // from then on, the genuine transition, signed with the impostor's seed.
      let swapped = false;
      const peerSeed = impostor.peerSeed.bind(impostor);
      impostor.peerSeed = (request) => {
        swapped = true;
        return peerSeed(request);
      };
      host.latest = () => {
        if (swapped) return impostorStore.readLatest();
        return Promise.resolve({
          bytes: new Uint8Array([...plantedTransition, ...new Uint8Array(96)]),
          version: "planted",
        });
      };
      const storedShares = await shared.getObject("seedshares", set.transition);
      const victim = await startOn(d, host, d.coordinator.digest, parts);
      assert.equal(victim.phase as string, "recovery");

      const refusal = await refusalOf(victim.recoverFromPeer(`127.0.0.1:${service.meshPort}`));
      if (victim.phase === "active") {
        const state = await victim.attest({ nonce: new Uint8Array(32) });
        assert.fail(
          `the genuine replica adopted the host's seed: it serves the genuine owner-signed ` +
            `history (latest ${state.latestTransition === set.transition ? "genuine" : "other"})` +
            ` under the impostor's root CA (${
              state.rootCa === impostorSet.rootCa ? "same" : "different"
            })`,
        );
      }
      assert.equal(victim.phase, "recovery");
      assert.ok(
        refusal instanceof ConflictError && refusal.field === "latest",
        `refused for another reason: ${refusal}`,
      );
      assert.deepEqual(
        await shared.getObject("seedshares", set.transition),
        storedShares,
        "a refused seed writes nothing",
      );
    } finally {
      await service.close();
    }
  },
);

replicaTest(
  "peer recovery: a replica shown an older genuine latest record does not serve the older " +
    "manifest its peer has moved past",
  "recovery-binding",
  async (d, parts, shared) => {
    const genuine = await startOn(d, shared, d.coordinator.digest, parts);
    const first = await setManifest(d, genuine, d.manifest());
    const oldRecord = await shared.readLatest();
    // The owner removes `web` (say, its image turned out vulnerable).
    const update = d.manifest(withoutPolicy(d.pods.web.digest));
    const second = await setManifest(d, genuine, update, decodeHex(first.transition));
    const service = await serveOnLoopback(genuine, parts);
    try {
      // A new replica whose view of the storage the host controls: it is shown the old latest.
      const host = new HostControlledBackend(shared);
      host.latest = () => Promise.resolve(oldRecord);
      const victim = await startOn(d, host, d.coordinator.digest, parts);
      const refusal = await refusalOf(victim.recoverFromPeer(`127.0.0.1:${service.meshPort}`));
      if (victim.phase === "active") {
        const state = await victim.attest({ nonce: new Uint8Array(32) });
        assert.notEqual(
          state.latestTransition,
          first.transition,
          `the replica serves the manifest the owner replaced (${
            second.transition.slice(0, 8)
          }… is the peer's latest)`,
        );
      }
      assert.ok(
        refusal instanceof ConflictError && refusal.field === "latestTransition",
        `refused for another reason: ${refusal}`,
      );
      // Once the store shows the replica the real latest, it recovers from the same peer.
      host.latest = () => shared.readLatest();
      await victim.recoverFromPeer(`127.0.0.1:${service.meshPort}`);
      assert.equal(victim.phase, "active");
      const state = await victim.attest({ nonce: new Uint8Array(32) });
      assert.equal(state.latestTransition, second.transition);
    } finally {
      await service.close();
    }
  },
);

replicaTest(
  "first set racing on two replicas: the stored seed shares are the winner's (they recover " +
    "the history)",
  "recovery-binding",
  async (d, parts, shared) => {
    // Both replicas read an empty latest; the first to swap waits until both stored their shares.
    const host = new HostControlledBackend(shared);
    let sharesStored = 0;
    let release: () => void = () => {};
    const bothStored = new Promise<void>((r) => release = r);
    const put = host.putObject.bind(host);
    host.putObject = async (kind, name, bytes) => {
      await put(kind, name, bytes);
      if (kind === "seedshares" && ++sharesStored === 2) release();
    };
    let swaps = 0;
    host.compareAndSwapLatest = async (expected, bytes) => {
      if (swaps++ === 0) await bothStored;
      return await shared.compareAndSwapLatest(expected, bytes);
    };
    const a = await startOn(d, host, d.coordinator.digest, parts);
    const b = await startOn(d, host, d.coordinator.digest, parts);
    const manifest = d.manifest();
    const results = await Promise.allSettled([
      setManifest(d, a, manifest),
      setManifest(d, b, manifest),
    ]);
    const won = results.filter((r) => r.status === "fulfilled");
    assert.equal(won.length, 1, "exactly one first set wins");
    const stored = (await shared.getObject(
      "seedshares",
      (won[0] as PromiseFulfilledResult<{ transition: string }>).value.transition,
    ))!;
    await loadWithSeedShares(d, stored, shared);
  },
);

replicaTest(
  "a replica that loads the history repairs a stored seed-share document of another seed",
  "recovery-binding",
  async (d, parts, shared) => {
    const genuine = await startOn(d, shared, d.coordinator.digest, parts);
    const set = await setManifest(d, genuine, d.manifest());
    // Someone stores another seed's shares under the first transition.
    const foreign = await createSeedShares(SeedEngine.create(), [d.seedshareOwner.publicHex]);
    await shared.putObject(
      "seedshares",
      set.transition,
      new TextEncoder().encode(encodeSeedShares(foreign)),
    );
    await whileServing(genuine, parts, async (peer) => {
      const replica = await recoveredReplica(d, shared, parts, peer);
      const stored = (await shared.getObject("seedshares", set.transition))!;
      const served = await replica.attest({ nonce: new Uint8Array(32) });
      assert.equal(served.seedShares, encodeBase64(stored));
      const loaded = await loadWithSeedShares(d, stored, shared);
      assert.equal(encodeHex(loaded.transition), set.transition);
    });
  },
);
