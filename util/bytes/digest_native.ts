/**
 * Hashing in this thread with `node:crypto`'s native one-shot `hash`, apart from `digest.ts` and
 * `digest_sync.ts` (and not re-exported by `util/bytes/mod.ts`): loading `node:crypto` costs a
 * Deno process ~15 ms of CPU (20 runs of a script importing it against an empty one, measured),
 * which the CLI must not pay; the Coordinator loads it anyway (it signs with `node:crypto`).
 *
 * @module
 */
import { hash } from "node:crypto";
import type { HashAlgorithm } from "./digest.ts";

/** `node:crypto`'s names of the {@link HashAlgorithm}s. */
const NODE_NAME: Readonly<Record<HashAlgorithm, string>> = {
  "SHA-256": "sha256",
  "SHA-384": "sha384",
  "SHA-512": "sha512",
};

/**
 * The digest of `data` with `algorithm`, computed natively in this thread: for small inputs on a
 * hot path (the Coordinator hashes several per attestation), where WebCrypto's hand-off to
 * another thread costs more than the hash and JavaScript SHA-512 (`digestSync`) is slow. Same
 * bytes as `digest` and `digestSync`; a plain `Uint8Array` (not a `Buffer`) the caller owns.
 *
 * @example SHA-512 of a few bytes
 * ```ts
 * import { digestNative } from "./digest_native.ts";
 *
 * console.log(digestNative("SHA-512", new Uint8Array(3)).length); // 64
 * ```
 */
export function digestNative(algorithm: HashAlgorithm, data: Uint8Array): Uint8Array {
  const name = NODE_NAME[algorithm];
  if (name === undefined) throw new TypeError(`unsupported hash algorithm ${algorithm}`);
  const out = hash(name, data, "buffer") as unknown as Uint8Array;
  // A view of the Buffer's own memory when it has it alone (Buffer.slice would share, not copy).
  return out.byteOffset === 0 && out.buffer.byteLength === out.length
    ? new Uint8Array(out.buffer, 0, out.length)
    : Uint8Array.prototype.slice.call(out);
}
