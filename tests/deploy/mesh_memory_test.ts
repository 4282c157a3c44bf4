/**
 * The injected sidecar's memory limit and request, set per workload by the annotations
 * `contrast.edgeless.systems/servicemesh-memory-limit` / `-request`: checked as Kubernetes
 * quantities (the file and annotation named in every error), written into the sidecar's
 * `resources`, and the generated policy still admits the pod (`policy check --mutate`: every
 * legitimate request allowed, every tampered one denied).
 */
import assert from "node:assert/strict";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { parseYamlFile } from "../../deploy/documents.ts";
import { generate, type GenerateOptions } from "../../deploy/generate.ts";
import { parseMemoryQuantity } from "../../deploy/memory_quantity.ts";
import { generateAndCheck } from "../policy/check/generate_and_check.ts";
import { testGenerateOptions } from "./generate_options.ts";
import { WEB_DEPLOYMENT_HEAD } from "../policy/web_template_spec.ts";

const ING = "contrast.edgeless.systems/servicemesh-ingress";
const LIMIT = "contrast.edgeless.systems/servicemesh-memory-limit";
const REQUEST = "contrast.edgeless.systems/servicemesh-memory-request";

/** The test generate options without reference values. */
function options(): Promise<GenerateOptions> {
  return testGenerateOptions({ referenceValues: { snp: [], tdx: [] } });
}

/** A Deployment whose pod template has `annotations`. */
const app = (annotations: Record<string, string>) =>
  `${WEB_DEPLOYMENT_HEAD}
    metadata:
      annotations:
${Object.entries(annotations).map(([k, v]) => `        ${k}: "${v}"`).join("\n")}
    spec:
      runtimeClassName: contrast-cc
      containers:
        - name: web
          image: "127.0.0.1:5000/web:1.0"
          ports: [{containerPort: 8080}]
`;

/** The injected sidecar of the generated Deployment. */
function sidecarOf(text: string): Record<string, unknown> {
  const doc = parseAllDocuments(text)[0]!.toJSON();
  const init = doc.spec.template.spec.initContainers as Record<string, unknown>[];
  return init.find((c) => c.name === "contrast-service-mesh")!;
}

Deno.test("memory quantities: exact bytes, Kubernetes syntax", () => {
  const bytes = (t: string) => {
    const r = parseMemoryQuantity(t);
    return "bytes" in r ? r.bytes : r.reason;
  };
  assert.equal(bytes("256Mi"), 268435456n);
  assert.equal(bytes("1Gi"), 1073741824n);
  assert.equal(bytes("0.5Gi"), 536870912n);
  assert.equal(bytes(".5Gi"), 536870912n);
  assert.equal(bytes("500M"), 500000000n);
  assert.equal(bytes("1e9"), 1000000000n);
  assert.equal(bytes("129e6"), 129000000n);
  assert.equal(bytes("+64Mi"), 67108864n);
  assert.equal(bytes("1024"), 1024n);
  assert.equal(bytes("8Ei"), '"8Ei" is more than 2^63 - 1 bytes');
  assert.match(String(bytes("256mi")), /not a Kubernetes quantity/);
  assert.match(String(bytes("256 Mi")), /not a Kubernetes quantity/);
  assert.match(String(bytes("256MB")), /not a Kubernetes quantity/);
  assert.match(String(bytes("")), /not a Kubernetes quantity/);
  assert.match(String(bytes("-1Gi")), /must be more than 0 bytes/);
  assert.match(String(bytes("0")), /must be more than 0 bytes/);
  assert.match(String(bytes("100m")), /not a whole number of bytes \("m" is a thousandth/);
  assert.match(String(bytes("1.5")), /not a whole number of bytes/);
  assert.match(String(bytes("1e-3")), /not a whole number of bytes/);
  assert.match(String(bytes("1e99999")), /exponent out of range/);
});

Deno.test("generate refuses a malformed sidecar memory setting, naming file and annotation", async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { [ING]: "", [LIMIT]: "256MB" },
      /^bad\.yml\[0\]: spec\.template\.metadata\.annotations\["contrast\.edgeless\.systems\/servicemesh-memory-limit"\]: "256MB" is not a Kubernetes quantity/m,
    ],
    [
      { [ING]: "", [REQUEST]: "100m" },
      /servicemesh-memory-request"\]: "100m" is not a whole number of bytes/,
    ],
    [{ [ING]: "", [LIMIT]: "-1Gi" }, /servicemesh-memory-limit"\]: "-1Gi" must be more than 0/],
    [
      { [ING]: "", [LIMIT]: "128Mi", [REQUEST]: "256Mi" },
      /servicemesh-memory-request"\]: 256Mi \(268435456 bytes\) is more than the limit 128Mi \(134217728 bytes\)/,
    ],
    // Checked even where it adds no sidecar.
    [{ [LIMIT]: "lots" }, /servicemesh-memory-limit"\]: "lots" is not a Kubernetes quantity/],
  ];
  for (const [annotations, pattern] of cases) {
    const error = await generate([parseYamlFile("bad.yml", app(annotations))], await options())
      .then(() => assert.fail("generation must fail"), (e) => e);
    assert.ok(error instanceof InvalidDocumentError, String(error));
    assert.match(error.issues.map((i) => `${i.path}: ${i.reason}`).join("\n"), pattern);
  }
});

Deno.test("the memory annotations become the sidecar's resources; none without them", async () => {
  const generated = async (annotations: Record<string, string>) =>
    (await generate([parseYamlFile("p.yml", app(annotations))], await options())).files[0]!.text;
  const both = await generated({ [ING]: "", [LIMIT]: "256Mi", [REQUEST]: "128Mi" });
  assert.deepEqual(sidecarOf(both).resources, {
    limits: { memory: "256Mi" },
    requests: { memory: "128Mi" },
  });
  // Re-running generate on its output changes nothing.
  const again = (await generate([parseYamlFile("p.yml", both)], await options())).files[0]!.text;
  assert.equal(again, both);
  assert.deepEqual(
    sidecarOf(await generated({ [ING]: "", [LIMIT]: "1Gi" })).resources,
    { limits: { memory: "1Gi" } },
  );
  assert.equal(sidecarOf(await generated({ [ING]: "" })).resources, undefined);
  // The limit alone adds no sidecar.
  const plain = await generated({ [LIMIT]: "256Mi" });
  assert.ok(!plain.includes("contrast-service-mesh"), plain);
  assert.ok(parseYaml(both.split("\n---\n")[0]!));
});

Deno.test("policy check --mutate admits the pod with a sidecar memory limit, denies every mutant", async () => {
  const { result, error, out } = await generateAndCheck(
    "app.yml",
    app({ [ING]: "web#8080#false", [LIMIT]: "256Mi", [REQUEST]: "128Mi" }),
    "3",
    { inject: true },
  );
  assert.deepEqual(sidecarOf(result.files[0]!.text).resources, {
    limits: { memory: "256Mi" },
    requests: { memory: "128Mi" },
  });
  assert.equal(error, undefined, out);
  assert.match(
    out,
    /^PASS: 1 pod\(s\), 0 legitimate request\(s\) denied, 0 weakness\(es\), 0 evaluation\(s\) aborted/m,
  );
  console.log(out.split("\n").find((l) => /^PASS/.test(l)));
});
