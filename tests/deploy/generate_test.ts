import assert from "node:assert/strict";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { encodeHex } from "../../util/bytes/mod.ts";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { parseYamlFile, readInputs } from "../../deploy/documents.ts";
import { defaultWorkloadSecretId, generate, type GenerateOptions } from "../../deploy/generate.ts";
import {
  decodeInitdataAnnotation,
  encodeInitdataToml,
  INITDATA_ANNOTATION,
  initdataDigest,
  readAnnotatedPolicy,
  renderPolicyText,
  splitPolicyText,
} from "../../policy/initdata.ts";
import { benchDeployment } from "../../testing/bench_workload.ts";
import {
  IMAGES,
  MemoryResolver,
  OWNER,
  TEST_COORDINATOR_IMAGE,
  testCoordinatorYaml,
} from "../policy/fixtures.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { settingsForRuntime } from "../../policy/runtime_profiles.ts";
import { escapeRegex } from "../../policy/regex.ts";
import { WEB_TEMPLATE_SPEC } from "../policy/web_template_spec.ts";
import { testGenerateOptions } from "./generate_options.ts";
import { assertGenerateDeterministic } from "./deterministic_generate.ts";

const RULES = await Deno.readTextFile(new URL("../../rego/rules.rego", import.meta.url));

function options(resolver = new MemoryResolver()): Promise<GenerateOptions> {
  return testGenerateOptions({
    resolver,
    workloadOwnerKeys: [OWNER],
    coordinatorImage: TEST_COORDINATOR_IMAGE,
  });
}

const APP = `# The shop front end.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # keep this comment
  namespace: shop
  annotations:
    contrast.edgeless.systems/servicemesh-ingress: "web#8080#false"
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: &labels
        app: web
    spec:
${WEB_TEMPLATE_SPEC}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: shop
data:
  greeting: 'hello'
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector:
    app: web
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata:
  name: plain
spec:
  containers:
    - name: c
      image: "127.0.0.1:5000/web:1.0"
`;

Deno.test("makes a contrast-cc Deployment confidential and leaves other resources alone", async () => {
  const result = await generate([parseYamlFile("app.yml", APP)], await options());
  assert.equal(result.policies.length, 1);
  const text = result.files[0]!.text;
  assert.match(text, /# The shop front end\./);
  assert.match(text, /name: web # keep this comment/);
  assert.match(text, /labels: &labels/);
  const docs = text.split(/^---$/m).map((d) => parseYaml(d, { version: "1.1" }));
  const spec = docs[0].spec.template.spec;
  assert.equal(spec.runtimeClassName, "contrast-cc-0-1-0");
  assert.equal(spec.initContainers[0].name, "contrast-initializer");
  assert.equal(spec.initContainers[0].image, IMAGES.get("127.0.0.1:5000/initializer:1.0")!.pinned);
  assert.deepEqual(spec.initContainers[0].env, [{
    name: "CONTRAST_COORDINATOR",
    value: "coordinator:7777",
  }]);
  assert.equal(spec.initContainers[1].name, "contrast-service-mesh");
  assert.equal(spec.initContainers[1].restartPolicy, "Always");
  // The kubelet starts the next container only once the proxy serves (its rules installed).
  assert.deepEqual(spec.initContainers[1].startupProbe, {
    tcpSocket: { port: 15100 },
    periodSeconds: 1,
    failureThreshold: 120,
  });
  // The admin port always named (empty: none), so the host cannot add one as a service link.
  // The sidecar's memory limit through the downward API: the proxy's image cannot read memory.max.
  assert.deepEqual(spec.initContainers[1].env, [
    { name: "EDG_INGRESS_PROXY_CONFIG", value: "web#8080#false" },
    { name: "EDG_ADMIN_PORT", value: "" },
    {
      name: "CONTRAST_MESH_MEMORY_LIMIT",
      valueFrom: {
        resourceFieldRef: { containerName: "contrast-service-mesh", resource: "limits.memory" },
      },
    },
  ]);
  assert.equal(spec.containers[0].image, IMAGES.get("127.0.0.1:5000/web:1.0")!.pinned);
  for (const c of [...spec.initContainers, ...spec.containers]) {
    assert.deepEqual(c.volumeMounts.find((m: { name: string }) => m.name === "contrast-secrets"), {
      name: "contrast-secrets",
      mountPath: "/contrast",
    });
  }
  assert.deepEqual(spec.volumes, [{ name: "contrast-secrets", emptyDir: { medium: "Memory" } }]);
  // The unrelated plain Pod is untouched.
  assert.equal(docs[3].spec.runtimeClassName, undefined);
  assert.equal(docs[3].spec.containers[0].image, "127.0.0.1:5000/web:1.0");

  const annotation = docs[0].spec.template.metadata.annotations[INITDATA_ANNOTATION];
  const policy = await readAnnotatedPolicy({ [INITDATA_ANNOTATION]: annotation });
  assert.equal(encodeHex(policy!.digest), result.policies[0]!.digest);
  // The initdata bytes a result gives (encoded again when read) are the annotation's.
  assert.deepEqual(result.policies[0]!.initdata, policy!.initdata!.bytes);
  const { rules, policyData } = splitPolicyText(policy!.policy);
  assert.equal(rules, RULES.endsWith("\n") ? RULES : RULES + "\n");
  const data = policyData as {
    containers: {
      name: string;
      kind: string;
      process: { env: unknown[] };
      exec_commands: string[][];
    }[];
  };
  assert.deepEqual(data.containers.map((c) => [c.kind, c.name]), [
    ["pause", "pause"],
    ["init", "contrast-initializer"],
    ["sidecar", "contrast-service-mesh"],
    ["container", "web"],
  ]);
  assert.ok(
    data.containers[3]!.process.env.some((e) =>
      JSON.stringify(e) === '{"name":"GREETING","value":"hello"}'
    ),
  );
  assert.deepEqual(data.containers[3]!.exec_commands, [["/usr/bin/web", "ready"]]);
  // The policy admits the memory limit the kubelet writes (a number, host-chosen) and nothing else.
  assert.deepEqual(
    data.containers[2]!.process.env.filter((e) => JSON.stringify(e).includes("MEMORY_LIMIT")),
    [{ name: "CONTRAST_MESH_MEMORY_LIMIT", regex: "^[0-9]+$" }],
  );

  const entry = result.manifest.Policies[result.policies[0]!.digest]!;
  assert.deepEqual(entry, {
    // Its name and the DNS names of the Service "web" selecting its pods; no "*" (workload_sans.ts).
    SANs: ["web", "web.shop", "web.shop.svc", "web.shop.svc.cluster.local"],
    WorkloadSecretID: "apps/v1/Deployment/shop/web",
    Role: "",
  });
});

Deno.test("re-running on unchanged input is byte-identical, and on generated output a fixed point", async () => {
  await assertGenerateDeterministic(APP, () => options());
});

Deno.test("resolves each image once even when used by many pods", async () => {
  const resolver = new MemoryResolver();
  const many = Array.from(
    { length: 20 },
    (_, i) => APP.split("---")[0]!.replace("name: web   #", `name: web${i}   #`),
  ).join("---\n");
  const result = await generate(
    [parseYamlFile("many.yml", many + "---\n" + APP.split("---")[1])],
    await options(resolver),
  );
  assert.equal(result.policies.length, 20);
  assert.equal(resolver.calls, 3);
});

Deno.test("coordinator role and skip-initializer annotations are honoured", async () => {
  const yaml = `${testCoordinatorYaml()}---
apiVersion: batch/v1
kind: Job
metadata:
  name: once
  annotations:
    contrast.edgeless.systems/skip-initializer: "true"
    contrast.edgeless.systems/workload-secret-id: my-secret
spec:
  template:
    spec:
      runtimeClassName: contrast-cc
      restartPolicy: Never
      containers: [{name: job, image: "127.0.0.1:5000/web:1.0"}]
`;
  const result = await generate([parseYamlFile("c.yml", yaml)], await options());
  const docs = result.files[0]!.text.split(/^---$/m).map((d) => parseYaml(d, { version: "1.1" }));
  assert.equal(docs[0].spec.template.spec.initContainers, undefined);
  assert.equal(docs[1].spec.template.spec.initContainers, undefined);
  const entries = Object.values(result.manifest.Policies);
  assert.deepEqual(entries.map((e) => e.Role).sort(), ["", "coordinator"]);
  assert.ok(entries.some((e) => e.WorkloadSecretID === "my-secret"));
  assert.ok(entries.some((e) => e.WorkloadSecretID === "apps/v1/StatefulSet/contrast/coordinator"));
});

Deno.test("handles List documents and CronJobs", async () => {
  const yaml = `apiVersion: v1
kind: List
items:
  - apiVersion: batch/v1
    kind: CronJob
    metadata: {name: nightly}
    spec:
      schedule: "0 3 * * *"
      jobTemplate:
        spec:
          template:
            spec:
              runtimeClassName: contrast-cc
              restartPolicy: OnFailure
              containers: [{name: report, image: "127.0.0.1:5000/web:1.0", command: ["/usr/bin/web", "report"]}]
`;
  const result = await generate([parseYamlFile("list.yml", yaml)], await options());
  assert.equal(result.policies.length, 1);
  assert.equal(result.policies[0]!.location, "list.yml[0].items[0]");
  const data = result.policies[0]!.policyData;
  assert.equal(data.pod.sandbox_name_regex, "^nightly-[0-9]{1,11}-([0-9]+-)?[a-z0-9]{5}$");
  assert.deepEqual(data.containers.at(-1)!.process.args, ["/usr/bin/web", "report"]);
});

async function rejects(yaml: string, pattern: RegExp): Promise<InvalidDocumentError> {
  const error = await generate([parseYamlFile("bad.yml", yaml)], await options()).then(
    () => assert.fail(`generation must fail:\n${yaml}`),
    (e) => e,
  );
  assert.ok(error instanceof InvalidDocumentError, String(error));
  assert.match(error.issues.map((i) => `${i.path}: ${i.reason}`).join("\n"), pattern);
  return error;
}

const POD = (spec: string, annotations = "") =>
  `apiVersion: v1
kind: Pod
metadata:
  name: p
${annotations}spec:
  runtimeClassName: contrast-cc
${spec}`;

Deno.test("rejects an unsupported volume type naming file, document and path", async () => {
  await rejects(
    POD(
      `  volumes: [{name: h, hostPath: {path: /}}]\n  containers: [{name: c, image: "127.0.0.1:5000/web:1.0"}]\n`,
    ),
    /bad\.yml\[0\]: spec\.volumes\[0\]\.hostPath: unsupported volume type "hostPath"/,
  );
});

Deno.test("rejects an emptyDir mounted with a subPath (a host share in Kata), the /contrast one too", async () => {
  // The injected contrast-secrets volume (the Initializer's certificates and workload secret).
  const secrets = await rejects(
    POD(
      `  containers:\n    - name: app\n      image: "127.0.0.1:5000/web:1.0"\n` +
        `      volumeMounts: [{name: contrast-secrets, mountPath: /certs, subPath: tls-config}]\n`,
    ),
    /bad\.yml\[0\]: spec\.containers\[0\]\.volumeMounts\[0\]\.subPath: container "app" of Pod "p" mounts emptyDir volume "contrast-secrets" with subPath "tls-config": .*outside the confidential VM/,
  );
  assert.equal(secrets.issues.length, 1);
  await rejects(
    POD(
      `  volumes: [{name: state, emptyDir: {medium: Memory}}]\n  initContainers:\n` +
        `    - name: setup\n      image: "127.0.0.1:5000/web:1.0"\n` +
        `      volumeMounts: [{name: state, mountPath: /s, subPathExpr: "$(POD_NAME)"}]\n` +
        `  containers: [{name: c, image: "127.0.0.1:5000/web:1.0"}]\n`,
    ),
    /spec\.initContainers\[\d\]\.volumeMounts\[0\]\.subPathExpr: container "setup" of Pod "p" mounts emptyDir volume "state"/,
  );
});

Deno.test("rejects a missing image, an unknown image and a missing ConfigMap key", async () => {
  await rejects(
    POD(`  containers: [{name: c}]\n`),
    /bad\.yml\[0\]: spec\.containers\[0\]\.image: missing image/,
  );
  await rejects(
    POD(`  containers: [{name: c, image: "127.0.0.1:5000/nope:1"}]\n`),
    /image "127\.0\.0\.1:5000\/nope:1": .*not found/,
  );
  await rejects(
    POD(
      `  containers: [{name: c, image: "127.0.0.1:5000/web:1.0", env: [{name: X, valueFrom: {configMapKeyRef: {name: cm, key: k}}}]}]\n`,
    ),
    /bad\.yml\[0\]: spec\.containers\[0\]\.env\[0\]\.valueFrom\.configMapKeyRef: ConfigMap "cm" in namespace "default" is not in the input/,
  );
});

Deno.test("rejects malformed contrast annotations", async () => {
  await rejects(
    POD(
      `  containers: [{name: c, image: "127.0.0.1:5000/web:1.0"}]\n`,
      `  annotations:\n    contrast.edgeless.systems/pod-role: boss\n`,
    ),
    /bad\.yml\[0\]: metadata\.annotations\["contrast\.edgeless\.systems\/pod-role"\]: must be "coordinator"/,
  );
  await rejects(
    `apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    metadata:
      annotations: {contrast.edgeless.systems/skip-initializer: "maybe"}
    spec:
      runtimeClassName: contrast-cc
      containers: [{name: c, image: "127.0.0.1:5000/web:1.0"}]
`,
    /spec\.template\.metadata\.annotations\["contrast\.edgeless\.systems\/skip-initializer"\]: must be "true" or "false"/,
  );
  await rejects(
    POD(
      `  containers: [{name: c, image: "127.0.0.1:5000/web:1.0"}]\n`,
      `  annotations:\n    contrast.edgeless.systems/servicemesh-ingress: "web#notaport"\n`,
    ),
    /servicemesh-ingress"\]: entry 1 "web#notaport": expected <name>#<port>#<disableTLS>/,
  );
  await rejects(
    POD(
      `  containers: [{name: c, image: "127.0.0.1:5000/web:1.0"}]\n`,
      `  annotations:\n    contrast.edgeless.systems/servicemesh-admin-interface-port: "99999"\n`,
    ),
    /servicemesh-admin-interface-port"\]: port 99999 is outside 1–65535/,
  );
});

Deno.test("rejects duplicate resources, two coordinators and invalid YAML", async () => {
  const pod = POD(`  containers: [{name: c, image: "127.0.0.1:5000/web:1.0"}]\n`);
  await rejects(`${pod}---\n${pod}`, /duplicate Pod "default\/p"/);
  const coord = (n: string) => testCoordinatorYaml().replace("name: coordinator\n", `name: ${n}\n`);
  await rejects(`${coord("a")}---\n${coord("b")}`, /exactly one workload may be the coordinator/);
  assert.throws(
    () => parseYamlFile("broken.yml", "a: [\n"),
    (e: InvalidDocumentError) => e.issues[0]!.path === "broken.yml:2:1",
  );
});

Deno.test("default workload secret ID uses core for the core group", () => {
  assert.equal(
    defaultWorkloadSecretId({ apiVersion: "v1", kind: "Pod", namespace: "ns", name: "p" }),
    "core/v1/Pod/ns/p",
  );
  assert.equal(
    defaultWorkloadSecretId({ apiVersion: "batch/v1", kind: "Job", namespace: "ns", name: "j" }),
    "batch/v1/Job/ns/j",
  );
});

Deno.test("Secret values never appear in the generated policy (presence only)", async () => {
  const yaml = POD(
    `  containers: [{name: c, image: "127.0.0.1:5000/web:1.0", env: [{name: PASS, valueFrom: {secretKeyRef: {name: s, key: p}}}]}]\n`,
  ) + `---
apiVersion: v1
kind: Secret
metadata: {name: s}
data: {p: aHVudGVyMg==}
`;
  const result = await generate([parseYamlFile("s.yml", yaml)], await options());
  const text = new TextDecoder().decode(result.policies[0]!.initdata);
  assert.ok(!text.includes("hunter2"));
  assert.ok(!result.files[0]!.text.includes("hunter2"));
  const c = result.policies[0]!.policyData.containers.at(-1)!;
  assert.deepEqual(c.process.env.find((e) => e.name === "PASS"), { name: "PASS", secret: true });
  await rejects(
    POD(
      `  containers: [{name: c, image: "127.0.0.1:5000/web:1.0", args: ["$(PASS)"], env: [{name: PASS, valueFrom: {secretKeyRef: {name: s, key: p}}}]}]\n`,
    ) + `---
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData: {p: hunter2}
`,
    /would put a Secret's value into the public policy/,
  );
});

Deno.test("reads stdin for -, and directories sorted with *.yml/*.yaml only", () =>
  withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeTextFile(`${dir}/b.yaml`, "kind: ConfigMap\n");
    await Deno.writeTextFile(`${dir}/sub/a.yml`, "kind: ConfigMap\n");
    await Deno.writeTextFile(`${dir}/notes.txt`, "not yaml: [");
    const files = await readInputs([dir, "-"], () => Promise.resolve("apiVersion: v1\n"));
    assert.deepEqual(files.map((f) => f.path), [`${dir}/b.yaml`, `${dir}/sub/a.yml`, "-"]);
    await assert.rejects(readInputs([`${dir}/missing`]), /no such file/);
  }));

Deno.test("keeps quoting styles of untouched scalars", async () => {
  const result = await generate([parseYamlFile("app.yml", APP)], await options());
  assert.match(result.files[0]!.text, /greeting: 'hello'/);
  assert.match(result.files[0]!.text, /servicemesh-ingress: "web#8080#false"/);
});

Deno.test("follows the file's sequence indentation and flow-map padding", async () => {
  const text = `apiVersion: v1
kind: Pod
metadata:
  name: p
  labels: {app: web}
spec:
  runtimeClassName: contrast-cc
  containers:
  - name: c
    image: 127.0.0.1:5000/web:1.0
`;
  const out = (await generate([parseYamlFile("p.yml", text)], await options())).files[0]!.text;
  assert.match(out, /labels: \{app: web\}/);
  assert.ok(out.includes("\n  containers:\n  - name: c\n"));
});

Deno.test("every workload kind gets a policy; --skip-initializer and --skip-service-mesh are honoured", async () => {
  const template = `    metadata:
      annotations:
        contrast.edgeless.systems/servicemesh-egress: "db#127.0.0.2:5432#db:5432"
    spec:
      runtimeClassName: contrast-cc
      containers: [{name: c, image: "127.0.0.1:5000/web:1.0"}]`;
  const kinds = [
    ["apps/v1", "Deployment"],
    ["apps/v1", "StatefulSet"],
    ["apps/v1", "DaemonSet"],
    ["apps/v1", "ReplicaSet"],
    ["v1", "ReplicationController"],
    ["batch/v1", "Job"],
  ];
  const docs = kinds.map(([api, kind]) =>
    `apiVersion: ${api}\nkind: ${kind}\nmetadata: {name: w-${
      kind!.toLowerCase()
    }}\nspec:\n  template:\n${template}\n`
  );
  docs.push(
    `apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: cron}\nspec:\n  schedule: "* * * * *"\n  jobTemplate:\n    spec:\n      template:\n${
      template.replaceAll("\n    ", "\n        ").replace(/^ {4}/, "        ")
    }\n`,
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: pod\n  annotations:\n    contrast.edgeless.systems/servicemesh-egress: "db#127.0.0.2:5432#db:5432"\nspec:\n  runtimeClassName: contrast-cc\n  containers: [{name: c, image: "127.0.0.1:5000/web:1.0"}]\n`,
  );
  const file = () => parseYamlFile("kinds.yml", docs.join("---\n"));
  const full = await generate([file()], await options());
  assert.equal(full.policies.length, 8);
  for (const p of full.policies) {
    assert.deepEqual(p.policyData.containers.map((c) => c.name), [
      "pause",
      "contrast-initializer",
      "contrast-service-mesh",
      "c",
    ], p.kind);
  }
  const bare = await generate([file()], {
    ...(await options()),
    skipInitializer: true,
    skipServiceMesh: true,
  });
  for (const p of bare.policies) {
    assert.deepEqual(p.policyData.containers.map((c) => c.name), ["pause", "c"], p.kind);
  }
});

Deno.test("containers given as YAML aliases are expanded so each pod is edited on its own", async () => {
  const yaml = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: a}
  spec:
    runtimeClassName: contrast-cc
    containers: &list
    - &app
      name: c
      image: "127.0.0.1:5000/web:1.0"
- apiVersion: v1
  kind: Pod
  metadata: {name: b}
  spec:
    runtimeClassName: contrast-cc
    containers: *list
- apiVersion: v1
  kind: Pod
  metadata: {name: e}
  spec:
    runtimeClassName: contrast-cc
    containers:
    - *app
`;
  const result = await generate([parseYamlFile("alias.yml", yaml)], await options());
  assert.equal(result.policies.length, 3);
  const text = result.files[0]!.text;
  assert.ok(
    !text.includes("*app") && !text.includes("*list"),
    "aliases to containers are expanded",
  );
  const doc = parseYaml(text, { version: "1.1" });
  const pinned = IMAGES.get("127.0.0.1:5000/web:1.0")!.pinned;
  for (const item of doc.items) {
    assert.equal(item.spec.containers.length, 1);
    assert.equal(item.spec.containers[0].image, pinned);
    assert.equal(item.spec.containers[0].volumeMounts.length, 1, item.metadata.name);
    assert.equal(item.spec.initContainers[0].name, "contrast-initializer");
  }
});

Deno.test("--namespace: resources that name none are bound to it, named ones keep theirs", async () => {
  const yaml = (ns: string) =>
    `apiVersion: v1
kind: Pod
metadata:
  name: p${ns}
spec:
  runtimeClassName: contrast-cc
  containers:
    - name: c
      image: "127.0.0.1:5000/web:1.0"
`;
  const files = () => [
    parseYamlFile("a.yml", yaml("")),
    parseYamlFile("b.yml", yaml("").replace("name: p\n", "name: q\n  namespace: shop\n")),
  ];
  const byName = (r: Awaited<ReturnType<typeof generate>>) =>
    Object.fromEntries(r.policies.map((p) => [p.name, p.policyData.pod.namespace]));
  assert.deepEqual(byName(await generate(files(), await options())), {
    p: "default",
    q: "shop",
  });
  const teamA = await generate(files(), { ...(await options()), namespace: "team-a" });
  assert.deepEqual(byName(teamA), { p: "team-a", q: "shop" });
  // The manifest's workload secret ID names the namespace the pod will run in.
  assert.ok(
    Object.values(teamA.manifest.Policies).some((p) => p.WorkloadSecretID.includes("/team-a/p")),
  );
  // Nothing in the YAML changes: the namespace is the one it is applied in (kubectl apply -n).
  assert.doesNotMatch(teamA.files[0]!.text, /namespace/);
});

Deno.test("host pull (--runtime …-host-pull): no image storage is expected of any container", async () => {
  const yaml = `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  runtimeClassName: contrast-cc
  containers:
    - name: c
      image: "127.0.0.1:5000/web:1.0"
`;
  const guest = await generate([parseYamlFile("a.yml", yaml)], await options());
  const base = await options();
  const host = await generate([parseYamlFile("a.yml", yaml)], {
    ...base,
    settings: settingsForRuntime(base.settings, "containerd-2-host-pull"),
  });
  const storages = (r: typeof guest) =>
    r.policies[0]!.policyData.containers.map((c) => c.storages.map((s) => s.driver));
  assert.ok(storages(guest).every((s) => s.includes("image_guest_pull")));
  assert.ok(storages(host).every((s) => !s.includes("image_guest_pull")));
  // The guest-pull storage pins the image digest.
  const app = guest.policies[0]!.policyData.containers.find((c) => c.name === "c")!;
  const pinned = IMAGES.get("127.0.0.1:5000/web:1.0")!.pinned;
  assert.ok(app.storages.some((s) => s.source_regex === `^${escapeRegex(pinned)}$`));
});

Deno.test("two workloads with one policy but different identities are refused, not merged", async () => {
  // A DaemonSet and a ReplicaSet of one name and pod template: their pods have the same names,
  // so the same policy, which the Coordinator cannot tell apart; the manifest held only the
  // later one's workload secret ID and either's pods got it.
  const workload = (kind: string, secretId?: string) =>
    `apiVersion: apps/v1\nkind: ${kind}\nmetadata:\n  name: agent\n  namespace: shop\n` +
    (secretId
      ? `  annotations: {contrast.edgeless.systems/workload-secret-id: ${secretId}}\n`
      : "") +
    `spec:\n  template:\n    spec:\n      runtimeClassName: contrast-cc\n` +
    `      containers: [{name: c, image: "127.0.0.1:5000/web:1.0"}]\n`;
  const error = await rejects(
    [workload("DaemonSet"), workload("ReplicaSet")].join("---\n"),
    /ReplicaSet shop\/agent has the same policy \([0-9a-f]{64}\) as DaemonSet shop\/agent/,
  );
  assert.match(
    error.message,
    /apps\/v1\/ReplicaSet\/shop\/agent.*apps\/v1\/DaemonSet\/shop\/agent/s,
  );
  // One identity given to both: accepted, one manifest entry.
  const same = await generate(
    [parseYamlFile(
      "app.yml",
      [workload("DaemonSet", "agent"), workload("ReplicaSet", "agent")].join("---\n"),
    )],
    await options(new MemoryResolver(IMAGES)),
  );
  assert.equal(same.policies.length, 2);
  assert.equal(same.policies[0]!.digest, same.policies[1]!.digest);
  assert.deepEqual(Object.values(same.manifest.Policies).map((p) => p.WorkloadSecretID), ["agent"]);
});

Deno.test("the sidecar's startup probe: its first inbound listener, else its admin /ready, else none", async () => {
  const pod = (annotations: string) =>
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n${annotations}` +
    `spec:\n  runtimeClassName: contrast-cc\n` +
    `  containers: [{name: c, image: "127.0.0.1:5000/web:1.0", ports: [{containerPort: 8080}]}]\n`;
  const probeOf = async (annotations: string) => {
    const result = await generate(
      [parseYamlFile("app.yml", pod(annotations))],
      await options(new MemoryResolver(IMAGES)),
    );
    const doc = parseYaml(result.files[0]!.text);
    return doc.spec.initContainers.find((c: { name: string }) => c.name === "contrast-service-mesh")
      .startupProbe;
  };
  const timing = { periodSeconds: 1, failureThreshold: 120 };
  // Every TCP containerPort is terminated by default: its listener.
  assert.deepEqual(
    await probeOf(`    contrast.edgeless.systems/servicemesh-ingress: ""\n`),
    { tcpSocket: { port: 15100 }, ...timing },
  );
  // No terminated port (ingress off), an admin interface: its readiness.
  assert.deepEqual(
    await probeOf(
      `    contrast.edgeless.systems/servicemesh-ingress: DISABLED\n` +
        `    contrast.edgeless.systems/servicemesh-admin-interface-port: "9901"\n`,
    ),
    { httpGet: { path: "/ready", port: 9901 }, ...timing },
  );
  // Neither: nothing to probe.
  assert.equal(
    await probeOf(
      `    contrast.edgeless.systems/servicemesh-ingress: DISABLED\n` +
        `    contrast.edgeless.systems/servicemesh-egress: "db#127.0.0.2:5432#db:5432"\n`,
    ),
    undefined,
  );
});

Deno.test("the sidecar's startup probe of each pod in one run follows its own mesh annotations", async () => {
  // One generate run remembers the probes it made by mesh configuration: pods that differ get
  // their own, in any order.
  const pod = (name: string, annotations: string, port: number) =>
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  annotations:\n${annotations}` +
    `spec:\n  runtimeClassName: contrast-cc\n` +
    `  containers: [{name: c, image: "127.0.0.1:5000/web:1.0", ports: [{containerPort: ${port}}]}]\n`;
  const ingress = `    contrast.edgeless.systems/servicemesh-ingress: ""\n`;
  const admin = `    contrast.edgeless.systems/servicemesh-ingress: DISABLED\n` +
    `    contrast.edgeless.systems/servicemesh-admin-interface-port: "9901"\n`;
  const neither = `    contrast.edgeless.systems/servicemesh-ingress: DISABLED\n` +
    `    contrast.edgeless.systems/servicemesh-egress: "db#127.0.0.2:5432#db:5432"\n`;
  const result = await generate(
    [parseYamlFile(
      "app.yml",
      [
        pod("a", ingress, 8080),
        pod("b", admin, 8080),
        pod("c", ingress, 9090),
        pod("d", neither, 8080),
        pod("e", admin, 8080),
      ].join("---\n"),
    )],
    await options(new MemoryResolver(IMAGES)),
  );
  const timing = { periodSeconds: 1, failureThreshold: 120 };
  const probes = parseAllDocuments(result.files[0]!.text).map((doc) =>
    (doc.toJS().spec.initContainers as { name: string; startupProbe?: unknown }[])
      .find((c) => c.name === "contrast-service-mesh")!.startupProbe
  );
  assert.deepEqual(probes, [
    { tcpSocket: { port: 15100 }, ...timing },
    { httpGet: { path: "/ready", port: 9901 }, ...timing },
    { tcpSocket: { port: 15100 }, ...timing },
    undefined,
    { httpGet: { path: "/ready", port: 9901 }, ...timing },
  ]);
  // The pods' port lists differ (CONTRAST_MESH_POD_PORTS).
  const env = (i: number) =>
    (parseAllDocuments(result.files[0]!.text)[i]!.toJS().spec.initContainers as {
      name: string;
      env: { name: string; value?: string }[];
    }[]).find((c) => c.name === "contrast-service-mesh")!.env;
  assert.notDeepEqual(env(0), env(2));
});

Deno.test("rejects a volume of the pod named contrast-secrets that is not the memory emptyDir", async () => {
  // Kept by injection, it received the initializer's mesh key and workload secret: a claim puts
  // them into the host's storage (and the policy, generated from the same YAML, admitted it).
  for (
    const volume of [
      "{name: contrast-secrets, persistentVolumeClaim: {claimName: leak}}",
      "{name: contrast-secrets, emptyDir: {}}",
      "{name: contrast-secrets, configMap: {name: x}}",
      "{name: contrast-secrets, emptyDir: {medium: Memory}, configMap: {name: x}}",
    ]
  ) {
    const error = await rejects(
      POD(
        `  volumes: [${volume}]\n` +
          `  containers: [{name: c, image: "127.0.0.1:5000/web:1.0"}]\n`,
      ),
      /bad\.yml\[0\]: spec\.volumes\[0\]: volume "contrast-secrets" is where the initializer writes the mesh key and the workload secret: it must be the memory emptyDir/,
    );
    assert.equal(error.issues.length, 1, volume);
  }
  // The memory emptyDir (what generate itself writes) is accepted, with a size limit too.
  const result = await generate(
    [parseYamlFile(
      "ok.yml",
      POD(
        `  volumes: [{name: contrast-secrets, emptyDir: {medium: Memory, sizeLimit: 1Mi}}]\n` +
          `  containers: [{name: c, image: "127.0.0.1:5000/web:1.0"}]\n`,
      ),
    )],
    await options(),
  );
  assert.equal(result.policies.length, 1);
});

Deno.test("every pod's initdata is what the general string functions give for its policy data", async () => {
  // The fast paths (policy data line written from the value, shared rules head, one zlib stream)
  // against renderPolicyText + encodeInitdataToml, on the benchmark's workload and the shop app.
  const bench = [0, 1, 2].map((i) => benchDeployment(i, "127.0.0.1:5000/web:1.0")).join("---\n");
  for (const text of [bench, APP]) {
    const result = await generate([parseYamlFile("app.yml", text)], await options());
    assert.ok(result.policies.length > 0);
    for (const policy of result.policies) {
      const expected = encodeInitdataToml({
        "policy.rego": renderPolicyText(RULES, policy.policyData),
      });
      assert.deepEqual(policy.initdata, expected, policy.name);
      assert.equal(policy.digest, encodeHex(await initdataDigest(expected, "sha256")), policy.name);
    }
    const docs = result.files[0]!.text.split(/^---\n/m).map((d) => parseYaml(d));
    const values = docs.flatMap((d) => {
      const v =
        (d as { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } })
          .spec?.template?.metadata?.annotations?.[INITDATA_ANNOTATION];
      return v === undefined ? [] : [v];
    });
    assert.equal(values.length, result.policies.length);
    for (const [i, value] of values.entries()) {
      assert.deepEqual(
        (await decodeInitdataAnnotation(value)).bytes,
        result.policies[i]!.initdata,
        `annotation ${i}`,
      );
    }
  }
});

Deno.test("an initializer in the input may not change where it writes the secrets or whom it trusts", async () => {
  // Injection keeps an existing contrast-initializer (only its image and trust document are
  // replaced), and the policy, generated from the same YAML, admits what it holds: options or
  // mounts that send the mesh key and workload secret to a persistentVolumeClaim (host storage)
  // passed before, under the name of contrast's own container.
  const claim = `  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]\n`;
  const withInitializer = (fields: string) =>
    POD(
      claim +
        `  initContainers:\n    - name: contrast-initializer\n      image: "127.0.0.1:5000/web:1.0"\n${fields}` +
        `  containers: [{name: c, image: "127.0.0.1:5000/web:1.0"}]\n`,
    );
  for (
    const [fields, path] of [
      [
        `      env: [{name: CONTRAST_SECRETS_DIR, value: /data/secrets}]\n`,
        "spec.initContainers[0].env[0]",
      ],
      [
        `      volumeMounts: [{name: contrast-secrets, mountPath: /unused}, {name: data, mountPath: /contrast}]\n`,
        "spec.initContainers[0].volumeMounts[0]",
      ],
      [`      args: [--secrets-dir, /data]\n`, "spec.initContainers[0].args"],
      [`      command: [/bin/sh, -c, "cp -r /contrast /data"]\n`, "spec.initContainers[0].command"],
      [`      envFrom: [{configMapRef: {name: dirs}}]\n`, "spec.initContainers[0].envFrom"],
      [`      workingDir: /data\n`, "spec.initContainers[0].workingDir"],
    ]
  ) {
    const error = await rejects(
      withInitializer(fields),
      new RegExp(`bad\\.yml\\[0\\]: ${escapeRegex(path)}: .*where the initializer writes`),
    );
    assert.ok(error.issues.length >= 1, fields);
  }
  // The mount at another path is refused too, and so is a second mount of a host volume.
  await rejects(
    withInitializer(
      `      volumeMounts: [{name: contrast-secrets, mountPath: /contrast}, {name: data, mountPath: /contrast/secrets}]\n`,
    ),
    /bad\.yml\[0\]: spec\.initContainers\[0\]\.volumeMounts\[1\]: .*where the initializer writes/,
  );
  // What generate itself writes, a Coordinator address of the settings' variable and fields that
  // change nothing of the kind (resources, a restricted securityContext) stay accepted.
  const result = await generate(
    [parseYamlFile(
      "ok.yml",
      withInitializer(
        `      env: [{name: CONTRAST_COORDINATOR, value: "coordinator.other:7777"}]\n` +
          `      volumeMounts: [{name: contrast-secrets, mountPath: /contrast}]\n` +
          `      resources: {limits: {memory: 50Mi}}\n` +
          `      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n`,
      ),
    )],
    await options(),
  );
  const init = result.policies[0]!.policyData.containers.find((c) =>
    c.name === "contrast-initializer"
  )!;
  assert.ok(
    init.process.env.some((e) =>
      e.name === "CONTRAST_COORDINATOR" && "value" in e && e.value === "coordinator.other:7777"
    ),
  );
});

Deno.test("a field generate writes may not come only from a merge key (kubectl would drop the merged one)", async () => {
  // generate adds its own key (initContainers, volumeMounts, annotations…); for kubectl an own key
  // wins over a merge, so the init container, mount or annotations the merge gave were dropped
  // from the pod applied and from its policy, while the file still showed them in the << line
  // (checked against kube-apiserver v1.37.2 by hand: the pod had neither `wipe` nor /data).
  const image = `"127.0.0.1:5000/web:1.0"`;
  for (
    const [yaml, path] of [
      [
        POD(
          `  <<: {initContainers: [{name: wipe, image: ${image}, command: [rm, -rf, /data/cache]}]}\n` +
            `  containers: [{name: c, image: ${image}}]\n`,
        ),
        "spec.initContainers",
      ],
      [
        POD(
          `  volumes: [{name: data, emptyDir: {}}]\n  containers:\n` +
            `    - <<: {volumeMounts: [{name: data, mountPath: /data}]}\n` +
            `      name: c\n      image: ${image}\n`,
        ),
        "spec.containers[0].volumeMounts",
      ],
      [
        `apiVersion: v1\nkind: Pod\nmetadata:\n  <<: {annotations: {a: b}}\n  name: p\n` +
        `spec:\n  runtimeClassName: contrast-cc\n  containers: [{name: c, image: ${image}}]\n`,
        "metadata.annotations",
      ],
      [
        `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w, labels: &l {app: w}}\n` +
        `spec:\n  selector: {matchLabels: *l}\n  template:\n    metadata:\n` +
        `      <<: {labels: *l, annotations: {contrast.edgeless.systems/servicemesh-ingress: ""}}\n` +
        `    spec:\n      runtimeClassName: contrast-cc\n      containers: [{name: c, image: ${image}}]\n`,
        "spec.template.metadata.annotations",
      ],
    ]
  ) {
    const error = await rejects(
      yaml,
      new RegExp(`bad\\.yml\\[\\d\\]: ${escapeRegex(path)}: given only through a merge key`),
    );
    assert.equal(error.issues.length, 1, JSON.stringify(error.issues));
  }
  // Merges of fields generate does not write, or that the map also sets itself, stay accepted
  // and read as kubectl reads them.
  const result = await generate(
    [parseYamlFile(
      "ok.yml",
      POD(
        `  containers:\n    - <<: {env: [{name: MODE, value: merged}], volumeMounts: []}\n` +
          `      name: c\n      image: ${image}\n      volumeMounts: []\n`,
      ),
    )],
    await options(),
  );
  const app = result.policies[0]!.policyData.containers.find((c) => c.name === "c")!;
  assert.ok(app.process.env.some((e) => e.name === "MODE" && "value" in e && e.value === "merged"));
});

Deno.test("JSON files in a directory are read as kubectl reads them; a confidential workload in one is refused", () =>
  withTempDir(async (dir) => {
    // kubectl apply -f DIR applies *.json too; before, generate skipped them without a word, so
    // such a workload was neither made confidential nor reported as left unchanged.
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: {
        runtimeClassName: "contrast-cc",
        containers: [{ name: "c", image: "127.0.0.1:5000/web:1.0" }],
      },
    };
    const plain = { ...pod, metadata: { name: "q" }, spec: { containers: pod.spec.containers } };
    await Deno.writeTextFile(`${dir}/plain.json`, JSON.stringify(plain));
    // JSON that is no Kubernetes object (a workspace kept in the folder) is not input.
    await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify({ Policies: {} }));
    await Deno.writeTextFile(`${dir}/notes.json`, "not json [");
    const files = await readInputs([dir]);
    assert.deepEqual(files.map((f) => [f.path, f.jsonInDirectory]), [
      [`${dir}/plain.json`, true],
    ]);
    const result = await generate(files, await options());
    assert.deepEqual(result.unchanged.map((u) => u.name), ["q"]);
    assert.equal(result.files[0]!.changed, false);

    await Deno.writeTextFile(`${dir}/pod.json`, JSON.stringify(pod));
    const error = await generate(await readInputs([dir]), await options()).then(
      () => assert.fail("a confidential workload in a directory's JSON file must be refused"),
      (e) => e,
    );
    assert.ok(error instanceof InvalidDocumentError, String(error));
    assert.match(
      error.issues.map((i) => `${i.path}: ${i.reason}`).join("\n"),
      new RegExp(
        `${
          escapeRegex(dir)
        }/pod\\.json\\[0\\]: spec\\.runtimeClassName: a confidential workload in a JSON file found in a directory`,
      ),
    );
    // Named on the command line, it is generated (and written as YAML) as before.
    const named = await readInputs([`${dir}/pod.json`]);
    assert.equal(named[0]!.jsonInDirectory, undefined);
    assert.equal((await generate(named, await options())).policies.length, 1);
  }));

Deno.test("manifest SANs: derived without *, extra-sans appended, --san-wildcard appends * to every entry", async () => {
  const entryOf = (r: Awaited<ReturnType<typeof generate>>) =>
    r.manifest.Policies[r.policies[0]!.digest]!.SANs;
  const plain = await generate([parseYamlFile("app.yml", APP)], await options());
  assert.ok(!entryOf(plain).includes("*"));
  assert.deepEqual(plain.sanWarnings, []);
  const wild = await generate([parseYamlFile("app.yml", APP)], {
    ...await options(),
    sanWildcard: true,
  });
  assert.deepEqual(entryOf(wild), [...entryOf(plain), "*"]);
  // The policy is the same: only the manifest entry differs.
  assert.equal(wild.policies[0]!.digest, plain.policies[0]!.digest);

  const annotated = APP.replace(
    "      labels: &labels\n",
    '      annotations: {contrast.edgeless.systems/extra-sans: "shop.example.com, 192.0.2.7"}\n' +
      "      labels: &labels\n",
  );
  const extra = await generate([parseYamlFile("app.yml", annotated)], await options());
  assert.deepEqual(entryOf(extra), [...entryOf(plain), "shop.example.com", "192.0.2.7"]);

  await rejects(
    annotated.replace("shop.example.com, 192.0.2.7", "shop..example"),
    /bad\.yml\[0\]: spec\.template\.metadata\.annotations\["contrast\.edgeless\.systems\/extra-sans"\]: entry 0: not an IP address, URI or DNS name: "shop\.\.example"/,
  );
});

Deno.test("a workload's own name becomes a SAN only as a DNS name the manifest takes", async () => {
  const pod = (meta: string) =>
    `apiVersion: v1\nkind: Pod\nmetadata: {${meta}}\nspec:\n  runtimeClassName: contrast-cc\n` +
    `  containers: [{name: c, image: "127.0.0.1:5000/web:1.0"}]\n`;
  const run = async (yaml: string) => generate([parseYamlFile("app.yml", yaml)], await options());
  // generateName "web-" names pods web-x7k2q; before, the SAN was "web-", which the manifest
  // parser refuses (a label may not end in "-"), so `contrast set` refused generate's manifest.
  const prefixed = await run(pod("generateName: web-"));
  assert.deepEqual(Object.values(prefixed.manifest.Policies).map((p) => p.SANs), [["web"]]);
  assert.deepEqual(prefixed.sanWarnings, []);
  // "web.1" is a valid Kubernetes name but no DNS SAN (an all-numeric last label): left out,
  // with a warning (the Coordinator then names the policy in a URI SAN).
  const dotted = await run(pod("name: web.1"));
  assert.deepEqual(Object.values(dotted.manifest.Policies).map((p) => p.SANs), [[]]);
  assert.equal(dotted.sanWarnings.length, 1);
  assert.match(dotted.sanWarnings[0]!, /Pod default\/web\.1: its name "web\.1" is no DNS name/);
});
