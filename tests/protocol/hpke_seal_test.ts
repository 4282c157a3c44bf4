import assert from "node:assert/strict";
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import { decodeHex, encodeHex } from "../../util/bytes/mod.ts";
import { InvalidPublicKeyError, LowOrderPointError, sealBase } from "../../protocol/hpke_seal.ts";
import { HpkeRecipient } from "../../protocol/hpke.ts";
import { sealBaseFromIkm } from "../../testing/hpke_seal_vectors.ts";

const hex = (h: string) => decodeHex(h, "vector");

/** RFC 9180 appendix A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode. */
const A1 = {
  info: "4f6465206f6e2061204772656369616e2055726e",
  ikmE: "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234",
  pkRm: "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
  enc: "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
  pt: "4265617574792069732074727574682c20747275746820626561757479",
  aad: "436f756e742d30",
  ct: "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a",
};

Deno.test("the seal construction reproduces RFC 9180 A.1.1's enc and first ciphertext byte for byte", () => {
  const box = sealBaseFromIkm({
    recipientPublicKey: hex(A1.pkRm),
    info: hex(A1.info),
    aad: hex(A1.aad),
    plaintext: hex(A1.pt),
    aead: "aes-128-gcm",
  }, hex(A1.ikmE));
  assert.equal(encodeHex(box.enc), A1.enc);
  assert.equal(encodeHex(box.ciphertext), A1.ct);
});

const stock = new CipherSuite({
  kem: new DhkemX25519HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: new Aes256Gcm(),
});

Deno.test("the seal construction with AES-256-GCM equals @hpke/core's sender with the same ephemeral key", async () => {
  const recipient = await HpkeRecipient.generate();
  const ikm = crypto.getRandomValues(new Uint8Array(32));
  const info = new TextEncoder().encode("contrast/workload-secret/v1");
  const aad = crypto.getRandomValues(new Uint8Array(32));
  const plaintext = crypto.getRandomValues(new Uint8Array(32));
  const sender = await stock.createSenderContext({
    recipientPublicKey: await stock.kem.deserializePublicKey(recipient.publicKey.slice().buffer),
    info: info.slice().buffer,
    ekm: ikm.slice().buffer,
  });
  const expected = new Uint8Array(await sender.seal(plaintext.slice().buffer, aad.slice().buffer));
  const box = sealBaseFromIkm(
    { recipientPublicKey: recipient.publicKey, info, aad, plaintext },
    ikm,
  );
  assert.deepEqual(box.enc, new Uint8Array(sender.enc));
  assert.deepEqual(box.ciphertext, expected);
});

Deno.test("a box from sealBase opens with the stock suite and only under its info and aad", async () => {
  const pair = await stock.kem.generateKeyPair();
  const recipientPublicKey = new Uint8Array(await stock.kem.serializePublicKey(pair.publicKey));
  const info = new TextEncoder().encode("contrast/test");
  const aad = crypto.getRandomValues(new Uint8Array(32));
  const plaintext = crypto.getRandomValues(new Uint8Array(48));
  const box = sealBase({ recipientPublicKey, info, aad, plaintext });
  const open = async (openInfo: Uint8Array, openAad: Uint8Array) => {
    const ctx = await stock.createRecipientContext({
      recipientKey: pair,
      enc: box.enc.slice().buffer,
      info: openInfo.slice().buffer,
    });
    return new Uint8Array(await ctx.open(box.ciphertext.slice().buffer, openAad.slice().buffer));
  };
  assert.deepEqual(await open(info, aad), plaintext);
  await assert.rejects(open(new TextEncoder().encode("contrast/other"), aad));
  await assert.rejects(open(info, new Uint8Array(32)));
  // Two seals of the same message use fresh ephemeral keys.
  const again = sealBase({ recipientPublicKey, info, aad, plaintext });
  assert.notDeepEqual(again.enc, box.enc);
  assert.notDeepEqual(again.ciphertext, box.ciphertext);
});

Deno.test("sealBase refuses low-order points and keys that are not 32 bytes", () => {
  const seal = (recipientPublicKey: Uint8Array) =>
    sealBase({
      recipientPublicKey,
      info: new Uint8Array(0),
      aad: new Uint8Array(0),
      plaintext: new Uint8Array(1),
    });
  for (const u of [0, 1]) {
    const point = new Uint8Array(32);
    point[0] = u;
    assert.throws(() => seal(point), LowOrderPointError);
  }
  assert.throws(() => seal(new Uint8Array(31)), InvalidPublicKeyError);
  assert.throws(() => seal(new Uint8Array(33)), InvalidPublicKeyError);
});

Deno.test("the test-only deterministic seal refuses ephemeral IKM shorter than 32 bytes", () => {
  const input = {
    recipientPublicKey: hex(A1.pkRm),
    info: new Uint8Array(0),
    aad: new Uint8Array(0),
    plaintext: new Uint8Array(1),
  };
  for (const length of [0, 1, 16, 31]) {
    assert.throws(
      () => sealBaseFromIkm(input, new Uint8Array(length).fill(7)),
      (e: unknown) => e instanceof RangeError && /at least 32/.test(e.message),
    );
  }
  assert.equal(sealBaseFromIkm(input, new Uint8Array(32).fill(7)).enc.length, 32);
});

Deno.test("production sealBase offers no way to choose the ephemeral key", () => {
  const recipientPublicKey = hex(A1.pkRm);
  const seal = () =>
    sealBase({
      recipientPublicKey,
      info: hex(A1.info),
      aad: hex(A1.aad),
      plaintext: hex(A1.pt),
      aead: "aes-128-gcm",
      // An extra field from an untyped caller is ignored: the key stays fresh and random.
      ...({ ephemeralIkm: hex(A1.ikmE) } as Record<string, unknown>),
    });
  const box = seal();
  assert.notEqual(encodeHex(box.enc), A1.enc);
  assert.notDeepEqual(seal().enc, box.enc);
});

Deno.test("the key schedule's context is the info's own: eleven infos in turn and again in reverse, each equal to @hpke/core's", async () => {
  const recipient = await HpkeRecipient.generate();
  const aad = new Uint8Array(0);
  const plaintext = new TextEncoder().encode("secret");
  // Each info twice, two of them one byte apart: a context derived from anything but the info's
  // every byte (or kept from an earlier seal) gives another ciphertext.
  const infos = Array.from({ length: 10 }, (_, i) => new TextEncoder().encode(`purpose-${i}`));
  infos.push(new TextEncoder().encode("purpose-0\u0000"));
  for (const info of [...infos, ...infos.slice().reverse()]) {
    const ikm = crypto.getRandomValues(new Uint8Array(32));
    const sender = await stock.createSenderContext({
      recipientPublicKey: await stock.kem.deserializePublicKey(recipient.publicKey.slice().buffer),
      info: info.slice().buffer,
      ekm: ikm.slice().buffer,
    });
    const expected = new Uint8Array(
      await sender.seal(plaintext.slice().buffer, aad.slice().buffer),
    );
    const box = sealBaseFromIkm(
      { recipientPublicKey: recipient.publicKey, info, aad, plaintext },
      ikm,
    );
    assert.deepEqual(box.ciphertext, expected, new TextDecoder().decode(info));
  }
});
