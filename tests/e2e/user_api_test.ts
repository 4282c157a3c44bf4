import "reflect-metadata";
import assert from "node:assert/strict";
import { concatBytes, decodeHex, encodeHex, encodePem } from "../../util/bytes/mod.ts";
import { GENESIS_TRANSITION, manifestHash, transitionHash } from "../../manifest/hash.ts";
import { sealedBoxToJson, sealTo } from "../../protocol/hpke.ts";
import {
  CoordinatorBadRequestError,
  CoordinatorRejectedError,
  CoordinatorUnavailableError,
} from "../../atls/pinned_client.ts";
import { attestCoordinator, sendManifest, sendRecover } from "../../atls/coordinator_client.ts";
import { RECOVERY_HPKE_INFO } from "../../protocol/messages.ts";
import {
  importSeedshareOwnerSigningKey,
  importWorkloadOwnerKey,
  recoveryMessage,
  signManifestUpdate,
  signRecovery,
} from "../../protocol/signatures.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { type ManifestEvidenceVerifier, ManifestVerifiers } from "../../manifest/verifiers.ts";
import { createWorkspace, startCoordinator } from "./harness.ts";

function rejected(status: number, reason: RegExp) {
  return (e: unknown) => {
    const s = (e as { status?: number }).status;
    assert.equal(s, status, String(e));
    assert.match((e as Error).message, reason);
    return true;
  };
}

Deno.test({
  name:
    "the user API: atomic signed updates (409 on stale or replayed), policies required, recovery checks",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const ws = await createWorkspace();
    const d = ws.deployment;
    let coordinator = await startCoordinator(ws);
    const verifiers = new ManifestVerifiers();
    const verify: ManifestEvidenceVerifier = (m, e, o) => verifiers.verify(m, e, o);
    const v1 = d.manifest();
    const v2 = d.manifest((m) => {
      (m.Policies as Record<string, { SANs: string[] }>)[encodeHex(d.pods.db.digest)]!.SANs.push(
        "db2",
      );
    });
    const allPolicies = [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc];
    const attest = (bytes: Uint8Array) =>
      attestCoordinator(coordinator.userAddress, parseManifest(bytes), verify);
    const owner = await importWorkloadOwnerKey(d.workloadOwner.pem);
    /** Attests the Coordinator, then sends `manifest` with every policy (unsigned by default). */
    const attestAndSend = async (
      manifest: Uint8Array,
      previousTransition: Uint8Array,
      changes: Partial<Parameters<typeof sendManifest>[1]> = {},
    ) => {
      const a = await attest(manifest);
      return sendManifest(a.client, {
        manifest,
        policies: allPolicies,
        previousTransition,
        signature: new Uint8Array(),
        ...changes,
      });
    };
    try {
      await t.step("refuses /mesh before any manifest with 412", async () => {
        const { PinnedHttpsClient } = await import("../../atls/pinned_client.ts");
        await assert.rejects(
          new PinnedHttpsClient(coordinator.meshAddress).request("POST", "/mesh/challenge", {}),
          (e: unknown) => e instanceof CoordinatorUnavailableError && e.status === 412,
        );
      });

      await t.step("refuses a manifest without the initdata of every policy (400)", async () => {
        await assert.rejects(
          attestAndSend(v1, GENESIS_TRANSITION, {
            policies: allPolicies.slice(0, 2),
            signature: decodeHex(await d.ownerSignature(v1)),
          }),
          (e: unknown) =>
            e instanceof CoordinatorBadRequestError && /missing the initdata/.test(e.message),
        );
      });

      await t.step("refuses an invalid manifest naming the JSON path (400)", async () => {
        const a = await attest(v1);
        const bad = new TextEncoder().encode(
          new TextDecoder().decode(v1).replace('"Role": "coordinator"', '"Role": "boss"'),
        );
        await assert.rejects(
          sendManifest(a.client, {
            manifest: bad,
            policies: allPolicies,
            previousTransition: GENESIS_TRANSITION,
            signature: new Uint8Array(),
          }),
          (e: unknown) => e instanceof CoordinatorBadRequestError && /Role/.test(e.message),
        );
      });

      await t.step("refuses an unsigned first manifest (401)", async () => {
        await assert.rejects(attestAndSend(v1, GENESIS_TRANSITION), rejected(401, /signature/));
      });

      await t.step("refuses a first manifest signed by a key it does not list (401)", async () => {
        const stranger = await crypto.subtle.generateKey(
          { name: "ECDSA", namedCurve: "P-384" },
          true,
          ["sign"],
        );
        const pem = encodePem(
          "PRIVATE KEY",
          new Uint8Array(await crypto.subtle.exportKey("pkcs8", stranger.privateKey)),
        );
        const signature = await signManifestUpdate(
          await importWorkloadOwnerKey(pem),
          await transitionHash(await manifestHash(v1), GENESIS_TRANSITION),
        );
        await assert.rejects(
          attestAndSend(v1, GENESIS_TRANSITION, { signature }),
          rejected(401, /not a signature over the transition/),
        );
      });

      let t1: Uint8Array = new Uint8Array();
      await t.step("sets the first manifest", async () => {
        const r = await attestAndSend(v1, GENESIS_TRANSITION, {
          signature: decodeHex(await d.ownerSignature(v1)),
        });
        t1 = await transitionHash(await manifestHash(v1), GENESIS_TRANSITION);
        assert.equal(r.transition, encodeHex(t1));
        assert.ok(r.seedShares);
      });

      await t.step("refuses a replay of the first set (409)", async () => {
        await assert.rejects(
          attestAndSend(v1, GENESIS_TRANSITION),
          rejected(409, /previous_transition/),
        );
      });

      await t.step("refuses an unsigned update (401)", async () => {
        await assert.rejects(
          attestAndSend(v2, t1),
          rejected(401, /signature/),
        );
      });

      await t.step("refuses a signature over another transition (401)", async () => {
        await assert.rejects(
          attestAndSend(v2, t1, { signature: await signManifestUpdate(owner, t1) }),
          rejected(401, /not a signature over the transition/),
        );
      });

      let signedV2: Parameters<typeof sendManifest>[1] | undefined;
      await t.step("accepts the owner's update; its replay is stale (409)", async () => {
        const a = await attest(v2);
        const t2 = await transitionHash(await manifestHash(v2), t1);
        signedV2 = {
          manifest: v2,
          policies: allPolicies,
          previousTransition: t1,
          signature: await signManifestUpdate(owner, t2),
        };
        const r = await sendManifest(a.client, signedV2);
        assert.equal(r.transition, encodeHex(t2));
        assert.equal(r.seedShares, undefined);
        const again = await attest(v2);
        await assert.rejects(
          sendManifest(again.client, signedV2),
          rejected(409, /previous_transition/),
        );
      });

      await t.step("of two concurrent updates on the same state exactly one wins", async () => {
        const t2 = (await attest(v2)).state.latestTransition!;
        const variants = [0, 1].map((i) =>
          d.manifest((m) => {
            (m.Policies as Record<string, { SANs: string[] }>)[encodeHex(d.pods.db.digest)]!.SANs
              .push(`race-${i}`);
          })
        );
        const results = await Promise.allSettled(
          variants.map(async (bytes) =>
            attestAndSend(bytes, t2, {
              signature: await signManifestUpdate(
                owner,
                await transitionHash(await manifestHash(bytes), t2),
              ),
            })
          ),
        );
        assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
        const loser = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
        assert.ok(loser.reason instanceof CoordinatorRejectedError);
        assert.equal(loser.reason.status, 409);
      });

      await t.step("recovery: refused while active (412)", async () => {
        const a = await attest(v2);
        await assert.rejects(
          sendRecover(a.client, {
            sealedSeed: { enc: "", ciphertext: "" },
            ownerPublicKey: "00",
            signature: "00",
          }),
          rejected(412, /not in recovery mode/),
        );
      });

      await t.step(
        "recovery: refuses a stranger's key, a bad signature and a wrong seed",
        async () => {
          await coordinator.stop("SIGKILL");
          coordinator = await startCoordinator(ws);
          const a = await attest(v2);
          assert.equal(a.state.recoveryNeeded, true);
          const latest = a.state.latestTransition!;
          const share = await importSeedshareOwnerSigningKey(d.seedshareOwner.pem);
          const wrongSeed = crypto.getRandomValues(new Uint8Array(96));
          const sealed = await sealTo(a.state.hpkePublicKey, wrongSeed, RECOVERY_HPKE_INFO, latest);
          const message = recoveryMessage(a.state.hpkePublicKey, latest, sealed);
          const stranger = await crypto.subtle.generateKey(
            {
              name: "RSA-PSS",
              modulusLength: 2048,
              publicExponent: new Uint8Array([1, 0, 1]),
              hash: "SHA-256",
            },
            true,
            ["sign", "verify"],
          ) as CryptoKeyPair;
          const strangerDer = new Uint8Array(
            await crypto.subtle.exportKey("spki", stranger.publicKey),
          );
          await assert.rejects(
            sendRecover(a.client, {
              sealedSeed: sealedBoxToJson(sealed),
              ownerPublicKey: encodeHex(strangerDer),
              signature: encodeHex(
                await signRecovery(
                  { privateKey: stranger.privateKey, publicKeyDer: strangerDer },
                  message,
                ),
              ),
            }),
            rejected(403, /not a SeedshareOwnerPubKeys key/),
          );
          const badSig = await signRecovery(share, concatBytes(message, new Uint8Array([1])));
          await assert.rejects(
            sendRecover(a.client, {
              sealedSeed: sealedBoxToJson(sealed),
              ownerPublicKey: encodeHex(share.publicKeyDer),
              signature: encodeHex(badSig),
            }),
            rejected(401, /recovery signature does not verify/),
          );
          await assert.rejects(
            sendRecover(a.client, {
              sealedSeed: sealedBoxToJson(sealed),
              ownerPublicKey: encodeHex(share.publicKeyDer),
              signature: encodeHex(await signRecovery(share, message)),
            }),
            rejected(403, /does not sign this Coordinator's history/),
          );
          const still = await attest(v2);
          assert.equal(still.state.recoveryNeeded, true);
        },
      );
    } finally {
      await coordinator.stop();
      await ws.cleanup();
    }
  },
});

Deno.test({
  name: "the Coordinator refuses the simulated TEE unless explicitly enabled",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../coordinator/main.ts", import.meta.url).pathname,
        "--history-dir",
        await Deno.makeTempDir(),
        "--evidence",
        "simulated-snp",
        "--simulated-authority",
        "/nonexistent",
        "--simulated-host-data",
        "00".repeat(32),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 1);
    assert.match(
      new TextDecoder().decode(out.stderr),
      /simulated TEE is refused unless --allow-simulated/,
    );
  },
});
