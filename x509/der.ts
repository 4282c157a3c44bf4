/**
 * A minimal, strict DER reader: just enough ASN.1 to cut certificates and CRLs into the exact
 * byte ranges that signatures cover (a re-encoding could differ from what was signed), and to
 * read algorithm identifiers, ECDSA signatures and a few extensions. Definite lengths only, in
 * their shortest form; every bound is checked and every error names the field.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";

/** ASN.1 universal tags used by contrast. */
export const Tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/**
 * One DER element (tag, length, value) and where it sits in its buffer.
 *
 * @example Inspect the raw signature algorithm of a certificate
 * ```ts
 * import type { Certificate, DerElement } from "./mod.ts";
 *
 * function algorithmBytes(cert: Certificate): Uint8Array {
 *   const element: DerElement = cert.signatureAlgorithm;
 *   return element.raw; // the exact AlgorithmIdentifier bytes
 * }
 * ```
 */
export interface DerElement {
  /** The identifier octet (only single-octet tags are supported). */
  readonly tag: number;
  /** The whole element: identifier, length and contents. */
  readonly raw: Uint8Array;
  /** The contents octets. */
  readonly value: Uint8Array;
  /** Offset of the element in the buffer it was read from. */
  readonly offset: number;
  /** Offset just past the element. */
  readonly end: number;
}

/**
 * Reads the DER element starting at `offset` of `bytes`.
 *
 * @throws {ParseError} naming `field` on a truncated element, a high tag number, an indefinite or
 *   non-minimal length
 */
export function readElement(bytes: Uint8Array, offset: number, field: string): DerElement {
  if (offset + 2 > bytes.length) throw new ParseError(field, "DER element truncated");
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new ParseError(field, "DER high tag numbers are not supported");
  let length = bytes[offset + 1]!;
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) throw new ParseError(field, "indefinite length is not DER");
    if (count > 4) throw new ParseError(field, "DER length too large");
    if (offset + 2 + count > bytes.length) throw new ParseError(field, "DER length truncated");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 2 + i]!;
    if (bytes[offset + 2]! === 0 || length < 0x80) {
      throw new ParseError(field, "DER length not in its shortest form");
    }
    header += count;
  }
  const start = offset + header;
  const end = start + length;
  if (end > bytes.length) {
    throw new ParseError(
      field,
      `DER element needs ${length} bytes at offset ${start}, only ${bytes.length - start} left`,
    );
  }
  return {
    tag,
    raw: bytes.subarray(offset, end),
    value: bytes.subarray(start, end),
    offset,
    end,
  };
}

/**
 * Reads `bytes` as exactly one DER element with tag `tag` (no trailing bytes).
 *
 * @throws {ParseError} naming `field` on a different tag or trailing bytes
 */
export function readSingle(bytes: Uint8Array, tag: number, field: string): DerElement {
  const el = readElement(bytes, 0, field);
  expectTag(el, tag, field);
  if (el.end !== bytes.length) {
    throw new ParseError(field, `${bytes.length - el.end} trailing bytes after the DER element`);
  }
  return el;
}

/** Throws a {@link ParseError} naming `field` unless `el` has tag `tag`. */
export function expectTag(el: DerElement, tag: number, field: string): void {
  if (el.tag !== tag) {
    throw new ParseError(
      field,
      `expected DER tag 0x${hex2(tag)}, found 0x${hex2(el.tag)}`,
    );
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

/**
 * The elements inside a constructed element (SEQUENCE, SET, or an explicit tag), in order.
 *
 * @throws {ParseError} naming `field` when a child does not fit
 */
export function children(el: DerElement, field: string): DerElement[] {
  const out: DerElement[] = [];
  let offset = 0;
  while (offset < el.value.length) {
    const child = readElement(el.value, offset, `${field}[${out.length}]`);
    out.push(child);
    offset = child.end;
  }
  return out;
}

/**
 * Decodes an OBJECT IDENTIFIER element into dotted form.
 *
 * @throws {ParseError} naming `field` on a wrong tag or a malformed arc
 */
export function readOid(el: DerElement, field: string): string {
  expectTag(el, Tag.oid, field);
  const v = el.value;
  if (v.length === 0) throw new ParseError(field, "empty OBJECT IDENTIFIER");
  const arcs: number[] = [];
  let value = 0;
  let started = false;
  for (let i = 0; i < v.length; i++) {
    const b = v[i]!;
    if (!started && b === 0x80) throw new ParseError(field, "OID arc not in its shortest form");
    started = true;
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new ParseError(field, "OID arc too large");
    if (!(b & 0x80)) {
      arcs.push(value);
      value = 0;
      started = false;
    } else if (i === v.length - 1) {
      throw new ParseError(field, "OID ends inside an arc");
    }
  }
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join(".");
}

/**
 * The magnitude of a non-negative INTEGER element, big-endian without sign padding.
 *
 * @throws {ParseError} naming `field` on a wrong tag, an empty, negative or non-minimal integer
 */
export function readUnsignedInteger(el: DerElement, field: string): Uint8Array {
  expectTag(el, Tag.integer, field);
  const v = el.value;
  if (v.length === 0) throw new ParseError(field, "empty INTEGER");
  if (v[0]! & 0x80) throw new ParseError(field, "INTEGER is negative");
  if (v.length > 1 && v[0] === 0 && !(v[1]! & 0x80)) {
    throw new ParseError(field, "INTEGER not in its shortest form");
  }
  return v[0] === 0 && v.length > 1 ? v.subarray(1) : v;
}

/**
 * A small non-negative INTEGER element as a number.
 *
 * @throws {ParseError} naming `field` when it is not a non-negative integer below 2^48
 */
export function readSmallInteger(el: DerElement, field: string): number {
  const magnitude = readUnsignedInteger(el, field);
  if (magnitude.length > 6) throw new ParseError(field, "INTEGER too large");
  let n = 0;
  for (const b of magnitude) n = n * 256 + b;
  return n;
}

/**
 * The contents of a BIT STRING element that has no unused bits (signatures, keys).
 *
 * @throws {ParseError} naming `field` on a wrong tag or unused bits
 */
export function readBitStringBytes(el: DerElement, field: string): Uint8Array {
  expectTag(el, Tag.bitString, field);
  if (el.value.length === 0) throw new ParseError(field, "empty BIT STRING");
  if (el.value[0] !== 0) throw new ParseError(field, "BIT STRING has unused bits");
  return el.value.subarray(1);
}

/** The parts of a signed X.509 structure (a certificate or a CRL). */
interface SignedDer {
  /** The signed part (`tbsCertificate`, `tbsCertList`). */
  readonly tbs: DerElement;
  /** The outer signature AlgorithmIdentifier. */
  readonly signatureAlgorithm: DerElement;
  /** The signature value (BIT STRING contents without the unused-bits byte). */
  readonly signature: Uint8Array;
}

/**
 * Reads `SEQUENCE { tbs SEQUENCE, signatureAlgorithm, signatureValue BIT STRING }`, the shape
 * certificates and CRLs share.
 *
 * @param structure the ASN.1 type name for messages (`Certificate`, `CertificateList`)
 * @param tbsName the name of the signed part (`tbsCertificate`, `tbsCertList`)
 * @throws {ParseError} naming `field` (or its part) on any deviation
 */
export function readSignedDer(
  der: Uint8Array,
  field: string,
  structure: string,
  tbsName: string,
): SignedDer {
  const parts = children(readSingle(der, Tag.sequence, field), field);
  if (parts.length !== 3) throw new ParseError(field, `${structure} needs 3 elements`);
  const [tbs, signatureAlgorithm, signatureValue] = parts as [DerElement, DerElement, DerElement];
  expectTag(tbs, Tag.sequence, `${field}.${tbsName}`);
  expectTag(signatureValue, Tag.bitString, `${field}.signatureValue`);
  if (signatureValue.value.length < 1 || signatureValue.value[0] !== 0) {
    throw new ParseError(`${field}.signatureValue`, "BIT STRING has unused bits");
  }
  return { tbs, signatureAlgorithm, signature: signatureValue.value.subarray(1) };
}

/** DER of a non-negative INTEGER element holding `n` (a safe integer). */
export function encodeSmallInteger(n: number): Uint8Array {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return encodeElement(Tag.integer, Uint8Array.from(bytes));
}

/** DER of an OBJECT IDENTIFIER element for dotted `oid` (e.g. `1.2.840.113549`). */
export function encodeOid(oid: string): Uint8Array {
  const arcs = oid.split(".").map(Number);
  const out: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const groups: number[] = [];
    let n = arc;
    do {
      groups.unshift(n & 0x7f);
      n = Math.floor(n / 128);
    } while (n > 0);
    for (let i = 0; i < groups.length - 1; i++) groups[i]! |= 0x80;
    out.push(...groups);
  }
  return encodeElement(Tag.oid, Uint8Array.from(out));
}

/** Bytes of the DER definite-length field for `length` (short form below 128, else long form). */
function lengthFieldSize(length: number): number {
  if (length < 0x80) return 1;
  let size = 1;
  for (let n = length; n > 0; n = Math.floor(n / 256)) size++;
  return size;
}

/** Writes the DER definite-length field of `length` (`size` bytes) into `out` at `at`. */
function writeLength(out: Uint8Array, at: number, length: number, size: number): void {
  if (size === 1) {
    out[at] = length;
    return;
  }
  out[at] = 0x80 | (size - 1);
  for (let i = size - 1, n = length; i >= 1; i--, n = Math.floor(n / 256)) out[at + i] = n & 0xff;
}

/**
 * Bytes a DER element with `contentLength` bytes of contents takes: tag, definite length field
 * and contents. With {@link writeElementHeader}, a caller that knows every length first writes a
 * structure into one array instead of one array per element.
 *
 * @example The size of an OCTET STRING of 200 bytes (tag, `81 c8`, contents)
 * ```ts
 * import { elementLength } from "./der.ts";
 *
 * console.log(elementLength(200)); // 203
 * ```
 */
export function elementLength(contentLength: number): number {
  return 1 + lengthFieldSize(contentLength) + contentLength;
}

/**
 * Writes the tag and length field of an element with `contentLength` bytes of contents into
 * `out` at `at` (the same bytes {@link encodeElement} starts with).
 *
 * @returns the offset where the element's contents start
 *
 * @example An empty SEQUENCE written into a larger array
 * ```ts
 * import { elementLength, Tag, writeElementHeader } from "./der.ts";
 *
 * const out = new Uint8Array(elementLength(0));
 * console.log(writeElementHeader(out, 0, Tag.sequence, 0), out); // 2, Uint8Array [48, 0]
 * ```
 */
export function writeElementHeader(
  out: Uint8Array,
  at: number,
  tag: number,
  contentLength: number,
): number {
  const size = lengthFieldSize(contentLength);
  out[at] = tag;
  writeLength(out, at + 1, contentLength, size);
  return at + 1 + size;
}

/** A DER element with tag `tag` around `contents` (the parts are concatenated). */
export function encodeElement(tag: number, ...contents: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const c of contents) total += c.length;
  const size = lengthFieldSize(total);
  const out = new Uint8Array(1 + size + total);
  out[0] = tag;
  writeLength(out, 1, total, size);
  let at = 1 + size;
  for (const c of contents) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Decodes a UTCTime (`YYMMDDHHMMSSZ`, years 1950–2049) or GeneralizedTime (`YYYYMMDDHHMMSSZ`)
 * element, in the strict forms RFC 5280 requires.
 *
 * @throws {ParseError} naming `field` on any other form or an impossible date
 */
export function readTime(el: DerElement, field: string): Date {
  const text = new TextDecoder().decode(el.value);
  let m: RegExpMatchArray | null;
  let year: number;
  if (el.tag === Tag.utcTime) {
    m = text.match(/^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/);
    if (!m) throw new ParseError(field, `UTCTime "${text}" is not YYMMDDHHMMSSZ`);
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (el.tag === Tag.generalizedTime) {
    m = text.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/);
    if (!m) throw new ParseError(field, `GeneralizedTime "${text}" is not YYYYMMDDHHMMSSZ`);
    year = Number(m[1]);
  } else {
    throw new ParseError(field, `expected a time, found DER tag 0x${hex2(el.tag)}`);
  }
  const [month, day, hour, minute, second] = m.slice(2).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (
    date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 ||
    second > 59
  ) {
    throw new ParseError(field, `"${text}" is not a valid date`);
  }
  return date;
}

/** DER of `SEQUENCE { OCTET STRING, … }` holding `items` in order. */
export function encodeOctetStringSequence(items: readonly Uint8Array[]): Uint8Array {
  return encodeElement(Tag.sequence, ...items.map((i) => encodeElement(Tag.octetString, i)));
}

/**
 * The OCTET STRINGs (copies) of a DER `SEQUENCE { OCTET STRING, … }`.
 *
 * @throws {ParseError} naming `field` (or the item) on any other shape or trailing bytes
 */
export function decodeOctetStringSequence(bytes: Uint8Array, field: string): Uint8Array[] {
  return children(readSingle(bytes, Tag.sequence, field), field).map((item, i) => {
    expectTag(item, Tag.octetString, `${field}[${i}]`);
    return item.value.slice();
  });
}
