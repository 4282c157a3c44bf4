/**
 * Key pairs for tests, generated fresh with WebCrypto (never reused across runs).
 *
 * @module
 */

/** An RSA-OAEP (SHA-256, e = 65537) key pair of the kind a seedshare owner holds (2048 bits by default). */
export async function generateRsaOaepKeys(modulusLength = 2048): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(
    { name: "RSA-OAEP", modulusLength, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["encrypt", "decrypt"],
  ) as CryptoKeyPair;
}
