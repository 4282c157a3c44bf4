/**
 * The initializer's Coordinator attestation on TDX: a Coordinator whose MRCONFIGID is its policy
 * digest ‖ 16 zero bytes is accepted against a trust document with TDX reference values; one
 * pinned to another policy hash or to another MRTD is refused.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { encodeBase64, encodeHex } from "../../util/bytes/mod.ts";
import { ValidationError } from "../../util/errors/mod.ts";
import { encodeCoordinatorTrust, parseCoordinatorTrust } from "../../atls/coordinator_trust.ts";
import { parseManifestRequest } from "../../protocol/messages.ts";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { MemoryHistoryBackend } from "../../coordinator/history/memory_backend.ts";
import { CoordinatorMetrics } from "../../coordinator/http/metrics.ts";
import { Logger } from "../../util/log/logger.ts";
import { startService } from "../../coordinator/service.ts";
import { SimulatedTdxEvidenceSource } from "../../testing/simulated_evidence.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { generatePodKeys, requestAttestedMeshCredentials } from "../../atls/mesh_client.ts";
import { deployment } from "../../testing/simulation/deployment.ts";
import { LOOPBACK_SERVICE_CONFIG, simulatedTdx } from "../coordinator/fixture.ts";

Deno.test({
  name: "attests a TDX Coordinator (MRCONFIGID = its policy digest, padded) before trusting CAs",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const d = await deployment();
    const { tdx, verifiers, reference } = await simulatedTdx();
    const verify = verifiers.verify.bind(verifiers);
    const manifest = d.manifest((m) => {
      m.ReferenceValues = { snp: [], tdx: [reference] };
    });
    const logger = new Logger("coordinator", { sink: () => {} });
    const metrics = new CoordinatorMetrics();
    const coordinator = await Coordinator.start({
      evidenceSource: new SimulatedTdxEvidenceSource(tdx, { hostData: d.coordinator.digest }),
      historyBackend: new MemoryHistoryBackend(),
      parseManifest,
      verifyEvidence: verify,
      logger,
      metrics,
    });
    const service = await startService(
      coordinator,
      LOOPBACK_SERVICE_CONFIG,
      logger,
      metrics,
    );
    const address = `127.0.0.1:${service.meshPort}`;
    const pod = new SimulatedTdxEvidenceSource(tdx, { hostData: d.pods.web.digest });
    const trustFor = (policyHash: string, mrTd = reference.MrTd) =>
      parseCoordinatorTrust(
        encodeCoordinatorTrust(policyHash, { snp: [], tdx: [{ ...reference, MrTd: mrTd }] }, [
          d.workloadOwner.publicHex,
        ]),
      );
    try {
      await coordinator.setManifest(parseManifestRequest({
        manifest: encodeBase64(manifest),
        policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc].map(encodeBase64),
        previous_transition: "00".repeat(32),
        signature: await d.ownerSignature(manifest),
      }));

      await t.step("the pinned Coordinator is accepted and its CAs installed", async () => {
        const { credentials, coordinator: attested } = await requestAttestedMeshCredentials(
          address,
          await generatePodKeys(),
          pod,
          trustFor(encodeHex(d.coordinator.digest)),
          verify,
        );
        assert.equal(attested.claims.platform, "tdx");
        assert.equal(credentials.meshCa, attested.state.meshCa);
        assert.equal(credentials.workloadSecret?.length, 32);
      });

      await t.step("a Coordinator running another policy is refused", async () => {
        await assert.rejects(
          requestAttestedMeshCredentials(
            address,
            await generatePodKeys(),
            pod,
            trustFor("ee".repeat(32)),
            verify,
          ),
          (e: unknown) =>
            e instanceof ValidationError && e.field === "hostData" &&
            e.expected === "ee".repeat(32),
        );
      });

      await t.step("a Coordinator outside the pinned reference values is refused", async () => {
        await assert.rejects(
          requestAttestedMeshCredentials(
            address,
            await generatePodKeys(),
            pod,
            trustFor(encodeHex(d.coordinator.digest), "22".repeat(48)),
            verify,
          ),
          (e: unknown) => e instanceof ValidationError && /mr_?td/i.test(e.field + e.message),
        );
      });
    } finally {
      await service.close();
    }
  },
});
