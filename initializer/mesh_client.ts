/**
 * The initializer's exchange with the Coordinator's mesh API: a fresh challenge, evidence
 * binding that challenge and the pod's two public keys (certificate key and HPKE key), and the
 * answer. Both requests go to the same Coordinator TLS key (pinned), the workload secret arrives
 * HPKE-sealed to the pod's key, and the certificate must be for the pod's key: a relay in
 * between sees only public material. Given a {@link CoordinatorTrust}, the initializer also
 * attests the Coordinator before the exchange, so the CA files cannot be substituted either.
 *
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { constantTimeEqual, decodePem, encodeHex } from "../bytes/mod.ts";
import { VerificationError } from "../errors/mod.ts";
import { evidenceToJson } from "../atls/evidence_json.ts";
import type { HpkeRecipient } from "../atls/hpke.ts";
import { PinnedHttpsClient } from "../atls/pinned_client.ts";
import { meshReportData } from "../atls/report_data.ts";
import {
  ApiPath,
  type MeshCertificateRequestJson,
  parseChallengeResponse,
  parseMeshCertificateResponse,
  WORKLOAD_SECRET_HPKE_INFO,
} from "../coordinator/api/messages.ts";
import type { EvidenceSource } from "../coordinator/evidence_source.ts";
import type { Manifest } from "../manifest/manifest.ts";
import type { ManifestEvidenceVerifier } from "../manifest/verifiers.ts";
import { attestCoordinator } from "../atls/coordinator_client.ts";

/**
 * What identifies the genuine Coordinator to an initializer: a manifest (its coordinator policy
 * and reference values; any generation carrying the same coordinator entry) and a verifier.
 */
export interface CoordinatorTrust {
  /** The manifest naming the Coordinator's policy and reference values. */
  readonly manifest: Manifest;
  /** Evidence verification against it. */
  readonly verify: ManifestEvidenceVerifier;
}

/** What the initializer receives. */
export interface MeshCredentials {
  /** PEM of leaf then intermediate. */
  readonly certChain: string;
  /** PEM of the mesh CA. */
  readonly meshCa: string;
  /** PEM of the root CA. */
  readonly rootCa: string;
  /** The workload secret, when the policy has one (never log it). */
  readonly workloadSecret?: Uint8Array;
}

/** The pod's keys. */
export interface PodKeys {
  /** P-256 ECDSA key pair the mesh certificate is issued to. */
  readonly leaf: CryptoKeyPair;
  /** PKIX DER of the leaf public key. */
  readonly leafSpki: Uint8Array;
  /** HPKE key the workload secret is sealed to. */
  readonly hpke: HpkeRecipient;
}

/**
 * One attempt: challenge, evidence, certificate.
 *
 * @throws {import("../atls/pinned_client.ts").CoordinatorRejectedError} (and the other
 *   answer errors) when the Coordinator refuses; {@link VerificationError} when the answer does
 *   not fit our keys
 */
export async function requestMeshCredentials(
  address: string,
  keys: PodKeys,
  evidenceSource: EvidenceSource,
  options: { timeoutMs?: number; trust?: CoordinatorTrust } = {},
): Promise<MeshCredentials> {
  // With a trust anchor, the Coordinator is attested first and its key pinned, and the CAs it
  // hands out must be the ones its evidence binds: an impostor or a relay cannot substitute them.
  const attested = options.trust
    ? await attestCoordinator(address, options.trust.manifest, options.trust.verify, {
      timeoutMs: options.timeoutMs,
    })
    : undefined;
  const client = attested?.client ??
    new PinnedHttpsClient(address, { timeoutMs: options.timeoutMs });
  const { nonce } = parseChallengeResponse(await client.request("POST", ApiPath.meshChallenge, {}));
  const reportData = await meshReportData({
    nonce,
    leafSpki: keys.leafSpki,
    hpkePublicKey: keys.hpke.publicKey,
  });
  const evidence = await evidenceSource.getEvidence(reportData);
  const body: MeshCertificateRequestJson = {
    nonce: encodeHex(nonce),
    evidence: evidenceToJson(evidence),
    leafPublicKey: encodeHex(keys.leafSpki),
    hpkePublicKey: encodeHex(keys.hpke.publicKey),
  };
  const answer = parseMeshCertificateResponse(
    await client.request("POST", ApiPath.meshCertificate, body),
  );
  const leafDer = decodePem(answer.certChain, "CERTIFICATE", "certChain")[0]!.der;
  const leaf = new x509.X509Certificate(leafDer.slice());
  if (!constantTimeEqual(new Uint8Array(leaf.publicKey.rawData), keys.leafSpki)) {
    throw new VerificationError("certChain", "the certificate is not for this pod's key");
  }
  if (
    attested &&
    (answer.rootCa !== attested.state.rootCa || answer.meshCa !== attested.state.meshCa)
  ) {
    throw new VerificationError("meshCa", "the CAs differ from those the Coordinator attested");
  }
  const workloadSecret = answer.workloadSecret
    ? await keys.hpke.open(
      answer.workloadSecret,
      WORKLOAD_SECRET_HPKE_INFO,
      nonce,
      "workloadSecret",
    )
    : undefined;
  return {
    certChain: answer.certChain,
    meshCa: answer.meshCa,
    rootCa: answer.rootCa,
    ...(workloadSecret ? { workloadSecret } : {}),
  };
}
