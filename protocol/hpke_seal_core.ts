/**
 * The construction behind {@link sealBase} of `protocol/hpke_seal.ts`: single-shot HPKE sealing
 * in base mode (RFC 9180 5.1.1 `SetupBaseS`, then one `Seal` at sequence number 0) for
 * DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and AES-GCM, computed directly and synchronously:
 * X25519, AES-GCM and every LabeledExtract that a LabeledExpand follows on `node:crypto` (one
 * native `hkdfSync` per pair), the extract-only steps (`info_hash`, and `DeriveKeyPair` for test
 * vectors) on `@noble/hashes`.
 *
 * This module takes the ephemeral key pair as an argument so that RFC 9180's test vectors can be
 * reproduced; that choice must never be open to production code. Only `protocol/hpke_seal.ts`
 * (which always passes a fresh random key) and development aids may import it: the `layers` step
 * (`scripts/check_layers.ts`, `RESTRICTED_MODULES`) fails on any other import.
 *
 * Why not `@hpke/core` (which still opens every box, `protocol/hpke.ts`): the Coordinator seals a
 * workload secret for every attestation, and going through the library's sender context (its
 * key-pair objects, promise per primitive, exporter secret nobody uses, sequence bookkeeping) cost
 * ~0.27 ms of CPU per seal in Deno against ~0.12 ms here (measured), about a quarter of the
 * Coordinator's own JavaScript per attestation. The construction is the RFC's, step by step;
 * `tests/protocol/hpke_seal_test.ts` checks it against RFC 9180 A.1.1 byte for byte and against
 * `@hpke/core` with the same ephemeral key for AES-256-GCM, and the boxes open with the stock suite.
 *
 * @module
 */
import {
  createCipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
} from "node:crypto";
import { Buffer } from "node:buffer";
import { expand, extract } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, decodeHex } from "../util/bytes/mod.ts";

/** The AEADs this sealer supports (RFC 9180 7.3 ids 0x0001 and 0x0002). */
type HpkeAead = "aes-128-gcm" | "aes-256-gcm";

/** AEAD id and key length Nk (RFC 9180 7.3); Nn is 12 and Nt 16 for both. */
const AEADS: Readonly<Record<HpkeAead, { readonly id: number; readonly keyLength: number }>> = {
  "aes-128-gcm": { id: 0x0001, keyLength: 16 },
  "aes-256-gcm": { id: 0x0002, keyLength: 32 },
};
const NONCE_LENGTH = 12;
const X25519_LENGTH = 32;

const utf8 = new TextEncoder();
const HPKE_V1 = utf8.encode("HPKE-v1");
/** `suite_id` of the KEM: "KEM" ‖ I2OSP(0x0020, 2) (RFC 9180 4.1). */
const KEM_SUITE_ID = Uint8Array.of(0x4b, 0x45, 0x4d, 0x00, 0x20);
const LABEL = {
  dkpPrk: utf8.encode("dkp_prk"),
  sk: utf8.encode("sk"),
  eaePrk: utf8.encode("eae_prk"),
  sharedSecret: utf8.encode("shared_secret"),
  pskIdHash: utf8.encode("psk_id_hash"),
  infoHash: utf8.encode("info_hash"),
  secret: utf8.encode("secret"),
  key: utf8.encode("key"),
  baseNonce: utf8.encode("base_nonce"),
};
const EMPTY = new Uint8Array(0);
/** `mode_base` (RFC 9180 5.1). */
const MODE_BASE = Uint8Array.of(0x00);

/** DER prefixes of X25519 SubjectPublicKeyInfo and PKCS#8 (RFC 8410); the 32 key bytes follow. */
const X25519_SPKI_PREFIX = decodeHex("302a300506032b656e032100", "X25519_SPKI_PREFIX");
const X25519_PKCS8_PREFIX = decodeHex("302e020100300506032b656e04220420", "X25519_PKCS8_PREFIX");

/** `suite_id` of the whole suite: "HPKE" ‖ kem_id ‖ kdf_id (HKDF-SHA256) ‖ aead_id. */
function hpkeSuiteId(aead: HpkeAead): Uint8Array {
  const id = AEADS[aead].id;
  return Uint8Array.of(0x48, 0x50, 0x4b, 0x45, 0x00, 0x20, 0x00, 0x01, id >> 8, id & 0xff);
}

/** LabeledExtract (RFC 9180 4): HKDF-Extract(salt, "HPKE-v1" ‖ suite_id ‖ label ‖ ikm). */
function labeledExtract(
  suiteId: Uint8Array,
  salt: Uint8Array,
  label: Uint8Array,
  ikm: Uint8Array,
): Uint8Array {
  const labeled = concatBytes(HPKE_V1, suiteId, label, ikm);
  try {
    return extract(sha256, labeled, salt.length === 0 ? undefined : salt);
  } finally {
    labeled.fill(0);
  }
}

/** LabeledExpand's info (RFC 9180 4): I2OSP(L, 2) ‖ "HPKE-v1" ‖ suite_id ‖ label ‖ info. */
function labeledInfo(
  suiteId: Uint8Array,
  label: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  return concatBytes(Uint8Array.of(length >> 8, length & 0xff), HPKE_V1, suiteId, label, info);
}

/** LabeledExpand (RFC 9180 4): HKDF-Expand(prk, I2OSP(L, 2) ‖ "HPKE-v1" ‖ suite_id ‖ label ‖ info, L). */
function labeledExpand(
  suiteId: Uint8Array,
  prk: Uint8Array,
  label: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  return expand(sha256, prk, labeledInfo(suiteId, label, info, length), length);
}

/**
 * LabeledExpand(LabeledExtract(salt, extractLabel, ikm), expandLabel, info, L) (RFC 9180 4) in one
 * HKDF (RFC 5869: Extract, then Expand) on `node:crypto`: ~5 µs of CPU where the two steps on
 * `@noble/hashes` take ~20 µs and allocate their HMAC states (measured, issue 18). The derived
 * bytes are the caller's to erase; the pseudorandom key in between stays in native memory.
 */
function labeledExtractAndExpand(
  suiteId: Uint8Array,
  salt: Uint8Array,
  extractLabel: Uint8Array,
  ikm: Uint8Array,
  expandLabel: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  const labeledIkm = concatBytes(HPKE_V1, suiteId, extractLabel, ikm);
  const labeledInfoBytes = labeledInfo(suiteId, expandLabel, info, length);
  try {
    return new Uint8Array(hkdfSync("sha256", labeledIkm, salt, labeledInfoBytes, length));
  } finally {
    labeledIkm.fill(0);
  }
}

/** `psk_id_hash` of base mode (the empty psk_id), per AEAD: constants of the suite. */
const PSK_ID_HASH: Readonly<Record<HpkeAead, Uint8Array>> = {
  "aes-128-gcm": labeledExtract(hpkeSuiteId("aes-128-gcm"), EMPTY, LABEL.pskIdHash, EMPTY),
  "aes-256-gcm": labeledExtract(hpkeSuiteId("aes-256-gcm"), EMPTY, LABEL.pskIdHash, EMPTY),
};

/** Raised when X25519 gives the all-zero value: the recipient key is a low-order point. */
export class LowOrderPointError extends RangeError {
  constructor(options?: ErrorOptions) {
    super("X25519 gave the all-zero shared secret (low-order public key)", options);
    this.name = "LowOrderPointError";
  }
}

/** Raised when the recipient's public key is not an X25519 key (`cause`: the reason). */
export class InvalidPublicKeyError extends RangeError {
  constructor(options?: ErrorOptions) {
    super("not a valid X25519 public key", options);
    this.name = "InvalidPublicKeyError";
  }
}

/**
 * The `node:crypto` key of 32 raw X25519 public key bytes.
 *
 * @throws {InvalidPublicKeyError} when `raw` is not 32 bytes or `node:crypto` refuses it
 */
function x25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== X25519_LENGTH) {
    throw new InvalidPublicKeyError({ cause: new RangeError("X25519 public keys have 32 bytes") });
  }
  const der = concatBytes(X25519_SPKI_PREFIX, raw);
  try {
    return createPublicKey({
      key: Buffer.from(der.buffer, der.byteOffset, der.byteLength),
      format: "der",
      type: "spki",
    });
  } catch (cause) {
    throw new InvalidPublicKeyError({ cause });
  }
}

/** An X25519 key pair as `node:crypto` keys. */
interface EphemeralKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** The least input keying material DeriveKeyPair takes: Nsk = 32 bytes for X25519 (RFC 9180 7.1.3). */
const MIN_EPHEMERAL_IKM_LENGTH = X25519_LENGTH;

/**
 * DeriveKeyPair(ikm) of RFC 9180 7.1.3 for X25519, to reproduce test vectors.
 *
 * @throws {RangeError} when `ikm` is shorter than 32 bytes (the RFC asks for at least Nsk bytes
 *   of entropy)
 */
export function deriveEphemeralKeyPair(ikm: Uint8Array): EphemeralKeyPair {
  if (ikm.length < MIN_EPHEMERAL_IKM_LENGTH) {
    throw new RangeError(
      `ephemeral IKM has ${ikm.length} bytes; DeriveKeyPair needs at least ${MIN_EPHEMERAL_IKM_LENGTH}`,
    );
  }
  const dkpPrk = labeledExtract(KEM_SUITE_ID, EMPTY, LABEL.dkpPrk, ikm);
  const sk = labeledExpand(KEM_SUITE_ID, dkpPrk, LABEL.sk, EMPTY, X25519_LENGTH);
  const der = concatBytes(X25519_PKCS8_PREFIX, sk);
  try {
    const privateKey = createPrivateKey({
      key: Buffer.from(der.buffer, der.byteOffset, der.byteLength),
      format: "der",
      type: "pkcs8",
    });
    return { privateKey, publicKey: createPublicKey(privateKey) };
  } finally {
    dkpPrk.fill(0);
    sk.fill(0);
    der.fill(0);
  }
}

/** The 32 raw bytes of an X25519 public key (the tail of its SPKI DER). */
function rawPublicKey(key: KeyObject): Uint8Array {
  const der = key.export({ format: "der", type: "spki" });
  return new Uint8Array(der.subarray(der.length - X25519_LENGTH));
}

/** Encap (RFC 9180 4.1): the shared secret and `enc` for `recipient`. */
function encap(
  recipient: KeyObject,
  recipientRaw: Uint8Array,
  ephemeral: EphemeralKeyPair,
): { sharedSecret: Uint8Array; enc: Uint8Array } {
  const enc = rawPublicKey(ephemeral.publicKey);
  let dh: Uint8Array;
  try {
    dh = new Uint8Array(diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient }));
  } catch (cause) {
    // OpenSSL's X25519 derivation itself fails when the result would be all zero.
    throw new LowOrderPointError({ cause });
  }
  try {
    // RFC 9180 7.1.4: an all-zero X25519 result must be refused.
    if (dh.every((b) => b === 0)) throw new LowOrderPointError();
    // ExtractAndExpand(dh, kem_context) of DHKEM (RFC 9180 4.1).
    const sharedSecret = labeledExtractAndExpand(
      KEM_SUITE_ID,
      EMPTY,
      LABEL.eaePrk,
      dh,
      LABEL.sharedSecret,
      concatBytes(enc, recipientRaw),
      X25519_LENGTH,
    );
    return { sharedSecret, enc };
  } finally {
    dh.fill(0);
  }
}

/** What to seal, to whom, and under which purpose and context. */
export interface SealBaseInput {
  /** The recipient's 32-byte X25519 public key. */
  readonly recipientPublicKey: Uint8Array;
  /** `info`: the purpose the box is for. */
  readonly info: Uint8Array;
  /** Additional authenticated data. */
  readonly aad: Uint8Array;
  readonly plaintext: Uint8Array;
  /** The AEAD (default AES-256-GCM). */
  readonly aead?: HpkeAead;
}

/**
 * Seals `plaintext` in base mode with the given ephemeral key pair: `enc` and the AEAD ciphertext
 * with its tag, exactly as a `@hpke/core` sender context's first `seal` would give them. Every real
 * seal must use a fresh random ephemeral key (`sealBase` of `protocol/hpke_seal.ts`).
 *
 * @throws {InvalidPublicKeyError} when the recipient key is not an X25519 public key;
 *   {@link LowOrderPointError} when it is a low-order point
 */
export function sealBaseWithEphemeral(
  input: SealBaseInput,
  ephemeral: EphemeralKeyPair,
): { enc: Uint8Array; ciphertext: Uint8Array } {
  const aead = input.aead ?? "aes-256-gcm";
  const suiteId = hpkeSuiteId(aead);
  const recipient = x25519PublicKey(input.recipientPublicKey);
  const { sharedSecret, enc } = encap(recipient, input.recipientPublicKey, ephemeral);
  // KeySchedule (RFC 9180 5.1), mode_base: empty psk and psk_id.
  const infoHash = labeledExtract(suiteId, EMPTY, LABEL.infoHash, input.info);
  const context = concatBytes(MODE_BASE, PSK_ID_HASH[aead], infoHash);
  // secret = LabeledExtract(shared_secret, "secret", psk) with the empty psk, expanded to the key
  // and (sequence number 0) the nonce, which is base_nonce itself.
  const derive = (label: Uint8Array, length: number) =>
    labeledExtractAndExpand(suiteId, sharedSecret, LABEL.secret, EMPTY, label, context, length);
  const key = derive(LABEL.key, AEADS[aead].keyLength);
  const nonce = derive(LABEL.baseNonce, NONCE_LENGTH);
  sharedSecret.fill(0);
  try {
    const cipher = createCipheriv(aead, key, nonce);
    cipher.setAAD(input.aad);
    const ciphertext = concatBytes(
      cipher.update(input.plaintext),
      cipher.final(),
      cipher.getAuthTag(),
    );
    return { enc, ciphertext };
  } finally {
    key.fill(0);
  }
}
