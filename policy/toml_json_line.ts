/**
 * A pod's policy data line written straight from the value as the bytes the initdata needs: the
 * UTF-8 of `${prefix}${JSON.stringify(value, null, 2)}\n`, escaped for a TOML multi-line basic
 * string (what `escapeAndMeasureTomlMultiline` gives), measured as the Kata agent counts lines
 * (what `measurePolicyText` gives for the unescaped text), in one walk over the value into a
 * buffer reused across pods. `JSON.stringify` would first build the ~41 KB pretty string (and
 * its builder's parts) for every pod only for it to be encoded, escaped and dropped: garbage that
 * filled the young generation, so that scavenges copied every other live object more often.
 *
 * Only plain data is written here: `null`, booleans, numbers, strings, arrays and objects without
 * a `toJSON` method (what policy data is made of). Anything else (a `toJSON` method, boxed
 * primitives, a BigInt, nesting deeper than {@link MAX_DEPTH}, e.g. a cycle) makes
 * {@link TomlJsonLineWriter.write} return undefined, and the caller takes the string path.
 *
 * @module
 */
import type { PolicyTextSize } from "./agent_limits.ts";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const SPACE = 0x20;
const DEL = 0x7f;

/** Deeper than this, the value is handed back (a cycle, or data no policy has). */
const MAX_DEPTH = 200;

/** Lower-case hex digits, as `JSON.stringify` and the TOML escape write them. */
const HEX = new TextEncoder().encode("0123456789abcdef");

/** The short JSON escapes (`\b`, `\t`, `\n`, `\f`, `\r`) by code unit; 0 where there is none. */
const SHORT_ESCAPE: Uint8Array = (() => {
  const table = new Uint8Array(0x20);
  table[0x08] = 0x62; // b
  table[0x09] = 0x74; // t
  table[0x0a] = 0x6e; // n
  table[0x0c] = 0x66; // f
  table[0x0d] = 0x72; // r
  return table;
})();

/**
 * Objects and arrays whose text is shorter are written again rather than remembered (a lookup
 * costs about as much as writing a few dozen bytes).
 */
const MIN_PART_BYTES = 64;

/**
 * Where the text written for an object or array is, to be written again where it recurs: a
 * range of a byte buffer and of a line-break buffer (this line's, or those kept across lines).
 */
interface WrittenPart {
  /** The depth it was written at (its indentation depends on it). */
  readonly depth: number;
  /** Its escaped bytes: `start` to `end`. */
  readonly start: number;
  readonly end: number;
  /** Escaped bytes beyond the unescaped text's. */
  readonly extra: number;
  /** The unescaped offset it was written at (its line breaks' offsets are relative to it). */
  readonly base: number;
  /** Its line breaks' unescaped offsets: `firstBreak` to `endBreak`. */
  readonly firstBreak: number;
  readonly endBreak: number;
  /** Whether it and everything in it is frozen (then it is remembered across lines). */
  readonly frozen: boolean;
}

/** Thrown inside the walk when the value is not plain data; never leaves this module. */
class NotPlainData {}

/** The written line: escaped bytes (a view of the writer's buffer) and the unescaped size. */
interface WrittenLine {
  /** The escaped line followed by the suffix; valid until the next {@link TomlJsonLineWriter.write}. */
  readonly bytes: Uint8Array;
  /** The size of the unescaped line as the agent counts it (see `measurePolicyText`). */
  readonly size: PolicyTextSize;
}

/**
 * Writes policy data lines; see the module documentation. One writer serves many pods (its
 * buffer grows to the largest line and is reused).
 *
 * @example The same bytes as stringifying, encoding and escaping
 * ```ts
 * import { TomlJsonLineWriter } from "./toml_json_line.ts";
 *
 * const line = new TomlJsonLineWriter().write("d := ", { a: ['x"y'] }, new Uint8Array());
 * console.log(new TextDecoder().decode(line!.bytes));
 * // d := {\n  \"a\": [\n    \"x\\\"y\"\n  ]\n}\n  (with real line breaks)
 * ```
 */
export class TomlJsonLineWriter {
  #out = new Uint8Array(64 * 1024);
  #o = 0;
  /** Escaped bytes written beyond the unescaped text's (backslashes and `\uXXXX` digits). */
  #extra = 0;
  #lines = 0;
  /** Unescaped offset where the current line starts. */
  #lineStart = 0;
  #longestLineBytes = 0;
  #longestLine = 0;
  /** Unescaped offset of every line break written in this line, in order. */
  #breaks = new Int32Array(4096);
  /**
   * Objects and arrays written in this line, by identity: a pod's containers share many (the
   * pod's mounts, namespaces, sysctls, the settings' paths). Only valid during one walk (the
   * value cannot change while it is written), so cleared by every {@link write}.
   */
  readonly #parts = new Map<object, WrittenPart>();
  /**
   * Deeply frozen objects and arrays (e.g. the settings every pod's policy data refers to) by
   * identity, kept across lines: a frozen value's text cannot change.
   */
  readonly #frozenParts = new Map<object, WrittenPart>();
  /** The bytes and line breaks of {@link #frozenParts}, and how much of each is used. */
  #keptBytes = new Uint8Array(4096);
  #keptLength = 0;
  #keptBreaks = new Int32Array(256);
  #keptBreakCount = 0;
  /** Whether every object and array written since the innermost open one began is frozen. */
  #allFrozen = true;

  /**
   * Writes `${prefix}${JSON.stringify(value, null, 2)}\n` escaped, then `suffix` as given;
   * undefined when `value` is not plain data (see the module documentation). `prefix` is written
   * as text of the line (escaped and measured).
   */
  write(prefix: string, value: unknown, suffix: Uint8Array): WrittenLine | undefined {
    if (typeof value !== "object" || value === null) return undefined;
    this.#o = 0;
    this.#extra = 0;
    this.#lines = 0;
    this.#lineStart = 0;
    this.#longestLineBytes = 0;
    this.#longestLine = 0;
    this.#parts.clear();
    this.#allFrozen = true;
    this.#text(prefix);
    try {
      this.#value(value, 0);
    } catch (error) {
      if (error instanceof NotPlainData) return undefined;
      throw error;
    }
    this.#newline();
    const bytes = this.#o - this.#extra;
    this.#reserve(suffix.length);
    this.#out.set(suffix, this.#o);
    this.#o += suffix.length;
    return {
      bytes: this.#out.subarray(0, this.#o),
      size: {
        bytes,
        lines: this.#lines,
        longestLineBytes: this.#longestLineBytes,
        longestLine: this.#longestLine,
      },
    };
  }

  /** Makes room for `n` more bytes. */
  #reserve(n: number): void {
    if (this.#o + n <= this.#out.length) return;
    const grown = new Uint8Array(Math.max(2 * this.#out.length, this.#o + n));
    grown.set(this.#out.subarray(0, this.#o));
    this.#out = grown;
  }

  /** A line break of the JSON text, ending a line of the measure. */
  #newline(): void {
    this.#reserve(1);
    const at = this.#o - this.#extra;
    if (this.#lines === this.#breaks.length) {
      const grown = new Int32Array(2 * this.#breaks.length);
      grown.set(this.#breaks);
      this.#breaks = grown;
    }
    this.#breaks[this.#lines++] = at;
    if (at - this.#lineStart > this.#longestLineBytes) {
      this.#longestLineBytes = at - this.#lineStart;
      this.#longestLine = this.#lines;
    }
    this.#out[this.#o++] = NEWLINE;
    this.#lineStart = at + 1;
  }

  /** A line break and the indentation of `depth`. */
  #indent(depth: number): void {
    this.#newline();
    const n = 2 * depth;
    this.#reserve(n);
    const out = this.#out;
    let o = this.#o;
    for (let i = 0; i < n; i++) out[o++] = SPACE;
    this.#o = o;
  }

  /** Two ASCII bytes of the JSON text that need no escape (`: `, `[]`, `{}`, `,`). */
  #ascii(a: number, b = -1): void {
    this.#reserve(2);
    this.#out[this.#o++] = a;
    if (b >= 0) this.#out[this.#o++] = b;
  }

  #value(value: unknown, depth: number): void {
    switch (typeof value) {
      case "string":
        return this.#string(value);
      case "number":
        return this.#text(Number.isFinite(value) ? String(value) : "null");
      case "boolean":
        return this.#text(value ? "true" : "false");
      case "object":
        if (value === null) return this.#text("null");
        if (depth >= MAX_DEPTH) throw new NotPlainData();
        return this.#collection(value, depth);
      default:
        // A BigInt (JSON.stringify throws); undefined, functions and symbols are handled by the
        // callers (left out of objects, null in arrays).
        throw new NotPlainData();
    }
  }

  /**
   * An object or array: the bytes written for the same one before at the same depth (in this
   * line, or a frozen one in any line), else written and remembered.
   */
  #collection(value: object, depth: number): void {
    const here = this.#parts.get(value);
    if (here !== undefined && here.depth === depth) {
      this.#allFrozen &&= here.frozen;
      return this.#replay(here, false);
    }
    const kept = this.#frozenParts.get(value);
    if (kept !== undefined && kept.depth === depth) {
      return this.#replay(kept, true);
    }
    const start = this.#o;
    const startExtra = this.#extra;
    const startLines = this.#lines;
    const outerFrozen = this.#allFrozen;
    this.#allFrozen = true;
    if (Array.isArray(value)) this.#array(value, depth);
    else this.#object(value as Record<string, unknown>, depth);
    const frozen = this.#allFrozen && Object.isFrozen(value);
    this.#allFrozen = outerFrozen && frozen;
    if (this.#o - start < MIN_PART_BYTES) return;
    const part: WrittenPart = {
      depth,
      start,
      end: this.#o,
      extra: this.#extra - startExtra,
      base: start - startExtra,
      firstBreak: startLines,
      endBreak: this.#lines,
      frozen,
    };
    this.#parts.set(value, part);
    // The first depth a frozen value is met at is kept (no copy per depth it recurs at).
    if (frozen && kept === undefined) this.#frozenParts.set(value, this.#keep(part));
  }

  /** A copy of `part` (of this line) in the buffers kept across lines. */
  #keep(part: WrittenPart): WrittenPart {
    const length = part.end - part.start;
    const breaks = part.endBreak - part.firstBreak;
    if (this.#keptLength + length > this.#keptBytes.length) {
      const grown = new Uint8Array(Math.max(2 * this.#keptBytes.length, this.#keptLength + length));
      grown.set(this.#keptBytes.subarray(0, this.#keptLength));
      this.#keptBytes = grown;
    }
    if (this.#keptBreakCount + breaks > this.#keptBreaks.length) {
      const grown = new Int32Array(
        Math.max(2 * this.#keptBreaks.length, this.#keptBreakCount + breaks),
      );
      grown.set(this.#keptBreaks.subarray(0, this.#keptBreakCount));
      this.#keptBreaks = grown;
    }
    this.#keptBytes.set(this.#out.subarray(part.start, part.end), this.#keptLength);
    this.#keptBreaks.set(
      this.#breaks.subarray(part.firstBreak, part.endBreak),
      this.#keptBreakCount,
    );
    const kept: WrittenPart = {
      depth: part.depth,
      start: this.#keptLength,
      end: this.#keptLength + length,
      extra: part.extra,
      base: part.base,
      firstBreak: this.#keptBreakCount,
      endBreak: this.#keptBreakCount + breaks,
      frozen: true,
    };
    this.#keptLength += length;
    this.#keptBreakCount += breaks;
    return kept;
  }

  /**
   * Writes a remembered part again: its bytes and its line breaks (into the measure), from this
   * line's buffers (`kept` false) or those kept across lines.
   */
  #replay(part: WrittenPart, kept: boolean): void {
    const length = part.end - part.start;
    const count = part.endBreak - part.firstBreak;
    this.#reserve(length);
    if (this.#lines + count > this.#breaks.length) {
      const grown = new Int32Array(Math.max(2 * this.#breaks.length, this.#lines + count));
      grown.set(this.#breaks.subarray(0, this.#lines));
      this.#breaks = grown;
    }
    const breaks = kept ? this.#keptBreaks : this.#breaks;
    const own = this.#breaks;
    const shift = this.#o - this.#extra - part.base;
    let lines = this.#lines;
    let lineStart = this.#lineStart;
    for (let i = part.firstBreak; i < part.endBreak; i++) {
      const at = breaks[i]! + shift;
      own[lines++] = at;
      if (at - lineStart > this.#longestLineBytes) {
        this.#longestLineBytes = at - lineStart;
        this.#longestLine = lines;
      }
      lineStart = at + 1;
    }
    this.#lines = lines;
    this.#lineStart = lineStart;
    if (kept) this.#out.set(this.#keptBytes.subarray(part.start, part.end), this.#o);
    else this.#out.copyWithin(this.#o, part.start, part.end);
    this.#o += length;
    this.#extra += part.extra;
  }

  #array(value: readonly unknown[], depth: number): void {
    if ((value as { toJSON?: unknown }).toJSON !== undefined) throw new NotPlainData();
    if (value.length === 0) return this.#ascii(0x5b, 0x5d); // []
    this.#ascii(0x5b); // [
    for (let i = 0; i < value.length; i++) {
      if (i > 0) this.#ascii(0x2c); // ,
      this.#indent(depth + 1);
      const item = value[i];
      if (isOmitted(item)) this.#text("null");
      else this.#value(item, depth + 1);
    }
    this.#indent(depth);
    this.#ascii(0x5d); // ]
  }

  #object(value: Record<string, unknown>, depth: number): void {
    const proto = Object.getPrototypeOf(value);
    if (
      value.toJSON !== undefined ||
      (proto !== Object.prototype && proto !== null && isBoxedPrimitive(value))
    ) throw new NotPlainData();
    let first = true;
    for (const key of Object.keys(value)) {
      const item = value[key];
      if (isOmitted(item)) continue;
      if (first) this.#ascii(0x7b); // {
      else this.#ascii(0x2c); // ,
      first = false;
      this.#indent(depth + 1);
      this.#string(key);
      this.#ascii(0x3a, SPACE); // ": "
      this.#value(item, depth + 1);
    }
    if (first) return this.#ascii(0x7b, 0x7d); // {}
    this.#indent(depth);
    this.#ascii(0x7d); // }
  }

  /** Text of the JSON line outside strings (ASCII without quotes or backslashes, or a prefix). */
  #text(text: string): void {
    this.#chars(text, false);
  }

  /** A JSON string: quoted and escaped as JSON.stringify does, then escaped for TOML. */
  #string(text: string): void {
    this.#reserve(2);
    this.#out[this.#o++] = BACKSLASH;
    this.#out[this.#o++] = QUOTE;
    this.#extra++;
    this.#chars(text, true);
    this.#reserve(2);
    this.#out[this.#o++] = BACKSLASH;
    this.#out[this.#o++] = QUOTE;
    this.#extra++;
  }

  /**
   * The UTF-8 of `text` escaped for TOML, and, inside a JSON string (`quoted`), JSON-escaped
   * first. Worst case 7 bytes per code unit (a JSON `\u00XX` or lone-surrogate escape, each
   * backslash doubled for TOML).
   */
  #chars(text: string, quoted: boolean): void {
    this.#reserve(7 * text.length);
    const out = this.#out;
    let o = this.#o;
    let extra = this.#extra;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= SPACE && c < DEL && c !== QUOTE && c !== BACKSLASH) {
        out[o++] = c;
      } else if (c === QUOTE || c === BACKSLASH) {
        if (quoted) {
          // JSON `\"` or `\\`, each of its two characters escaped for TOML.
          out[o++] = BACKSLASH;
          out[o++] = BACKSLASH;
          extra++;
        }
        out[o++] = BACKSLASH;
        out[o++] = c;
        extra++;
      } else if (c < SPACE && !quoted) {
        // Text outside a string (the prefix): a line break or tab as it is, any other control
        // character as TOML's `\u00XX`.
        this.#o = o;
        this.#extra = extra;
        if (c === NEWLINE) this.#newline();
        else if (c === 0x09) out[this.#o++] = c;
        else {
          out.set([BACKSLASH, 0x75, 0x30, 0x30, HEX[c >> 4]!, HEX[c & 0xf]!], this.#o);
          this.#o += 6;
          this.#extra += 5;
        }
        o = this.#o;
        extra = this.#extra;
      } else if (c < SPACE) {
        // JSON `\n` or `\u00XX`; its backslash escaped for TOML.
        out[o++] = BACKSLASH;
        out[o++] = BACKSLASH;
        extra++;
        const short = SHORT_ESCAPE[c]!;
        if (short !== 0) out[o++] = short;
        else {
          out[o++] = 0x75; // u
          out[o++] = 0x30;
          out[o++] = 0x30;
          out[o++] = HEX[c >> 4]!;
          out[o++] = HEX[c & 0xf]!;
        }
      } else if (c === DEL) {
        // Kept by JSON; a TOML control character: `\u007f` (one byte of text, six written).
        out[o++] = BACKSLASH;
        out[o++] = 0x75;
        out[o++] = 0x30;
        out[o++] = 0x30;
        out[o++] = 0x37;
        out[o++] = 0x66;
        extra += 5;
      } else if (c < 0x800) {
        out[o++] = 0xc0 | (c >> 6);
        out[o++] = 0x80 | (c & 0x3f);
      } else if (c < 0xd800 || c > 0xdfff) {
        out[o++] = 0xe0 | (c >> 12);
        out[o++] = 0x80 | ((c >> 6) & 0x3f);
        out[o++] = 0x80 | (c & 0x3f);
      } else {
        const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          out[o++] = 0xf0 | (cp >> 18);
          out[o++] = 0x80 | ((cp >> 12) & 0x3f);
          out[o++] = 0x80 | ((cp >> 6) & 0x3f);
          out[o++] = 0x80 | (cp & 0x3f);
          i++;
        } else {
          if (!quoted) {
            // Outside a string (the prefix): what UTF-8 encoding writes, U+FFFD.
            out[o++] = 0xef;
            out[o++] = 0xbf;
            out[o++] = 0xbd;
            continue;
          }
          // A lone surrogate: JSON.stringify writes `\udXXX`; its backslash escaped for TOML.
          out[o++] = BACKSLASH;
          out[o++] = BACKSLASH;
          extra++;
          out[o++] = 0x75; // u
          out[o++] = HEX[c >> 12]!;
          out[o++] = HEX[(c >> 8) & 0xf]!;
          out[o++] = HEX[(c >> 4) & 0xf]!;
          out[o++] = HEX[c & 0xf]!;
        }
      }
    }
    this.#o = o;
    this.#extra = extra;
  }
}

/** What JSON.stringify leaves out of an object (and writes as null in an array). */
function isOmitted(value: unknown): boolean {
  return value === undefined || typeof value === "function" || typeof value === "symbol";
}

/** A `Number`, `String`, `Boolean` or `BigInt` object (JSON.stringify unwraps these). */
function isBoxedPrimitive(value: object): boolean {
  return value instanceof Number || value instanceof String || value instanceof Boolean ||
    value instanceof BigInt;
}
