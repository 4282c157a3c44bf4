import assert from "node:assert/strict";
import { ParseError, VerificationError } from "../../util/errors/mod.ts";
import { HpkeRecipient, sealedBoxFromJson, sealedBoxToJson, sealTo } from "../../protocol/hpke.ts";

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
