/**
 * What an active Coordinator serves for the owner's records (`contrast set` writes the seed-share
 * document into the workspace, `contrast verify` writes the latest record and the seed shares into
 * the `verify/history.json` backup) must be its own, never bytes the host put into the store: a
 * document or record the host replaced would leave the owner holding seed shares or a backup that
 * can never recover the deployment.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { decodeBase64, decodeHex, encodeHex } from "../../util/bytes/mod.ts";
import type { MemoryHistoryBackend } from "../../coordinator/history/memory_backend.ts";
import { SeedEngine } from "../../seed/seed_engine.ts";
import { createSeedShares, encodeSeedShares, parseSeedShares } from "../../seed/seed_shares.ts";
import type { Coordinator } from "../../coordinator/coordinator.ts";
import { type Deployment, withoutPolicy } from "./fixture.ts";
import {
  loadWithSeedShares,
  recoveredReplica,
  replicaTest,
  setManifest,
  startOn,
  whileServing,
} from "./replica_fixture.ts";

/**
 * Whether the seed-share document `c` serves holds the seed that signs the stored history (what
 * `contrast recover` with that document as `seed-shares.json` needs).
 */
async function servesGenuineShares(
  d: Deployment,
  c: Coordinator,
  shared: MemoryHistoryBackend,
): Promise<boolean> {
  const served = await c.attest({ nonce: new Uint8Array(32) });
  assert.ok(served.seedShares, "an active Coordinator serves its seed shares");
  try {
    await loadWithSeedShares(d, decodeBase64(served.seedShares), shared, {
      repairSeedShares: false,
    });
    return true;
  } catch {
    return false;
  }
}

replicaTest(
  "seed shares: a stored document that keeps the Salt but encrypts another seed is not served " +
    "by a replica that recovered, nor by the Coordinator that set the manifest after a reload",
  "served-state",
  async (d, parts, shared) => {
    const genuine = await startOn(d, shared, d.coordinator.digest, parts);
    const set = await setManifest(d, genuine, d.manifest());
    // The host replaces the stored document: the genuine Salt (public), another seed encrypted to
    // the owner's public key. Nothing but the seed's own history check tells them apart.
    const salt = parseSeedShares((await shared.getObject("seedshares", set.transition))!).Salt;
    const foreign = SeedEngine.fromSeed(
      crypto.getRandomValues(new Uint8Array(64)),
      decodeHex(salt, "Salt", 32),
    );
    await shared.putObject(
      "seedshares",
      set.transition,
      new TextEncoder().encode(
        encodeSeedShares(await createSeedShares(foreign, [d.seedshareOwner.publicHex])),
      ),
    );
    await whileServing(genuine, parts, async (peer) => {
      const replica = await recoveredReplica(d, shared, parts, peer);
      assert.equal(replica.phase, "active");
      assert.ok(
        await servesGenuineShares(d, replica, shared),
        "the recovered replica serves the stored document of another seed (a retried first " +
          "set writes it as the owner's seed-shares.json)",
      );
      // An update made through the replica: the first Coordinator reloads the history.
      const update = d.manifest(withoutPolicy(d.pods.web.digest));
      const second = await setManifest(d, replica, update, decodeHex(set.transition));
      await genuine.refresh();
      assert.equal(
        (await genuine.attest({ nonce: new Uint8Array(32) })).latestTransition,
        second.transition,
      );
      assert.ok(
        await servesGenuineShares(d, genuine, shared),
        "after a reload the Coordinator serves the stored document of another seed",
      );
    });
  },
);

replicaTest(
  "latest record: an active Coordinator serves the record it signed or verified, not a stored " +
    "one naming the same transition under a forged signature",
  "served-state",
  async (d, parts, shared) => {
    const genuine = await startOn(d, shared, d.coordinator.digest, parts);
    const set = await setManifest(d, genuine, d.manifest());
    await whileServing(genuine, parts, async (peer) => {
      const replica = await recoveredReplica(d, shared, parts, peer);
      const signed = (await shared.readLatest())!;
      // The host rewrites latest: the same transition, another signature. Replicas serving that
      // transition need not check it (nothing new would be believed from it), so they stay ready.
      const forged = new Uint8Array([
        ...decodeHex(set.transition, "transition", 32),
        ...crypto.getRandomValues(new Uint8Array(96)),
      ]);
      assert.ok(await shared.compareAndSwapLatest(signed.version, forged));
      const serving: [string, Coordinator][] = [
        ["the Coordinator that set it", genuine],
        ["a replica", replica],
      ];
      for (const [who, c] of serving) {
        const served = await c.attest({ nonce: new Uint8Array(32) });
        assert.equal(served.latestTransition, set.transition);
        assert.notEqual(
          served.latestRecord,
          encodeHex(forged),
          `${who} serves the forged record (verify writes it into history.json: a restore from ` +
            "it can never be recovered)",
        );
        assert.equal(served.latestRecord, encodeHex(signed.bytes), who);
      }
    });
  },
);
