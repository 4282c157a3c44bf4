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

/** What a byte of the text needs: copied, escaped with a backslash, a line end, or `\uXXXX`. */
const COPY = 0;
const BACKSLASHED = 1;
const LINE_END = 2;
const UNICODE_ESCAPE = 3;

/** {@link COPY} … {@link UNICODE_ESCAPE} by byte value: one table load per byte in the loop. */
const BYTE_ACTION: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (let byte = 0; byte < 256; byte++) {
    table[byte] = byte === BACKSLASH || byte === QUOTE
      ? BACKSLASHED
      : byte === NEWLINE
      ? LINE_END
      : isTomlControl(byte)
      ? UNICODE_ESCAPE
      : COPY;
  }
  return table;
})();

/** Escaped text and its measure, see {@link escapeAndMeasureTomlMultiline}. */
interface EscapedMeasured {
  /** The escaped bytes followed by `suffix`. */
  readonly bytes: Uint8Array;
  /** The size of the unescaped text as the agent counts it (see `measurePolicyText`). */
  readonly size: PolicyTextSize;
}

/**
 * Escapes UTF-8 `text` for a TOML multi-line basic string (backslash and double quote escaped,
 * control characters other than tab and newline as `\uXXXX`, everything else verbatim) and
 * appends `suffix` (written as given); measures `text` in the same pass as `measurePolicyText`
 * measures its decoded string. Multi-byte UTF-8 sequences never contain bytes below 0x80, so a
 * byte-wise escape is the character-wise one. `scratch`, when at least `2 * text.length +
 * suffix.length` long, is written instead of a new worst-case buffer (the result is a copy, or,
 * with `inScratch`, a view of `scratch` that the next call overwrites).
 */
export function escapeAndMeasureTomlMultiline(
  text: Uint8Array,
  suffix: Uint8Array,
  scratch?: Uint8Array,
  inScratch = false,
): EscapedMeasured {
  const n = text.length;
  // Backslash and quote double; a control character becomes six bytes (grown on demand).
  const worstCase = 2 * n + suffix.length;
  let out = scratch && scratch.length >= worstCase ? scratch : new Uint8Array(worstCase);
  let o = 0;
  let lines = 0;
  let lineStart = 0;
  let longestLineBytes = 0;
  let longestLine = 0;
  for (let i = 0; i < n; i++) {
    const byte = text[i]!;
    const action = BYTE_ACTION[byte]!;
    if (action === COPY) {
      out[o++] = byte;
    } else if (action === BACKSLASHED) {
      out[o++] = BACKSLASH;
      out[o++] = byte;
    } else if (action === LINE_END) {
      out[o++] = byte;
      lines++;
      if (i - lineStart > longestLineBytes) {
        longestLineBytes = i - lineStart;
        longestLine = lines;
      }
      lineStart = i + 1;
    } else {
      // UNICODE_ESCAPE
      const needed = o + 6 + 2 * (n - i - 1) + suffix.length;
      if (needed > out.length) {
        const grown = new Uint8Array(needed + 64);
        grown.set(out.subarray(0, o));
        out = grown;
      }
      out.set([BACKSLASH, 0x75, 0x30, 0x30, HEX[byte >> 4]!, HEX[byte & 0xf]!], o);
      o += 6;
    }
  }
  if (lineStart < n) {
    lines++;
    if (n - lineStart > longestLineBytes) {
      longestLineBytes = n - lineStart;
      longestLine = lines;
    }
  }
  out.set(suffix, o);
  o += suffix.length;
  return {
    // A copy when the bytes are in `scratch` or much of the worst-case buffer went unused (the
    // usual case), so a caller that keeps the bytes does not keep up to twice their size.
    bytes: (out === scratch && !inScratch) || (out !== scratch && out.length - o > 4096)
      ? out.slice(0, o)
      : out.subarray(0, o),
    size: { bytes: n, lines, longestLineBytes, longestLine },
  };
}
