/**
 * The policy data line writer gives exactly the bytes and measure of JSON.stringify(value, null,
 * 2), UTF-8 encoding and the TOML escape (`escapeAndMeasureTomlMultiline`), on random data with
 * every kind of character, on generate's own policy data, and hands back what is not plain data.
 */
import assert from "node:assert/strict";
import { TomlJsonLineWriter } from "../../policy/toml_json_line.ts";
import { escapeAndMeasureTomlMultiline } from "../../policy/toml_multiline_bytes.ts";
import { POLICY_DATA_PREFIX } from "../../policy/initdata.ts";
import { fixturePolicyData } from "../../testing/policy/check_fixture.ts";

const encoder = new TextEncoder();
const SUFFIX = encoder.encode('"""\n');

/** What the string path gives: stringify, encode, escape and measure. */
function expected(prefix: string, value: unknown, suffix = SUFFIX) {
  const text = `${prefix}${JSON.stringify(value, null, 2)}\n`;
  return escapeAndMeasureTomlMultiline(encoder.encode(text), suffix);
}

function assertSame(writer: TomlJsonLineWriter, prefix: string, value: unknown, what: string) {
  const got = writer.write(prefix, value, SUFFIX);
  assert.ok(got, `${what}: written`);
  const want = expected(prefix, value);
  assert.deepEqual(got.size, want.size, `${what}: size`);
  if (got.bytes.length !== want.bytes.length || !got.bytes.every((b, i) => b === want.bytes[i])) {
    const d = new TextDecoder();
    assert.equal(d.decode(got.bytes), d.decode(want.bytes), `${what}: bytes`);
    assert.fail(`${what}: bytes differ`);
  }
}

/** Deterministic pseudo-random numbers (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

const CHARS = [
  "a",
  "Z",
  "0",
  " ",
  "/",
  "^",
  "$",
  "-",
  ".",
  "*",
  "[",
  "]",
  "{",
  "}",
  ":",
  ",",
  "=",
  '"',
  "\\",
  "\n",
  "\t",
  "\r",
  "\b",
  "\f",
  "\u0000",
  "\u0001",
  "\u001f",
  "\u007f",
  "\u0080",
  "\u009f",
  "é",
  "€",
  "\u2028",
  "\u2029",
  "\ufeff",
  "\uffff",
  "🚀",
  "\ud800",
  "\udfff",
  "\udc00\ud800",
  "'''",
  '"""',
];

function randomString(r: () => number): string {
  const n = Math.floor(r() * 12);
  let s = "";
  for (let i = 0; i < n; i++) {
    s += r() < 0.6 ? "abcdefghij"[Math.floor(r() * 10)] : CHARS[Math.floor(r() * CHARS.length)];
  }
  return s;
}

function randomValue(r: () => number, depth: number): unknown {
  const k = r();
  if (depth > 4 || k < 0.35) {
    const p = r();
    if (p < 0.4) return randomString(r);
    if (p < 0.55) return Math.floor(r() * 2000) - 1000;
    if (p < 0.62) {
      return [
        0.5,
        -0,
        1e21,
        1e-7,
        -1.5e300,
        NaN,
        Infinity,
        -Infinity,
        2 ** 53,
      ][Math.floor(r() * 9)];
    }
    if (p < 0.72) return r() < 0.5;
    if (p < 0.8) return null;
    if (p < 0.86) return undefined;
    if (p < 0.9) return () => 1;
    return Symbol("s");
  }
  if (k < 0.65) return Array.from({ length: Math.floor(r() * 5) }, () => randomValue(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 5); i > 0; i--) {
    o[r() < 0.15 ? String(Math.floor(r() * 20)) : randomString(r)] = randomValue(r, depth + 1);
  }
  return o;
}

Deno.test("random data with every kind of character: the string path's bytes and measure", () => {
  const writer = new TomlJsonLineWriter();
  const r = rng(18);
  for (let i = 0; i < 3000; i++) {
    const value = [randomValue(r, 0), { v: randomValue(r, 0) }][i % 2];
    if (typeof value !== "object" || value === null) continue;
    assertSame(writer, POLICY_DATA_PREFIX, value, `case ${i}`);
  }
});

Deno.test("edge shapes: empty, nested empty, holes, long lines, odd prefixes", () => {
  const writer = new TomlJsonLineWriter();
  // deno-lint-ignore no-sparse-arrays
  const holes = [1, , 3];
  const cases: [string, unknown][] = [
    ["", {}],
    ["", []],
    ["x := ", { a: {}, b: [], c: [[]], d: [{}], e: { f: { g: [] } } }],
    ["x := ", holes],
    ["x := ", { long: "y".repeat(100_000), after: ["z"] }],
    ['pre"fix\\ \t\u0001\u007f é\ud800 := ', { a: 1 }],
    ["two\nlines := ", { a: [1, 2] }],
    ["x := ", Object.assign(Object.create(null), { a: 1 })],
    ["x := ", { 2: "b", 1: "a", z: 0, "-1": "m" }],
    ["x := ", new Map([["a", 1]])],
    ["x := ", { u: new Uint8Array([1, 2]) }],
    ["x := ", {
      get g() {
        return "got";
      },
    }],
  ];
  for (const [prefix, value] of cases) assertSame(writer, prefix, value, JSON.stringify(prefix));
});

Deno.test("one writer across values of every size gives each the string path's bytes", () => {
  const writer = new TomlJsonLineWriter();
  const values = [{ a: "x".repeat(200_000) }, { b: 1 }, { c: ["é".repeat(70_000)] }, {}];
  for (const [i, value] of [...values, ...values].entries()) {
    assertSame(writer, POLICY_DATA_PREFIX, value, `value ${i}`);
  }
});

/** A copy of `value` with the same structure (no object shared with it). */
function copyOf<T>(value: T): T {
  if (Array.isArray(value)) return value.map(copyOf) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copyOf(v)])) as T;
  }
  return value;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

Deno.test("values that recur (the same object or array, frozen or not, at any depth): the string path's bytes and measure", () => {
  const writer = new TomlJsonLineWriter();
  const r = rng(7);
  // Parts long enough to be remembered (with line breaks and escapes in them), some deeply
  // frozen, some frozen only on the outside, some not frozen.
  const part = () => ({
    text: `${"p".repeat(Math.floor(r() * 90))}"\\é\n`,
    list: [randomString(r), [randomString(r), { x: randomString(r) }]],
    more: randomValue(r, 2),
  });
  const frozen = Array.from({ length: 6 }, () => deepFreeze(part()));
  const shallow = Array.from({ length: 6 }, () => Object.freeze([part(), part()]));
  const open = Array.from({ length: 6 }, () => [part(), { inner: part() }]);
  const pool: unknown[] = [...frozen, ...shallow, ...open];
  const pick = () => pool[Math.floor(r() * pool.length)];
  for (let i = 0; i < 600; i++) {
    // The same parts in several places and depths of one value, and across values.
    const value = {
      a: pick(),
      b: [pick(), { c: pick(), d: [[pick()]] }, pick()],
      e: r() < 0.5 ? pick() : randomValue(r, 1),
      long: r() < 0.1 ? "L".repeat(300) : "",
    };
    assertSame(writer, POLICY_DATA_PREFIX, value, `case ${i}`);
    // What is not frozen changes between values: its new text must be written.
    const changed = open[i % open.length] as [ReturnType<typeof part>, { inner: unknown }];
    changed[0].text += "+";
    changed[1].inner = part();
    if (i % 3 === 0) (changed as unknown[]).push(randomString(r));
    const inShallow = shallow[i % shallow.length]![0]!;
    inShallow.list = [randomString(r)];
  }
  // A value and its structural copy give the same text (nothing is remembered by content).
  for (const value of [...frozen, ...shallow, ...open]) {
    const twice = { x: value, y: [value], z: copyOf(value) };
    assertSame(writer, POLICY_DATA_PREFIX, twice, "value, value, copy");
  }
});

Deno.test("generate's policy data: the string path's bytes and measure", async () => {
  const writer = new TomlJsonLineWriter();
  const data = await fixturePolicyData();
  assertSame(writer, POLICY_DATA_PREFIX, data, "fixture policy data");
});

Deno.test("what is not plain data is handed back to the string path", () => {
  const writer = new TomlJsonLineWriter();
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  let deep: unknown = {};
  for (let i = 0; i < 500; i++) deep = [deep];
  for (
    const value of [
      { at: new Date(0) },
      { toJSON: () => "x" },
      { n: new Number(1) },
      { s: new String("s") },
      { b: new Boolean(false) },
      { big: 1n },
      cyclic,
      deep,
      "a string",
      7,
      null,
      undefined,
    ]
  ) assert.equal(writer.write(POLICY_DATA_PREFIX, value, SUFFIX), undefined);
  // After a refusal the next plain value is written whole.
  assertSame(writer, POLICY_DATA_PREFIX, { a: ["b"] }, "after a refusal");
});
