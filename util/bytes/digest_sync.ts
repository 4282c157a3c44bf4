/**
 * Hashing in this thread with `@noble/hashes`, apart from `digest.ts` (and not re-exported by
 * `util/bytes/mod.ts`): importing an npm package costs a Deno process ~5 ms of CPU for its npm
 * layer, which the CLI's `evidence verify` (which hashes only through WebCrypto) does not pay.
 *
 * @module
 */
import {
  sha256 as nobleSha256,
  sha384 as nobleSha384,
  sha512 as nobleSha512,
} from "@noble/hashes/sha2.js";
import type { HashAlgorithm } from "./digest.ts";

const IN_THREAD: Readonly<Record<HashAlgorithm, (data: Uint8Array) => Uint8Array>> = {
  "SHA-256": nobleSha256,
  "SHA-384": nobleSha384,
  "SHA-512": nobleSha512,
};

/**
 * The digest of `data` with `algorithm`, computed in this thread by `@noble/hashes`: for a few
 * hundred bytes on a hot path (the Coordinator hashes several small values per attestation),
 * where WebCrypto's asynchronous hand-off to another thread costs more CPU than the hash. Not for
 * large inputs, nor for code that runs once per process (interpreted JS hashing is slower than
 * WebCrypto until it is optimised): use `digest` (`./digest.ts`) there. Same bytes as `digest`.
 *
 * @example SHA-256 of a public key
 * ```ts
 * import { digestSync } from "./digest_sync.ts";
 *
 * console.log(digestSync("SHA-256", new Uint8Array(32)).length); // 32
 * ```
 */
export function digestSync(algorithm: HashAlgorithm, data: Uint8Array): Uint8Array {
  const hash = IN_THREAD[algorithm];
  if (hash === undefined) throw new TypeError(`unsupported hash algorithm ${algorithm}`);
  return hash(data);
}
