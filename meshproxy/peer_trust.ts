/**
 * The proxy's own check of a peer's certificate. At the ingress, for connections whose TLS
 * handshake checked none: a resumed session. At the egress, for every server: Deno's `node:tls`
 * client accepts a server certificate that webpki finds malformed (`BadDer`, e.g. an unreadable
 * extKeyUsage) when its issuer *name* is a trusted CA's subject, without checking its signature
 * (a fallback meant for X.509 v1 certificates), so the name alone would pass. At the ingress, Deno's `node:tls` servers share one session-ticket key per process
 * (every listener, across credential reloads) and a resumed handshake runs no certificate check;
 * the peer certificate is the one stored in the ticket, verified when the session began, against
 * the mesh CA and at the time of then. So a resumed session is verified again here: signed by the
 * listener's current mesh CA, valid now, not a CA, usable for the TLS role it plays.
 *
 * @module
 */
import { VerificationError } from "../util/errors/mod.ts";
import { type Certificate, ExtensionOid, parseCertificate } from "../x509/certificate.ts";
import { verifyChain } from "../x509/chain.ts";
import type { ChainCache } from "../x509/chain_cache.ts";
import { children, readOid, readSingle, Tag } from "../x509/der.ts";

/** The TLS role a peer's certificate must allow (extended key usage). */
type PeerRole = "clientAuth" | "serverAuth";

const ROLE_OIDS: Readonly<Record<PeerRole, string>> = {
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
};

/** The extended key usages of `cert`, or undefined when it has no such extension (any usage). */
function extendedKeyUsages(cert: Certificate, field: string): string[] | undefined {
  const value = cert.extension(ExtensionOid.extKeyUsage);
  if (value === undefined) return undefined;
  const list = readSingle(value, Tag.sequence, `${field}.extKeyUsage`);
  return children(list, `${field}.extKeyUsage`).map((oid) => readOid(oid, `${field}.extKeyUsage`));
}

/**
 * Verifies a peer's leaf certificate (DER) against `meshCa` at `now` for `role`; `cache` (optional)
 * remembers verified chains (only positive results, only while valid, keyed by the anchor too).
 *
 * @example Check a resumed client's certificate
 * ```ts
 * import type { Certificate } from "../x509/certificate.ts";
 * import { verifyPeerLeaf } from "./peer_trust.ts";
 *
 * async function stillTrusted(raw: Uint8Array, meshCa: Certificate): Promise<boolean> {
 *   try {
 *     await verifyPeerLeaf(raw, meshCa, new Date(), "clientAuth");
 *     return true;
 *   } catch {
 *     return false;
 *   }
 * }
 * ```
 *
 * @throws {VerificationError} naming `peer certificate` and the reason (another CA, expired, a CA
 *   certificate, no such key usage, malformed)
 */
export async function verifyPeerLeaf(
  der: Uint8Array,
  meshCa: Certificate,
  now: Date,
  role: PeerRole,
  cache?: ChainCache,
): Promise<void> {
  const field = "peer certificate";
  let leaf: Certificate;
  try {
    leaf = parseCertificate(der, field);
  } catch (error) {
    throw new VerificationError(field, `unreadable: ${(error as Error).message}`);
  }
  // Signature by the mesh CA, validity of both at `now`, no unknown critical extension.
  await verifyChain({
    leaf,
    trustAnchors: [meshCa],
    now,
    field,
    maxLength: 2,
    ...(cache ? { cache } : {}),
  });
  try {
    if (leaf.basicConstraints?.ca) throw new VerificationError(field, "is a CA certificate");
    const usages = extendedKeyUsages(leaf, field);
    if (usages !== undefined && !usages.includes(ROLE_OIDS[role])) {
      throw new VerificationError(field, `lacks the ${role} extended key usage`);
    }
  } catch (error) {
    if (error instanceof VerificationError) throw error;
    throw new VerificationError(field, `unreadable: ${(error as Error).message}`);
  }
}
