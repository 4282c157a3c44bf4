/**
 * `contrast set` in a workspace that pins nothing of the deployment's seed (no
 * `coordinator-root-ca.pem`) against a Coordinator that already holds a manifest: it trusts that
 * Coordinator on first use, so it says so on stderr, as `contrast verify` does. A first set (the
 * Coordinator has no manifest, so there is no root CA to pin yet) and a set whose workspace holds
 * the root CA say nothing. Before, set trusted it without a word. `set --json` says the same as
 * `rootCaPinned` (false for the first two, true with the root CA in the workspace).
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { coordinatorWorkspaceTest } from "./coordinator_workspace.ts";
import { parseResultDocument } from "../../testing/cli/result_schema.ts";

const WARNING =
  /warning: nothing in .* pins this deployment's seed \(no coordinator-root-ca\.pem\)/;

coordinatorWorkspaceTest(
  "contrast set: warns when the workspace pins no root CA of a Coordinator that has a manifest",
  async (t, ws, c) => {
    const set = () =>
      runCliCaptured("set", "-c", c.userAddress, "-w", ws.dir, ws.yamlPath, "--json");
    /** The `rootCaPinned` of set's JSON document (validated against the published schema). */
    const pinned = (stdout: string) => {
      const doc = parseResultDocument(stdout);
      assert.equal(doc.command, "set");
      return doc.result.rootCaPinned;
    };
    const rootFile = `${ws.dir}/coordinator-root-ca.pem`;

    await t.step("first set (no manifest yet, nothing to pin): no warning", async () => {
      const r = await set();
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /warning/);
      assert.equal(pinned(r.stdout), false, "nothing pinned the Coordinator of a first set");
    });
    const rootCa = await Deno.readTextFile(rootFile);

    await t.step(
      "a manifest held, no root CA in the workspace: exit 0 with the warning",
      async () => {
        await Deno.remove(rootFile);
        const r = await set();
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, WARNING);
        assert.match(r.stderr, /trusted on first use/);
        assert.equal(pinned(r.stdout), false);
        assert.equal(await Deno.readTextFile(rootFile), rootCa, "the attested root CA is written");
      },
    );

    await t.step("--log-level error leaves the warning out", async () => {
      await Deno.remove(rootFile);
      const r = await runCliCaptured(
        "--log-level",
        "error",
        "set",
        "-c",
        c.userAddress,
        "-w",
        ws.dir,
        ws.yamlPath,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /warning/);
    });

    await t.step("the root CA in the workspace: no warning, rootCaPinned true", async () => {
      const r = await set();
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /warning/);
      assert.equal(pinned(r.stdout), true);
    });
  },
);
