/**
 * Manifest updates run one at a time. A request no workload owner signed must be refused without
 * waiting for its turn: queued, a stranger's flood grows the queue without bound (each entry
 * holding its body) and holds back the owner's update and the replica's reloads behind it.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { decodeHex, encodeBase64, encodeHex } from "../../util/bytes/mod.ts";
import { MemoryHistoryBackend } from "../../coordinator/history/memory_backend.ts";
import { parseManifestRequest } from "../../protocol/messages.ts";
import { ConflictError, ForbiddenError, UnauthenticatedError } from "../../protocol/errors.ts";
import { deployment, withoutPolicy } from "./fixture.ts";
import { replicaTest, setManifest, sharedParts, startOn } from "./replica_fixture.ts";

/** Storage whose swaps of latest wait while `held` is set (a slow API server). */
class HeldSwaps extends MemoryHistoryBackend {
  held?: Promise<void>;
  reached: () => void = () => {};
  override async compareAndSwapLatest(expected: string | undefined, bytes: Uint8Array) {
    if (this.held) {
      this.reached();
      await this.held;
    }
    return await super.compareAndSwapLatest(expected, bytes);
  }
}

/** What `attempt` settled with: "answered" or the error. */
function outcome(attempt: Promise<unknown>): Promise<unknown> {
  return attempt.then(() => "answered", (e: unknown) => e);
}

Deno.test({
  name: "manifest updates: a stranger's update is refused while the owner's waits on storage",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const d = await deployment();
    const backend = new HeldSwaps();
    const c = await startOn(d, backend, d.coordinator.digest, sharedParts("update-queue"));
    const first = await setManifest(d, c, d.manifest());

    let release: () => void = () => {};
    backend.held = new Promise((r) => release = r);
    const reached = new Promise<void>((r) => backend.reached = r);
    const update = d.manifest(withoutPolicy(d.pods.web.digest));
    const owners = outcome(setManifest(d, c, update, decodeHex(first.transition)));
    await reached; // the owner's update holds the queue, waiting on storage

    const request = (previous: string, signature: string) =>
      c.setManifest(parseManifestRequest({
        manifest: encodeBase64(update),
        policies: [d.coordinator.doc, d.pods.db.doc].map(encodeBase64),
        previous_transition: previous,
        signature,
      }));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stillWaiting = new Promise<string>((r) => {
      timer = setTimeout(() => r("still waiting behind the owner's update after 10 s"), 10_000);
    });
    try {
      const forged = await Promise.race([
        outcome(request(first.transition, encodeHex(crypto.getRandomValues(new Uint8Array(96))))),
        stillWaiting,
      ]);
      assert.ok(forged instanceof UnauthenticatedError, `not refused at once: ${forged}`);
      const stale = await Promise.race([
        outcome(request("11".repeat(32), await d.ownerSignature(update))),
        stillWaiting,
      ]);
      assert.ok(stale instanceof ConflictError, `not refused at once: ${stale}`);
    } finally {
      clearTimeout(timer);
      release();
    }
    assert.equal(await owners, "answered");
  },
});

replicaTest(
  "recovery: a stranger's recovery request is refused while a peer recovery holds the queue",
  "update-queue",
  async (d, parts, backend) => {
    const active = await startOn(d, backend, d.coordinator.digest, parts);
    await setManifest(d, active, d.manifest());
    const c = await startOn(d, backend, d.coordinator.digest, parts);
    assert.equal(c.phase, "recovery");
    // A "peer" that accepts the connection and never answers: the peer recovery waits on it.
    const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    (async () => {
      for await (const conn of silent) held.push(conn);
    })().catch(() => {});
    const peer = outcome(c.recoverFromPeer(`127.0.0.1:${silent.addr.port}`));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stillWaiting = new Promise<string>((r) => {
      timer = setTimeout(() => r("still waiting behind the peer recovery after 10 s"), 10_000);
    });
    try {
      const forged = await Promise.race([
        outcome(c.recover({
          sealedSeed: { enc: new Uint8Array(32), ciphertext: new Uint8Array(112) },
          ownerPublicKey: crypto.getRandomValues(new Uint8Array(64)),
          signature: new Uint8Array(512),
        })),
        stillWaiting,
      ]);
      assert.ok(forged instanceof ForbiddenError, `not refused at once: ${forged}`);
    } finally {
      clearTimeout(timer);
      silent.close();
      for (const conn of held) conn.close();
    }
    await peer;
  },
);
