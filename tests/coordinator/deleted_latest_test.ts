/**
 * The host deletes the latest record under running replicas (review, no defect found; this path
 * had no test): an active replica answers nothing from the state it served (attestation, mesh
 * certificates, transit, updates) and is not ready, and a replica waiting in recovery does not
 * take the empty store for a fresh one (a replayed first `set` would start the deployment over on
 * a new seed); both serve again once the record is back.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { decodeHex } from "../../util/bytes/mod.ts";
import type { LatestRecord } from "../../coordinator/history/backend.ts";
import { HistoryCorruptionError } from "../../coordinator/history/errors.ts";
import { MemoryHistoryBackend } from "../../coordinator/history/memory_backend.ts";
import { withoutPolicy } from "./fixture.ts";
import { replicaTest, setManifest, startOn, whileServing } from "./replica_fixture.ts";

/** Storage whose latest record the host can hide (deleted, then put back). */
class DeletableLatest extends MemoryHistoryBackend {
  deleted = false;
  override readLatest(): Promise<LatestRecord | undefined> {
    return this.deleted ? Promise.resolve(undefined) : super.readLatest();
  }
}

/** Whether `error` is the refusal of a deleted latest record. */
function isDisappeared(error: unknown): boolean {
  return error instanceof HistoryCorruptionError && error.field === "transitions/latest" &&
    /disappeared/.test(error.reason);
}

replicaTest(
  "latest deleted under running replicas: nothing served from the old state, no fresh start",
  "deleted-latest",
  async (d, parts) => {
    const backend = new DeletableLatest();
    const active = await startOn(d, backend, d.coordinator.digest, parts);
    const first = await setManifest(d, active, d.manifest());
    const waiting = await startOn(d, backend, d.coordinator.digest, parts);
    assert.equal(waiting.phase, "recovery");
    assert.ok(active.ready());

    backend.deleted = true;
    const nonce = { nonce: new Uint8Array(32) };
    await assert.rejects(active.attest(nonce), isDisappeared);
    await assert.rejects(active.transitView(), isDisappeared);
    await assert.rejects(
      setManifest(
        d,
        active,
        d.manifest(withoutPolicy(d.pods.db.digest)),
        decodeHex(first.transition),
      ),
      isDisappeared,
    );
    assert.equal(active.ready(), false, "not ready while the record is gone");
    assert.equal(active.phase, "active", "keeps its seed");
    // The replica in recovery: the owner's first set, replayed, does not start it over.
    await assert.rejects(waiting.attest(nonce), isDisappeared);
    await assert.rejects(setManifest(d, waiting, d.manifest()), isDisappeared);
    assert.equal(waiting.phase, "recovery");

    backend.deleted = false;
    assert.equal((await active.attest(nonce)).latestTransition, first.transition);
    assert.ok(active.ready());
    await whileServing(active, parts, async (peer) => {
      await waiting.recoverFromPeer(peer);
    });
    assert.equal((await waiting.attest(nonce)).latestTransition, first.transition);
    assert.equal((await waiting.attest(nonce)).rootCa, first.rootCa);
  },
);
