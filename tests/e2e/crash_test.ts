import "reflect-metadata";
import assert from "node:assert/strict";
import { constantTimeEqual, encodeHex } from "../../util/bytes/mod.ts";
import { manifestHash, transitionHash } from "../../manifest/hash.ts";
import { attestCoordinator, sendManifest } from "../../atls/coordinator_client.ts";
import { importWorkloadOwnerKey, signManifestUpdate } from "../../protocol/signatures.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { type ManifestEvidenceVerifier, ManifestVerifiers } from "../../manifest/verifiers.ts";
import { createWorkspace, runCli, startCoordinator } from "./harness.ts";

Deno.test({
  name: "a Coordinator killed with SIGKILL mid-update recovers to a consistent state",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const ws = await createWorkspace();
    const d = ws.deployment;
    let coordinator = await startCoordinator(ws);
    const verifiers = new ManifestVerifiers();
    const verify: ManifestEvidenceVerifier = (m, e, o) => verifiers.verify(m, e, o);
    const owner = await importWorkloadOwnerKey(d.workloadOwner.pem);
    const policies = [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc];
    try {
      const set = await runCli(ws, ["set", "-c", coordinator.userAddress, ws.yamlPath]);
      assert.equal(set.code, 0, set.stderr);
      const root = await Deno.readTextFile(`${ws.dir}/coordinator-root-ca.pem`);
      let current = d.manifest();
      for (let round = 0; round < 4; round++) {
        const next = d.manifest((m) => {
          (m.Policies as Record<string, { SANs: string[] }>)[encodeHex(d.pods.db.digest)]!.SANs
            .push(`round-${round}`);
        });
        const a = await attestCoordinator(
          coordinator.userAddress,
          parseManifest(current),
          verify,
        );
        const previous = a.state.latestTransition!;
        const signature = await signManifestUpdate(
          owner,
          await transitionHash(await manifestHash(next), previous),
        );
        const update = sendManifest(a.client, {
          manifest: next,
          policies,
          previousTransition: previous,
          signature,
        }).then(() => true, () => false);
        await new Promise((r) => setTimeout(r, round * 60));
        await coordinator.stop("SIGKILL");
        const acknowledged = await update;

        coordinator = await startCoordinator(ws);
        await Deno.writeFile(`${ws.dir}/manifest.json`, current);
        // Recover with whichever manifest is attested; both carry the same coordinator policy.
        const recovered = await runCli(ws, ["recover", "-c", coordinator.userAddress]);
        assert.equal(recovered.code, 0, recovered.stderr);
        const after = await attestCoordinator(
          coordinator.userAddress,
          parseManifest(current),
          verify,
        );
        assert.equal(after.state.rootCa, root, "the root CA survives");
        const active = after.state.manifests.at(-1)!;
        const committed = constantTimeEqual(active, next);
        assert.ok(committed || constantTimeEqual(active, current), "old or new, nothing else");
        if (acknowledged) assert.ok(committed, "an acknowledged update is durable");
        current = committed ? next : current;
        await Deno.writeFile(`${ws.dir}/manifest.json`, current);
        const v = await runCli(ws, ["verify", "-c", coordinator.userAddress, "--json"]);
        assert.equal(v.code, 0, v.stderr);
      }
    } finally {
      await coordinator.stop();
      await ws.cleanup();
    }
  },
});
