/**
 * A policy data line from compact JSON in one pass over bytes: `JSON.stringify(value)`'s UTF-8
 * bytes, re-indented exactly as `JSON.stringify(value, null, 2)` prints, escaped for a TOML
 * multi-line basic string (as `escapeAndMeasureTomlMultiline` escapes) and measured as the Kata
 * agent counts lines. V8 serialises without indentation several times faster than with it, and
 * the indentation costs little when it is written in the escape loop anyway.
 *
 * Compact JSON holds no whitespace outside strings, so every `{` `[` `,` `:` `]` `}` outside a
 * string is structure, and `JSON.stringify`'s indentation is a function of that structure alone:
 * a non-empty object or array opens with a line break and one more level of two spaces, each
 * `,` ends a line, `:` is followed by one space, the closing bracket goes on its own line one
 * level out, and an empty `{}` or `[]` stays as it is. Strings (and what they escape) are copied.
 *
 * @module
 */
import type { PolicyTextSize } from "./agent_limits.ts";
import { TOML_BYTE_ACTION, TOML_COPY } from "./toml_multiline_bytes.ts";

const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const NEWLINE = 0x0a;
const SPACE = 0x20;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const HEX = new TextEncoder().encode("0123456789abcdef");

/** The escaped line and its measure, see {@link prettyJsonTomlLine}. */
interface PrettyLine {
  /** `prefix`, the pretty JSON and a line break, escaped, followed by `suffix`. */
  readonly bytes: Uint8Array;
  /** The size of the unescaped line (prefix, pretty JSON, line break) as the agent counts it. */
  readonly size: PolicyTextSize;
  /** The buffer written: `scratch`, or a larger one to pass as `scratch` next time. */
  readonly buffer: Uint8Array;
}

/**
 * Writes `prefix` (ASCII without `"`, `\` or control characters), then the pretty form of the
 * compact JSON UTF-8 bytes `json` (`JSON.stringify(value)` of some value: the bytes
 * `JSON.stringify(value, null, 2)` gives), then `\n`, all escaped for a TOML multi-line basic
 * string, then `suffix` verbatim; measures the unescaped line. Writes into `scratch` when it is
 * large enough (the result is then a view of it that the next call overwrites), else into a new
 * buffer; grows as needed.
 *
 * @throws {RangeError} when `json` is not compact JSON (an unbalanced bracket)
 */
export function prettyJsonTomlLine(
  prefix: Uint8Array,
  json: Uint8Array,
  suffix: Uint8Array,
  scratch: Uint8Array,
): PrettyLine {
  const n = json.length;
  let out = scratch;
  // Room for everything after input byte `i` when no more line breaks come: two bytes at most per
  // input byte (`\"`, `\\`, `: `, `{}`), `\n` and the suffix; line breaks and `\u00XX` check.
  const restRoom = (i: number) => 2 * (n - i) + 1 + suffix.length;
  const ensure = (o: number, extra: number, i: number) => {
    const needed = o + extra + restRoom(i);
    if (needed > out.length) {
      const grown = new Uint8Array(2 * needed);
      grown.set(out.subarray(0, o));
      out = grown;
    }
  };
  ensure(0, prefix.length, 0);
  out.set(prefix, 0);
  let o = prefix.length;
  // Unescaped bytes written (the agent measures the unescaped text), and line bookkeeping.
  let u = prefix.length;
  let lines = 0;
  let lineStart = 0;
  let longestLineBytes = 0;
  let longestLine = 0;
  let depth = 0;
  const lineBreak = (i: number) => {
    ensure(o, 1 + 2 * depth, i);
    lines++;
    if (u - lineStart > longestLineBytes) {
      longestLineBytes = u - lineStart;
      longestLine = lines;
    }
    out[o++] = NEWLINE;
    u++;
    lineStart = u;
    out.fill(SPACE, o, o + 2 * depth);
    o += 2 * depth;
    u += 2 * depth;
  };
  let inString = false;
  for (let i = 0; i < n; i++) {
    const byte = json[i]!;
    if (inString) {
      if (byte === QUOTE) {
        inString = false;
        out[o++] = BACKSLASH;
        out[o++] = QUOTE;
        u++;
        continue;
      }
      if (byte === BACKSLASH) {
        // A JSON escape: the backslash and the character after it, each escaped for TOML
        // (`\\` and then `\"`, `\\` or the letter as it is).
        const next = json[++i]!;
        out[o++] = BACKSLASH;
        out[o++] = BACKSLASH;
        if (next === QUOTE || next === BACKSLASH) out[o++] = BACKSLASH;
        out[o++] = next;
        u += 2;
        continue;
      }
      const action = TOML_BYTE_ACTION[byte]!;
      if (action === TOML_COPY) {
        out[o++] = byte;
      } else {
        // Only DEL reaches here: JSON.stringify escapes the other control characters, `"`
        // and `\`, and ends no string with a raw line break.
        ensure(o, 6, i);
        out[o++] = BACKSLASH;
        out[o++] = 0x75;
        out[o++] = 0x30;
        out[o++] = 0x30;
        out[o++] = HEX[byte >> 4]!;
        out[o++] = HEX[byte & 0xf]!;
      }
      u++;
      continue;
    }
    if (byte === QUOTE) {
      inString = true;
      out[o++] = BACKSLASH;
      out[o++] = QUOTE;
      u++;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      const close = byte === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET;
      out[o++] = byte;
      u++;
      if (json[i + 1] === close) {
        out[o++] = close;
        u++;
        i++;
      } else {
        depth++;
        lineBreak(i);
      }
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      if (depth === 0) throw new RangeError("not compact JSON: unbalanced bracket");
      depth--;
      lineBreak(i);
      out[o++] = byte;
      u++;
    } else if (byte === COMMA) {
      out[o++] = COMMA;
      u++;
      lineBreak(i);
    } else if (byte === COLON) {
      out[o++] = COLON;
      out[o++] = SPACE;
      u += 2;
    } else {
      // Numbers, true, false, null.
      out[o++] = byte;
      u++;
    }
  }
  if (depth !== 0 || inString) throw new RangeError("not compact JSON: unbalanced bracket");
  // The line break ending the policy data line.
  lines++;
  if (u - lineStart > longestLineBytes) {
    longestLineBytes = u - lineStart;
    longestLine = lines;
  }
  out[o++] = NEWLINE;
  u++;
  out.set(suffix, o);
  o += suffix.length;
  return {
    bytes: out.subarray(0, o),
    size: { bytes: u, lines, longestLineBytes, longestLine },
    buffer: out,
  };
}
