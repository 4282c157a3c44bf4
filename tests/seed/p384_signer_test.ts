import assert from "node:assert/strict";
import { p384Signer } from "../../seed/p384_signer.ts";
import { deriveP384Key } from "../../seed/p384.ts";

const P384 = { name: "ECDSA", namedCurve: "P-384" } as const;
const SHA384 = { name: "ECDSA", hash: "SHA-384" } as const;

async function p384Pair(): Promise<{ jwk: JsonWebKey; publicKey: CryptoKey }> {
  const pair = await crypto.subtle.generateKey(P384, true, ["sign", "verify"]);
  return { jwk: await crypto.subtle.exportKey("jwk", pair.privateKey), publicKey: pair.publicKey };
}

const MESSAGE = new TextEncoder().encode("tbsCertificate stand-in");

Deno.test("p384Signer: a P1363 ECDSA-SHA384 signature WebCrypto verifies for that message only", async () => {
  const { jwk, publicKey } = await p384Pair();
  const sign = p384Signer(jwk);
  const signature = sign(MESSAGE);
  assert.equal(signature.length, 96);
  assert.ok(await crypto.subtle.verify(SHA384, publicKey, signature, MESSAGE));
  const other = MESSAGE.slice();
  other[0]! ^= 1;
  assert.equal(await crypto.subtle.verify(SHA384, publicKey, signature, other), false);
  const stranger = await p384Pair();
  assert.equal(await crypto.subtle.verify(SHA384, stranger.publicKey, signature, MESSAGE), false);
});

Deno.test("p384Signer refuses a private scalar that is not the public point's, and non-P-384 keys", async () => {
  const a = await p384Pair();
  const b = await p384Pair();
  assert.throws(() => p384Signer({ ...a.jwk, d: b.jwk.d }));
  assert.throws(() => p384Signer({ ...a.jwk, d: "AAAA" }));
  const { d: _dropped, ...publicOnly } = a.jwk;
  assert.throws(() => p384Signer(publicOnly), TypeError);
  const p256 = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
  ]) as CryptoKeyPair;
  const p256Jwk = await crypto.subtle.exportKey("jwk", p256.privateKey);
  assert.throws(() => p384Signer(p256Jwk), TypeError);
  assert.throws(() => p384Signer({ ...a.jwk, kty: "OKP" }), TypeError);
});

Deno.test("a seed-derived key's fast signer signs for its WebCrypto public key", async () => {
  const key = await deriveP384Key(new Uint8Array(64).fill(5));
  const signature = key.sign(MESSAGE);
  assert.ok(await crypto.subtle.verify(SHA384, key.keyPair.publicKey, signature, MESSAGE));
});
