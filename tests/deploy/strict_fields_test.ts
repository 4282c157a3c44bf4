import assert from "node:assert/strict";
import { parseYamlFile } from "../../deploy/documents.ts";
import { generate } from "../../deploy/generate.ts";
import { collectResources } from "../../deploy/resources.ts";
import { unknownFieldIssues } from "../../deploy/strict_fields.ts";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { testGenerateOptions } from "./generate_options.ts";
import { generateAppArgs, runContrast } from "../helpers/contrast_cli.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

const IMAGE = '"127.0.0.1:5000/web:1.0"';

/** The paths of the unknown-field issues of `text` (one file, `app.yml`). */
async function unknownPaths(text: string): Promise<string[]> {
  const issues = await unknownFieldIssues(collectResources([parseYamlFile("app.yml", text)]));
  for (const issue of issues) assert.match(issue.reason, /^unknown field/);
  return issues.map((i) => i.path);
}

const DEPLOYMENT = (specExtra: string, containerExtra = "") =>
  `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      ${specExtra}
      containers:
        - name: web
          image: ${IMAGE}
          ${containerExtra}
`;

Deno.test("generate refuses a misspelt runtimeClassName (exit-2 error naming file, document and path)", async () => {
  const file = parseYamlFile("app.yml", DEPLOYMENT("runtimeClasName: contrast-cc"));
  const error = await generate([file], await testGenerateOptions()).then(
    () => assert.fail("accepted"),
    (e) => e,
  );
  assert.ok(error instanceof InvalidDocumentError, String(error));
  assert.deepEqual(error.issues.map((i) => [i.path, i.reason]), [[
    "app.yml[0]: spec.template.spec.runtimeClasName",
    "unknown field (kubectl's strict field validation refuses it too)",
  ]]);
});

Deno.test("unknown fields are found at every typed level of every pod-bearing kind", async () => {
  assert.deepEqual(
    await unknownPaths(DEPLOYMENT("runtimeClassName: contrast-cc", "imagePullPolice: Always")),
    ["app.yml[0]: spec.template.spec.containers[0].imagePullPolice"],
  );
  // Field names are case-sensitive, as the API server's decoder is.
  assert.deepEqual(await unknownPaths(DEPLOYMENT("RuntimeClassName: contrast-cc")), [
    "app.yml[0]: spec.template.spec.RuntimeClassName",
  ]);
  const text = `apiVersion: v1
kind: Pod
metadata: {name: p, label: {a: b}}
spec:
  initContainers: [{name: i, image: ${IMAGE}, env: [{name: A, valu: x}]}]
  containers:
    - name: c
      image: ${IMAGE}
      securityContext: {capabilities: {ad: [NET_ADMIN]}}
      resources: {limits: {cpu: 1, "example.com/anything": 2}}
  volumes: [{name: v, emptyDir: {medium: Memory, sizeLimt: 1Gi}}]
status: {phaze: Running}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: cj}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          runtimeClasName: contrast-cc
          containers: [{name: c, image: ${IMAGE}}]
---
apiVersion: v1
kind: List
items:
  - apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: s}
    spec:
      selector: {matchLabels: {app: s}}
      template:
        metadata: {labels: {app: s}}
        spec: {containers: [{name: c, image: ${IMAGE}}]}
      volumeClaimTemplates: [{metadata: {name: d}, spec: {accesMode: [ReadWriteOnce]}}]
  - apiVersion: v1
    kind: ReplicationController
    metadata: {name: rc}
    spec: {replica: 1, template: {spec: {containers: [{name: c, image: ${IMAGE}}]}}}
  - apiVersion: batch/v1
    kind: Job
    metadata: {name: j}
    spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: ${IMAGE}, "odd key": 1}]}}}
  - apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: ds}
    spec: {selector: {}, template: {spec: {containers: [{name: c, image: ${IMAGE}}]}}, extra: 1}
  - apiVersion: apps/v1
    kind: ReplicaSet
    metadata: {name: rs}
    spec: {selector: {}, template: {metadata: {annotatons: {}}, spec: {containers: []}}}
`;
  assert.deepEqual(await unknownPaths(text), [
    "app.yml[0]: metadata.label",
    "app.yml[0]: spec.initContainers[0].env[0].valu",
    "app.yml[0]: spec.containers[0].securityContext.capabilities.ad",
    "app.yml[0]: spec.volumes[0].emptyDir.sizeLimt",
    "app.yml[0]: status.phaze",
    "app.yml[1]: spec.jobTemplate.spec.template.spec.runtimeClasName",
    "app.yml[2].items[0]: spec.volumeClaimTemplates[0].spec.accesMode",
    "app.yml[2].items[1]: spec.replica",
    "app.yml[2].items[2]: spec.template.spec.containers[0].odd key",
    "app.yml[2].items[3]: spec.extra",
    "app.yml[2].items[4]: spec.template.metadata.annotatons",
  ]);
});

Deno.test("maps, raw JSON, merge keys, other kinds and other API versions are not refused", async () => {
  const text = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {any.example/key: x, RuntimeClasName: y}
  annotations: {whatever: "1", imagePullPolice: Always}
  managedFields: [{manager: m, fieldsV1: {"f:spec": {"f:anything": {}}}}]
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {unknownKey: x}
      overhead: {cpu: 250m, "vendor.example/thing": 1}
      containers:
        - &base
          name: web
          image: ${IMAGE}
          ports: [{containerPort: "8080"}]
          resources: {requests: {memory: 1Gi, nvidia.com/gpu: 1}}
        - <<: *base
          name: web2
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {runtimeClasName: x}
---
apiVersion: v1
kind: Service
metadata: {name: s}
spec: {selectr: {}}
---
apiVersion: apps/v1beta1
kind: Deployment
metadata: {name: old}
spec: {anything: 1}
`;
  assert.deepEqual(await unknownPaths(text), []);
  // A merge key brings its fields in, as kubectl reads it: an unknown one is refused.
  assert.deepEqual(
    await unknownPaths(
      `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - &base {name: a, image: ${IMAGE}}
    - <<: [*base, {imagePullPolice: Always}]
      name: b
`,
    ),
    ["app.yml[0]: spec.containers[1].imagePullPolice"],
  );
});

Deno.test("contrast generate with unknown fields: exit 2 naming each one, nothing written", () =>
  withTempDir(async (dir) => {
    const yaml = DEPLOYMENT("runtimeClasName: contrast-cc", "imagePullPolice: Always");
    await Deno.writeTextFile(`${dir}/app.yml`, yaml);
    const r = await runContrast(
      ...generateAppArgs(dir),
    );
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /app\.yml\[0\]: spec\.template\.spec\.runtimeClasName: unknown field/);
    assert.match(
      r.stderr,
      /app\.yml\[0\]: spec\.template\.spec\.containers\[0\]\.imagePullPolice: unknown field/,
    );
    assert.equal(await Deno.readTextFile(`${dir}/app.yml`), yaml);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["app.yml"]);
  }));
