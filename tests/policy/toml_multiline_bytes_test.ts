/** The byte-wise TOML escape and measure agree with the string functions on every kind of text. */
import assert from "node:assert/strict";
import { escapeAndMeasureTomlMultiline } from "../../policy/toml_multiline_bytes.ts";
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

Deno.test("a scratch buffer gives the same bytes, copied out of it", () => {
  const suffix = encoder.encode('"""\n');
  const scratch = new Uint8Array(200_000).fill(0x41); // dirty, as after an earlier pod
  for (const text of texts) {
    const expected = escapeAndMeasureTomlMultiline(encoder.encode(text), suffix);
    const got = escapeAndMeasureTomlMultiline(encoder.encode(text), suffix, scratch);
    const small = escapeAndMeasureTomlMultiline(encoder.encode(text), suffix, new Uint8Array(1));
    assert.deepEqual(got, expected, text);
    assert.deepEqual(small, expected, text);
    scratch.fill(0x42);
    assert.deepEqual(got.bytes, expected.bytes, "not a view of the scratch buffer");
  }
});
