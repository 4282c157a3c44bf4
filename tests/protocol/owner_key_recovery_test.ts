/**
 * ECDSA public key recovery for owners named by key digest: the signer's key is among the
 * recovered candidates on every curve, in the exact SPKI Go's `x509.MarshalPKIXPublicKey` writes;
 * malformed signatures recover nothing.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { encodeHex } from "../../util/bytes/mod.ts";
import { recoverSigningKeys } from "../../protocol/owner_key_recovery.ts";

const CURVES = [
  ["P-256", "prime256v1", "sha256", 64],
  ["P-384", "secp384r1", "sha384", 96],
  ["P-521", "secp521r1", "sha512", 132],
] as const;

Deno.test("the signer's key is recovered on P-256, P-384 and P-521", async () => {
  const message = new TextEncoder().encode("transition hash stand-in");
  for (const [curve, nodeCurve, hash, length] of CURVES) {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: nodeCurve });
    const spki = encodeHex(new Uint8Array(publicKey.export({ type: "spki", format: "der" })));
    const signature = new Uint8Array(
      sign(hash, message, { key: privateKey, dsaEncoding: "ieee-p1363" }),
    );
    assert.equal(signature.length, length);
    const keys = await recoverSigningKeys(signature, message);
    assert.ok(keys.length >= 1 && keys.length <= 4, `${curve}: ${keys.length} candidates`);
    assert.ok(keys.every((k) => k.curve === curve));
    assert.ok(keys.some((k) => encodeHex(k.spki) === spki), `${curve}: signer not recovered`);
  }
});

Deno.test("malformed signatures recover no key", async () => {
  const message = new Uint8Array(32);
  assert.deepEqual(await recoverSigningKeys(new Uint8Array(0), message), []);
  assert.deepEqual(await recoverSigningKeys(new Uint8Array(95), message), []); // no curve
  assert.deepEqual(await recoverSigningKeys(new Uint8Array(96), message), []); // r = s = 0
  assert.deepEqual(await recoverSigningKeys(new Uint8Array(96).fill(0xff), message), []); // ≥ n
});
