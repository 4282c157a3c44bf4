import assert from "node:assert/strict";
import { encodeBase64 } from "../../../util/bytes/mod.ts";
import { ParseError } from "../../../util/errors/mod.ts";
import {
  encodeInitdataAnnotation,
  encodeInitdataToml,
  INITDATA_ANNOTATION,
  LEGACY_POLICY_ANNOTATION,
  renderPolicyText,
} from "../../../policy/initdata.ts";
import {
  parseYamlDocuments,
  readCheckInputs,
  readStandalonePolicy,
} from "../../../policy/check/inputs.ts";

const RULES = "package agent_policy\n\ndefault X := 1\n";
const TEXT = renderPolicyText(RULES, { version: 1, pod: {} });
const enc = new TextEncoder();

Deno.test("reads a policy from initdata TOML, policy text, and both annotation forms", async () => {
  const toml = encodeInitdataToml({ "policy.rego": TEXT });
  const forms = [
    await readStandalonePolicy(toml, "p.toml"),
    await readStandalonePolicy(enc.encode(TEXT), "p.rego"),
    await readStandalonePolicy(enc.encode(await encodeInitdataAnnotation(toml)), "a.txt"),
    await readStandalonePolicy(enc.encode(encodeBase64(enc.encode(TEXT))), "legacy.txt"),
  ];
  assert.deepEqual(forms.map((f) => f.form), ["initdata", "policy-text", "initdata", "legacy"]);
  for (const f of forms) {
    assert.equal(f.rules, RULES);
    assert.deepEqual(f.policyData, { version: 1, pod: {} });
    assert.match(f.digest, /^[0-9a-f]{64}$/);
  }
  assert.equal(forms[0].digest, forms[2].digest, "annotation digest is the TOML's");
  assert.equal(forms[1].digest, forms[3].digest, "legacy digest is SHA-256 of the text");
});

Deno.test("rejects a file that is no policy in any form, naming it", async () => {
  await assert.rejects(
    () => readStandalonePolicy(enc.encode("hello, world"), "x.txt"),
    (e) => e instanceof ParseError && e.field === "x.txt",
  );
  await assert.rejects(
    () => readStandalonePolicy(enc.encode("package agent_policy\n"), "p.rego"),
    ParseError,
  );
});

Deno.test("plain text that happens to decode as base64 is named as no policy form, not as bad gzip", async () => {
  await assert.rejects(
    () => readStandalonePolicy(enc.encode("just text\n"), "t.txt"),
    (e) =>
      e instanceof ParseError && e.field === "t.txt" && /neither Kubernetes YAML/.test(e.message),
  );
  // Base64 of gzip data that is not initdata keeps its precise reason.
  const corrupt = encodeBase64(new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]));
  await assert.rejects(
    () => readStandalonePolicy(enc.encode(corrupt), "c.txt"),
    (e) => e instanceof ParseError && !/neither Kubernetes YAML/.test(e.message),
  );
});

Deno.test("YAML: List items are expanded, empty documents skipped, syntax errors located", () => {
  const docs = parseYamlDocuments(
    "kind: List\nitems:\n- kind: ConfigMap\n- kind: Secret\n---\n---\nkind: Pod\n",
    "f.yml",
  );
  assert.deepEqual(docs.map((d) => d.origin), ["f.yml#0.items[0]", "f.yml#0.items[1]", "f.yml#2"]);
  assert.throws(
    () => parseYamlDocuments("a: [", "g.yml"),
    (e) => e instanceof ParseError && e.field === "g.yml#0",
  );
});

Deno.test("YAML 1.1: unquoted on/off/yes stay what Kubernetes reads", () => {
  const [doc] = parseYamlDocuments("data:\n  a: on\n  b: 0755\n", "f.yml");
  const data = (doc.value as { data: Record<string, unknown> }).data;
  assert.equal(data.a, true);
  assert.equal(data.b, 493);
});

Deno.test("only confidential pods are checked; their policy is read from the annotation", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/sub`);
  const toml = encodeInitdataToml({ "policy.rego": TEXT });
  const pod = (name: string, runtime: string, annotations: Record<string, string>) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, annotations },
    spec: { runtimeClassName: runtime, containers: [{ name: "c", image: "i" }] },
  });
  await Deno.writeTextFile(
    `${dir}/sub/pods.yaml`,
    [
      pod("a", "contrast-cc-0-1-0", {
        [INITDATA_ANNOTATION]: await encodeInitdataAnnotation(toml),
      }),
      pod("b", "runc", {}),
      pod("c", "contrast-cc", { [LEGACY_POLICY_ANNOTATION]: encodeBase64(enc.encode(TEXT)) }),
      pod("d", "contrast-cc", {}),
    ].map((d) => JSON.stringify(d)).join("\n---\n"),
  );
  await Deno.writeTextFile(`${dir}/notes.txt`, "ignored: not YAML and inside a directory");
  const inputs = await readCheckInputs([dir]);
  assert.deepEqual(inputs.workloads.map((w) => w.workload.name), ["a", "c", "d"]);
  assert.deepEqual(inputs.workloads.map((w) => w.policy?.form), ["initdata", "legacy", undefined]);
  assert.equal(inputs.standalone.length, 0);
});

Deno.test("a malformed policy annotation is reported with the pod's document and field", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/p.yml`,
    JSON.stringify({
      kind: "Pod",
      metadata: { name: "x", annotations: { [INITDATA_ANNOTATION]: "!!notbase64!!" } },
      spec: { runtimeClassName: "contrast-cc", containers: [{ name: "c", image: "i" }] },
    }),
  );
  await assert.rejects(
    () => readCheckInputs([dir]),
    (e) => e instanceof ParseError && e.field.startsWith(`${dir}/p.yml#0: `),
  );
});

Deno.test("a missing path is unavailable, not a crash", async () => {
  await assert.rejects(
    () => readCheckInputs(["/nonexistent/x.yml"]),
    (e) => (e as Error).name === "UnavailableError",
  );
});

Deno.test("a workload field of the wrong type is reported once with file, document and path", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/d.yml`,
    "kind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n" +
      "      runtimeClassName: contrast-cc\n      containers:\n        - {name: c, image: i, args: 5}\n",
  );
  await assert.rejects(
    () => readCheckInputs([dir]),
    (e) =>
      e instanceof ParseError &&
      e.field === `${dir}/d.yml#0: spec.template.spec.containers[0].args` &&
      /list/.test(e.reason),
  );
});

Deno.test("policy check reads YAML as kubectl (go-yaml v2) does and refuses what kubectl reads otherwise", () => {
  const [doc] = parseYamlDocuments("data:\n  a: 0o17\n  b: '0o17'\n  c: 1:20\n", "n.yml");
  assert.deepEqual(doc!.value, { data: { a: 15, b: "0o17", c: "1:20" } });
  for (
    const [text, field] of [
      ['spec:\n  "<<": {hostNetwork: true}\n', "k.yml[0].spec.<<"],
      ["spec:\n  workingDir: /app\u2028  - /bin/evil\n", "k.yml[0].spec.workingDir"],
      ['spec:\n  workingDir: "/app\\Lcommand: x"\n', "k.yml[0].spec.workingDir"],
    ]
  ) {
    assert.throws(
      () => parseYamlDocuments(text, "k.yml"),
      (e) => e instanceof ParseError && e.field === field,
      text,
    );
  }
});
