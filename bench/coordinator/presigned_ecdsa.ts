/**
 * ECDSA P-384 / SHA-384 signatures with their per-signature nonce precomputed ("online/offline"
 * ECDSA), for the load generator's simulated secure processors. An SNP report must be signed over
 * the channel binding of the pod's TLS connection, so it cannot be signed ahead; but the expensive half of an ECDSA
 * signature, the point k·G for a fresh random k, does not depend on the message. The generator
 * computes k⁻¹ and r = (k·G).x mod n for every signature it will need before the measured phases,
 * and at request time only hashes the report and computes s = k⁻¹(z + r·d) mod n (two 384-bit
 * multiplications). The result is an ordinary ECDSA signature (the Coordinator verifies it as
 * any other; `tests/bench/coordinator/presigned_ecdsa_test.ts` checks it against WebCrypto) and
 * costs the generator a few hundredths of a ms instead of the ~1.4 ms of WebCrypto's signature:
 * CPU that in production a secure processor on another node spends.
 *
 * Each nonce is used exactly once (a reused k reveals the key, even a simulated one): a pool that
 * runs dry throws instead of reusing one.
 *
 * @module
 */
import { createECDH, createHash } from "node:crypto";

/** The order n of P-384's base point. */
const N = BigInt(
  "0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
);

/** Bytes of a P-384 scalar or coordinate. */
const SCALAR_BYTES = 48;

/** One precomputed nonce: k⁻¹ mod n and r = (k·G).x mod n. */
interface EcdsaNonce {
  readonly kInverse: bigint;
  readonly r: bigint;
}

function toBigInt(bytes: Uint8Array): bigint {
  let hex = "";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  return hex === "" ? 0n : BigInt(`0x${hex}`);
}

function toBytes(value: bigint, length: number): Uint8Array {
  const hex = value.toString(16).padStart(length * 2, "0");
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

/** a⁻¹ mod m (m prime, a not a multiple of m), by the extended Euclidean algorithm. */
function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new RangeError("presigned ECDSA: value has no inverse");
  return mod(s0, m);
}

/**
 * `count` fresh nonces: a random k and k·G from `node:crypto`'s P-384 key generation (OpenSSL's
 * constant-time scalar multiplication), kept as k⁻¹ and r. Costs about one key generation each.
 *
 * @throws {RangeError} for a count that is not a whole number
 */
export function precomputeNonces(count: number): EcdsaNonce[] {
  if (!(Number.isInteger(count) && count >= 0)) {
    throw new RangeError(`presigned ECDSA: count ${count} is not a whole number`);
  }
  const nonces: EcdsaNonce[] = [];
  while (nonces.length < count) {
    const ecdh = createECDH("secp384r1");
    const point = ecdh.generateKeys(); // 0x04 ‖ x ‖ y
    const k = toBigInt(ecdh.getPrivateKey());
    const r = mod(toBigInt(point.subarray(1, 1 + SCALAR_BYTES)), N);
    if (r === 0n || k === 0n) continue; // (probability ~2⁻³⁸⁴) draw again
    nonces.push({ kInverse: inverse(k, N), r });
  }
  return nonces;
}

/** Decodes base64url (a JWK field). */
function base64UrlBytes(text: string): Uint8Array {
  const b64 = text.replaceAll("-", "+").replaceAll("_", "/");
  const raw = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/**
 * Signs with one P-384 private key, taking a precomputed nonce per signature from its pool
 * ({@link PresignedP384Signer.ensure} fills it outside the measured phases).
 */
export class PresignedP384Signer {
  readonly #d: bigint;
  #nonces: EcdsaNonce[] = [];

  /**
   * @param d the private scalar
   * @throws {RangeError} for a private scalar outside [1, n)
   */
  constructor(d: bigint) {
    if (!(d > 0n && d < N)) throw new RangeError("presigned ECDSA: private key out of range");
    this.#d = d;
  }

  /**
   * The signer for an extractable ECDSA P-384 private key (its JWK's `d`).
   *
   * @throws {RangeError} when the key is not an extractable P-384 private key
   */
  static async fromKey(key: CryptoKey): Promise<PresignedP384Signer> {
    const algorithm = key.algorithm as EcKeyAlgorithm;
    if (key.type !== "private" || algorithm.namedCurve !== "P-384" || !key.extractable) {
      throw new RangeError("presigned ECDSA: needs an extractable P-384 private key");
    }
    const jwk = await crypto.subtle.exportKey("jwk", key);
    if (jwk.d === undefined) throw new RangeError("presigned ECDSA: the key's JWK has no d");
    return new PresignedP384Signer(toBigInt(base64UrlBytes(jwk.d)));
  }

  /** Nonces left. */
  get remaining(): number {
    return this.#nonces.length;
  }

  /** Precomputes nonces until at least `count` are left ({@link precomputeNonces}). */
  ensure(count: number): void {
    if (this.#nonces.length < count) {
      this.#nonces.push(...precomputeNonces(count - this.#nonces.length));
    }
  }

  /**
   * The ECDSA P-384 / SHA-384 signature of `message`, r ‖ s (96 bytes, as WebCrypto returns it).
   *
   * @throws {RangeError} when the pool is empty (a nonce is never reused)
   */
  sign(message: Uint8Array): Uint8Array {
    // SHA-384's 384 bits are exactly n's length: z is the digest as a number.
    const z = toBigInt(createHash("sha384").update(message).digest());
    for (;;) {
      // Taken out of the pool before it is used: it never signs twice.
      const nonce = this.#nonces.pop();
      if (nonce === undefined) {
        throw new RangeError("presigned ECDSA: no precomputed nonce left (ensure() first)");
      }
      const s = mod(nonce.kInverse * (z + nonce.r * this.#d), N);
      if (s === 0n) continue; // (probability ~2⁻³⁸⁴) the next nonce
      const signature = new Uint8Array(2 * SCALAR_BYTES);
      signature.set(toBytes(nonce.r, SCALAR_BYTES), 0);
      signature.set(toBytes(s, SCALAR_BYTES), SCALAR_BYTES);
      return signature;
    }
  }
}
