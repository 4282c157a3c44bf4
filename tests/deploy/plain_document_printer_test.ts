import assert from "node:assert/strict";
import { Document, isMap, isScalar, isSeq, parseDocument, Scalar, visit } from "yaml";
import { parseYamlFile, stringifyOptionsFor, YAML_OPTIONS } from "../../deploy/documents.ts";
import { generate } from "../../deploy/generate.ts";
import {
  PlainStringCache,
  printPlainDocument,
  type PrintStyle,
} from "../../deploy/plain_document_printer.ts";
import type { ImageResolver, ResolvedImage } from "../../oci/types.ts";
import { IMAGES, MemoryResolver, testSettings } from "../policy/fixtures.ts";
import { benchDeployment } from "../../testing/bench_workload.ts";

const RULES = await Deno.readTextFile(new URL("../../rego/rules.rego", import.meta.url));

const STYLES: PrintStyle[] = [true, false].flatMap((indentSeq) =>
  [true, false].map((flowCollectionPadding) => ({
    lineWidth: 0,
    minContentWidth: Number.MAX_SAFE_INTEGER,
    indentSeq,
    flowCollectionPadding,
  }))
);

/**
 * Strings a YAML 1.1 reader (kubectl's) could read as something other than that string when
 * printed plain, and strings with characters that matter to YAML's syntax.
 */
const TRICKY = [
  ...["y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE"],
  ...["false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL"],
  ...["~", "", " ", "0", "-0", "+1", "007", "0755", "0o17", "0x1F", "0b101", "1_000", "1:20"],
  ...["190:20:30", "-1:30", "1.5", "1e3", "6.8523015e+5", ".5", "1.", ".inf", "-.Inf", ".NaN"],
  ...["2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "<<", "="],
  ...["- x", "-", "? x", "?", ": x", "a: b", "a:b", "a #b", "a#b", "#a", "a ", " a", "a:"],
  ...["&a", "*a", "!a", "!!str", "|", ">", "'a'", '"a"', "it's", 'say "hi"', `'"`, "%x"],
  ...["@a", "`a`", "[a]", "{a}", "a,b", "a]", "a}", "---", "--- x", "...", "a---", "...a"],
  ...["ünïcödé", "🚀", "a\u2028b", "a b", "sha256:" + "ab".repeat(32), "svc#8080#false"],
  ...["x".repeat(1100), "/app", "app=web", "127.0.0.1:5000/web@sha256:ab", "$(VAR)", "a\\b"],
  ...["a\nb", "tab\there", "ctl\u0001", "del\u007f", "nel\u0085", "lone\ud800"],
];

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRING_TYPES: (Scalar.Type | undefined)[] = [
  undefined,
  Scalar.PLAIN,
  Scalar.QUOTE_DOUBLE,
  Scalar.QUOTE_SINGLE,
];

/** A random document of maps, sequences (block and flow) and scalars of every kind. */
function randomDocument(random: () => number): Document {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  // The schema generate's documents have (they are parsed with YAML_OPTIONS).
  const doc = new Document(undefined, YAML_OPTIONS);
  const scalar = (): unknown => {
    const r = random();
    if (r < 0.7) {
      const s = doc.createNode(pick(TRICKY)) as Scalar;
      s.type = pick(STRING_TYPES);
      return random() < 0.2 ? s.value : s; // also plain values, as `map.set(key, "x")` leaves
    }
    if (r < 0.8) return pick([0, 1, -5, 8080, 2 ** 53, 1.5, -0]);
    if (r < 0.9) return pick([true, false]);
    return doc.createNode(pick([0, 7, true, null]));
  };
  const collection = (depth: number): unknown => {
    const n = Math.floor(random() * 4);
    const flow = random() < 0.3;
    if (random() < 0.5) {
      const map = doc.createNode({}) as import("yaml").YAMLMap;
      if (flow) map.flow = true;
      for (let i = 0; i < n; i++) {
        // Not "<<" as a key: the package makes a created "<<" key a merge key (its toJS merges
        // the value into the map), which is not a string key to print.
        const key = random() < 0.9 ? pick(TRICKY.filter((t) => t !== "<<")) : pick([1, 0, 42]);
        const keyNode = doc.createNode(key) as Scalar;
        if (typeof key === "string") keyNode.type = pick(STRING_TYPES);
        map.set(keyNode, depth > 0 && random() < 0.5 ? collection(depth - 1) : scalar());
      }
      return map;
    }
    const seq = doc.createNode([]) as import("yaml").YAMLSeq;
    if (flow) seq.flow = true;
    for (let i = 0; i < n; i++) {
      seq.items.push(depth > 0 && random() < 0.5 ? collection(depth - 1) : scalar());
    }
    return seq;
  };
  const root = doc.createNode({}) as import("yaml").YAMLMap;
  for (let i = 0; i < 1 + Math.floor(random() * 5); i++) {
    root.set(pick(TRICKY.filter((t) => t !== "<<")), collection(3));
  }
  doc.contents = root;
  return doc;
}

/**
 * Checks the printer against `doc.toString(style)`: the same text when it prints, and text that
 * a strict YAML 1.1 reader gives the document's data back from. Returns whether it printed.
 */
function assertPrintsAsPackage(
  doc: Document,
  style: PrintStyle,
  what: string,
  cache?: PlainStringCache,
): boolean {
  const ours = printPlainDocument(doc, style, true);
  if (ours === undefined) return false;
  assert.equal(ours, doc.toString(style), what);
  if (cache) {
    // With forms remembered from every document printed before (other styles and schemas).
    assert.equal(printPlainDocument(doc, style, true, cache), ours, `${what}: with the cache`);
  }
  const back = parseDocument(ours, { ...YAML_OPTIONS, strict: true, uniqueKeys: true });
  assert.deepEqual(back.errors, [], `${what}: ${ours}`);
  assert.deepEqual(back.toJS(), doc.toJS(), `${what}: read back`);
  return true;
}

Deno.test("plain document printer: the package's text for random documents of tricky strings", () => {
  const random = prng(18);
  const cache = new PlainStringCache();
  let printed = 0;
  let total = 0;
  for (let i = 0; i < 400; i++) {
    const doc = randomDocument(random);
    for (const style of STYLES) {
      total++;
      const what = `document ${i} ${JSON.stringify(style)}`;
      if (assertPrintsAsPackage(doc, style, what, cache)) printed++;
      // The same document as the package prints and reads it back: parsed nodes carry their
      // source, scalar styles and flow flags.
      let text: string;
      try {
        text = doc.toString(style);
      } catch {
        continue; // e.g. a lone surrogate the package cannot print
      }
      const parsed = parseDocument(text, YAML_OPTIONS);
      if (parsed.errors.length > 0) continue;
      total++;
      if (assertPrintsAsPackage(parsed, style, `reparsed ${i}: ${text}`, cache)) printed++;
    }
  }
  // Most documents are in the printer's subset; the rest (null values, multi-line strings,
  // control characters, floats) are printed by the package.
  assert.ok(printed > total / 4, `printed ${printed} of ${total}`);
});

Deno.test("plain document printer: one cache for documents of other schemas gives each the package's text", () => {
  const cache = new PlainStringCache();
  const style = STYLES[0]!;
  const words = ["yes", "on", "y", "0o17", "017", "1_000", "0x1F", ".inf", "~", "2001-12-14", "a"];
  const text = `${words.map((w, i) => `k${i}: ${JSON.stringify(w)}\n`).join("")}f: [${
    words.map((w) => JSON.stringify(w)).join(", ")
  }]\n`;
  const texts = new Set<string | undefined>();
  for (const version of ["1.1", "1.2", "1.1", "1.2"] as const) {
    for (const schema of version === "1.1" ? ["yaml-1.1"] : ["core", "json", "failsafe"]) {
      const doc = parseDocument(text, { version, schema } as Parameters<typeof parseDocument>[1]);
      if (doc.errors.length > 0) continue;
      // The values as plain strings, which each schema may or may not read as strings.
      visit(doc, {
        Scalar(_, node) {
          node.type = "PLAIN";
        },
      });
      const ours = printPlainDocument(doc, style, true, cache);
      assert.equal(ours, doc.toString(style), `${version} ${schema}`);
      texts.add(ours);
    }
  }
  // The schemas print some of the words differently (so nothing may be reused across them).
  assert.ok(texts.size > 1, [...texts].join("\n"));
});

Deno.test("plain document printer: declines what it does not print", () => {
  const style = STYLES[0]!;
  const declined = [
    "# a comment\na: b\n",
    "a: b # a comment\n",
    "a: b\n\nc: d\n",
    "a: &x b\nc: *x\n",
    "a: !!str b\n",
    "a: |\n  text\n",
    'a: "two\\nlines"\n',
    "a: null\n",
    "a:\n",
    "a: 1.5\n",
    "a: yes\n",
    "? [a]\n: b\n",
    "- a\n",
  ];
  for (const text of declined) {
    const doc = parseDocument(text, YAML_OPTIONS);
    assert.equal(printPlainDocument(doc, style, true), undefined, text);
  }
  const simple = parseDocument("a: b\n", YAML_OPTIONS);
  assert.equal(printPlainDocument(simple, style, false), undefined, "directives to print");
  assert.equal(printPlainDocument(simple, { ...style, lineWidth: 80 }, true), undefined);
  assert.equal(printPlainDocument(simple, style, true), "a: b\n");
  // Integers are read as go-yaml reads them (util/yaml/go_yaml_schema.ts) and printed in decimal.
  assert.equal(
    printPlainDocument(parseDocument("a: 0x1F\n", YAML_OPTIONS), style, true),
    "a: 31\n",
  );
  // A timestamp is text to go-yaml (decoded into interface{}), and so to generate: printed quoted.
  const date = parseDocument("a: 2001-12-14\n", YAML_OPTIONS);
  assert.equal(printPlainDocument(date, style, true), 'a: "2001-12-14"\n');
  assert.equal(date.toString(style), 'a: "2001-12-14"\n');
});

/** Resolves every image to a fixture image pinned under the reference's own name. */
function anyImageResolver(): ImageResolver {
  const base = IMAGES.get("127.0.0.1:5000/web:1.0")!;
  return {
    resolve(reference: string): Promise<ResolvedImage> {
      const name = reference.replace(/[:@][^/]*$/, "");
      return Promise.resolve({ ...base, pinned: `${name}@${base.digest}` });
    },
  };
}

async function generatedDocuments(paths: readonly string[], resolver: ImageResolver) {
  const files = paths.map((p) => parseYamlFile(p, Deno.readTextFileSync(p)));
  await generate(files, {
    settings: await testSettings(),
    resolver,
    rules: RULES,
    referenceValues: { snp: [], tdx: [] },
    workloadOwnerKeys: [],
    seedshareOwnerKeys: [],
  });
  return files;
}

Deno.test("plain document printer: the package's text for every generated example document", async () => {
  const dir = new URL("../../examples/emojivoto/", import.meta.url).pathname;
  const paths = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".yml"))
    .map((e) => `${dir}${e.name}`).sort();
  let printed = 0;
  for (const file of await generatedDocuments(paths, anyImageResolver())) {
    const style = stringifyOptionsFor(file.text);
    file.docs.forEach((doc, i) => {
      // Also without the comments, which the examples have and the printer declines.
      const bare = doc.clone();
      visit(bare, (_, node) => {
        if (isScalar(node) || isMap(node) || isSeq(node)) {
          node.comment = node.commentBefore = undefined;
          node.spaceBefore = false;
        }
      });
      bare.commentBefore = bare.comment = null;
      for (const d of [doc, bare]) {
        if (assertPrintsAsPackage(d, style, `${file.path}[${i}]`)) printed++;
      }
    });
  }
  assert.ok(printed >= paths.length, `printed ${printed}`);
});

Deno.test("plain document printer prints generate's benchmark-like pods (the fast path is taken)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "contrast-printer-" });
  try {
    const path = `${dir}/app.yml`;
    Deno.writeTextFileSync(
      path,
      [0, 1, 2].map((i) => benchDeployment(i, "127.0.0.1:5000/web:1.0")).join("---\n"),
    );
    const [file] = await generatedDocuments([path], new MemoryResolver());
    const style = stringifyOptionsFor(file!.text);
    file!.docs.forEach((doc, i) => {
      assert.ok(assertPrintsAsPackage(doc, style, `pod ${i}`), `pod ${i} not printed`);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
