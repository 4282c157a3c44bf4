/**
 * Manifests move between contrast and Edgeless Contrast: seedshare owner keys in Contrast's
 * encoding (PKCS#1 `RSAPublicKey` DER, as Go's `x509.MarshalPKCS1PublicKey` writes them) are read,
 * used for seed shares and recovery, and written by `contrast generate`; PKIX DER keys of earlier
 * contrast manifests still work.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { decodeHex, encodeHex } from "../../util/bytes/mod.ts";
import {
  readRsaPublicKey,
  sameRsaPublicKey,
  seedshareOwnerKeyHex,
} from "../../manifest/public_keys.ts";
import { createSeedShares, decryptSeedShare } from "../../seed/seed_shares.ts";
import { SeedEngine } from "../../seed/seed_engine.ts";
import { verifyRecoverySignature } from "../../protocol/signatures.ts";
import { ForbiddenError } from "../../protocol/errors.ts";

/** An RSA-3072 key pair as Go's crypto/x509 would encode it: PKCS#1 and PKIX DER. */
function rsaOwner() {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 3072 });
  return {
    pkcs1: new Uint8Array(publicKey.export({ type: "pkcs1", format: "der" })),
    spki: new Uint8Array(publicKey.export({ type: "spki", format: "der" })),
    pkcs8: new Uint8Array(privateKey.export({ type: "pkcs8", format: "der" })),
  };
}

Deno.test("seedshare owner keys: PKCS#1 (Contrast) and PKIX DER name the same key", () => {
  const owner = rsaOwner();
  const fromPkcs1 = readRsaPublicKey(owner.pkcs1);
  const fromSpki = readRsaPublicKey(owner.spki);
  assert.ok(!("error" in fromPkcs1) && !("error" in fromSpki));
  assert.equal(fromPkcs1.encoding, "pkcs1");
  assert.equal(fromSpki.encoding, "spki");
  assert.deepEqual(fromPkcs1.der, owner.spki); // the SPKI built around it is Node's byte for byte
  assert.deepEqual(fromSpki.pkcs1, owner.pkcs1);
  assert.equal(fromPkcs1.modulusBits, 3072);
  assert.ok(sameRsaPublicKey(owner.pkcs1, owner.spki));
  assert.ok(!sameRsaPublicKey(owner.pkcs1, rsaOwner().spki));
  // What generate writes: Contrast's encoding, whichever was given.
  assert.equal(seedshareOwnerKeyHex(encodeHex(owner.spki), "k"), encodeHex(owner.pkcs1));
  assert.equal(seedshareOwnerKeyHex(encodeHex(owner.pkcs1), "k"), encodeHex(owner.pkcs1));
});

Deno.test("seedshare owner keys: malformed PKCS#1 and small keys are refused with a reason", () => {
  const small = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({
    type: "pkcs1",
    format: "der",
  });
  const smallResult = readRsaPublicKey(new Uint8Array(small));
  assert.ok("error" in smallResult && /1024 bits/.test(smallResult.error));
  const pkcs1 = rsaOwner().pkcs1;
  for (const bad of [pkcs1.subarray(0, pkcs1.length - 1), Uint8Array.of(0x30, 0x00)]) {
    const r = readRsaPublicKey(bad);
    assert.ok("error" in r, "truncated or empty keys are errors");
  }
  assert.throws(() => seedshareOwnerKeyHex("zz", "SeedshareOwnerPubKeys[0]"));
});

Deno.test("a seed share for a PKCS#1 manifest key decrypts with the owner's key and recovery verifies", async () => {
  const owner = rsaOwner();
  const engine = SeedEngine.create();
  const shares = await createSeedShares(engine, [encodeHex(owner.pkcs1)]);
  assert.equal(shares.SeedShares[0]!.PublicKey, encodeHex(owner.pkcs1)); // named as the manifest does
  const privateKey = await crypto.subtle.importKey(
    "pkcs8",
    owner.pkcs8,
    { name: "RSA-OAEP", hash: "SHA-256" },
    false,
    ["decrypt"],
  );
  const recovered = await decryptSeedShare(shares, privateKey, owner.spki);
  assert.deepEqual(recovered.seed, engine.seed());

  // The recovery request carries the PKIX key; the manifest lists the PKCS#1 one.
  const signer = await crypto.subtle.importKey(
    "pkcs8",
    owner.pkcs8,
    { name: "RSA-PSS", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const message = new TextEncoder().encode("contrast/recover/v1 test message");
  const signature = new Uint8Array(
    await crypto.subtle.sign({ name: "RSA-PSS", saltLength: 32 }, signer, message),
  );
  await verifyRecoverySignature([encodeHex(owner.pkcs1)], owner.spki, message, signature);
  await assert.rejects(
    verifyRecoverySignature([encodeHex(rsaOwner().pkcs1)], owner.spki, message, signature),
    ForbiddenError,
  );
  assert.deepEqual(decodeHex(encodeHex(owner.pkcs1)), owner.pkcs1);
});
