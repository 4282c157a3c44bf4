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
export * from "./algorithms.ts";
export * from "./certificate.ts";
export * from "./chain.ts";
export * from "./chain_cache.ts";
export * from "./crl.ts";
export * from "./der.ts";
export * from "./public_key.ts";
export * from "./signature.ts";
