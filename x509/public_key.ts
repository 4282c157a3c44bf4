/**
 * SubjectPublicKeyInfo decoding and import into WebCrypto verification keys.
 *
 * @module
 */
import { ParseError, VerificationError } from "../util/errors/mod.ts";
import { AlgorithmOid, readAlgorithmIdentifier, type SignatureAlgorithm } from "./algorithms.ts";
import {
  children,
  encodeElement,
  readBitStringBytes,
  readOid,
  readSingle,
  readUnsignedInteger,
  Tag,
} from "./der.ts";

/**
 * Elliptic curves ECDSA keys may use.
 *
 * @example Accept only P-384 keys
 * ```ts
 * import { type EcCurve, parsePublicKeyInfo } from "./mod.ts";
 *
 * const curves: readonly EcCurve[] = ["P-384"];
 * function parseP384(spki: Uint8Array) {
 *   return parsePublicKeyInfo(spki, "key", { curves });
 * }
 * ```
 */
export type EcCurve = "P-256" | "P-384" | "P-521";

/** The coordinate size in bytes of each curve. */
export const CURVE_SIZE: Readonly<Record<EcCurve, number>> = {
  "P-256": 32,
  "P-384": 48,
  "P-521": 66,
};

/** The curves certificate chains may use (the vendor chains and contrast's own CAs). */
const CERTIFICATE_CURVES: readonly EcCurve[] = ["P-256", "P-384"];

/**
 * Smallest RSA modulus accepted, in bits: the one minimum for every RSA key contrast reads
 * (certificate chains and the manifest's seedshare owner keys alike).
 */
export const MIN_RSA_BITS = 2048;

/**
 * Options of {@link parsePublicKeyInfo}.
 *
 * @example Accept P-256 and P-384
 * ```ts
 * import type { ParsePublicKeyOptions } from "./mod.ts";
 *
 * const options: ParsePublicKeyOptions = { curves: ["P-256", "P-384"] };
 * ```
 */
export interface ParsePublicKeyOptions {
  /** The curves accepted for EC keys (default {@link CERTIFICATE_CURVES}). */
  readonly curves?: readonly EcCurve[];
}

/**
 * A decoded SubjectPublicKeyInfo.
 *
 * @example Describe a certificate's key
 * ```ts
 * import type { Certificate, PublicKeyInfo } from "./mod.ts";
 *
 * function keyText(cert: Certificate): string {
 *   const key: PublicKeyInfo = cert.publicKey;
 *   return key.kind === "rsa" ? `RSA ${key.bits}` : key.kind === "ec" ? `EC ${key.curve}` : "Ed25519";
 * }
 * ```
 */
export type PublicKeyInfo =
  | {
    readonly kind: "rsa";
    /** Modulus size in bits. */
    readonly bits: number;
    /** SPKI DER with the rsaEncryption algorithm (what WebCrypto imports). */
    readonly spki: Uint8Array;
    /** Whether the SPKI named id-RSASSA-PSS (then {@link spki} is rewritten to rsaEncryption). */
    readonly pss: boolean;
  }
  | {
    readonly kind: "ec";
    readonly curve: EcCurve;
    /** The SPKI DER as found. */
    readonly spki: Uint8Array;
    /** The uncompressed point `04 ‖ x ‖ y`. */
    readonly point: Uint8Array;
  }
  | {
    readonly kind: "ed25519";
    /** The SPKI DER as found. */
    readonly spki: Uint8Array;
  };

const CURVE_BY_OID: Readonly<Record<string, EcCurve>> = {
  [AlgorithmOid.p256]: "P-256",
  [AlgorithmOid.p384]: "P-384",
  [AlgorithmOid.p521]: "P-521",
};

const RSA_ENCRYPTION_ALGORITHM = encodeElement(
  Tag.sequence,
  encodeElement(Tag.oid, Uint8Array.of(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01)),
  Uint8Array.of(Tag.null, 0),
);

/**
 * Decodes SubjectPublicKeyInfo DER.
 *
 * @throws {ParseError} naming `field` on malformed DER
 * @throws {VerificationError} naming `field` on an unsupported algorithm or curve, or an RSA key
 *   shorter than {@link MIN_RSA_BITS}
 *
 * @example Parse and check a SubjectPublicKeyInfo (minimum RSA size, point on the curve)
 * ```ts
 * import { parsePublicKeyInfo } from "./mod.ts";
 *
 * function kindOf(spki: Uint8Array): string {
 *   return parsePublicKeyInfo(spki, "publicKey").kind;
 * }
 * ```
 */
export function parsePublicKeyInfo(
  spki: Uint8Array,
  field: string,
  options: ParsePublicKeyOptions = {},
): PublicKeyInfo {
  const outer = readSingle(spki, Tag.sequence, field);
  const parts = children(outer, field);
  if (parts.length !== 2) throw new ParseError(field, "SubjectPublicKeyInfo needs 2 elements");
  const { oid, params } = readAlgorithmIdentifier(parts[0]!, `${field}.algorithm`);
  const key = readBitStringBytes(parts[1]!, `${field}.subjectPublicKey`);
  if (oid === AlgorithmOid.rsaEncryption || oid === AlgorithmOid.rsassaPss) {
    const rsa = readSingle(key, Tag.sequence, `${field}.subjectPublicKey`);
    const ints = children(rsa, `${field}.subjectPublicKey`);
    if (ints.length !== 2) throw new ParseError(`${field}.subjectPublicKey`, "RSAPublicKey shape");
    const modulus = readUnsignedInteger(ints[0]!, `${field}.modulus`);
    readUnsignedInteger(ints[1]!, `${field}.publicExponent`);
    const bits = modulus.length * 8 - Math.clz32(modulus[0]!) + 24;
    if (bits < MIN_RSA_BITS) {
      throw new VerificationError(field, `RSA key of ${bits} bits is below ${MIN_RSA_BITS}`);
    }
    const normalised = oid === AlgorithmOid.rsaEncryption
      ? spki
      : encodeElement(Tag.sequence, RSA_ENCRYPTION_ALGORITHM, parts[1]!.raw);
    return { kind: "rsa", bits, spki: normalised, pss: oid !== AlgorithmOid.rsaEncryption };
  }
  if (oid === AlgorithmOid.ecPublicKey) {
    if (params === undefined) throw new ParseError(`${field}.algorithm`, "EC key without curve");
    const curveOid = readOid(params, `${field}.algorithm.namedCurve`);
    const curve = CURVE_BY_OID[curveOid];
    if (!curve || !(options.curves ?? CERTIFICATE_CURVES).includes(curve)) {
      throw new VerificationError(field, `unsupported elliptic curve ${curveOid}`);
    }
    if (key.length !== 1 + 2 * CURVE_SIZE[curve] || key[0] !== 0x04) {
      throw new ParseError(`${field}.subjectPublicKey`, `not an uncompressed ${curve} point`);
    }
    assertOnCurve(key, curve, `${field}.subjectPublicKey`);
    return { kind: "ec", curve, spki, point: key };
  }
  if (oid === AlgorithmOid.ed25519) {
    if (key.length !== 32) throw new ParseError(`${field}.subjectPublicKey`, "Ed25519 key size");
    return { kind: "ed25519", spki };
  }
  throw new VerificationError(field, `unsupported public key algorithm ${oid}`);
}

/**
 * Checks that the uncompressed point `04 ‖ x ‖ y` lies on `curve` (WebCrypto in Deno does not).
 *
 * @throws {VerificationError} naming `field` when it does not
 */
export function assertOnCurve(point: Uint8Array, curve: EcCurve, field: string): void {
  const { p, b } = CURVE_EQUATION[curve];
  const size = CURVE_SIZE[curve];
  if (point.length !== 1 + 2 * size || point[0] !== 0x04) {
    throw new VerificationError(field, `not an uncompressed ${curve} point`);
  }
  const x = bigIntOf(point.subarray(1, 1 + size));
  const y = bigIntOf(point.subarray(1 + size));
  // y² = x³ − 3x + b (mod p), both coordinates reduced. The NIST curves have cofactor 1, so a
  // point on the curve is in the prime-order group; the point at infinity has no uncompressed form.
  const onCurve = x < p && y < p && (y * y - (x * x * x - 3n * x + b)) % p === 0n;
  if (!onCurve) throw new VerificationError(field, `not a point on ${curve}`);
}

/**
 * The short Weierstrass equations of the NIST curves (a = −3), from FIPS 186-5 / SEC 2. Checking
 * the equation with native BigInts spares loading an elliptic-curve library for this one test.
 */
const CURVE_EQUATION: Readonly<Record<EcCurve, { readonly p: bigint; readonly b: bigint }>> = {
  "P-256": {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  },
  "P-384": {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  },
  "P-521": {
    p: (1n << 521n) - 1n,
    b: 0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
  },
};

function bigIntOf(bytes: Uint8Array): bigint {
  // The engine's toHex, not a string built byte by byte: this runs for every mesh leaf key.
  return BigInt(`0x0${bytes.toHex()}`);
}

/**
 * Imports `key` as a WebCrypto key that verifies signatures of algorithm `alg`.
 *
 * @throws {VerificationError} naming `field` when the key type does not fit the algorithm or
 *   WebCrypto refuses the key
 */
export async function importVerifyKey(
  key: PublicKeyInfo,
  alg: SignatureAlgorithm,
  field: string,
): Promise<CryptoKey> {
  let params: RsaHashedImportParams | EcKeyImportParams | Algorithm;
  if (alg.kind === "rsa-pss" || alg.kind === "rsa-pkcs1") {
    if (key.kind !== "rsa") throw mismatch(key, alg, field);
    params = { name: alg.kind === "rsa-pss" ? "RSA-PSS" : "RSASSA-PKCS1-v1_5", hash: alg.hash };
  } else if (alg.kind === "ecdsa") {
    if (key.kind !== "ec") throw mismatch(key, alg, field);
    params = { name: "ECDSA", namedCurve: key.curve };
  } else {
    if (key.kind !== "ed25519") throw mismatch(key, alg, field);
    params = { name: "Ed25519" };
  }
  try {
    return await crypto.subtle.importKey(
      "spki",
      key.spki as Uint8Array<ArrayBuffer>,
      params,
      false,
      ["verify"],
    );
  } catch (e) {
    throw new VerificationError(field, `public key rejected by WebCrypto: ${String(e)}`, {
      cause: e,
    });
  }
}

function mismatch(key: PublicKeyInfo, alg: SignatureAlgorithm, field: string): VerificationError {
  return new VerificationError(field, `a ${key.kind} key cannot verify ${alg.kind} signatures`);
}
