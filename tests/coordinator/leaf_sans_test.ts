/**
 * The SANs of a mesh leaf are the pod's manifest entry's, exactly and in order (or, for an entry
 * without SANs, the Coordinator's `urn:contrast:policy:<digest>` URI), and nothing of the request:
 * a request naming SANs of its own (or any field beyond nonce, evidence and the two keys) is
 * refused before its evidence is looked at. The proxies compare these SANs with the dialled name,
 * so a name the request could add would be an identity the manifest never gave.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { decodeHex, decodePem, encodeBase64, encodeHex } from "../../util/bytes/mod.ts";
import { parseManifestRequest, parseMeshCertificateRequest } from "../../protocol/messages.ts";
import { meshReportData } from "../../protocol/report_data.ts";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { MemoryHistoryBackend } from "../../coordinator/history/memory_backend.ts";
import { manifestHash, transitionHash } from "../../manifest/hash.ts";
import { importWorkloadOwnerKey, signManifestUpdate } from "../../protocol/signatures.ts";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { SimulatedSnpEvidenceSource } from "../../testing/simulated_evidence.ts";
import { certificateSans } from "../../meshproxy/san.ts";
import { type Deployment, deployment, MEASUREMENT } from "./fixture.ts";
import { sharedParts, startOn } from "./replica_fixture.ts";
import { connectionBindingStandIn, podMeshKeys } from "../helpers/pod_mesh_keys.ts";

async function coordinatorWith(d: Deployment, edit: (m: Record<string, unknown>) => void) {
  const coordinator = await startOn(
    d,
    new MemoryHistoryBackend(),
    d.coordinator.digest,
    sharedParts("coordinator"),
  );
  const bytes = d.manifest(edit);
  const previous = "00".repeat(32);
  const signature = await signManifestUpdate(
    await importWorkloadOwnerKey(d.workloadOwner.pem),
    await transitionHash(await manifestHash(bytes), decodeHex(previous)),
  );
  await coordinator.setManifest(parseManifestRequest({
    manifest: encodeBase64(bytes),
    policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc].map(encodeBase64),
    previous_transition: previous,
    signature: encodeHex(signature),
  }));
  return coordinator;
}

/** The SANs of the leaf the Coordinator issues to a pod running `policy`. */
async function issuedSans(coordinator: Coordinator, d: Deployment, policy: Uint8Array) {
  const { leafPublicKey } = await podMeshKeys();
  const channelBinding = connectionBindingStandIn();
  const evidence = await new SimulatedSnpEvidenceSource(d.authority, {
    hostData: policy,
    measurement: await MEASUREMENT,
  }).getEvidence(await meshReportData({ channelBinding, leafSpki: leafPublicKey }));
  const answer = await coordinator.issueMeshCertificate(
    { evidence, leafPublicKey },
    channelBinding,
  );
  return certificateSans(decodePem(answer.certChain, "CERTIFICATE")[0]!.der);
}

Deno.test("a mesh leaf carries its manifest entry's SANs exactly; an entry without SANs gets the policy URI", async () => {
  const d = await deployment();
  const web = encodeHex(d.pods.web.digest);
  const db = encodeHex(d.pods.db.digest);
  const coordinator = await coordinatorWith(d, (m) => {
    const policies = m.Policies as Record<string, { SANs: string[] }>;
    policies[web]!.SANs = ["web", "Web-Svc.shop", "*.web.example", "10.0.0.9", "spiffe://shop/web"];
    policies[db]!.SANs = [];
  });
  try {
    assert.deepEqual(await issuedSans(coordinator, d, d.pods.web.digest), [
      "DNS:web",
      "DNS:Web-Svc.shop",
      "DNS:*.web.example",
      "IP:10.0.0.9",
      "URI:spiffe://shop/web",
    ]);
    assert.deepEqual(await issuedSans(coordinator, d, d.pods.db.digest), [
      `URI:urn:contrast:policy:${db}`,
    ]);
  } finally {
    await coordinator.close();
  }
});

Deno.test("a certificate request naming SANs (or anything beyond its two fields) is refused", () => {
  const base = {
    evidence: { platform: "snp", report: encodeBase64(new Uint8Array(1184)) },
    leafPublicKey: "00",
  };
  for (const extra of [{ sans: ["*"] }, { SANs: ["emoji-svc"] }, { commonName: "emoji" }]) {
    assert.throws(
      () => parseMeshCertificateRequest({ ...base, ...extra }),
      (e: unknown) =>
        e instanceof InvalidDocumentError &&
        e.issues.some((i) => i.path.includes(Object.keys(extra)[0]!)),
      JSON.stringify(extra),
    );
  }
});
