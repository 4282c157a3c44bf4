/**
 * `contrast set` and the workspace files it writes: outputs that cannot be written are found
 * before anything is sent, and the Coordinator's stored seed-share document (held by the
 * host-provided store, never verified) never replaces the owner's own `seed-shares.json`.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { encodeHex } from "../../util/bytes/mod.ts";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { coordinatorWorkspaceTest, workspaceCommand } from "./coordinator_workspace.ts";

coordinatorWorkspaceTest(
  "contrast set: an unwritable output is exit 2 before anything is sent; a stored seed-share document never replaces the workspace's",
  async (t, ws, c) => {
    const set = () =>
      runCliCaptured(
        ...workspaceCommand("set", ws, c),
        ws.yamlPath,
      );
    const shares = `${ws.dir}/seed-shares.json`;
    const stored = `${ws.dir}/seed-shares.coordinator.json`;

    await t.step(
      "mesh-ca.pem is a directory: exit 2 naming it, nothing sent or written",
      async () => {
        await Deno.mkdir(`${ws.dir}/mesh-ca.pem`);
        await Deno.writeTextFile(`${ws.dir}/coordinator-root-ca.pem`, "old");
        const r = await set();
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /mesh-ca\.pem: cannot write: is a directory/);
        assert.equal(c.coordinator.phase, "awaiting-manifest", "nothing was sent");
        assert.equal(await Deno.readTextFile(`${ws.dir}/coordinator-root-ca.pem`), "old");
        await Deno.remove(`${ws.dir}/mesh-ca.pem`);
        // A root CA in the workspace would now refuse the first manifest (an earlier deployment's:
        // set_wiped_store_test.ts); this one only showed that nothing was written.
        await Deno.remove(`${ws.dir}/coordinator-root-ca.pem`);
      },
    );

    let original = "";
    await t.step("the first set writes all three files", async () => {
      const r = await set();
      assert.equal(r.code, 0, r.stderr);
      original = await Deno.readTextFile(shares);
      assert.match(await Deno.readTextFile(`${ws.dir}/mesh-ca.pem`), /BEGIN CERTIFICATE/);
    });

    await t.step(
      "again, with a workspace copy that differs: kept, the stored one beside it",
      async () => {
        const mine = JSON.stringify(JSON.parse(original)); // the same shares, other bytes
        await Deno.writeTextFile(shares, mine);
        const r = await set();
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await Deno.readTextFile(shares), mine);
        assert.equal(await Deno.readTextFile(stored), original);
        assert.match(r.stdout, /kept .*seed-shares\.json/);
        await Deno.writeTextFile(shares, original);
        await Deno.remove(stored);
      },
    );

    await t.step(
      "in recovery mode, a tampered stored document does not replace the owner's",
      async () => {
        assert.equal(c.coordinator.phase, "active");
        const transitions = await c.backend.listObjects("seedshares");
        assert.equal(transitions.length, 1);
        const doc = JSON.parse(original);
        doc.Salt = encodeHex(crypto.getRandomValues(new Uint8Array(32)));
        await c.backend.putObject(
          "seedshares",
          transitions[0]!,
          new TextEncoder().encode(JSON.stringify(doc)),
        );
        await c.restart();
        assert.equal(c.coordinator.phase, "recovery");
        const r = await set();
        assert.equal(r.code, 3, r.stderr);
        assert.match(r.stderr, /recover/);
        assert.equal(await Deno.readTextFile(shares), original, "the owner's copy is untouched");
        assert.equal(JSON.parse(await Deno.readTextFile(stored)).Salt, doc.Salt);
      },
    );
  },
);
