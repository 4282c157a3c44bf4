/**
 * Signature verification with WebCrypto: certificate and CRL signatures (RSA-PSS with the hash
 * and salt length of the algorithm parameters, RSA PKCS#1 v1.5, ECDSA P-256/P-384, Ed25519), and
 * a low-level ECDSA check for attestation reports and quotes.
 *
 * Deno's `node:crypto` `X509Certificate.verify()` wrongly rejects RSA-PSS; nothing here uses it.
 *
 * @module
 */
import { ParseError, VerificationError } from "../util/errors/mod.ts";
import { constantTimeEqual } from "../util/bytes/mod.ts";
import {
  describeSignatureAlgorithm,
  readSignatureAlgorithm,
  type SignatureAlgorithm,
  type SignatureHash,
} from "./algorithms.ts";
import { children, readSingle, readUnsignedInteger, Tag } from "./der.ts";
import type { Certificate, SignedParts } from "./certificate.ts";
import {
  assertOnCurve,
  CURVE_SIZE,
  type EcCurve,
  importVerifyKey,
  parsePublicKeyInfo,
  type PublicKeyInfo,
} from "./public_key.ts";

/**
 * Converts a DER `ECDSA-Sig-Value` (SEQUENCE of r and s) into the fixed-size `r ‖ s` WebCrypto
 * verifies.
 *
 * @throws {ParseError} naming `field` when it is not strict DER or r/s do not fit the curve
 */
export function ecdsaDerToRaw(der: Uint8Array, curve: EcCurve, field: string): Uint8Array {
  const size = CURVE_SIZE[curve];
  const seq = readSingle(der, Tag.sequence, field);
  const parts = children(seq, field);
  if (parts.length !== 2) throw new ParseError(field, "ECDSA signature needs r and s");
  const out = new Uint8Array(2 * size);
  parts.forEach((part, i) => {
    const name = i === 0 ? "r" : "s";
    const magnitude = readUnsignedInteger(part, `${field}.${name}`);
    if (magnitude.length > size) {
      throw new ParseError(`${field}.${name}`, `longer than ${size} bytes for ${curve}`);
    }
    out.set(magnitude, i * size + size - magnitude.length);
  });
  return out;
}

function webCryptoParams(
  alg: SignatureAlgorithm,
): AlgorithmIdentifier | RsaPssParams | EcdsaParams {
  switch (alg.kind) {
    case "rsa-pss":
      return { name: "RSA-PSS", saltLength: alg.saltLength };
    case "rsa-pkcs1":
      return { name: "RSASSA-PKCS1-v1_5" };
    case "ecdsa":
      return { name: "ECDSA", hash: alg.hash };
    case "ed25519":
      return { name: "Ed25519" };
  }
}

/**
 * Verifies the signature of a signed X.509 structure (certificate or CRL) with `issuerKey`.
 * The signed and the outer algorithm identifiers must be identical.
 *
 * @param field names the signed object in errors, e.g. `ask`
 * @param issuerName names the signer in errors (a function is only called on failure)
 * @throws {VerificationError} naming `field` when the algorithm is unsupported or mismatched, the
 *   key does not fit, or the signature does not verify
 */
export async function verifySignedParts(
  signed: SignedParts,
  issuerKey: PublicKeyInfo,
  field: string,
  issuerName: string | (() => string) = "the issuer",
): Promise<void> {
  if (!constantTimeEqual(signed.signatureAlgorithm.raw, signed.innerSignatureAlgorithm.raw)) {
    throw new VerificationError(
      `${field}.signatureAlgorithm`,
      "outer and signed signature algorithms differ",
    );
  }
  const alg = readSignatureAlgorithm(signed.signatureAlgorithm, `${field}.signatureAlgorithm`);
  const key = await importVerifyKey(issuerKey, alg, `${field}.issuerKey`);
  let signature = signed.signature;
  if (alg.kind === "ecdsa" && issuerKey.kind === "ec") {
    try {
      signature = ecdsaDerToRaw(signature, issuerKey.curve, `${field}.signatureValue`);
    } catch (e) {
      throw new VerificationError(`${field}.signatureValue`, (e as Error).message, { cause: e });
    }
  }
  let ok: boolean;
  try {
    ok = await crypto.subtle.verify(
      webCryptoParams(alg),
      key,
      signature as Uint8Array<ArrayBuffer>,
      signed.tbs as Uint8Array<ArrayBuffer>,
    );
  } catch (e) {
    throw new VerificationError(field, `signature check failed: ${String(e)}`, { cause: e });
  }
  if (!ok) {
    throw new VerificationError(
      field,
      `${describeSignatureAlgorithm(alg)} signature does not verify with the key of ${
        typeof issuerName === "string" ? issuerName : issuerName()
      }`,
    );
  }
}

/**
 * Verifies that `cert` is signed by the key of `issuer`. Only the signature: names, validity and
 * constraints are {@link import("./chain.ts").verifyChain}'s job.
 *
 * @throws {VerificationError} naming `field` when the signature does not verify or the algorithm
 *   is unsupported
 *
 * @example Check that one certificate signed another
 * ```ts
 * import { type Certificate, verifyCertificateSignature } from "./mod.ts";
 *
 * async function issuedBy(cert: Certificate, issuer: Certificate): Promise<boolean> {
 *   try {
 *     await verifyCertificateSignature(cert, issuer, "certificate");
 *     return true;
 *   } catch {
 *     return false;
 *   }
 * }
 * ```
 */
export function verifyCertificateSignature(
  cert: Certificate,
  issuer: Certificate,
  field: string,
): Promise<void> {
  return verifySignedParts(cert, issuer.publicKey, field, () => `"${issuer.subject}"`);
}

/** Input of {@link verifyEcdsa}. Exactly one of `signatureRaw` and `signatureDer` is given. */
interface EcdsaVerifyInput {
  /**
   * The public key: a WebCrypto ECDSA key, or bytes that are — told apart by length — an SPKI DER,
   * an uncompressed point `04 ‖ x ‖ y`, or the bare coordinates `x ‖ y` (as in TDX quotes).
   */
  readonly publicKey: CryptoKey | Uint8Array;
  /** The curve of the key. */
  readonly curve: EcCurve;
  /** The hash the signature was made with. */
  readonly hash: SignatureHash;
  /** `r ‖ s`, big-endian, each the curve size. */
  readonly signatureRaw?: Uint8Array;
  /** DER `ECDSA-Sig-Value`. */
  readonly signatureDer?: Uint8Array;
  /** The signed bytes. */
  readonly data: Uint8Array;
}

/**
 * Imports an ECDSA public key for verification from SPKI DER, `04 ‖ x ‖ y` or `x ‖ y`.
 *
 * @throws {VerificationError} naming `field` when the bytes are not a key on `curve`
 */
export async function importEcdsaPublicKey(
  bytes: Uint8Array,
  curve: EcCurve,
  field = "publicKey",
): Promise<CryptoKey> {
  const size = CURVE_SIZE[curve];
  let format: "raw" | "spki" = "raw";
  let data = bytes;
  if (bytes.length === 2 * size) {
    data = new Uint8Array(1 + 2 * size);
    data[0] = 0x04;
    data.set(bytes, 1);
  } else if (bytes.length !== 1 + 2 * size) {
    const info = parsePublicKeyInfo(bytes, field);
    if (info.kind !== "ec" || info.curve !== curve) {
      throw new VerificationError(field, `not a ${curve} public key`);
    }
    format = "spki";
  } else if (bytes[0] !== 0x04) {
    throw new VerificationError(field, "not an uncompressed point");
  }
  if (format === "raw") assertOnCurve(data, curve, field);
  try {
    return await crypto.subtle.importKey(
      format,
      data as Uint8Array<ArrayBuffer>,
      { name: "ECDSA", namedCurve: curve },
      false,
      ["verify"],
    );
  } catch (e) {
    throw new VerificationError(field, `not a valid ${curve} public key: ${String(e)}`, {
      cause: e,
    });
  }
}

/**
 * Verifies an ECDSA signature over `data`. Returns false for a wrong or malformed signature;
 * never true unless WebCrypto verified it.
 *
 * @throws {VerificationError} when the public key is unusable or both/neither signature forms
 *   are given
 */
export async function verifyEcdsa(input: EcdsaVerifyInput): Promise<boolean> {
  const { curve } = input;
  if ((input.signatureRaw === undefined) === (input.signatureDer === undefined)) {
    throw new VerificationError("signature", "give exactly one of signatureRaw and signatureDer");
  }
  const key = input.publicKey instanceof Uint8Array
    ? await importEcdsaPublicKey(input.publicKey, curve)
    : input.publicKey;
  let raw: Uint8Array;
  if (input.signatureRaw !== undefined) {
    raw = input.signatureRaw;
  } else {
    try {
      raw = ecdsaDerToRaw(input.signatureDer!, curve, "signature");
    } catch {
      return false;
    }
  }
  if (raw.length !== 2 * CURVE_SIZE[curve]) return false;
  try {
    return await crypto.subtle.verify(
      { name: "ECDSA", hash: input.hash },
      key,
      raw as Uint8Array<ArrayBuffer>,
      input.data as Uint8Array<ArrayBuffer>,
    );
  } catch {
    return false;
  }
}
