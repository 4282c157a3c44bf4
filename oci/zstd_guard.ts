/**
 * Bounds on what a zstd layer may make its decoder do, read from the frame and block headers
 * (RFC 8878) before the bytes reach `fzstd`. That decoder allocates each frame's whole window up
 * front and moves the whole window for every block, so a header alone chose its memory (10 bytes
 * declaring a 1 GiB window made it allocate 1 GiB) and tiny blocks in a large window cost time
 * without bound. The guard refuses windows above 8 MiB (RFC 8878's interoperability limit, what
 * registries' zstd encoders use) and tells its caller, block by block, the work the decoder will
 * do, which the caller compares with the output it got.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";

/** Largest frame window accepted: RFC 8878 §3.1.1.1.2 asks encoders to stay within 8 MB. */
export const MAX_ZSTD_WINDOW = 8 * 1024 * 1024;

const MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE = 0x184d2a50;

/** A piece of the input that ends at a block boundary (or the chunk's end), and its cost. */
interface ZstdPiece {
  /** End offset of the piece in the chunk given to {@link ZstdGuard.split}. */
  readonly end: number;
  /** Bytes of window the decoder moves for the blocks whose headers this piece completes. */
  readonly work: number;
}

type State = "magic" | "frameHeader" | "blockHeader" | "skip" | "skippableSize" | "unknown";

/**
 * Follows the frames and blocks of a zstd stream across chunks. Data it cannot follow (a bad magic
 * number, a reserved block type) is left to the decoder, which rejects it.
 */
export class ZstdGuard {
  readonly #field: string;
  #state: State = "magic";
  /** Bytes of the header being collected. */
  #header: number[] = [];
  /** Length the current header needs. */
  #need = 4;
  /** Bytes still to skip (block content, checksum, skippable frame). */
  #skip = 0;
  /** What follows the skip. */
  #after: State = "magic";
  #window = 0;
  #checksum = false;
  /** Work of the block whose content is being skipped. */
  #pending = 0;

  /** A guard whose errors name `field` (e.g. the layer). */
  constructor(field: string) {
    this.#field = field;
  }

  /**
   * Splits `chunk` after each block it completes, with the work of each piece.
   *
   * @throws {ParseError} naming the field when a frame's window exceeds {@link MAX_ZSTD_WINDOW}
   */
  split(chunk: Uint8Array): ZstdPiece[] {
    const pieces: ZstdPiece[] = [];
    let i = 0;
    while (i < chunk.length && this.#state !== "unknown") {
      if (this.#state === "skip") {
        const n = Math.min(this.#skip, chunk.length - i);
        i += n;
        this.#skip -= n;
        if (this.#skip > 0) continue;
        this.#state = this.#after;
      } else {
        this.#header.push(chunk[i++]!);
        if (this.#state === "frameHeader" && this.#header.length === 1) {
          this.#need = 1 + frameHeaderRest(this.#header[0]!);
        }
        if (this.#header.length < this.#need) continue;
        const header = this.#header;
        this.#header = [];
        this.#pending += this.#complete(header);
      }
      // A block is complete when its content (and checksum) has been skipped.
      if (this.#pending > 0 && this.#state !== "skip") {
        pieces.push({ end: i, work: this.#pending });
        this.#pending = 0;
      }
    }
    if (pieces.at(-1)?.end !== chunk.length) pieces.push({ end: chunk.length, work: 0 });
    return pieces;
  }

  /** Handles a complete header; returns the work of a block it announces. */
  #complete(header: number[]): number {
    switch (this.#state) {
      case "magic": {
        const magic = (header[0]! | header[1]! << 8 | header[2]! << 16 | header[3]! << 24) >>> 0;
        if (magic === MAGIC) {
          this.#state = "frameHeader";
          this.#need = 1;
        } else if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE) {
          this.#state = "skippableSize";
          this.#need = 4;
        } else {
          this.#state = "unknown";
        }
        return 0;
      }
      case "skippableSize":
        this.#skip = (header[0]! | header[1]! << 8 | header[2]! << 16 | header[3]! << 24) >>> 0;
        this.#after = "magic";
        this.#state = this.#skip > 0 ? "skip" : "magic";
        this.#need = 4;
        return 0;
      case "frameHeader":
        this.#window = frameWindow(header);
        if (this.#window > MAX_ZSTD_WINDOW) {
          throw new ParseError(
            this.#field,
            `zstd frame needs a ${this.#window}-byte window, more than the ${MAX_ZSTD_WINDOW} ` +
              "bytes (8 MiB) RFC 8878 asks encoders to stay within",
          );
        }
        this.#checksum = (header[0]! & 0x04) !== 0;
        this.#state = "blockHeader";
        this.#need = 3;
        return 0;
      case "blockHeader": {
        const value = header[0]! | header[1]! << 8 | header[2]! << 16;
        const last = (value & 1) === 1;
        const type = (value >> 1) & 3;
        const size = value >>> 3;
        if (type === 3) {
          this.#state = "unknown";
          return 0;
        }
        this.#skip = (type === 1 ? 1 : size) + (last && this.#checksum ? 4 : 0);
        this.#after = last ? "magic" : "blockHeader";
        this.#need = last ? 4 : 3;
        this.#state = this.#skip > 0 ? "skip" : this.#after;
        return Math.max(this.#window, 1);
      }
      default:
        return 0;
    }
  }
}

/** Bytes of a frame header after its descriptor byte `fhd`. */
function frameHeaderRest(fhd: number): number {
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const dictionary = [0, 1, 2, 4][fhd & 3]!;
  const contentSize = [single ? 1 : 0, 2, 4, 8][fcsFlag]!;
  return (single ? 0 : 1) + dictionary + contentSize;
}

/** The window a frame header (descriptor byte first) declares, as `fzstd` allocates it. */
function frameWindow(header: number[]): number {
  const fhd = header[0]!;
  const single = (fhd >> 5) & 1;
  if (!single) {
    const descriptor = header[1]!;
    const base = 2 ** (10 + (descriptor >> 3));
    return base + (base / 8) * (descriptor & 7);
  }
  // Single segment: the window is the content size (little-endian, after the dictionary id).
  const fcsFlag = fhd >> 6;
  const start = 1 + [0, 1, 2, 4][fhd & 3]!;
  const length = [1, 2, 4, 8][fcsFlag]!;
  let size = 0;
  for (let k = length - 1; k >= 0; k--) size = size * 256 + header[start + k]!;
  return fcsFlag === 1 ? size + 256 : size;
}
