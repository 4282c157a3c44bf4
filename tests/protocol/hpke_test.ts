import assert from "node:assert/strict";
import { ParseError, VerificationError } from "../../util/errors/mod.ts";
import { Aes128Gcm, Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import { decodeHex, encodeHex } from "../../util/bytes/mod.ts";
import {
  HpkeRecipient,
  NobleDhkemX25519HkdfSha256,
  NobleHkdfSha256,
  sealedBoxFromJson,
  sealedBoxToJson,
  sealTo,
} from "../../protocol/hpke.ts";

const aad = new TextEncoder().encode("context");
const secret = new TextEncoder().encode("the workload secret");

Deno.test("a box sealed to a key opens with that key", async () => {
  const r = await HpkeRecipient.generate();
  const box = await sealTo(r.publicKey, secret, "purpose", aad);
  assert.deepEqual(await r.open(box, "purpose", aad), secret);
  const json = sealedBoxToJson(box);
  assert.deepEqual(await r.open(sealedBoxFromJson(json, "b"), "purpose", aad), secret);
});

Deno.test("rejects opening with another key", async () => {
  const r = await HpkeRecipient.generate();
  const other = await HpkeRecipient.generate();
  const box = await sealTo(r.publicKey, secret, "purpose", aad);
  await assert.rejects(other.open(box, "purpose", aad), VerificationError);
});

Deno.test("rejects a box whose ciphertext was flipped", async () => {
  const r = await HpkeRecipient.generate();
  const box = await sealTo(r.publicKey, secret, "purpose", aad);
  const ct = box.ciphertext.slice();
  ct[0]! ^= 1;
  await assert.rejects(r.open({ ...box, ciphertext: ct }, "purpose", aad), VerificationError);
});

Deno.test("rejects a box opened for another purpose or context", async () => {
  const r = await HpkeRecipient.generate();
  const box = await sealTo(r.publicKey, secret, "purpose", aad);
  await assert.rejects(r.open(box, "other", aad), VerificationError);
  await assert.rejects(r.open(box, "purpose", new Uint8Array([1])), VerificationError);
});

Deno.test("rejects a malformed public key or box", async () => {
  await assert.rejects(sealTo(new Uint8Array(31), secret, "p", aad), ParseError);
  assert.throws(() => sealedBoxFromJson({ enc: 1, ciphertext: "" }, "box"), ParseError);
  assert.throws(() => sealedBoxFromJson({ enc: "", ciphertext: "", x: 1 }, "box"), ParseError);
  assert.throws(() => sealedBoxFromJson([], "box"), ParseError);
});

/** RFC 9180 appendix A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode. */
const RFC9180_A1 = {
  info: "4f6465206f6e2061204772656369616e2055726e",
  ikmE: "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234",
  ikmR: "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037",
  pkRm: "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
  enc: "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
  pt: "4265617574792069732074727574682c20747275746820626561757479",
  aad: "436f756e742d30",
  ct: "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a",
};

const bufferOf = (hex: string) => decodeHex(hex, "vector").slice().buffer;

Deno.test("the KEM and key schedule on NobleHkdfSha256 open RFC 9180's A.1.1 ciphertext", async () => {
  const suite = new CipherSuite({
    kem: new NobleDhkemX25519HkdfSha256(),
    kdf: new NobleHkdfSha256(),
    aead: new Aes128Gcm(),
  });
  const pair = await suite.kem.deriveKeyPair(bufferOf(RFC9180_A1.ikmR));
  assert.equal(
    encodeHex(new Uint8Array(await suite.kem.serializePublicKey(pair.publicKey))),
    RFC9180_A1.pkRm,
  );
  const ctx = await suite.createRecipientContext({
    recipientKey: pair,
    enc: bufferOf(RFC9180_A1.enc),
    info: bufferOf(RFC9180_A1.info),
  });
  const pt = await ctx.open(bufferOf(RFC9180_A1.ct), bufferOf(RFC9180_A1.aad));
  assert.equal(encodeHex(new Uint8Array(pt)), RFC9180_A1.pt);
  // One altered ciphertext byte must not open under the same schedule.
  const altered = decodeHex(RFC9180_A1.ct, "ct");
  altered[0]! ^= 1;
  const again = await suite.createRecipientContext({
    recipientKey: pair,
    enc: bufferOf(RFC9180_A1.enc),
    info: bufferOf(RFC9180_A1.info),
  });
  await assert.rejects(again.open(altered.buffer, bufferOf(RFC9180_A1.aad)));
});

Deno.test("NobleHkdfSha256 agrees with @hpke/core's WebCrypto HKDF both ways", async () => {
  const stock = new CipherSuite({
    kem: new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: new Aes256Gcm(),
  });
  // Sealed by this module (noble HKDF), opened by the stock suite.
  const pair = await stock.kem.generateKeyPair();
  const publicKey = new Uint8Array(await stock.kem.serializePublicKey(pair.publicKey));
  const secret = crypto.getRandomValues(new Uint8Array(32));
  const aad = crypto.getRandomValues(new Uint8Array(32));
  const box = await sealTo(publicKey, secret, "contrast/test", aad);
  const opener = await stock.createRecipientContext({
    recipientKey: pair,
    enc: box.enc.slice().buffer,
    info: new TextEncoder().encode("contrast/test").buffer,
  });
  assert.deepEqual(
    new Uint8Array(await opener.open(box.ciphertext.slice().buffer, aad.slice().buffer)),
    secret,
  );
  // Sealed by the stock suite, opened by this module.
  const recipient = await HpkeRecipient.generate();
  const sender = await stock.createSenderContext({
    recipientPublicKey: await stock.kem.deserializePublicKey(recipient.publicKey.slice().buffer),
    info: new TextEncoder().encode("contrast/test").buffer,
  });
  const ciphertext = new Uint8Array(await sender.seal(secret.slice().buffer, aad.slice().buffer));
  assert.deepEqual(
    await recipient.open({ enc: new Uint8Array(sender.enc), ciphertext }, "contrast/test", aad),
    secret,
  );
});

Deno.test("NobleHkdfSha256 refuses a salt that is neither empty nor the hash size", async () => {
  const kdf = new NobleHkdfSha256();
  await assert.rejects(kdf.extract(new Uint8Array(31), new Uint8Array(32)), RangeError);
  assert.equal((await kdf.extract(new Uint8Array(0), new Uint8Array(32))).byteLength, 32);
});

Deno.test("the sender side on node:crypto X25519 seals RFC 9180's A.1.1 ciphertext exactly", async () => {
  const suite = new CipherSuite({
    kem: new NobleDhkemX25519HkdfSha256(),
    kdf: new NobleHkdfSha256(),
    aead: new Aes128Gcm(),
  });
  const sender = await suite.createSenderContext({
    recipientPublicKey: await suite.kem.deserializePublicKey(bufferOf(RFC9180_A1.pkRm)),
    info: bufferOf(RFC9180_A1.info),
    ekm: bufferOf(RFC9180_A1.ikmE),
  });
  assert.equal(encodeHex(new Uint8Array(sender.enc)), RFC9180_A1.enc);
  const ct = await sender.seal(bufferOf(RFC9180_A1.pt), bufferOf(RFC9180_A1.aad));
  assert.equal(encodeHex(new Uint8Array(ct)), RFC9180_A1.ct);
});

Deno.test("refuses to seal to a low-order X25519 point (all-zero shared secret)", async () => {
  // u = 0 and u = 1 are points of small order: X25519 with either gives 32 zero bytes.
  for (const u of [0, 1]) {
    const point = new Uint8Array(32);
    point[0] = u;
    await assert.rejects(
      sealTo(point, secret, "p", aad),
      (e: unknown) =>
        e instanceof ParseError && e.field === "hpkePublicKey" && /low order/.test(e.message),
    );
  }
});
