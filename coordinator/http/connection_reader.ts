/**
 * Reads HTTP/1.1 requests off one connection: the head (through {@link scanHead}, at most
 * `maxHeadBytes`) and the body, framed by `Content-Length` or chunked, at most a given number of
 * bytes. Time is not this module's business: the connection's deadline closes the connection,
 * which ends any read here with an error.
 *
 * @module
 */
import { PayloadTooLargeError } from "../../protocol/errors.ts";
import {
  checkFieldLines,
  HttpFramingError,
  leadingEmptyLines,
  newHeadScan,
  parseChunkSizeLine,
  parseRequestHead,
  type RequestHead,
  scanHead,
} from "./request_head.ts";
import type { ByteConnection } from "./stream_connection.ts";

/** The first buffer of a connection; grown up to the head limit when a head needs more. */
const INITIAL_BUFFER_BYTES = 8 * 1024;

/** Longest chunk-size line (with extensions) accepted. */
const MAX_CHUNK_LINE_BYTES = 1024;

/**
 * Chunks any body may have; beyond, the chunks so far must average {@link MIN_MEAN_CHUNK_BYTES}
 * or more. Each chunk costs a size line and a read (~2.2 µs measured, against ~7 ns per byte of
 * a large chunk): a 32 MiB body in one-byte chunks cost ~75 s of CPU, a pre-authentication load
 * cut only by the request deadline.
 */
const FREE_CHUNKS = 1024;

/** Mean chunk size a body of more than {@link FREE_CHUNKS} chunks must keep, bytes. */
const MIN_MEAN_CHUNK_BYTES = 256;

/** Largest trailer section accepted. */
const MAX_TRAILER_BYTES = 8 * 1024;

/** First allocation for a body; doubled as its bytes arrive (never the declared length at once). */
const FIRST_BODY_BYTES = 64 * 1024;

/**
 * A body's bytes as they arrive, in one array grown by doubling: what a body holds is at most
 * about twice what the client sent, however it is framed. (Neither a `Content-Length` the client
 * declares but does not send nor a chunk count costs memory: one array per chunk cost ~230 bytes
 * of heap per one-byte chunk.)
 */
class BodyBuffer {
  #bytes = new Uint8Array(0);
  /** Bytes held. */
  length = 0;
  readonly #onGrow?: (bytes: number) => void;

  /** @param onGrow told of every growth of the buffer by the bytes added (may throw to refuse) */
  constructor(onGrow?: (bytes: number) => void) {
    this.#onGrow = onGrow;
  }

  /** Free space for at least one and at most `wanted` more bytes, holding at most `max` in all. */
  space(wanted: number, max: number): Uint8Array {
    if (this.length === this.#bytes.length) {
      const size = Math.min(max, Math.max(FIRST_BODY_BYTES, this.#bytes.length * 2));
      this.#onGrow?.(size - this.#bytes.length);
      const grown = new Uint8Array(size);
      grown.set(this.#bytes.subarray(0, this.length));
      this.#bytes = grown;
    }
    const free = Math.min(wanted, this.#bytes.length - this.length);
    return this.#bytes.subarray(this.length, this.length + free);
  }

  /** The bytes held. */
  get bytes(): Uint8Array {
    return this.#bytes.subarray(0, this.length);
  }
}

/** How a request's body is framed. */
type BodyFraming = Pick<RequestHead, "contentLength" | "chunked">;

/**
 * Connection buffers of one server, kept for reuse: a new connection takes one instead of
 * allocating 8 KiB (the allocation was ~3 us per connection in a V8 CPU profile of the layer).
 */
export class ReaderBuffers {
  readonly #free: Uint8Array[] = [];
  readonly #max: number;

  /** Keeps at most `max` free buffers. */
  constructor(max = 64) {
    this.#max = max;
  }

  /** A buffer for a new connection's reader. */
  take(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(INITIAL_BUFFER_BYTES);
  }

  /** Takes back a buffer no reader uses any more (one grown beyond the first size is dropped). */
  give(buffer: Uint8Array): void {
    if (buffer.length === INITIAL_BUFFER_BYTES && this.#free.length < this.#max) {
      this.#free.push(buffer);
    }
  }
}

/** Buffered reading of requests from `conn`. */
export class ConnectionReader {
  readonly #conn: Pick<ByteConnection, "read">;
  #buffer: Uint8Array;
  #start = 0;
  #end = 0;
  readonly #buffers?: ReaderBuffers;

  /** Reads `conn`, its buffer taken from `buffers` (a new one without). */
  constructor(conn: Pick<ByteConnection, "read">, buffers?: ReaderBuffers) {
    this.#conn = conn;
    this.#buffers = buffers;
    this.#buffer = buffers?.take() ?? new Uint8Array(INITIAL_BUFFER_BYTES);
  }

  /**
   * Gives the buffer back once the connection is closed and no read of it is under way: nothing
   * more is read (a read still waiting on the closed connection ends without bytes), and the
   * bytes it held are never seen again by this reader.
   */
  release(): void {
    const buffer = this.#buffer;
    this.#buffer = new Uint8Array(0);
    this.#start = 0;
    this.#end = 0;
    if (buffer.length > 0) this.#buffers?.give(buffer);
  }

  /** Whether bytes of a next request are already buffered (pipelined). */
  get hasBuffered(): boolean {
    return this.#end > this.#start;
  }

  /** Reads more bytes, keeping at most `max` buffered; false at end of stream. */
  async #fill(max: number): Promise<boolean> {
    if (this.#end === this.#buffer.length) {
      const held = this.#end - this.#start;
      if (held >= max) throw new Error("buffer limit reached");
      if (this.#start > 0) {
        this.#buffer.copyWithin(0, this.#start, this.#end);
      } else {
        const grown = new Uint8Array(Math.min(max, this.#buffer.length * 2));
        grown.set(this.#buffer.subarray(0, held));
        this.#buffer = grown;
      }
      this.#start = 0;
      this.#end = held;
    }
    const n = await this.#conn.read(this.#buffer.subarray(this.#end));
    if (n === null) return false;
    this.#end += n;
    return true;
  }

  /**
   * The next request head, or `undefined` when the client closed the connection before sending
   * a byte of it. `onFirstByte` is called once the first byte of the head has arrived.
   *
   * @throws {HttpFramingError} for a malformed head (431 when longer than `maxHeadBytes`, 400 when
   *   the connection ends inside it)
   */
  async readHead(maxHeadBytes: number, onFirstByte: () => void): Promise<RequestHead | undefined> {
    const scan = newHeadScan();
    let started = false;
    for (;;) {
      if (this.#end > this.#start) {
        if (!started) {
          started = true;
          onFirstByte();
        }
        if (scan.scanned === 0) {
          this.#start += leadingEmptyLines(this.#buffer.subarray(this.#start, this.#end));
        }
        const length = scanHead(this.#buffer.subarray(this.#start, this.#end), scan);
        if (length >= 0) {
          const head = parseRequestHead(this.#buffer.subarray(this.#start, this.#start + length));
          this.#start += length;
          return head;
        }
        if (this.#end - this.#start >= maxHeadBytes) {
          throw new HttpFramingError(431, "head", `request head longer than ${maxHeadBytes} bytes`);
        }
      }
      if (!await this.#fill(maxHeadBytes)) {
        if (!started) return undefined;
        throw new HttpFramingError(400, "head", "connection ended inside a request head");
      }
    }
  }

  /**
   * Appends the next `n` bytes to `out` (which may hold at most `max` bytes in all): from the
   * buffer first, then read straight into `out`'s free space.
   */
  async #readInto(out: BodyBuffer, n: number, max: number, field: string): Promise<void> {
    let left = n;
    while (left > 0) {
      const space = out.space(left, max);
      const held = this.#end - this.#start;
      let got: number;
      if (held > 0) {
        got = Math.min(space.length, held);
        space.set(this.#buffer.subarray(this.#start, this.#start + got));
        this.#start += got;
      } else {
        const read = await this.#conn.read(space);
        if (read === null) {
          throw new HttpFramingError(400, field, "connection ended inside the body");
        }
        got = read;
      }
      out.length += got;
      left -= got;
    }
  }

  /** The next line (without CRLF) of at most `max` bytes. */
  async #readLine(max: number, field: string): Promise<Uint8Array> {
    for (;;) {
      const held = this.#buffer.subarray(this.#start, this.#end);
      const lf = held.indexOf(10);
      if (lf >= 0) {
        if (lf === 0 || held[lf - 1] !== 13) throw new HttpFramingError(400, field, "bare LF");
        const line = held.slice(0, lf - 1);
        if (line.includes(13)) throw new HttpFramingError(400, field, "bare CR");
        this.#start += lf + 1;
        return line;
      }
      if (held.length >= max) throw new HttpFramingError(400, field, "line too long");
      if (!await this.#fill(Math.max(max, INITIAL_BUFFER_BYTES))) {
        throw new HttpFramingError(400, field, "connection ended inside the body");
      }
    }
  }

  /**
   * The body of a request with `framing`, at most `limit` bytes.
   *
   * @throws {PayloadTooLargeError} naming `body` when declared or sent longer than `limit`
   * @throws {HttpFramingError} for malformed chunked framing or a connection ending early
   * @param onGrow told of every growth of the body's buffer (bytes added); what it throws ends
   *   the read (a port's {@link import("./body_budget.ts").BodyBudget})
   */
  async readBody(
    framing: BodyFraming,
    limit: number,
    onGrow?: (bytes: number) => void,
  ): Promise<Uint8Array> {
    if (framing.chunked) return await this.#readChunked(limit, onGrow);
    const length = framing.contentLength ?? 0;
    if (length > limit) throw new PayloadTooLargeError("body", `larger than ${limit} bytes`);
    if (length === 0) return new Uint8Array();
    const out = new BodyBuffer(onGrow);
    await this.#readInto(out, length, length, "body");
    return out.bytes;
  }

  async #readChunked(limit: number, onGrow?: (bytes: number) => void): Promise<Uint8Array> {
    const out = new BodyBuffer(onGrow);
    let total = 0;
    let chunks = 0;
    for (;;) {
      const size = parseChunkSizeLine(await this.#readLine(MAX_CHUNK_LINE_BYTES, "body.chunk"));
      if (size === 0) break;
      total += size;
      if (total > limit) throw new PayloadTooLargeError("body", `larger than ${limit} bytes`);
      if (++chunks > FREE_CHUNKS && total < chunks * MIN_MEAN_CHUNK_BYTES) {
        throw new HttpFramingError(
          400,
          "body.chunk",
          `more than ${FREE_CHUNKS} chunks averaging under ${MIN_MEAN_CHUNK_BYTES} bytes`,
        );
      }
      await this.#readInto(out, size, limit, "body.chunk");
      const end = await this.#readLine(2, "body.chunk");
      if (end.length !== 0) {
        throw new HttpFramingError(400, "body.chunk", "chunk longer than its size");
      }
    }
    await this.#readTrailers();
    return out.bytes;
  }

  /** Reads and checks the trailer section after the last chunk (its fields are ignored). */
  async #readTrailers(): Promise<void> {
    const scan = newHeadScan();
    for (;;) {
      const held = this.#buffer.subarray(this.#start, this.#end);
      const length = scanHead(held, scan);
      if (length >= 0) {
        checkFieldLines(held.subarray(0, length), "body.trailer");
        this.#start += length;
        return;
      }
      if (held.length >= MAX_TRAILER_BYTES) {
        throw new HttpFramingError(431, "body.trailer", "trailer section too long");
      }
      if (!await this.#fill(MAX_TRAILER_BYTES)) {
        throw new HttpFramingError(400, "body.trailer", "connection ended inside the trailers");
      }
    }
  }
}
