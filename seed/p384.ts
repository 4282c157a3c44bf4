/**
 * P-384 keys derived deterministically from secret bytes, so the same seed gives the same key
 * after a restart or a recovery.
 *
 * The scalar is `(OS2IP(secret) mod (n − 1)) + 1` over 64 secret bytes (FIPS 186-5 A.2.1, "extra
 * random bits": 128 extra bits make the bias negligible); the public point is computed with
 * @noble/curves and both are imported into WebCrypto as a JWK. The private CryptoKey is not
 * extractable. A deterministic signer (RFC 6979, low-S not enforced) is kept next to it for the
 * few signatures that must be byte-stable (the self-signed root certificate).
 *
 * @module
 */
import { p384 } from "@noble/curves/nist.js";
import { encodeBase64 } from "../util/bytes/mod.ts";
import { ParseError } from "../util/errors/mod.ts";
import { type P384Signer, p384Signer } from "./p384_signer.ts";

/** Secret bytes needed to derive one P-384 key. */
export const P384_SECRET_LENGTH = 64;

/** A P-384 key derived from a secret. */
export interface DerivedP384Key {
  /** ECDSA key pair in WebCrypto (private key not extractable). */
  readonly keyPair: CryptoKeyPair;
  /** The uncompressed public point (97 bytes). */
  readonly publicKeyRaw: Uint8Array;
  /**
   * ECDSA-with-SHA384 signature over `message` with a deterministic nonce (RFC 6979), DER encoded
   * as X.509 wants it. Same key and message → same bytes.
   */
  signDeterministic(message: Uint8Array): Uint8Array;
  /**
   * ECDSA-with-SHA384 signature over `message` as IEEE P1363 (`r ‖ s`), in this thread by
   * `node:crypto` (see `p384_signer.ts`): for keys that sign on a hot path.
   */
  readonly sign: P384Signer;
}

function base64url(bytes: Uint8Array): string {
  return encodeBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function bigintToBytes(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

/**
 * The P-384 scalar (48 bytes, big-endian) for `secret`, in `[1, n − 1]`.
 *
 * @throws {ParseError} when `secret` is not {@link P384_SECRET_LENGTH} bytes
 */
export function p384ScalarFromSecret(secret: Uint8Array): Uint8Array {
  if (secret.length !== P384_SECRET_LENGTH) {
    throw new ParseError(
      "secret",
      `expected ${P384_SECRET_LENGTH} bytes, got ${secret.length}`,
    );
  }
  let x = 0n;
  for (const b of secret) x = (x << 8n) | BigInt(b);
  const n = p384.Point.Fn.ORDER;
  return bigintToBytes((x % (n - 1n)) + 1n, 48);
}

/**
 * Derives a P-384 ECDSA key from `secret` and imports it into WebCrypto.
 *
 * @throws {ParseError} when `secret` is not {@link P384_SECRET_LENGTH} bytes
 */
export async function deriveP384Key(secret: Uint8Array): Promise<DerivedP384Key> {
  const scalar = p384ScalarFromSecret(secret);
  const publicKeyRaw = p384.getPublicKey(scalar, false);
  const x = publicKeyRaw.subarray(1, 49);
  const y = publicKeyRaw.subarray(49, 97);
  const jwk: JsonWebKey = {
    kty: "EC",
    crv: "P-384",
    x: base64url(x),
    y: base64url(y),
    ext: true,
  };
  const algorithm = { name: "ECDSA", namedCurve: "P-384" };
  const privateJwk = { ...jwk, d: base64url(scalar), ext: false };
  const privateKey = await crypto.subtle.importKey("jwk", privateJwk, algorithm, false, ["sign"]);
  const publicKey = await crypto.subtle.importKey("jwk", jwk, algorithm, true, ["verify"]);
  return {
    keyPair: { privateKey, publicKey },
    publicKeyRaw,
    sign: p384Signer(privateJwk),
    signDeterministic(message: Uint8Array): Uint8Array {
      return p384.sign(message, scalar, { prehash: true, lowS: false, format: "der" });
    },
  };
}
