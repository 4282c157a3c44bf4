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
