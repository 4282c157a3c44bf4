/**
 * Signature algorithm identifiers of X.509 certificates and CRLs, decoded into what WebCrypto
 * needs. Only strong algorithms are known; anything else (SHA-1, MGF1 with a different hash, an
 * unknown OID) is an error, never a pass.
 *
 * @module
 */
import { ParseError, VerificationError } from "../util/errors/mod.ts";
import {
  children,
  type DerElement,
  expectTag,
  readElement,
  readOid,
  readSmallInteger,
  Tag,
} from "./der.ts";

/**
 * Hash functions accepted in signatures.
 *
 * @example Hashes the verifiers accept
 * ```ts
 * import type { SignatureHash } from "./mod.ts";
 *
 * const strongest: SignatureHash = "SHA-512";
 * ```
 */
export type SignatureHash = "SHA-256" | "SHA-384" | "SHA-512";

/**
 * A decoded signature algorithm.
 *
 * @example Describe a signature algorithm
 * ```ts
 * import type { SignatureAlgorithm } from "./mod.ts";
 *
 * function describe(alg: SignatureAlgorithm): string {
 *   return alg.kind === "ed25519" ? "Ed25519" : `${alg.kind} with ${alg.hash}`;
 * }
 * ```
 */
export type SignatureAlgorithm =
  | { readonly kind: "rsa-pss"; readonly hash: SignatureHash; readonly saltLength: number }
  | { readonly kind: "rsa-pkcs1"; readonly hash: SignatureHash }
  | { readonly kind: "ecdsa"; readonly hash: SignatureHash }
  | { readonly kind: "ed25519" };

/** Object identifiers contrast recognises in algorithm identifiers. */
export const AlgorithmOid = {
  rsaEncryption: "1.2.840.113549.1.1.1",
  rsassaPss: "1.2.840.113549.1.1.10",
  mgf1: "1.2.840.113549.1.1.8",
  sha256WithRsa: "1.2.840.113549.1.1.11",
  sha384WithRsa: "1.2.840.113549.1.1.12",
  sha512WithRsa: "1.2.840.113549.1.1.13",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  ecdsaWithSha384: "1.2.840.10045.4.3.3",
  ecdsaWithSha512: "1.2.840.10045.4.3.4",
  ed25519: "1.3.101.112",
  ecPublicKey: "1.2.840.10045.2.1",
  p256: "1.2.840.10045.3.1.7",
  p384: "1.3.132.0.34",
  p521: "1.3.132.0.35",
  sha1: "1.3.14.3.2.26",
  sha256: "2.16.840.1.101.3.4.2.1",
  sha384: "2.16.840.1.101.3.4.2.2",
  sha512: "2.16.840.1.101.3.4.2.3",
} as const;

const HASH_BY_OID: Readonly<Record<string, SignatureHash>> = {
  [AlgorithmOid.sha256]: "SHA-256",
  [AlgorithmOid.sha384]: "SHA-384",
  [AlgorithmOid.sha512]: "SHA-512",
};

const RSA_PKCS1: Readonly<Record<string, SignatureHash>> = {
  [AlgorithmOid.sha256WithRsa]: "SHA-256",
  [AlgorithmOid.sha384WithRsa]: "SHA-384",
  [AlgorithmOid.sha512WithRsa]: "SHA-512",
};

const ECDSA: Readonly<Record<string, SignatureHash>> = {
  [AlgorithmOid.ecdsaWithSha256]: "SHA-256",
  [AlgorithmOid.ecdsaWithSha384]: "SHA-384",
  [AlgorithmOid.ecdsaWithSha512]: "SHA-512",
};

/** The OID and optional parameters of an AlgorithmIdentifier element. */
export function readAlgorithmIdentifier(
  el: DerElement,
  field: string,
): { oid: string; params?: DerElement } {
  expectTag(el, Tag.sequence, field);
  const parts = children(el, field);
  if (parts.length < 1 || parts.length > 2) {
    throw new ParseError(field, `AlgorithmIdentifier has ${parts.length} elements`);
  }
  return { oid: readOid(parts[0]!, `${field}.algorithm`), params: parts[1] };
}

function isNullOrAbsent(params: DerElement | undefined): boolean {
  return params === undefined || (params.tag === Tag.null && params.value.length === 0);
}

/** A hash AlgorithmIdentifier (NULL or absent parameters) as a {@link SignatureHash}. */
function readHash(el: DerElement, field: string): SignatureHash {
  const { oid, params } = readAlgorithmIdentifier(el, field);
  if (oid === AlgorithmOid.sha1) {
    throw new VerificationError(field, "SHA-1 is not accepted in signatures");
  }
  const hash = HASH_BY_OID[oid];
  if (!hash) throw new VerificationError(field, `unsupported hash algorithm ${oid}`);
  if (!isNullOrAbsent(params)) throw new ParseError(field, "hash parameters must be NULL");
  return hash;
}

/** RSASSA-PSS-params (RFC 4055): hash, MGF1 with the same hash, salt length, trailer 1. */
function readPssParams(params: DerElement | undefined, field: string): SignatureAlgorithm {
  if (params === undefined) {
    throw new VerificationError(field, "RSASSA-PSS without parameters means SHA-1: not accepted");
  }
  expectTag(params, Tag.sequence, field);
  let hash: SignatureHash | undefined;
  let mgfHash: SignatureHash | undefined;
  let saltLength = 20;
  let trailer = 1;
  let lastTag = -1;
  for (const part of children(params, field)) {
    if (part.tag <= lastTag) throw new ParseError(field, "RSASSA-PSS parameters out of order");
    lastTag = part.tag;
    const inner = readElement(part.value, 0, field);
    switch (part.tag) {
      case 0xa0:
        hash = readHash(inner, `${field}.hashAlgorithm`);
        break;
      case 0xa1: {
        const mgf = readAlgorithmIdentifier(inner, `${field}.maskGenAlgorithm`);
        if (mgf.oid !== AlgorithmOid.mgf1 || mgf.params === undefined) {
          throw new VerificationError(
            `${field}.maskGenAlgorithm`,
            `unsupported mask generation ${mgf.oid}`,
          );
        }
        mgfHash = readHash(mgf.params, `${field}.maskGenAlgorithm.hash`);
        break;
      }
      case 0xa2:
        saltLength = readSmallInteger(inner, `${field}.saltLength`);
        break;
      case 0xa3:
        trailer = readSmallInteger(inner, `${field}.trailerField`);
        break;
      default:
        throw new ParseError(field, `unknown RSASSA-PSS parameter tag 0x${part.tag.toString(16)}`);
    }
  }
  if (hash === undefined) {
    throw new VerificationError(`${field}.hashAlgorithm`, "default SHA-1 is not accepted");
  }
  if (mgfHash !== hash) {
    throw new VerificationError(
      `${field}.maskGenAlgorithm`,
      `MGF1 hash ${mgfHash ?? "SHA-1 (default)"} differs from the signature hash ${hash}`,
    );
  }
  if (trailer !== 1) throw new VerificationError(`${field}.trailerField`, "trailer must be 1");
  return { kind: "rsa-pss", hash, saltLength };
}

/**
 * Decodes a signature AlgorithmIdentifier element.
 *
 * @throws {VerificationError} naming `field` for an unknown or weak algorithm
 * @throws {ParseError} naming `field` for malformed parameters
 */
export function readSignatureAlgorithm(el: DerElement, field: string): SignatureAlgorithm {
  const { oid, params } = readAlgorithmIdentifier(el, field);
  if (oid === AlgorithmOid.rsassaPss) return readPssParams(params, `${field}.parameters`);
  const pkcs1 = RSA_PKCS1[oid];
  if (pkcs1) {
    if (!isNullOrAbsent(params)) throw new ParseError(field, "RSA parameters must be NULL");
    return { kind: "rsa-pkcs1", hash: pkcs1 };
  }
  const ecdsa = ECDSA[oid];
  if (ecdsa) {
    if (params !== undefined) throw new ParseError(field, "ECDSA parameters must be absent");
    return { kind: "ecdsa", hash: ecdsa };
  }
  if (oid === AlgorithmOid.ed25519) {
    if (params !== undefined) throw new ParseError(field, "Ed25519 parameters must be absent");
    return { kind: "ed25519" };
  }
  throw new VerificationError(field, `unsupported signature algorithm ${oid}`);
}

/** A short human-readable name of `alg`, e.g. `RSA-PSS/SHA-384/salt 48`. */
export function describeSignatureAlgorithm(alg: SignatureAlgorithm): string {
  switch (alg.kind) {
    case "rsa-pss":
      return `RSA-PSS/${alg.hash}/salt ${alg.saltLength}`;
    case "rsa-pkcs1":
      return `RSA-PKCS1-v1_5/${alg.hash}`;
    case "ecdsa":
      return `ECDSA/${alg.hash}`;
    case "ed25519":
      return "Ed25519";
  }
}
