/**
 * `contrast set` and `contrast sign --prepare` against a replica the host keeps on a forked, older
 * view of the store (its latest record genuinely signed, from before an update the owner then
 * verified): the owner must not sign an update on top of it. Signed, it would be an owner-signed
 * second branch of the history (the transition of the update's manifest after the older latest),
 * which replicas on either branch then serve as the owners'. The history verified last
 * (`verify/history.json`) is the lower bound, as for `recover` and `verify`.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { concatBytes, decodeHex } from "../../util/bytes/mod.ts";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { MemoryHistoryBackend } from "../../coordinator/history/memory_backend.ts";
import { OBJECT_KINDS } from "../../coordinator/history/backend.ts";
import {
  serveOnLoopback,
  setManifest,
  sharedParts,
  startOn,
} from "../coordinator/replica_fixture.ts";
import {
  coordinatorWorkspaceTest,
  setFirstManifestKept,
  workspaceCommand,
} from "./coordinator_workspace.ts";

/** A copy of `store` as it is now: what a host that forks the storage shows one replica. */
async function fork(store: MemoryHistoryBackend): Promise<MemoryHistoryBackend> {
  const copy = new MemoryHistoryBackend();
  for (const kind of OBJECT_KINDS) {
    for (const name of await store.listObjects(kind)) {
      await copy.putObject(kind, name, (await store.getObject(kind, name))!);
    }
  }
  const latest = await store.readLatest();
  if (latest) await copy.compareAndSwapLatest(undefined, latest.bytes);
  return copy;
}

coordinatorWorkspaceTest(
  "contrast set and sign --prepare: refuse a replica whose history ends before the latest transition verify recorded",
  async (_t, ws, c) => {
    const d = ws.deployment;
    const first = await setFirstManifestKept(ws, c);
    // The host forks the store and keeps a replica on the fork (recovered from the genuine one).
    const parts = sharedParts("set-last-verified");
    const forked = await fork(c.backend);
    const frozen = await startOn(d, forked, d.coordinator.digest, parts);
    await frozen.recoverFromPeer(c.meshAddress);
    const service = await serveOnLoopback(frozen, parts);
    try {
      // The owner updates through the genuine replica and verifies it.
      const second = concatBytes(d.manifest(), new TextEncoder().encode("\n"));
      await setManifest(d, c.coordinator, second, decodeHex(first.transition));
      await Deno.writeFile(`${ws.dir}/manifest.json`, second);
      const verified = await runCliCaptured(...workspaceCommand("verify", ws, c));
      assert.equal(verified.code, 0, verified.stderr);

      // The owner's next manifest, sent to the replica on the older fork.
      const third = concatBytes(d.manifest(), new TextEncoder().encode("\n\n"));
      await Deno.writeFile(`${ws.dir}/manifest.json`, third);
      const frozenAddress = `127.0.0.1:${service.userPort}`;
      const before = (await forked.readLatest())!.bytes;
      const set = await runCliCaptured("set", "-c", frozenAddress, "-w", ws.dir, ws.yamlPath);
      const after = (await forked.readLatest())!.bytes;
      assert.deepEqual(
        after,
        before,
        `set exited ${set.code} and the owner signed an update on top of the older transition ` +
          `${first.transition.slice(0, 16)}…: a second owner-signed branch`,
      );
      assert.equal(set.code, 1, set.stderr);
      assert.match(set.stderr, /verify\/history\.json: .*does not contain the latest transition/);

      const prepare = await runCliCaptured(
        "sign",
        "--prepare",
        "-c",
        frozenAddress,
        "-w",
        ws.dir,
        "-m",
        `${ws.dir}/manifest.json`,
      );
      assert.equal(prepare.code, 1, prepare.stderr);
      assert.match(
        prepare.stderr,
        /verify\/history\.json: .*does not contain the latest transition/,
      );

      // The genuine replica, which holds the verified history, takes the update.
      const good = await runCliCaptured("set", "-c", c.userAddress, "-w", ws.dir, ws.yamlPath);
      assert.equal(good.code, 0, good.stderr);
    } finally {
      await service.close();
    }
  },
);
