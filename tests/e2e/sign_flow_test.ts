/**
 * End to end with separate processes, for a workload owner whose key never meets contrast: a
 * Coordinator process, `contrast sign --prepare`, `openssl dgst -sign` (ASN.1 DER, as an HSM or
 * OpenSSL produce it) and `contrast set --signature`, for the first manifest and for updates; a
 * stranger's signature changes nothing; and a manifest that names its owner only by digest
 * (`WorkloadOwnerKeyDigests`, older Contrast releases) is updated by that owner's signature alone.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { importWorkloadOwnerKey } from "../../protocol/signatures.ts";
import { workloadOwnerKeyDigest } from "../../manifest/workload_owners.ts";
import { createWorkspace, runCli, startCoordinator, type Workspace } from "./harness.ts";

async function openssl(cwd: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

/** `sign --prepare` for `manifest`, `openssl dgst -sha384 -sign key`, `set --signature`. */
async function signAndSet(
  ws: Workspace,
  address: string,
  manifest: string,
  key: string,
): Promise<{ code: number; stderr: string }> {
  const prepared = await runCli(ws, ["sign", "--prepare", "-c", address, "-m", manifest]);
  assert.equal(prepared.code, 0, prepared.stderr);
  await openssl(
    ws.dir,
    "dgst",
    "-sha384",
    "-sign",
    key,
    "-out",
    "update.sig",
    "update-transition.bin",
  );
  const der = await Deno.readFile(`${ws.dir}/update.sig`);
  assert.equal(der[0], 0x30, "openssl wrote an ASN.1 DER SEQUENCE");
  return await runCli(ws, [
    "set",
    "-c",
    address,
    "-m",
    manifest,
    "--signature",
    "update.sig",
    ws.yamlPath,
  ]);
}

Deno.test({
  name: "sign --prepare, openssl and set --signature against a Coordinator process",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const ws = await createWorkspace();
    const coordinator = await startCoordinator(ws);
    const address = coordinator.userAddress;
    const withSan = (san: string, edit?: (m: Record<string, unknown>) => void) =>
      ws.deployment.manifest((m) => {
        const web = (m.Policies as Record<string, { SANs: string[] }>)[
          encodeHex(ws.deployment.pods.web.digest)
        ]!;
        web.SANs.push(san);
        edit?.(m);
      });
    const verify = (manifest: string) => runCli(ws, ["verify", "-c", address, "-m", manifest]);
    try {
      await t.step("the first manifest, signed by openssl with a key it lists", async () => {
        const r = await signAndSet(ws, address, "manifest.json", "workload-owner.pem");
        assert.equal(r.code, 0, r.stderr);
      });

      await t.step("an update signed by openssl with the owner's key", async () => {
        await Deno.writeFile(`${ws.dir}/update1.json`, withSan("one.example"));
        const r = await signAndSet(ws, address, "update1.json", "workload-owner.pem");
        assert.equal(r.code, 0, r.stderr);
      });

      await t.step("a stranger's openssl signature is refused and changes nothing", async () => {
        await openssl(
          ws.dir,
          "genpkey",
          "-algorithm",
          "EC",
          "-pkeyopt",
          "ec_paramgen_curve:P-384",
          "-out",
          "stranger.pem",
        );
        await Deno.writeFile(`${ws.dir}/update2.json`, withSan("two.example"));
        const r = await signAndSet(ws, address, "update2.json", "stranger.pem");
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /not a signature over the prepared transition by a workload owner/);
        const v = await verify("update1.json");
        assert.equal(v.code, 0, `still the owner's manifest: ${v.stderr}`);
      });

      await t.step(
        "an owner named only by digest (older Contrast manifests) keeps updating",
        async () => {
          const owner = await importWorkloadOwnerKey(ws.deployment.workloadOwner.pem);
          const digest = await workloadOwnerKeyDigest(owner.publicKeyDer);
          assert.equal(digest, encodeHex(await sha256(owner.publicKeyDer)));
          const byDigest = (san: string) =>
            withSan(san, (m) => {
              m.WorkloadOwnerPubKeys = null;
              m.WorkloadOwnerKeyDigests = [digest];
            });
          await Deno.writeFile(`${ws.dir}/update3.json`, byDigest("three.example"));
          let r = await signAndSet(ws, address, "update3.json", "workload-owner.pem");
          assert.equal(r.code, 0, r.stderr);
          await Deno.writeFile(`${ws.dir}/update4.json`, byDigest("four.example"));
          r = await signAndSet(ws, address, "update4.json", "stranger.pem");
          assert.equal(r.code, 1, "a stranger is no owner by digest either");
          r = await signAndSet(ws, address, "update4.json", "workload-owner.pem");
          assert.equal(r.code, 0, r.stderr);
          const v = await verify("update4.json");
          assert.equal(v.code, 0, v.stderr);
        },
      );
    } finally {
      await coordinator.stop();
      await ws.cleanup();
    }
  },
});
