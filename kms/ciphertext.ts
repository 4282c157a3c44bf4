/**
 * The transit engine's ciphertext text form: `vault:v<N>:<base64 of nonce ‖ ciphertext ‖ tag>`,
 * where N ≥ 1 is the key version that sealed it (OpenBao and Vault write the same prefix, so
 * applications that store ciphertexts need no change).
 *
 * @module
 */
import { decodeBase64, encodeBase64 } from "../util/bytes/mod.ts";
import { ParseError } from "../util/errors/mod.ts";

/** The prefix every ciphertext starts with. */
const CIPHERTEXT_PREFIX = "vault:v";

/** Largest key version accepted in a ciphertext. */
export const MAX_KEY_VERSION = 2 ** 31 - 1;

/** A parsed ciphertext. */
interface TransitCiphertext {
  /** The key version that sealed it (≥ 1). */
  readonly version: number;
  /** nonce ‖ ciphertext ‖ tag. */
  readonly sealed: Uint8Array;
}

/** The text form of `sealed` under key `version`. */
export function formatCiphertext(version: number, sealed: Uint8Array): string {
  return `${CIPHERTEXT_PREFIX}${version}:${encodeBase64(sealed)}`;
}

/**
 * Parses the text form.
 *
 * @throws {ParseError} naming `field` when the prefix, the version or the base64 is malformed
 */
export function parseCiphertext(text: string, field = "ciphertext"): TransitCiphertext {
  if (!text.startsWith(CIPHERTEXT_PREFIX)) {
    throw new ParseError(field, "invalid ciphertext: no prefix");
  }
  const rest = text.slice(CIPHERTEXT_PREFIX.length);
  const colon = rest.indexOf(":");
  const versionText = colon < 0 ? "" : rest.slice(0, colon);
  if (!/^[1-9][0-9]{0,9}$/.test(versionText) || Number(versionText) > MAX_KEY_VERSION) {
    throw new ParseError(field, "invalid ciphertext: could not parse the key version");
  }
  const body = rest.slice(colon + 1);
  if (body.length === 0) throw new ParseError(field, "invalid ciphertext: empty body");
  return { version: Number(versionText), sealed: decodeBase64(body, field) };
}
