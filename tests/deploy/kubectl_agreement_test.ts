/**
 * Input kubectl (go-yaml v2) would read differently from generate is refused when read, naming
 * the file, the document and the field (exit 2): a map key `<<` that is not a merge key, and
 * U+0085, U+2028, U+2029, U+FFFE, U+FFFF raw anywhere or produced by an escape. The printers
 * never print a string `<<` key unquoted nor one of these characters raw.
 */
import assert from "node:assert/strict";
import { Document, type YAMLMap } from "yaml";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { exitCodeFor } from "../../cli/exit_codes.ts";
import { parseYamlFile, stringifyOptionsFor, YAML_OPTIONS } from "../../deploy/documents.ts";
import { generate } from "../../deploy/generate.ts";
import { printPlainDocument } from "../../deploy/plain_document_printer.ts";
import { documentKey, renderFiles } from "../../deploy/render.ts";
import { MemoryResolver, TEST_REFERENCE_VALUES, testSettings } from "../policy/fixtures.ts";

const RULES = await Deno.readTextFile(new URL("../../rego/rules.rego", import.meta.url));

/** The issues parsing `text` (after a first, clean document) gives. */
function issuesOf(text: string): { path: string; reason: string }[] {
  try {
    parseYamlFile("app.yml", `kind: ConfigMap\ndata: {a: b}\n---\n${text}`);
  } catch (e) {
    assert.ok(e instanceof InvalidDocumentError, String(e));
    assert.equal(exitCodeFor(e), 2);
    return [...e.issues];
  }
  return [];
}

Deno.test("a map key << that is not a merge key is refused, naming the document and the path", () => {
  for (
    const [text, path] of [
      ['spec:\n  "<<": {hostNetwork: true}\n', "app.yml[1].spec.<<"],
      ["spec:\n  '<<': {hostNetwork: true}\n", "app.yml[1].spec.<<"],
      ['spec:\n  "\\x3c<": {hostNetwork: true}\n', "app.yml[1].spec.<<"],
      ['spec: {"\\u003c\\u003c": {hostNetwork: true}}\n', "app.yml[1].spec.<<"],
      ["spec:\n  !!str <<: {hostNetwork: true}\n", "app.yml[1].spec.<<"],
      ['spec:\n  c: [{name: a, "<<": {privileged: true}}]\n', "app.yml[1].spec.c[0].<<"],
      ['k: &m "<<"\nspec:\n  *m : {hostNetwork: true}\n', "app.yml[1].spec.<<"],
    ]
  ) {
    const issues = issuesOf(text);
    assert.equal(issues.length, 1, `${text}: ${JSON.stringify(issues)}`);
    assert.equal(issues[0]!.path, path, text);
    assert.match(issues[0]!.reason, /not a merge key/);
  }
});

Deno.test("a << key spelled without a literal << (escapes, escaped line breaks) is refused too", () => {
  for (
    const [text, path] of [
      // An escaped line break joins `<` and `<` with nothing between them.
      ['spec: {"<\\\n   <": {hostNetwork: true}}\n', "app.yml[1].spec.<<"],
      ['spec: {"<\\\r\n    <": {hostNetwork: true}}\n', "app.yml[1].spec.<<"],
      ['spec: {"<\\\n    \\\n    <": {hostNetwork: true}}\n', "app.yml[1].spec.<<"],
      ['spec:\n  ? "<\\\n    <"\n  : {hostNetwork: true}\n', "app.yml[1].spec.<<"],
      ['spec: {"\\x3c\\x3c": {hostNetwork: true}}\n', "app.yml[1].spec.<<"],
      ['spec:\n  "\\u003C<": {hostNetwork: true}\n', "app.yml[1].spec.<<"],
      ['spec:\n  ? "\\U0000003c\\\n    \\x3C"\n  : {hostNetwork: true}\n', "app.yml[1].spec.<<"],
      [
        'spec:\n  template:\n    spec:\n      c: [{name: a, "\\x3c\\\n        <": {privileged: true}}]\n',
        "app.yml[1].spec.template.spec.c[0].<<",
      ],
      ['k: &m "<\\\n  <"\nspec:\n  *m : {hostNetwork: true}\n', "app.yml[1].spec.<<"],
    ]
  ) {
    const issues = issuesOf(text);
    assert.equal(issues.length, 1, `${JSON.stringify(text)}: ${JSON.stringify(issues)}`);
    assert.equal(issues[0]!.path, path, JSON.stringify(text));
    assert.match(issues[0]!.reason, /not a merge key/);
  }
  // Folding without an escape puts a space between the two: an ordinary key `< <`, and `<''<`
  // in single quotes is `<'<`.
  for (
    const text of [
      'spec: {"<\n   <": {hostNetwork: true}}\n',
      "spec: {'<\n   <': {hostNetwork: true}}\n",
      "spec: {'<''<': {hostNetwork: true}}\n",
      "spec:\n  ? <\n    <\n  : {hostNetwork: true}\n",
      'spec: {"<\\\n\n    <": {hostNetwork: true}}\n',
    ]
  ) {
    assert.deepEqual(issuesOf(text), [], JSON.stringify(text));
  }
});

Deno.test("real merge keys and the string << as a value are read as before", () => {
  assert.deepEqual(issuesOf("base: &b {x: 1}\nspec:\n  <<: *b\n  z: 2\nv: '<<'\n"), []);
  const file = parseYamlFile("a.yml", "base: &b {x: 1}\nspec:\n  <<: *b\n  z: 2\nv: '<<'\n");
  assert.deepEqual(file.docs[0]!.toJS(), { base: { x: 1 }, spec: { x: 1, z: 2 }, v: "<<" });
});

Deno.test("U+0085, U+2028, U+2029, U+FFFE, U+FFFF are refused raw and escaped, naming the field", () => {
  for (const c of ["\u0085", "\u2028", "\u2029", "\ufffe", "\uffff"]) {
    const code = `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
    for (
      const [text, path] of [
        [
          `spec:\n  c:\n    - workingDir: /app${c}   command:${c}    - /bin/evil\n`,
          "spec.c[0].workingDir",
        ],
        [`spec:\n  c: ["a${c}b"]\n`, "spec.c[0]"],
        [`spec:\n  'k${c}': v\n`, "spec"],
      ]
    ) {
      const issues = issuesOf(text);
      assert.equal(issues.length, 1, JSON.stringify(issues));
      assert.equal(issues[0]!.path, `app.yml[1].${path}`);
      assert.match(issues[0]!.reason, new RegExp(`holds ${code.replace("+", "\\+")}`));
    }
    // Outside any value: named by line and column.
    const comment = issuesOf(`# note${c}\nspec: {}\n`);
    assert.equal(comment.length, 1);
    assert.equal(comment[0]!.path, "app.yml:4:7");
  }
  for (
    const [escape, code] of [
      ["\\N", "U+0085"],
      ["\\L", "U+2028"],
      ["\\P", "U+2029"],
      ["\\x85", "U+0085"],
      ["\\u2028", "U+2028"],
      ["\\U00002029", "U+2029"],
      ["\\uFFFE", "U+FFFE"],
      ["\\uffff", "U+FFFF"],
    ]
  ) {
    const issues = issuesOf(`spec:\n  workingDir: "/app${escape}command"\n`);
    assert.equal(issues.length, 1, escape);
    assert.equal(issues[0]!.path, "app.yml[1].spec.workingDir");
    assert.match(issues[0]!.reason, new RegExp(`holds ${code.replace("+", "\\+")}`));
  }
  // A backslash in a single-quoted or plain scalar is no escape.
  assert.deepEqual(issuesOf("spec:\n  a: '/app\\L'\n  b: /app\\u2028\n  c: \"a\\nb\"\n"), []);
});

const DEPLOYMENT = (extra: string) =>
  `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
    spec:
      runtimeClassName: contrast-cc
${extra}      containers:
        - name: web
          image: "127.0.0.1:5000/web:1.0"
`;

Deno.test("generate: the reviewer's inputs are refused before anything is generated", async () => {
  for (
    const [extra, path] of [
      [
        '      "<<": {hostNetwork: true, nodeName: attacker-node}\n',
        "web.yml[0].spec.template.spec.<<",
      ],
      ['      hostname: "web\\L  hostNetwork: true"\n', "web.yml[0].spec.template.spec.hostname"],
    ]
  ) {
    await assert.rejects(
      async () =>
        await generate([parseYamlFile("web.yml", DEPLOYMENT(extra))], {
          settings: await testSettings(),
          resolver: new MemoryResolver(),
          rules: RULES,
          referenceValues: TEST_REFERENCE_VALUES,
          workloadOwnerKeys: ["ab"],
          seedshareOwnerKeys: ["cd"],
        }),
      (e) => e instanceof InvalidDocumentError && e.issues[0]!.path === path,
    );
  }
});

Deno.test("printers: a string << key is printed quoted, a real merge key plain", () => {
  const style = stringifyOptionsFor("");
  const doc = new Document(undefined, YAML_OPTIONS);
  const root = doc.createNode({}) as YAMLMap;
  const inner = doc.createNode({}) as YAMLMap;
  inner.set(doc.createNode("<<"), doc.createNode({ hostNetwork: true }));
  root.set("spec", inner);
  root.set("v", "<<");
  doc.contents = root;
  const printed = printPlainDocument(doc, style, true) ?? doc.toString(style);
  assert.equal(printed, 'spec:\n  "<<":\n    hostNetwork: true\nv: "<<"\n');
  const merged = parseYamlFile("m.yml", "b: &b {x: 1}\nspec:\n  <<: *b\n");
  (merged.docs[0]!.contents as YAMLMap).set("changed", "yes");
  assert.equal(
    merged.docs[0]!.toString(style),
    'b: &b { x: 1 }\nspec:\n  <<: *b\nchanged: "yes"\n',
  );
});

Deno.test("render refuses to print U+2028 (or U+0085, U+2029, U+FFFE, U+FFFF) raw", () => {
  for (const c of ["\u0085", "\u2028", "\u2029", "\ufffe", "\uffff"]) {
    const file = parseYamlFile("w.yml", "kind: ConfigMap\ndata:\n  a: b\n");
    (file.docs[0]!.contents as YAMLMap).setIn(["data", "a"], `x${c}y: z`);
    assert.throws(
      () => renderFiles([file], new Set([documentKey("w.yml", 0)]), new Map()),
      (e) => e instanceof InvalidDocumentError && e.file === "w.yml" && /raw/.test(e.message),
    );
  }
});
