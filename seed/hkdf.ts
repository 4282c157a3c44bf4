/**
 * HKDF-SHA256 (RFC 5869), computed in this thread by `node:crypto`'s native `hkdfSync` (the
 * Coordinator derives a workload secret per attestation: an asynchronous WebCrypto import +
 * derive costs more CPU than the derivation, and `@noble/hashes`' HMAC in JavaScript, used before,
 * 5.5–6.0 µs per 32-byte workload secret against 3.0–3.5 µs for the native call, 3 alternating
 * runs of 20,000 in one process).
 *
 * @module
 */
import { hkdfSync } from "node:crypto";

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
    return Promise.resolve(
      new Uint8Array(hkdfSync("sha256", ikm, salt, utf8.encode(info), length)),
    );
  } catch (error) {
    return Promise.reject(error);
  }
}
