import { ParseError } from "../errors/mod.ts";

/**
 * Standard base64 (with padding) of `bytes`.
 *
 * @example Encode bytes
 * ```ts
 * import { encodeBase64 } from "../../mod.ts";
 *
 * console.log(encodeBase64(new Uint8Array([1, 2, 3]))); // "AQID"
 * ```
 */
export function encodeBase64(bytes: Uint8Array): string {
  // The engine's Uint8Array.prototype.toBase64 (TC39 base64/hex): standard alphabet, padded.
  return bytes.toBase64();
}

/**
 * Decodes standard or URL-safe base64 (padding optional, whitespace ignored).
 *
 * @throws {ParseError} naming `field` when `text` is not base64
 *
 * @example Decode standard or URL-safe base64
 * ```ts
 * import { decodeBase64 } from "../../mod.ts";
 *
 * const bytes = decodeBase64("AQID", "annotation");
 * console.log(bytes.length); // 3
 * ```
 */
export function decodeBase64(text: string, field = "base64"): Uint8Array {
  // Fast path, the engine's Uint8Array.fromBase64: standard alphabet, ASCII whitespace skipped,
  // padding optional. Whatever it refuses (URL-safe or mixed alphabets, other whitespace, stray
  // padding, bad input) takes the path below, which decides and names the error as before.
  // No options argument: "loose" is the default `lastChunkHandling`, and V8 takes a slower path
  // for any options object (2.4 against 4.9 µs for a 3.3 KB auxblob, measured).
  try {
    return Uint8Array.fromBase64(text);
  } catch {
    return decodeBase64Lenient(text, field);
  }
}

function decodeBase64Lenient(text: string, field: string): Uint8Array {
  let clean = text.replace(/\s+/g, "").replace(/-/g, "+").replace(/_/g, "/");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) throw new ParseError(field, "not base64");
  clean = clean.replace(/=+$/, "");
  if (clean.length % 4 === 1) throw new ParseError(field, "base64 has impossible length");
  clean += "=".repeat((4 - (clean.length % 4)) % 4);
  const binary = atob(clean);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
