/**
 * Deterministic gzip (RFC 1952) around the platform's raw DEFLATE: the header is fixed (no file
 * name, modification time 0, OS "unknown"), so the same input always gives the same bytes.
 * Decompression is bounded so a small annotation cannot expand into gigabytes.
 *
 * @module
 */
import {
  constants,
  crc32 as zlibCrc32,
  createDeflateRaw,
  deflateRawSync,
  gzipSync,
} from "node:zlib";
import { joinBytes } from "../util/bytes/mod.ts";
import { ParseError } from "../util/errors/mod.ts";

const GZIP_HEADER = new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);

const CRC_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE) of `data`, as used in the gzip trailer. */
function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

async function pipe(
  data: Uint8Array,
  stream: TransformStream<Uint8Array, Uint8Array>,
  limit: number,
  field: string,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const writer = stream.writable.getWriter();
  const writing = writer.write(data).then(() => writer.close()).catch(() => {});
  const reader = stream.readable.getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > limit) {
        await reader.cancel();
        throw new ParseError(field, `decompressed data exceeds the limit of ${limit} bytes`);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof ParseError) throw error;
    throw new ParseError(field, `corrupt compressed data (${(error as Error).message})`);
  }
  await writing;
  return joinBytes(chunks);
}

/**
 * gzip-compresses `data` deterministically (fixed header: no name, mtime 0, OS "unknown"). zlib's
 * gzip member is used when its header carries no optional fields (then only the header's
 * mtime/XFL/OS bytes, which the CRC does not cover, are normalised); otherwise the member is
 * assembled from raw DEFLATE with our own header and CRC-32 trailer.
 */
export function gzipDeterministic(data: Uint8Array): Promise<Uint8Array> {
  const gz = new Uint8Array(gzipSync(data));
  if (gz.length >= 18 && gz[0] === 0x1f && gz[1] === 0x8b && gz[2] === 0x08 && gz[3] === 0) {
    gz.set(GZIP_HEADER.subarray(4), 4);
    return Promise.resolve(gz);
  }
  const deflated = new Uint8Array(deflateRawSync(data));
  const out = new Uint8Array(GZIP_HEADER.length + deflated.length + 8);
  out.set(GZIP_HEADER, 0);
  out.set(deflated, GZIP_HEADER.length);
  const trailer = new DataView(out.buffer, GZIP_HEADER.length + deflated.length, 8);
  trailer.setUint32(0, crc32(data), true);
  trailer.setUint32(4, data.length >>> 0, true);
  return Promise.resolve(out);
}

/**
 * zlib level of the per-input part of {@link prefixedGzip}: a pod's policy data (~44 KB escaped)
 * deflates in about 0.05 ms at level 2 against 0.13 ms at the default 6 (zlib, this machine), to
 * ~4.9 KB instead of ~3.8 KB, next to the ~17 KB of the once-compressed rules: the annotation
 * grows by ~1.4 KB of base64, far inside Kubernetes' 256 KiB for all of a pod's annotations.
 */
const SUFFIX_LEVEL = 2;

/**
 * A final DEFLATE block with no data (BFINAL = 1, fixed Huffman codes, just the end-of-block
 * code), starting on a byte boundary: what zlib itself writes to end a stream after a flush.
 */
const EMPTY_FINAL_BLOCK = new Uint8Array([0x03, 0x00]);

/**
 * A deterministic gzip compressor for many inputs that all start with the same `prefix` (e.g.
 * the rules every pod's initdata shares): for each suffix, one valid gzip member of
 * `prefix + suffix`, as {@link PrefixedGzip.prefixBytes} followed by the suffix's
 * {@link PrefixedGzip.suffixPart}. The prefix is compressed once, up to a byte-aligned sync
 * flush (a non-final empty stored block); the suffixes go through one zlib stream, each followed
 * by a full flush (`Z_FULL_FLUSH`: zlib forgets the history and starts again at window position
 * 0, so a suffix's DEFLATE blocks depend on that suffix alone and are the same bytes whatever was
 * compressed before it; tested), then an empty final block. The CRC-32 continues from the
 * prefix's. Any RFC 1951/1952 decoder reads the result (several blocks in one member are
 * ordinary DEFLATE). The suffix does not refer back into the prefix (a preset dictionary cost
 * more time per call than it saved bytes for policy data, which shares little text with the
 * rules).
 *
 * One stream for all suffixes instead of one `deflateRawSync` each: Deno's zlib allocates and
 * zeroes a fresh compressor state per call, which in a 1,000-pod `generate` run cost more than
 * compressing the ~44 KB of each pod's policy data (page faults on the fresh memory). Each suffix
 * is compressed when it is given, so a caller need not hold every suffix until the end.
 *
 * The prefix is compressed at zlib's default level, each suffix at {@link SUFFIX_LEVEL}.
 * {@link PrefixedGzip.close} ends the stream (a later suffix opens a new one).
 */
export class PrefixedGzip {
  /** The gzip header and the prefix's DEFLATE blocks: every member starts with these bytes. */
  readonly prefixBytes: Uint8Array;
  readonly #prefixLength: number;
  readonly #prefixCrc: number;
  #stream: ReturnType<typeof createDeflateRaw> | undefined;
  #chunks: Uint8Array[] = [];
  #failure: unknown;
  /** The suffix compressed last (suffixes go through the stream one at a time). */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(prefix: Uint8Array) {
    const head = new Uint8Array(deflateRawSync(prefix, { finishFlush: constants.Z_SYNC_FLUSH }));
    this.prefixBytes = new Uint8Array(GZIP_HEADER.length + head.length);
    this.prefixBytes.set(GZIP_HEADER, 0);
    this.prefixBytes.set(head, GZIP_HEADER.length);
    this.#prefixLength = prefix.length;
    this.#prefixCrc = zlibCrc32(prefix);
  }

  /**
   * The rest of the member of `prefix + suffix` after {@link prefixBytes}: the suffix's DEFLATE
   * blocks, an empty final block and the CRC-32 and length trailer. `suffix` is read before the
   * promise settles and not after (its buffer may be reused then).
   */
  suffixPart(suffix: Uint8Array): Promise<Uint8Array> {
    const part = this.#queue.then(() => this.#deflateFullFlushed(suffix)).then((body) => {
      const out = new Uint8Array(body.length + EMPTY_FINAL_BLOCK.length + 8);
      out.set(body, 0);
      out.set(EMPTY_FINAL_BLOCK, body.length);
      const trailer = new DataView(out.buffer, out.length - 8, 8);
      trailer.setUint32(0, zlibCrc32(suffix, this.#prefixCrc), true);
      trailer.setUint32(4, (this.#prefixLength + suffix.length) >>> 0, true);
      return out;
    });
    this.#queue = part.catch(() => {});
    return part;
  }

  /** Ends the zlib stream. */
  close(): void {
    this.#stream?.close();
    this.#stream = undefined;
  }

  /** Raw DEFLATE of `input` through the stream, ended by a full flush: the bytes zlib wrote. */
  #deflateFullFlushed(input: Uint8Array): Promise<Uint8Array> {
    if (this.#stream === undefined) {
      // Every write is compressed and ended by a full flush in one step (zlib's flush flag of
      // the write), instead of a write and then an empty flush write.
      const stream = createDeflateRaw({ level: SUFFIX_LEVEL, flush: constants.Z_FULL_FLUSH });
      stream.on("data", (chunk: Uint8Array) => this.#chunks.push(chunk));
      stream.on("error", (error: unknown) => this.#failure = error);
      this.#stream = stream;
    }
    const stream = this.#stream;
    return new Promise<Uint8Array>((resolve, reject) => {
      const done = () => {
        const chunks = this.#chunks;
        this.#chunks = [];
        if (this.#failure !== undefined) reject(this.#failure);
        else resolve(joinChunks(chunks));
      };
      // The callback runs after zlib's output for everything written so far was pushed (as
      // "data" events) to the readable side (`flush` is such a write too). zlib skips a full
      // flush right after another with no input between (a duplicate flush), so an empty input
      // is a no-flush step and then a full flush: the empty stored block that gives.
      if (input.length === 0) {
        stream.flush(constants.Z_NO_FLUSH);
        stream.flush(constants.Z_FULL_FLUSH, done);
      } else stream.write(input, done);
    });
  }
}

/**
 * The gzip members of `prefix + suffix` for each suffix, compressed as {@link PrefixedGzip}
 * does (one call compresses a list through one stream).
 */
export function prefixedGzip(
  prefix: Uint8Array,
): (suffixes: readonly Uint8Array[]) => Promise<Uint8Array[]> {
  const gzip = new PrefixedGzip(prefix);
  return async (suffixes) => {
    try {
      const members: Uint8Array[] = [];
      for (const suffix of suffixes) {
        const part = await gzip.suffixPart(suffix);
        const member = new Uint8Array(gzip.prefixBytes.length + part.length);
        member.set(gzip.prefixBytes, 0);
        member.set(part, gzip.prefixBytes.length);
        members.push(member);
      }
      return members;
    } finally {
      gzip.close();
    }
  };
}

function joinChunks(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Decompresses a gzip member, refusing output larger than `limit` bytes and checking the CRC-32
 * and length trailer.
 *
 * @throws {ParseError} naming `field` when the data is not gzip, is corrupt or too large
 */
export async function gunzipBounded(
  data: Uint8Array,
  limit: number,
  field = "gzip",
): Promise<Uint8Array> {
  if (data.length < 18 || data[0] !== 0x1f || data[1] !== 0x8b || data[2] !== 0x08) {
    throw new ParseError(field, "not gzip data (bad magic or method)");
  }
  const out = await pipe(
    data,
    new DecompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>,
    limit,
    field,
  );
  return out;
}
