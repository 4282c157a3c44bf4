/**
 * Exact-length reads from a byte stream, for parsers that consume a stream piece by piece
 * without holding all of it.
 *
 * @module
 */

/** Reads exact byte counts from a `ReadableStream<Uint8Array>`. */
export class StreamReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #offset = 0;
  #done = false;
  /** Bytes consumed so far. */
  position = 0;

  /** Reads from `stream` (locking it). */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  async #fill(): Promise<boolean> {
    while (this.#offset >= this.#chunk.length) {
      if (this.#done) return false;
      const { value, done } = await this.#reader.read();
      if (done) {
        this.#done = true;
        return false;
      }
      this.#chunk = value;
      this.#offset = 0;
    }
    return true;
  }

  /**
   * Reads exactly `n` bytes, or fewer only when the stream ends first (the caller checks the
   * length). The result may be a view into the stream's chunk: copy it to keep it.
   */
  async read(n: number): Promise<Uint8Array> {
    if (this.#offset + n <= this.#chunk.length) {
      // Fast path: a view into the current chunk (valid until the caller reads on).
      const view = this.#chunk.subarray(this.#offset, this.#offset + n);
      this.#offset += n;
      this.position += n;
      return view;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (!(await this.#fill())) break;
      const take = Math.min(n - filled, this.#chunk.length - this.#offset);
      out.set(this.#chunk.subarray(this.#offset, this.#offset + take), filled);
      this.#offset += take;
      filled += take;
    }
    this.position += filled;
    return filled === n ? out : out.subarray(0, filled);
  }

  /** Skips `n` bytes; returns how many were actually skipped (fewer when the stream ends). */
  async skip(n: number): Promise<number> {
    let skipped = 0;
    while (skipped < n) {
      if (!(await this.#fill())) break;
      const take = Math.min(n - skipped, this.#chunk.length - this.#offset);
      this.#offset += take;
      skipped += take;
    }
    this.position += skipped;
    return skipped;
  }

  /**
   * Reads and discards the rest of the stream.
   *
   * @returns whether every byte of the rest was zero
   */
  async drain(): Promise<boolean> {
    let zero = true;
    while (await this.#fill()) {
      const chunk = this.#chunk;
      for (let i = this.#offset; zero && i < chunk.length; i++) zero = chunk[i] === 0;
      this.position += chunk.length - this.#offset;
      this.#offset = chunk.length;
    }
    return zero;
  }

  /** Stops reading and releases the stream. */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}
