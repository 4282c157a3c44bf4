/**
 * HKDF-SHA256 (RFC 5869), computed in this thread by `@noble/hashes` (the Coordinator derives a
 * workload secret per attestation; an asynchronous WebCrypto import + derive costs more CPU than
 * the derivation).
 *
 * @module
 */
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";

const utf8 = new TextEncoder();

/**
 * HKDF-SHA256 of `ikm` with `salt` and `info`, `length` bytes long.
 *
 * @param info context string; different infos give independent outputs
 */
export function hkdfSha256(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: string,
  length: number,
): Promise<Uint8Array> {
  try {
    return Promise.resolve(hkdf(sha256, ikm, salt, utf8.encode(info), length));
  } catch (error) {
    return Promise.reject(error);
  }
}
