import "reflect-metadata";
import assert from "node:assert/strict";
import { writeUpdateWithout } from "../../testing/simulation/update.ts";
import {
  type CoordinatorProcess,
  createWorkspace,
  runCli,
  runInitializerProcess,
  startCoordinator,
  type Workspace,
} from "./harness.ts";

/** Waits until the replica's readiness probe answers 200. */
async function waitReady(c: CoordinatorProcess): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const r = await fetch(`http://127.0.0.1:${c.probePort}/probe/readiness`);
    await r.body?.cancel();
    if (r.status === 200) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`replica not ready:\n${c.logs.join("\n")}`);
}

async function initializer(ws: Workspace, c: CoordinatorProcess, pod: string, out: string) {
  return await runInitializerProcess(ws, c, ws.deployment.pods[pod]!.digest, out, 8);
}

Deno.test({
  name:
    "file backend, two replicas: a workload removed through A is refused by B, B attests only the new manifest, all issue under one mesh CA",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const ws = await createWorkspace();
    const history = `${ws.dir}/history`;
    const a = await startCoordinator(ws, history);
    let b: CoordinatorProcess | undefined;
    let a2: CoordinatorProcess | undefined;
    try {
      const set = await runCli(ws, ["set", "-c", a.userAddress, ws.yamlPath]);
      assert.equal(set.code, 0, set.stderr);
      b = await startCoordinator(ws, history, ["--peer", a.meshAddress]);
      await waitReady(b);

      // Before the update: db gets a certificate from B, web from A, under the same mesh CA.
      const dbBefore = await initializer(ws, b, "db", `${ws.dir}/db-before`);
      assert.equal(dbBefore.code, 0, dbBefore.stderr);
      const webA = await initializer(ws, a, "web", `${ws.dir}/web-a`);
      assert.equal(webA.code, 0, webA.stderr);
      const meshCa = await Deno.readTextFile(`${ws.dir}/mesh-ca.pem`);
      assert.equal(await Deno.readTextFile(`${ws.dir}/db-before/tls-config/mesh-ca.pem`), meshCa);
      assert.equal(await Deno.readTextFile(`${ws.dir}/web-a/tls-config/mesh-ca.pem`), meshCa);

      // The owner removes db through A.
      const update = await writeUpdateWithout(ws, "db", "without-db");
      const updated = await runCli(ws, [
        "set",
        "-c",
        a.userAddress,
        "-m",
        update.manifestPath,
        update.yamlPath,
      ]);
      assert.equal(updated.code, 0, updated.stderr);

      // B must not issue db a certificate or a secret, and must not attest the old manifest.
      const dbAfter = await initializer(ws, b, "db", `${ws.dir}/db-after`);
      assert.notEqual(dbAfter.code, 0, "B still admitted the removed workload");
      const oldVerify = await runCli(ws, ["verify", "-c", b.userAddress, "-m", "manifest.json"]);
      assert.equal(oldVerify.code, 1, oldVerify.stdout + oldVerify.stderr);
      const newVerify = await runCli(ws, [
        "verify",
        "-c",
        b.userAddress,
        "-m",
        update.manifestPath,
      ]);
      assert.equal(newVerify.code, 0, newVerify.stderr);

      // The new manifest has a new mesh CA, the same on both replicas.
      const newMeshCa = await Deno.readTextFile(`${ws.dir}/mesh-ca.pem`);
      assert.notEqual(newMeshCa, meshCa);
      const webB = await initializer(ws, b, "web", `${ws.dir}/web-b`);
      assert.equal(webB.code, 0, webB.stderr);
      assert.equal(await Deno.readTextFile(`${ws.dir}/web-b/tls-config/mesh-ca.pem`), newMeshCa);

      // A restarts (no seed), recovers from B and issues under that same mesh CA.
      await a.stop();
      a2 = await startCoordinator(ws, history, ["--peer", b.meshAddress]);
      await waitReady(a2);
      const webA2 = await initializer(ws, a2, "web", `${ws.dir}/web-a2`);
      assert.equal(webA2.code, 0, webA2.stderr);
      assert.equal(await Deno.readTextFile(`${ws.dir}/web-a2/tls-config/mesh-ca.pem`), newMeshCa);
    } finally {
      await a2?.stop();
      await b?.stop();
      await a.stop().catch(() => {});
      await ws.cleanup();
    }
  },
});
