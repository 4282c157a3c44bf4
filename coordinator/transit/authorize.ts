/**
 * Who is calling the transit API: the client's mesh certificate must verify against the mesh CA
 * of the current manifest generation and carry the attestation claims the Coordinator put into
 * it; the policy those claims name must still be in the current manifest, and its
 * WorkloadSecretID is the caller's key namespace. Every refusal is a
 * {@link KeyAccessDeniedError} (HTTP 403) saying why.
 *
 * @module
 */
import { encodeHex } from "../../util/bytes/mod.ts";
import { ContrastError } from "../../util/errors/mod.ts";
import { KeyAccessDeniedError } from "../../kms/key_name.ts";
import { matchPolicy } from "../../manifest/policy_match.ts";
import { type Certificate, parseCertificate } from "../../x509/certificate.ts";
import { verifyChain } from "../../x509/chain.ts";
import {
  decodeClaimsExtension,
  OID_SNP_CLAIMS,
  OID_TDX_CLAIMS,
} from "../../protocol/claims_extension.ts";
import type { TransitView } from "./view.ts";

/** An authorised caller. */
export interface TransitClient {
  /** The WorkloadSecretID whose keys it may use. */
  readonly workloadSecretId: string;
  /** The digest of the policy its certificate names. */
  readonly policyDigest: string;
  /** End of its certificate's validity. */
  readonly notAfter: Date;
}

function denied(reason: string, cause?: unknown): KeyAccessDeniedError {
  return new KeyAccessDeniedError("clientCertificate", `permission denied: ${reason}`, { cause });
}

function reasonOf(error: unknown): string {
  return error instanceof ContrastError ? error.message : "malformed";
}

/**
 * Authorises the holder of `leafDer` (the TLS client certificate; possession of its key is proven
 * by the TLS handshake) against `view` at `now`.
 *
 * @throws {KeyAccessDeniedError} naming `clientCertificate` with the reason
 */
export async function authorizeTransitClient(
  view: TransitView,
  leafDer: Uint8Array | undefined,
  now: Date,
): Promise<TransitClient> {
  if (!leafDer || leafDer.length === 0) {
    throw denied(
      "no client certificate: present the pod's mesh certificate " +
        "(/contrast/tls-config/certChain.pem and key.pem)",
    );
  }
  let leaf: Certificate;
  try {
    leaf = parseCertificate(leafDer, "clientCertificate");
  } catch (cause) {
    throw denied(`the client certificate does not parse (${reasonOf(cause)})`, cause);
  }
  const meshCa = parseCertificate(new Uint8Array(view.ca.meshCa.rawData), "meshCa");
  try {
    await verifyChain({ leaf, trustAnchors: [meshCa], now, field: "clientCertificate" });
  } catch (cause) {
    throw denied(
      "the client certificate is not a mesh certificate of the current manifest generation " +
        `(${reasonOf(cause)}); restart the pod to get a current one`,
      cause,
    );
  }
  const extension = leaf.extensions.find((e) =>
    e.oid === OID_SNP_CLAIMS || e.oid === OID_TDX_CLAIMS
  );
  if (!extension) throw denied("the client certificate carries no attestation claims");
  const claims = decodeClaimsExtension(extension.oid, extension.value);
  let digest: string;
  let workloadSecretId: string;
  try {
    const matched = matchPolicy(view.manifest, claims);
    digest = matched.digest;
    workloadSecretId = matched.entry.WorkloadSecretID;
  } catch (cause) {
    throw denied(
      `the client's policy ${encodeHex(claims.hostData)} is not in the current manifest`,
      cause,
    );
  }
  if (workloadSecretId === "") {
    throw denied(`the client's policy ${digest} has no WorkloadSecretID, so it owns no keys`);
  }
  return { workloadSecretId, policyDigest: digest, notAfter: leaf.notAfter };
}
