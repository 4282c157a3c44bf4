/**
 * The fast reader of `util/yaml/plain_block_parser.ts` against the `yaml` package's
 * `parseAllDocuments` (the reader it stands in for): on every text it reads, every property of
 * every node, document, directive and option must be the package's; what it does not read falls
 * back to the package. Inputs: thousands of generated texts (inside and just outside the subset,
 * with YAML 1.1-ambiguous scalars), every scalar of the recorded go-yaml verdict tables in each
 * position, and every YAML file of the repository.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { parseYamlFile, YAML_OPTIONS } from "../../../deploy/documents.ts";
import { parsePlainDocuments } from "../../../util/yaml/plain_block_parser.ts";
import { benchDeployment } from "../../../testing/bench_workload.ts";
import { mulberry32 as prng } from "../../../util/random/mulberry32.ts";
import { describe } from "../../helpers/yaml_describe.ts";

/** "fast" when the reader read `text` exactly as the package does, "fallback" when it declined. */
function compare(text: string): "fast" | "fallback" {
  const fast = parsePlainDocuments(text, YAML_OPTIONS);
  if (fast === undefined) return "fallback";
  const full = parseAllDocuments(text, YAML_OPTIONS);
  assert.deepEqual(describe(fast), describe(full), `read differently: ${JSON.stringify(text)}`);
  return "fast";
}

const VERDICTS = JSON.parse(
  await Deno.readTextFile(new URL("../../deploy/go_yaml_verdicts.json", import.meta.url)),
) as { verdicts: { scalar: string }[] };
const CONTROL_VERDICTS = JSON.parse(
  await Deno.readTextFile(new URL("../../deploy/go_yaml_control_verdicts.json", import.meta.url)),
) as { verdicts: { scalar: string }[] };

/** Scalars written plain, quoted or odd: YAML 1.1-ambiguous ones and syntax characters. */
const SCALARS = [
  ...["y", "n", "yes", "No", "on", "OFF", "true", "False", "null", "~", "0", "-0", "+1", "007"],
  ...["0755", "0o17", "0x1F", "0b101", "1_000", "1:20", "-1:30", "1.5", "1e3", ".5", "1.", ".inf"],
  ...["-.Inf", ".NaN", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "=", "_", "e5", "0_"],
  ...["a", "svc-1", "metadata.name", "/app", "$(VAR)", "app=web", "a b", "host:5000/app:1"],
  ...["http://x/y", "a-b", "-a", "a.b.c", "(x)", "+x", "~x", "a:b", "sha256:ab12", "x".repeat(30)],
  ...['"a"', '"svc#8080#false"', '"a: b"', '"[x]"', "'a'", "'a: b'", "''", '""', '"yes"', "'1'"],
  ...['"a\\"b"', '"a\\nb"', "'it''s'", "a #b", "a#b", "#c", "a:", "- a", "? a", "&a x", "*a"],
  ...["!!str a", "!x a", "|", ">", "%x", "@a", "`a`", "a,b", "a]", "{}", "[]", "[a, b]", "{a: b}"],
  ...["[ a , b ]", "{ a: b }", "[a,b]", "{a: [b, {c: d}]}", "[a, [b, c], {d: e}]", "{a: b, a: c}"],
  ...["[a: b]", "{a}", "[a,]", "{a: }", "ü", "a\tb", "a  b", "<<", "a<<b", "1e1_0", "0X1F"],
];

/** The scalars of {@link SCALARS} inside the subset, picked more often so both paths get tested. */
const PLAIN_SCALARS = SCALARS.slice(0, SCALARS.indexOf('"a\\"b"'));

const KEYS = ["a", "b", "name", "image", "y", "1", "0o17", "~", "a b", "x-y", "k.e/y", "-k"];

/** A random text of block maps and sequences with scalars from {@link SCALARS}, maybe altered. */
function randomText(random: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const scalar = () => pick(random() < 0.97 ? PLAIN_SCALARS : SCALARS);
  const lines: string[] = [];
  const block = (indent: number, depth: number, inSeqItem: string | undefined): void => {
    const pad = " ".repeat(indent);
    const n = 1 + Math.floor(random() * 4);
    if (random() < 0.3 && inSeqItem === undefined) {
      // A block sequence.
      for (let i = 0; i < n; i++) {
        if (depth < 3 && random() < 0.4) {
          const first = lines.length;
          block(indent + 2, depth + 1, "");
          lines[first] = `${pad}- ${lines[first]!.slice(indent + 2)}`;
        } else lines.push(`${pad}- ${scalar()}`);
      }
      return;
    }
    const used = new Set<string>();
    for (let i = 0; i < n; i++) {
      let key = pick(KEYS);
      if (used.has(key) && random() < 0.9) continue;
      used.add(key);
      if (random() < 0.05) key = `"${key}"`;
      const prefix = i === 0 && inSeqItem !== undefined ? pad : pad;
      if (depth < 3 && random() < 0.35) {
        lines.push(`${prefix}${key}:`);
        const unindentedSeq = random() < 0.3;
        if (unindentedSeq) {
          const m = 1 + Math.floor(random() * 3);
          for (let j = 0; j < m; j++) lines.push(`${pad}- ${scalar()}`);
        } else block(indent + pick([2, 2, 4]), depth + 1, undefined);
      } else {
        lines.push(`${prefix}${key}:${pick([" ", " ", " ", "  "])}${scalar()}`);
      }
    }
  };
  const docs = 1 + Math.floor(random() * 3);
  const parts: string[] = [];
  for (let d = 0; d < docs; d++) {
    lines.length = 0;
    block(0, 0, undefined);
    parts.push(lines.join("\n"));
  }
  let text = (random() < 0.2 ? "---\n" : "") + parts.join("\n---\n") +
    (random() < 0.9 ? "\n" : "");
  // Small alterations that leave the subset or the grammar.
  const alteration = random();
  const at = Math.floor(random() * text.length);
  if (alteration < 0.03) text = text.slice(0, at) + "\n" + text.slice(at);
  else if (alteration < 0.06) text = text.slice(0, at) + " " + text.slice(at);
  else if (alteration < 0.08) text = text.slice(0, at) + " # c" + text.slice(at);
  else if (alteration < 0.1) text = text.slice(0, at) + "\t" + text.slice(at);
  else if (alteration < 0.12) text = text.slice(0, at) + text.slice(at + 1);
  else if (alteration < 0.13) text = text.replace("\n", "\n...\n");
  else if (alteration < 0.14) text = text.replace("\n", "\r\n");
  return text;
}

Deno.test("plain block reader: generated texts read exactly as the yaml package reads them", () => {
  const random = prng(0x5eed18);
  const counts = { fast: 0, fallback: 0 };
  for (let i = 0; i < 4000; i++) counts[compare(randomText(random))]++;
  console.log(`generated texts: ${JSON.stringify(counts)}`);
  // Both paths are exercised: most generated texts hold some scalar outside the subset.
  assert.ok(counts.fast >= 400, `fast ${counts.fast}, fallback ${counts.fallback}`);
  assert.ok(counts.fallback >= 400, `fast ${counts.fast}, fallback ${counts.fallback}`);
});

Deno.test("plain block reader: every recorded go-yaml scalar, in every position", () => {
  const scalars = [...VERDICTS.verdicts, ...CONTROL_VERDICTS.verdicts].map((v) => v.scalar);
  let fast = 0;
  for (const s of scalars) {
    for (
      const text of [
        `k: ${s}\n`,
        `${s}: v\n`,
        `- ${s}\n`,
        `a: {k: ${s}}\n`,
        `a: [${s}, x]\n`,
        `a:\n  - b: ${s}\n    c: d\n`,
        `k: "${s}"\n`,
        `k: '${s}'\n`,
      ]
    ) {
      if (compare(text) === "fast") fast++;
    }
  }
  assert.ok(fast > scalars.length, `only ${fast} read by the fast reader`);
});

Deno.test("plain block reader: every YAML file of the repository", async () => {
  const root = new URL("../../../", import.meta.url).pathname;
  const counts = { fast: 0, fallback: 0 };
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (/\.ya?ml$/.test(entry.name)) counts[compare(await Deno.readTextFile(path))]++;
    }
  };
  await walk(root.replace(/\/$/, ""));
  console.log(`repository YAML files: ${JSON.stringify(counts)}`);
  assert.ok(counts.fast + counts.fallback > 5, JSON.stringify(counts));
});

Deno.test("plain block reader: the generate benchmark's workload is read by the fast reader", () => {
  const text = [0, 1, 2].map((i) => benchDeployment(i, "127.0.0.1:5000/bench/app:1")).join("---\n");
  assert.equal(compare(text), "fast");
  // parseYamlFile takes the same documents (and still checks them as before).
  const file = parseYamlFile("bench.yml", text);
  assert.deepEqual(describe(file.docs), describe(parseAllDocuments(text, YAML_OPTIONS)));
});

Deno.test("plain block reader: hand-written structures read fast or fall back, never differ", () => {
  const fast = [
    "a: 1\n",
    "a: 1",
    "---\na: 1\n",
    "a: 1\n---\nb: 2\n---\nc: [x]\n",
    "- a\n- b: c\n  d: e\n- [f, {g: h}]\n",
    "a:\n- b\n- c: d\n  e:\n  - f\nk: v\n",
    "a:\n    b:\n      c: d\n    e: f\ng: h\n",
    "a: { b: c , d: [ 1 ,2 ] }\n",
    "a:   spaced\n",
    "a: 'single'\nb: \"double #\"\n",
    "a: {}\nb: []\n",
    'a:\n  - {name: X, value: "1"}\n  - {name: Y, valueFrom: {fieldRef: {fieldPath: m.n}}}\n',
  ];
  for (const text of fast) assert.equal(compare(text), "fast", JSON.stringify(text));
  const fallback = [
    "a: 1 # comment\n",
    "# comment\na: 1\n",
    "a: 1\n\nb: 2\n",
    "a: 1 \n",
    "a: |\n  text\n",
    "a: &x 1\nb: *x\n",
    "a: !!str 1\n",
    "a: b\n  c\n",
    "a:\nb: 1\n",
    "a: b: c\n",
    "a: 1\na: 2\n",
    "1: a\n01: b\n",
    "a: [b,\n  c]\n",
    'a: "x\\ty"\n',
    '"a": 1\n',
    "a:\n  - - b\n",
    "%YAML 1.1\n---\na: 1\n",
    "a: 1\n...\n",
    "a: ü\n",
    "a:\tb\n",
    "a: 1\r\n",
    "<<: {a: 1}\n",
    "---\n",
    "",
    "a: [b, ]\n",
    "a: {b}\n",
    "a: [b: c]\n",
    "a: x,y\n",
    "a: #b\n",
    "- - a\n",
    "a: -\n",
  ];
  for (const text of fallback) assert.equal(compare(text), "fallback", JSON.stringify(text));
});

// A line `... x: 1` at column 0 is a document end marker and more text to the package (errors,
// so generate refuses the file) and to go-yaml (kubectl reads the document only up to the
// marker); the reader took it for a plain key `... x` and read the rest of the document on.
Deno.test("plain block reader: a document end marker followed by text on its line falls back", () => {
  const texts = [
    "kind: ConfigMap\nmetadata:\n  name: cfg\n... x: 1\ndata:\n  MODE: secure\n",
    "a: b\n... c: d\n",
    "... a: b\nc: d\n",
    "a:\n  b: c\n...   d:\n  - e\ng: h\n",
    "a:\n  - e\n... - g: h\n",
    "---\na: 1\n---\n... b: 2\n",
  ];
  for (const text of texts) {
    assert.equal(compare(text), "fallback", JSON.stringify(text));
    assert.ok(
      parseAllDocuments(text, YAML_OPTIONS).some((d) => d.errors.length > 0),
      `the package reads ${JSON.stringify(text)} with errors`,
    );
    assert.throws(() => parseYamlFile("x.yaml", text), JSON.stringify(text));
  }
});
