/**
 * `contrast set` against a Coordinator the infrastructure started over: after wiping its store it
 * replays the owner's own first manifest and signature (both public) to a fresh Coordinator, which
 * makes a new seed. The history is owner-signed, so the owner-key pin passes; the workspace's
 * root CA tells the two Coordinators apart.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { encodeHex } from "../../util/bytes/mod.ts";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { coordinatorWorkspaceTest, setAndVerified } from "./coordinator_workspace.ts";

type WorkspaceTestArgs = Parameters<Parameters<typeof coordinatorWorkspaceTest>[1]>;

/**
 * What the infrastructure does: wipe the store, restart the Coordinator (a fresh seed) and replay
 * the owner's first manifest with its signature.
 */
async function startOver(ws: WorkspaceTestArgs[1], c: WorkspaceTestArgs[2]): Promise<void> {
  c.backend.clear();
  await c.restart();
  await c.setFirstManifest(ws.deployment.manifest());
}

coordinatorWorkspaceTest(
  "contrast set, sign --prepare: refuse a Coordinator started over with the owner's replayed " +
    "first manifest (another root CA than the workspace's)",
  async (_t, ws, c) => {
    const d = ws.deployment;
    const set = (...extra: string[]) =>
      runCliCaptured("set", "-c", c.userAddress, "-w", ws.dir, ...extra, ws.yamlPath);
    const owner = await set();
    assert.equal(owner.code, 0, owner.stderr);
    const root = await Deno.readTextFile(`${ws.dir}/coordinator-root-ca.pem`);

    // The infrastructure wipes the store, restarts the Coordinator and replays the first set.
    await startOver(ws, c);
    const replayed = await c.coordinator.attest({ nonce: new Uint8Array(32) });
    assert.notEqual(replayed.rootCa, root, "a fresh seed");

    // The owner's retried set ("already holds this manifest") would take the new CA files.
    const retried = await set();
    assert.equal(retried.code, 1, retried.stdout + retried.stderr);
    assert.match(retried.stderr, /coordinator-root-ca\.pem: the Coordinator's root CA differs/);
    assert.equal(await Deno.readTextFile(`${ws.dir}/coordinator-root-ca.pem`), root);

    // An update would make the reset permanent.
    await Deno.writeFile(
      `${ws.dir}/manifest.json`,
      d.manifest((m) => {
        (m.Policies as Record<string, { SANs: string[] }>)[encodeHex(d.pods.db.digest)]!.SANs
          .push("db2");
      }),
    );
    const update = await set();
    assert.equal(update.code, 1, update.stdout + update.stderr);
    const prepared = await runCliCaptured("sign", "--prepare", "-c", c.userAddress, "-w", ws.dir);
    assert.equal(prepared.code, 1, prepared.stdout + prepared.stderr);
    assert.match(prepared.stderr, /root CA differs/);
    assert.equal((await c.coordinator.attest({ nonce: new Uint8Array(32) })).manifests.length, 1);

    // Started over deliberately: without the old root CA file, the update goes through.
    await Deno.remove(`${ws.dir}/coordinator-root-ca.pem`);
    const fresh = await set();
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.equal((await c.coordinator.attest({ nonce: new Uint8Array(32) })).manifests.length, 2);
  },
);

coordinatorWorkspaceTest(
  "contrast verify: refuses a Coordinator started over with the owner's whole replayed history " +
    "(another root CA than the workspace's) and keeps the last verified backup",
  async (_t, ws, c) => {
    const { verify, backup } = await setAndVerified(ws, c);

    // The infrastructure wipes the store, restarts the Coordinator and replays the owner's
    // history (public: /attest serves every manifest with its signature): same latest transition,
    // new seed, so new root CA and new workload secrets for every pod.
    await startOver(ws, c);

    const replayed = await verify();
    assert.equal(replayed.code, 1, replayed.stdout + replayed.stderr);
    assert.match(replayed.stderr, /coordinator-root-ca\.pem: the Coordinator's root CA differs/);
    assert.equal(
      await Deno.readTextFile(`${ws.dir}/verify/history.json`),
      backup,
      "the backup of the genuine history is not replaced by the started-over one",
    );
  },
);
