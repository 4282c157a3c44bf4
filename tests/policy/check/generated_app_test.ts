/**
 * End to end on `contrast generate` output: generate a confidential Deployment (initializer,
 * service-mesh sidecar, ConfigMap env, exec probe), then `contrast policy check --mutate` it.
 * Every legitimate request must be allowed and every tampered one denied. Until `policy/` adopts
 * the runtime facts in `policy/check/FINDINGS.md`, this test fails and its report lists the
 * requests the generated policy would block on a real Kata node.
 */
import assert from "node:assert/strict";
import { type CheckFlags, generateAndCheck } from "./generate_and_check.ts";
import { IMAGES, testSettings } from "../fixtures.ts";
import {
  type RuntimeProfile,
  settingsForEmptyDirMode,
  settingsForRuntime,
} from "../../../policy/runtime_profiles.ts";
import type { EmptyDirMode } from "../../../policy/settings.ts";
import { parse as parseYaml } from "yaml";
import { readClusterObjects, readWorkload } from "../../../policy/check/pod.ts";
import { buildRequestSequence } from "../../../policy/check/request_sequence.ts";
import { DEFAULT_NODE_RUNTIME } from "../../../policy/check/runtime_model.ts";
import { mutantsOf, stateMutantsAfter } from "../../../policy/check/mutations.ts";
import { seededRandom } from "../../../policy/check/random_ids.ts";
import { removeContainerRequest } from "../../../policy/check/agent_protocol.ts";
import { CompiledRules } from "../../../rego/evaluator.ts";
import { securePvStatefulSet } from "../../../testing/secure_pv_stateful_set.ts";
import { WEB_DEPLOYMENT_HEAD, WEB_TEMPLATE_SPEC } from "../web_template_spec.ts";

const APP = `${WEB_DEPLOYMENT_HEAD}
    metadata:
      annotations:
        contrast.edgeless.systems/servicemesh-ingress: "web#8080#false"
    spec:
${WEB_TEMPLATE_SPEC}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: shop}
data: {greeting: hello}
`;

Deno.test("generated app: every legitimate request allowed, every tampered one denied", async () => {
  // With the injected initializer and service-mesh sidecar.
  const { error, out } = await generateAndCheck("app.yml", APP, "1", { inject: true });
  assert.equal(error, undefined, out);
  assert.match(
    out,
    /^PASS: 1 pod\(s\), 0 legitimate request\(s\) denied, 0 weakness\(es\), 0 evaluation\(s\) aborted/m,
  );
});

/**
 * A Pod without a namespace, a disk-backed emptyDir (one is the most block-encrypted mode admits),
 * fsGroup, two memory emptyDirs.
 */
const NODE_APP = `apiVersion: v1
kind: Pod
metadata:
  name: store
spec:
  runtimeClassName: contrast-cc
  securityContext: {fsGroup: 2000}
  containers:
    - name: web
      image: "127.0.0.1:5000/web:1.0"
      volumeMounts:
        - {name: data, mountPath: /data}
        - {name: cache, mountPath: /cache}
        - {name: scratch, mountPath: /scratch}
  volumes:
    - {name: data, emptyDir: {}}
    - {name: cache, emptyDir: {medium: Memory}}
    - {name: scratch, emptyDir: {medium: Memory}}
`;

/** Generates NODE_APP for a node and runs `policy check --mutate` with the given flags. */
async function checkFor(
  generateFor: { runtime?: RuntimeProfile; emptydirMode?: EmptyDirMode; namespace?: string },
  checkFlags: CheckFlags,
): Promise<{ error: unknown; out: string }> {
  const settings = settingsForEmptyDirMode(
    settingsForRuntime(await testSettings(), generateFor.runtime ?? "containerd-2-guest-pull"),
    generateFor.emptydirMode,
  );
  const { error, out } = await generateAndCheck("app.yml", NODE_APP, "2", {
    settings,
    namespace: generateFor.namespace,
    checkFlags,
  });
  return { error, out };
}

Deno.test("block-encrypted emptyDirs, host pull, --namespace: legitimate allowed, tampered denied", async () => {
  for (
    const node of [
      { emptydirMode: "block-encrypted" as const },
      { runtime: "containerd-2-host-pull" as const },
      { runtime: "containerd-1.7-host-pull" as const, emptydirMode: "block-encrypted" as const },
      { runtime: "containerd-1.7-guest-pull" as const, namespace: "team-a" },
    ]
  ) {
    const { error, out } = await checkFor(node, node);
    assert.equal(error, undefined, `${JSON.stringify(node)}\n${out}`);
    assert.match(
      out,
      /^PASS: 1 pod\(s\), 0 legitimate request\(s\) denied, 0 weakness\(es\), 0 evaluation\(s\) aborted/m,
    );
  }
  // The blk mutants are among the denied ones.
  const { out } = await checkFor({ emptydirMode: "block-encrypted" }, {
    emptydirMode: "block-encrypted",
  });
  assert.match(out, /^PASS: .* 0 weak/m);
});

Deno.test("a policy checked against another node's requests is caught", async () => {
  for (
    const [generated, checked] of [
      [{ emptydirMode: "block-encrypted" as const }, {}],
      [{}, { emptydirMode: "block-encrypted" }],
      [{ runtime: "containerd-2-host-pull" as const }, {}],
      [{}, { runtime: "containerd-2-host-pull" }],
      [{ namespace: "team-a" }, {}],
    ] as const
  ) {
    const { error, out } = await checkFor(generated, checked);
    assert.ok(error, `${JSON.stringify([generated, checked])} passed:\n${out}`);
    assert.match(out, /legitimate request\(s\) denied/);
  }
});

Deno.test("block-encrypted emptyDirs get their mutants: device not encrypted, another group", () => {
  const workload = readWorkload(parseYaml(NODE_APP), "app.yml")!;
  const seq = buildRequestSequence({
    workload,
    images: new Map([["127.0.0.1:5000/web:1.0", IMAGES.get("127.0.0.1:5000/web:1.0")!]]),
    cluster: readClusterObjects([]),
    rng: seededRandom(3),
    node: { ...DEFAULT_NODE_RUNTIME, emptyDirMode: "block-encrypted" },
  });
  const web = seq.steps.find((s) =>
    s.request.type === "CreateContainerRequest" && s.context.container === "web"
  )!;
  const storages = web.request.input.storages as { driver: string; fs_group: unknown }[];
  assert.deepEqual(storages.map((s) => s.driver), [
    "image_guest_pull",
    "blk",
    "ephemeral",
    "ephemeral",
  ]);
  assert.deepEqual(storages[1]!.fs_group, { group_id: 2000 });
  const names = mutantsOf(web, seq, seededRandom(4)).map((m) => `${m.name} ${m.field}`);
  assert.ok(names.includes(`emptyDir device not encrypted storages[1].driver_options`));
  assert.ok(names.includes(`emptyDir files of another group storages[1].fs_group`));
});

Deno.test("raw block PVCs (volumeDevices): the device is allowed at its path, tampering denied", async () => {
  const yaml = `apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop}
spec:
  runtimeClassName: contrast-cc
  containers:
    - name: db
      image: "127.0.0.1:5000/web:1.0"
      volumeDevices:
        - {name: data, devicePath: /dev/xvda}
  volumes:
    - {name: data, persistentVolumeClaim: {claimName: db-data}}
`;
  const { error, out } = await generateAndCheck("db.yml", yaml, "5");
  assert.equal(error, undefined, out);
  assert.match(
    out,
    /^PASS: 1 pod\(s\), 0 legitimate request\(s\) denied, 0 weakness\(es\), 0 evaluation\(s\) aborted/m,
  );
  // The modelled request carries the device three times: OCI device, cgroup rule, agent device.
  const workload = readWorkload(parseYaml(yaml), "db.yml")!;
  const seq = buildRequestSequence({
    workload,
    images: new Map([["127.0.0.1:5000/web:1.0", IMAGES.get("127.0.0.1:5000/web:1.0")!]]),
    cluster: readClusterObjects([]),
    rng: seededRandom(6),
  });
  const create = seq.steps.find((s) =>
    s.request.type === "CreateContainerRequest" && s.context.container === "db"
  )!.request.input as Record<string, unknown> & { OCI: { Linux: Record<string, unknown> } };
  assert.deepEqual(
    (create.devices as { container_path: string }[]).map((d) => d.container_path),
    ["/dev/xvda"],
  );
  assert.deepEqual(
    (create.OCI.Linux.Devices as { Path: string }[]).map((d) => d.Path),
    ["/dev/xvda"],
  );
  const names = mutantsOf(
    seq.steps.find((s) =>
      s.request.type === "CreateContainerRequest" && s.context.container === "db"
    )!,
    seq,
    seededRandom(7),
  ).map((m) => m.name);
  for (
    const n of [
      "extra device",
      "raw device at another path",
      "OCI block device at another path",
      "cgroup rule for another block device",
    ]
  ) {
    assert.ok(names.includes(n), `${n} missing: ${names.join(", ")}`);
  }
});

Deno.test("GPUs through VFIO (nvidia.com/pgpu): CDI annotations and VFIO devices allowed, tampering denied", async () => {
  // Two GPU containers: each gets its own GPUs; a second container holding GPUs another one holds
  // is a tampered request (denied, checked by --mutate below).
  const yaml = `apiVersion: v1
kind: Pod
metadata: {name: gpu, namespace: shop}
spec:
  runtimeClassName: contrast-cc
  containers:
    - name: cuda
      image: "127.0.0.1:5000/web:1.0"
      resources:
        limits: {nvidia.com/pgpu: "2"}
    - name: train
      image: "127.0.0.1:5000/web:1.0"
      resources:
        limits: {nvidia.com/pgpu: "1"}
`;
  const { result, error, out } = await generateAndCheck("gpu.yml", yaml, "8");
  assert.equal(error, undefined, out);
  assert.match(
    out,
    /^PASS: 1 pod\(s\), 0 legitimate request\(s\) denied, 0 weakness\(es\), 0 evaluation\(s\) aborted/m,
  );
  const seq = buildRequestSequence({
    workload: readWorkload(parseYaml(yaml), "gpu.yml")!,
    images: new Map([["127.0.0.1:5000/web:1.0", IMAGES.get("127.0.0.1:5000/web:1.0")!]]),
    cluster: readClusterObjects([]),
    rng: seededRandom(9),
  });
  const step = seq.steps.find((s) =>
    s.request.type === "CreateContainerRequest" && s.context.container === "cuda"
  )!;
  const names = mutantsOf(step, seq, seededRandom(10)).map((m) => m.name);
  for (const n of ["VFIO device without its CDI annotation", "CDI annotation for one more GPU"]) {
    assert.ok(names.includes(n), `${n} missing`);
  }
  // The model gives the pod's containers distinct GPUs (cuda 0 and 1, train 2), and after each
  // GPU container is created a second one with its GPUs is among the tampered requests.
  const gpusOf = (name: string) => {
    const s = seq.steps.find((x) =>
      x.request.type === "CreateContainerRequest" && x.context.container === name
    )!;
    const a = (s.request.input.OCI as { Annotations: Record<string, string> }).Annotations;
    return Object.entries(a).filter(([k]) => k.startsWith("cdi.k8s.io/")).map(([, v]) => v);
  };
  assert.deepEqual(gpusOf("cuda"), ["nvidia.com/gpu=0", "nvidia.com/gpu=1"]);
  assert.deepEqual(gpusOf("train"), ["nvidia.com/gpu=2"]);
  const after = stateMutantsAfter(step, seq, seededRandom(11));
  const otherHolder = after.find((m) => m.name === "other container with a GPU another holds");
  assert.ok(otherHolder, "no other-holder mutant");
  assert.equal(otherHolder.expectation, "deny");
  const newInstance = after.find((m) => m.name === "new instance of a GPU container with its GPUs");
  assert.ok(newInstance, "no new-instance mutant");
  assert.equal(newInstance.expectation, "non-guarantee");

  // Through the compiled rules, on the generated pod's requests, in the state reached up to
  // cuda's creation: another container (train) with cuda's GPU 0 is denied; a new instance of cuda
  // with GPUs 0 and 1 (a restart whose earlier instance the agent still remembers) is allowed.
  const web = IMAGES.get("127.0.0.1:5000/web:1.0")!;
  const genSeq = buildRequestSequence({
    workload: readWorkload(parseYaml(result.files[0]!.text), "gpu.yml")!,
    images: new Map([[web.pinned, web]]), // generate pins the image reference
    cluster: readClusterObjects([]),
    rng: seededRandom(9),
  });
  const cuda = genSeq.steps.find((s) =>
    s.request.type === "CreateContainerRequest" && s.context.container === "cuda"
  )!;
  const rules = await CompiledRules.load();
  const ev = await rules.evaluator(result.policies[0]!.policyData, {});
  for (const s of genSeq.steps.slice(0, genSeq.steps.indexOf(cuda) + 1)) {
    assert.equal(ev.evaluate(s.request.type, s.request.input).allowed, true, s.label);
  }
  const mutants = stateMutantsAfter(cuda, genSeq, seededRandom(11));
  const other = mutants.find((m) => m.name === "other container with a GPU another holds")!;
  const again = mutants.find((m) => m.name === "new instance of a GPU container with its GPUs")!;
  assert.equal(ev.decide(other.request.type, other.request.input).allowed, false);
  assert.equal(ev.decide(again.request.type, again.request.input).allowed, true);
  // Exit then restart as the runtime sends it: RemoveContainer cuda, then CreateContainer cuda'
  // with the same GPUs (allowed); cuda' then holds them against train.
  const cudaId = cuda.context.containerId!;
  const removal = removeContainerRequest(cudaId);
  assert.equal(ev.evaluate(removal.type, removal.input).allowed, true);
  assert.equal(ev.evaluate(again.request.type, again.request.input).allowed, true);
  const held = Object.values(ev.state.containers as Record<string, { gpus?: string[] }>)
    .flatMap((c) => c.gpus ?? []);
  assert.deepEqual(held.sort(), ["nvidia.com/gpu=0", "nvidia.com/gpu=1"]);
  assert.equal(ev.decide(other.request.type, other.request.input).allowed, false);
});

Deno.test("a Pod with only generateName: policy check models its generated name, tampering denied", async () => {
  // The API server names the pod `<prefix><5 characters>`; the checker used to stop at the
  // missing metadata.name.
  const yaml = `apiVersion: v1
kind: Pod
metadata: {generateName: job-, namespace: shop}
spec:
  runtimeClassName: contrast-cc
  containers:
    - name: web
      image: "127.0.0.1:5000/web:1.0"
`;
  const { result, error, out } = await generateAndCheck("gen.yml", yaml, "8");
  assert.equal(error, undefined, out);
  assert.match(
    out,
    /^PASS: 1 pod\(s\), 0 legitimate request\(s\) denied, 0 weakness\(es\), 0 evaluation\(s\) aborted/m,
  );
  const seq = buildRequestSequence({
    workload: readWorkload(parseYaml(yaml), "gen.yml")!,
    images: new Map([["127.0.0.1:5000/web:1.0", IMAGES.get("127.0.0.1:5000/web:1.0")!]]),
    cluster: readClusterObjects([]),
    rng: seededRandom(9),
  });
  assert.match(seq.instance.podName, /^job-[a-z0-9]{5}$/);
  // A host-chosen suffix (the name reaches the hostname and metadata.name variables) is denied:
  // the pause container carrying `job-x.attacker.example` or 3 characters instead of 5.
  const rules = await CompiledRules.load();
  const at = seq.steps.findIndex((s) => s.request.type === "CreateContainerRequest");
  const pause = seq.steps[at]!.request.input as { OCI: { Annotations: Record<string, string> } };
  const ev = await rules.evaluator(result.policies[0]!.policyData, {});
  for (const s of seq.steps.slice(0, at)) ev.evaluate(s.request.type, s.request.input);
  const withName = (name: string) => {
    const r = structuredClone(pause);
    r.OCI.Annotations["io.kubernetes.cri.sandbox-name"] = name;
    return ev.decide("CreateContainerRequest", r).allowed;
  };
  assert.equal(withName(seq.instance.podName), true);
  assert.equal(withName("job-x.attacker.example"), false);
  assert.equal(withName("job-abc"), false);
});

/** A StatefulSet with an encrypted persistent volume (secure-pv). */
const SECURE_PV_APP = securePvStatefulSet();

Deno.test("secure-pv: the volume container (root, privileged, Deno command running only the image's volume programs) passes, tampering denied", async () => {
  const { result, error, out } = await generateAndCheck("db.yml", SECURE_PV_APP, "5", {
    inject: true,
  });
  assert.equal(error, undefined, out);
  assert.match(
    out,
    /^PASS: 1 pod\(s\), 0 legitimate request\(s\) denied, 0 weakness\(es\), 0 evaluation\(s\) aborted/m,
  );
  const spec = parseYaml(result.files[0]!.text).spec.template.spec;
  const pv = spec.initContainers.find((c: { name: string }) => c.name === "contrast-secure-pv");
  assert.ok(
    pv.command.includes(
      "--allow-run=/sbin/cryptsetup,/usr/bin/cmp,/sbin/blkid,/sbin/mke2fs,/bin/mount",
    ),
    "checked what generate wrote",
  );
});
