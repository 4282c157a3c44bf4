import assert from "node:assert/strict";
import { prettyJsonTomlLine } from "../../policy/pretty_json_toml_bytes.ts";
import { escapeAndMeasureTomlMultiline } from "../../policy/toml_multiline_bytes.ts";
import { POLICY_DATA_PREFIX } from "../../policy/initdata.ts";

const enc = new TextEncoder();
const PREFIX = enc.encode(POLICY_DATA_PREFIX);
const SUFFIX = enc.encode(`"""\n`);

/** What the pass must give: the pretty JSON line, escaped and measured by the reference pass. */
function expected(value: unknown) {
  const line = enc.encode(`${POLICY_DATA_PREFIX}${JSON.stringify(value, null, 2)}\n`);
  return escapeAndMeasureTomlMultiline(line, SUFFIX);
}

function actual(value: unknown, scratch = new Uint8Array(0)) {
  const line = prettyJsonTomlLine(PREFIX, enc.encode(JSON.stringify(value)), SUFFIX, scratch);
  return { bytes: line.bytes.slice(), size: line.size };
}

/** A deterministic pseudo-random generator (xorshift32). */
function random(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

const PIECES = [
  "a",
  "key",
  "",
  " ",
  '"',
  "\\",
  '\\\\"',
  "\n",
  "\t",
  "\r",
  "\u0000",
  "\u001f",
  "\u007f",
  "\u0080",
  "\u009f",
  "é",
  "€",
  "😀",
  "\ud800",
  "\udfff",
  "\u2028",
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  '": "',
  "policy_data := ",
  '"""',
  "\\u0041",
];

function randomString(next: () => number): string {
  let s = "";
  const n = Math.floor(next() * 5);
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(next() * PIECES.length)]!;
  return s;
}

function randomValue(next: () => number, depth: number): unknown {
  const r = next();
  if (depth > 5 || r < 0.35) {
    const kind = Math.floor(next() * 7);
    if (kind === 0) return randomString(next);
    if (kind === 1) return Math.floor(next() * 2000) - 1000;
    if (kind === 2) return (next() - 0.5) * 10 ** Math.floor(next() * 60 - 30);
    if (kind === 3) return next() < 0.5;
    if (kind === 4) return null;
    if (kind === 5) return undefined; // left out of objects, null in arrays
    return randomString(next);
  }
  const size = Math.floor(next() * 4);
  if (r < 0.65) return Array.from({ length: size }, () => randomValue(next, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = 0; i < size; i++) o[randomString(next)] = randomValue(next, depth + 1);
  return o;
}

Deno.test("the line from compact JSON is the escaped, measured line of JSON.stringify(v, null, 2)", () => {
  const next = random(18);
  for (let i = 0; i < 5000; i++) {
    const value = randomValue(next, 0);
    if (JSON.stringify(value) === undefined) continue;
    assert.deepEqual(actual(value), expected(value), JSON.stringify(value));
  }
});

Deno.test("hand-picked values: empty and nested collections, escapes, DEL, primitives", () => {
  const values: unknown[] = [
    {},
    [],
    [[]],
    { a: {} },
    { a: [], b: [{}], c: [[[]]] },
    [1, "x", true, null, { "k:": ["v,", "{", "]"] }],
    { "\u007f": "\u007f\u007f", '"q"': "back\\slash", nl: "line\nbreak", ctl: "\u0001" },
    { emoji: "😀", lone: "\ud83d", both: "\udc00\ud83d" },
    "top-level string \u007f",
    12.5e-300,
    -0,
    true,
    null,
    { toJSON: () => ({ replaced: [1, 2] }) },
  ];
  for (const value of values) assert.deepEqual(actual(value), expected(value));
});

Deno.test("a deep or wide value grows a small scratch buffer; a large scratch is written in place", () => {
  let deep: unknown = "leaf";
  for (let i = 0; i < 300; i++) deep = i % 2 ? [deep, {}] : { k: deep };
  assert.deepEqual(actual(deep, new Uint8Array(4)), expected(deep));
  const wide = Array.from({ length: 3000 }, (_, i) => ({ i, s: "\u007f".repeat(i % 5) }));
  assert.deepEqual(actual(wide, new Uint8Array(16)), expected(wide));
  const scratch = new Uint8Array(1 << 20);
  const line = prettyJsonTomlLine(PREFIX, enc.encode(JSON.stringify(wide)), SUFFIX, scratch);
  assert.equal(line.buffer, scratch);
  assert.equal(line.bytes.buffer, scratch.buffer);
});

Deno.test("input that is not compact JSON (unbalanced) is refused", () => {
  for (const bad of ["{", "]", '{"a":1}}', '"open']) {
    assert.throws(
      () => prettyJsonTomlLine(PREFIX, enc.encode(bad), SUFFIX, new Uint8Array(0)),
      RangeError,
    );
  }
});
