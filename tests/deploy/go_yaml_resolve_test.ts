/**
 * generate reads and prints plain scalars as go-yaml v2 (kubectl) does, checked against the
 * verdicts go-yaml v2.4.0 itself gave for 2,600 tricky scalars (`go_yaml_verdicts.json`, recorded
 * by `scripts/record_go_yaml_verdicts.ts` with `tools/yamlverdicts`; its provenance is in the
 * file): the resolver agrees on every verdict; a plain input scalar go-yaml reads as a number is
 * read as that number; and a string is printed plain only when go-yaml reads it back as that
 * same string, in block and flow maps and sequences, as key and as value, by both printers.
 */
import assert from "node:assert/strict";
import { Document, type YAMLMap, type YAMLSeq } from "yaml";
import { goYamlV2Resolve } from "../../util/yaml/go_yaml_resolve.ts";
import { parseYamlFile, stringifyOptionsFor, YAML_OPTIONS } from "../../deploy/documents.ts";
import { printPlainDocument } from "../../deploy/plain_document_printer.ts";
import { securePvStatefulSet } from "../../testing/secure_pv_stateful_set.ts";
import { generate } from "../../deploy/generate.ts";
import { testGenerateOptions } from "./generate_options.ts";

interface Verdict {
  readonly scalar: string;
  readonly kind: string;
  readonly value?: unknown;
}
const RECORD = JSON.parse(
  await Deno.readTextFile(new URL("./go_yaml_verdicts.json", import.meta.url)),
) as { provenance: { reader: string }; verdicts: Verdict[] };
const VERDICTS = RECORD.verdicts.filter((v) => v.kind !== "other");

/** Equal numbers (the JSON record keeps no sign of zero; NaN equals NaN). */
function sameNumber(a: unknown, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

/** The number a verdict names (ints are recorded as decimal text, infinities as `+Inf`). */
function verdictNumber(v: Verdict): number {
  if (v.value === "+Inf") return Infinity;
  if (v.value === "-Inf") return -Infinity;
  if (v.value === "NaN") return NaN;
  return typeof v.value === "string" ? Number(BigInt(v.value)) : v.value as number;
}

Deno.test("the recorded verdicts come from go-yaml v2.4.0", () => {
  assert.equal(RECORD.provenance.reader, "gopkg.in/yaml.v2 v2.4.0");
  assert.ok(VERDICTS.length > 2500);
  for (
    const [scalar, kind, value] of [["0o17", "int", "15"], ["0X1F", "int", "31"], [
      "+_1",
      "int",
      "1",
    ]]
  ) {
    assert.deepEqual(VERDICTS.find((v) => v.scalar === scalar), { scalar, kind, value });
  }
});

Deno.test("goYamlV2Resolve agrees with go-yaml on every recorded scalar", () => {
  const wrong: string[] = [];
  for (const v of VERDICTS) {
    const mine = goYamlV2Resolve(v.scalar);
    // Decoded into interface{}, go-yaml v2 keeps timestamps and a lone `<<` as their text.
    const kind = mine.kind === "timestamp" || mine.kind === "merge" ? "str" : mine.kind;
    const same = kind === v.kind &&
      (kind !== "int" && kind !== "float" || sameNumber(mine.value, verdictNumber(v)));
    if (!same) wrong.push(`${JSON.stringify(v)} -> ${JSON.stringify(mine)}`);
  }
  assert.deepEqual(wrong, []);
});

Deno.test("a plain input scalar go-yaml reads as a number is read as that number", () => {
  const wrong: string[] = [];
  for (const v of VERDICTS) {
    if (v.kind !== "int" && v.kind !== "float") continue;
    const doc = parseYamlFile("n.yml", `k: ${v.scalar}\n`).docs[0]!;
    const value = (doc.toJS() as { k: unknown }).k;
    if (!sameNumber(value, verdictNumber(v))) wrong.push(`${v.scalar}: ${String(value)}`);
  }
  assert.deepEqual(wrong, []);
});

Deno.test("a plain input scalar go-yaml reads as text is read as that text", () => {
  const wrong: string[] = [];
  let checked = 0;
  for (const v of VERDICTS) {
    if (v.kind !== "str") continue;
    const doc = parseYamlFile("s.yml", `k: ${v.scalar}\n`).docs[0]!;
    const value = (doc.toJS() as { k: unknown }).k;
    checked++;
    if (value !== v.value) wrong.push(`${v.scalar}: ${typeof value} ${String(value)}`);
  }
  assert.deepEqual(wrong, []);
  assert.ok(checked > 1400);
});

/** Every place a string is printed: block and flow, key and value, map and sequence. */
function documentsHolding(text: string): Document[] {
  const docs: Document[] = [];
  const make = (fill: (doc: Document, root: YAMLMap) => void) => {
    const doc = new Document(undefined, YAML_OPTIONS);
    const root = doc.createNode({}) as YAMLMap;
    fill(doc, root);
    doc.contents = root;
    docs.push(doc);
  };
  make((_, root) => root.set("k", text));
  make((_, root) => root.set(text, "v"));
  make((doc, root) => root.set("k", doc.createNode([text, "z"])));
  make((doc, root) => {
    const seq = doc.createNode([text, "z"]) as YAMLSeq;
    seq.flow = true;
    root.set("k", seq);
  });
  make((doc, root) => {
    const map = doc.createNode({ a: text, [text]: "v" }) as YAMLMap;
    map.flow = true;
    root.set("k", map);
  });
  return docs;
}

/** The plain scalars of `text` (printed YAML): tokens not starting with a quote. */
function plainTokens(printed: string): string[] {
  return printed.split(/[\n{}[\],]|: |- /).map((t) => t.trim()).filter((t) =>
    t !== "" && !t.startsWith('"') && !t.startsWith("'")
  ).map((t) => t.replace(/:$/, ""));
}

Deno.test("a string is printed plain only when go-yaml reads it back as that string", () => {
  const verdictOf = new Map(VERDICTS.map((v) => [v.scalar, v]));
  const style = stringifyOptionsFor("");
  const wrong: string[] = [];
  let plainPrinted = 0;
  for (const v of VERDICTS) {
    for (const doc of documentsHolding(v.scalar)) {
      const printed = [printPlainDocument(doc, style, true), doc.toString(style)];
      for (const text of printed) {
        if (text === undefined) continue;
        for (const token of plainTokens(text)) {
          if (token !== v.scalar) continue;
          plainPrinted++;
          const verdict = verdictOf.get(token)!;
          if (verdict.kind !== "str") {
            wrong.push(`${JSON.stringify(v.scalar)} in ${JSON.stringify(text)}`);
          }
        }
      }
    }
  }
  assert.deepEqual(wrong, []);
  assert.ok(plainPrinted > 1000, `only ${plainPrinted} plain prints checked`);
  // And the printed text reads back as the strings put in (quoted or not).
  const doc = documentsHolding("0o17")[0]!;
  const back = parseYamlFile("b.yml", doc.toString(style)).docs[0]!.toJS();
  assert.deepEqual(back, { k: "0o17" });
});

Deno.test("secure-pv: a volume named 0o17 is printed quoted in the injected container", async () => {
  const text = securePvStatefulSet({
    annotation: "0o17:0o20",
    deviceVolume: '"0o17"',
    mountVolume: '"0o20"',
  });
  const result = await generate([parseYamlFile("db.yml", text)], await testGenerateOptions());
  const out = result.files[0]!.text;
  assert.match(out, /"0o17"/);
  const plain = plainTokens(out).filter((t) => /^0o1[70]$/.test(t));
  assert.deepEqual(plain, [], "0o17/0o20 printed plain: kubectl would read 15/16");
});
