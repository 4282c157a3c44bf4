/**
 * Structural checks of the public keys a manifest names: workload owners (ECDSA, PKIX DER) and
 * seedshare owners (RSA, PKIX DER). Parsing is synchronous so manifest errors are all reported
 * together; the keys are imported into WebCrypto where they are used.
 *
 * @module
 */
import { AsnConvert } from "@peculiar/asn1-schema";
import { SubjectPublicKeyInfo } from "@peculiar/asn1-x509";
import { encodeHex } from "../util/bytes/mod.ts";

/** OID of `id-ecPublicKey`. */
export const OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1";
/** OID of `rsaEncryption`. */
export const OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1";

/** Named curves a workload owner key may use, by the hex DER of their OID. */
const CURVES: Readonly<Record<string, { name: "P-256" | "P-384" | "P-521"; coordinate: number }>> =
  {
    "06082a8648ce3d030107": { name: "P-256", coordinate: 32 },
    "06052b81040022": { name: "P-384", coordinate: 48 },
    "06052b81040023": { name: "P-521", coordinate: 66 },
  };

/** A structurally valid ECDSA public key in PKIX DER. */
export interface EcdsaPublicKeyInfo {
  readonly kind: "ecdsa";
  /** The named curve. */
  readonly curve: "P-256" | "P-384" | "P-521";
  /** The exact SubjectPublicKeyInfo DER. */
  readonly der: Uint8Array;
}

/** A structurally valid RSA public key in PKIX DER. */
export interface RsaPublicKeyInfo {
  readonly kind: "rsa";
  /** Size of the modulus in bits. */
  readonly modulusBits: number;
  /** The exact SubjectPublicKeyInfo DER. */
  readonly der: Uint8Array;
}

/** Smallest RSA modulus accepted for seed shares. */
export const MIN_RSA_BITS = 2048;

function parseSpki(der: Uint8Array): SubjectPublicKeyInfo | string {
  try {
    const spki = AsnConvert.parse(der, SubjectPublicKeyInfo);
    const again = new Uint8Array(AsnConvert.serialize(spki));
    if (encodeHex(again) !== encodeHex(der)) return "trailing or non-canonical bytes after the key";
    return spki;
  } catch {
    return "not a DER SubjectPublicKeyInfo";
  }
}

/**
 * Checks that `der` is an ECDSA public key on P-256, P-384 or P-521 with an uncompressed point.
 *
 * @returns the key's description, or a reason why it is not one
 */
export function readEcdsaPublicKey(der: Uint8Array): EcdsaPublicKeyInfo | { error: string } {
  const spki = parseSpki(der);
  if (typeof spki === "string") return { error: spki };
  if (spki.algorithm.algorithm !== OID_EC_PUBLIC_KEY) {
    return {
      error: `expected an ECDSA key (${OID_EC_PUBLIC_KEY}), got ${spki.algorithm.algorithm}`,
    };
  }
  const params = spki.algorithm.parameters;
  const curve = params ? CURVES[encodeHex(new Uint8Array(params as ArrayBuffer))] : undefined;
  if (!curve) return { error: "unsupported curve (expected P-256, P-384 or P-521)" };
  const point = new Uint8Array(spki.subjectPublicKey);
  if (point.length !== 1 + 2 * curve.coordinate || point[0] !== 0x04) {
    return { error: `expected an uncompressed ${curve.name} point` };
  }
  return { kind: "ecdsa", curve: curve.name, der };
}

/** Reads a DER length at `at`; returns [length, offset of the content] or undefined. */
function derLength(bytes: Uint8Array, at: number): [number, number] | undefined {
  const first = bytes[at];
  if (first === undefined) return undefined;
  if (first < 0x80) return [first, at + 1];
  const n = first & 0x7f;
  if (n === 0 || n > 4 || at + 1 + n > bytes.length) return undefined;
  let length = 0;
  for (let i = 0; i < n; i++) length = length * 256 + bytes[at + 1 + i]!;
  return [length, at + 1 + n];
}

/**
 * Checks that `der` is an RSA public key (rsaEncryption) with a modulus of at least
 * {@link MIN_RSA_BITS} bits.
 *
 * @returns the key's description, or a reason why it is not one
 */
export function readRsaPublicKey(der: Uint8Array): RsaPublicKeyInfo | { error: string } {
  const spki = parseSpki(der);
  if (typeof spki === "string") return { error: spki };
  if (spki.algorithm.algorithm !== OID_RSA_ENCRYPTION) {
    return {
      error: `expected an RSA key (${OID_RSA_ENCRYPTION}), got ${spki.algorithm.algorithm}`,
    };
  }
  // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
  const key = new Uint8Array(spki.subjectPublicKey);
  const seq = key[0] === 0x30 ? derLength(key, 1) : undefined;
  const modulus = seq && key[seq[1]] === 0x02 ? derLength(key, seq[1] + 1) : undefined;
  if (!seq || !modulus || modulus[1] + modulus[0] > key.length) {
    return { error: "malformed RSAPublicKey" };
  }
  let start = modulus[1];
  let length = modulus[0];
  while (length > 0 && key[start] === 0) {
    start++;
    length--;
  }
  const top = key[start] ?? 0;
  const bits = length === 0 ? 0 : (length - 1) * 8 + (32 - Math.clz32(top));
  if (bits < MIN_RSA_BITS) {
    return { error: `RSA modulus has ${bits} bits, at least ${MIN_RSA_BITS} required` };
  }
  return { kind: "rsa", modulusBits: bits, der };
}
