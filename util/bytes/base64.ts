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
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
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
