/**
 * Bytes ↔ text one to one (each byte is the character with that code, 0x00–0xff), for HTTP heads
 * whose field values may carry any octet. `TextDecoder("latin1")` is not this: per the WHATWG
 * Encoding standard it decodes windows-1252, mapping 0x80–0x9f to other characters. Pure.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { ContrastError } from "../util/errors/mod.ts";

/** Text whose character codes are exactly `bytes`. */
export function decodeLatin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/**
 * The bytes whose codes are the characters of `text` (the inverse of {@link decodeLatin1}).
 *
 * @throws {ContrastError} naming `field` when a character is above U+00FF (it has no byte)
 */
export function encodeLatin1(text: string, field: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) {
      throw new ContrastError(
        field,
        `character U+${code.toString(16).padStart(4, "0")} is not a byte`,
      );
    }
    out[i] = code;
  }
  return out;
}
