import {
  sha256 as nobleSha256,
  sha384 as nobleSha384,
  sha512 as nobleSha512,
} from "@noble/hashes/sha2.js";

/**
 * Hash algorithms contrast uses.
 *
 * @example Pick an algorithm
 * ```ts
 * import { digest, type HashAlgorithm } from "../../mod.ts";
 *
 * const algorithm: HashAlgorithm = "SHA-384";
 * console.log((await digest(algorithm, new Uint8Array())).length); // 48
 * ```
 */
export type HashAlgorithm = "SHA-256" | "SHA-384" | "SHA-512";

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
 * WebCrypto until it is optimised): use {@link digest} there. Same bytes as {@link digest}.
 *
 * @example SHA-256 of a public key
 * ```ts
 * import { digestSync } from "./mod.ts";
 *
 * console.log(digestSync("SHA-256", new Uint8Array(32)).length); // 32
 * ```
 */
export function digestSync(algorithm: HashAlgorithm, data: Uint8Array): Uint8Array {
  const hash = IN_THREAD[algorithm];
  if (hash === undefined) throw new TypeError(`unsupported hash algorithm ${algorithm}`);
  return hash(data);
}

/**
 * The digest of `data` with `algorithm` (WebCrypto).
 *
 * @example SHA-512 of some bytes
 * ```ts
 * import { digest } from "../../mod.ts";
 *
 * const hash = await digest("SHA-512", new TextEncoder().encode("initdata"));
 * console.log(hash.length); // 64
 * ```
 */
export async function digest(algorithm: HashAlgorithm, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(algorithm, data as Uint8Array<ArrayBuffer>));
}

/**
 * SHA-256 of `data`.
 *
 * @example SHA-256 of a manifest
 * ```ts
 * import { encodeHex, sha256 } from "../../mod.ts";
 *
 * console.log(encodeHex(await sha256(new TextEncoder().encode("{}"))));
 * ```
 */
export function sha256(data: Uint8Array): Promise<Uint8Array> {
  return digest("SHA-256", data);
}
