/**
 * AES-256-GCM as the transit engine's `aes256-gcm96` key type uses it: a random 96-bit nonce per
 * message and the sealed form nonce(12) ‖ ciphertext ‖ tag(16), with optional associated data.
 *
 * @module
 */
import { ParseError, VerificationError } from "../util/errors/mod.ts";

/** Length of the random nonce in bytes (96 bits). */
export const NONCE_LENGTH = 12;
/** Length of the GCM tag in bytes (128 bits). */
export const TAG_LENGTH = 16;
/** Length of an AES-256 key in bytes. */
const AES_256_KEY_LENGTH = 32;

/** Imports 32 raw bytes as a non-extractable AES-256-GCM key (the bytes are not kept). */
export function importAesGcmKey(raw: Uint8Array): Promise<CryptoKey> {
  if (raw.length !== AES_256_KEY_LENGTH) {
    throw new ParseError("key", `expected ${AES_256_KEY_LENGTH} bytes, got ${raw.length}`);
  }
  return crypto.subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
}

/** Seals `plaintext` under `key` with a fresh random nonce: nonce ‖ ciphertext ‖ tag. */
export async function sealAesGcm(
  key: CryptoKey,
  plaintext: Uint8Array,
  associatedData: Uint8Array = new Uint8Array(0),
): Promise<Uint8Array> {
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_LENGTH));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      {
        name: "AES-GCM",
        iv: nonce,
        additionalData: associatedData as Uint8Array<ArrayBuffer>,
        tagLength: TAG_LENGTH * 8,
      },
      key,
      plaintext as Uint8Array<ArrayBuffer>,
    ),
  );
  const out = new Uint8Array(NONCE_LENGTH + sealed.length);
  out.set(nonce);
  out.set(sealed, NONCE_LENGTH);
  return out;
}

/**
 * Opens nonce ‖ ciphertext ‖ tag.
 *
 * @throws {ParseError} naming `field` when it is too short to hold a nonce and a tag
 * @throws {VerificationError} naming `field` when the tag does not verify (wrong key, tampered
 *   ciphertext or different associated data)
 */
export async function openAesGcm(
  key: CryptoKey,
  sealed: Uint8Array,
  associatedData: Uint8Array = new Uint8Array(0),
  field = "ciphertext",
): Promise<Uint8Array> {
  if (sealed.length < NONCE_LENGTH + TAG_LENGTH) {
    throw new ParseError(field, "invalid ciphertext: too short");
  }
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: sealed.subarray(0, NONCE_LENGTH) as Uint8Array<ArrayBuffer>,
          additionalData: associatedData as Uint8Array<ArrayBuffer>,
          tagLength: TAG_LENGTH * 8,
        },
        key,
        sealed.subarray(NONCE_LENGTH) as Uint8Array<ArrayBuffer>,
      ),
    );
  } catch (cause) {
    throw new VerificationError(field, "cipher: message authentication failed", { cause });
  }
}
