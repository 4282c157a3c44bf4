import { ParseError } from "../errors/mod.ts";

/**
 * Reads little-endian integers and byte ranges from a buffer, checking every bound. Each read
 * names the field it reads, so a short buffer fails with the name of the field that did not fit.
 */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #offset: number;
  /** Prefix put before every field name in errors, e.g. `quote.body`. */
  readonly context: string;

  /** A reader of `bytes` from `offset`, naming fields under `context` in errors. */
  constructor(bytes: Uint8Array, context = "", offset = 0) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#offset = offset;
    this.context = context;
  }

  /** The current offset from the start of the buffer. */
  get offset(): number {
    return this.#offset;
  }

  /** Bytes left after the current offset. */
  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  /** The full name of `field` for errors. */
  name(field: string): string {
    return this.context ? `${this.context}.${field}` : field;
  }

  #take(field: string, length: number): number {
    if (length < 0 || this.#offset + length > this.#bytes.length) {
      throw new ParseError(
        this.name(field),
        `needs ${length} bytes at offset ${this.#offset}, only ${this.remaining} left`,
      );
    }
    const at = this.#offset;
    this.#offset += length;
    return at;
  }

  /** Unsigned 8-bit integer. */
  u8(field: string): number {
    return this.#view.getUint8(this.#take(field, 1));
  }

  /** Unsigned 16-bit little-endian integer. */
  u16(field: string): number {
    return this.#view.getUint16(this.#take(field, 2), true);
  }

  /** Unsigned 32-bit little-endian integer. */
  u32(field: string): number {
    return this.#view.getUint32(this.#take(field, 4), true);
  }

  /** Unsigned 64-bit little-endian integer. */
  u64(field: string): bigint {
    return this.#view.getBigUint64(this.#take(field, 8), true);
  }

  /** A copy of the next `length` bytes. */
  bytes(field: string, length: number): Uint8Array {
    const at = this.#take(field, length);
    return this.#bytes.slice(at, at + length);
  }

  /**
   * The next `length` bytes as a view into the buffer (no copy): for a parser that owns its
   * buffer, e.g. one that copied its input once.
   */
  view(field: string, length: number): Uint8Array {
    const at = this.#take(field, length);
    return this.#bytes.subarray(at, at + length);
  }

  /** Skips `length` bytes that must all be zero (reserved fields). */
  reserved(field: string, length: number): void {
    const at = this.#take(field, length);
    for (let i = at; i < at + length; i++) {
      if (this.#bytes[i] !== 0) {
        throw new ParseError(this.name(field), `reserved byte at offset ${i} is not zero`);
      }
    }
  }

  /** Skips `length` bytes without looking at them. */
  skip(field: string, length: number): void {
    this.#take(field, length);
  }
}
