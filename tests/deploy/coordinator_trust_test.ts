/**
 * `contrast generate` pins the Coordinator in every initializer: the trust document in
 * `CONTRAST_COORDINATOR_TRUST` names the coordinator-role pod's policy digest and the manifest's
 * reference values, and each pod's policy pins that exact value.
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { parseYamlFile } from "../../deploy/documents.ts";
import { generate, type GenerateOptions } from "../../deploy/generate.ts";
import { COORDINATOR_TRUST_ENV, parseCoordinatorTrust } from "../../atls/coordinator_trust.ts";
import { coordinatorPolicyDigest, parseManifest } from "../../manifest/manifest.ts";
import { CompiledRules } from "../../rego/evaluator.ts";
import { readCheckInputs } from "../../policy/check/inputs.ts";
import { buildRequestSequence } from "../../policy/check/request_sequence.ts";
import { seededRandom } from "../../policy/check/random_ids.ts";
import type { ResolvedImage } from "../../oci/types.ts";
import {
  IMAGES,
  MemoryResolver,
  NEXT_COORDINATOR_IMAGE,
  OWNER,
  TEST_COORDINATOR_IMAGE,
  TEST_REFERENCE_VALUES,
  testCoordinatorYaml,
  testSettings,
} from "../policy/fixtures.ts";
import { testGenerateOptions } from "./generate_options.ts";
import { assertGenerateDeterministic } from "./deterministic_generate.ts";
import { WEB_DEPLOYMENT_HEAD } from "../policy/web_template_spec.ts";

const RV = TEST_REFERENCE_VALUES;

function options(referenceValues = RV): Promise<GenerateOptions> {
  return testGenerateOptions({
    resolver: new MemoryResolver(IMAGES),
    coordinatorImage: TEST_COORDINATOR_IMAGE,
    referenceValues,
    workloadOwnerKeys: [OWNER],
    seedshareOwnerKeys: [],
  });
}

const coordinator = (image = TEST_COORDINATOR_IMAGE) => testCoordinatorYaml(image);

const WEB = `${WEB_DEPLOYMENT_HEAD}
    spec:
      runtimeClassName: contrast-cc
      containers:
        - name: web
          image: "127.0.0.1:5000/web:1.0"
`;

type Env = { name: string; value?: string }[];

function docsOf(text: string) {
  return text.split(/^---$/m).map((d) => parseYaml(d, { version: "1.1" }));
}

function trustEnvOf(doc: { spec: { template: { spec: { initContainers?: { env?: Env }[] } } } }) {
  const env = doc.spec.template.spec.initContainers?.[0]?.env ?? [];
  return env.filter((e) => e.name === COORDINATOR_TRUST_ENV);
}

Deno.test("every initializer carries the Coordinator's policy digest and the reference values", async () => {
  const result = await generate(
    [parseYamlFile("app.yml", `${coordinator()}---\n${WEB}`)],
    await options(),
  );
  const [coord, web] = docsOf(result.files[0]!.text);
  assert.equal(coord.spec.template.spec.initContainers, undefined, "the Coordinator has none");
  const [entry, ...more] = trustEnvOf(web);
  assert.equal(more.length, 0);
  const manifest = parseManifest(new TextEncoder().encode(result.manifestText));
  const trust = parseCoordinatorTrust(entry!.value!);
  assert.equal(trust.policyHash, coordinatorPolicyDigest(manifest));
  assert.equal(
    trust.policyHash,
    result.policies.find((p) => p.name === "coordinator")!.digest,
  );
  assert.deepEqual(
    JSON.parse(entry!.value!).ReferenceValues,
    JSON.parse(JSON.stringify(result.manifest.ReferenceValues)),
  );
  // The other settings variables stay.
  assert.ok(
    web.spec.template.spec.initContainers[0].env.some((e: { name: string }) =>
      e.name === "CONTRAST_COORDINATOR"
    ),
  );
});

Deno.test("the pod's policy pins the exact trust value", async () => {
  const result = await generate(
    [parseYamlFile("app.yml", `${coordinator()}---\n${WEB}`)],
    await options(),
  );
  const web = result.policies.find((p) => p.name === "web")!;
  const value = trustEnvOf(docsOf(result.files[0]!.text)[1])[0]!.value!;
  const data = web.policyData as unknown as {
    containers: { name: string; process: { env: { name: string; value?: string }[] } }[];
  };
  const init = data.containers.find((c) => c.name === "contrast-initializer")!;
  assert.deepEqual(init.process.env.filter((e) => e.name === COORDINATOR_TRUST_ENV), [
    { name: COORDINATOR_TRUST_ENV, value },
  ]);
});

Deno.test("the agent's rules refuse an initializer started with another trust value", async () => {
  const result = await generate(
    [parseYamlFile("app.yml", `${coordinator()}---\n${WEB}`)],
    await options(),
  );
  const dir = await Deno.makeTempDir({ prefix: "trust-policy-" });
  try {
    await Deno.writeTextFile(`${dir}/app.yml`, result.files[0]!.text);
    const inputs = await readCheckInputs([dir]);
    const { workload, policy } = inputs.workloads.find((w) => w.workload.name === "web")!;
    const resolver = new MemoryResolver(IMAGES);
    const images = new Map<string, ResolvedImage>();
    for (const c of [...workload.spec.initContainers, ...workload.spec.containers]) {
      images.set(c.image, await resolver.resolve(c.image));
    }
    const sequence = buildRequestSequence({
      workload,
      images,
      cluster: inputs.cluster,
      rng: seededRandom(7),
    });
    const evaluator = await (await CompiledRules.load()).evaluator(policy!.policyData);
    const forged = result.files[0]!.text.includes("CoordinatorPolicyHash")
      ? `${COORDINATOR_TRUST_ENV}=${
        JSON.stringify({ CoordinatorPolicyHash: "00".repeat(32), ReferenceValues: RV })
      }`
      : assert.fail("no trust value in the YAML");
    let checked = 0;
    for (const step of sequence.steps) {
      const isInitializer = step.request.type === "CreateContainerRequest" &&
        step.context.container === "contrast-initializer";
      if (isInitializer) {
        const env = (step.request.input as { OCI: { Process: { Env: string[] } } }).OCI.Process
          .Env;
        const at = env.findIndex((e) => e.startsWith(`${COORDINATOR_TRUST_ENV}=`));
        assert.ok(at >= 0, "the request carries the trust value");
        const tampered = structuredClone(step.request.input) as typeof step.request.input & {
          OCI: { Process: { Env: string[] } };
        };
        tampered.OCI.Process.Env[at] = forged;
        assert.equal(evaluator.decide(step.request.type, tampered).allowed, false, "forged");
        const dropped = structuredClone(tampered);
        dropped.OCI.Process.Env.splice(at, 1);
        assert.equal(evaluator.decide(step.request.type, dropped).allowed, false, "dropped");
        checked++;
      }
      const decision = evaluator.evaluate(step.request.type, step.request.input);
      assert.equal(decision.allowed, true, `${step.label}: ${decision.error ?? "denied"}`);
    }
    assert.equal(checked, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("output stays deterministic: byte-identical re-run and a fixed point on its output", async () => {
  await assertGenerateDeterministic(`${coordinator()}---\n${WEB}`, () => options());
});

Deno.test("a changed Coordinator changes every pinned trust value (and so every workload policy)", async () => {
  const first = await generate(
    [parseYamlFile("app.yml", `${coordinator()}---\n${WEB}`)],
    await options(),
  );
  // Re-run on the generated output with the next release's Coordinator (a lock update): the
  // value is replaced in place.
  const docs = first.files[0]!.text.split(/^---$/m);
  const next = `${coordinator(NEXT_COORDINATOR_IMAGE)}---${docs[1]}`;
  const second = await generate([parseYamlFile("app.yml", next)], {
    ...await options(),
    coordinatorImage: NEXT_COORDINATOR_IMAGE,
  });
  const before = parseCoordinatorTrust(trustEnvOf(docsOf(first.files[0]!.text)[1])[0]!.value!);
  const afterEntries = trustEnvOf(docsOf(second.files[0]!.text)[1]);
  assert.equal(afterEntries.length, 1, "replaced, not added");
  const after = parseCoordinatorTrust(afterEntries[0]!.value!);
  assert.notEqual(after.policyHash, before.policyHash);
  assert.equal(after.policyHash, second.policies.find((p) => p.name === "coordinator")!.digest);
  assert.notEqual(
    second.policies.find((p) => p.name === "web")!.digest,
    first.policies.find((p) => p.name === "web")!.digest,
  );
});

Deno.test("without a Coordinator in the input no trust value is pinned, and a stale one is removed", async () => {
  const alone = await generate([parseYamlFile("web.yml", WEB)], await options());
  assert.deepEqual(trustEnvOf(docsOf(alone.files[0]!.text)[0]), []);
  const both = await generate(
    [parseYamlFile("app.yml", `${coordinator()}---\n${WEB}`)],
    await options(),
  );
  const generatedWeb = both.files[0]!.text.split(/^---$/m)[1]!;
  const rerun = await generate([parseYamlFile("web.yml", generatedWeb)], await options());
  assert.deepEqual(trustEnvOf(docsOf(rerun.files[0]!.text)[0]), []);
});

Deno.test("a settings file cannot smuggle in its own trust value", async () => {
  const settings = await testSettings();
  const o = {
    ...await options(),
    settings: {
      ...settings,
      initializer: {
        ...settings.initializer,
        env: [...settings.initializer.env, { name: COORDINATOR_TRUST_ENV, value: "attacker" }],
      },
    },
  };
  const result = await generate([parseYamlFile("app.yml", `${coordinator()}---\n${WEB}`)], o);
  const entries = trustEnvOf(docsOf(result.files[0]!.text)[1]);
  assert.equal(entries.length, 1);
  assert.notEqual(entries[0]!.value, "attacker");
  parseCoordinatorTrust(entries[0]!.value!);
});

Deno.test("reference values that cannot be pinned are reported, and nothing is generated", async () => {
  await assert.rejects(
    generate(
      [parseYamlFile("app.yml", `${coordinator()}---\n${WEB}`)],
      await options({ snp: [], tdx: [] }),
    ),
    (e: unknown) =>
      e instanceof InvalidDocumentError &&
      e.issues.some((i) =>
        /trust document pinned in the initializers/.test(i.path) && /at least one/.test(i.reason)
      ),
  );
});

Deno.test("a user-declared initializer cannot source the trust value elsewhere or twice", async () => {
  const web = `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  runtimeClassName: contrast-cc
  initContainers:
    - name: contrast-initializer
      image: "127.0.0.1:5000/initializer:1.0"
      env:
        - name: CONTRAST_COORDINATOR_TRUST
          valueFrom: {configMapKeyRef: {name: attacker, key: trust}}
        - name: CONTRAST_COORDINATOR
          value: "coordinator.other:7777"
        - name: CONTRAST_COORDINATOR_TRUST
          value: "second"
  containers: [{name: web, image: "127.0.0.1:5000/web:1.0"}]
`;
  const result = await generate(
    [parseYamlFile("app.yml", `${coordinator()}---\n${web}`)],
    await options(),
  );
  const doc = docsOf(result.files[0]!.text)[1];
  const env = doc.spec.initContainers[0].env as Env & { valueFrom?: unknown }[];
  // The settings' variables stay, with the input's value (anything else is refused:
  // generate_test.ts "an initializer in the input may not change where it writes…").
  assert.deepEqual(env.map((e) => e.name), [COORDINATOR_TRUST_ENV, "CONTRAST_COORDINATOR"]);
  assert.equal(env[1]!.value, "coordinator.other:7777");
  assert.equal(env[0]!.valueFrom, undefined);
  assert.equal(
    parseCoordinatorTrust(env[0]!.value!).policyHash,
    result.policies.find((p) => p.name === "coordinator")!.digest,
  );
});
