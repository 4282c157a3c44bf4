import { ParseError } from "../errors/mod.ts";

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
  // The engine's Uint8Array.prototype.toHex (TC39 base64/hex): lower case, as before.
  return bytes.toHex();
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
  let out: Uint8Array;
  try {
    // Uint8Array.fromHex accepts exactly [0-9a-fA-F] in pairs and throws on anything else.
    out = Uint8Array.fromHex(text);
  } catch (cause) {
    throw new ParseError(field, "not a hex string", { cause });
  }
  if (length !== undefined && out.length !== length) {
    throw new ParseError(
      field,
      `expected ${length} bytes (${2 * length} hex digits), got ${out.length}`,
    );
  }
  return out;
}
