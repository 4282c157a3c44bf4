/**
 * `contrast recover` against a Coordinator whose storage the host rolled back to an older, genuine
 * latest record: the seedshare owner must not hand the seed to a Coordinator that would then serve
 * a manifest older than the owner's own.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import {
  coordinatorWorkspaceTest,
  firstThenUpdateKept,
  putLatestBack,
  workspaceCommand,
} from "./coordinator_workspace.ts";

coordinatorWorkspaceTest(
  "contrast recover: refuses a Coordinator whose stored latest the host rolled back to an " +
    "older manifest than the local one",
  async (_t, ws, c) => {
    // The owner removes `web`, and keeps the new manifest as the workspace's manifest.json.
    const { first, firstRecord: oldRecord, second } = await firstThenUpdateKept(ws, c);
    // The host puts the old (genuinely signed) latest record back and restarts the Coordinator.
    const now = await putLatestBack(c, oldRecord.bytes);
    assert.equal(c.coordinator.phase, "recovery");

    const r = await runCliCaptured(...workspaceCommand("recover", ws, c));
    if ((c.coordinator.phase as string) === "active") {
      const state = await c.coordinator.attest({ nonce: new Uint8Array(32) });
      assert.fail(
        `recover exited ${r.code} and the Coordinator serves the manifest the owner replaced ` +
          `(${state.latestTransition === first.transition ? "the first" : "another"}; the ` +
          `owner's latest is ${second.transition.slice(0, 8)}…)`,
      );
    }
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /does not contain this manifest: its store may have been rolled back/);

    // With the genuine latest back, the same command recovers the owner's latest manifest.
    await putLatestBack(c, now.bytes);
    const again = await runCliCaptured(...workspaceCommand("recover", ws, c));
    assert.equal(again.code, 0, again.stderr);
    const state = await c.coordinator.attest({ nonce: new Uint8Array(32) });
    assert.equal(state.latestTransition, second.transition);
    assert.equal(state.rootCa, first.rootCa);
  },
);
