/**
 * Policy data built with the run's shared values (`policy/shared_values.ts`) is the same data as
 * built without them, for pods that differ in everything the shared parts could depend on; the
 * shared parts are frozen and the same objects in every pod; nothing is shared for other settings.
 */
import assert from "node:assert/strict";
import { buildPolicyData, type PodPolicyInput } from "../../policy/policy_data.ts";
import { frozenSettings, SharedPolicyValues } from "../../policy/shared_values.ts";
import type { Settings } from "../../policy/settings.ts";
import { IMAGES, samplePodSpec, testSettings } from "./fixtures.ts";
import { exactRegex as exactRegexOf } from "../../policy/regex.ts";

const web = IMAGES.get("127.0.0.1:5000/web:1.0")!;
/** The web image again under another digest, whose files give its user other ids. */
const otherWeb = {
  ...web,
  digest: `sha256:${"f".repeat(64)}`,
  pinned: `${web.repository}@sha256:${"f".repeat(64)}`,
  passwd: "root:x:0:0::/:/bin/sh\nweb:x:4242:4343::/:/bin/sh\n",
  group: "root:x:0:\nextra:x:2000:web\nmore:x:3000:web\n",
};
const images = new Map([...IMAGES.values(), otherWeb].map((i) => [i.pinned, i]));

function input(spec: Record<string, unknown>, settings: Settings, name = "p"): PodPolicyInput {
  return {
    kind: "Deployment",
    name,
    namespace: "ns",
    podMetadata: {},
    podSpec: spec,
    specPath: "f.yml[0]: spec.template.spec",
    images,
    config: { configMap: () => ({ greeting: "hi" }), secret: () => undefined },
    settings,
  };
}

async function blockEncryptedSettings(): Promise<Settings> {
  const settings = await testSettings();
  return { ...settings, container: { ...settings.container, emptydir_mode: "block-encrypted" } };
}

/** Pod specs that differ in what the shared parts depend on. */
function variants(): Record<string, unknown>[] {
  const base = () => samplePodSpec() as { containers: Record<string, unknown>[] };
  const out: Record<string, unknown>[] = [base()];
  const privileged = base();
  privileged.containers[0]!.securityContext = { privileged: true };
  out.push(privileged);
  const readonlyRoot = base();
  readonlyRoot.containers[0]!.securityContext = { readOnlyRootFilesystem: true };
  readonlyRoot.containers[0]!.terminationMessagePath = "/tmp/end";
  out.push(readonlyRoot);
  const caps = base();
  caps.containers[0]!.securityContext = { capabilities: { add: ["NET_ADMIN"] } };
  out.push(caps);
  for (
    const capabilities of [
      { add: ["NET_ADMIN"], drop: ["ALL"] },
      { add: ["SYS_TIME"], drop: ["ALL"] },
      { add: ["ALL"], drop: ["CHOWN"] },
      { drop: ["NET_RAW", "CHOWN"] },
    ]
  ) {
    for (const privileged of [false, true]) {
      const spec = base();
      spec.containers[0]!.securityContext = { privileged, capabilities };
      out.push(spec);
    }
  }
  const noCaps = base();
  noCaps.containers[0]!.securityContext = {};
  out.push(noCaps);
  const sysctls = { ...base(), securityContext: { sysctls: [{ name: "net.x", value: "1" }] } };
  out.push(sysctls);
  const two = base();
  two.containers.push({ ...two.containers[0]!, name: "second", securityContext: {} });
  out.push(two);
  // The same volume names and mount paths, mounted otherwise or of another kind: the shared
  // volume mounts and mount orders depend on all of it.
  for (
    const [volume, mount] of [
      [{ emptyDir: {} }, {}],
      [{ emptyDir: { medium: "Memory" } }, { readOnly: true }],
      [{ emptyDir: { medium: "Memory" } }, { mountPropagation: "HostToContainer" }],
      [{ persistentVolumeClaim: { claimName: "c" } }, {}],
      [{ persistentVolumeClaim: { claimName: "c" } }, { subPath: "x" }],
      [{ configMap: { name: "web-config" } }, {}],
      [{ configMap: { name: "web-config" } }, { subPath: "x", mountPath: "/cache/x" }],
      [{ secret: { secretName: "s" } }, { mountPath: "/etc" }],
    ] as const
  ) {
    const spec = base() as Record<string, unknown> & { containers: Record<string, unknown>[] };
    spec.volumes = [{ name: "cache", ...volume }, { name: "conf", configMap: { name: "c" } }];
    (spec.containers[0]!.volumeMounts as Record<string, unknown>[])[0] = {
      name: "cache",
      mountPath: "/cache",
      ...mount,
    };
    out.push(spec);
  }
  // Another image with other /etc/passwd and /etc/group (parsed once per image and run).
  const other = base();
  other.containers[0]!.image = otherWeb.pinned;
  out.push(other);
  const noToken = { ...base(), automountServiceAccountToken: false };
  out.push(noToken);
  for (const fsGroup of [1, 2, "3"]) {
    out.push({ ...base(), securityContext: { fsGroup } });
  }
  return out;
}

Deno.test("shared values: the same policy data as built without them, in any order of pods", async () => {
  for (
    const settings of [
      frozenSettings(await testSettings()),
      // Block-encrypted emptyDirs: their storage names the pod's fsGroup.
      frozenSettings(await blockEncryptedSettings()),
    ]
  ) {
    const count = variants().length;
    const forward = [...Array(count).keys()];
    const shuffled = forward.map((i) => (i * 7 + 3) % count);
    for (const order of [forward, [...forward].reverse(), shuffled]) {
      const shared = new SharedPolicyValues(settings);
      for (const i of order) {
        const spec = variants()[i]!;
        const alone = buildPolicyData(input(spec, settings));
        const withShared = buildPolicyData({ ...input(spec, settings), sharedValues: shared });
        assert.deepEqual(withShared, alone, `variant ${i}`);
        assert.equal(JSON.stringify(withShared), JSON.stringify(alone), `variant ${i}: text`);
      }
    }
  }
});

Deno.test("shared values: frozen and the same objects in every pod of the run", async () => {
  const settings = frozenSettings(await testSettings());
  const shared = new SharedPolicyValues(settings);
  const [a, b] = ["a", "b"].map((name) =>
    buildPolicyData({ ...input(samplePodSpec(), settings, name), sharedValues: shared })
  );
  const pause = (d: typeof a) => d!.containers[0]!;
  const web = (d: typeof a) => d!.containers[1]!;
  assert.equal(pause(a).mounts, pause(b).mounts);
  assert.equal(pause(a).process.env, pause(b).process.env);
  assert.equal(pause(a).namespaces, web(b).namespaces);
  assert.equal(web(a).mounts[0], web(b).mounts[0]);
  assert.ok(Object.isFrozen(pause(a).mounts) && Object.isFrozen(pause(a).mounts[0]!.options));
  assert.ok(Object.isFrozen(web(a).mounts[0]));
  // Volume mounts and their storages, the token mount and the mount order depend on what the
  // pod says about them, the same in both pods.
  const cache = (d: typeof a) => web(d).mounts.find((m) => m.destination === "/cache")!;
  assert.equal(cache(a), cache(b));
  assert.ok(Object.isFrozen(cache(a)) && Object.isFrozen(cache(a).options));
  assert.equal(web(a).storages.at(-1), web(b).storages.at(-1));
  assert.equal(web(a).mounts.at(-1), web(b).mounts.at(-1));
  assert.equal(web(a).mounts.at(-1)!.destination, "/var/run/secrets/kubernetes.io/serviceaccount");
  assert.equal(web(a).mount_order, web(b).mount_order);
  // The capability sets of a container that adds or drops some (the sample drops NET_RAW).
  assert.equal(web(a).process.capabilities, web(b).process.capabilities);
  assert.ok(Object.isFrozen(web(a).process.capabilities.bounding));
  assert.equal(web(a).annotations["io.kubernetes.cri.image-name"], exactRegexOf(web(b).image));
  assert.ok(Object.isFrozen(web(a).mount_order));
  // The pod's own parts are not shared.
  assert.notEqual(web(a).annotations, web(b).annotations);
  assert.notEqual(web(a).mounts, web(b).mounts);
  assert.ok(!Object.isFrozen(web(a).mounts));
  // The settings the policy data refers to are frozen (a copy: the caller's stay as they were).
  assert.ok(Object.isFrozen(a!.requests));
  assert.ok(!Object.isFrozen((await testSettings()).requests));
});

Deno.test("shared values: nothing is shared for other settings", async () => {
  const settings = await testSettings();
  const shared = new SharedPolicyValues(frozenSettings(settings));
  const a = buildPolicyData({ ...input(samplePodSpec(), settings), sharedValues: shared });
  const b = buildPolicyData({ ...input(samplePodSpec(), settings), sharedValues: shared });
  assert.notEqual(a.containers[0]!.mounts, b.containers[0]!.mounts);
  assert.ok(!Object.isFrozen(a.containers[0]!.mounts));
  assert.deepEqual(a, b);
});
