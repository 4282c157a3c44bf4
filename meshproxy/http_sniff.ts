/**
 * Decides from a connection's first client line whether it speaks HTTP/1.x, without a timer and
 * without holding bytes (see {@link FirstLine}): `http` when the line, once it ends, looks like a
 * request line, `tcp` as soon as the bytes cannot become one. The test is deliberately looser
 * than any HTTP server: whatever a server might take for a request line is classed `http`, and
 * then the strict rewrite in `http_identity.ts` either accepts it or closes the connection. Pure.
 *
 * @module
 */
import { ByteBuffer } from "./byte_buffer.ts";
import { decodeLatin1 } from "./latin1.ts";

/** Bytes a server may skip before a request line: SP, HTAB, CR, LF. */
function isLeadingSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === 0x0a;
}

/** A complete first line that some HTTP server could read as a request line (no CR/LF). */
const LOOSE_REQUEST_LINE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+[ \t]+.*[ \t]HTTP\/[0-9]/i;
/** `TCHAR[b]` is 1 when byte `b` may appear in a method (RFC 9110 token). */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
  TCHAR[c.charCodeAt(0)] = 1;
}

/** Longest first line kept for the HTTP rewrite; a longer request line closes the connection. */
const MAX_FIRST_LINE_BYTES = 64 * 1024;

/** What {@link FirstLine.push} decided for a chunk. */
type FirstLineStep =
  /** Still the first line: `forward` goes to the application unchanged. */
  | { readonly verdict: "undecided"; readonly forward: Uint8Array }
  /** Not HTTP: `forward` (the whole chunk) and everything after it go on unchanged. */
  | { readonly verdict: "tcp"; readonly forward: Uint8Array }
  /**
   * HTTP: `forward` goes on unchanged; `line` (the request line's bytes, all of them already
   * forwarded) followed by `rest` is the start of the stream to rewrite.
   */
  | {
    readonly verdict: "http";
    readonly forward: Uint8Array;
    readonly line: Uint8Array;
    readonly rest: Uint8Array;
  }
  /** Might be HTTP but cannot be rewritten safely (over-long, or odd bytes before it). */
  | { readonly verdict: "refuse"; readonly reason: string };

/**
 * Follows a connection's first line without holding it: no header can come before the first
 * line ends, so every byte before its first CR or LF is forwarded at once (short client-first
 * messages without a line end keep working, and no timer is needed); the line end decides.
 * Leading blank lines are skipped as servers do.
 */
export class FirstLine {
  readonly #line = new ByteBuffer();
  #overflow = false;
  /** Bytes of the line so far. */
  #lineBytes = 0;
  #started = false;
  /** Whether the bytes before the line are exactly CRLF pairs (what a strict server skips). */
  #leadingClean = true;
  #leadingCr = false;
  /** 0: in the method; 1: after the method and a blank (anything may follow). */
  #phase = 0;

  /** Feeds client bytes; see {@link FirstLineStep}. */
  push(chunk: Uint8Array): FirstLineStep {
    let i = 0;
    if (!this.#started) {
      for (; i < chunk.length && isLeadingSpace(chunk[i]!); i++) this.#leading(chunk[i]!);
      if (i === chunk.length) return { verdict: "undecided", forward: chunk };
      this.#started = true;
      if (this.#leadingCr) this.#leadingClean = false;
    }
    const lineStart = i;
    for (; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === 0x0d || b === 0x0a) break;
      if (this.#phase === 0) {
        if (TCHAR[b] === 1) continue;
        if ((b === 0x20 || b === 0x09) && (i > lineStart || this.#lineBytes > 0)) {
          this.#phase = 1;
          continue;
        }
        return { verdict: "tcp", forward: chunk };
      }
      // In phase 1 only the line end matters: find it natively.
      const cr = chunk.indexOf(0x0d, i);
      const lf = chunk.indexOf(0x0a, i);
      i = cr < 0 ? (lf < 0 ? chunk.length : lf) : lf < 0 ? cr : Math.min(cr, lf);
      break;
    }
    this.#keep(chunk.subarray(lineStart, i));
    if (i === chunk.length) return { verdict: "undecided", forward: chunk };
    // The line ends here: decide.
    const line = this.#line.take();
    if (this.#phase === 0) return { verdict: "tcp", forward: chunk };
    if (this.#overflow) return { verdict: "refuse", reason: "head_too_large" };
    if (!LOOSE_REQUEST_LINE.test(decodeLatin1(line))) return { verdict: "tcp", forward: chunk };
    if (!this.#leadingClean) return { verdict: "refuse", reason: "http_framing" };
    return { verdict: "http", forward: chunk.subarray(0, i), line, rest: chunk.subarray(i) };
  }

  #leading(b: number): void {
    if (b === 0x0d) {
      if (this.#leadingCr) this.#leadingClean = false;
      this.#leadingCr = true;
    } else if (b === 0x0a) {
      if (!this.#leadingCr) this.#leadingClean = false;
      this.#leadingCr = false;
    } else this.#leadingClean = false;
  }

  #keep(bytes: Uint8Array): void {
    this.#lineBytes += bytes.length;
    if (this.#overflow) return;
    if (this.#line.length + bytes.length > MAX_FIRST_LINE_BYTES) {
      this.#overflow = true;
      this.#line.take();
      return;
    }
    this.#line.append(bytes);
  }
}
