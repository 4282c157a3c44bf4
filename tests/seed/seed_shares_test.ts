import assert from "node:assert/strict";
import { decodeHex, encodeHex, encodePem } from "../../util/bytes/mod.ts";
import { InvalidDocumentError, ParseError, VerificationError } from "../../util/errors/mod.ts";
import { SeedEngine } from "../../seed/seed_engine.ts";
import {
  createSeedShares,
  decryptSeedShare,
  encodeSeedShares,
  engineFromRecoveredSeed,
  importSeedshareOwnerPrivateKey,
  parseSeedShares,
} from "../../seed/seed_shares.ts";
import { generateRsaOaepKeys } from "../../testing/keys.ts";

async function owner() {
  const keys = await generateRsaOaepKeys();
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return { keys, spki, pem: encodePem("PRIVATE KEY", pkcs8) };
}

const [alice, bob] = await Promise.all([owner(), owner()]);

Deno.test("each owner decrypts their share back to the same seed, salt and keys", async () => {
  const engine = SeedEngine.create();
  const doc = await createSeedShares(engine, [encodeHex(alice.spki), encodeHex(bob.spki)]);
  const parsed = parseSeedShares(new TextEncoder().encode(encodeSeedShares(doc)));
  assert.deepEqual(parsed, doc);
  for (const o of [alice, bob]) {
    const key = await importSeedshareOwnerPrivateKey(o.pem);
    const recovered = await decryptSeedShare(parsed, key, o.spki);
    assert.deepEqual(recovered.seed, engine.seed());
    assert.deepEqual(recovered.salt, engine.salt());
    const again = engineFromRecoveredSeed(recovered);
    const spki = async (e: SeedEngine) =>
      encodeHex(
        new Uint8Array(await crypto.subtle.exportKey("spki", (await e.rootCaKey()).publicKey)),
      );
    assert.equal(await spki(again), await spki(engine));
  }
  // The document never contains the seed in clear.
  assert.equal(encodeSeedShares(doc).includes(encodeHex(engine.seed())), false);
});

Deno.test("shares are RSA-OAEP SHA-256 with label 'seedshare' (decryptable with WebCrypto directly)", async () => {
  const engine = SeedEngine.create();
  const doc = await createSeedShares(engine, [encodeHex(alice.spki)]);
  const plain = await crypto.subtle.decrypt(
    { name: "RSA-OAEP", label: new TextEncoder().encode("seedshare") },
    alice.keys.privateKey,
    decodeHex(doc.SeedShares[0]!.EncryptedSeed) as Uint8Array<ArrayBuffer>,
  );
  assert.deepEqual(new Uint8Array(plain), engine.seed());
  await assert.rejects(
    crypto.subtle.decrypt(
      { name: "RSA-OAEP" },
      alice.keys.privateKey,
      decodeHex(doc.SeedShares[0]!.EncryptedSeed) as Uint8Array<ArrayBuffer>,
    ),
  );
});

Deno.test("decrypting with another owner's private key fails closed", async () => {
  const doc = await createSeedShares(SeedEngine.create(), [encodeHex(alice.spki)]);
  await assert.rejects(
    decryptSeedShare(doc, bob.keys.privateKey, alice.spki),
    (e) => e instanceof VerificationError && e.field === "SeedShares[0].EncryptedSeed",
  );
  await assert.rejects(
    decryptSeedShare(doc, bob.keys.privateKey, bob.spki),
    (e) => e instanceof VerificationError && /no seed share/.test(e.message),
  );
});

Deno.test("a flipped ciphertext byte is rejected", async () => {
  const doc = await createSeedShares(SeedEngine.create(), [encodeHex(alice.spki)]);
  const ct = decodeHex(doc.SeedShares[0]!.EncryptedSeed);
  ct[10]! ^= 1;
  const tampered = {
    ...doc,
    SeedShares: [{ ...doc.SeedShares[0]!, EncryptedSeed: encodeHex(ct) }],
  };
  await assert.rejects(
    decryptSeedShare(tampered, alice.keys.privateKey, alice.spki),
    VerificationError,
  );
});

Deno.test("createSeedShares rejects a non-RSA owner key naming its index", async () => {
  const ec = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const ecHex = encodeHex(new Uint8Array(await crypto.subtle.exportKey("spki", ec.publicKey)));
  await assert.rejects(
    createSeedShares(SeedEngine.create(), [encodeHex(alice.spki), ecHex]),
    (e) => e instanceof ParseError && e.field === "SeedshareOwnerPubKeys[1]",
  );
});

Deno.test("parseSeedShares is strict and names every bad field", async () => {
  const doc = await createSeedShares(SeedEngine.create(), [encodeHex(alice.spki)]);
  const bad = (value: unknown) => {
    try {
      parseSeedShares(new TextEncoder().encode(JSON.stringify(value)));
    } catch (e) {
      assert.ok(e instanceof InvalidDocumentError);
      return e.issues.map((i) => `${i.path}: ${i.reason}`);
    }
    assert.fail("expected rejection");
  };
  assert.ok(bad({ ...doc, Extra: 1 }).some((i) => i.startsWith("Extra: unknown field")));
  assert.ok(bad({ ...doc, Salt: "00" }).some((i) => i.startsWith("Salt: expected 32 bytes")));
  assert.ok(bad({ Salt: doc.Salt, SeedShares: [] }).some((i) => i.startsWith("SeedShares:")));
  assert.ok(
    bad({ Salt: doc.Salt, SeedShares: [{ PublicKey: "zz", EncryptedSeed: "00" }] })
      .some((i) => i.startsWith("SeedShares[0].PublicKey")),
  );
  assert.ok(
    bad({ Salt: doc.Salt, SeedShares: [{ PublicKey: "3000", EncryptedSeed: "00" }] })
      .some((i) => i.startsWith("SeedShares[0].PublicKey: not a DER")),
  );
  assert.ok(
    bad({ Salt: doc.Salt, SeedShares: [{ ...doc.SeedShares[0], Note: "x" }] })
      .some((i) => i.startsWith("SeedShares[0].Note: unknown field")),
  );
  assert.ok(bad({ SeedShares: doc.SeedShares }).some((i) => i.startsWith("Salt: required")));
  assert.throws(() => parseSeedShares(new TextEncoder().encode("nope")), InvalidDocumentError);
});

Deno.test("importSeedshareOwnerPrivateKey rejects PEM without a private key, and non-RSA keys", async () => {
  await assert.rejects(importSeedshareOwnerPrivateKey("garbage"), (e) => e instanceof ParseError);
  const ec = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const pem = encodePem(
    "PRIVATE KEY",
    new Uint8Array(await crypto.subtle.exportKey("pkcs8", ec.privateKey)),
  );
  await assert.rejects(
    importSeedshareOwnerPrivateKey(pem),
    (e) => e instanceof ParseError && e.field === "seedshare-owner.pem",
  );
});
