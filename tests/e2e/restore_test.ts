/**
 * End to end with separate processes: `contrast verify` writes the signed history
 * (`verify/history.json`); after the infrastructure lost the Coordinator's whole store, a
 * Coordinator started with `--restore-history` rebuilds it from that backup, checked, and the
 * owners' recovery brings back the same root CA (issue 11, item 8). A tampered backup is refused.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { encodeHex } from "../../util/bytes/mod.ts";
import { createWorkspace, runCli, runInitializerProcess, startCoordinator } from "./harness.ts";

Deno.test({
  name: "a lost store is restored from verify/history.json, verified, and recovered",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const ws = await createWorkspace();
    const d = ws.deployment;
    const history = `${ws.dir}/history`;
    let coordinator = await startCoordinator(ws);
    try {
      const set = await runCli(ws, ["set", "-c", coordinator.userAddress, ws.yamlPath]);
      assert.equal(set.code, 0, set.stderr);
      const v2 = d.manifest((m) => {
        (m.Policies as Record<string, { SANs: string[] }>)[encodeHex(d.pods.db.digest)]!.SANs
          .push("db2");
      });
      await Deno.writeFile(`${ws.dir}/manifest.json`, v2);
      const update = await runCli(ws, ["set", "-c", coordinator.userAddress, ws.yamlPath]);
      assert.equal(update.code, 0, update.stderr);
      const verify = await runCli(ws, ["verify", "-c", coordinator.userAddress]);
      assert.equal(verify.code, 0, verify.stderr);
      const backup = `${ws.dir}/verify/history.json`;
      const doc = JSON.parse(await Deno.readTextFile(backup));
      assert.equal(doc.manifests.length, 2);
      const root = await Deno.readTextFile(`${ws.dir}/coordinator-root-ca.pem`);
      await coordinator.stop();
      await Deno.remove(history, { recursive: true });

      await t.step("a tampered backup is refused at start, naming the field", async () => {
        const tampered = structuredClone(doc);
        tampered.manifests[1].manifest = btoa(atob(tampered.manifests[1].manifest) + " ");
        await Deno.writeTextFile(`${ws.dir}/tampered.json`, JSON.stringify(tampered));
        await assert.rejects(
          startCoordinator(ws, history, ["--restore-history", `${ws.dir}/tampered.json`]),
          (e: unknown) =>
            e instanceof Error && /tampered\.json: history\[1\]\.signature/.test(e.message),
        );
      });

      await t.step("the backup restores the store; recover brings the same root CA", async () => {
        await Deno.remove(history, { recursive: true }).catch(() => {});
        coordinator = await startCoordinator(ws, history, ["--restore-history", backup]);
        const recover = await runCli(ws, ["recover", "-c", coordinator.userAddress]);
        assert.equal(recover.code, 0, recover.stderr);
        assert.match(recover.stdout, /root CA unchanged/);
        const after = await runCli(ws, ["verify", "-c", coordinator.userAddress]);
        assert.equal(after.code, 0, after.stderr);
        assert.equal(await Deno.readTextFile(`${ws.dir}/verify/coordinator-root-ca.pem`), root);
        const pod = await runInitializerProcess(
          ws,
          coordinator,
          d.pods.web.digest,
          `${ws.dir}/pod-restored`,
        );
        assert.equal(pod.code, 0, pod.stderr);
      });
    } finally {
      await coordinator.stop();
      await ws.cleanup();
    }
  },
});
