import { ParseError } from "../errors/mod.ts";

const HEX = "0123456789abcdef";

/**
 * Lower-case hex of `bytes`, in byte order.
 *
 * @example Print a measurement
 * ```ts
 * import { encodeHex } from "../../mod.ts";
 *
 * console.log(encodeHex(new Uint8Array([0xab, 0x01]))); // "ab01"
 * ```
 */
export function encodeHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += HEX[b >> 4]! + HEX[b & 15]!;
  return out;
}

/**
 * Decodes hex (either case) into bytes.
 *
 * @param field named in the error when `text` is not hex or has the wrong length
 * @param length when given, the exact number of bytes required
 * @throws {ParseError} on odd length, a non-hex character or a wrong length
 *
 * @example Decode exactly 32 bytes, naming the field on error
 * ```ts
 * import { decodeHex } from "../../mod.ts";
 *
 * const hostData = decodeHex("00".repeat(32), "hostData", 32);
 * console.log(hostData.length); // 32
 * ```
 */
export function decodeHex(text: string, field = "hex", length?: number): Uint8Array {
  if (text.length % 2 !== 0) throw new ParseError(field, `hex has odd length ${text.length}`);
  if (!/^[0-9a-fA-F]*$/.test(text)) throw new ParseError(field, "not a hex string");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  if (length !== undefined && out.length !== length) {
    throw new ParseError(
      field,
      `expected ${length} bytes (${2 * length} hex digits), got ${out.length}`,
    );
  }
  return out;
}
