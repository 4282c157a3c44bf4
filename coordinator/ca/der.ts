/**
 * A minimal DER encoder and bounds-checked decoder for the few ASN.1 types the claims extension
 * uses (SEQUENCE, INTEGER, OCTET STRING, UTF8String). Every decode error names the field.
 *
 * @module
 */
import { concatBytes } from "../../util/bytes/mod.ts";
import { ParseError } from "../../util/errors/mod.ts";

/** DER tags used here. */
export const TAG = {
  INTEGER: 0x02,
  OCTET_STRING: 0x04,
  UTF8_STRING: 0x0c,
  SEQUENCE: 0x30,
} as const;

function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** One DER TLV. */
export function derTlv(tag: number, content: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(tag), encodeLength(content.length), content);
}

/** DER SEQUENCE of already-encoded items. */
export function derSequence(items: readonly Uint8Array[]): Uint8Array {
  return derTlv(TAG.SEQUENCE, concatBytes(...items));
}

/** DER INTEGER of a non-negative safe integer. */
export function derUnsigned(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ParseError("integer", `expected a non-negative safe integer, got ${value}`);
  }
  const bytes: number[] = [];
  for (let n = value; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  if (bytes.length === 0 || bytes[0]! >= 0x80) bytes.unshift(0);
  return derTlv(TAG.INTEGER, Uint8Array.from(bytes));
}

/** DER OCTET STRING. */
export function derOctetString(bytes: Uint8Array): Uint8Array {
  return derTlv(TAG.OCTET_STRING, bytes);
}

/** DER UTF8String. */
export function derUtf8(text: string): Uint8Array {
  return derTlv(TAG.UTF8_STRING, new TextEncoder().encode(text));
}

/** Reads consecutive DER TLVs from a buffer, checking every bound and the minimal length form. */
export class DerReader {
  readonly #bytes: Uint8Array;
  #offset = 0;
  readonly #context: string;

  constructor(bytes: Uint8Array, context: string) {
    this.#bytes = bytes;
    this.#context = context;
  }

  /** Whether every byte was read. */
  get done(): boolean {
    return this.#offset === this.#bytes.length;
  }

  /** The content of the next TLV, which must carry `tag`. */
  read(tag: number, field: string): Uint8Array {
    const name = `${this.#context}.${field}`;
    const at = this.#offset;
    if (at + 2 > this.#bytes.length) throw new ParseError(name, "truncated");
    if (this.#bytes[at] !== tag) {
      throw new ParseError(
        name,
        `expected tag 0x${tag.toString(16)}, got 0x${this.#bytes[at]!.toString(16)}`,
      );
    }
    let length = this.#bytes[at + 1]!;
    let start = at + 2;
    if (length >= 0x80) {
      const n = length & 0x7f;
      if (n === 0 || n > 4 || start + n > this.#bytes.length) {
        throw new ParseError(name, "bad length");
      }
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + this.#bytes[start + i]!;
      if (length < 0x80 || this.#bytes[start] === 0) {
        throw new ParseError(name, "non-minimal length");
      }
      start += n;
    }
    if (start + length > this.#bytes.length) throw new ParseError(name, "truncated");
    this.#offset = start + length;
    return this.#bytes.subarray(start, start + length);
  }

  /** A nested reader over the content of the next SEQUENCE. */
  sequence(field: string): DerReader {
    return new DerReader(this.read(TAG.SEQUENCE, field), `${this.#context}.${field}`);
  }

  /** The next INTEGER as a non-negative safe integer. */
  unsigned(field: string): number {
    const content = this.read(TAG.INTEGER, field);
    const name = `${this.#context}.${field}`;
    if (content.length === 0 || content[0]! >= 0x80) throw new ParseError(name, "not non-negative");
    if (content.length > 1 && content[0] === 0 && content[1]! < 0x80) {
      throw new ParseError(name, "non-minimal integer");
    }
    let value = 0;
    for (const b of content) value = value * 256 + b;
    if (!Number.isSafeInteger(value)) throw new ParseError(name, "too large");
    return value;
  }

  /** The next OCTET STRING (a copy). */
  octetString(field: string): Uint8Array {
    return this.read(TAG.OCTET_STRING, field).slice();
  }

  /** The next UTF8String. */
  utf8(field: string): string {
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(this.read(TAG.UTF8_STRING, field));
    } catch (e) {
      if (e instanceof ParseError) throw e;
      throw new ParseError(`${this.#context}.${field}`, "not UTF-8");
    }
  }

  /** @throws {ParseError} when bytes are left over */
  finish(): void {
    if (!this.done) throw new ParseError(this.#context, "trailing bytes");
  }
}
