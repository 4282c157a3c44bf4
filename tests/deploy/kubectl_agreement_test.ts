/**
 * Input kubectl (go-yaml v2) would read differently from generate is refused when read, naming
 * the file, the document and the field (exit 2): a map key `<<` that is not a merge key however
 * spelled, U+0085, U+2028, U+2029, U+FFFE, U+FFFF, DEL and the C1 controls raw anywhere or
 * produced by an escape, and the C0 controls go-yaml's reader refuses raw (checked against
 * go-yaml v2.4.0's recorded verdicts, `go_yaml_control_verdicts.json`). The printers never print
 * a string `<<` key unquoted nor one of these characters raw.
 */
import assert from "node:assert/strict";
import { Document, type YAMLMap } from "yaml";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { refuseGoYamlBreaksInPieces } from "../../util/yaml/kubectl_agreement.ts";
import { exitCodeFor } from "../../cli/exit_codes.ts";
import { parseYamlFile, stringifyOptionsFor, YAML_OPTIONS } from "../../deploy/documents.ts";
import { generate } from "../../deploy/generate.ts";
import { printPlainDocument } from "../../deploy/plain_document_printer.ts";
import { documentKey, renderFiles } from "../../deploy/render.ts";
import { testGenerateOptions } from "./generate_options.ts";

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

Deno.test("a key a later merge key gives again is refused (kubectl takes the merged value)", () => {
  // What kubectl v1.37 (go-yaml v2) reads, checked with `kubectl create --dry-run=client -o json`:
  // {privileged: true, <<: {privileged: false}} is privileged: false; the yaml package (and so
  // every check of generate and the policy data) reads privileged: true.
  for (
    const [text, path] of [
      ["spec: {privileged: true, <<: {privileged: false}}\n", "app.yml[1].spec.privileged"],
      ["spec:\n  privileged: true\n  <<: {privileged: false}\n", "app.yml[1].spec.privileged"],
      ["spec: {<<: {privileged: true}, <<: {privileged: false}}\n", "app.yml[1].spec.privileged"],
      ["b: &b {a: 2}\nspec: {a: 1, <<: [*b]}\n", "app.yml[1].spec.a"],
      ["b: &b {<<: {a: 2}}\nspec: {a: 1, <<: *b}\n", "app.yml[1].spec.a"],
      ["{a: 1, <<: {a: 2}}\n", "app.yml[1].a"],
      ["c: [{x: {a: 1, <<: {a: 2}}}]\n", "app.yml[1].c[0].x.a"],
    ]
  ) {
    const issues = issuesOf(text);
    assert.equal(issues.length, 1, `${text}: ${JSON.stringify(issues)}`);
    assert.equal(issues[0]!.path, path, text);
    assert.match(issues[0]!.reason, /later merge key/);
  }
  // Where both read the same: an own key after the merge, the earlier of one merge list.
  for (
    const text of [
      "spec: {<<: {a: 2}, a: 1}\n",
      "spec: {<<: [{a: 1}, {a: 2, b: 3}], c: 4}\n",
      "b: &b {a: 1}\nspec: {<<: *b, a: 2, <<: {c: 3}}\n",
    ]
  ) assert.deepEqual(issuesOf(text), [], text);
});

Deno.test("generate: a secrets volume turned disk-backed by a later merge key is refused", async () => {
  // kubectl applies emptyDir: {} (the node's disk); generate's secrets volume check and the
  // policy read the memory emptyDir written before the merge. Generated before the refusal.
  const extra = "      volumes:\n        - name: contrast-secrets\n          emptyDir: " +
    "{medium: Memory}\n          <<: {emptyDir: {}}\n";
  await assert.rejects(
    async () =>
      await generate([parseYamlFile("web.yml", DEPLOYMENT(extra))], await testGenerateOptions()),
    (e) =>
      e instanceof InvalidDocumentError && exitCodeFor(e) === 2 &&
      e.issues[0]!.path === "web.yml[0].spec.template.spec.volumes[0].emptyDir",
  );
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

/** `U+0086` for a code point. */
const codeName = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;

Deno.test("control characters go-yaml's reader refuses are refused raw in values, keys and comments", () => {
  // go-yaml v2.4.0 (readerc.go) allows tab, LF, CR, U+0020–U+007E, U+0085, U+00A0… and refuses
  // every other C0 control, DEL and the C1 controls with "control characters are not allowed".
  for (const cp of [0x00, 0x01, 0x08, 0x0b, 0x0c, 0x0e, 0x1b, 0x1f, 0x7f, 0x80, 0x86, 0x9f]) {
    const c = String.fromCodePoint(cp);
    const holds = new RegExp(`holds ${codeName(cp).replace("+", "\\+")}`);
    for (
      const [text, path] of [
        [`spec:\n  c:\n    - workingDir: /app${c}x\n`, "spec.c[0].workingDir"],
        [`spec:\n  c: ["a${c}b"]\n`, "spec.c[0]"],
        [`spec:\n  'k${c}': v\n`, "spec"],
        [`spec:\n  k${c}: v\n`, "spec"],
      ]
    ) {
      const issues = issuesOf(text);
      assert.equal(issues.length, 1, `${codeName(cp)} ${JSON.stringify(text)}`);
      assert.equal(
        issues[0]!.path,
        `app.yml[1].${path}`,
        `${codeName(cp)} ${JSON.stringify(text)}`,
      );
      assert.match(issues[0]!.reason, holds);
    }
    const comment = issuesOf(`# note${c}\nspec: {}\n`);
    assert.equal(comment.length, 1, codeName(cp));
    assert.equal(comment[0]!.path, "app.yml:4:7");
    assert.match(comment[0]!.reason, new RegExp(codeName(cp).replace("+", "\\+")));
  }
  // Tab, CR and the characters around the refused ranges are read as before.
  assert.deepEqual(issuesOf("spec:\n  a: 'x\ty'\r\n  b: ~\u00a0\u007e\n  c: \u00a0\n"), []);
});

Deno.test("DEL and C1 controls are refused escaped in values and keys; escaped C0 controls are not", () => {
  for (
    const [escape, cp] of [
      ["\\x86", 0x86],
      ["\\x80", 0x80],
      ["\\u009f", 0x9f],
      ["\\u009F", 0x9f],
      ["\\U00000090", 0x90],
      ["\\x7f", 0x7f],
      ["\\u007F", 0x7f],
    ] as const
  ) {
    const holds = new RegExp(`holds ${codeName(cp).replace("+", "\\+")}`);
    for (
      const [text, path] of [
        [`spec:\n  workingDir: "/app${escape}x"\n`, "spec.workingDir"],
        [`spec: {"k${escape}": v}\n`, "spec"],
        [`spec:\n  c: [{name: "a\\\n    ${escape}"}]\n`, "spec.c[0].name"],
      ]
    ) {
      const issues = issuesOf(text);
      assert.equal(issues.length, 1, `${escape} ${JSON.stringify(text)}`);
      assert.equal(issues[0]!.path, `app.yml[1].${path}`, `${escape} ${JSON.stringify(text)}`);
      assert.match(issues[0]!.reason, holds);
    }
  }
  // Escaped C0 controls read alike in both readers and are printed escaped: accepted.
  assert.deepEqual(
    issuesOf(
      'spec:\n  env: [{name: PS1, value: "\\e[31m$ \\e[0m"}, {name: Z, value: "\\0\\x01\\t"}]\n',
    ),
    [],
  );
});

interface ControlVerdict {
  readonly codePoint: number;
  readonly form: "plain" | "quoted" | "comment" | "key" | "escaped";
  readonly scalar: string;
  readonly kind: string;
  readonly value?: unknown;
}
const CONTROL_RECORD = JSON.parse(
  await Deno.readTextFile(new URL("./go_yaml_control_verdicts.json", import.meta.url)),
) as { provenance: { reader: string }; verdicts: ControlVerdict[] };

/** Whether go-yaml refused the document (`yaml: …`, e.g. "control characters are not allowed"). */
const goRefused = (v: ControlVerdict) =>
  v.kind === "other" && typeof v.value === "string" && v.value.startsWith("yaml:");

/** Whether parseYamlFile refuses `text` as a file of its own. */
function refusedAlone(text: string): boolean {
  try {
    parseYamlFile("c.yml", text);
    return false;
  } catch (e) {
    assert.ok(e instanceof InvalidDocumentError, String(e));
    return true;
  }
}

/** Whether go-yaml refuses `v`'s document or reads it as something else than `a<c>b`. */
const goNotAsWritten = (v: ControlVerdict) =>
  goRefused(v) || v.value !== `a${String.fromCodePoint(v.codePoint)}b`;

/**
 * Characters go-yaml refuses raw or reads as something else in a plain scalar, a double-quoted
 * scalar or a flow key; printable ASCII (`"`, `\\`, `{`… which the printers quote or escape
 * where needed) and LF (the printers' line ends) left out.
 */
const GO_YAML_NOT_SAFE_RAW = new Set(
  CONTROL_RECORD.verdicts.filter((v) =>
    (v.codePoint < 0x20 || v.codePoint > 0x7e) && v.codePoint !== 0x0a &&
    (v.form === "key" ? goRefused(v) : ["plain", "quoted"].includes(v.form) && goNotAsWritten(v))
  ).map((v) => String.fromCodePoint(v.codePoint)),
);

Deno.test("control characters: generate refuses exactly what go-yaml v2.4.0 refuses or reads otherwise (recorded verdicts)", () => {
  assert.equal(CONTROL_RECORD.provenance.reader, "gopkg.in/yaml.v2 v2.4.0");
  assert.equal(CONTROL_RECORD.verdicts.length, 850);
  const style = stringifyOptionsFor("");
  for (const v of CONTROL_RECORD.verdicts) {
    const c = String.fromCodePoint(v.codePoint);
    const label = `${codeName(v.codePoint)} ${v.form} ${JSON.stringify(v.scalar)}`;
    const refused = refusedAlone(v.scalar);
    const syntax = (v.codePoint >= 0x20 && v.codePoint <= 0x7e) ||
      [9, 10, 13].includes(v.codePoint);
    if (v.form !== "escaped" && syntax) continue;
    if (v.form !== "escaped") {
      // Raw (printable ASCII, tab, LF and CR are syntax here, not the subject: a flow key split
      // over lines, `{a\nb: v}`, is another disagreement): whatever go-yaml refuses is refused; what it reads, generate reads alike or refuses
      // because go-yaml reads it otherwise (U+0085, U+2028, U+2029 as line breaks).
      if (goRefused(v)) {
        assert.ok(refused, `${label}: go-yaml refuses it, generate must too`);
        continue;
      }
      const ours = refused ? undefined : parseYamlFile("c.yml", v.scalar).docs[0]!.toJS();
      if (v.kind === "str" || v.kind === "int") {
        const same = ours === v.value || String(ours) === v.value;
        assert.equal(refused, !same, `${label}: go-yaml reads ${JSON.stringify(v.value)}`);
      } else {
        assert.equal(refused, false, label);
      }
      continue;
    }
    // Escaped: go-yaml reads the character itself; generate accepts it exactly when it reads the
    // same and its printers never print it raw where go-yaml would refuse or misread it.
    assert.equal(v.kind, "str", label);
    assert.equal(v.value, `a${c}b`, label);
    const doc = new Document({ v: `a${c}b` }, YAML_OPTIONS);
    const printed = [doc.toString(style), printPlainDocument(doc, style, true) ?? ""].join("");
    const unsafe = [...printed].some((p) => GO_YAML_NOT_SAFE_RAW.has(p));
    assert.equal(refused, unsafe, `${label}: printed ${JSON.stringify(printed)}`);
    if (!refused) {
      assert.equal(parseYamlFile("c.yml", v.scalar).docs[0]!.toJS() as string, v.value, label);
    }
  }
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
        await generate(
          [parseYamlFile("web.yml", DEPLOYMENT(extra))],
          await testGenerateOptions(),
        ),
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

Deno.test("render refuses to print U+2028 (or U+0085, U+2029, U+FFFE, U+FFFF, DEL, C1) raw", () => {
  for (
    const c of ["\u0085", "\u2028", "\u2029", "\ufffe", "\uffff", "\u007f", "\u0086", "\u009f"]
  ) {
    const file = parseYamlFile("w.yml", "kind: ConfigMap\ndata:\n  a: b\n");
    (file.docs[0]!.contents as YAMLMap).setIn(["data", "a"], `x${c}y: z`);
    assert.throws(
      () => renderFiles([file], new Set([documentKey("w.yml", 0)]), new Map()),
      (e) => e instanceof InvalidDocumentError && e.file === "w.yml" && /raw/.test(e.message),
    );
  }
});

Deno.test("a raw U+2028 in a later piece of a text is refused, naming the line of the whole text", () => {
  assert.doesNotThrow(() => refuseGoYamlBreaksInPieces("p.yml", ["a: 1\nb: ", "x", "\n"]));
  assert.throws(
    () => refuseGoYamlBreaksInPieces("p.yml", ["a: 1\nb: ", "x\n", "c: y\u2028\n"]),
    (e) =>
      e instanceof InvalidDocumentError && e.file === "p.yml" && e.issues[0]!.path === "p.yml:3",
  );
});
