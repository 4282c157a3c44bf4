/**
 * Single-shot HPKE sealing in base mode for DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and AES-GCM,
 * always under a fresh random ephemeral key: nothing here lets a caller choose it. The
 * construction is in `protocol/hpke_seal_core.ts` (why it is hand-written, and how it is checked
 * against RFC 9180 and `@hpke/core`); test vectors reach it through
 * `testing/hpke_seal_vectors.ts`.
 *
 * @module
 */
import { generateKeyPairSync } from "node:crypto";
import { type SealBaseInput, sealBaseWithEphemeral } from "./hpke_seal_core.ts";

export { InvalidPublicKeyError, LowOrderPointError } from "./hpke_seal_core.ts";

/**
 * Seals `plaintext` in base mode to `input.recipientPublicKey` under a fresh random X25519
 * ephemeral key: `enc` and the AEAD ciphertext with its tag, exactly as a `@hpke/core` sender
 * context's first `seal` would give them.
 *
 * @throws {InvalidPublicKeyError} when the recipient key is not an X25519 public key;
 *   {@link LowOrderPointError} when it is a low-order point
 */
export function sealBase(input: SealBaseInput): { enc: Uint8Array; ciphertext: Uint8Array } {
  return sealBaseWithEphemeral(input, generateKeyPairSync("x25519"));
}
