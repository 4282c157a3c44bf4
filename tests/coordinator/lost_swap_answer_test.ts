/**
 * A swap of latest whose answer is lost (the connection to the API server cut after the write, or
 * the call's deadline passed while the write landed) has an unknown outcome. The Coordinator reads
 * latest again: when it names the transition just signed (the signature checked under its history
 * key), the update is in and is answered as such. Before, it answered 503 whatever happened; for a
 * first `set` it also dropped the seed that now signs the stored history, so the Coordinator went
 * into recovery and the owner, without the answer's root CA and seed shares, could recover it only
 * by trusting the stored seed-share document (`--trust-seed-shares`).
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { decodeHex, encodeHex } from "../../util/bytes/mod.ts";
import { MemoryHistoryBackend } from "../../coordinator/history/memory_backend.ts";
import { encodeSeedShares, type SeedShareDocument } from "../../seed/seed_shares.ts";
import { UnavailableError } from "../../util/errors/mod.ts";
import { deployment, withoutPolicy } from "./fixture.ts";
import { loadWithSeedShares, setManifest, sharedParts, startOn } from "./replica_fixture.ts";

/**
 * Storage whose next swap of latest lands and then fails as unreachable (`landed`), or fails
 * without landing (`lost`).
 */
class LostSwapAnswer extends MemoryHistoryBackend {
  next: "landed" | "lost" | undefined;
  override async compareAndSwapLatest(
    expected: string | undefined,
    bytes: Uint8Array,
  ): Promise<string | undefined> {
    const fault = this.next;
    this.next = undefined;
    if (fault === "lost") {
      throw new UnavailableError("transitions/latest", "Kubernetes API unreachable (reset)");
    }
    const version = await super.compareAndSwapLatest(expected, bytes);
    if (fault === "landed") {
      throw new UnavailableError("transitions/latest", "Kubernetes API unreachable (reset)");
    }
    return version;
  }
}

Deno.test({
  name: "a swap of latest whose answer is lost: answered as set when it landed, 503 when not",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const d = await deployment();
    const backend = new LostSwapAnswer();
    const c = await startOn(d, backend, d.coordinator.digest, sharedParts("lost-swap-answer"));
    // The first set: its seed signs the stored history, so it must not be dropped.
    backend.next = "landed";
    const attempt = await setManifest(d, c, d.manifest()).then(
      (answer) => ({ answer }),
      (error: Error) => ({ error }),
    );
    if ("error" in attempt) {
      const stored = await backend.readLatest();
      assert.fail(
        `the first set was answered "${attempt.error.message}" and the Coordinator is in ` +
          `${c.phase}, while latest names ${encodeHex(stored!.bytes.subarray(0, 8))}…, signed ` +
          "with the seed it dropped",
      );
    }
    const first = attempt.answer;
    assert.equal(c.phase, "active");
    const answered = new TextEncoder().encode(
      encodeSeedShares(first.seedShares as SeedShareDocument),
    );
    const loaded = await loadWithSeedShares(d, answered, backend, { repairSeedShares: false });
    assert.equal(encodeHex(loaded.transition), first.transition);
    assert.equal(loaded.ca.rootPem, first.rootCa);
    // An update whose swap landed: answered, and served at once.
    backend.next = "landed";
    const update = d.manifest(withoutPolicy(d.pods.db.digest));
    const second = await setManifest(d, c, update, decodeHex(first.transition));
    const state = await c.attest({ nonce: new Uint8Array(32) });
    assert.equal(state.latestTransition, second.transition);
    // A swap that did not land stays a 503 naming latest, and nothing moves.
    backend.next = "lost";
    const third = d.manifest(withoutPolicy(d.pods.web.digest));
    await assert.rejects(
      setManifest(d, c, third, decodeHex(second.transition)),
      (e) => e instanceof UnavailableError && e.field === "transitions/latest",
    );
    assert.equal(
      (await c.attest({ nonce: new Uint8Array(32) })).latestTransition,
      second.transition,
    );
  },
});
