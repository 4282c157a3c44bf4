/**
 * ECDSA P-384 with SHA-384 signatures computed in the calling thread by `node:crypto`, for keys
 * that sign on a hot path (the mesh CA signs one leaf per attestation).
 *
 * Why not WebCrypto: Deno's (2.9.6) `crypto.subtle.sign` rebuilds the key pair from its PKCS#8
 * form on every call (ring re-derives and compares the public point: a second scalar
 * multiplication) and hands the work to another thread; `node:crypto` signs with a parsed key
 * (RustCrypto's constant-time `p384`) in this thread. Measured side by side: 1.3–1.6 ms against
 * 1.5–2.3 ms of process CPU per signature (load 2–8). Not @noble/curves, which signs faster still
 * but in BigInt arithmetic whose timing follows the operands: a CA key signing on request must not
 * leak its nonces' timing to the untrusted host.
 *
 * @module
 */
import { createPrivateKey, sign } from "node:crypto";

/** Signs `message` with ECDSA-with-SHA384; returns IEEE P1363 `r ‖ s` (96 bytes). */
export type P384Signer = (message: Uint8Array) => Uint8Array<ArrayBuffer>;

/** Length of a P1363 P-384 signature. */
const P1363_LENGTH = 96;

/**
 * A signer for the P-384 private key `jwk` (`kty` EC, `crv` P-384, `x`, `y`, `d`). The key is
 * parsed once; `node:crypto` refuses a `d` that does not belong to `x`/`y`.
 *
 * @throws {TypeError} when `jwk` is not a P-384 private key
 */
export function p384Signer(jwk: JsonWebKey): P384Signer {
  if (jwk.kty !== "EC" || jwk.crv !== "P-384" || typeof jwk.d !== "string") {
    throw new TypeError("p384Signer: not a P-384 private JWK");
  }
  const key = createPrivateKey({
    key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d },
    format: "jwk",
  });
  return (message) => {
    const signature = sign("sha384", message, { key, dsaEncoding: "ieee-p1363" });
    if (signature.length !== P1363_LENGTH) {
      throw new Error(`P-384 signature of ${signature.length} bytes, expected ${P1363_LENGTH}`);
    }
    return new Uint8Array(signature);
  };
}
