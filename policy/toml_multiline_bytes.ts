/**
 * The per-pod part of an initdata document in one pass over bytes: a policy line's UTF-8 bytes
 * escaped for a TOML multi-line basic string (the same bytes `escapeTomlMultiline` then UTF-8
 * encoding give) and measured as the Kata agent counts lines, without the regular-expression
 * scans, string replacements and second encoding the string functions cost for every pod.
 *
 * @module
 */
import type { PolicyTextSize } from "./agent_limits.ts";

const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const NEWLINE = 0x0a;
const TAB = 0x09;
const DEL = 0x7f;
const HEX = new TextEncoder().encode("0123456789abcdef");

/** Whether `byte` must be written as `\uXXXX` in a TOML multi-line basic string. */
function isTomlControl(byte: number): boolean {
  return (byte < 0x20 && byte !== NEWLINE && byte !== TAB) || byte === DEL;
}

/** Escaped text and its measure, see {@link escapeAndMeasureTomlMultiline}. */
interface EscapedMeasured {
  /** The escaped bytes followed by `suffix`. */
  readonly bytes: Uint8Array;
  /** The size of the unescaped text as the agent counts it (see `measurePolicyText`). */
  readonly size: PolicyTextSize;
}

/**
 * A piece of a text, escaped, with what measuring the whole text needs from it: its lines are
 * cut at the piece's edges, so the first and last (partial) lines are kept apart from the lines
 * wholly inside it.
 */
export interface EscapedPiece {
  /** The escaped bytes. */
  readonly escaped: Uint8Array;
  /** Length of the unescaped UTF-8 bytes. */
  readonly bytes: number;
  /** Number of newlines. */
  readonly newlines: number;
  /** Bytes before the first newline (all of them without one). */
  readonly firstLineBytes: number;
  /** Bytes after the last newline. */
  readonly lastLineBytes: number;
  /** The longest line between two newlines of the piece (-1 without one)… */
  readonly longestInnerBytes: number;
  /** …and its first occurrence: 1 is the line after the piece's first newline. */
  readonly longestInnerLine: number;
}

/**
 * Escapes UTF-8 `text` for a TOML multi-line basic string (backslash and double quote escaped,
 * control characters other than tab and newline as `\uXXXX`, everything else verbatim) and
 * measures its lines, see {@link EscapedPiece}. Multi-byte UTF-8 sequences never contain bytes
 * below 0x80, so a byte-wise escape is the character-wise one.
 */
export function escapeTomlPiece(text: Uint8Array): EscapedPiece {
  const n = text.length;
  // Backslash and quote double; a control character becomes six bytes (grown on demand).
  let out = new Uint8Array(2 * n);
  let o = 0;
  let newlines = 0;
  let firstLineBytes = n;
  let lineStart = 0;
  let longestInnerBytes = -1;
  let longestInnerLine = 0;
  for (let i = 0; i < n; i++) {
    const byte = text[i]!;
    if (byte === BACKSLASH || byte === QUOTE) {
      out[o++] = BACKSLASH;
      out[o++] = byte;
    } else if (byte === NEWLINE) {
      out[o++] = byte;
      if (newlines === 0) firstLineBytes = i;
      else if (i - lineStart > longestInnerBytes) {
        longestInnerBytes = i - lineStart;
        longestInnerLine = newlines;
      }
      newlines++;
      lineStart = i + 1;
    } else if (isTomlControl(byte)) {
      const needed = o + 6 + 2 * (n - i - 1);
      if (needed > out.length) {
        const grown = new Uint8Array(needed + 64);
        grown.set(out.subarray(0, o));
        out = grown;
      }
      out.set([BACKSLASH, 0x75, 0x30, 0x30, HEX[byte >> 4]!, HEX[byte & 0xf]!], o);
      o += 6;
    } else {
      out[o++] = byte;
    }
  }
  return {
    escaped: out.subarray(0, o),
    bytes: n,
    newlines,
    firstLineBytes,
    lastLineBytes: newlines === 0 ? n : n - lineStart,
    longestInnerBytes,
    longestInnerLine,
  };
}

/**
 * The pieces' escaped bytes joined and followed by `suffix` (written as given), with the size of
 * the unescaped text they make up as `measurePolicyText` measures it: lines running across pieces
 * are counted once, and the longest line is the first of the longest.
 */
export function joinEscapedPieces(
  pieces: readonly EscapedPiece[],
  suffix: Uint8Array,
): EscapedMeasured {
  let total = suffix.length;
  for (const piece of pieces) total += piece.escaped.length;
  const out = new Uint8Array(total);
  let o = 0;
  let bytes = 0;
  let lines = 0; // complete lines so far
  let current = 0; // bytes of the line still open
  let longestLineBytes = 0;
  let longestLine = 0;
  for (const piece of pieces) {
    out.set(piece.escaped, o);
    o += piece.escaped.length;
    bytes += piece.bytes;
    if (piece.newlines === 0) {
      current += piece.bytes;
      continue;
    }
    lines++;
    if (current + piece.firstLineBytes > longestLineBytes) {
      longestLineBytes = current + piece.firstLineBytes;
      longestLine = lines;
    }
    if (piece.longestInnerBytes > longestLineBytes) {
      longestLineBytes = piece.longestInnerBytes;
      longestLine = lines + piece.longestInnerLine;
    }
    lines += piece.newlines - 1;
    current = piece.lastLineBytes;
  }
  if (current > 0) {
    lines++;
    if (current > longestLineBytes) {
      longestLineBytes = current;
      longestLine = lines;
    }
  }
  out.set(suffix, o);
  return { bytes: out, size: { bytes, lines, longestLineBytes, longestLine } };
}

/**
 * Escapes UTF-8 `text` for a TOML multi-line basic string (see {@link escapeTomlPiece}) and
 * appends `suffix` (written as given); measures `text` in the same pass as `measurePolicyText`
 * measures its decoded string.
 */
export function escapeAndMeasureTomlMultiline(
  text: Uint8Array,
  suffix: Uint8Array,
): EscapedMeasured {
  return joinEscapedPieces([escapeTomlPiece(text)], suffix);
}
