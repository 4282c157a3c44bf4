/**
 * After the infrastructure wipes the Coordinator's store (a fresh Coordinator, no manifest), the
 * owner's `verify/history.json` is the one backup the deployment can be restored from
 * (`--restore-history`). `contrast verify` against the wiped Coordinator, the owner's natural
 * first check, must fail without replacing it.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { listTree } from "../helpers/list_tree.ts";
import { coordinatorWorkspaceTest, setAndVerified } from "./coordinator_workspace.ts";

coordinatorWorkspaceTest(
  "contrast verify: a Coordinator whose store was wiped (no manifest) is exit 1 and verify/ " +
    "with the history backup is kept",
  async (_t, ws, c) => {
    const { backup } = await setAndVerified(ws, c);
    const before = await listTree(ws.dir);

    // The infrastructure wipes the store and restarts the Coordinator: no manifest, new seed.
    c.backend.clear();
    await c.restart();

    for (const args of [[], ["--json"]]) {
      const wiped = await runCliCaptured("verify", "-c", c.userAddress, "-w", ws.dir, ...args);
      assert.equal(wiped.code, 1, wiped.stdout + wiped.stderr);
      assert.match(wiped.stderr, /the Coordinator has no manifest .*history\.json/);
      assert.equal(await Deno.readTextFile(`${ws.dir}/verify/history.json`), backup);
      assert.deepEqual(await listTree(ws.dir), before, "the workspace is unchanged");
    }
  },
);
