/**
 * Layer compression: gzip (Web `CompressionStream`/`DecompressionStream`), zstd (`fzstd` for
 * reading, behind the bounds of `zstd_guard.ts`; frames of raw blocks for writing) and
 * uncompressed tar, detected by magic bytes.
 *
 * @module
 */
import { Decompress } from "fzstd";
import { concatBytes } from "../util/bytes/mod.ts";
import { ParseError } from "../util/errors/mod.ts";
import { ZstdGuard } from "./zstd_guard.ts";

/** Layer compressions contrast reads and writes. */
export type Compression = "gzip" | "zstd" | "none";

const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const GZIP_MAGIC = [0x1f, 0x8b];

/** The compression of `data`, from its magic bytes ("none" when neither gzip nor zstd). */
export function detectCompression(data: Uint8Array): Compression {
  if (GZIP_MAGIC.every((b, i) => data[i] === b)) return "gzip";
  if (ZSTD_MAGIC.every((b, i) => data[i] === b)) return "zstd";
  return "none";
}

/**
 * How much window `fzstd` may move (it moves its whole window for every block): 256 bytes per
 * byte of output (full 128 KiB blocks in an 8 MiB window move 64), plus 8,192 per byte of input
 * (an 8 MiB window per KiB of compressed block; zstd -19 splits blocks to ~16 KiB of output,
 * ~2.4 KB of input), plus 4 GiB (a few seconds) regardless. A crafted layer of tiny blocks in a
 * large window (4 bytes each, each moving 8 MiB) exceeds it within ~500 blocks.
 */
const ZSTD_WORK_PER_OUTPUT = 256;
const ZSTD_WORK_PER_INPUT = 8192;
const ZSTD_WORK_ALLOWANCE = 4 * 1024 ** 3;

function zstdDecompressor(field: string): TransformStream<Uint8Array, Uint8Array> {
  let controller!: TransformStreamDefaultController<Uint8Array>;
  let finished = false;
  let input = 0;
  let output = 0;
  let work = 0;
  const guard = new ZstdGuard(field);
  const zstd = new Decompress((chunk, final) => {
    output += chunk.length;
    if (chunk.length > 0) controller.enqueue(chunk);
    if (final) finished = true;
  });
  const push = (chunk: Uint8Array, final: boolean) => {
    try {
      zstd.push(chunk, final);
    } catch (e) {
      throw new ParseError(field, `invalid zstd data: ${(e as Error).message}`);
    }
  };
  return new TransformStream({
    start(c) {
      controller = c;
    },
    transform(chunk) {
      // Block by block, so that the work of each is weighed before the decoder does it.
      let start = 0;
      for (const piece of guard.split(chunk)) {
        work += piece.work;
        input += piece.end - start;
        const budget = ZSTD_WORK_ALLOWANCE + ZSTD_WORK_PER_OUTPUT * output +
          ZSTD_WORK_PER_INPUT * input;
        if (work > budget) {
          throw new ParseError(
            field,
            `zstd blocks too small for their window: decoding would move ${work} bytes of ` +
              `window for ${input} bytes of input and ${output} of output (at most ` +
              `${ZSTD_WORK_PER_INPUT} per input byte and ${ZSTD_WORK_PER_OUTPUT} per output byte ` +
              `beyond ${ZSTD_WORK_ALLOWANCE})`,
          );
        }
        if (piece.end > start) push(chunk.subarray(start, piece.end), false);
        start = piece.end;
      }
    },
    flush() {
      push(new Uint8Array(0), true);
      if (!finished) throw new ParseError(field, "truncated zstd data");
    },
  });
}

/**
 * The decompressed content of `data` as a stream. Decompression errors surface as
 * {@link ParseError}s naming `field` when the stream is read.
 */
export function decompressStream(data: Uint8Array, field: string): ReadableStream<Uint8Array> {
  const source = new Blob([data as Uint8Array<ArrayBuffer>]).stream();
  return decompressWith(detectCompression(data), source, field);
}

function decompressWith(
  compression: Compression,
  source: ReadableStream<Uint8Array>,
  field: string,
): ReadableStream<Uint8Array> {
  switch (compression) {
    case "gzip":
      return wrapErrors(
        (source as ReadableStream<Uint8Array<ArrayBuffer>>).pipeThrough(
          new DecompressionStream("gzip"),
        ),
        field,
        "gzip",
      );
    case "zstd":
      return source.pipeThrough(zstdDecompressor(field));
    case "none":
      return source;
  }
}

/**
 * The decompressed content of a compressed stream, the compression detected from its first
 * bytes (as {@link decompressStream} does for bytes in memory).
 */
export async function decompressReadable(
  source: ReadableStream<Uint8Array>,
  field: string,
): Promise<ReadableStream<Uint8Array>> {
  const reader = source.getReader();
  const head: Uint8Array[] = [];
  let headLength = 0;
  let done = false;
  while (headLength < 4) {
    const next = await reader.read();
    if (next.done) {
      done = true;
      break;
    }
    head.push(next.value);
    headLength += next.value.length;
  }
  const first = concatBytes(...head);
  const rest = new ReadableStream<Uint8Array>({
    start(controller) {
      if (first.length > 0) controller.enqueue(first);
      if (done) controller.close();
    },
    async pull(controller) {
      if (done) return;
      const next = await reader.read();
      if (next.done) {
        done = true;
        controller.close();
      } else {
        controller.enqueue(next.value);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return decompressWith(detectCompression(first), rest, field);
}

/** Turns errors of a decompression stream into {@link ParseError}s naming `field`. */
function wrapErrors(
  stream: ReadableStream<Uint8Array>,
  field: string,
  format: string,
): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (e) {
        controller.error(
          e instanceof ParseError ? e : new ParseError(field, `invalid ${format} data: ${e}`),
        );
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** Collects a stream into one byte array. */
export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of stream) parts.push(chunk);
  return concatBytes(...parts);
}

/** gzip of `data` (deterministic: the Web gzip header carries no time or name). */
export function gzip(data: Uint8Array): Promise<Uint8Array> {
  return collect(
    new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
      new CompressionStream("gzip"),
    ),
  );
}

const ZSTD_MAX_BLOCK = 128 * 1024 - 1;

/**
 * A zstd frame holding `data` in raw (stored) blocks: valid zstd that any decoder reads, with
 * the content size and without checksum. contrast writes zstd layers only for tests and demos,
 * where compression ratio does not matter.
 */
export function zstdStored(data: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  // Frame header: magic, descriptor (8-byte content size, single segment), content size.
  const header = new Uint8Array(4 + 1 + 8);
  header.set(ZSTD_MAGIC, 0);
  header[4] = 0b1110_0000; // FCS flag 3 (8 bytes), single segment, no checksum, no dict
  new DataView(header.buffer).setBigUint64(5, BigInt(data.length), true);
  parts.push(header);
  let offset = 0;
  do {
    const size = Math.min(ZSTD_MAX_BLOCK, data.length - offset);
    const last = offset + size >= data.length ? 1 : 0;
    const blockHeader = (size << 3) | (0 << 1) | last; // block type 0 = raw
    parts.push(
      new Uint8Array([blockHeader & 0xff, (blockHeader >> 8) & 0xff, (blockHeader >> 16) & 0xff]),
      data.subarray(offset, offset + size),
    );
    offset += size;
  } while (offset < data.length);
  return concatBytes(...parts);
}

/** Compresses a layer tar with `compression`. */
export function compress(data: Uint8Array, compression: Compression): Promise<Uint8Array> {
  switch (compression) {
    case "gzip":
      return gzip(data);
    case "zstd":
      return Promise.resolve(zstdStored(data));
    case "none":
      return Promise.resolve(data);
  }
}
