/**
 * DER of a mesh leaf certificate, built directly with the project's one DER module
 * (`x509/der.ts`) from a template computed once per mesh CA: the parts every leaf shares
 * (version, signature algorithm, issuer name, the fixed extensions, the authority key identifier)
 * are encoded once; per leaf only serial, validity, subject, key, SANs, subject key identifier
 * and claims are encoded, and the certificate is signed once and never re-parsed. This replaces
 * `@peculiar/x509`'s generator on the Coordinator's hot path (its ASN.1 object model and the
 * re-parse of the finished certificate cost more CPU than the signature; issue 18).
 *
 * @module
 */
import { ParseError } from "../../util/errors/mod.ts";
import type { SubjectAltName } from "../../manifest/sans.ts";
import { isIPv4 } from "../../manifest/sans.ts";
import {
  children,
  elementLength,
  encodeElement,
  encodeOid,
  readSingle,
  Tag,
  writeElementHeader,
} from "../../x509/der.ts";
import { utf8Length, writeUtf8 } from "../../util/bytes/utf8.ts";
import type { ClaimsExtensionWriter } from "../../protocol/claims_extension.ts";

/** `[0] EXPLICIT Version v3`. */
const VERSION_V3 = Uint8Array.of(0xa0, 0x03, 0x02, 0x01, 0x02);
/** AlgorithmIdentifier ecdsa-with-SHA384 (no parameters, RFC 5758). */
const ECDSA_WITH_SHA384 = encodeElement(Tag.sequence, encodeOid("1.2.840.10045.4.3.3"));
const TRUE = Uint8Array.of(Tag.boolean, 0x01, 0xff);

function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return encodeElement(
    Tag.sequence,
    encodeOid(oid),
    ...(critical ? [TRUE] : []),
    encodeElement(Tag.octetString, value),
  );
}

/**
 * The extensions every leaf carries, in order: basicConstraints (critical, not a CA), keyUsage
 * (critical, digitalSignature), extKeyUsage (serverAuth, clientAuth).
 */
const FIXED_EXTENSIONS = concat([
  extension("2.5.29.19", true, encodeElement(Tag.sequence)),
  extension("2.5.29.15", true, Uint8Array.of(Tag.bitString, 2, 7, 0x80)),
  extension(
    "2.5.29.37",
    false,
    encodeElement(Tag.sequence, encodeOid("1.3.6.1.5.5.7.3.1"), encodeOid("1.3.6.1.5.5.7.3.2")),
  ),
]);
const OID_SUBJECT_ALT_NAME = encodeOid("2.5.29.17");
const OID_SUBJECT_KEY_IDENTIFIER = encodeOid("2.5.29.14");
const OID_COMMON_NAME = encodeOid("2.5.4.3");
/** The subject common name of a leaf unless the caller names another. */
export const DEFAULT_COMMON_NAME = "contrast-workload";
/** Content bytes of a UTCTime (`YYMMDDHHMMSSZ`) and a GeneralizedTime (`YYYYMMDDHHMMSSZ`). */
const UTC_TIME_LENGTH = 13;
const GENERALIZED_TIME_LENGTH = 15;

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** What every leaf of one mesh CA shares, encoded once. */
export interface LeafTemplate {
  /** DER of the issuer Name (the mesh CA's subject, byte for byte). */
  readonly issuer: Uint8Array;
  /** DER of the authority key identifier extension (the mesh key's identifier). */
  readonly authorityKeyIdentifier: Uint8Array;
  /** The TBSCertificate's signature algorithm then issuer Name, the bytes after the serial. */
  readonly afterSerial: Uint8Array;
  /** DER of the subject Name with {@link DEFAULT_COMMON_NAME}. */
  readonly defaultSubject: Uint8Array;
}

/**
 * The template for leaves under `meshCaDer`: its subject (as issuer) and the DER of the authority
 * key identifier extension.
 *
 * @throws {ParseError} when `meshCaDer` is not a certificate
 */
export function leafTemplate(
  meshCaDer: Uint8Array,
  authorityKeyIdentifier: Uint8Array,
): LeafTemplate {
  const certificate = readSingle(meshCaDer, Tag.sequence, "meshCa");
  const tbs = children(certificate, "meshCa")[0]!;
  // version [0], serial, signature, issuer, validity, subject
  const subject = children(tbs, "meshCa.tbsCertificate")[5];
  if (subject?.tag !== Tag.sequence) throw new ParseError("meshCa.subject", "missing");
  const issuer = subject.raw.slice();
  return {
    issuer,
    authorityKeyIdentifier: authorityKeyIdentifier.slice(),
    afterSerial: concat([ECDSA_WITH_SHA384, issuer]),
    defaultSubject: encodeName(DEFAULT_COMMON_NAME),
  };
}

/** One leaf's own fields. */
interface LeafFields {
  /** Positive serial number bytes (first bit clear, not all zero). */
  readonly serial: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Subject common name (stored as UTF8String). */
  readonly commonName: string;
  /** The pod's SubjectPublicKeyInfo DER. */
  readonly spki: Uint8Array;
  /** The subject key identifier (SHA-1 of the public key bits, RFC 5280 4.2.1.2 method 1). */
  readonly subjectKeyIdentifier: Uint8Array;
  readonly sans: readonly SubjectAltName[];
  /** The attestation claims extension (OID element and a writer of its DER value), if any. */
  readonly claims?: { readonly oid: Uint8Array; readonly value: ClaimsExtensionWriter } | undefined;
}

/**
 * DER of the TBSCertificate of a leaf, written into one array: the template's bytes are copied
 * as they are, every length of the leaf's own parts (serial, validity, subject, key, SANs, key
 * identifier, claims) is computed first, and each part is written once where it ends up, with no
 * array per element. The bytes are those of nesting `encodeElement` (`x509/der.ts`); the test
 * `tests/coordinator/ca/leaf_der_test.ts` compares both on varied leaves.
 *
 * @throws {ParseError} naming `notBefore`/`notAfter` when a date is outside years 0–9999, or
 *   `sans` when an IP SAN is not an IP literal
 */
export function encodeLeafTbs(template: LeafTemplate, leaf: LeafFields): Uint8Array {
  const notBeforeLength = timeLength(leaf.notBefore, "notBefore");
  const notAfterLength = timeLength(leaf.notAfter, "notAfter");
  const validity = elementLength(notBeforeLength) + elementLength(notAfterLength);
  const subject = leaf.commonName === DEFAULT_COMMON_NAME
    ? template.defaultSubject
    : encodeName(leaf.commonName);
  // SANs: the IP addresses' bytes, the names' UTF-8 lengths.
  const sans = leaf.sans;
  const sanBytes = new Array<Uint8Array | undefined>(sans.length);
  const sanLengths = new Array<number>(sans.length);
  let generalNames = 0;
  for (let i = 0; i < sans.length; i++) {
    const san = sans[i]!;
    if (san.kind === "ip") {
      const bytes = ipAddressBytes(san.value);
      sanBytes[i] = bytes;
      sanLengths[i] = bytes.length;
    } else {
      sanLengths[i] = utf8Length(san.value);
    }
    generalNames += elementLength(sanLengths[i]!);
  }
  const sanValue = elementLength(generalNames);
  const sanExtension = OID_SUBJECT_ALT_NAME.length + elementLength(sanValue);
  const keyId = elementLength(leaf.subjectKeyIdentifier.length);
  const keyIdExtension = OID_SUBJECT_KEY_IDENTIFIER.length + elementLength(keyId);
  const claims = leaf.claims;
  const claimsExtension = claims ? claims.oid.length + elementLength(claims.value.length) : 0;
  const extensions = FIXED_EXTENSIONS.length + elementLength(sanExtension) +
    elementLength(keyIdExtension) + template.authorityKeyIdentifier.length +
    (claims ? elementLength(claimsExtension) : 0);
  const tbs = VERSION_V3.length + elementLength(leaf.serial.length) +
    template.afterSerial.length + elementLength(validity) + subject.length + leaf.spki.length +
    elementLength(elementLength(extensions));

  const out = new Uint8Array(elementLength(tbs));
  let at = writeElementHeader(out, 0, Tag.sequence, tbs);
  at = put(out, at, VERSION_V3);
  at = writeElementHeader(out, at, Tag.integer, leaf.serial.length);
  at = put(out, at, leaf.serial);
  at = put(out, at, template.afterSerial);
  at = writeElementHeader(out, at, Tag.sequence, validity);
  at = writeTime(out, at, leaf.notBefore, notBeforeLength);
  at = writeTime(out, at, leaf.notAfter, notAfterLength);
  at = put(out, at, subject);
  at = put(out, at, leaf.spki);
  at = writeElementHeader(out, at, 0xa3, elementLength(extensions));
  at = writeElementHeader(out, at, Tag.sequence, extensions);
  at = put(out, at, FIXED_EXTENSIONS);
  // subjectAltName: GeneralNames of dNSName [2], uniformResourceIdentifier [6], iPAddress [7].
  at = writeElementHeader(out, at, Tag.sequence, sanExtension);
  at = put(out, at, OID_SUBJECT_ALT_NAME);
  at = writeElementHeader(out, at, Tag.octetString, sanValue);
  at = writeElementHeader(out, at, Tag.sequence, generalNames);
  for (let i = 0; i < sans.length; i++) {
    const san = sans[i]!;
    const bytes = sanBytes[i];
    if (bytes !== undefined) {
      at = put(out, writeElementHeader(out, at, 0x87, bytes.length), bytes);
    } else {
      const length = sanLengths[i]!;
      at = writeElementHeader(out, at, san.kind === "uri" ? 0x86 : 0x82, length);
      at = writeUtf8(san.value, out, at, length);
    }
  }
  at = writeElementHeader(out, at, Tag.sequence, keyIdExtension);
  at = put(out, at, OID_SUBJECT_KEY_IDENTIFIER);
  at = writeElementHeader(out, at, Tag.octetString, keyId);
  at = writeElementHeader(out, at, Tag.octetString, leaf.subjectKeyIdentifier.length);
  at = put(out, at, leaf.subjectKeyIdentifier);
  at = put(out, at, template.authorityKeyIdentifier);
  if (claims) {
    at = writeElementHeader(out, at, Tag.sequence, claimsExtension);
    at = put(out, at, claims.oid);
    at = writeElementHeader(out, at, Tag.octetString, claims.value.length);
    at = claims.value.writeInto(out, at);
  }
  if (at !== out.length) throw new RangeError("leaf: encoded length mismatch");
  return out;
}

/** Copies `bytes` into `out` at `at`; returns the offset just past them. */
function put(out: Uint8Array, at: number, bytes: Uint8Array): number {
  out.set(bytes, at);
  return at + bytes.length;
}

/**
 * DER of the Certificate: `tbs`, ecdsa-with-SHA384, and the P1363 (r ‖ s) `signature`, written
 * into one array.
 */
export function encodeSignedCertificate(tbs: Uint8Array, signature: Uint8Array): Uint8Array {
  const half = signature.length / 2;
  const r = signature.subarray(0, half);
  const s = signature.subarray(half);
  const rLength = unsignedLength(r);
  const sLength = unsignedLength(s);
  const ecdsaSigValue = elementLength(rLength) + elementLength(sLength);
  const bitString = 1 + elementLength(ecdsaSigValue);
  const contents = tbs.length + ECDSA_WITH_SHA384.length + elementLength(bitString);
  const out = new Uint8Array(elementLength(contents));
  let at = writeElementHeader(out, 0, Tag.sequence, contents);
  at = put(out, at, tbs);
  at = put(out, at, ECDSA_WITH_SHA384);
  at = writeElementHeader(out, at, Tag.bitString, bitString);
  out[at++] = 0; // no unused bits
  at = writeElementHeader(out, at, Tag.sequence, ecdsaSigValue);
  at = writeUnsigned(out, at, r, rLength);
  at = writeUnsigned(out, at, s, sLength);
  if (at !== out.length) throw new RangeError("certificate: encoded length mismatch");
  return out;
}

/** Leading zero bytes of `bytes` that a minimal INTEGER drops (all but the last). */
function leadingZeros(bytes: Uint8Array): number {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return start;
}

/** Contents length of the minimal DER INTEGER of the unsigned big-endian `bytes`. */
function unsignedLength(bytes: Uint8Array): number {
  const start = leadingZeros(bytes);
  return bytes.length - start + (bytes[start]! & 0x80 ? 1 : 0);
}

/** Writes the minimal DER INTEGER of the unsigned `bytes` (`length` contents bytes). */
function writeUnsigned(out: Uint8Array, at: number, bytes: Uint8Array, length: number): number {
  let next = writeElementHeader(out, at, Tag.integer, length);
  const trimmed = bytes.subarray(leadingZeros(bytes));
  if (trimmed.length < length) out[next++] = 0; // sign padding
  return put(out, next, trimmed);
}

function encodeName(commonName: string): Uint8Array {
  const attribute = encodeElement(
    Tag.sequence,
    OID_COMMON_NAME,
    encodeElement(Tag.utf8String, utf8.encode(commonName)),
  );
  return encodeElement(Tag.sequence, encodeElement(Tag.set, attribute));
}

const utf8 = new TextEncoder();

/**
 * Contents bytes of `date`'s time element: UTCTime for 1950–2049, GeneralizedTime otherwise
 * (RFC 5280 4.1.2.5).
 *
 * @throws {ParseError} naming `field` when the year is outside 0–9999 (no 4-digit form)
 */
function timeLength(date: Date, field: string): number {
  const year = date.getUTCFullYear();
  if (!(year >= 0 && year <= 9999)) {
    throw new ParseError(field, `year ${year} has no X.509 time form (0-9999)`);
  }
  return year >= 1950 && year < 2050 ? UTC_TIME_LENGTH : GENERALIZED_TIME_LENGTH;
}

/** Writes the time element of `date` (`length` from {@link timeLength}); whole seconds. */
function writeTime(out: Uint8Array, at: number, date: Date, length: number): number {
  let next = writeElementHeader(
    out,
    at,
    length === UTC_TIME_LENGTH ? Tag.utcTime : Tag.generalizedTime,
    length,
  );
  const year = date.getUTCFullYear();
  if (length === GENERALIZED_TIME_LENGTH) next = digits(out, next, Math.floor(year / 100));
  next = digits(out, next, year % 100);
  next = digits(out, next, date.getUTCMonth() + 1);
  next = digits(out, next, date.getUTCDate());
  next = digits(out, next, date.getUTCHours());
  next = digits(out, next, date.getUTCMinutes());
  next = digits(out, next, date.getUTCSeconds());
  out[next] = 0x5a; // Z
  return next + 1;
}

/** Writes `n` (0–99) as two ASCII digits. */
function digits(out: Uint8Array, at: number, n: number): number {
  out[at] = 0x30 + Math.floor(n / 10);
  out[at + 1] = 0x30 + (n % 10);
  return at + 2;
}

/**
 * DER of the time element of `date`: UTCTime for 1950–2049, GeneralizedTime otherwise
 * (RFC 5280 4.1.2.5); whole seconds.
 *
 * @throws {ParseError} naming `date` when the year is outside 0–9999
 */
export function encodeTime(date: Date): Uint8Array {
  const length = timeLength(date, "date");
  const out = new Uint8Array(elementLength(length));
  writeTime(out, 0, date, length);
  return out;
}

/**
 * The 4 or 16 address bytes of an IPv4 or IPv6 literal (RFC 4291 text forms, optional trailing
 * IPv4).
 *
 * @throws {ParseError} naming `sans` when `text` is not an IP literal
 */
export function ipAddressBytes(text: string): Uint8Array {
  if (isIPv4(text)) return Uint8Array.from(text.split(".").map(Number));
  const invalid = () => new ParseError("sans", `not an IP address: ${JSON.stringify(text)}`);
  let groups = text;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (lastColon < 0) throw invalid();
  if (text.slice(lastColon + 1).includes(".")) {
    const v4 = text.slice(lastColon + 1);
    if (!isIPv4(v4)) throw invalid();
    const [a, b, c, d] = v4.split(".").map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    groups = text.slice(0, lastColon + 1);
    if (groups.endsWith(":") && !groups.endsWith("::")) groups = groups.slice(0, -1);
  }
  const halves = groups.split("::");
  if (halves.length > 2) throw invalid();
  const parse = (h: string) =>
    h === "" ? [] : h.split(":").map((g) => {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) throw invalid();
      return parseInt(g, 16);
    });
  const left = parse(halves[0]!);
  const right = [...(halves.length === 2 ? parse(halves[1]!) : []), ...tail];
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) throw invalid();
  const words = [...left, ...new Array<number>(missing).fill(0), ...right];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}
