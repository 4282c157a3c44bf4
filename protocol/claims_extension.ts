/**
 * The attestation claims a mesh leaf certificate carries, as one non-critical X.509 extension:
 * OID `1.3.9901.2.1` for SNP evidence, `1.3.9901.2.2` for TDX evidence (DESIGN.md). The
 * extension value is the DER of
 *
 * ```asn1
 * ContrastAttestationClaims ::= SEQUENCE {
 *   version              INTEGER (1),
 *   hostData             OCTET STRING,  -- SNP HOST_DATA (32) / TDX MRCONFIGID (48)
 *   measurement          OCTET STRING,  -- SNP MEASUREMENT / TDX MRTD (48)
 *   reportData           OCTET STRING,  -- the 64 bytes of report data
 *   referenceValueIndex  INTEGER,       -- the manifest reference-value entry that matched
 *   details              SEQUENCE OF SEQUENCE { name UTF8String, value UTF8String }
 *                                       -- sorted by name, names unique
 * }
 * ```
 *
 * A peer reading a mesh certificate learns which hardware claims the Coordinator verified
 * before issuing it. Encoded and decoded with the project's one strict DER module
 * (`x509/der.ts`); the exact bytes are pinned by `tests/protocol/known_answer_test.ts`.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";
import type { AttestationClaims, TeePlatform } from "../evidence/types.ts";
import {
  children,
  type DerElement,
  encodeElement,
  encodeSmallInteger,
  expectTag,
  readSingle,
  readSmallInteger,
  Tag,
} from "../x509/der.ts";

/** Extension OID of SNP claims. */
export const OID_SNP_CLAIMS = "1.3.9901.2.1";
/** Extension OID of TDX claims. */
export const OID_TDX_CLAIMS = "1.3.9901.2.2";

const STRUCTURE = "claims.ContrastAttestationClaims";

/** The extension OID of a platform's claims. */
export function claimsExtensionOid(platform: TeePlatform): string {
  return platform === "snp" ? OID_SNP_CLAIMS : OID_TDX_CLAIMS;
}

const UTF8 = new TextEncoder();

function utf8(text: string): Uint8Array {
  return encodeElement(Tag.utf8String, UTF8.encode(text));
}

/**
 * The DER extension value of `claims`.
 *
 * @throws {ParseError} naming `referenceValueIndex` when it is not a non-negative safe integer
 */
export function encodeClaimsExtension(claims: AttestationClaims): Uint8Array {
  const index = claims.referenceValueIndex;
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new ParseError("referenceValueIndex", `expected a non-negative integer, got ${index}`);
  }
  const names = Object.keys(claims.details).sort();
  return encodeElement(
    Tag.sequence,
    encodeSmallInteger(1),
    encodeElement(Tag.octetString, claims.hostData),
    encodeElement(Tag.octetString, claims.measurement),
    encodeElement(Tag.octetString, claims.reportData),
    encodeSmallInteger(index),
    encodeElement(
      Tag.sequence,
      ...names.map((n) => encodeElement(Tag.sequence, utf8(n), utf8(claims.details[n]!))),
    ),
  );
}

function octets(el: DerElement | undefined, field: string): Uint8Array {
  if (!el) throw new ParseError(field, "missing");
  expectTag(el, Tag.octetString, field);
  return el.value.slice();
}

function readUtf8(el: DerElement | undefined, field: string): string {
  if (!el) throw new ParseError(field, "missing");
  expectTag(el, Tag.utf8String, field);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(el.value);
  } catch {
    throw new ParseError(field, "not UTF-8");
  }
}

function integer(el: DerElement | undefined, field: string): number {
  if (!el) throw new ParseError(field, "missing");
  return readSmallInteger(el, field);
}

/**
 * Decodes a claims extension value.
 *
 * @param oid the extension's OID, selecting the platform
 * @throws {ParseError} naming the field when the value is malformed
 */
export function decodeClaimsExtension(oid: string, value: Uint8Array): AttestationClaims {
  let platform: TeePlatform;
  if (oid === OID_SNP_CLAIMS) platform = "snp";
  else if (oid === OID_TDX_CLAIMS) platform = "tdx";
  else throw new ParseError("extension", `not a claims extension OID: ${oid}`);
  const fields = children(readSingle(value, Tag.sequence, "claims"), STRUCTURE);
  if (fields.length > 6) throw new ParseError(STRUCTURE, "trailing elements after details");
  const version = integer(fields[0], `${STRUCTURE}.version`);
  if (version !== 1) throw new ParseError("claims.version", `unsupported version ${version}`);
  const hostData = octets(fields[1], `${STRUCTURE}.hostData`);
  const measurement = octets(fields[2], `${STRUCTURE}.measurement`);
  const reportData = octets(fields[3], `${STRUCTURE}.reportData`);
  const referenceValueIndex = integer(fields[4], `${STRUCTURE}.referenceValueIndex`);
  if (!fields[5]) throw new ParseError(`${STRUCTURE}.details`, "missing");
  expectTag(fields[5], Tag.sequence, `${STRUCTURE}.details`);
  const details: Record<string, string> = {};
  let previous: string | undefined;
  for (const [i, pair] of children(fields[5], `${STRUCTURE}.details`).entries()) {
    const at = `${STRUCTURE}.details[${i}]`;
    expectTag(pair, Tag.sequence, at);
    const parts = children(pair, at);
    if (parts.length !== 2) throw new ParseError(at, "expected { name, value }");
    const name = readUtf8(parts[0], `${at}.name`);
    const text = readUtf8(parts[1], `${at}.value`);
    if (previous !== undefined && name <= previous) {
      throw new ParseError("claims.details", "names must be unique and sorted");
    }
    previous = name;
    details[name] = text;
  }
  return { platform, hostData, measurement, reportData, referenceValueIndex, details };
}
