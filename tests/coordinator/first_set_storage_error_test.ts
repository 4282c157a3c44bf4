/**
 * An error of the one storage write after a first `set` moved latest must not cost the seed: the
 * Coordinator that signed the new history answers with its seed shares and root CA and serves it,
 * instead of dropping the seed into recovery (where the owner, without the answer, could recover
 * only by trusting the stored seed-share document).
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { MemoryHistoryBackend } from "../../coordinator/history/memory_backend.ts";
import type { ObjectKind } from "../../coordinator/history/backend.ts";
import { encodeSeedShares, type SeedShareDocument } from "../../seed/seed_shares.ts";
import { UnavailableError } from "../../util/errors/mod.ts";
import { deployment } from "./fixture.ts";
import { loadWithSeedShares, setManifest, sharedParts, startOn } from "./replica_fixture.ts";

/** Storage whose second seed-share write (the one after the swap of latest) fails. */
class FlakySeedShareWrites extends MemoryHistoryBackend {
  seedShareWrites = 0;
  override putObject(kind: ObjectKind, name: string, bytes: Uint8Array): Promise<void> {
    if (kind === "seedshares" && ++this.seedShareWrites === 2) {
      return Promise.reject(new UnavailableError("seedshares", "API server answered 503"));
    }
    return super.putObject(kind, name, bytes);
  }
}

Deno.test({
  name: "first set: a failed seed-share write after the swap still answers and keeps the seed",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const d = await deployment();
    const backend = new FlakySeedShareWrites();
    const c = await startOn(d, backend, d.coordinator.digest, sharedParts("first-set-error"));
    const set = await setManifest(d, c, d.manifest());
    assert.equal(backend.seedShareWrites, 2, "the write after the swap was attempted");
    assert.equal(c.phase, "active");
    const answered = new TextEncoder().encode(
      encodeSeedShares(set.seedShares as SeedShareDocument),
    );
    const loaded = await loadWithSeedShares(d, answered, backend, { repairSeedShares: false });
    assert.equal(set.rootCa, loaded.ca.rootPem);
  },
});
