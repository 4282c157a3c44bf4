/**
 * `contrast verify` in an auditor's workspace that pins nothing of the deployment's seed: only
 * the published `manifest.json`, as a CI job starts from a fresh checkout. The infrastructure
 * wipes the Coordinator's store and replays the owner's history (public: `/attest` serves every
 * manifest with its signature) to a fresh Coordinator, which makes a new seed (new root CA, new
 * workload secrets for every pod). Nothing the auditor holds tells the two Coordinators apart,
 * so this passes; the verdict must say so (warning, JSON `rootCaPinned: false`), and the two
 * ways to pin the seed must catch it: the deployment's `coordinator-root-ca.pem` in the
 * workspace, or `verify/` kept from an earlier run.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { coordinatorWorkspaceTest } from "./coordinator_workspace.ts";

coordinatorWorkspaceTest(
  "contrast verify: says when nothing pins the deployment's seed; a root CA or verify/ catches a " +
    "Coordinator started over",
  async (t, ws, c) => {
    const d = ws.deployment;
    const owner = await runCliCaptured("set", "-c", c.userAddress, "-w", ws.dir, ws.yamlPath);
    assert.equal(owner.code, 0, owner.stderr);
    const auditor = await Deno.makeTempDir();
    const kept = await Deno.makeTempDir();
    try {
      for (const dir of [auditor, kept]) {
        await Deno.copyFile(`${ws.dir}/manifest.json`, `${dir}/manifest.json`);
      }
      const verify = (dir: string) =>
        runCliCaptured("verify", "-c", c.userAddress, "-w", dir, "--json");

      await t.step("the genuine Coordinator, nothing pinned: exit 0 with the warning", async () => {
        const r = await verify(auditor);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout).result.rootCaPinned, false);
        assert.match(r.stderr, /warning: nothing in .* pins this deployment's seed/);
        await Deno.remove(`${auditor}/verify`, { recursive: true });
        // The auditor who keeps verify/ between runs.
        assert.equal((await verify(kept)).code, 0);
      });

      // The infrastructure wipes the store, restarts the Coordinator and replays the history.
      const before = await c.coordinator.attest({ nonce: new Uint8Array(32) });
      c.backend.clear();
      await c.restart();
      await c.setFirstManifest(d.manifest());
      const after = await c.coordinator.attest({ nonce: new Uint8Array(32) });
      assert.equal(after.latestTransition, before.latestTransition, "the same history");
      assert.notEqual(after.rootCa, before.rootCa, "a new seed");

      await t.step("started over, nothing pinned: passes, and says nothing pins it", async () => {
        const r = await verify(auditor);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout).result.rootCaPinned, false);
        assert.match(r.stderr, /started over on a new seed/);
      });

      await t.step("started over, verify/ kept from an earlier run: exit 1", async () => {
        const r = await verify(kept);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(
          r.stderr,
          /verify\/coordinator-root-ca\.pem: the Coordinator's root CA differs/,
        );
      });

      await t.step("started over, the deployment's root CA in the workspace: exit 1", async () => {
        await Deno.remove(`${auditor}/verify`, { recursive: true });
        await Deno.copyFile(
          `${ws.dir}/coordinator-root-ca.pem`,
          `${auditor}/coordinator-root-ca.pem`,
        );
        const r = await verify(auditor);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /coordinator-root-ca\.pem: the Coordinator's root CA differs/);
      });

      await t.step("pinned, the genuine root CA: no warning", async () => {
        await Deno.writeTextFile(`${auditor}/coordinator-root-ca.pem`, after.rootCa);
        const r = await verify(auditor);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout).result.rootCaPinned, true);
        assert.doesNotMatch(r.stderr, /warning/);
      });
    } finally {
      await Deno.remove(auditor, { recursive: true });
      await Deno.remove(kept, { recursive: true });
    }
  },
);
