/**
 * `contrast recover` against a history the infrastructure planted: the owner's own signed
 * manifest replayed, the latest record signed with a seed the infrastructure chose, and a
 * seed-share document that encrypts that seed to the owner's (public) seedshare key. A recovery
 * from that document would hand the genuine Coordinator a seed the infrastructure knows (and with
 * it the root and mesh CA keys and every workload secret); `recover` must refuse before it sends
 * anything.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { decodeHex } from "../../util/bytes/mod.ts";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { SeedEngine } from "../../seed/seed_engine.ts";
import { createSeedShares, encodeSeedShares } from "../../seed/seed_shares.ts";
import { ManifestHistory } from "../../coordinator/history/manifest_history.ts";
import { GENESIS_TRANSITION } from "../../manifest/hash.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { CertificateAuthority } from "../../coordinator/ca/certificate_authority.ts";
import { coordinatorWorkspaceTest, workspaceCommand } from "./coordinator_workspace.ts";

coordinatorWorkspaceTest(
  "contrast recover: refuses a seed-share document the infrastructure planted with a history of its own seed",
  async (t, ws, c) => {
    const d = ws.deployment;
    const genuine = await c.setFirstManifest();
    // The infrastructure wipes the store and plants the owner's replayed manifest with its seed.
    const planted = SeedEngine.create();
    const manifestBytes = d.manifest();
    c.backend.clear();
    const historyKey = await planted.historySigningKey();
    const shares = await createSeedShares(
      planted,
      parseManifest(manifestBytes).SeedshareOwnerPubKeys,
    );
    const entry = await ManifestHistory.open(c.backend, historyKey.publicKey).append({
      manifestBytes,
      policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc],
      expectedPrevious: GENESIS_TRANSITION,
      ownerSignature: decodeHex(await d.ownerSignature(manifestBytes)),
      seedShares: () => Promise.resolve(new TextEncoder().encode(encodeSeedShares(shares))),
    }, historyKey.privateKey);
    const plantedRoot = (await CertificateAuthority.forTransition(planted, entry.transitionHash))
      .rootPem;
    assert.notEqual(plantedRoot, genuine.rootCa);
    await c.restart();
    assert.equal(c.coordinator.phase, "recovery");
    const args = workspaceCommand(
      "recover",
      ws,
      c,
      "--seedshare-owner-key",
      `${ws.dir}/seedshare-owner.pem`,
      "--seed",
      `${ws.dir}/missing-seed-shares.json`,
    );

    await t.step("with the genuine root CA in the workspace: exit 1, nothing sent", async () => {
      await Deno.writeTextFile(`${ws.dir}/coordinator-root-ca.pem`, genuine.rootCa);
      const r = await runCliCaptured(...args);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /coordinator-root-ca\.pem/);
      assert.equal(c.coordinator.phase, "recovery", "the planted seed reached the Coordinator");
    });

    await t.step("without a root CA in the workspace: exit 1, nothing sent", async () => {
      await Deno.remove(`${ws.dir}/coordinator-root-ca.pem`);
      const r = await runCliCaptured(...args);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /--trust-seed-shares/);
      assert.equal(c.coordinator.phase, "recovery", "the planted seed reached the Coordinator");
    });

    await t.step("a local seed-share document that is not the workspace's: exit 1", async () => {
      await Deno.writeTextFile(`${ws.dir}/coordinator-root-ca.pem`, genuine.rootCa);
      await Deno.writeTextFile(`${ws.dir}/planted-shares.json`, encodeSeedShares(shares));
      const r = await runCliCaptured(
        ...args.slice(0, -1),
        `${ws.dir}/planted-shares.json`,
      );
      assert.equal(r.code, 1, r.stderr);
      assert.equal(c.coordinator.phase, "recovery", "the planted seed reached the Coordinator");
    });

    await t.step(
      "the planted document as the workspace's seed-shares.json, no root CA: exit 1",
      async () => {
        // What a retried set writes after a first set whose answer was lost.
        await Deno.remove(`${ws.dir}/coordinator-root-ca.pem`);
        const r = await runCliCaptured(
          ...args.slice(0, -1),
          `${ws.dir}/planted-shares.json`,
        );
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /--trust-seed-shares/);
        assert.equal(c.coordinator.phase, "recovery", "the planted seed reached the Coordinator");
      },
    );

    await t.step(
      "the explicit opt-in still recovers (the owner accepts the risk; root CA then reported)",
      async () => {
        const r = await runCliCaptured(...args, "--trust-seed-shares");
        assert.equal(r.code, 0, r.stderr);
        assert.equal(c.coordinator.phase, "active");
        const state = await c.coordinator.attest({ nonce: new Uint8Array(32) });
        // What the opt-in risks: the Coordinator now runs on the planted seed.
        assert.equal(state.rootCa, plantedRoot);
      },
    );
  },
);
