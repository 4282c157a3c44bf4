/**
 * The Coordinator charges the source address of a mesh request for the uncached AMD KDS lookups
 * its evidence causes: an in-process Coordinator with the collateral wiring of `coordinator/main.ts`
 * against the KDS stand-in, driven over its mesh API (HTTPS). Forged reports naming made-up chip
 * IDs (no auxblob, so the VCEK must be fetched) sent one after another reach KDS only for the
 * client's burst; the next is answered 429 without a request, and the same client's genuine pod
 * (VCEK in its evidence) is still served.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { encodeHex } from "../../util/bytes/mod.ts";
import { evidenceToJson } from "../../protocol/evidence_json.ts";
import {
  CoordinatorRejectedError,
  CoordinatorUnavailableError,
  PinnedHttpsClient,
} from "../../atls/pinned_client.ts";
import { meshReportData } from "../../protocol/report_data.ts";
import { ApiPath } from "../../protocol/messages.ts";
import { manifestVerifiersWithCollateral } from "../../manifest/collateral_config.ts";
import { DEFAULT_VENDOR_LOOKUP_BUDGET } from "../../collateral/lookup_budget.ts";
import { startKdsStandIn } from "../../testing/snp/kds_stand_in.ts";
import { deployment, inProcessCoordinator, MEASUREMENT } from "./fixture.ts";
import { podMeshKeys } from "../helpers/pod_mesh_keys.ts";

Deno.test({
  name:
    "mesh requests with forged SNP reports from one address: KDS is asked only for the burst, then 429; a genuine pod from that address is served",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const d = await deployment();
    const kds = await startKdsStandIn(d.authority);
    const coordinator = await inProcessCoordinator(d, {
      verifiers: manifestVerifiersWithCollateral({ kdsBaseUrl: kds.base }),
    });
    try {
      await coordinator.setFirstManifest();
      const client = new PinnedHttpsClient(coordinator.meshAddress);
      const { leafPublicKey } = await podMeshKeys();
      const request = async (forge: boolean) => {
        const channelBinding = await client.bindConnection();
        const signed = await d.authority.createReport({
          reportData: await meshReportData({ channelBinding, leafSpki: leafPublicKey }),
          hostData: d.pods.web.digest,
          measurement: await MEASUREMENT,
        });
        const report = signed.report.slice();
        if (forge) report.set(crypto.getRandomValues(new Uint8Array(64)), 0x1a0); // chip ID
        return await client.requestOnBinding(channelBinding, "POST", ApiPath.meshCertificate, {
          evidence: evidenceToJson(
            forge ? { platform: "snp", report } : { platform: "snp", report, aux: signed.aux },
          ),
          leafPublicKey: encodeHex(leafPublicKey),
        });
      };
      const vcekRequests = () =>
        kds.requests.filter((r) => /\/vcek\/v1\/\w+\/[0-9a-f]{16,}/.test(r));

      const burst = DEFAULT_VENDOR_LOOKUP_BUDGET.burst;
      const statuses: number[] = [];
      for (let i = 0; i < burst + 3; i++) {
        await request(true).then(
          () => statuses.push(200),
          (e) => {
            if (
              !(e instanceof CoordinatorRejectedError || e instanceof CoordinatorUnavailableError)
            ) {
              throw e;
            }
            statuses.push(e.status);
          },
        );
      }
      console.log(
        `${burst + 3} forged reports from one address -> statuses ${statuses.join(",")}; ` +
          `${vcekRequests().length} VCEK requests to KDS`,
      );
      // Unknown chip IDs: KDS answers 404, the Coordinator 503 (not available); then 429.
      assert.deepEqual(statuses, [...Array(burst).fill(503), 429, 429, 429]);
      assert.equal(vcekRequests().length, burst);
      assert.match(
        coordinator.logs.filter((l) => /"status":429/.test(l)).join("\n"),
        /spent its budget of uncached vendor lookups/,
      );

      const issued = await request(false) as { certChain: string };
      assert.match(issued.certChain, /BEGIN CERTIFICATE/);
    } finally {
      await coordinator.close();
      await kds.close();
    }
  },
});
