/**
 * Rendering with initdata placeholders gives exactly the text printing the values gives, in every
 * scalar style an existing annotation may have, in block and flow maps, and falls back to direct
 * printing when a file holds the placeholder pattern itself.
 */
import assert from "node:assert/strict";
import { isMap, type YAMLMap } from "yaml";
import { parseYamlFile, stringifyOptionsFor } from "../../deploy/documents.ts";
import { setInitdataAnnotation } from "../../deploy/inject.ts";
import { documentKey, type InitdataAnnotation, renderFiles } from "../../deploy/render.ts";
import { encodeBase64 } from "../../util/bytes/mod.ts";

const PODS = `# leading comment
apiVersion: v1
kind: Pod
metadata: {name: flow, annotations: {a: b}}
---
apiVersion: v1
kind: Pod
metadata:
  name: double
  annotations:
    io.katacontainers.config.hypervisor.cc_init_data: "old"
---
apiVersion: v1
kind: Pod
metadata:
  name: single
  annotations:
    io.katacontainers.config.hypervisor.cc_init_data: 'old'
---
apiVersion: v1
kind: Pod
metadata:
  name: literal
  annotations:
    io.katacontainers.config.hypervisor.cc_init_data: |
      old
---
apiVersion: v1
kind: Pod
metadata:
  name: none # no annotations yet
---
apiVersion: v1
kind: Pod
metadata:
  name: untouched
`;

/** Base64 of pseudo-random bytes: every base64 character, with + and / and = padding. */
function base64Value(seed: number, length: number): string {
  const bytes = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) bytes[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return encodeBase64(bytes);
}

function printDirectly(text: string, docs: { toString(o: object): string }[]): string {
  const style = stringifyOptionsFor(text);
  return docs.map((d, i) => {
    const s = d.toString(style);
    return i > 0 && !s.startsWith("---") ? `---\n${s}` : s;
  }).join("");
}

function annotate(text: string, path: string) {
  const file = parseYamlFile(path, text);
  const annotations = new Map<string, InitdataAnnotation>();
  const changed = new Set<string>();
  file.docs.forEach((doc, i) => {
    if (i === file.docs.length - 1) return; // the last pod stays untouched
    const meta = doc.get("metadata", true) as YAMLMap;
    assert.ok(isMap(meta));
    const value = base64Value(i + 1, 3000 + 7 * i);
    annotations.set(documentKey(path, i), {
      annotations: setInitdataAnnotation(doc, meta, value),
      value,
    });
    changed.add(documentKey(path, i));
  });
  return { file, annotations, changed };
}

Deno.test("placeholders render exactly as the values print, in every style", () => {
  const { file, annotations, changed } = annotate(PODS, "pods.yml");
  const [rendered] = renderFiles([file], changed, annotations);
  assert.equal(rendered!.text, printDirectly(PODS, file.docs));
  assert.ok(rendered!.changed);
  assert.doesNotMatch(rendered!.text, /placeholder/);
  for (const a of annotations.values()) assert.ok(rendered!.text.includes(a.value));
  assert.match(rendered!.text, /cc_init_data: "[A-Za-z0-9+/=]{100,}"/);
  assert.match(rendered!.text, /cc_init_data: '[A-Za-z0-9+/=]{100,}'/);
});

Deno.test("a file holding the placeholder pattern is printed directly", () => {
  const text = PODS.replace("name: untouched", "name: contrast0initdata0placeholder00end");
  const { file, annotations, changed } = annotate(text, "odd.yml");
  const [rendered] = renderFiles([file], changed, annotations);
  assert.equal(rendered!.text, printDirectly(text, file.docs));
  assert.ok(rendered!.text.includes("name: contrast0initdata0placeholder00end"));
});

Deno.test("files without a changed document keep their text", () => {
  const file = parseYamlFile("same.yml", PODS);
  const [rendered] = renderFiles([file], new Set(), new Map());
  assert.deepEqual(
    { path: rendered!.path, text: rendered!.text, changed: rendered!.changed },
    { path: "same.yml", text: PODS, changed: false },
  );
});

Deno.test("documents with tags, %TAG and %YAML directives print as the yaml package prints them", () => {
  const text = `%YAML 1.1
---
apiVersion: v1
kind: Pod
metadata: {name: explicit-version, labels: {a: !!str 1}}
...
%TAG !k! tag:example.com,2026:
---
apiVersion: v1
kind: Pod
metadata:
  name: own-handle
  labels: {b: !k!thing x, c: !!str 3}
---
apiVersion: v1
kind: Pod
metadata:
  name: core-tags
  labels: {d: !!str 2, e: !<tag:example.com,2026:y> z}
---
apiVersion: v1
kind: Pod
metadata: {name: untouched}
`;
  const { file, annotations, changed } = annotate(text, "tags.yml");
  const [rendered] = renderFiles([file], changed, annotations);
  const direct = printDirectly(text, file.docs);
  assert.equal(rendered!.text, direct);
  assert.match(direct, /%YAML 1.1/);
  assert.match(direct, /%TAG !k! tag:example.com,2026:/);
  assert.match(direct, /!!str/);
  // And again with the directives' own printing left untouched afterwards.
  assert.equal(printDirectly(text, file.docs), direct);
});

Deno.test("a changed document holding a !!binary value prints, and the value reads back", () => {
  const text = `apiVersion: v1
kind: Pod
metadata:
  name: blob
  annotations:
    blob: !!binary aGVsbG8gd29ybGQ=
spec:
  containers:
    - name: app
      image: nginx
---
apiVersion: v1
kind: Pod
metadata:
  name: untouched
`;
  const { file, annotations, changed } = annotate(text, "binary.yml");
  assert.equal(changed.size, 1);
  const [rendered] = renderFiles([file], changed, annotations);
  const reread = parseYamlFile("binary.yml", rendered!.text).docs[0]!.toJS();
  assert.deepEqual(
    Array.from(reread.metadata.annotations.blob as Uint8Array),
    Array.from(new TextEncoder().encode("hello world")),
  );
});
