/**
 * `plainTreeValue` (util/yaml/plain_tree.ts) against the `yaml` package's `toJS`: on every node of
 * generated documents (block and flow collections, keys of every scalar type, inherited names,
 * anchors, aliases, merge keys, tags, binary values, raw values set by code), of every YAML file
 * of the repository and of generate's output documents, its value is the package's exactly
 * (prototypes and own properties), or it declines.
 */
import assert from "node:assert/strict";
import { Document, isCollection, isPair, parseAllDocuments, YAMLMap, YAMLSeq } from "yaml";
import { parseYamlFile, YAML_OPTIONS } from "../../../deploy/documents.ts";
import { generate } from "../../../deploy/generate.ts";
import { benchDeployment } from "../../../testing/bench_workload.ts";
import { testGenerateOptions } from "../../deploy/generate_options.ts";
import { DECLINED, plainTreeValue } from "../../../util/yaml/plain_tree.ts";
import { mulberry32 as prng } from "../../../util/random/mulberry32.ts";

/** Every collection node of `doc` (the contents first). */
function collections(doc: Document): unknown[] {
  const out: unknown[] = [];
  const visit = (node: unknown) => {
    if (isPair(node)) {
      visit(node.key);
      visit(node.value);
    } else if (isCollection(node)) {
      out.push(node);
      for (const item of node.items) visit(item);
    }
  };
  visit(doc.contents);
  return out;
}

/** Compares on every collection of `doc`: "fast" and "declined" counts. */
function compareDoc(doc: Document, what: string, counts: { fast: number; declined: number }) {
  for (const node of collections(doc)) {
    const fast = plainTreeValue(node);
    if (fast === DECLINED) {
      counts.declined++;
      continue;
    }
    counts.fast++;
    const full = (node as YAMLMap).toJS(doc);
    assert.deepStrictEqual(fast, full, what);
  }
}

function compareText(text: string, counts: { fast: number; declined: number }) {
  for (const doc of parseAllDocuments(text, YAML_OPTIONS)) {
    if (doc.errors.length > 0) continue;
    compareDoc(doc, JSON.stringify(text), counts);
  }
}

const SCALARS = [
  "a",
  "1",
  "-0",
  "0x1F",
  "1.5",
  ".inf",
  "~",
  "null",
  "yes",
  "Off",
  "true",
  "2001-12-14",
  "2001-12-14t21:59:43.10-05:00",
  '"q"',
  "'s'",
  '""',
  "!!binary aGVsbG8=",
  "!!str 1",
  "!!int '7'",
  "12345678901234567890",
  "a b",
];
const KEYS = [
  "a",
  "b",
  "1",
  "~",
  "null",
  "true",
  "1.5",
  "__proto__",
  "toString",
  "constructor",
  '"<<"',
  "<<",
  "'x'",
  "? [a, b]",
  "? {k: v}",
  "2001-12-14",
  "!!binary aGk=",
];

function randomText(random: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  let anchors = 0;
  const value = (depth: number): string => {
    const r = random();
    if (depth > 2 || r < 0.4) {
      if (anchors > 0 && random() < 0.05) return `*a${Math.floor(random() * anchors)}`;
      return pick(SCALARS);
    }
    const anchor = random() < 0.1 ? `&a${anchors++} ` : "";
    const tag = random() < 0.05 ? pick(["!!omap ", "!!set ", "!!pairs ", "!!map ", "!!seq "]) : "";
    const n = Math.floor(random() * 4);
    if (r < 0.65) {
      const items = Array.from(
        { length: n },
        () => random() < 0.1 ? `${pick(KEYS.slice(0, 6))}: ${value(depth + 1)}` : value(depth + 1),
      );
      return `${anchor}${tag}[${items.join(", ")}]`;
    }
    const items = Array.from({ length: n }, () => {
      const key = pick(KEYS);
      return key.startsWith("?") ? `${key} : ${value(depth + 1)}` : `${key}: ${value(depth + 1)}`;
    });
    return `${anchor}${tag}{${items.join(", ")}}`;
  };
  return Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
    anchors = 0;
    const keys = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, i) => `k${i}`);
    return keys.map((k) => `${k}: ${value(0)}`).join("\n");
  }).join("\n---\n") + "\n";
}

Deno.test("plainTreeValue is toJS's value on every node of generated documents, or declines", () => {
  const random = prng(0x70_1a_1e);
  const counts = { fast: 0, declined: 0 };
  for (let i = 0; i < 3000; i++) compareText(randomText(random), counts);
  console.log(`generated documents' collections: ${JSON.stringify(counts)}`);
  assert.ok(counts.fast >= 3000 && counts.declined >= 300, JSON.stringify(counts));
});

Deno.test("plainTreeValue declines aliases, merge keys, tagged collections, collection keys", () => {
  const declined = [
    "a: &x {b: 1}\nc: *x\n",
    "a: {b: 1}\n<<: {c: 2}\n",
    "a: !!omap [b: 1]\n",
    "a: !!set {b: null}\n",
    "? [a]\n: b\n",
  ];
  for (const text of declined) {
    const doc = parseAllDocuments(text, YAML_OPTIONS)[0] as Document;
    assert.equal(doc.errors.length, 0, text);
    assert.equal(plainTreeValue(doc.contents), DECLINED, text);
  }
});

Deno.test("plainTreeValue reads raw values set by code as toJS does", () => {
  const doc = new Document({ a: 1 }, YAML_OPTIONS);
  const map = doc.contents as YAMLMap;
  map.set("raw", "text");
  map.set("list", ["x", 2, null]);
  map.set(7, true);
  map.set(null, "empty key");
  map.set("bytes", new Uint8Array([1, 2]));
  map.set("__proto__", { polluted: true });
  map.set("seq", new YAMLSeq());
  map.set("toString", "own");
  map.set("constructor", 1);
  // The same key twice (code can add pairs a parser refuses): the last value, as toJS gives it.
  map.items.push(doc.createPair("raw", "again"));
  map.items.push(doc.createPair("toString", "again"));
  const fast = plainTreeValue(map);
  assert.notEqual(fast, DECLINED);
  assert.deepStrictEqual(fast, map.toJS(doc));
  assert.deepStrictEqual(Object.keys(fast as object), Object.keys(map.toJS(doc)));
  assert.equal(Object.getPrototypeOf(fast), Object.prototype);
  map.set("dated", new Date(0));
  assert.equal(plainTreeValue(map), DECLINED);
});

Deno.test("plainTreeValue is toJS's value on every YAML file of the repository", async () => {
  const root = new URL("../../../", import.meta.url).pathname.replace(/\/$/, "");
  const counts = { fast: 0, declined: 0 };
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (/\.ya?ml$/.test(entry.name)) compareText(await Deno.readTextFile(path), counts);
    }
  };
  await walk(root);
  console.log(`repository YAML collections: ${JSON.stringify(counts)}`);
  assert.ok(counts.fast > 100, JSON.stringify(counts));
});

Deno.test("plainTreeValue takes generate's output documents (injected nodes too) and is toJS's value", async () => {
  const text = [0, 1, 2].map((i) => benchDeployment(i, "127.0.0.1:5000/web:1.0")).join("---\n");
  const file = parseYamlFile("bench.yml", text);
  await generate([file], await testGenerateOptions());
  const counts = { fast: 0, declined: 0 };
  for (const doc of file.docs) {
    assert.notEqual(plainTreeValue(doc.contents), DECLINED);
    compareDoc(doc, "generated pod", counts);
  }
  assert.equal(counts.declined, 0);
});
