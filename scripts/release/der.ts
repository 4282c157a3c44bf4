/**
 * The little DER a release key needs: one tag-length-value element at a time, every length
 * checked, definite lengths in their shortest form only (what DER allows).
 *
 * @module
 */
import { ParseError } from "../../util/errors/mod.ts";

/** One DER element of a buffer. */
interface DerElement {
  /** The identifier octet, e.g. `0x30` for a SEQUENCE. */
  readonly tag: number;
  /** The element's content (no tag or length). */
  readonly content: Uint8Array;
  /** Where the next element of the buffer starts. */
  readonly next: number;
}

/**
 * The DER element of `bytes` at `at` (single-byte tags only).
 *
 * @throws {ParseError} naming `field` when the element is cut short or its length is not DER
 *
 * @example Read a SEQUENCE holding an INTEGER
 * ```ts
 * import { readDer } from "./der.ts";
 *
 * const seq = readDer(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]), 0, "key");
 * console.log(seq.tag, readDer(seq.content, 0, "key.version").content); // 48 Uint8Array [ 0 ]
 * ```
 */
export function readDer(bytes: Uint8Array, at: number, field: string): DerElement {
  if (at + 2 > bytes.length) throw new ParseError(field, "DER element cut short");
  const tag = bytes[at]!;
  if ((tag & 0x1f) === 0x1f) throw new ParseError(field, "multi-byte DER tag");
  let length = bytes[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 3) {
      throw new ParseError(field, "DER length not definite or too large");
    }
    if (start + octets > bytes.length) throw new ParseError(field, "DER length cut short");
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + bytes[start + i]!;
    if (bytes[start] === 0 || length < 0x80) throw new ParseError(field, "DER length not minimal");
    start += octets;
  }
  if (start + length > bytes.length) throw new ParseError(field, "DER element cut short");
  return { tag, content: bytes.subarray(start, start + length), next: start + length };
}

/**
 * The dotted form of an OBJECT IDENTIFIER's content octets (`2b6570` is `1.3.101.112`).
 *
 * @example Name Ed25519's identifier
 * ```ts
 * import { oidText } from "./der.ts";
 *
 * console.log(oidText(new Uint8Array([0x2b, 0x65, 0x70]))); // "1.3.101.112"
 * ```
 */
export function oidText(content: Uint8Array): string {
  const arcs: number[] = [];
  let value = 0;
  for (const byte of content) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      if (arcs.length === 0) {
        arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      } else arcs.push(value);
      value = 0;
    }
  }
  return arcs.join(".");
}
