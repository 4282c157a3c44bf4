import "reflect-metadata";
import assert from "node:assert/strict";
import { encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { initdata } from "../coordinator/fixture.ts";
import { createWorkspace, runCli, runInitializerProcess, startCoordinator } from "./harness.ts";

Deno.test({
  name:
    "set, attest pods, verify, refuse tampering and unauthorised updates, recover after restart",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const ws = await createWorkspace();
    let coordinator = await startCoordinator(ws);
    try {
      await t.step("set attests the Coordinator and writes CAs and seed shares", async () => {
        const r = await runCli(ws, ["set", "-c", coordinator.userAddress, ws.yamlPath]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /Manifest set/);
        for (const f of ["coordinator-root-ca.pem", "mesh-ca.pem", "seed-shares.json"]) {
          assert.ok((await Deno.stat(`${ws.dir}/${f}`)).isFile, f);
        }
      });

      await t.step(
        "an initializer gets certificates, key 0400, and its workload secret",
        async () => {
          const out = `${ws.dir}/pod-web`;
          const r = await runInitializerProcess(
            ws,
            coordinator,
            ws.deployment.pods.web.digest,
            out,
          );
          assert.equal(r.code, 0, r.stderr);
          assert.match(r.stderr, /Coordinator attested; this pod attested; credentials written/);
          assert.match(r.stderr, new RegExp(encodeHex(ws.deployment.coordinator.digest)));
          for (const f of ["mesh-ca.pem", "coordinator-root-ca.pem", "certChain.pem", "key.pem"]) {
            assert.ok((await Deno.stat(`${out}/tls-config/${f}`)).isFile, f);
          }
          assert.equal((await Deno.stat(`${out}/tls-config/key.pem`)).mode! & 0o777, 0o400);
          const secret = await Deno.readTextFile(`${out}/secrets/workload-secret-seed`);
          assert.match(secret, /^[0-9a-f]{64}$/);
          assert.equal(
            await Deno.readTextFile(`${out}/tls-config/coordinator-root-ca.pem`),
            await Deno.readTextFile(`${ws.dir}/coordinator-root-ca.pem`),
          );
          assert.doesNotMatch(r.stderr, new RegExp(secret));
        },
      );

      await t.step("a pod whose policy has no WorkloadSecretID gets no secret", async () => {
        const out = `${ws.dir}/pod-db`;
        const r = await runInitializerProcess(ws, coordinator, ws.deployment.pods.db.digest, out);
        assert.equal(r.code, 0, r.stderr);
        await assert.rejects(
          Deno.stat(`${out}/secrets/workload-secret-seed`),
          Deno.errors.NotFound,
        );
      });

      await t.step("a pod with a tampered policy is refused", async () => {
        const tampered = await sha256(initdata("web, tampered"));
        const r = await runInitializerProcess(ws, coordinator, tampered, `${ws.dir}/pod-x`, 2);
        assert.equal(r.code, 1);
        assert.match(
          r.stderr,
          /hostData: coordinator answered 403: the evidence's policy digest is not a policy/,
        );
      });

      await t.step("verify writes verify/ and passes for the active manifest", async () => {
        const r = await runCli(ws, ["verify", "-c", coordinator.userAddress, "--json"]);
        assert.equal(r.code, 0, r.stderr);
        const document = JSON.parse(r.stdout);
        assert.equal(document.schema, "contrast-result/v1");
        assert.equal(document.ok, true);
        const summary = document.result;
        assert.equal(summary.ok, true);
        assert.equal(summary.coordinatorPolicy, encodeHex(ws.deployment.coordinator.digest));
        assert.ok((await Deno.stat(`${ws.dir}/verify/manifest.0.json`)).isFile);
        assert.ok(
          (await Deno.stat(
            `${ws.dir}/verify/policy.${encodeHex(ws.deployment.pods.web.digest)}.toml`,
          ))
            .isFile,
        );
        assert.match(
          await Deno.readTextFile(`${ws.dir}/verify/latest-transition`),
          /^[0-9a-f]{64}\n$/,
        );
      });

      await t.step("verify detects a manifest differing by one byte", async () => {
        const bytes = await Deno.readFile(`${ws.dir}/manifest.json`);
        const changed = bytes.slice();
        changed[changed.indexOf(0x20)] = 0x09; // one indentation space becomes a tab: same JSON
        await Deno.writeFile(`${ws.dir}/other.json`, changed);
        const r = await runCli(ws, ["verify", "-c", coordinator.userAddress, "-m", "other.json"]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /active manifest differs from other\.json/);
      });

      await t.step("an update signed by a key not in the manifest is refused", async () => {
        const other = await crypto.subtle.generateKey(
          { name: "ECDSA", namedCurve: "P-384" },
          true,
          ["sign"],
        ) as CryptoKeyPair;
        const { encodePem } = await import("../../util/bytes/mod.ts");
        const pem = encodePem(
          "PRIVATE KEY",
          new Uint8Array(await crypto.subtle.exportKey("pkcs8", other.privateKey)),
        );
        await Deno.writeTextFile(`${ws.dir}/intruder.pem`, pem);
        await Deno.writeFile(
          `${ws.dir}/manifest.json`,
          ws.deployment.manifest((m) => {
            (m.Policies as Record<string, { SANs: string[] }>)[
              encodeHex(ws.deployment.pods.db.digest)
            ]!.SANs.push("db.internal");
          }),
        );
        const r = await runCli(ws, [
          "set",
          "-c",
          coordinator.userAddress,
          "--workload-owner-key",
          "intruder.pem",
          ws.yamlPath,
        ]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /401.*not a signature over the transition by a workload owner/);
      });

      await t.step("the workload owner's update is accepted and rotates the mesh CA", async () => {
        const before = await Deno.readTextFile(`${ws.dir}/mesh-ca.pem`);
        const rootBefore = await Deno.readTextFile(`${ws.dir}/coordinator-root-ca.pem`);
        const r = await runCli(ws, ["set", "-c", coordinator.userAddress, ws.yamlPath]);
        assert.equal(r.code, 0, r.stderr);
        assert.notEqual(await Deno.readTextFile(`${ws.dir}/mesh-ca.pem`), before);
        assert.equal(await Deno.readTextFile(`${ws.dir}/coordinator-root-ca.pem`), rootBefore);
        const v = await runCli(ws, ["verify", "-c", coordinator.userAddress, "--json"]);
        assert.equal(v.code, 0, v.stderr);
        assert.equal(JSON.parse(v.stdout).result.manifests, 2);
      });

      await t.step(
        "after SIGKILL the Coordinator waits for recovery; recover restores the root CA",
        async () => {
          const status = await coordinator.stop("SIGKILL");
          assert.equal(status.success, false);
          coordinator = await startCoordinator(ws);
          const probe = await fetch(`http://127.0.0.1:${coordinator.probePort}/probe/readiness`);
          assert.equal(probe.status, 412);
          await probe.body?.cancel();
          const refused = await runInitializerProcess(
            ws,
            coordinator,
            ws.deployment.pods.db.digest,
            `${ws.dir}/pod-early`,
            1,
          );
          assert.equal(refused.code, 1);
          assert.match(refused.stderr, /the attested Coordinator is waiting for recovery/);
          const verify = await runCli(ws, ["verify", "-c", coordinator.userAddress]);
          assert.equal(verify.code, 3);
          const r = await runCli(ws, ["recover", "-c", coordinator.userAddress]);
          assert.equal(r.code, 0, r.stderr);
          assert.match(r.stdout, /root CA unchanged/);
          const v = await runCli(ws, ["verify", "-c", coordinator.userAddress, "--json"]);
          assert.equal(v.code, 0, v.stderr);
          assert.equal(JSON.parse(v.stdout).result.manifests, 2);
          const pod = await runInitializerProcess(
            ws,
            coordinator,
            ws.deployment.pods.web.digest,
            `${ws.dir}/pod-web-2`,
          );
          assert.equal(pod.code, 0, pod.stderr);
          assert.equal(
            await Deno.readTextFile(`${ws.dir}/pod-web-2/secrets/workload-secret-seed`),
            await Deno.readTextFile(`${ws.dir}/pod-web/secrets/workload-secret-seed`),
            "the workload secret survives restart and recovery",
          );
        },
      );
    } finally {
      await coordinator.stop();
      await ws.cleanup();
    }
  },
});
