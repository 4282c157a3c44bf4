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
  encodeOid,
  encodeSmallInteger,
  expectTag,
  readSingle,
  readSmallInteger,
  Tag,
  writeElementHeader,
} from "../x509/der.ts";
import { utf8Length, writeUtf8 } from "../util/bytes/utf8.ts";

/** Extension OID of SNP claims. */
export const OID_SNP_CLAIMS = "1.3.9901.2.1";
/** Extension OID of TDX claims. */
export const OID_TDX_CLAIMS = "1.3.9901.2.2";

const STRUCTURE = "claims.ContrastAttestationClaims";

/** The extension OID of a platform's claims. */
export function claimsExtensionOid(platform: TeePlatform): string {
  return platform === "snp" ? OID_SNP_CLAIMS : OID_TDX_CLAIMS;
}

/** DER of the extension OIDs, encoded once. */
const OID_DER: Readonly<Record<TeePlatform, Uint8Array>> = {
  snp: encodeOid(OID_SNP_CLAIMS),
  tdx: encodeOid(OID_TDX_CLAIMS),
};

/** The DER of a platform's claims extension OID (the OBJECT IDENTIFIER element). */
export function claimsExtensionOidDer(platform: TeePlatform): Uint8Array {
  return OID_DER[platform];
}

/** The claims extension value of one leaf, measured: its length is known before it is written. */
export interface ClaimsExtensionWriter {
  /** Bytes of the DER value (the whole `ContrastAttestationClaims` element). */
  readonly length: number;
  /** Writes the DER value into `out` at `at`; returns the offset just past it. */
  writeInto(out: Uint8Array, at: number): number;
}

/**
 * The claims extension value of `claims`, measured first and written later straight into the
 * caller's array (a mesh leaf's TBSCertificate): every length is computed from the strings
 * themselves (`utf8Length`), and the details' names and values are written once, where they end
 * up, with no array per element or string. The bytes are those of nesting `encodeElement`
 * (`x509/der.ts`) (`tests/protocol/claims_extension_test.ts` compares both on random details).
 *
 * @throws {ParseError} naming `referenceValueIndex` when it is not a non-negative safe integer
 */
export function claimsExtensionWriter(claims: AttestationClaims): ClaimsExtensionWriter {
  const index = claims.referenceValueIndex;
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new ParseError("referenceValueIndex", `expected a non-negative integer, got ${index}`);
  }
  const names = sortedNames(claims.details);
  const texts = new Array<string>(2 * names.length);
  const lengths = new Array<number>(2 * names.length);
  let pairs = 0;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const value = claims.details[name]!;
    const nameLength = utf8Length(name);
    const valueLength = utf8Length(value);
    texts[2 * i] = name;
    texts[2 * i + 1] = value;
    lengths[2 * i] = nameLength;
    lengths[2 * i + 1] = valueLength;
    pairs += elementLength(elementLength(nameLength) + elementLength(valueLength));
  }
  const referenceValueIndex = encodeSmallInteger(index);
  const { hostData, measurement, reportData } = claims;
  const contents = VERSION_1.length + elementLength(hostData.length) +
    elementLength(measurement.length) + elementLength(reportData.length) +
    referenceValueIndex.length + elementLength(pairs);
  const length = elementLength(contents);
  return {
    length,
    writeInto(out: Uint8Array, from: number): number {
      let at = writeElementHeader(out, from, Tag.sequence, contents);
      out.set(VERSION_1, at);
      at += VERSION_1.length;
      at = writeOctetString(out, at, hostData);
      at = writeOctetString(out, at, measurement);
      at = writeOctetString(out, at, reportData);
      out.set(referenceValueIndex, at);
      at += referenceValueIndex.length;
      at = writeElementHeader(out, at, Tag.sequence, pairs);
      for (let i = 0; i < texts.length; i += 2) {
        const name = lengths[i]!;
        const value = lengths[i + 1]!;
        at = writeElementHeader(out, at, Tag.sequence, elementLength(name) + elementLength(value));
        at = writeElementHeader(out, at, Tag.utf8String, name);
        at = writeUtf8(texts[i]!, out, at, name);
        at = writeElementHeader(out, at, Tag.utf8String, value);
        at = writeUtf8(texts[i + 1]!, out, at, value);
      }
      if (at !== from + length) throw new RangeError("claims: encoded length mismatch");
      return at;
    },
  };
}

/**
 * The details' names in UTF-16 code unit order (`Array.prototype.sort`'s default), by insertion:
 * a verifier's 16-odd names sort without the builtin's work arrays (1.6 KB of heap per leaf).
 */
function sortedNames(details: Readonly<Record<string, string>>): string[] {
  const names = Object.keys(details);
  for (let i = 1; i < names.length; i++) {
    const name = names[i]!;
    let j = i - 1;
    while (j >= 0 && names[j]! > name) {
      names[j + 1] = names[j]!;
      j--;
    }
    names[j + 1] = name;
  }
  return names;
}

/** `INTEGER 1`, the structure's version. */
const VERSION_1 = encodeSmallInteger(1);

function writeOctetString(out: Uint8Array, at: number, bytes: Uint8Array): number {
  const start = writeElementHeader(out, at, Tag.octetString, bytes.length);
  out.set(bytes, start);
  return start + bytes.length;
}

/**
 * The DER extension value of `claims`, written into one array ({@link claimsExtensionWriter}).
 *
 * @throws {ParseError} naming `referenceValueIndex` when it is not a non-negative safe integer
 */
export function encodeClaimsExtension(claims: AttestationClaims): Uint8Array {
  const writer = claimsExtensionWriter(claims);
  const out = new Uint8Array(writer.length);
  writer.writeInto(out, 0);
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
