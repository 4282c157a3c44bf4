/**
 * `contrast recover` against a Coordinator whose store the host put back to an older, genuinely
 * signed latest record that still contains the workspace's manifest (the owner set it again
 * later: A, B, A): the history verified last (`verify/history.json`) is the lower bound.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { decodeHex } from "../../util/bytes/mod.ts";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { setManifest } from "../coordinator/replica_fixture.ts";
import {
  coordinatorWorkspaceTest,
  putLatestBack,
  setFirstManifestKept,
  workspaceCommand,
} from "./coordinator_workspace.ts";
import { withoutPolicy } from "../coordinator/fixture.ts";

coordinatorWorkspaceTest(
  "contrast recover: refuses a history that ends before the latest transition verify recorded",
  async (_t, ws, c) => {
    const d = ws.deployment;
    const first = await setFirstManifestKept(ws, c);
    const firstRecord = (await c.backend.readLatest())!;
    const manifest = d.manifest();
    // The owner removes `web`, then sets the first manifest again (say, with `web` fixed).
    const withoutWeb = d.manifest(withoutPolicy(d.pods.web.digest));
    const second = await setManifest(d, c.coordinator, withoutWeb, decodeHex(first.transition));
    const third = await setManifest(d, c.coordinator, manifest, decodeHex(second.transition));
    await Deno.writeFile(`${ws.dir}/manifest.json`, manifest);
    const verified = await runCliCaptured(...workspaceCommand("verify", ws, c));
    assert.equal(verified.code, 0, verified.stderr);

    // The host puts the first latest record back and restarts the Coordinator.
    const genuine = await putLatestBack(c, firstRecord.bytes);
    assert.equal(c.coordinator.phase, "recovery");
    const r = await runCliCaptured(...workspaceCommand("recover", ws, c));
    if ((c.coordinator.phase as string) === "active") {
      const state = await c.coordinator.attest({ nonce: new Uint8Array(32) });
      assert.fail(
        `recover exited ${r.code} and the Coordinator was recovered onto ${
          state.latestTransition === first.transition ? "the first transition" : "another"
        } (the owner verified ${third.transition.slice(0, 8)}…, three manifests)`,
      );
    }
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /verify\/history\.json: .*does not contain the latest transition/);

    // With the genuine latest back, the same command recovers the verified state.
    await putLatestBack(c, genuine.bytes);
    const again = await runCliCaptured(...workspaceCommand("recover", ws, c));
    assert.equal(again.code, 0, again.stderr);
    const state = await c.coordinator.attest({ nonce: new Uint8Array(32) });
    assert.equal(state.latestTransition, third.transition);
  },
);
