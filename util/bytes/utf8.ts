/**
 * UTF-8 lengths and writes into a caller's array, for encoders that know every length before
 * writing a structure into one array (DER of mesh leaves and their claims): no intermediate
 * array per string. Lone surrogates count and encode as U+FFFD (3 bytes), as `TextEncoder` does.
 *
 * @module
 */

const UTF8 = new TextEncoder();

/**
 * The number of bytes `text` takes in UTF-8.
 *
 * @example ASCII takes one byte a character, `ü` two, `€` three, `😀` four
 * ```ts
 * import { utf8Length } from "./utf8.ts";
 *
 * console.log(utf8Length("a"), utf8Length("ü"), utf8Length("€"), utf8Length("😀")); // 1 2 3 4
 * ```
 */
export function utf8Length(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    // 2 bytes below U+0800, else 3; a surrogate pair (2 code units) 4, a lone surrogate 3.
    n += c < 0x800 ? 1 : 2;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
  }
  return n;
}

/**
 * Writes the UTF-8 of `text` into `out` at `at`; `length` is its {@link utf8Length}.
 *
 * @returns the offset just past the written bytes
 * @throws {RangeError} when `length` is not the UTF-8 length of `text` or `out` is too short
 *
 * @example Two strings written one after the other
 * ```ts
 * import { utf8Length, writeUtf8 } from "./utf8.ts";
 *
 * const out = new Uint8Array(utf8Length("ab") + utf8Length("ü"));
 * writeUtf8("ü", out, writeUtf8("ab", out, 0, 2), 2);
 * console.log(out); // Uint8Array(4) [ 97, 98, 195, 188 ]
 * ```
 */
export function writeUtf8(text: string, out: Uint8Array, at: number, length: number): number {
  const end = at + length;
  if (end > out.length) throw new RangeError("writeUtf8: output too short");
  if (length === text.length) {
    // As many bytes as code units: ASCII only (any other code unit takes 2 bytes or more).
    for (let i = 0; i < length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) throw new RangeError("writeUtf8: length is not the UTF-8 length");
      out[at + i] = c;
    }
    return end;
  }
  const { read, written } = UTF8.encodeInto(text, out.subarray(at, end));
  if (read !== text.length || written !== length) {
    throw new RangeError("writeUtf8: length is not the UTF-8 length");
  }
  return end;
}
