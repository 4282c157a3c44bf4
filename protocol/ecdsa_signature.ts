/**
 * ECDSA signature encodings. The Coordinator checks manifest-update signatures in IEEE P1363 form
 * (`r ‖ s`, each as long as the curve's order); HSMs, OpenSSL (`openssl dgst -sign`,
 * `openssl pkeyutl -sign`) and Go (`ecdsa.SignASN1`) produce ASN.1 DER
 * (`SEQUENCE { r INTEGER, s INTEGER }`). {@link ecdsaSignatureToP1363} accepts either and returns
 * P1363 for a given curve. The DER is read with the project's strict reader (`x509/der.ts`:
 * shortest lengths and integers, no trailing bytes), so a BER variant is refused rather than
 * guessed at.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";
import { children, readSingle, readUnsignedInteger, Tag } from "../x509/der.ts";

/** The ECDSA curves a workload owner key may use. */
export type EcdsaCurve = "P-256" | "P-384" | "P-521";

/** Length in bytes of r and s on each curve. */
export const ECDSA_SCALAR_LENGTH: Readonly<Record<EcdsaCurve, number>> = {
  "P-256": 32,
  "P-384": 48,
  "P-521": 66,
};

/** The hash each curve signs with (as `openssl dgst -sha…` names it: lower case, no dash). */
export const ECDSA_HASH: Readonly<Record<EcdsaCurve, "SHA-256" | "SHA-384" | "SHA-512">> = {
  "P-256": "SHA-256",
  "P-384": "SHA-384",
  "P-521": "SHA-512",
};

/** r and s of a DER signature, as unsigned big-endian magnitudes without leading zeros. */
interface DerEcdsaSignature {
  /** r. */
  readonly r: Uint8Array;
  /** s. */
  readonly s: Uint8Array;
}

/**
 * Reads an ASN.1 DER `ECDSA-Sig-Value` (RFC 3279 §2.2.3).
 *
 * @throws {ParseError} naming `field` when it is not exactly one strict-DER SEQUENCE of two
 * positive INTEGERs
 */
function parseDerEcdsaSignature(bytes: Uint8Array, field: string): DerEcdsaSignature {
  const sequence = readSingle(bytes, Tag.sequence, field);
  const parts = children(sequence, field);
  if (parts.length !== 2) {
    throw new ParseError(field, `ECDSA-Sig-Value has ${parts.length} elements, expected r and s`);
  }
  const r = readUnsignedInteger(parts[0]!, `${field}.r`);
  const s = readUnsignedInteger(parts[1]!, `${field}.s`);
  for (const [name, value] of [["r", r], ["s", s]] as const) {
    if (value.every((b) => b === 0)) throw new ParseError(`${field}.${name}`, "is zero");
  }
  return { r, s };
}

function leftPad(value: Uint8Array, length: number, field: string): Uint8Array {
  if (value.length > length) {
    throw new ParseError(field, `${value.length} bytes, longer than the curve's ${length}`);
  }
  const out = new Uint8Array(length);
  out.set(value, length - value.length);
  return out;
}

/**
 * The IEEE P1363 form (`r ‖ s`) on `curve` of `signature`, given as ASN.1 DER or already as
 * P1363 (exactly twice the curve's scalar length, and not a valid DER signature).
 *
 * @throws {ParseError} naming `field` when it is neither, or r or s do not fit the curve
 */
export function ecdsaSignatureToP1363(
  signature: Uint8Array,
  curve: EcdsaCurve,
  field = "signature",
): Uint8Array {
  const size = ECDSA_SCALAR_LENGTH[curve];
  let der: DerEcdsaSignature;
  try {
    der = parseDerEcdsaSignature(signature, field);
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    if (signature.length === 2 * size) return signature.slice();
    throw new ParseError(
      field,
      `neither an ASN.1 DER ECDSA signature (${error.field}: ${error.reason}) nor a raw ` +
        `IEEE P1363 ${curve} signature of ${2 * size} bytes (it has ${signature.length})`,
    );
  }
  const out = new Uint8Array(2 * size);
  out.set(leftPad(der.r, size, `${field}.r`), 0);
  out.set(leftPad(der.s, size, `${field}.s`), size);
  return out;
}
