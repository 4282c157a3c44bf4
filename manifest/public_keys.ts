/**
 * Structural checks of the public keys a manifest names: workload owners (ECDSA P-256/384/521,
 * PKIX DER) and seedshare owners (RSA rsaEncryption, PKIX DER, at least `MIN_RSA_BITS` (`x509/public_key.ts`, 2048)).
 * Both go through the one SubjectPublicKeyInfo parser, `x509/public_key.ts` (strict DER, points
 * checked on the curve); the results are values with a reason instead of exceptions so that a
 * manifest's key errors are all reported together. The keys are imported into WebCrypto where
 * they are used.
 *
 * @module
 */
import { ContrastError, ParseError } from "../util/errors/mod.ts";
import { parsePublicKeyInfo, type PublicKeyInfo } from "../x509/public_key.ts";

/** A structurally valid ECDSA public key in PKIX DER. */
export interface EcdsaPublicKeyInfo {
  /** Always `ecdsa`. */
  readonly kind: "ecdsa";
  /** The named curve. */
  readonly curve: "P-256" | "P-384" | "P-521";
  /** The exact SubjectPublicKeyInfo DER. */
  readonly der: Uint8Array;
}

/** A structurally valid RSA public key in PKIX DER. */
export interface RsaPublicKeyInfo {
  /** Always `rsa`. */
  readonly kind: "rsa";
  /** Size of the modulus in bits. */
  readonly modulusBits: number;
  /** The exact SubjectPublicKeyInfo DER. */
  readonly der: Uint8Array;
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
  const info = parse(der);
  if ("error" in info) return info;
  if (info.kind !== "rsa") {
    return { error: `expected an RSA key (rsaEncryption), got an ${KIND_NAMES[info.kind]} key` };
  }
  if (info.pss) return { error: "expected an RSA key with rsaEncryption, got RSASSA-PSS" };
  return { kind: "rsa", modulusBits: info.bits, der };
}
