/**
 * A growable byte buffer: appending a byte at a time stays linear.
 *
 * @module
 */

/** Bytes appended in order; {@link ByteBuffer.take} hands them over and starts afresh. */
export class ByteBuffer {
  #bytes = new Uint8Array(0);
  #length = 0;

  /** Bytes held. */
  get length(): number {
    return this.#length;
  }

  /** Appends a copy of `chunk`. */
  append(chunk: Uint8Array): void {
    if (this.#length + chunk.length > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(this.#length + chunk.length, this.#bytes.length * 2));
      grown.set(this.#bytes.subarray(0, this.#length));
      this.#bytes = grown;
    }
    this.#bytes.set(chunk, this.#length);
    this.#length += chunk.length;
  }

  /** The bytes held (never written again), then empty. */
  take(): Uint8Array {
    const out = this.#bytes.subarray(0, this.#length);
    this.#bytes = new Uint8Array(0);
    this.#length = 0;
    return out;
  }

  /** The bytes held, valid until the next {@link ByteBuffer.append} or {@link ByteBuffer.take}. */
  view(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }
}
