/**
 * X.509 for attestation: certificates and CRLs parsed with their exact signed bytes, signature
 * verification with WebCrypto (RSA-PSS, RSA PKCS#1 v1.5, ECDSA P-256/P-384, Ed25519), chain
 * verification to roots pinned by SHA-256 fingerprint, revocation, and a cache of verified chains.
 *
 * @example Parse PEM certificates and read their fingerprints
 * ```ts
 * import { parseCertificates } from "./mod.ts";
 *
 * async function fingerprints(pem: string): Promise<string[]> {
 *   const certificates = parseCertificates(pem, "certificates.pem");
 *   return await Promise.all(certificates.map((c) => c.fingerprint()));
 * }
 * ```
 *
 * @module
 */
// Parse: certificates and CRLs with their exact signed bytes.
export {
  type BasicConstraints,
  Certificate,
  certificateFingerprint,
  parseCertificate,
  parseCertificates,
  type SignedParts,
  type X509Extension,
} from "./certificate.ts";
export type { DerElement } from "./der.ts";
export { Crl, parseCrl, type RevokedEntry, verifyCrl } from "./crl.ts";
export {
  type EcCurve,
  parsePublicKeyInfo,
  type ParsePublicKeyOptions,
  type PublicKeyInfo,
} from "./public_key.ts";
export type { SignatureAlgorithm, SignatureHash } from "./algorithms.ts";
// Verify: signatures and chains to pinned roots, with revocation; a cache of verified chains.
export { verifyCertificateSignature } from "./signature.ts";
export {
  type TrustAnchor,
  type VerifiedChain,
  verifyChain,
  type VerifyChainOptions,
} from "./chain.ts";
export { type CachedChain, ChainCache, type ChainCacheOptions } from "./chain_cache.ts";
