import assert from "node:assert/strict";
import { ParseError } from "../../../util/errors/mod.ts";
import { buildRequestSequence } from "../../../policy/check/request_sequence.ts";
import { seededRandom } from "../../../policy/check/random_ids.ts";
import type { JsonObject } from "../../../policy/check/agent_protocol.ts";
import { readWorkload } from "../../../policy/check/pod.ts";
import { APP_DIGEST, DOCS, fixtureCluster, fixtureWorkload, IMAGES } from "./fixtures.ts";
import { ALL_CAPABILITIES, capabilitySets } from "../../../policy/check/runtime_model.ts";

function build(seed: number) {
  return buildRequestSequence({
    workload: fixtureWorkload(),
    images: IMAGES,
    cluster: fixtureCluster(),
    rng: seededRandom(seed),
  });
}

function creates(seed: number) {
  return build(seed).steps.filter((s) => s.request.type === "CreateContainerRequest");
}

Deno.test("sequence follows the runtime: network, sandbox, pause, init, containers, probes, teardown", () => {
  const types = build(1).steps.map((s) => s.request.type);
  assert.deepEqual(types.slice(0, 4), [
    "UpdateInterfaceRequest",
    "UpdateRoutesRequest",
    "AddARPNeighborsRequest",
    "CreateSandboxRequest",
  ]);
  assert.equal(types.at(-1), "DestroySandboxRequest");
  const labels = creates(1).map((s) => s.context.role);
  assert.deepEqual(labels, ["pause", "init", "container"]);
  assert.ok(types.includes("ExecProcessRequest"));
  const steps = build(1).steps;
  const initRemove = steps.findIndex((s) =>
    s.request.type === "RemoveContainerRequest" && s.context.role === "init"
  );
  const appCreate = steps.findIndex((s) =>
    s.request.type === "CreateContainerRequest" && s.context.role === "container"
  );
  assert.ok(initRemove > 0 && initRemove < appCreate, "init container runs to completion first");
});

Deno.test("every protobuf field is present, unset ones as null, [] or empty string", () => {
  const app = creates(1)[2].request.input;
  for (
    const key of [
      "container_id",
      "exec_id",
      "string_user",
      "devices",
      "storages",
      "OCI",
      "sandbox_pidns",
      "shared_mounts",
      "stdin_port",
      "stdout_port",
      "stderr_port",
    ]
  ) assert.ok(key in app, key);
  const oci = app.OCI as JsonObject;
  assert.equal(oci.Hooks, null);
  assert.equal(oci.Solaris, null);
  assert.equal(app.string_user, null);
  assert.deepEqual(app.devices, []);
  const process = oci.Process as JsonObject;
  assert.equal(process.ConsoleSize, null);
  assert.deepEqual(process.Rlimits, []);
  assert.equal(process.SelinuxLabel, "");
  const mount = (oci.Mounts as JsonObject[])[0];
  assert.deepEqual(Object.keys(mount).sort(), ["destination", "options", "source", "type_"]);
});

Deno.test("process comes from image and pod: entrypoint + args with $(VAR), env merge, user", () => {
  const process = (creates(1)[2].request.input.OCI as JsonObject).Process as JsonObject;
  assert.deepEqual(process.Args, ["/usr/bin/app", "--level", "debug"]);
  assert.equal(process.Cwd, "/srv");
  const env = process.Env as string[];
  assert.ok(env[0].startsWith("HOSTNAME=web-"));
  assert.ok(env.includes("APP_MODE=prod"));
  assert.ok(env.includes("LEVEL=debug"));
  assert.ok(env.some((e) => e.startsWith("DB_SERVICE_HOST=")));
  assert.ok(env.includes("KUBERNETES_SERVICE_PORT=443"));
  const user = process.User as JsonObject;
  assert.equal(user.UID, 1000);
  assert.equal(user.GID, 1000);
  assert.deepEqual(user.AdditionalGids, [1000, 29], "primary group and /etc/group membership");
  assert.equal(process.NoNewPrivileges, true);
});

Deno.test("image is pulled in the guest by its pinned digest", () => {
  const storages = creates(1)[2].request.input.storages as JsonObject[];
  const image = storages.find((s) => s.driver === "image_guest_pull")!;
  assert.equal(image.source, `registry.example/app@${APP_DIGEST}`);
  const ephemeral = storages.find((s) => s.driver === "ephemeral")!;
  assert.equal(ephemeral.mount_point, "/run/kata-containers/sandbox/ephemeral/secrets");
});

Deno.test("runtime identifiers and pod-name suffix change between runs", () => {
  const a = build(1), b = build(2);
  assert.notEqual(a.instance.sandboxId, b.instance.sandboxId);
  assert.notEqual(a.instance.podName, b.instance.podName);
  assert.match(a.instance.podName, /^web-[a-z0-9]{8,10}-[a-z0-9]{5}$/);
  assert.match(a.instance.sandboxId, /^[0-9a-f]{64}$/);
  assert.notEqual(
    creates(1)[2].request.input.container_id,
    creates(2)[2].request.input.container_id,
  );
});

Deno.test("same seed, same sequence (reproducible runs)", () => {
  assert.deepEqual(build(7).steps, build(7).steps);
});

Deno.test("configMap volume is copied as kubelet lays it out, with relative symlinks", () => {
  const copies = build(1).steps.filter((s) => s.request.type === "CopyFileRequest")
    .map((s) => s.request.input);
  const links = copies.filter((c) => c.file_type === "Symlink");
  assert.ok(links.length >= 2);
  for (const l of links) {
    assert.ok(!String(l.symlink_target).startsWith("/"));
    assert.ok(String(l.path).startsWith("/run/kata-containers/shared/containers/"));
  }
  assert.ok(copies.some((c) => String(c.path).endsWith("/LEVEL") && c.file_type === "Regular"));
});

Deno.test("rejects a pod whose image was not resolved, naming the field", () => {
  assert.throws(
    () =>
      buildRequestSequence({
        workload: fixtureWorkload(),
        images: new Map(),
        cluster: fixtureCluster(),
        rng: seededRandom(1),
      }),
    (e) => e instanceof ParseError && e.field.endsWith("initContainers[0].image"),
  );
});

Deno.test("rejects an env reference to a missing ConfigMap key", () => {
  assert.throws(
    () =>
      buildRequestSequence({
        workload: fixtureWorkload(),
        images: IMAGES,
        cluster: { configMaps: new Map(), secrets: new Map(), services: new Map() },
        rng: seededRandom(1),
      }),
    (e) => e instanceof ParseError && e.field.endsWith("containers[0].env[0]"),
  );
});

Deno.test("downward API env: pod name, namespace, labels and service account", () => {
  const doc = structuredClone(DOCS[2]) as {
    spec: {
      template: {
        metadata: Record<string, unknown>;
        spec: { serviceAccountName?: string; containers: { env: unknown[] }[] };
      };
    };
  };
  doc.spec.template.metadata.labels = { app: "web" };
  doc.spec.template.spec.serviceAccountName = "shop-web";
  doc.spec.template.spec.containers[0].env.push(
    { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: "APP", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
    { name: "SA", valueFrom: { fieldRef: { fieldPath: "spec.serviceAccountName" } } },
  );
  const seq = buildRequestSequence({
    workload: readWorkload(doc, "d.yml#0")!,
    images: IMAGES,
    cluster: fixtureCluster(),
    rng: seededRandom(3),
  });
  const app = seq.steps.filter((s) => s.request.type === "CreateContainerRequest")[2];
  const env = ((app.request.input.OCI as JsonObject).Process as JsonObject).Env as string[];
  assert.ok(env.includes(`POD=${seq.instance.podName}`));
  assert.ok(env.includes("APP=web"));
  assert.ok(env.includes("SA=shop-web"));
});

Deno.test("the request model's capabilities follow containerd: ALL add, ALL drop, named adds, named drops", () => {
  assert.deepEqual(capabilitySets(false, ["NET_BIND_SERVICE"], ["ALL"]).bounding, [
    "CAP_NET_BIND_SERVICE",
  ]);
  assert.deepEqual(capabilitySets(false, [], ["ALL"]).bounding, []);
  const allButChown = capabilitySets(false, ["ALL"], ["CHOWN"]).bounding;
  assert.equal(allButChown.length, ALL_CAPABILITIES.length - 1);
  assert.ok(!allButChown.includes("CAP_CHOWN"));
  assert.equal(capabilitySets(true, [], ["ALL"]).bounding.length, ALL_CAPABILITIES.length);
});
