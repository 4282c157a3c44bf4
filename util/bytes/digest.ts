/** Hash algorithms contrast uses. */
export type HashAlgorithm = "SHA-256" | "SHA-384" | "SHA-512";

/** The digest of `data` with `algorithm` (WebCrypto). */
export async function digest(algorithm: HashAlgorithm, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(algorithm, data as Uint8Array<ArrayBuffer>));
}

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Promise<Uint8Array> {
  return digest("SHA-256", data);
}
