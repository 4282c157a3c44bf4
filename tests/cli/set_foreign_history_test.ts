/**
 * `contrast set` against a Coordinator whose history the infrastructure replaced: after wiping the
 * store it sets a first manifest of its own that lists the owner's public key as a workload owner.
 * The owner's next `set` must not sign on top of that history: pods accept a history as soon as one
 * link is signed by a key they pin, and a signature over a transition vouches for every manifest
 * before it.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import {
  decodeBase64,
  decodeHex,
  encodeBase64,
  encodeHex,
  encodePem,
  sha256,
} from "../../util/bytes/mod.ts";
import { GENESIS_TRANSITION, manifestHash, transitionHash } from "../../manifest/hash.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { workloadOwnersOf } from "../../manifest/workload_owners.ts";
import { verifyOwnerChain } from "../../protocol/owner_chain.ts";
import { parseManifestRequest } from "../../protocol/messages.ts";
import { importWorkloadOwnerKey, signManifestUpdate } from "../../protocol/signatures.ts";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { initdata } from "../coordinator/fixture.ts";
import { coordinatorWorkspaceTest } from "./coordinator_workspace.ts";

coordinatorWorkspaceTest(
  "contrast set: refuses to sign an update on top of a history the infrastructure started " +
    "after wiping the store",
  async (_t, ws, c) => {
    const d = ws.deployment;
    const set = (...extra: string[]) =>
      runCliCaptured("set", "-c", c.userAddress, "-w", ws.dir, ...extra, ws.yamlPath);
    const owner = await set();
    assert.equal(owner.code, 0, owner.stderr);

    // The infrastructure wipes the store and restarts the Coordinator (fresh seed on next set).
    c.backend.clear();
    await c.restart();
    assert.equal(c.coordinator.phase, "awaiting-manifest");
    // Its first manifest: its own workload policy gets the web pods' WorkloadSecretID, and the
    // owner's public key (public) is listed as a workload owner next to its own.
    const attacker = await crypto.subtle.generateKey(
      { name: "ECDSA", namedCurve: "P-384" },
      true,
      ["sign", "verify"],
    ) as CryptoKeyPair;
    const attackerPem = encodePem(
      "PRIVATE KEY",
      new Uint8Array(await crypto.subtle.exportKey("pkcs8", attacker.privateKey)),
    );
    const attackerHex = encodeHex(
      new Uint8Array(await crypto.subtle.exportKey("spki", attacker.publicKey)),
    );
    const evil = initdata("the infrastructure's own workload");
    const evilDigest = encodeHex(await sha256(evil));
    const foreign = d.manifest((m) => {
      (m.Policies as Record<string, unknown>)[evilDigest] = {
        SANs: ["web"],
        WorkloadSecretID: "web-secret",
        Role: "",
      };
      m.WorkloadOwnerPubKeys = [attackerHex, d.workloadOwner.publicHex];
    });
    const key = await importWorkloadOwnerKey(attackerPem);
    const signature = await signManifestUpdate(
      key,
      await transitionHash(await manifestHash(foreign), GENESIS_TRANSITION),
    );
    await c.coordinator.setManifest(parseManifestRequest({
      manifest: encodeBase64(foreign),
      policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc, evil].map(encodeBase64),
      previous_transition: "00".repeat(32),
      signature: encodeHex(signature),
    }));

    // The owner notices failing pods and runs set again.
    const again = await set();
    const state = await c.coordinator.attest({ nonce: new Uint8Array(32) });
    if (again.code === 0) {
      // What the pods now see: a chain with a link signed by the key they pin.
      const accepted = await verifyOwnerChain(
        state.manifests.map((m, i) => ({
          bytes: decodeBase64(m),
          signature: decodeHex(state.signatures[i]!),
        })),
        (bytes) => workloadOwnersOf(parseManifest(bytes)),
        [d.workloadOwner.publicHex],
      ).then(() => "accept", () => "refuse");
      assert.fail(
        `the owner signed an update on top of the infrastructure's history ` +
          `(${state.manifests.length} manifests); pods pinning the owner key ${accepted} it`,
      );
    }
    assert.equal(state.manifests.length, 1, "nothing was sent");
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /coordinator-root-ca\.pem: the Coordinator's root CA differs/);

    // A workspace without the root CA (a CI runner, a colleague's checkout): the history must
    // hold a transition signed by an owner of the local manifest, and this one holds none.
    await Deno.remove(`${ws.dir}/coordinator-root-ca.pem`);
    const fresh = await set();
    assert.equal(fresh.code, 1, fresh.stderr);
    assert.match(fresh.stderr, /WorkloadOwnerPubKeys: no manifest of the Coordinator's history/);
    const prepared = await runCliCaptured("sign", "--prepare", "-c", c.userAddress, "-w", ws.dir);
    assert.equal(prepared.code, 1, prepared.stderr);
    assert.equal((await c.coordinator.attest({ nonce: new Uint8Array(32) })).manifests.length, 1);
  },
);
