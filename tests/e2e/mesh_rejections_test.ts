import "reflect-metadata";
import assert from "node:assert/strict";
import { decodeHex, encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { evidenceToJson } from "../../protocol/evidence_json.ts";
import {
  CoordinatorBadRequestError,
  CoordinatorRejectedError,
  PinnedHttpsClient,
} from "../../atls/pinned_client.ts";
import { meshReportData } from "../../protocol/report_data.ts";
import { attestCoordinator, sendManifest } from "../../atls/coordinator_client.ts";
import { ApiPath, parseMeshCertificateResponse } from "../../protocol/messages.ts";
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
        /** A value to bind instead of the connection's channel binding. */
        bindValue?: Uint8Array;
        authority?: SimulatedSnpAuthority;
        swapLeafKey?: boolean;
        /** Send the request on this client's connection instead (a relay). */
        sendVia?: PinnedHttpsClient;
        /** Fields added to the request body. */
        extra?: Record<string, unknown>;
      } = {}) => {
        const client = new PinnedHttpsClient(coordinator.meshAddress);
        const keys = await generatePodKeys();
        const channelBinding = await client.bindConnection();
        const reportData = await meshReportData({
          channelBinding: tweak.bindValue ?? channelBinding,
          leafSpki: keys.leafSpki,
        });
        const r = await (tweak.authority ?? auth).createReport({
          reportData,
          hostData: web,
          measurement,
          ...tweak.report,
        });
        const other = await generatePodKeys();
        const body = {
          evidence: evidenceToJson({ platform: "snp", report: r.report, aux: r.aux }),
          leafPublicKey: encodeHex(tweak.swapLeafKey ? other.leafSpki : keys.leafSpki),
          ...tweak.extra,
        };
        const via = tweak.sendVia;
        try {
          const answer = parseMeshCertificateResponse(
            via
              ? await via.requestOnBinding(
                await via.bindConnection(),
                "POST",
                ApiPath.meshCertificate,
                body,
              )
              : await client.requestOnBinding(
                channelBinding,
                "POST",
                ApiPath.meshCertificate,
                body,
              ),
          );
          return { answer, keys, body };
        } finally {
          client.close();
          via?.close();
        }
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
        const { answer } = await exchange();
        assert.equal(answer.workloadSecret?.length, 32);
      });

      await t.step("evidence binding another value than the connection's is refused", async () => {
        await refused(
          { bindValue: crypto.getRandomValues(new Uint8Array(32)) },
          /report_data.*REPORT_DATA does not match/,
        );
      });

      await t.step("evidence for another certificate key is refused", async () => {
        await refused({ swapLeafKey: true }, /report_data.*REPORT_DATA does not match/);
      });

      await t.step(
        "a relay: evidence made for connection A and sent on connection B is refused",
        async () => {
          await refused(
            { sendVia: new PinnedHttpsClient(coordinator.meshAddress) },
            /report_data.*REPORT_DATA does not match/,
          );
        },
      );

      await t.step("the fields of the challenge protocol are refused as unknown", async () => {
        for (const field of ["nonce", "hpkePublicKey"]) {
          await assert.rejects(exchange({ extra: { [field]: "00".repeat(32) } }), (e: unknown) => {
            assert.ok(e instanceof CoordinatorBadRequestError, String(e));
            assert.equal(e.status, 400);
            assert.match(e.message, new RegExp(field));
            return true;
          });
        }
      });

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

      await t.step(
        "a replay: an admitted request's body sent again on a new connection is refused",
        async () => {
          const { body } = await exchange();
          const replay = new PinnedHttpsClient(coordinator.meshAddress);
          try {
            await assert.rejects(
              replay.requestOnBinding(
                await replay.bindConnection(),
                "POST",
                ApiPath.meshCertificate,
                body,
              ),
              (e: unknown) =>
                e instanceof CoordinatorRejectedError && e.status === 403 &&
                /REPORT_DATA does not match/.test(e.message),
            );
          } finally {
            replay.close();
          }
        },
      );

      await t.step("failures are counted by reason in /metrics", async () => {
        const text = await (await fetch(`http://127.0.0.1:${coordinator.probePort}/metrics`))
          .text();
        assert.match(
          text,
          /contrast_coordinator_attestation_failures_total\{api="mesh",reason="report"\} [1-9]/,
        );
        assert.match(text, /contrast_coordinator_attestations_total\{platform="snp"\} [1-9]/);
      });
    } finally {
      await coordinator.stop();
      await ws.cleanup();
    }
  },
});
