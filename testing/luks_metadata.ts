/**
 * LUKS2 header metadata for tests of the initializer's header check: what `cryptsetup luksDump
 * --dump-json-metadata` prints for a volume the initializer formats (one aes-xts-plain64 keyslot
 * and segment, one pbkdf2 digest, 1000 iterations each).
 *
 * @module
 */

/** The metadata of a volume formatted as the initializer formats it (no `config` section). */
export function goodLuksMetadata() {
  return {
    keyslots: {
      "0": {
        type: "luks2",
        key_size: 64,
        area: { type: "raw", encryption: "aes-xts-plain64", key_size: 64 },
        kdf: { type: "pbkdf2", hash: "sha256", iterations: 1000 },
      },
    },
    tokens: {},
    segments: { "0": { type: "crypt", encryption: "aes-xts-plain64", sector_size: 4096 } },
    digests: { "0": { type: "pbkdf2", hash: "sha256", iterations: 1000 } },
  };
}
