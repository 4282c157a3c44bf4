/**
 * Variables shaped like Kubernetes service links (`<NAME>_PORT`, `<NAME>_SERVICE_HOST`, …) are
 * admitted with any value in every container, since the namespace's Services are not known when
 * the policy is generated, unless the container names the variable itself. contrast's own
 * programs read some such names: the mesh proxy `EDG_ADMIN_PORT`, the Coordinator
 * `CONTRAST_{USER,MESH,PROBE,TRANSIT}_PORT`. Each must be named in the container it configures, so
 * the host cannot set it: an `EDG_ADMIN_PORT=8080` added to a sidecar without an admin interface
 * took port 8080 out of the proxy's mutual-TLS redirects and opened it in the `filter INPUT` chain
 * (the admin port is admitted from outside).
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { parseYamlFile } from "../../../deploy/documents.ts";
import { generate } from "../../../deploy/generate.ts";
import { MESH_SIDECAR_NAME } from "../../../deploy/annotations.ts";
import { readAnnotatedPolicy, splitPolicyText } from "../../../policy/initdata.ts";
import { readClusterObjects, readWorkload } from "../../../policy/check/pod.ts";
import { buildRequestSequence } from "../../../policy/check/request_sequence.ts";
import { seededRandom } from "../../../policy/check/random_ids.ts";
import { CompiledRules } from "../../../rego/evaluator.ts";
import {
  ADMIN_PORT_ENV,
  EGRESS_SANS_ENV,
  ENV_SOURCES,
  MEMORY_LIMIT_ENV,
  parseMeshConfig,
} from "../../../protocol/mesh_config.ts";
import { transparentRules } from "../../../meshproxy/iptables.ts";
import {
  IMAGES,
  MemoryResolver,
  OWNER,
  TEST_COORDINATOR_IMAGE,
  TEST_REFERENCE_VALUES,
  testSettings,
} from "../fixtures.ts";
import { coordinatorYaml } from "../../../deploy/coordinator_yaml.ts";
import { WEB_DEPLOYMENT_HEAD } from "../web_template_spec.ts";

/** The Coordinator's port variables (`coordinator/main.ts`), each shaped like a service link. */
const PORT_NAMES = [
  "CONTRAST_USER_PORT",
  "CONTRAST_MESH_PORT",
  "CONTRAST_PROBE_PORT",
  "CONTRAST_TRANSIT_PORT",
];

const RULES = await Deno.readTextFile(new URL("../../../rego/rules.rego", import.meta.url));

const APP = `${WEB_DEPLOYMENT_HEAD}
    metadata:
      annotations:
        contrast.edgeless.systems/servicemesh-ingress: ""
        contrast.edgeless.systems/servicemesh-egress: "emoji#127.137.0.1:8081#emoji:8801"
    spec:
      runtimeClassName: contrast-cc
      containers:
        - name: web
          image: "127.0.0.1:5000/web:1.0"
          ports:
            - containerPort: 8080
`;

/** The generated Deployment and its policy data. */
async function generated(): Promise<{ doc: unknown; policyData: unknown }> {
  const result = await generate([parseYamlFile("app.yml", APP)], {
    settings: await testSettings(),
    resolver: new MemoryResolver(IMAGES),
    rules: RULES,
    referenceValues: { snp: [], tdx: [] },
    workloadOwnerKeys: [OWNER],
    seedshareOwnerKeys: [],
    skipInitializer: false,
    skipServiceMesh: false,
  });
  const doc = parseAllDocuments(result.files[0]!.text)[0]!.toJS() as {
    spec: { template: { metadata: { annotations: Record<string, string> } } };
  };
  const policy = await readAnnotatedPolicy(doc.spec.template.metadata.annotations);
  return { doc, policyData: splitPolicyText(policy!.policy).policyData };
}

/**
 * The generated Deployment's agent request sequence (seeded) and an evaluator of its policy; the
 * caller disposes of the evaluator (`using`).
 */
async function generatedRequests() {
  const { doc, policyData } = await generated();
  const seq = buildRequestSequence({
    workload: readWorkload(doc, "app.yml#0")!,
    images: new Map([...IMAGES.values()].map((i) => [i.pinned, i])),
    cluster: readClusterObjects([doc]),
    rng: seededRandom(7),
  });
  const rules = await CompiledRules.load();
  return { seq, evaluator: await rules.evaluator(policyData) };
}

/**
 * Walks the generated requests in order with an evaluator of the generated policy: at the mesh
 * sidecar's CreateContainerRequest, `check(env, allowed)` runs with the request's Env, where
 * `allowed(vars)` is whether the same request with Env `vars` is admitted; with `admitEach`,
 * every request is then evaluated (and must be allowed), so later ones see the state earlier
 * ones left. Asserts that there is exactly one sidecar request.
 */
async function checkSidecarEnv(
  admitEach: boolean,
  check: (env: string[], allowed: (vars: string[]) => boolean) => void,
): Promise<void> {
  const { seq, evaluator } = await generatedRequests();
  using ev = evaluator;
  let checked = 0;
  for (const step of seq.steps) {
    if (step.request.type === "CreateContainerRequest" && step.label.includes(MESH_SIDECAR_NAME)) {
      const input = step.request.input as { OCI: { Process: { Env: string[] } } };
      const allowed = (vars: string[]) =>
        ev.decide(step.request.type, {
          ...input,
          OCI: { ...input.OCI, Process: { ...input.OCI.Process, Env: vars } },
        }).allowed;
      check(input.OCI.Process.Env, allowed);
      checked++;
    }
    if (admitEach) {
      assert.equal(ev.evaluate(step.request.type, step.request.input).allowed, true, step.label);
    }
  }
  assert.equal(checked, 1);
}

Deno.test("the host cannot give the mesh sidecar an admin port as a service link", async () => {
  await checkSidecarEnv(true, (env, allowed) => {
    const others = env.filter((e) => !e.startsWith(`${ADMIN_PORT_ENV}=`));
    // An ordinary service link is admitted (the runtime sends them) ...
    assert.equal(allowed([...env, "EMOJI_SERVICE_HOST=10.0.0.7"]), true);
    // ... but not one that configures the proxy, in place of the generated one or beside it.
    for (const value of ["8080", "15100", "tcp://10.0.0.7:9901"]) {
      const link = `${ADMIN_PORT_ENV}=${value}`;
      assert.equal(allowed([...others, link]), false, link);
      assert.equal(allowed([...env, link]), false, link);
    }
  });
});

Deno.test("the host cannot give the mesh sidecar egress SANs of its choosing", async () => {
  // The app's egress target `emoji` is outside the input: no qualified SAN, no variable; one the
  // host added would make the proxy accept a server by a name of the host's choosing.
  await checkSidecarEnv(false, (env, allowed) => {
    assert.ok(!env.some((e) => e.startsWith(`${EGRESS_SANS_ENV}=`)), env.join("\n"));
    const added = `${EGRESS_SANS_ENV}=emoji#emoji.other.svc.cluster.local`;
    assert.equal(allowed([...env, added]), false, added);
  });
});

Deno.test("the sidecar's memory limit from the downward API: the policy admits any number the kubelet writes, nothing else", async () => {
  await checkSidecarEnv(true, (env, allowed) => {
    const others = env.filter((e) => !e.startsWith(`${MEMORY_LIMIT_ENV}=`));
    assert.equal(others.length, env.length - 1, "the request carries it");
    // Host-chosen, so any number: a sidecar limit, a node's allocatable memory, a huge value
    // (which only lifts the memory cap).
    for (const value of ["536870912", "16623902720", "9".repeat(30)]) {
      assert.equal(allowed([...others, `${MEMORY_LIMIT_ENV}=${value}`]), true, value);
    }
    for (const value of ["", "512Mi", "1 2", "0x10", "536870912\nEDG_ADMIN_PORT=8080", "-1"]) {
      assert.equal(
        allowed([...others, `${MEMORY_LIMIT_ENV}=${value}`]),
        false,
        JSON.stringify(value),
      );
    }
  });
});

Deno.test("what such a variable did: the pod port left mutual TLS and was opened to the network", () => {
  const config = parseMeshConfig({ podPorts: "8080", admin: "8080" }, ENV_SOURCES);
  assert.deepEqual(config.inbound, []);
  const rules = transparentRules({
    redirects: [],
    plainPorts: config.plainPorts,
    adminPort: config.adminPort,
    ingressEnabled: true,
  });
  assert.match(rules.restore, /--dport 8080 -j RETURN/);
  // The generated, empty value configures no admin interface.
  assert.equal(parseMeshConfig({ podPorts: "8080", admin: "" }, ENV_SOURCES).inbound.length, 1);
});

// Checked sound in review: the Coordinator's pod sets enableServiceLinks: false, so its policy
// admits no service-link-shaped variable it does not name, the port variables included.
Deno.test("the host cannot choose the Coordinator's ports as service links", async () => {
  for (const replicas of [1, 3]) {
    const result = await generate([parseYamlFile(
      "coordinator.yml",
      coordinatorYaml({
        image: TEST_COORDINATOR_IMAGE,
        runtimeClassName: "contrast-cc",
        namespace: "shop",
        replicas,
      }),
    )], {
      settings: await testSettings(),
      coordinatorImage: TEST_COORDINATOR_IMAGE,
      resolver: new MemoryResolver(IMAGES),
      rules: RULES,
      referenceValues: TEST_REFERENCE_VALUES,
      workloadOwnerKeys: [OWNER],
      seedshareOwnerKeys: [],
    });
    const docs = parseAllDocuments(result.files[0]!.text).map((d) => d.toJS());
    const doc = docs.find((d) => d.kind === "StatefulSet") as {
      spec: { template: { metadata: { annotations: Record<string, string> } } };
    };
    const policy = await readAnnotatedPolicy(doc.spec.template.metadata.annotations);
    const seq = buildRequestSequence({
      workload: readWorkload(doc, "coordinator.yml#3")!,
      images: new Map([...IMAGES.values()].map((i) => [i.pinned, i])),
      cluster: readClusterObjects(docs),
      rng: seededRandom(7),
    });
    const rules = await CompiledRules.load();
    using ev = await rules.evaluator(splitPolicyText(policy!.policy).policyData);
    let checked = 0;
    for (const step of seq.steps) {
      assert.equal(ev.evaluate(step.request.type, step.request.input).allowed, true, step.label);
      const input = step.request.input as { OCI?: { Process?: { Env?: string[] } } };
      if (step.request.type !== "CreateContainerRequest" || !step.label.includes("coordinator")) {
        continue;
      }
      const env = input.OCI!.Process!.Env!;
      const allowed = (vars: string[]) =>
        ev.decide(step.request.type, {
          ...input,
          OCI: { ...input.OCI, Process: { ...input.OCI!.Process, Env: vars } },
        }).allowed;
      for (const name of PORT_NAMES) {
        const others = env.filter((e) => !e.startsWith(`${name}=`));
        assert.equal(allowed([...others, `${name}=9999`]), false, `${name}, ${replicas} replicas`);
      }
      checked++;
    }
    assert.equal(checked, 1, `${replicas} replicas`);
  }
});
