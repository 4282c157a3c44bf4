import assert from "node:assert/strict";
import { utf8Length, writeUtf8 } from "../../../util/bytes/utf8.ts";

Deno.test("utf8Length and writeUtf8 agree with TextEncoder, lone surrogates as U+FFFD", () => {
  const alphabet = ["a", "\u0000", "\u007f", "\u0080", "ü", "\u07ff", "\u0800", "€", "\uffff"]
    .concat(["😀", "\ud800", "\udbff", "\udc00", "\udfff"]);
  let seed = 3;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let round = 0; round < 2000; round++) {
    const text = Array.from({ length: next(12) }, () => alphabet[next(alphabet.length)]).join("");
    const expected = new TextEncoder().encode(text);
    assert.equal(utf8Length(text), expected.length, JSON.stringify(text));
    const out = new Uint8Array(expected.length + 4).fill(0xee);
    assert.equal(writeUtf8(text, out, 2, expected.length), 2 + expected.length);
    assert.deepEqual(out.subarray(2, 2 + expected.length), expected);
    assert.deepEqual([...out.subarray(0, 2), ...out.subarray(2 + expected.length)], [
      0xee,
      0xee,
      0xee,
      0xee,
    ]);
  }
});

Deno.test("writeUtf8 refuses a wrong length or a short output", () => {
  assert.throws(() => writeUtf8("ü", new Uint8Array(8), 0, 1), RangeError);
  assert.throws(() => writeUtf8("ü", new Uint8Array(8), 0, 3), RangeError);
  assert.throws(() => writeUtf8("üa", new Uint8Array(8), 0, 2), RangeError);
  assert.throws(() => writeUtf8("abc", new Uint8Array(2), 0, 3), RangeError);
});
