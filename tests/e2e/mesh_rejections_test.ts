import "reflect-metadata";
import assert from "node:assert/strict";
import { decodeHex, encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { VerificationError } from "../../util/errors/mod.ts";
import { evidenceToJson } from "../../protocol/evidence_json.ts";
import { HpkeRecipient } from "../../protocol/hpke.ts";
import {
  CoordinatorBadRequestError,
  CoordinatorRejectedError,
  PinnedHttpsClient,
} from "../../atls/pinned_client.ts";
import { meshReportData } from "../../protocol/report_data.ts";
import { attestCoordinator, sendManifest } from "../../atls/coordinator_client.ts";
import {
  ApiPath,
  parseChallengeResponse,
  parseMeshCertificateResponse,
  WORKLOAD_SECRET_HPKE_INFO,
} from "../../protocol/messages.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { ManifestVerifiers } from "../../manifest/verifiers.ts";
import { generatePodKeys } from "../../atls/mesh_client.ts";
import { SimulatedSnpAuthority } from "../../testing/snp/authority.ts";
import type { SimulatedReportInput } from "../../testing/snp/authority.ts";
import { MEASUREMENT } from "../coordinator/fixture.ts";
import { createWorkspace, startCoordinator } from "./harness.ts";

Deno.test({
  name: "the mesh API refuses every kind of bad evidence, each with its reason",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const ws = await createWorkspace();
    const auth = ws.deployment.authority;
    // A manifest whose minimum TCB is exactly the simulated chip's TCB.
    const manifestBytes = ws.deployment.manifest((m) => {
      const snp = (m.ReferenceValues as { snp: Record<string, unknown>[] }).snp[0]!;
      snp.MinimumTCB = {
        BootloaderVersion: auth.tcb.bootloader,
        TEEVersion: auth.tcb.tee,
        SNPVersion: auth.tcb.snp,
        MicrocodeVersion: auth.tcb.microcode,
      };
    });
    const coordinator = await startCoordinator(ws);
    try {
      const verifiers = new ManifestVerifiers();
      const manifest = parseManifest(manifestBytes);
      const attested = await attestCoordinator(
        coordinator.userAddress,
        manifest,
        (m, e, o) => verifiers.verify(m, e, o),
      );
      await sendManifest(attested.client, {
        manifest: manifestBytes,
        policies: [
          ws.deployment.coordinator.doc,
          ws.deployment.pods.web.doc,
          ws.deployment.pods.db.doc,
        ],
        previousTransition: new Uint8Array(32),
        signature: decodeHex(await ws.deployment.ownerSignature(manifestBytes)),
      });
      const measurement = await MEASUREMENT;
      const web = ws.deployment.pods.web.digest;

      /** One exchange; `tweak` changes what the (possibly malicious) pod does. */
      const exchange = async (tweak: {
        report?: Partial<SimulatedReportInput>;
        bindNonce?: Uint8Array;
        authority?: SimulatedSnpAuthority;
        swapLeafKey?: boolean;
        swapHpkeKey?: boolean;
        reuseNonce?: Uint8Array;
        /** An HPKE public key to bind and send instead of the pod's. */
        hpkeKey?: Uint8Array;
      } = {}) => {
        const client = new PinnedHttpsClient(coordinator.meshAddress);
        const keys = await generatePodKeys();
        const { nonce } = tweak.reuseNonce
          ? { nonce: tweak.reuseNonce }
          : parseChallengeResponse(await client.request("POST", ApiPath.meshChallenge, {}));
        const reportData = await meshReportData({
          nonce: tweak.bindNonce ?? nonce,
          leafSpki: keys.leafSpki,
          hpkePublicKey: tweak.hpkeKey ?? keys.hpke.publicKey,
        });
        const r = await (tweak.authority ?? auth).createReport({
          reportData,
          hostData: web,
          measurement,
          ...tweak.report,
        });
        const other = await generatePodKeys();
        const body = {
          nonce: encodeHex(nonce),
          evidence: evidenceToJson({ platform: "snp", report: r.report, aux: r.aux }),
          leafPublicKey: encodeHex(tweak.swapLeafKey ? other.leafSpki : keys.leafSpki),
          hpkePublicKey: encodeHex(
            tweak.hpkeKey ?? (tweak.swapHpkeKey ? other.hpke.publicKey : keys.hpke.publicKey),
          ),
        };
        const answer = parseMeshCertificateResponse(
          await client.request("POST", ApiPath.meshCertificate, body),
        );
        return { answer, keys, nonce, body, client };
      };

      const refused = async (tweak: Parameters<typeof exchange>[0], reason: RegExp) => {
        await assert.rejects(exchange(tweak), (e: unknown) => {
          assert.ok(e instanceof CoordinatorRejectedError, String(e));
          assert.equal(e.status, 403);
          assert.match(e.message, reason);
          return true;
        });
      };

      await t.step("a genuine pod is admitted (baseline)", async () => {
        const { answer, keys, nonce } = await exchange();
        assert.ok(answer.workloadSecret);
        const secret = await keys.hpke.open(
          answer.workloadSecret!,
          WORKLOAD_SECRET_HPKE_INFO,
          nonce,
        );
        assert.equal(secret.length, 32);
      });

      await t.step("evidence for another nonce is refused", async () => {
        await refused(
          { bindNonce: crypto.getRandomValues(new Uint8Array(32)) },
          /report_data.*REPORT_DATA does not match/,
        );
      });

      await t.step("evidence for another certificate key is refused", async () => {
        await refused({ swapLeafKey: true }, /report_data.*REPORT_DATA does not match/);
      });

      await t.step("evidence for another HPKE key is refused", async () => {
        await refused({ swapHpkeKey: true }, /report_data.*REPORT_DATA does not match/);
      });

      await t.step(
        "genuine evidence binding a low-order X25519 key gets 400, not 500",
        async () => {
          // The all-zero point and the point of order 8 (u = 1): X25519 gives an all-zero secret.
          const lowOrder = [
            new Uint8Array(32),
            Uint8Array.from({ length: 32 }, (_, i) => i === 0 ? 1 : 0),
          ];
          for (const hpkeKey of lowOrder) {
            await assert.rejects(exchange({ hpkeKey }), (e: unknown) => {
              assert.ok(e instanceof CoordinatorBadRequestError, String(e));
              assert.equal(e.status, 400);
              assert.equal(e.field, "hpkePublicKey");
              assert.match(e.message, /not a usable X25519 public key \(low order point\)/);
              return true;
            });
          }
        },
      );

      await t.step("a debug VM is refused", async () => {
        await refused({ report: { policy: { smt: true, debug: true } } }, /debug/i);
      });

      await t.step("a TCB below the minimum is refused", async () => {
        await refused(
          { report: { tcb: { ...auth.tcb, snp: auth.tcb.snp - 1 } } },
          /SNPVersion|TCB/,
        );
      });

      await t.step("an unknown policy hash is refused", async () => {
        await refused(
          { report: { hostData: await sha256(new TextEncoder().encode("unknown")) } },
          /hostData.*not a policy of the manifest/,
        );
      });

      await t.step("a wrong launch measurement is refused", async () => {
        await refused({ report: { measurement: new Uint8Array(48).fill(7) } }, /measurement/i);
      });

      await t.step("evidence from a root the manifest does not name is refused", async () => {
        const stranger = await SimulatedSnpAuthority.generate({ rsaBits: 2048 });
        await assert.rejects(
          exchange({ authority: stranger }),
          (e: unknown) => e instanceof CoordinatorRejectedError && e.status === 403,
        );
      });

      await t.step("a used nonce is refused, and a made-up one too", async () => {
        const first = await exchange();
        await refused({ reuseNonce: first.nonce }, /nonce: .*unknown or already used/);
        await refused({ reuseNonce: crypto.getRandomValues(new Uint8Array(32)) }, /nonce/);
      });

      await t.step("a relay gains nothing: it cannot open the secret nor replay", async () => {
        const { answer, nonce, body } = await exchange();
        const relayKey = await HpkeRecipient.generate();
        await assert.rejects(
          relayKey.open(answer.workloadSecret!, WORKLOAD_SECRET_HPKE_INFO, nonce),
          VerificationError,
        );
        const replay = new PinnedHttpsClient(coordinator.meshAddress);
        await assert.rejects(
          replay.request("POST", ApiPath.meshCertificate, body),
          (e: unknown) => e instanceof CoordinatorRejectedError && e.status === 403,
        );
      });

      await t.step("failures are counted by reason in /metrics", async () => {
        const text = await (await fetch(`http://127.0.0.1:${coordinator.probePort}/metrics`))
          .text();
        assert.match(
          text,
          /contrast_coordinator_attestation_failures_total\{api="mesh",reason="nonce"\} [1-9]/,
        );
        assert.match(text, /contrast_coordinator_attestations_total\{platform="snp"\} [1-9]/);
      });
    } finally {
      await coordinator.stop();
      await ws.cleanup();
    }
  },
});
