/**
 * The transit KMS end to end on the simulated TEE, driven by an unmodified OpenBao/Vault client
 * from npm (`node-vault`): pods get their workload secret and mesh certificate from real
 * initializer processes, encrypt and decrypt through the Coordinator process's transit API with
 * that certificate; another pod cannot use the keys; after SIGKILL, restart and `contrast recover`
 * the same ciphertext still decrypts; a manifest update removing a pod stops serving its keys.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import nodeVault from "node-vault";
import { encodeHex } from "../../util/bytes/mod.ts";
import {
  createWorkspace,
  runCli,
  runInitializerProcess,
  startCoordinator,
  type Workspace,
} from "./harness.ts";

/** A node-vault client for a pod, exactly as an application would configure it. */
async function vaultFor(
  podDir: string,
  transitAddress: string,
  caFile = `${podDir}/tls-config/mesh-ca.pem`,
) {
  const port = transitAddress.split(":")[1];
  return nodeVault({
    apiVersion: "v1",
    endpoint: `https://localhost:${port}`,
    token: "unused: the mesh certificate authenticates",
    requestOptions: {
      ca: await Deno.readTextFile(caFile),
      cert: await Deno.readTextFile(`${podDir}/tls-config/certChain.pem`),
      key: await Deno.readTextFile(`${podDir}/tls-config/key.pem`),
    },
  });
}

/** The workspace's manifest with `db` owning `db-secret` (optionally without db at all). */
async function writeManifest(ws: Workspace, withDb: boolean) {
  const d = ws.deployment;
  await Deno.writeFile(
    `${ws.dir}/manifest.json`,
    d.manifest((m) => {
      const policies = m.Policies as Record<string, { WorkloadSecretID: string }>;
      if (withDb) policies[encodeHex(d.pods.db!.digest)]!.WorkloadSecretID = "db-secret";
      else delete policies[encodeHex(d.pods.db!.digest)];
    }),
  );
}

Deno.test({
  name: "transit e2e: node-vault with the pod's mesh certificate; isolation; restart + recover",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const ws = await createWorkspace();
    await writeManifest(ws, true);
    let coordinator = await startCoordinator(ws);
    const web = `${ws.dir}/pod-web`;
    const db = `${ws.dir}/pod-db`;
    let ciphertext = "";
    let batch: { ciphertext: string }[] = [];
    try {
      await t.step("set, then two pods attest and get their secrets and certificates", async () => {
        const set = await runCli(ws, ["set", "-c", coordinator.userAddress, ws.yamlPath]);
        assert.equal(set.code, 0, set.stderr);
        const pods: [string, Uint8Array][] = [
          [web, ws.deployment.pods.web!.digest],
          [db, ws.deployment.pods.db!.digest],
        ];
        for (const [dir, digest] of pods) {
          const r = await runInitializerProcess(ws, coordinator, digest, dir);
          assert.equal(r.code, 0, r.stderr);
          assert.match(
            await Deno.readTextFile(`${dir}/secrets/workload-secret-seed`),
            /^[0-9a-f]{64}$/,
          );
        }
      });

      await t.step(
        "web encrypts and decrypts through node-vault (single, batch, AAD)",
        async () => {
          const vault = await vaultFor(web, coordinator.transitAddress);
          const enc = await vault.encryptData({ name: "web-secret", plaintext: btoa("card 4242") });
          ciphertext = enc.data.ciphertext;
          assert.match(ciphertext, /^vault:v1:/);
          const dec = await vault.decryptData({ name: "web-secret", ciphertext });
          assert.equal(atob(dec.data.plaintext), "card 4242");
          const many = await vault.write("transit/encrypt/web-secret:rows", {
            batch_input: [
              { plaintext: btoa("row 1"), associated_data: btoa("orders"), reference: "1" },
              { plaintext: btoa("row 2"), associated_data: btoa("orders"), reference: "2" },
            ],
          });
          batch = many.data.batch_results;
          const back = await vault.write("transit/decrypt/web-secret:rows", {
            batch_input: batch.map((r) => ({
              ciphertext: r.ciphertext,
              associated_data: btoa("orders"),
            })),
          });
          assert.deepEqual(
            back.data.batch_results.map((r: { plaintext: string }) => atob(r.plaintext)),
            [
              "row 1",
              "row 2",
            ],
          );
          const key = await vault.transitReadKey({ name: "web-secret" });
          assert.equal(key.data.latest_version, 1);
        },
      );

      await t.step("db cannot use web's keys: 403 with the reason", async () => {
        const vault = await vaultFor(db, coordinator.transitAddress);
        await assert.rejects(
          vault.decryptData({ name: "web-secret", ciphertext }),
          (e: Error & { response?: { statusCode: number } }) => {
            assert.equal(e.response?.statusCode, 403);
            assert.match(
              e.message,
              /permission denied: key "web-secret" does not belong to WorkloadSecretID "db-secret"/,
            );
            return true;
          },
        );
        const own = await vault.encryptData({ name: "db-secret", plaintext: btoa("x") });
        assert.match(own.data.ciphertext, /^vault:v1:/);
      });

      await t.step("after SIGKILL, restart and recover the same ciphertexts decrypt", async () => {
        await coordinator.stop("SIGKILL");
        coordinator = await startCoordinator(ws);
        const r = await runCli(ws, ["recover", "-c", coordinator.userAddress]);
        assert.equal(r.code, 0, r.stderr);
        const again = `${ws.dir}/pod-web-2`;
        const init = await runInitializerProcess(
          ws,
          coordinator,
          ws.deployment.pods.web!.digest,
          again,
        );
        assert.equal(init.code, 0, init.stderr);
        const vault = await vaultFor(again, coordinator.transitAddress);
        const dec = await vault.decryptData({ name: "web-secret", ciphertext });
        assert.equal(atob(dec.data.plaintext), "card 4242");
        const rows = await vault.write("transit/decrypt/web-secret:rows", {
          batch_input: batch.map((r) => ({
            ciphertext: r.ciphertext,
            associated_data: btoa("orders"),
          })),
        });
        assert.equal(atob(rows.data.batch_results[1].plaintext), "row 2");
      });

      await t.step("a manifest update removing db: its keys are no longer served", async () => {
        await writeManifest(ws, false);
        const yaml = (await Deno.readTextFile(ws.yamlPath)).split("---\n")
          .filter((doc) => !/name: db\n/.test(doc)).join("---\n");
        await Deno.writeTextFile(`${ws.dir}/without-db.yml`, yaml);
        const set = await runCli(ws, ["set", "-c", coordinator.userAddress, "without-db.yml"]);
        assert.equal(set.code, 0, set.stderr);
        const dbAgain = await runInitializerProcess(
          ws,
          coordinator,
          ws.deployment.pods.db!.digest,
          `${ws.dir}/pod-db-2`,
          2,
        );
        assert.equal(dbAgain.code, 1, "db is no longer admitted");
        const oldCa = await vaultFor(db, coordinator.transitAddress);
        await assert.rejects(
          oldCa.encryptData({ name: "db-secret", plaintext: "" }),
          /unable to verify/,
          "the transit server now presents a certificate of the new mesh CA",
        );
        const vault = await vaultFor(db, coordinator.transitAddress, `${ws.dir}/mesh-ca.pem`);
        await assert.rejects(
          vault.encryptData({ name: "db-secret", plaintext: "" }),
          /permission denied: the client certificate is not a mesh certificate of the current/,
        );
        const web3 = `${ws.dir}/pod-web-3`;
        const init = await runInitializerProcess(
          ws,
          coordinator,
          ws.deployment.pods.web!.digest,
          web3,
        );
        assert.equal(init.code, 0, init.stderr);
        const webVault = await vaultFor(web3, coordinator.transitAddress);
        const dec = await webVault.decryptData({ name: "web-secret", ciphertext });
        assert.equal(atob(dec.data.plaintext), "card 4242", "v1 still decrypts after rotation");
        const enc = await webVault.encryptData({ name: "web-secret", plaintext: "" });
        assert.match(enc.data.ciphertext, /^vault:v2:/, "the update rotated the key");
      });
      const logs = coordinator.logs.join("\n");
      assert.doesNotMatch(logs, new RegExp(btoa("card 4242")));
    } finally {
      await coordinator.stop();
      await ws.cleanup();
    }
  },
});
