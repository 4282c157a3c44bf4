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
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
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
 * the rules every pod's initdata shares): returns, for a list of suffixes, one valid gzip member
 * of `prefix + suffix` per suffix. The prefix is compressed once, up to a byte-aligned sync flush
 * (a non-final empty stored block); the suffixes go through one zlib stream, each followed by a
 * full flush (`Z_FULL_FLUSH`: zlib forgets the history and starts again at window position 0,
 * so a suffix's DEFLATE blocks depend on that suffix alone and are the same bytes whatever was
 * compressed before it; tested), then an empty final block. The CRC-32 continues from the
 * prefix's. Any RFC 1951/1952 decoder reads the result (several blocks in one member are
 * ordinary DEFLATE). The suffix does not refer back into the prefix (a preset dictionary cost
 * more time per call than it saved bytes for policy data, which shares little text with the
 * rules).
 *
 * One stream for all suffixes instead of one `deflateRawSync` each: Deno's zlib allocates and
 * zeroes a fresh compressor state per call, which in a 1,000-pod `generate` run cost more than
 * compressing the ~44 KB of each pod's policy data (page faults on the fresh memory).
 *
 * The prefix is compressed at zlib's default level, each suffix at {@link SUFFIX_LEVEL}.
 */
export function prefixedGzip(
  prefix: Uint8Array,
): (suffixes: readonly Uint8Array[]) => Promise<Uint8Array[]> {
  const head = new Uint8Array(
    deflateRawSync(prefix, { finishFlush: constants.Z_SYNC_FLUSH }),
  );
  const prefixCrc = zlibCrc32(prefix);
  return async (suffixes) => {
    const bodies = await deflateEachFullFlushed(suffixes);
    return suffixes.map((suffix, i) => {
      const body = bodies[i]!;
      const out = new Uint8Array(
        GZIP_HEADER.length + head.length + body.length + EMPTY_FINAL_BLOCK.length + 8,
      );
      let at = 0;
      for (const part of [GZIP_HEADER, head, body, EMPTY_FINAL_BLOCK]) {
        out.set(part, at);
        at += part.length;
      }
      const trailer = new DataView(out.buffer, out.length - 8, 8);
      trailer.setUint32(0, zlibCrc32(suffix, prefixCrc), true);
      trailer.setUint32(4, (prefix.length + suffix.length) >>> 0, true);
      return out;
    });
  };
}

/**
 * Raw DEFLATE of each input through one zlib stream at {@link SUFFIX_LEVEL}, each ended by a full
 * flush (non-final blocks, then an empty stored block): the bytes zlib wrote for that input.
 */
function deflateEachFullFlushed(inputs: readonly Uint8Array[]): Promise<Uint8Array[]> {
  if (inputs.length === 0) return Promise.resolve([]);
  const stream = createDeflateRaw({ level: SUFFIX_LEVEL });
  return new Promise<Uint8Array[]>((resolve, reject) => {
    const outputs: Uint8Array[] = [];
    let chunks: Uint8Array[] = [];
    stream.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    stream.on("error", reject);
    const next = (index: number) => {
      if (index === inputs.length) {
        stream.close();
        resolve(outputs);
        return;
      }
      stream.write(inputs[index]!);
      // The flush callback runs after zlib's output for everything written so far was pushed
      // (as "data" events) to the readable side.
      stream.flush(constants.Z_FULL_FLUSH, () => {
        outputs.push(joinChunks(chunks));
        chunks = [];
        next(index + 1);
      });
    };
    next(0);
  });
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
