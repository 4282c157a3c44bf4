/**
 * `verify/` holds the last verified history (`history.json`, the backup `--restore-history`
 * brings a wiped deployment back from) and its root CA. A later `contrast verify` must not
 * replace them with what a Coordinator on another seed attested (an auditor's workspace has no
 * `coordinator-root-ca.pem` of its own to tell it apart), nor with a history that ends before
 * the backup's (a store put back to an older, genuinely signed state).
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { listTree } from "../helpers/list_tree.ts";
import {
  coordinatorWorkspaceTest,
  firstThenUpdateKept,
  putLatestBack,
  setFirstManifestKept,
  workspaceCommand,
} from "./coordinator_workspace.ts";

coordinatorWorkspaceTest(
  "contrast verify from an auditor's workspace: a Coordinator started over on a new seed with " +
    "the replayed history is exit 1 and verify/ is kept",
  async (_t, ws, c) => {
    const d = ws.deployment;
    await setFirstManifestKept(ws, c);
    // The auditor's workspace: the manifest, and verify/ from its runs; no root CA of its own.
    await Deno.remove(`${ws.dir}/coordinator-root-ca.pem`);
    const verify = () => runCliCaptured(...workspaceCommand("verify", ws, c));
    const good = await verify();
    assert.equal(good.code, 0, good.stdout + good.stderr);
    const before = await listTree(ws.dir);
    const backup = await Deno.readTextFile(`${ws.dir}/verify/history.json`);

    // Wiped, restarted (new seed), the owner's public first manifest and signature replayed.
    c.backend.clear();
    await c.restart();
    await c.setFirstManifest(d.manifest());

    const replayed = await verify();
    assert.equal(replayed.code, 1, replayed.stdout + replayed.stderr);
    assert.match(replayed.stderr, /verify\/coordinator-root-ca\.pem: the Coordinator's root CA/);
    assert.equal(await Deno.readTextFile(`${ws.dir}/verify/history.json`), backup);
    assert.deepEqual(await listTree(ws.dir), before, "the workspace is unchanged");
  },
);

coordinatorWorkspaceTest(
  "contrast verify: a history that ends before verify/history.json's (store put back, same " +
    "seed) is exit 1 and verify/ is kept",
  async (_t, ws, c) => {
    const firstManifest = `${ws.dir}/first-manifest.json`;
    await Deno.copyFile(`${ws.dir}/manifest.json`, firstManifest);
    const { firstRecord: oldRecord } = await firstThenUpdateKept(ws, c);
    const good = await runCliCaptured(...workspaceCommand("verify", ws, c));
    assert.equal(good.code, 0, good.stdout + good.stderr);
    const backup = await Deno.readTextFile(`${ws.dir}/verify/history.json`);

    // The host puts the first latest record back; recovered onto it (same seed, same root CA) from
    // a copy of the workspace without verify/ (recover refuses a history that ends before
    // verify/history.json's).
    await putLatestBack(c, oldRecord.bytes);
    await Deno.rename(`${ws.dir}/verify`, `${ws.dir}/verify.aside`);
    const recovered = await runCliCaptured(
      "recover",
      "-c",
      c.userAddress,
      "-w",
      ws.dir,
      "-m",
      firstManifest,
    );
    await Deno.rename(`${ws.dir}/verify.aside`, `${ws.dir}/verify`);
    assert.equal(recovered.code, 0, recovered.stdout + recovered.stderr);
    assert.equal((await c.coordinator.attest({ nonce: new Uint8Array(32) })).manifests.length, 1);
    const before = await listTree(ws.dir);

    const rolledBack = await runCliCaptured(...workspaceCommand("verify", ws, c));
    assert.equal(rolledBack.code, 1, rolledBack.stdout + rolledBack.stderr);
    assert.match(
      rolledBack.stderr,
      /verify\/history\.json: the Coordinator's history \(1 manifests\) does not contain/,
    );
    assert.equal(await Deno.readTextFile(`${ws.dir}/verify/history.json`), backup);
    assert.deepEqual(await listTree(ws.dir), before, "the workspace is unchanged");
  },
);
