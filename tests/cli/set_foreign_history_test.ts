/**
 * `contrast set` on top of a history the owner never wrote. The infrastructure (which may wipe
 * the Coordinator's state and talk to its API) sets a first manifest of its own: signed by a key
 * of its own, listing the owner's key as a co-owner (public) and its own seedshare key beside the
 * owner's, so the seed shares the Coordinator makes are readable by the infrastructure. If the
 * owner's next `contrast set` signed its manifest as an update on top of that history, every pod
 * would accept the Coordinator (a transition signed by the pinned owner key) while the
 * infrastructure knows the seed: every workload secret and the CA keys. `set` (and
 * `sign --prepare`) must refuse to sign on top of a history that no local owner key signed.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { decodePem, encodeBase64, encodeHex, encodePem } from "../../util/bytes/mod.ts";
import { Certificate } from "../../x509/certificate.ts";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { GENESIS_TRANSITION, manifestHash, transitionHash } from "../../manifest/hash.ts";
import { importWorkloadOwnerKey, signManifestUpdate } from "../../protocol/signatures.ts";
import { parseManifestRequest } from "../../protocol/messages.ts";
import { generateRsaOaepKeys } from "../../testing/keys.ts";
import {
  decryptSeedShare,
  engineFromRecoveredSeed,
  parseSeedShares,
} from "../../seed/seed_shares.ts";
import { parseCoordinatorTrust } from "../../atls/coordinator_trust.ts";
import { attestCoordinator } from "../../atls/coordinator_client.ts";
import { ManifestVerifiers } from "../../manifest/verifiers.ts";
import { coordinatorWorkspaceTest, workspaceCommand } from "./coordinator_workspace.ts";

coordinatorWorkspaceTest(
  "contrast set: refuses to sign on top of a history that no local owner key signed",
  async (t, ws, c) => {
    const d = ws.deployment;
    // The infrastructure's own keys: a workload owner key and a seedshare key.
    const hostOwner = await crypto.subtle.generateKey(
      { name: "ECDSA", namedCurve: "P-384" },
      true,
      ["sign", "verify"],
    ) as CryptoKeyPair;
    const hostOwnerHex = encodeHex(
      new Uint8Array(await crypto.subtle.exportKey("spki", hostOwner.publicKey)),
    );
    const hostShare = await generateRsaOaepKeys();
    const hostShareSpki = new Uint8Array(
      await crypto.subtle.exportKey("spki", hostShare.publicKey),
    );
    const hostManifest = d.manifest((m) => {
      m.WorkloadOwnerPubKeys = [hostOwnerHex, d.workloadOwner.publicHex];
      // Its own seedshare key beside the owner's: an update keeps a key that holds a share
      // (admission refuses one that would leave the seed unrecoverable), so the owner's exact
      // manifest can follow it as an update.
      m.SeedshareOwnerPubKeys = [
        encodeHex(hostShareSpki),
        ...(m.SeedshareOwnerPubKeys as string[]),
      ];
    });
    const hostKey = await importWorkloadOwnerKey(
      encodePem(
        "PRIVATE KEY",
        new Uint8Array(await crypto.subtle.exportKey("pkcs8", hostOwner.privateKey)),
      ),
    );
    const first = await transitionHash(await manifestHash(hostManifest), GENESIS_TRANSITION);
    const answer = await c.coordinator.setManifest(parseManifestRequest({
      manifest: encodeBase64(hostManifest),
      policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc].map(encodeBase64),
      previous_transition: "00".repeat(32),
      signature: encodeHex(await signManifestUpdate(hostKey, first)),
    }));

    await t.step("the owner's set exits 1 and signs nothing", async () => {
      const r = await runCliCaptured(
        ...workspaceCommand("set", ws, c),
        "--workload-owner-key",
        `${ws.dir}/workload-owner.pem`,
        ws.yamlPath,
      );
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /WorkloadOwnerPubKeys/);
      const state = await c.coordinator.attest({ nonce: new Uint8Array(32) });
      assert.equal(state.manifests.length, 1, "the owner signed on top of the foreign history");
    });

    await t.step("sign --prepare exits 1 and writes nothing to sign", async () => {
      const r = await runCliCaptured(
        "sign",
        "--prepare",
        "-c",
        c.userAddress,
        "-m",
        `${ws.dir}/manifest.json`,
        "--out",
        `${ws.dir}/update-transition.bin`,
        "--prepared",
        `${ws.dir}/update-prepared.json`,
      );
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /WorkloadOwnerPubKeys/);
      await assert.rejects(Deno.stat(`${ws.dir}/update-transition.bin`));
    });

    await t.step(
      "verify exits 1 when the host set the owner's exact manifest with its own key",
      async () => {
        // The owner's manifest bytes, as an update the host signs (its H1 lists its key).
        const owned = d.manifest();
        const next = await transitionHash(await manifestHash(owned), first);
        await c.coordinator.setManifest(parseManifestRequest({
          manifest: encodeBase64(owned),
          policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc].map(encodeBase64),
          previous_transition: encodeHex(first),
          signature: encodeHex(await signManifestUpdate(hostKey, next)),
        }));
        const r = await runCliCaptured(
          ...workspaceCommand("verify", ws, c),
        );
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /WorkloadOwnerPubKeys/);
        assert.doesNotMatch(r.stdout, /Active manifest equals/);
      },
    );

    await t.step("had it signed, pods would accept a Coordinator whose seed the host knows", () => {
      // What the refusal prevents, shown on the state the host set up: the host reads the seed.
      return (async () => {
        const shares = parseSeedShares(
          new TextEncoder().encode(JSON.stringify(answer.seedShares)),
        );
        const seed = await decryptSeedShare(shares, hostShare.privateKey, hostShareSpki);
        const engine = engineFromRecoveredSeed(seed);
        const rootSpki = new Uint8Array(
          await crypto.subtle.exportKey("spki", (await engine.rootCaKey()).publicKey),
        );
        const state = await c.coordinator.attest({ nonce: new Uint8Array(32) });
        const attestedRoot = new Certificate(
          decodePem(state.rootCa, "CERTIFICATE")[0]!.der,
          "root",
        );
        assert.equal(encodeHex(attestedRoot.spki), encodeHex(rootSpki), "the host knows the seed");
        // The pod's own check alone does not stop it once an owner-signed link exists, which is
        // why the owner's CLI must not provide one: without it, pods refuse this history.
        const trust = parseCoordinatorTrust(d.coordinatorTrust());
        const verifiers = new ManifestVerifiers();
        await assert.rejects(
          attestCoordinator(c.userAddress, trust.manifest, (m, e, o) => verifiers.verify(m, e, o), {
            pinnedOwnerKeys: trust.workloadOwnerKeys,
          }),
          /WorkloadOwnerPubKeys|no manifest of the Coordinator's history/,
        );
      })();
    });
  },
);
