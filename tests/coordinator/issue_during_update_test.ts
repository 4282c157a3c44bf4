/**
 * A request whose evidence is still being verified when a manifest update lands must not be
 * answered from the manifest the update replaced: the pod's policy may be the one the owner just
 * removed, and the answer would carry a certificate under the replaced mesh CA and the workload
 * secret the new manifest keeps for others, or, to a removed Coordinator policy, the seed. The
 * infrastructure controls how long verification takes (it carries the collateral fetches), so it
 * can hold such a request open across the owner's `contrast set`.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { decodeHex, encodeBase64, encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { parseManifestRequest } from "../../protocol/messages.ts";
import { meshReportData, peerReportData } from "../../protocol/report_data.ts";
import { statusFor } from "../../coordinator/http/errors.ts";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { MemoryHistoryBackend } from "../../coordinator/history/memory_backend.ts";
import { manifestHash, transitionHash } from "../../manifest/hash.ts";
import { HpkeRecipient } from "../../protocol/hpke.ts";
import { importWorkloadOwnerKey, signManifestUpdate } from "../../protocol/signatures.ts";
import { SimulatedSnpEvidenceSource } from "../../testing/simulated_evidence.ts";
import {
  type Deployment,
  deployment,
  initdata,
  MEASUREMENT,
  withCoordinatorPolicy,
  withoutPolicy,
} from "./fixture.ts";
import { sharedParts, startOn } from "./replica_fixture.ts";
import { connectionBindingStandIn, podMeshKeys } from "../helpers/pod_mesh_keys.ts";

/** A Coordinator whose next evidence verification waits until the test releases it. */
async function coordinatorWithHeldVerification(d: Deployment) {
  const parts = sharedParts("coordinator");
  let hold: { started: () => void; release: Promise<void> } | undefined;
  const coordinator = await startOn(d, new MemoryHistoryBackend(), d.coordinator.digest, parts, {
    verifyEvidence: async (m, e, o) => {
      const held = hold;
      hold = undefined;
      if (held) {
        held.started();
        await held.release;
      }
      return parts.verifyEvidence(m, e, o);
    },
  });
  return {
    coordinator,
    /** Holds the next verification; resolves `started` once it waits, until `release()`. */
    holdNext() {
      const started = Promise.withResolvers<void>();
      const release = Promise.withResolvers<void>();
      hold = { started: started.resolve, release: release.promise };
      return { started: started.promise, release: release.resolve };
    },
  };
}

/** Sets `bytes` on top of `previous` (hex; genesis by default), signed by the owner. */
async function setManifest(
  coordinator: Coordinator,
  d: Deployment,
  bytes: Uint8Array,
  docs: readonly Uint8Array[],
  previous = "00".repeat(32),
) {
  const signature = await signManifestUpdate(
    await importWorkloadOwnerKey(d.workloadOwner.pem),
    await transitionHash(await manifestHash(bytes), decodeHex(previous)),
  );
  return await coordinator.setManifest(parseManifestRequest({
    manifest: encodeBase64(bytes),
    policies: docs.map(encodeBase64),
    previous_transition: previous,
    signature: encodeHex(signature),
  }));
}

/** Evidence of a VM running `policy` (its digest) that binds `reportData`. */
async function evidenceOf(d: Deployment, policy: Uint8Array, reportData: Uint8Array) {
  return await new SimulatedSnpEvidenceSource(d.authority, {
    hostData: policy,
    measurement: await MEASUREMENT,
  }).getEvidence(reportData);
}

function isStaleManifest(e: unknown): boolean {
  return statusFor(e) === 409 && /manifest changed/.test(String(e));
}

Deno.test("a certificate request verified across an update that removes its policy is refused (409)", async () => {
  const d = await deployment();
  const { coordinator, holdNext } = await coordinatorWithHeldVerification(d);
  const all = [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc];
  const set = await setManifest(coordinator, d, d.manifest(), all);

  // The web pod asks for its certificate (and workload secret); its verification is held open.
  const { leafPublicKey } = await podMeshKeys();
  const channelBinding = connectionBindingStandIn();
  const evidence = await evidenceOf(
    d,
    d.pods.web.digest,
    await meshReportData({ channelBinding, leafSpki: leafPublicKey }),
  );
  const held = holdNext();
  const pending = coordinator.issueMeshCertificate({ evidence, leafPublicKey }, channelBinding);
  pending.catch(() => {});
  await held.started;

  // Meanwhile the owner removes the web policy; `set` returns before the request is answered.
  const update = d.manifest(withoutPolicy(d.pods.web.digest));
  const updated = await setManifest(
    coordinator,
    d,
    update,
    [d.coordinator.doc, d.pods.db.doc],
    set.transition,
  );
  assert.notEqual(updated.meshCa, set.meshCa, "the update rotated the mesh CA");

  held.release();
  await assert.rejects(pending, isStaleManifest, "no certificate or secret for a removed policy");
  await coordinator.close();
});

Deno.test("a peer-seed request verified across an update that removes its coordinator policy is refused (409)", async () => {
  const d = await deployment();
  const { coordinator, holdNext } = await coordinatorWithHeldVerification(d);
  // A second coordinator policy (an older Coordinator version being rolled out of the manifest).
  const older = initdata("older coordinator");
  const olderDigest = await sha256(older);
  const withOlder = d.manifest(withCoordinatorPolicy(olderDigest));
  const all = [d.coordinator.doc, older, d.pods.web.doc, d.pods.db.doc];
  const set = await setManifest(coordinator, d, withOlder, all);

  const hpke = await HpkeRecipient.generate();
  const nonce = decodeHex(coordinator.challenge().nonce);
  const evidence = await evidenceOf(
    d,
    olderDigest,
    await peerReportData({ nonce, hpkePublicKey: hpke.publicKey }),
  );
  const held = holdNext();
  const pending = coordinator.peerSeed({ nonce, evidence, hpkePublicKey: hpke.publicKey });
  pending.catch(() => {});
  await held.started;

  await setManifest(
    coordinator,
    d,
    d.manifest(),
    [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc],
    set.transition,
  );

  held.release();
  await assert.rejects(pending, isStaleManifest, "no seed for a removed coordinator policy");
  await coordinator.close();
});
