/**
 * `contrast recover` against a Coordinator whose policy the history's latest manifest no longer
 * lists as a coordinator policy (an update retired it, say an old, vulnerable version the host
 * keeps running), while the workspace's older manifest still lists it: the seed must not be sent
 * (an old version would not refuse it itself).
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { decodeHex, encodeBase64, encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { parseManifestRequest } from "../../protocol/messages.ts";
import { encodeSeedShares, type SeedShareDocument } from "../../seed/seed_shares.ts";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { initdata, withCoordinatorPolicy } from "../coordinator/fixture.ts";
import { sharedParts, startOn } from "../coordinator/replica_fixture.ts";
import { coordinatorWorkspaceTest, workspaceCommand } from "./coordinator_workspace.ts";

coordinatorWorkspaceTest(
  "contrast recover: refuses a Coordinator whose policy the latest manifest retired",
  async (_t, ws, c) => {
    const d = ws.deployment;
    // The first manifest lists two coordinator policies: the one this Coordinator runs and a
    // newer version's.
    const newerDoc = initdata("coordinator, a newer version");
    const newer = await sha256(newerDoc);
    const both = d.manifest(withCoordinatorPolicy(newer));
    const docs = [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc];
    const first = await c.coordinator.setManifest(parseManifestRequest({
      manifest: encodeBase64(both),
      policies: [...docs, newerDoc].map(encodeBase64),
      previous_transition: "00".repeat(32),
      signature: await d.ownerSignature(both),
    }));
    await Deno.writeFile(`${ws.dir}/manifest.json`, both);
    await Deno.writeTextFile(`${ws.dir}/coordinator-root-ca.pem`, first.rootCa);
    await Deno.writeTextFile(
      `${ws.dir}/seed-shares.json`,
      encodeSeedShares(first.seedShares as SeedShareDocument),
    );
    // The newer version's replica recovers from it, and the owner retires the older policy there.
    const replica = await startOn(d, c.backend, newer, sharedParts("recover-retired"));
    await replica.recoverFromPeer(c.meshAddress);
    const withoutOld = d.manifest((m) => {
      const policies = m.Policies as Record<string, unknown>;
      policies[encodeHex(newer)] = policies[encodeHex(d.coordinator.digest)];
      delete policies[encodeHex(d.coordinator.digest)];
    });
    await replica.setManifest(parseManifestRequest({
      manifest: encodeBase64(withoutOld),
      policies: [newerDoc, d.pods.web.doc, d.pods.db.doc].map(encodeBase64),
      previous_transition: first.transition,
      signature: await d.ownerSignature(withoutOld, decodeHex(first.transition)),
    }));
    await replica.close();

    // The host restarts the older version; the owner's workspace still holds the first manifest.
    await c.restart();
    assert.equal(c.coordinator.phase, "recovery");
    let sent = 0;
    const recover = c.coordinator.recover.bind(c.coordinator);
    c.coordinator.recover = (request) => {
      sent++;
      return recover(request);
    };
    const r = await runCliCaptured(...workspaceCommand("recover", ws, c));
    assert.equal(sent, 0, `the seed was sent to the retired Coordinator (exit ${r.code})`);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /hostData: .*does not list as a coordinator policy/);
  },
);
