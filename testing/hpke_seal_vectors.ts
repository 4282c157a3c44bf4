/**
 * Test-only HPKE sealing with a deterministic ephemeral key (RFC 9180 7.1.3 DeriveKeyPair), to
 * reproduce RFC 9180's test vectors and compare with `@hpke/core` byte for byte. Production code
 * seals with `sealBase` of `protocol/hpke_seal.ts`, which always takes a fresh random key; the
 * `layers` step keeps production code from importing this module (or `protocol/hpke_seal_core.ts`).
 *
 * @module
 */
import {
  deriveEphemeralKeyPair,
  type SealBaseInput,
  sealBaseWithEphemeral,
} from "../protocol/hpke_seal_core.ts";

/**
 * Seals like `sealBase`, but with the ephemeral key pair DeriveKeyPair(`ephemeralIkm`).
 *
 * @throws {RangeError} when `ephemeralIkm` is shorter than 32 bytes; otherwise what `sealBase`
 *   throws
 */
export function sealBaseFromIkm(
  input: SealBaseInput,
  ephemeralIkm: Uint8Array,
): { enc: Uint8Array; ciphertext: Uint8Array } {
  return sealBaseWithEphemeral(input, deriveEphemeralKeyPair(ephemeralIkm));
}
