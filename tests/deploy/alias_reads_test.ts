/**
 * generate's checks read the pod as the API server gets it and the policy data reads it: YAML
 * aliases resolved (`resolvedValue` of `util/yaml/plain_tree.ts`). They read the YAML node tree
 * before (`toJSON()`, which gives an alias as `{source}`, or `isMap` on an `Alias` node), so a
 * value behind an alias passed a check that refuses it written out, and the policy, which reads
 * the resolved value, admitted it. Every input here is one kubectl v1.37 accepts (checked with
 * `kubectl create --dry-run=client -o json`: the alias is resolved).
 */
import assert from "node:assert/strict";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { exitCodeFor } from "../../cli/exit_codes.ts";
import { parseYamlFile } from "../../deploy/documents.ts";
import { generate } from "../../deploy/generate.ts";
import { securePvStatefulSet } from "../../testing/secure_pv_stateful_set.ts";
import { testGenerateOptions } from "./generate_options.ts";
import { parse as parseYaml } from "yaml";

const IMAGE = `"127.0.0.1:5000/web:1.0"`;

/** generate's result for the one file `a.yml` holding `text`, with the test options. */
async function generated(text: string) {
  return await generate([parseYamlFile("a.yml", text)], await testGenerateOptions());
}

/**
 * A List of a pod `other` whose container anchors `&p` its ports `ports` and a meshed pod `p`
 * (egress to db) whose container takes them as the alias `*p`.
 */
function meshedPodWithAliasedPorts(ports: string): string {
  return `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: other}
    spec:
      containers: [{name: c, image: ${IMAGE}, ports: &p ${ports}}]
  - apiVersion: v1
    kind: Pod
    metadata:
      name: p
      annotations: {contrast.edgeless.systems/servicemesh-egress: "db#127.0.0.2:5432#db:5432"}
    spec:
      runtimeClassName: contrast-cc
      containers: [{name: c, image: ${IMAGE}, ports: *p}]
`;
}

/**
 * A List of a pod `other` anchoring `&m` the mount `mount` of its emptyDir `state`, then the
 * secure-pv StatefulSet `statefulSet` (YAML of one document) as the List's second item.
 */
function anchoredMountThenStatefulSet(mount: string, statefulSet: string): string {
  return `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: other}
    spec:
      containers:
        - name: c
          image: ${IMAGE}
          volumeMounts: [&m ${mount}]
      volumes: [{name: state, emptyDir: {}}]
${
    statefulSet.split("\n").map((l, i) => l === "" ? l : (i === 0 ? "  - " : "    ") + l).join(
      "\n",
    )
  }`;
}

/** Asserts generate refuses `text` (exit 2) with an issue at `path` whose reason matches. */
async function refused(text: string, path: string, reason: RegExp): Promise<void> {
  await assert.rejects(
    async () => await generated(text),
    (e: unknown) => {
      assert.ok(e instanceof InvalidDocumentError, String(e));
      assert.equal(exitCodeFor(e), 2);
      const issue = e.issues.find((i) => i.path === path);
      assert.ok(issue, `no issue at ${path}: ${JSON.stringify(e.issues)}`);
      assert.match(issue.reason, reason);
      return true;
    },
  );
}

Deno.test("an existing initializer's env behind an alias is checked as written out", async () => {
  // The variable that moves where the initializer writes the mesh key and workload secret,
  // anchored in another container's env. Before: generated, the policy admitting the variable.
  const text = `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  runtimeClassName: contrast-cc
  containers: [{name: c, image: ${IMAGE}, env: &e [{name: CONTRAST_SECRETS_DIR, value: /data}]}]
  initContainers:
    - name: contrast-initializer
      image: ${IMAGE}
      env: *e
`;
  await refused(text, "a.yml[0]: spec.initContainers[0].env[0]", /where the initializer writes/);
});

Deno.test("a secure-pv subPath mount behind an alias is refused as written out", async () => {
  // The mount volume mounted with a subPath (a host share under Kata) is refused; the same mount
  // anchored in another workload of the list and given to the StatefulSet's container as an
  // alias passed before (the check read the alias as no mount), and the policy admitted it.
  const statefulSet = securePvStatefulSet({
    containerExtra: "",
  }).replace("- {name: state, mountPath: /var/lib/db}", "- *m");
  const text = anchoredMountThenStatefulSet(
    "{name: state, mountPath: /var/lib/db, subPath: pgdata}",
    statefulSet,
  );
  await refused(
    text,
    "a.yml[0].items[1]: spec.template.spec.containers[0].volumeMounts[0].subPath",
    /host storage/,
  );
});

Deno.test("a meshed pod's ports behind an alias get the sidecar's mutual TLS", async () => {
  // CONTRAST_MESH_POD_PORTS lists the ports the sidecar's ingress terminates with mutual TLS.
  // Before, ports behind an alias were left out (podTcpPorts read the node tree): 9090 was
  // declared by the pod, yet not protected.
  const text = meshedPodWithAliasedPorts("[{containerPort: 9090}]");
  const result = await generated(text);
  const sidecar = result.policies[0]!.policyData.containers.find((c) =>
    c.name === "contrast-service-mesh"
  );
  assert.ok(sidecar, result.policies[0]!.policyData.containers.map((c) => c.name).join());
  const env = sidecar.process.env.find((e) => e.name === "CONTRAST_MESH_POD_PORTS");
  assert.ok(env && "value" in env, JSON.stringify(sidecar.process.env));
  assert.equal(env.value, "9090");
});

Deno.test("a runtimeClassName behind an alias or a merge key is contrast's, not left unchanged", async () => {
  // kubectl applies runtimeClassName contrast-cc either way; generate read the node (an Alias, or
  // nothing for a merge) and left the pod unchanged, without a policy, reporting it as such.
  const pod = (spec: string) =>
    `apiVersion: v1
kind: Pod
metadata: {name: p, labels: {rc: &rc contrast-cc}}
spec:
${spec}  containers: [{name: c, image: ${IMAGE}}]
`;
  const result = await generated(pod("  runtimeClassName: *rc\n"));
  assert.deepEqual(result.unchanged, []);
  assert.equal(result.policies.length, 1);
  assert.match(result.files[0]!.text, /runtimeClassName: contrast-cc-/);
  // Through a merge key generate would write its own key over the merged one: refused.
  await refused(
    pod("  <<: {runtimeClassName: *rc}\n"),
    "a.yml[0]: spec.runtimeClassName",
    /given only through a merge key/,
  );
});

Deno.test("a meshed pod's UDP port behind an alias is reported as not protected", async () => {
  // The mesh carries TCP only; generate warns about each UDP/SCTP port of a meshed pod. A port
  // list behind an alias was not read (the node tree), so the warning was missing.
  const text = meshedPodWithAliasedPorts("[{containerPort: 53, protocol: UDP}]");
  const result = await generated(text);
  assert.deepEqual(
    result.unmeshedPorts.map((p) => [p.location, p.field, p.port, p.protocol]),
    [["a.yml[0].items[1]", "spec.containers[0].ports[0]", 53, "UDP"]],
  );
});

Deno.test("annotations behind an alias or a merge key are read as the API server gets them", async () => {
  // A merge key in the annotations made generate throw an untyped error ("Merge sources must be
  // maps or map aliases", from toJSON() without the document), and an annotation value behind an
  // alias was read as "[object Object]" and refused. Both are the mesh annotation to kubectl.
  const egress = `contrast.edgeless.systems/servicemesh-egress: "db#127.0.0.2:5432#db:5432"`;
  const texts = [
    `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: x, annotations: &a {${egress}}}
  - apiVersion: v1
    kind: Pod
    metadata: {name: p, annotations: {<<: *a, other: "1"}}
    spec:
      runtimeClassName: contrast-cc
      containers: [{name: c, image: ${IMAGE}}]
`,
    `apiVersion: v1
kind: Pod
metadata:
  name: p
  labels: {x: &v "db#127.0.0.2:5432#db:5432"}
  annotations: {contrast.edgeless.systems/servicemesh-egress: *v}
spec:
  runtimeClassName: contrast-cc
  containers: [{name: c, image: ${IMAGE}}]
`,
  ];
  for (const text of texts) {
    const result = await generated(text);
    const names = result.policies.at(-1)!.policyData.containers.map((c) => c.name);
    assert.ok(names.includes("contrast-service-mesh"), names.join());
    assert.match(result.files[0]!.text, /servicemesh-egress/);
  }
});

Deno.test("a field generate edits behind an alias keeps what the alias gave", async () => {
  // generate adds the contrast-secrets mount to every container: for `volumeMounts: *vm` it
  // replaced the alias with a list of its own mount only, so the pod applied lost /d (and its
  // policy with it). Now the alias is expanded into a copy and the mount added to it.
  const text = `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  runtimeClassName: contrast-cc
  volumes: [{name: d, emptyDir: {}}]
  containers:
    - {name: c, image: ${IMAGE}, volumeMounts: &vm [{name: d, mountPath: /d}]}
    - {name: c2, image: ${IMAGE}, volumeMounts: *vm}
`;
  const result = await generated(text);
  const c2 = result.policies[0]!.policyData.containers.find((c) => c.name === "c2")!;
  const destinations = c2.mounts.map((m) => m.destination);
  assert.ok(destinations.includes("/d"), destinations.join());
  assert.ok(destinations.includes("/contrast"), destinations.join());
  const out = result.files[0]!.text;
  assert.match(
    out,
    /name: c2, [^\n]*volumeMounts: \[\{name: d, mountPath: \/d\}, \{name: contrast-secrets/,
  );
});

Deno.test("a secure-pv mount behind an alias gets the propagation of the encrypted volume", async () => {
  // generate sets mountPropagation: HostToContainer on every mount of the mount volume, so the
  // container sees the encrypted volume the contrast-secure-pv container mounts there. A mount
  // given as an alias item (`- *m`, anchored in another pod of the List) was skipped: the pod's
  // database wrote into the bare emptyDir instead (its policy agreeing), not the LUKS volume.
  const statefulSet = securePvStatefulSet().replace(
    "- {name: state, mountPath: /var/lib/db}",
    "- *m",
  );
  const text = anchoredMountThenStatefulSet("{name: state, mountPath: /var/lib/db}", statefulSet);
  const result = await generated(text);
  // deno-lint-ignore no-explicit-any
  const items = (parseYaml(result.files[0]!.text) as any).items;
  const db = items[1].spec.template.spec.containers[0];
  assert.deepEqual(db.volumeMounts[0], {
    name: "state",
    mountPath: "/var/lib/db",
    mountPropagation: "HostToContainer",
  });
  // The other pod's mount (the anchor) is left as written.
  assert.deepEqual(items[0].spec.containers[0].volumeMounts, [{
    name: "state",
    mountPath: "/var/lib/db",
  }]);
});

Deno.test("a namespace behind an alias or a merge key is the one the policy binds the pod to", async () => {
  // kubectl creates the pod in prod; generate read the namespace node (an Alias, or nothing for a
  // merge) and bound the policy (and the workload secret ID) to "default".
  for (
    const meta of [
      "{labels: {ns: &ns prod}, name: p, namespace: *ns}",
      "{<<: {namespace: prod}, name: p}",
    ]
  ) {
    const text = `apiVersion: v1
kind: Pod
metadata: ${meta}
spec:
  runtimeClassName: contrast-cc
  containers: [{name: c, image: ${IMAGE}}]
`;
    const result = await generated(text);
    assert.equal(result.policies[0]!.namespace, "prod", meta);
    assert.equal(result.policies[0]!.policyData.pod.namespace, "prod", meta);
  }
});

Deno.test("an image behind an alias is resolved and pinned, not refused as missing", async () => {
  // kubectl runs the anchored image; generate read the Alias node and refused "missing image".
  const text = `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  runtimeClassName: contrast-cc
  containers:
    - {name: c, image: &img ${IMAGE}}
    - {name: c2, image: *img}
`;
  const result = await generated(text);
  // deno-lint-ignore no-explicit-any
  const containers = (parseYaml(result.files[0]!.text) as any).spec.containers;
  assert.match(containers[1].image, /^127\.0\.0\.1:5000\/web@sha256:/);
  assert.equal(containers[1].image, containers[0].image);
});
