import "reflect-metadata";
import assert from "node:assert/strict";
import { encodeHex } from "../../util/bytes/mod.ts";
import { CoordinatorRejectedError } from "../../atls/pinned_client.ts";
import { SimulatedTdxEvidenceSource } from "../../testing/simulated_evidence.ts";
import { generatePodKeys, requestMeshCredentials } from "../../atls/mesh_client.ts";
import { deployment, inProcessCoordinator, simulatedTdx } from "./fixture.ts";

Deno.test({
  name:
    "a TDX pod (MRCONFIGID = its initdata digest) is admitted; a debug TD and an unknown policy are refused",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const d = await deployment();
    const { tdx, verifiers, reference } = await simulatedTdx();
    const bytes = d.manifest((m) => {
      (m.ReferenceValues as Record<string, unknown>).tdx = [reference];
    });
    const c = await inProcessCoordinator(d, { verifiers });
    try {
      await c.setFirstManifest(bytes);
      const pod = (hostData: Uint8Array, tdAttributes?: Uint8Array) =>
        new SimulatedTdxEvidenceSource(tdx, {
          hostData,
          ...(tdAttributes ? { tdAttributes } : {}),
        });

      await t.step("admitted, with its workload secret", async () => {
        const keys = await generatePodKeys();
        const creds = await requestMeshCredentials(c.meshAddress, keys, pod(d.pods.web.digest));
        assert.match(creds.certChain, /BEGIN CERTIFICATE/);
        assert.equal(creds.workloadSecret?.length, 32);
      });

      await t.step("a debug TD is refused", async () => {
        const debug = Uint8Array.from([0x01, 0, 0, 0x10, 0, 0, 0, 0]);
        await assert.rejects(
          requestMeshCredentials(
            c.meshAddress,
            await generatePodKeys(),
            pod(d.pods.web.digest, debug),
          ),
          (e: unknown) =>
            e instanceof CoordinatorRejectedError && e.status === 403 && /debug/i.test(e.message),
        );
      });

      await t.step("an unknown policy in MRCONFIGID is refused", async () => {
        await assert.rejects(
          requestMeshCredentials(
            c.meshAddress,
            await generatePodKeys(),
            pod(new Uint8Array(32).fill(9)),
          ),
          (e: unknown) =>
            e instanceof CoordinatorRejectedError && e.status === 403 &&
            e.message.includes(encodeHex(new Uint8Array(32).fill(9))),
        );
      });
    } finally {
      await c.close();
    }
  },
});
