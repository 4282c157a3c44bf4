/**
 * Structural checks of the public keys a manifest names: workload owners (ECDSA P-256/384/521,
 * PKIX DER) and seedshare owners (RSA rsaEncryption, at least `MIN_RSA_BITS` (`x509/public_key.ts`,
 * 2048), as PKCS#1 `RSAPublicKey` DER — Edgeless Contrast's encoding, which `generate` writes — or
 * as PKIX DER, which earlier contrast manifests carry).
 * Both go through the one SubjectPublicKeyInfo parser, `x509/public_key.ts` (strict DER, points
 * checked on the curve); the results are values with a reason instead of exceptions so that a
 * manifest's key errors are all reported together. The keys are imported into WebCrypto where
 * they are used.
 *
 * @module
 */
import { ContrastError, ParseError } from "../util/errors/mod.ts";
import { parsePublicKeyInfo, type PublicKeyInfo } from "../x509/public_key.ts";
import { children, encodeElement, readElement, Tag } from "../x509/der.ts";
import { constantTimeEqual, decodeHex, encodeHex } from "../util/bytes/mod.ts";

/** A structurally valid ECDSA public key in PKIX DER. */
export interface EcdsaPublicKeyInfo {
  /** Always `ecdsa`. */
  readonly kind: "ecdsa";
  /** The named curve. */
  readonly curve: "P-256" | "P-384" | "P-521";
  /** The exact SubjectPublicKeyInfo DER. */
  readonly der: Uint8Array;
}

/** A structurally valid RSA public key, in PKIX DER whichever encoding it was given in. */
export interface RsaPublicKeyInfo {
  /** Always `rsa`. */
  readonly kind: "rsa";
  /** Size of the modulus in bits. */
  readonly modulusBits: number;
  /** The SubjectPublicKeyInfo DER (given, or built around the given PKCS#1 key). */
  readonly der: Uint8Array;
  /** The PKCS#1 `RSAPublicKey` DER (Edgeless Contrast's encoding of seedshare owner keys). */
  readonly pkcs1: Uint8Array;
  /** How the key was given: PKIX SubjectPublicKeyInfo or PKCS#1 RSAPublicKey. */
  readonly encoding: "spki" | "pkcs1";
}

const ALL_CURVES = ["P-256", "P-384", "P-521"] as const;

const KIND_NAMES: Readonly<Record<PublicKeyInfo["kind"], string>> = {
  rsa: "RSA",
  ec: "EC",
  ed25519: "Ed25519",
};

function parse(der: Uint8Array): PublicKeyInfo | { error: string } {
  try {
    return parsePublicKeyInfo(der, "key", { curves: ALL_CURVES });
  } catch (e) {
    if (e instanceof ParseError) return { error: `not a DER SubjectPublicKeyInfo: ${e.reason}` };
    if (e instanceof ContrastError) return { error: e.reason };
    throw e;
  }
}

/**
 * Checks that `der` is an ECDSA public key on P-256, P-384 or P-521 with an uncompressed point
 * on the curve.
 *
 * @returns the key's description, or a reason why it is not one
 */
export function readEcdsaPublicKey(der: Uint8Array): EcdsaPublicKeyInfo | { error: string } {
  const info = parse(der);
  if ("error" in info) return info;
  if (info.kind !== "ec") {
    return { error: `expected an ECDSA key, got an ${KIND_NAMES[info.kind]} key` };
  }
  return { kind: "ecdsa", curve: info.curve, der };
}

/**
 * Checks that `der` is an RSA public key (rsaEncryption) with a modulus of at least
 * `MIN_RSA_BITS` (`x509/public_key.ts`, 2048) bits.
 *
 * @returns the key's description, or a reason why it is not one
 */
export function readRsaPublicKey(der: Uint8Array): RsaPublicKeyInfo | { error: string } {
  const pkcs1Given = isPkcs1RsaPublicKey(der);
  const spki = pkcs1Given ? spkiOfPkcs1(der) : der;
  const info = parse(spki);
  if ("error" in info) {
    return pkcs1Given ? info : { error: `${info.error} (nor a PKCS#1 RSAPublicKey)` };
  }
  if (info.kind !== "rsa") {
    return { error: `expected an RSA key (rsaEncryption), got an ${KIND_NAMES[info.kind]} key` };
  }
  if (info.pss) return { error: "expected an RSA key with rsaEncryption, got RSASSA-PSS" };
  return {
    kind: "rsa",
    modulusBits: info.bits,
    der: spki,
    pkcs1: pkcs1Given ? der : pkcs1OfSpki(spki),
    encoding: pkcs1Given ? "pkcs1" : "spki",
  };
}

/** DER of the rsaEncryption AlgorithmIdentifier: SEQUENCE { 1.2.840.113549.1.1.1, NULL }. */
const RSA_ENCRYPTION_ALGORITHM = Uint8Array.of(
  0x30,
  0x0d,
  0x06,
  0x09,
  0x2a,
  0x86,
  0x48,
  0x86,
  0xf7,
  0x0d,
  0x01,
  0x01,
  0x01,
  0x05,
  0x00,
); // deno-fmt-ignore

/**
 * Whether `der` is exactly one PKCS#1 `RSAPublicKey` (SEQUENCE of two INTEGERs); a
 * SubjectPublicKeyInfo starts with a SEQUENCE (the algorithm) instead.
 */
function isPkcs1RsaPublicKey(der: Uint8Array): boolean {
  try {
    const outer = readElement(der, 0, "key");
    if (outer.tag !== Tag.sequence || outer.end !== der.length) return false;
    const parts = children(outer, "key");
    return parts.length === 2 && parts.every((p) => p.tag === Tag.integer);
  } catch {
    return false;
  }
}

/** The SubjectPublicKeyInfo carrying the PKCS#1 key `pkcs1`. */
function spkiOfPkcs1(pkcs1: Uint8Array): Uint8Array {
  return encodeElement(
    Tag.sequence,
    RSA_ENCRYPTION_ALGORITHM,
    encodeElement(Tag.bitString, Uint8Array.of(0), pkcs1),
  );
}

/** The PKCS#1 key inside a (parsed, valid) RSA SubjectPublicKeyInfo. */
function pkcs1OfSpki(spki: Uint8Array): Uint8Array {
  const [, bits] = children(readElement(spki, 0, "key"), "key");
  return bits!.value.subarray(1);
}

/**
 * The hex PKCS#1 DER of the RSA key `hex` (PKCS#1 or PKIX DER): how Edgeless Contrast writes
 * `SeedshareOwnerPubKeys`, and so how `contrast generate` writes them.
 *
 * @throws {ParseError} naming `field` when `hex` is not an RSA public key
 */
export function seedshareOwnerKeyHex(hex: string, field: string): string {
  const info = readRsaPublicKey(decodeHex(hex, field));
  if ("error" in info) throw new ParseError(field, info.error);
  return encodeHex(info.pkcs1);
}

/**
 * Whether the hex-encoded keys `a` and `b` are the same RSA key, each given as PKIX DER or
 * PKCS#1 DER (Contrast's encoding). Malformed keys equal nothing.
 */
export function sameRsaPublicKey(a: Uint8Array, b: Uint8Array): boolean {
  const ka = readRsaPublicKey(a);
  const kb = readRsaPublicKey(b);
  if ("error" in ka || "error" in kb) return false;
  return constantTimeEqual(ka.der, kb.der);
}
