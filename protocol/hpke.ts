/**
 * HPKE (RFC 9180) sealing of secrets to attested keys: DHKEM(X25519, HKDF-SHA256),
 * HKDF-SHA256, AES-256-GCM, base mode. Seed shares travel sealed to the Coordinator's attested
 * key; workload secrets travel sealed to the initializer's attested key, so a relay in between
 * learns nothing.
 *
 * @module
 */
import {
  type AeadEncryptionContext,
  AeadId,
  type AeadInterface,
  CipherSuite,
  DhkemX25519HkdfSha256,
  HkdfSha256,
} from "@hpke/core";
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { Buffer } from "node:buffer";
import { expand, extract } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { ParseError, VerificationError } from "../util/errors/mod.ts";
import { InvalidPublicKeyError, LowOrderPointError, sealBase } from "./hpke_seal.ts";
import { decodeBase64, decodeHex, encodeBase64 } from "../util/bytes/mod.ts";

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
    return settled(() => ownBuffer(expand(sha256, bytesOf(prk), bytesOf(info), len)));
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

/** DER prefix of an X25519 SubjectPublicKeyInfo (RFC 8410); the 32 key bytes follow. */
const X25519_SPKI_PREFIX = decodeHex("302a300506032b656e032100", "X25519_SPKI_PREFIX");
/** DER prefix of an X25519 PKCS#8 private key (RFC 8410); the 32 key bytes follow. */
const X25519_PKCS8_PREFIX = decodeHex(
  "302e020100300506032b656e04220420",
  "X25519_PKCS8_PREFIX",
);
/** RFC 9180 7.1.3 labels of DeriveKeyPair. */
const LABEL_DKP_PRK = new TextEncoder().encode("dkp_prk");
const LABEL_SK = new TextEncoder().encode("sk");
const X25519_KEY_LENGTH = 32;

/**
 * A `node:crypto` X25519 key standing where `@hpke/core` expects a WebCrypto key. `@hpke/core`
 * never looks into a key: it hands it back to the primitives below, the only code that opens it.
 */
type NodeX25519Key = CryptoKey & { readonly keyObject: KeyObject };

function wrapKey(keyObject: KeyObject): CryptoKey {
  return { keyObject } as unknown as NodeX25519Key;
}

function unwrapKey(key: CryptoKey): KeyObject {
  const keyObject = (key as Partial<NodeX25519Key>).keyObject;
  if (keyObject?.asymmetricKeyType !== "x25519") throw new TypeError("not an X25519 key");
  return keyObject;
}

function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== X25519_KEY_LENGTH) throw new RangeError("X25519 public keys have 32 bytes");
  const der = new Uint8Array(X25519_SPKI_PREFIX.length + X25519_KEY_LENGTH);
  der.set(X25519_SPKI_PREFIX);
  der.set(raw, X25519_SPKI_PREFIX.length);
  return createPublicKey({ key: Buffer.from(der), format: "der", type: "spki" });
}

function privateKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== X25519_KEY_LENGTH) throw new RangeError("X25519 private keys have 32 bytes");
  const der = new Uint8Array(X25519_PKCS8_PREFIX.length + X25519_KEY_LENGTH);
  der.set(X25519_PKCS8_PREFIX);
  der.set(raw, X25519_PKCS8_PREFIX.length);
  try {
    return createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" });
  } finally {
    der.fill(0);
  }
}

/** The 32 raw bytes of an X25519 public key (the tail of its SPKI DER). */
function rawPublicKey(key: KeyObject): ArrayBuffer {
  const der = key.export({ format: "der", type: "spki" });
  return ownBuffer(der.subarray(der.length - X25519_KEY_LENGTH));
}

/**
 * `compute()` as a settled promise: its value, or its exception as a rejection (the suite's
 * interfaces are asynchronous; the work here is synchronous).
 */
function settled<T>(compute: () => T): Promise<T> {
  try {
    return Promise.resolve(compute());
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * X25519 for `@hpke/core`'s DHKEM on `node:crypto`'s synchronous X25519. `@hpke/core`'s own
 * primitives make four asynchronous WebCrypto calls per seal (generate, two raw exports, derive
 * bits), each handed to another thread and back: ~0.5 ms of CPU per seal in Deno against ~0.15 ms
 * here (measured). The KEM (labels, `kem_context`, ExtractAndExpand) stays `@hpke/core`'s;
 * checked against RFC 9180's A.1.1 vector and against the stock suite both ways in
 * `tests/protocol/hpke_test.ts`. As RFC 9180 7.1.4 requires, an all-zero shared secret (a
 * low-order public key) is refused.
 */
class NodeX25519 {
  readonly #kdf: NobleHkdfSha256;

  constructor(kdf: NobleHkdfSha256) {
    this.#kdf = kdf;
  }

  /** The raw 32 bytes of `key`. */
  serializePublicKey(key: CryptoKey): Promise<ArrayBuffer> {
    return settled(() => rawPublicKey(unwrapKey(key)));
  }

  /** The public key of 32 raw bytes. */
  deserializePublicKey(key: ArrayBufferLike | ArrayBufferView): Promise<CryptoKey> {
    return settled(() => wrapKey(publicKeyFromRaw(bytesOf(key))));
  }

  /** The raw 32 bytes of a private key. */
  serializePrivateKey(key: CryptoKey): Promise<ArrayBuffer> {
    return settled(() => {
      const der = unwrapKey(key).export({ format: "der", type: "pkcs8" });
      const raw = ownBuffer(der.subarray(der.length - X25519_KEY_LENGTH));
      der.fill(0);
      return raw;
    });
  }

  /** The private key of 32 raw bytes. */
  deserializePrivateKey(key: ArrayBufferLike | ArrayBufferView): Promise<CryptoKey> {
    return settled(() => wrapKey(privateKeyFromRaw(bytesOf(key))));
  }

  /** Raw keys only (JWK is not used here). */
  importKey(
    format: "raw" | "jwk",
    key: ArrayBuffer | JsonWebKey,
    isPublic: boolean,
  ): Promise<CryptoKey> {
    if (format !== "raw" || !(key instanceof ArrayBuffer)) {
      return Promise.reject(new TypeError("only raw X25519 keys are supported"));
    }
    return isPublic ? this.deserializePublicKey(key) : this.deserializePrivateKey(key);
  }

  /** A fresh random key pair. */
  generateKeyPair(): Promise<CryptoKeyPair> {
    const { publicKey, privateKey } = generateKeyPairSync("x25519");
    return Promise.resolve({ publicKey: wrapKey(publicKey), privateKey: wrapKey(privateKey) });
  }

  /** DeriveKeyPair of RFC 9180 7.1.3 (X25519: the expanded bytes are the private key). */
  async deriveKeyPair(ikm: ArrayBufferLike | ArrayBufferView): Promise<CryptoKeyPair> {
    const prk = await this.#kdf.labeledExtract(new ArrayBuffer(0), LABEL_DKP_PRK, bytesOf(ikm));
    const sk = new Uint8Array(
      await this.#kdf.labeledExpand(prk, LABEL_SK, new Uint8Array(0), X25519_KEY_LENGTH),
    );
    const privateKey = privateKeyFromRaw(sk);
    sk.fill(0);
    return { privateKey: wrapKey(privateKey), publicKey: wrapKey(createPublicKey(privateKey)) };
  }

  /** The public key of a private key. */
  derivePublicKey(key: CryptoKey): Promise<CryptoKey> {
    return settled(() => wrapKey(createPublicKey(unwrapKey(key))));
  }

  /**
   * X25519(sk, pk).
   *
   * @throws {RangeError} when the result is all zero (a low-order public key)
   */
  dh(sk: CryptoKey, pk: CryptoKey): Promise<ArrayBuffer> {
    return settled(() => {
      const shared = diffieHellman({ privateKey: unwrapKey(sk), publicKey: unwrapKey(pk) });
      if (shared.every((b) => b === 0)) {
        throw new RangeError("X25519 gave the all-zero shared secret (low-order public key)");
      }
      const out = ownBuffer(shared);
      shared.fill(0);
      return out;
    });
  }
}

/**
 * DHKEM(X25519, HKDF-SHA256) whose ExtractAndExpand runs on {@link NobleHkdfSha256} and whose
 * X25519 runs on {@link NodeX25519}.
 */
export class NobleDhkemX25519HkdfSha256 extends DhkemX25519HkdfSha256 {
  constructor() {
    super();
    const kdf = new NobleHkdfSha256();
    kdf.init(KEM_X25519_SUITE_ID);
    this._kdf = kdf;
    this._prim = new NodeX25519(kdf);
  }
}

const AES_GCM_TAG_LENGTH = 16;

/** One AES-256-GCM key of an HPKE context, on `node:crypto`'s synchronous cipher. */
class NodeAesGcmContext implements AeadEncryptionContext {
  readonly #key: Uint8Array;

  constructor(key: ArrayBufferLike | ArrayBufferView) {
    this.#key = bytesOf(key).slice();
    if (this.#key.length !== 32) throw new RangeError("AES-256-GCM keys have 32 bytes");
  }

  seal(
    iv: ArrayBufferLike | ArrayBufferView,
    data: ArrayBufferLike | ArrayBufferView,
    aad: ArrayBufferLike | ArrayBufferView,
  ): Promise<ArrayBuffer> {
    return settled(() => {
      const cipher = createCipheriv("aes-256-gcm", this.#key, bytesOf(iv));
      cipher.setAAD(bytesOf(aad));
      const body = cipher.update(bytesOf(data));
      const tail = cipher.final();
      const tag = cipher.getAuthTag();
      const out = new Uint8Array(body.length + tail.length + tag.length);
      out.set(body);
      out.set(tail, body.length);
      out.set(tag, body.length + tail.length);
      return out.buffer;
    });
  }

  open(
    iv: ArrayBufferLike | ArrayBufferView,
    data: ArrayBufferLike | ArrayBufferView,
    aad: ArrayBufferLike | ArrayBufferView,
  ): Promise<ArrayBuffer> {
    return settled(() => {
      const sealed = bytesOf(data);
      if (sealed.length < AES_GCM_TAG_LENGTH) throw new RangeError("ciphertext shorter than a tag");
      const split = sealed.length - AES_GCM_TAG_LENGTH;
      const decipher = createDecipheriv("aes-256-gcm", this.#key, bytesOf(iv));
      decipher.setAAD(bytesOf(aad));
      decipher.setAuthTag(sealed.subarray(split));
      const body = decipher.update(sealed.subarray(0, split));
      // final() throws unless the tag authenticates ciphertext and aad.
      const tail = decipher.final();
      const out = new Uint8Array(body.length + tail.length);
      out.set(body);
      out.set(tail, body.length);
      body.fill(0);
      return out.buffer;
    });
  }
}

/**
 * AES-256-GCM for `@hpke/core` on `node:crypto`: its stock AEAD imports a WebCrypto key and
 * encrypts asynchronously (~120 µs of CPU per seal in Deno against ~30 µs here, measured).
 */
class NodeAes256Gcm implements AeadInterface {
  /** AES-256-GCM (0x0002). */
  readonly id = AeadId.Aes256Gcm;
  /** Nk. */
  readonly keySize = 32;
  /** Nn. */
  readonly nonceSize = 12;
  /** Nt. */
  readonly tagSize = AES_GCM_TAG_LENGTH;

  /** The context of one key. */
  createEncryptionContext(key: ArrayBufferLike | ArrayBufferView): AeadEncryptionContext {
    return new NodeAesGcmContext(key);
  }
}

const suite = new CipherSuite({
  kem: new NobleDhkemX25519HkdfSha256(),
  kdf: new NobleHkdfSha256(),
  aead: new NodeAes256Gcm(),
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
export function sealTo(
  recipientPublicKey: Uint8Array,
  plaintext: Uint8Array,
  info: string,
  aad: Uint8Array,
  field = "hpkePublicKey",
): Promise<SealedBox> {
  // Refusals reach callers as rejections; the sealing itself is synchronous.
  if (recipientPublicKey.length !== HPKE_PUBLIC_KEY_LENGTH) {
    return Promise.reject(new ParseError(field, `expected ${HPKE_PUBLIC_KEY_LENGTH} bytes`));
  }
  try {
    return Promise.resolve(
      sealBase({ recipientPublicKey, info: text.encode(info), aad, plaintext }),
    );
  } catch (cause) {
    if (cause instanceof InvalidPublicKeyError) {
      return Promise.reject(new ParseError(field, "not a valid X25519 public key", { cause }));
    }
    // X25519 with a low-order point gives an all-zero shared secret, which HPKE refuses: the
    // key is unusable input (400), not an internal error.
    if (cause instanceof LowOrderPointError) {
      return Promise.reject(
        new ParseError(field, "not a usable X25519 public key (low order point)", { cause }),
      );
    }
    return Promise.reject(cause);
  }
}
