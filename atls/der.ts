/**
 * The few DER encodings the attested-TLS certificate extension needs: a SEQUENCE of OCTET
 * STRINGs, written and read with every length checked.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";
import { concatBytes } from "../util/bytes/mod.ts";

const TAG_SEQUENCE = 0x30;
const TAG_OCTET_STRING = 0x04;

function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return new Uint8Array([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return new Uint8Array([0x80 | bytes.length, ...bytes]);
}

function encodeTlv(tag: number, content: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([tag]), encodeLength(content.length), content);
}

/** DER of `SEQUENCE { OCTET STRING, … }` holding `items` in order. */
export function encodeOctetStringSequence(items: readonly Uint8Array[]): Uint8Array {
  return encodeTlv(TAG_SEQUENCE, concatBytes(...items.map((i) => encodeTlv(TAG_OCTET_STRING, i))));
}

interface Tlv {
  readonly tag: number;
  readonly content: Uint8Array;
  readonly end: number;
}

function readTlv(bytes: Uint8Array, offset: number, field: string): Tlv {
  if (offset + 2 > bytes.length) throw new ParseError(field, "truncated DER element");
  const tag = bytes[offset]!;
  let length = bytes[offset + 1]!;
  let cursor = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new ParseError(field, "unsupported DER length form");
    if (cursor + count > bytes.length) throw new ParseError(field, "truncated DER length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[cursor + i]!;
    cursor += count;
  }
  if (cursor + length > bytes.length) throw new ParseError(field, "DER element runs past its end");
  return { tag, content: bytes.subarray(cursor, cursor + length), end: cursor + length };
}

/**
 * The OCTET STRINGs of a DER `SEQUENCE { OCTET STRING, … }`.
 *
 * @throws {ParseError} naming `field` on any other shape or trailing bytes
 */
export function decodeOctetStringSequence(bytes: Uint8Array, field: string): Uint8Array[] {
  const outer = readTlv(bytes, 0, field);
  if (outer.tag !== TAG_SEQUENCE) throw new ParseError(field, "expected a DER SEQUENCE");
  if (outer.end !== bytes.length) throw new ParseError(field, "trailing bytes after SEQUENCE");
  const items: Uint8Array[] = [];
  let offset = 0;
  while (offset < outer.content.length) {
    const item = readTlv(outer.content, offset, `${field}[${items.length}]`);
    if (item.tag !== TAG_OCTET_STRING) {
      throw new ParseError(`${field}[${items.length}]`, "expected a DER OCTET STRING");
    }
    items.push(item.content.slice());
    offset = item.end;
  }
  return items;
}
