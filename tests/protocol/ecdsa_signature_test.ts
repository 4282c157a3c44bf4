import assert from "node:assert/strict";
import { ParseError } from "../../util/errors/mod.ts";
import { ecdsaSignatureToP1363 } from "../../protocol/ecdsa_signature.ts";

const der = (r: number[], s: number[]) =>
  new Uint8Array([0x30, 4 + r.length + s.length, 0x02, r.length, ...r, 0x02, s.length, ...s]);

Deno.test("ECDSA DER → P1363: left-pads r and s, strips the sign byte", () => {
  const p = ecdsaSignatureToP1363(der([0x00, 0x80, 0x01], [0x05]), "P-256");
  assert.equal(p.length, 64);
  assert.deepEqual([...p.subarray(30, 32)], [0x80, 0x01]);
  assert.equal(p[63], 0x05);
  assert.ok(p.subarray(0, 30).every((b) => b === 0));
});

Deno.test("ECDSA raw P1363 of the curve's length passes through; other lengths refused", () => {
  const raw = crypto.getRandomValues(new Uint8Array(96));
  raw[0] = 0x01; // not a DER SEQUENCE
  assert.deepEqual(ecdsaSignatureToP1363(raw, "P-384"), raw);
  assert.throws(() => ecdsaSignatureToP1363(raw, "P-256"), ParseError);
});

Deno.test("ECDSA DER refused: non-minimal, negative or zero integers, too long for the curve", () => {
  for (
    const bad of [
      der([0x00, 0x01], [0x01]),
      der([0x80], [0x01]),
      der([0x00], [0x01]),
      der(new Array(33).fill(0x7f), [0x01]),
    ]
  ) {
    assert.throws(() => ecdsaSignatureToP1363(bad, "P-256", "sig"), ParseError);
  }
});
