/**
 * HPKE (RFC 9180) sealing of secrets to attested keys: DHKEM(X25519, HKDF-SHA256),
 * HKDF-SHA256, AES-256-GCM, base mode. Seed shares travel sealed to the Coordinator's attested
 * key; workload secrets travel sealed to the initializer's attested key, so a relay in between
 * learns nothing.
 *
 * @module
 */
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import { expand, extract } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { ParseError, VerificationError } from "../util/errors/mod.ts";
import { decodeBase64, encodeBase64 } from "../util/bytes/mod.ts";

/** Length of an X25519 HPKE public key. */
const HPKE_PUBLIC_KEY_LENGTH = 32;

/** A copy of `input`'s bytes as an ArrayBuffer of exactly that length. */
function ownBuffer(input: ArrayBufferLike | ArrayBufferView): ArrayBuffer {
  const view = ArrayBuffer.isView(input)
    ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
    : new Uint8Array(input);
  return view.slice().buffer;
}

function bytesOf(input: ArrayBufferLike | ArrayBufferView): Uint8Array {
  return ArrayBuffer.isView(input)
    ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
    : new Uint8Array(input);
}

/**
 * HKDF-SHA256 (RFC 5869) of the HPKE key schedule, computed by `@noble/hashes` in this thread.
 * `@hpke/core`'s own HKDF goes through an asynchronous WebCrypto HMAC import and sign per step
 * (six steps per seal or open, ~50 µs each in Deno): the same function, ~5× the CPU. Labels,
 * suite ids and the key schedule stay `@hpke/core`'s; checked against RFC 9180's test vectors
 * and against the stock suite in `tests/protocol/hpke_test.ts`.
 */
export class NobleHkdfSha256 extends HkdfSha256 {
  /** HKDF-Extract; an empty salt is `hashSize` zero bytes, another length is refused. */
  override extract(
    salt: ArrayBufferLike | ArrayBufferView,
    ikm: ArrayBufferLike | ArrayBufferView,
  ): Promise<ArrayBuffer> {
    const saltBytes = bytesOf(salt);
    if (saltBytes.length !== 0 && saltBytes.length !== this.hashSize) {
      return Promise.reject(new RangeError("The salt length must be the same as the hashSize"));
    }
    return Promise.resolve(
      ownBuffer(extract(sha256, bytesOf(ikm), saltBytes.length === 0 ? undefined : saltBytes)),
    );
  }

  /** HKDF-Expand to `len` bytes. */
  override expand(
    prk: ArrayBufferLike | ArrayBufferView,
    info: ArrayBufferLike | ArrayBufferView,
    len: number,
  ): Promise<ArrayBuffer> {
    try {
      return Promise.resolve(ownBuffer(expand(sha256, bytesOf(prk), bytesOf(info), len)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** HKDF-Extract then HKDF-Expand. */
  override async extractAndExpand(
    salt: ArrayBufferLike | ArrayBufferView,
    ikm: ArrayBufferLike | ArrayBufferView,
    info: ArrayBufferLike | ArrayBufferView,
    len: number,
  ): Promise<ArrayBuffer> {
    return await this.expand(await this.extract(salt, ikm), info, len);
  }
}

/** `suite_id` of DHKEM(X25519, HKDF-SHA256): "KEM" ‖ I2OSP(0x0020, 2) (RFC 9180 4.1). */
const KEM_X25519_SUITE_ID = Uint8Array.of(0x4b, 0x45, 0x4d, 0x00, 0x20);

/**
 * DHKEM(X25519, HKDF-SHA256) whose ExtractAndExpand runs on {@link NobleHkdfSha256}; X25519
 * itself stays WebCrypto's.
 */
export class NobleDhkemX25519HkdfSha256 extends DhkemX25519HkdfSha256 {
  constructor() {
    super();
    const kdf = new NobleHkdfSha256();
    kdf.init(KEM_X25519_SUITE_ID);
    this._kdf = kdf;
  }
}

const suite = new CipherSuite({
  kem: new NobleDhkemX25519HkdfSha256(),
  kdf: new NobleHkdfSha256(),
  aead: new Aes256Gcm(),
});

const text = new TextEncoder();

/** A sealed message: the KEM encapsulation and the AEAD ciphertext. */
export interface SealedBox {
  /** The encapsulated key (32 bytes for X25519). */
  readonly enc: Uint8Array;
  /** The AEAD ciphertext with its tag. */
  readonly ciphertext: Uint8Array;
}

/** JSON form of a {@link SealedBox}: base64 fields. */
export interface SealedBoxJson {
  /** base64 of {@link SealedBox.enc}. */
  readonly enc: string;
  /** base64 of {@link SealedBox.ciphertext}. */
  readonly ciphertext: string;
}

/** The JSON form of `box`. */
export function sealedBoxToJson(box: SealedBox): SealedBoxJson {
  return { enc: encodeBase64(box.enc), ciphertext: encodeBase64(box.ciphertext) };
}

/**
 * A sealed box read from its JSON form.
 *
 * @throws {ParseError} naming `field` when it is not an object of two base64 strings
 */
export function sealedBoxFromJson(value: unknown, field: string): SealedBox {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ParseError(field, "expected an object {enc, ciphertext}");
  }
  const { enc, ciphertext, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new ParseError(`${field}.${unknown[0]}`, "unknown field");
  if (typeof enc !== "string") throw new ParseError(`${field}.enc`, "expected a base64 string");
  if (typeof ciphertext !== "string") {
    throw new ParseError(`${field}.ciphertext`, "expected a base64 string");
  }
  return {
    enc: decodeBase64(enc, `${field}.enc`),
    ciphertext: decodeBase64(ciphertext, `${field}.ciphertext`),
  };
}

/** An HPKE recipient key pair, held in memory only. */
export class HpkeRecipient {
  readonly #privateKey: CryptoKey;
  /** The serialised public key (32 bytes), to be bound into evidence. */
  readonly publicKey: Uint8Array;

  private constructor(privateKey: CryptoKey, publicKey: Uint8Array) {
    this.#privateKey = privateKey;
    this.publicKey = publicKey;
  }

  /** A fresh random key pair. */
  static async generate(): Promise<HpkeRecipient> {
    const pair = await suite.kem.generateKeyPair();
    const pub = new Uint8Array(await suite.kem.serializePublicKey(pair.publicKey));
    return new HpkeRecipient(pair.privateKey, pub);
  }

  /**
   * Opens a box sealed to this key under the same `info` and `aad`.
   *
   * @throws {VerificationError} naming `field` when the box was not sealed to this key, was
   *   altered, or was sealed for another purpose (`info`) or context (`aad`)
   */
  async open(
    box: SealedBox,
    info: string,
    aad: Uint8Array,
    field = "sealed",
  ): Promise<Uint8Array> {
    try {
      const ctx = await suite.createRecipientContext({
        recipientKey: this.#privateKey,
        enc: box.enc.slice().buffer,
        info: text.encode(info).buffer,
      });
      return new Uint8Array(await ctx.open(box.ciphertext.slice().buffer, aad.slice().buffer));
    } catch (cause) {
      throw new VerificationError(field, "HPKE open failed: not sealed to this key or altered", {
        cause,
      });
    }
  }
}

/**
 * Seals `plaintext` to `recipientPublicKey` (32-byte X25519) with the purpose `info` and the
 * additional authenticated data `aad`.
 *
 * @throws {ParseError} naming `field` when the public key is malformed
 */
export async function sealTo(
  recipientPublicKey: Uint8Array,
  plaintext: Uint8Array,
  info: string,
  aad: Uint8Array,
  field = "hpkePublicKey",
): Promise<SealedBox> {
  if (recipientPublicKey.length !== HPKE_PUBLIC_KEY_LENGTH) {
    throw new ParseError(field, `expected ${HPKE_PUBLIC_KEY_LENGTH} bytes`);
  }
  let key: CryptoKey;
  try {
    key = await suite.kem.deserializePublicKey(recipientPublicKey.slice().buffer);
  } catch (cause) {
    throw new ParseError(field, "not a valid X25519 public key", { cause });
  }
  let ctx;
  try {
    ctx = await suite.createSenderContext({
      recipientPublicKey: key,
      info: text.encode(info).buffer,
    });
  } catch (cause) {
    // X25519 with a low-order point gives an all-zero shared secret, which HPKE refuses: the
    // key is unusable input (400), not an internal error.
    throw new ParseError(field, "not a usable X25519 public key (low order point)", { cause });
  }
  const ciphertext = new Uint8Array(await ctx.seal(plaintext.slice().buffer, aad.slice().buffer));
  return { enc: new Uint8Array(ctx.enc), ciphertext };
}
