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
  elementLength,
  encodeSmallInteger,
  expectTag,
  readSingle,
  readSmallInteger,
  Tag,
  writeElementHeader,
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

/**
 * The DER extension value of `claims`, written into one array: the details' names and values are
 * encoded to UTF-8 once, into one scratch array, and every length is known before the first byte
 * is written (SNP claims carry 16 details; one array per element and string cost ~30 µs of CPU
 * per issued leaf, ~4 µs this way). The bytes are those of nesting `encodeElement` (`x509/der.ts`)
 * (`tests/protocol/claims_extension_test.ts` compares both on random details).
 *
 * @throws {ParseError} naming `referenceValueIndex` when it is not a non-negative safe integer
 */
export function encodeClaimsExtension(claims: AttestationClaims): Uint8Array {
  const index = claims.referenceValueIndex;
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new ParseError("referenceValueIndex", `expected a non-negative integer, got ${index}`);
  }
  const names = Object.keys(claims.details).sort();
  const texts: string[] = [];
  let capacity = 0;
  for (const name of names) {
    const value = claims.details[name]!;
    texts.push(name, value);
    // A UTF-16 code unit takes at most 3 bytes of UTF-8 (a surrogate pair 4 for 2 units).
    capacity += 3 * (name.length + value.length);
  }
  const scratch = new Uint8Array(capacity);
  const lengths = new Array<number>(texts.length);
  let used = 0;
  for (let i = 0; i < texts.length; i++) {
    const { read, written } = UTF8.encodeInto(texts[i]!, scratch.subarray(used));
    if (read !== texts[i]!.length) throw new RangeError("claims: UTF-8 scratch too small");
    lengths[i] = written;
    used += written;
  }
  let pairs = 0;
  for (let i = 0; i < texts.length; i += 2) {
    pairs += elementLength(elementLength(lengths[i]!) + elementLength(lengths[i + 1]!));
  }
  const version = encodeSmallInteger(1);
  const referenceValueIndex = encodeSmallInteger(index);
  const octetStrings = [claims.hostData, claims.measurement, claims.reportData];
  let contents = version.length + referenceValueIndex.length + elementLength(pairs);
  for (const bytes of octetStrings) contents += elementLength(bytes.length);
  const out = new Uint8Array(elementLength(contents));
  let at = writeElementHeader(out, 0, Tag.sequence, contents);
  out.set(version, at);
  at += version.length;
  for (const bytes of octetStrings) {
    at = writeElementHeader(out, at, Tag.octetString, bytes.length);
    out.set(bytes, at);
    at += bytes.length;
  }
  out.set(referenceValueIndex, at);
  at += referenceValueIndex.length;
  at = writeElementHeader(out, at, Tag.sequence, pairs);
  let from = 0;
  for (let i = 0; i < texts.length; i += 2) {
    const name = lengths[i]!;
    const value = lengths[i + 1]!;
    at = writeElementHeader(out, at, Tag.sequence, elementLength(name) + elementLength(value));
    for (const length of [name, value]) {
      at = writeElementHeader(out, at, Tag.utf8String, length);
      out.set(scratch.subarray(from, from + length), at);
      at += length;
      from += length;
    }
  }
  if (at !== out.length) throw new RangeError("claims: encoded length mismatch");
  return out;
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
