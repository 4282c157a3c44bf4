/**
 * End to end with separate processes: the infrastructure owns the Coordinator's storage and can
 * delete it. Deleting `transitions/latest` must not give a Coordinator that starts fresh, and
 * wiping everything must not let anyone but a workload owner install a first manifest that
 * genuine pods accept (issue 11, item 1).
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { encodeHex, encodePem } from "../../util/bytes/mod.ts";
import { GENESIS_TRANSITION, manifestHash, transitionHash } from "../../manifest/hash.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { ManifestVerifiers } from "../../manifest/verifiers.ts";
import { attestCoordinator, sendManifest } from "../../atls/coordinator_client.ts";
import {
  importWorkloadOwnerKey,
  signManifestUpdate,
  verifyManifestUpdateSignature,
} from "../../protocol/signatures.ts";
import { createWorkspace, runCli, runInitializerProcess, startCoordinator } from "./harness.ts";
import { listTree } from "../helpers/list_tree.ts";
import { moveEarlierDeploymentAside } from "../helpers/start_over.ts";

/** A P-384 key the attacker owns, as a workload owner key file and its public hex. */
async function attackerKey(): Promise<{ pem: string; publicHex: string }> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
    "sign",
    "verify",
  ]);
  return {
    pem: encodePem(
      "PRIVATE KEY",
      new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey)),
    ),
    publicHex: encodeHex(new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey))),
  };
}

Deno.test({
  name:
    "the infrastructure cannot reset a deployment: lost latest refused, a stranger's first manifest refused by pods",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const ws = await createWorkspace();
    const d = ws.deployment;
    const history = `${ws.dir}/history`;
    let coordinator = await startCoordinator(ws);
    const web = d.pods.web.digest;
    try {
      const set = await runCli(ws, ["set", "-c", coordinator.userAddress, ws.yamlPath]);
      assert.equal(set.code, 0, set.stderr);
      const genuine = await runInitializerProcess(ws, coordinator, web, `${ws.dir}/pod-genuine`);
      assert.equal(genuine.code, 0, genuine.stderr);
      await coordinator.stop();

      await t.step(
        "a Coordinator refuses to start fresh over a history whose latest was deleted",
        async () => {
          // A second manifest, so the store holds more than one interrupted first set could leave.
          coordinator = await startCoordinator(ws);
          assert.equal((await runCli(ws, ["recover", "-c", coordinator.userAddress])).code, 0);
          const v2 = d.manifest((m) => {
            (m.Policies as Record<string, { SANs: string[] }>)[encodeHex(d.pods.db.digest)]!.SANs
              .push("db2");
          });
          await Deno.writeFile(`${ws.dir}/manifest.json`, v2);
          const update = await runCli(ws, ["set", "-c", coordinator.userAddress, ws.yamlPath]);
          assert.equal(update.code, 0, update.stderr);
          await coordinator.stop();
          await Deno.remove(`${history}/transitions/latest`);
          const before = await listTree(history);
          await assert.rejects(
            startCoordinator(ws),
            (e: unknown) =>
              e instanceof Error && /transitions\/latest/.test(e.message) &&
              /refusing to start fresh/.test(e.message),
          );
          assert.deepEqual(await listTree(history), before, "nothing stored was changed");
        },
      );

      await t.step(
        "after a full wipe, pods refuse a first manifest no pinned owner key signed",
        async () => {
          await Deno.remove(history, { recursive: true });
          coordinator = await startCoordinator(ws);
          // The attacker's manifest: the genuine policies, reference values and workload secret
          // IDs, but its own owner key (which it signs with, as the Coordinator requires).
          const attacker = await attackerKey();
          const evil = d.manifest((m) => {
            m.WorkloadOwnerPubKeys = [attacker.publicHex];
          });
          const verifiers = new ManifestVerifiers();
          const attested = await attestCoordinator(
            coordinator.userAddress,
            parseManifest(evil),
            (m, e, o) => verifiers.verify(m, e, o),
          );
          await sendManifest(attested.client, {
            manifest: evil,
            policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc],
            previousTransition: GENESIS_TRANSITION,
            signature: await signManifestUpdate(
              await importWorkloadOwnerKey(attacker.pem),
              await transitionHash(await manifestHash(evil), GENESIS_TRANSITION),
            ),
          });
          const pod = `${ws.dir}/pod-after-reset`;
          const refused = await runInitializerProcess(ws, coordinator, web, pod, 3);
          assert.equal(refused.code, 1, refused.stderr);
          assert.match(refused.stderr, /WorkloadOwnerPubKeys/);
          assert.match(refused.stderr, /signed by a workload owner key this pod pins/);
          assert.deepEqual(await listTree(pod), [], "no files written");
          await coordinator.stop();
        },
      );

      await t.step("an owner-signed first manifest after a wipe is accepted again", async () => {
        await Deno.remove(history, { recursive: true });
        coordinator = await startCoordinator(ws);
        await Deno.writeFile(`${ws.dir}/manifest.json`, d.manifest());
        // The owner starts over deliberately: set refuses while the old deployment's files stay.
        await moveEarlierDeploymentAside(ws.dir);
        const set = await runCli(ws, ["set", "-c", coordinator.userAddress, ws.yamlPath]);
        assert.equal(set.code, 0, set.stderr);
        const pod = await runInitializerProcess(ws, coordinator, web, `${ws.dir}/pod-owner`);
        assert.equal(pod.code, 0, pod.stderr);
        // The signature the pod checked is the one stored with the history.
        const first = await transitionHash(await manifestHash(d.manifest()), GENESIS_TRANSITION);
        const stored = await Deno.readFile(`${history}/signatures/${encodeHex(first)}`);
        assert.equal(
          await verifyManifestUpdateSignature([d.workloadOwner.publicHex], first, stored),
          0,
        );
      });
    } finally {
      await coordinator.stop();
      await ws.cleanup();
    }
  },
});
