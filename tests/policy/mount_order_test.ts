/**
 * Mount order: generate lists the nested pairs of a container's expected mounts, the rules deny a
 * request that sends a nested mount before its parent (the parent would cover it), and the request
 * model sends mounts as containerd does (parents first).
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { cleanDestination, firstCoveredMount, mountOrder } from "../../policy/mount_order.ts";
import type { MountExpectation, PolicyData } from "../../policy/policy_data_types.ts";
import { parseYamlFile } from "../../deploy/documents.ts";
import { generate } from "../../deploy/generate.ts";
import { readClusterObjects, readWorkload } from "../../policy/check/pod.ts";
import { buildRequestSequence } from "../../policy/check/request_sequence.ts";
import { containerdMountOrder } from "../../policy/check/runtime_model.ts";
import { mutantsOf } from "../../policy/check/mutations.ts";
import { mulberry32 as prng } from "../../util/random/mulberry32.ts";
import { seededRandom } from "../../policy/check/random_ids.ts";
import { CompiledRules } from "../../rego/evaluator.ts";
import { IMAGES, MemoryResolver, OWNER, testSettings } from "./fixtures.ts";

const web = IMAGES.get("127.0.0.1:5000/web:1.0")!;
const RULES = await Deno.readTextFile(new URL("../../rego/rules.rego", import.meta.url));

const at = (destination: string): MountExpectation => ({
  destination,
  type: "bind",
  source_regex: "^x$",
  options: [],
});

Deno.test("mountOrder: every nested pair of expected destinations, parent first", () => {
  assert.deepEqual(
    mountOrder([at("/etc/app/keys"), at("/etc/app"), at("/etc/application"), at("/dev/shm")]),
    [["/etc/app", "/etc/app/keys"]],
  );
  assert.deepEqual(
    mountOrder([at("/dev"), at("/dev/pts"), at("/sys"), at("/sys/fs/cgroup"), at("/dev/shm")]),
    [["/dev", "/dev/pts"], ["/dev", "/dev/shm"], ["/sys", "/sys/fs/cgroup"]],
  );
  // Nested through several levels: each ancestor is paired.
  assert.deepEqual(mountOrder([at("/a/b/c"), at("/a"), at("/a/b")]), [
    ["/a", "/a/b/c"],
    ["/a", "/a/b"],
    ["/a/b", "/a/b/c"],
  ]);
  // Spellings of one directory: the later one covers the earlier, so they keep the pod's order.
  assert.deepEqual(mountOrder([at("/data/"), at("/data"), at("//data/./x")]), [
    ["/data/", "/data"],
    ["/data/", "//data/./x"],
    ["/data", "//data/./x"],
  ]);
  assert.deepEqual(mountOrder([at("/x"), at("/")]), [["/", "/x"]]);
  // The same destination twice is left to the rules (they compare every pair of such lists).
  assert.deepEqual(mountOrder([at("/tmp"), at("/tmp")]), []);
});

Deno.test("firstCoveredMount names the first mount a later one covers", () => {
  assert.equal(firstCoveredMount(["/dev", "/dev/shm", "/etc/app", "/etc/app/keys"]), undefined);
  assert.deepEqual(firstCoveredMount(["/etc/app/keys", "/dev", "/etc/app"]), [
    "/etc/app/keys",
    "/etc/app",
  ]);
  assert.deepEqual(firstCoveredMount(["/data/", "/x", "/data"]), ["/data/", "/data"]);
  assert.equal(firstCoveredMount(["/etc/application", "/etc/app"]), undefined);
});

Deno.test("cleanDestination resolves like Go's filepath.Clean on absolute paths", () => {
  for (
    const [raw, clean] of [
      ["/", "/"],
      ["//a//b/", "/a/b"],
      ["/a/./b/../c", "/a/c"],
      ["/../a", "/a"],
      ["/a/..", "/"],
    ]
  ) assert.equal(cleanDestination(raw!), clean, raw);
});

Deno.test("containerd's order: CRI mounts stably sorted by depth, parents first", () => {
  const m = (destination: string) => ({ destination, source: "", type: "bind", options: [] });
  const sorted = containerdMountOrder([
    m("/etc/app/keys"),
    m("/etc/app"),
    m("/var/run/secrets/kubernetes.io/serviceaccount"),
    m("/etc/hosts"),
    m("/data/"),
    m("/dev/shm"),
  ]).map((x) => x.destination);
  assert.deepEqual(sorted, [
    "/data/",
    "/etc/app",
    "/etc/hosts",
    "/dev/shm",
    "/etc/app/keys",
    "/var/run/secrets/kubernetes.io/serviceaccount",
  ]);
});

/** The first lines of a Pod `app` (namespace shop) whose one container `app` runs the web image. */
const APP_POD_HEAD = `apiVersion: v1
kind: Pod
metadata: {name: app, namespace: shop}
spec:
  runtimeClassName: contrast-cc
  containers:
    - name: app
      image: "127.0.0.1:5000/web:1.0"`;

/**
 * generate's result for `yaml` (app.yml; no initializer, no service mesh, no reference values)
 * with the web image being `webImage`, and its first policy's data.
 */
async function generatedApp(yaml: string, webImage = web) {
  const result = await generate([parseYamlFile("app.yml", yaml)], {
    settings: await testSettings(),
    resolver: new MemoryResolver(new Map([...IMAGES, ["127.0.0.1:5000/web:1.0", webImage]])),
    rules: RULES,
    referenceValues: { snp: [], tdx: [] },
    workloadOwnerKeys: [OWNER],
    seedshareOwnerKeys: [],
    skipInitializer: true,
    skipServiceMesh: true,
  });
  return { result, policyData: result.policies[0]!.policyData as PolicyData };
}

/** The reviewer's pod: a configMap at /etc/app and an emptyDir at /etc/app/keys (listed first). */
const POD = `${APP_POD_HEAD}
      volumeMounts:
        - {name: state, mountPath: /etc/app/keys}
        - {name: cfg, mountPath: /etc/app}
  volumes:
    - {name: state, emptyDir: {}}
    - {name: cfg, configMap: {name: app-config}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config, namespace: shop}
data: {app.conf: "x"}
`;

Deno.test("a guest emptyDir nested under a configMap share: sent after it allowed, before it denied", async () => {
  const { result, policyData } = await generatedApp(POD);
  const expectation = policyData.containers.find((c) => c.name === "app")!;
  assert.ok(
    expectation.mount_order!.some(([p, n]) => p === "/etc/app" && n === "/etc/app/keys"),
    JSON.stringify(expectation.mount_order),
  );
  const docs = parseAllDocuments(result.files[0]!.text).map((d) => d.toJS() as unknown);
  const seq = buildRequestSequence({
    workload: readWorkload(docs[0], "app.yml")!,
    images: new Map([[web.pinned, web]]),
    cluster: readClusterObjects(docs),
    rng: seededRandom(7),
  });
  const rules = await CompiledRules.load();
  const ev = await rules.evaluator(policyData);
  let checked = false;
  for (const step of seq.steps) {
    if (step.request.type === "CreateContainerRequest" && step.context.container === "app") {
      const sent = (step.request.input.OCI as { Mounts: { destination: string }[] }).Mounts
        .map((m) => m.destination);
      assert.ok(sent.indexOf("/etc/app") < sent.indexOf("/etc/app/keys"), sent.join(" "));
      const mutants = mutantsOf(step, seq, seededRandom(8));
      for (
        const name of ["nested mount reordered (/etc/app after /etc/app/keys)", "mounts reversed"]
      ) {
        const mutant = mutants.find((m) => m.name === name);
        assert.ok(mutant, `${name} among ${mutants.map((m) => m.name).join(", ")}`);
        assert.equal(ev.decide(step.request.type, mutant.request.input).allowed, false, name);
      }
      checked = true;
    }
    assert.equal(ev.evaluate(step.request.type, step.request.input).allowed, true, step.label);
  }
  assert.ok(checked);
});

Deno.test("cleanDestination: element by element on 20,000 generated paths (clean ones returned as given)", () => {
  // The definition: split on `/`, drop empty and `.` elements, apply `..` (never above `/`).
  const byElements = (path: string) => {
    const parts: string[] = [];
    for (const part of path.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") parts.pop();
      else parts.push(part);
    }
    return `/${parts.join("/")}`;
  };
  const pieces = ["/", ".", "a", "..", "b.", ".c", "...", "//", "/./", "/../", "x y", "é", "-"];
  const random = prng(0x6d0);
  for (let i = 0; i < 20_000; i++) {
    let path = random() < 0.8 ? "/" : "";
    const n = Math.floor(random() * 8);
    for (let j = 0; j < n; j++) path += pieces[Math.floor(random() * pieces.length)];
    assert.equal(cleanDestination(path), byElements(path), JSON.stringify(path));
  }
  for (const clean of ["/", "/a", "/a/b.c/...", "/.d/e"]) {
    assert.equal(cleanDestination(clean), clean);
  }
});

Deno.test("an image VOLUME /cache/ beside an emptyDir at /cache: the host cannot cover the emptyDir with its share", async () => {
  // containerd skips the VOLUME (filepath.Clean equals the CRI mount's path); before, the policy
  // expected an optional share at "/cache/" after the emptyDir, which the host could send.
  const image = { ...web, config: { ...web.config, volumes: ["/cache/"] } };
  const pod = `${APP_POD_HEAD}
      volumeMounts: [{name: state, mountPath: /cache}]
  volumes: [{name: state, emptyDir: {}}]
`;
  const { result, policyData } = await generatedApp(pod, image);
  const docs = parseAllDocuments(result.files[0]!.text).map((d) => d.toJS() as unknown);
  const seq = buildRequestSequence({
    workload: readWorkload(docs[0], "app.yml")!,
    images: new Map([[web.pinned, image]]),
    cluster: readClusterObjects(docs),
    rng: seededRandom(7),
  });
  const ev = await (await CompiledRules.load()).evaluator(policyData);
  let attacked = false;
  for (const step of seq.steps) {
    if (step.request.type === "CreateContainerRequest" && step.context.container === "app") {
      const input = structuredClone(step.request.input);
      const mounts = (input.OCI as { Mounts: { destination: string; source: string }[] }).Mounts;
      const hosts = mounts.find((m) => m.destination === "/etc/hosts")!;
      mounts.push(
        {
          destination: "/cache/",
          source: hosts.source.replace(/-hosts$/, "-cache"),
          type: "bind",
          options: ["rbind", "rprivate", "rw"],
        } as (typeof mounts)[number],
      );
      assert.equal(
        ev.decide(step.request.type, input).allowed,
        false,
        "the host's share over /cache",
      );
      attacked = true;
    }
    assert.equal(ev.evaluate(step.request.type, step.request.input).allowed, true, step.label);
  }
  assert.ok(attacked);
});
