/**
 * The Ed25519 signature over a release's `SHA256SUMS` (`SHA256SUMS.sig`): the 64 raw signature
 * bytes of RFC 8032 over the file's exact bytes, what `openssl pkeyutl -sign -rawin` writes and
 * `openssl pkeyutl -verify -pubin -inkey release.pub.pem -rawin -in SHA256SUMS -sigfile
 * SHA256SUMS.sig` checks. WebCrypto (Deno's `crypto.subtle`) signs and verifies.
 *
 * @module
 */
import { ParseError, VerificationError } from "../../util/errors/mod.ts";
import { bytesEqual, decodeBase64 } from "../../util/bytes/mod.ts";
import { readInputFile } from "../../util/files/mod.ts";
import { type Ed25519PrivateKey, parseEd25519PrivateKeyPem } from "./ed25519_pem.ts";

/** The length of an Ed25519 signature. */
const SIGNATURE_BYTES = 64;

/** A release signing key: the private key (not extractable) and its public key. */
export interface ReleaseSigningKey {
  /** The Ed25519 private key, usable only to sign. */
  readonly privateKey: CryptoKey;
  /** The 32 bytes of its public key. */
  readonly publicKey: Uint8Array;
}

/**
 * The signing key of `key` (read from the file `field` names), with its public key.
 *
 * @throws {ParseError} naming `field` when WebCrypto refuses the key, or the public key a PKCS#8
 *   version 2 file holds is not the private key's
 *
 * @example Import a key parsed from PEM
 * ```ts
 * import { parseEd25519PrivateKeyPem } from "./ed25519_pem.ts";
 * import { importSigningKey } from "./signature.ts";
 *
 * const pem = "-----BEGIN PRIVATE KEY-----\n" +
 *   "MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n" +
 *   "-----END PRIVATE KEY-----\n";
 * const key = await importSigningKey(parseEd25519PrivateKeyPem(pem, "k.pem"), "k.pem");
 * console.log(key.publicKey.length, key.privateKey.extractable); // 32 false
 * ```
 */
export async function importSigningKey(
  key: Ed25519PrivateKey,
  field: string,
): Promise<ReleaseSigningKey> {
  const pkcs8 = key.pkcs8 as Uint8Array<ArrayBuffer>;
  let publicKey: Uint8Array;
  let privateKey: CryptoKey;
  try {
    // The public key comes from the key's JWK form (`x`); the key kept for signing is another
    // import that cannot be exported.
    const exportable = await crypto.subtle.importKey("pkcs8", pkcs8, "Ed25519", true, ["sign"]);
    const jwk = await crypto.subtle.exportKey("jwk", exportable);
    publicKey = decodeBase64(jwk.x ?? "", `${field}: public key`);
    privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, "Ed25519", false, ["sign"]);
  } catch (cause) {
    if (cause instanceof ParseError) throw cause;
    throw new ParseError(field, "not a usable Ed25519 private key", { cause });
  }
  if (key.publicKey !== undefined && !bytesEqual(key.publicKey, publicKey)) {
    throw new ParseError(field, "the public key in the file is not the private key's");
  }
  return { privateKey, publicKey };
}

/**
 * The signing key in the PEM file `path` (given as `--signing-key`).
 *
 * @throws {ParseError} naming `--signing-key path` when the file is missing or unreadable, or is
 *   not an unencrypted PKCS#8 PEM of an Ed25519 key
 *
 * @example Load the key a release is signed with
 * ```ts
 * import { loadSigningKey } from "./signature.ts";
 *
 * const key = await loadSigningKey("release.key.pem");
 * console.log(key.publicKey.length); // 32
 * ```
 */
export async function loadSigningKey(path: string): Promise<ReleaseSigningKey> {
  const field = `--signing-key ${path}`;
  const bytes = await readInputFile(path, "--signing-key");
  const text = new TextDecoder().decode(bytes);
  bytes.fill(0);
  return await importSigningKey(parseEd25519PrivateKeyPem(text, field), field);
}

/**
 * The Ed25519 signature (64 bytes) of `key` over `sums`, the exact bytes of `SHA256SUMS`.
 *
 * @example Sign a release's checksums
 * ```ts
 * import { loadSigningKey, signSums } from "./signature.ts";
 *
 * const sums = await Deno.readFile("dist/release/SHA256SUMS");
 * const sig = await signSums(await loadSigningKey("release.key.pem"), sums);
 * console.log(sig.length); // 64
 * ```
 */
export async function signSums(key: ReleaseSigningKey, sums: Uint8Array): Promise<Uint8Array> {
  const signature = await crypto.subtle.sign(
    "Ed25519",
    key.privateKey,
    sums as Uint8Array<ArrayBuffer>,
  );
  return new Uint8Array(signature);
}

/**
 * Checks `signature` (the bytes of `SHA256SUMS.sig`) over `sums` (those of `SHA256SUMS`) with each
 * of the 32-byte Ed25519 `publicKeys` (the publisher's pinned keys: more than one while a key is
 * rotated); returns the one it verifies with.
 *
 * @throws {VerificationError} naming `SHA256SUMS.sig` when it is not 64 bytes or verifies with
 *   none of `publicKeys`
 *
 * @example Check a downloaded release's signature
 * ```ts
 * import { parseEd25519PublicKeyPem } from "./ed25519_pem.ts";
 * import { verifySumsSignature } from "./signature.ts";
 *
 * const publicKey = parseEd25519PublicKeyPem(await Deno.readTextFile("release.pub.pem"), "key");
 * await verifySumsSignature(
 *   [publicKey],
 *   await Deno.readFile("R/SHA256SUMS"),
 *   await Deno.readFile("R/SHA256SUMS.sig"),
 * );
 * ```
 */
export async function verifySumsSignature(
  publicKeys: readonly Uint8Array[],
  sums: Uint8Array,
  signature: Uint8Array,
): Promise<Uint8Array> {
  if (signature.length !== SIGNATURE_BYTES) {
    throw new VerificationError(
      "SHA256SUMS.sig",
      `${signature.length} bytes, an Ed25519 signature is ${SIGNATURE_BYTES}`,
    );
  }
  for (const publicKey of publicKeys) {
    const key = await crypto.subtle.importKey(
      "raw",
      publicKey as Uint8Array<ArrayBuffer>,
      "Ed25519",
      false,
      ["verify"],
    );
    const valid = await crypto.subtle.verify(
      "Ed25519",
      key,
      signature as Uint8Array<ArrayBuffer>,
      sums as Uint8Array<ArrayBuffer>,
    );
    if (valid) return publicKey;
  }
  throw new VerificationError(
    "SHA256SUMS.sig",
    `does not verify over SHA256SUMS with the given public key${
      publicKeys.length === 1 ? "" : `s (${publicKeys.length})`
    } (another key signed it, or SHA256SUMS or the signature was changed)`,
  );
}
