/** The byte-wise TOML escape and measure agree with the string functions on every kind of text. */
import assert from "node:assert/strict";
import {
  escapeAndMeasureTomlMultiline,
  escapeTomlPiece,
  joinEscapedPieces,
} from "../../policy/toml_multiline_bytes.ts";
import { escapeTomlMultiline } from "../../policy/initdata.ts";
import { measurePolicyText } from "../../policy/agent_limits.ts";

const encoder = new TextEncoder();

const texts = [
  "",
  "\n",
  "no newline at the end",
  'policy_data := {\n  "a": "b\\\\c"\n}\n',
  "tab\there, CR\r\nNUL \u0000 BEL \u0007 VT \u000b US \u001f DEL \u007f end\n",
  "ü€🚀 \u0080\u009f (C1 controls are multi-byte and kept)\n",
  "\n\nlonger second line\nx\n",
  "DEL at the end \u007f",
  "\u007f".repeat(1000) + "\\" + '"'.repeat(3),
];

Deno.test("escapes and measures like escapeTomlMultiline + UTF-8 + measurePolicyText", () => {
  const suffix = encoder.encode('"""\n');
  for (const text of texts) {
    const { bytes, size } = escapeAndMeasureTomlMultiline(encoder.encode(text), suffix);
    assert.deepEqual(bytes, encoder.encode(`${escapeTomlMultiline(text)}"""\n`), text);
    assert.deepEqual(size, measurePolicyText(text), text);
  }
});

Deno.test("an empty suffix adds nothing", () => {
  const { bytes } = escapeAndMeasureTomlMultiline(encoder.encode('a"b'), new Uint8Array());
  assert.equal(new TextDecoder().decode(bytes), 'a\\"b');
});

Deno.test("pieces escaped apart and joined give the whole text's bytes and measure", () => {
  const suffix = encoder.encode('"""\n');
  const more = ["a\nbb\nccc\n", "x\n\n\nlongest line here\nshort\nlongest line here\n", "\n\n"];
  for (const text of [...texts, ...more]) {
    const utf8 = encoder.encode(text);
    const whole = escapeAndMeasureTomlMultiline(utf8, suffix);
    const n = Math.min(utf8.length, 60);
    // Every way of cutting the (first 60 bytes of the) text in two and in three places.
    for (let i = 0; i <= n; i++) {
      for (let j = i; j <= n; j += 3) {
        const cuts = [0, i, j, utf8.length];
        const pieces = cuts.slice(1).map((end, k) => escapeTomlPiece(utf8.subarray(cuts[k], end)));
        const joined = joinEscapedPieces(pieces, suffix);
        assert.deepEqual(joined.bytes, whole.bytes, `${JSON.stringify(text)} cut at ${i}, ${j}`);
        assert.deepEqual(joined.size, whole.size, `${JSON.stringify(text)} cut at ${i}, ${j}`);
      }
    }
  }
});
