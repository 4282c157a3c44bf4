/**
 * `contrast set` against a Coordinator whose store the infrastructure wiped: the Coordinator has
 * no manifest, so the owner's manifest would be its first, on a new seed. The workspace already
 * holds the deployment's root CA and seed shares (an earlier `set` wrote them): a first `set` now
 * would start the deployment over without saying so and replace the only copy of the old seed
 * shares, after which data protected by the old seed (workload secrets, encrypted volumes) can
 * never be recovered.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { coordinatorWorkspaceTest } from "./coordinator_workspace.ts";

coordinatorWorkspaceTest(
  "contrast set: refuses a first manifest while the workspace holds an earlier deployment's " +
    "root CA or seed shares (a wiped store), sends nothing and keeps both",
  async (t, ws, c) => {
    const set = (...extra: string[]) =>
      runCliCaptured("set", "-c", c.userAddress, "-w", ws.dir, ...extra, ws.yamlPath);
    const owner = await set();
    assert.equal(owner.code, 0, owner.stderr);
    const root = await Deno.readTextFile(`${ws.dir}/coordinator-root-ca.pem`);
    const shares = await Deno.readTextFile(`${ws.dir}/seed-shares.json`);

    // The infrastructure wipes the store and restarts the Coordinator: no manifest, no seed yet.
    c.backend.clear();
    await c.restart();
    assert.equal((await c.coordinator.attest({ nonce: new Uint8Array(32) })).manifests.length, 0);

    await t.step("with the root CA and the seed shares: exit 1, nothing sent", async () => {
      const r = await set();
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /coordinator-root-ca\.pem: the Coordinator has no manifest/);
      assert.doesNotMatch(r.stdout, /Manifest set/);
      assert.equal(await Deno.readTextFile(`${ws.dir}/coordinator-root-ca.pem`), root);
      assert.equal(await Deno.readTextFile(`${ws.dir}/seed-shares.json`), shares);
      const state = await c.coordinator.attest({ nonce: new Uint8Array(32) });
      assert.equal(state.manifests.length, 0, "a first manifest was sent");
    });

    await t.step("--json names the file and the reason", async () => {
      const r = await set("--json");
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.outcome, "rejected");
      assert.equal(doc.error.field, `${ws.dir}/coordinator-root-ca.pem`);
    });

    await t.step("sign --prepare: exit 1, nothing prepared", async () => {
      const r = await runCliCaptured("sign", "--prepare", "-c", c.userAddress, "-w", ws.dir);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /coordinator-root-ca\.pem: the Coordinator has no manifest/);
      assert.doesNotMatch(r.stdout, /Prepared update/);
    });

    await t.step("seed shares alone (root CA moved aside): exit 1, seed shares kept", async () => {
      await Deno.rename(`${ws.dir}/coordinator-root-ca.pem`, `${ws.dir}/old-root-ca.pem`);
      const r = await set();
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /seed-shares\.json: the Coordinator has no manifest/);
      assert.equal(await Deno.readTextFile(`${ws.dir}/seed-shares.json`), shares);
      assert.equal((await c.coordinator.attest({ nonce: new Uint8Array(32) })).manifests.length, 0);
    });

    await t.step(
      "started over deliberately (both moved aside): the first set goes through",
      async () => {
        await Deno.rename(`${ws.dir}/seed-shares.json`, `${ws.dir}/old-seed-shares.json`);
        const r = await set();
        assert.equal(r.code, 0, r.stderr);
        assert.notEqual(await Deno.readTextFile(`${ws.dir}/coordinator-root-ca.pem`), root);
        assert.equal(
          (await c.coordinator.attest({ nonce: new Uint8Array(32) })).manifests.length,
          1,
        );
      },
    );
  },
);
