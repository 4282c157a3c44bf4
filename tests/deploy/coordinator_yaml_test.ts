import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { ParseError } from "../../util/errors/mod.ts";
import { coordinatorYaml } from "../../deploy/coordinator_yaml.ts";
import { COORDINATOR_RULES } from "../../deploy/coordinator_rbac.ts";
import { coordinatorProgram } from "../../coordinator/main.ts";
import { validateKubernetesObject } from "./kubernetes_schema.ts";

const IMAGE = `r.example/contrast/coordinator@sha256:${"ab".repeat(32)}`;
const OPTIONS = {
  image: IMAGE,
  runtimeClassName: "contrast-cc-0-1-0",
  namespace: "ns",
  replicas: 1,
};

// deno-lint-ignore no-explicit-any
function docs(text: string): Record<string, any>[] {
  return parseAllDocuments(text, { version: "1.1" }).map((d) => d.toJS());
}

Deno.test("the Coordinator YAML: ServiceAccount, StatefulSet, mesh and user API Services, all valid", () => {
  const objects = docs(coordinatorYaml(OPTIONS));
  for (const o of objects) validateKubernetesObject(o, "coordinator.yml");
  assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`), [
    "ServiceAccount/coordinator",
    "StatefulSet/coordinator",
    "Service/coordinator",
    "Service/coordinator-userapi",
  ]);
  assert.ok(objects.every((o) => o.metadata.namespace === "ns"));
  const [account, set, mesh, user] = objects;
  assert.equal(account!.automountServiceAccountToken, false);
  const pod = set!.spec.template;
  assert.equal(pod.metadata.annotations["contrast.edgeless.systems/pod-role"], "coordinator");
  assert.equal(pod.spec.runtimeClassName, "contrast-cc-0-1-0");
  assert.equal(pod.spec.automountServiceAccountToken, false);
  assert.equal(pod.spec.securityContext.runAsUser, 65532);
  const container = pod.spec.containers[0];
  assert.equal(container.image, IMAGE);
  assert.deepEqual(container.securityContext, {
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
  });
  for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
    assert.equal(container[probe].httpGet.port, "probes");
  }
  assert.deepEqual(container.volumeMounts, [{ name: "state", mountPath: "/var/lib/contrast" }]);
  assert.deepEqual(container.env.slice(0, 2), [
    { name: "CONTRAST_HISTORY_BACKEND", value: "file" },
    { name: "CONTRAST_HISTORY_DIR", value: "/var/lib/contrast/history" },
  ]);
  assert.equal(mesh!.spec.sessionAffinity, undefined);
  assert.equal(set!.spec.volumeClaimTemplates[0].metadata.name, "state");
  assert.deepEqual(mesh!.spec.ports.map((p: { port: number }) => p.port), [7777, 8200]);
  assert.equal(user!.spec.type, "LoadBalancer");
  assert.deepEqual(user!.spec.ports.map((p: { port: number }) => p.port), [1313]);
});

Deno.test("the Coordinator YAML refuses a tag-only image, a bad namespace and a bad replica count", () => {
  const refused: [Partial<typeof OPTIONS>, string][] = [
    [{ image: "r.example/contrast/coordinator:v1" }, "image"],
    [{ namespace: "Not_A_Label" }, "--namespace"],
    [{ replicas: 0 }, "--replicas"],
    [{ replicas: 16 }, "--replicas"],
    [{ replicas: 1.5 }, "--replicas"],
  ];
  for (const [change, field] of refused) {
    assert.throws(
      () => coordinatorYaml({ ...OPTIONS, ...change }),
      (e) => e instanceof ParseError && e.field === field,
      field,
    );
  }
});

Deno.test("replicated Coordinator YAML: Kubernetes history, least-privilege Role, token, downward API, affinity", () => {
  const objects = docs(coordinatorYaml({ ...OPTIONS, replicas: 3 }));
  for (const o of objects) validateKubernetesObject(o, "coordinator.yml");
  assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`), [
    "ServiceAccount/coordinator",
    "Role/coordinator",
    "RoleBinding/coordinator",
    "StatefulSet/coordinator",
    "Service/coordinator",
    "Service/coordinator-userapi",
  ]);
  const [account, role, binding, set, mesh, user] = objects;
  assert.equal(account!.automountServiceAccountToken, false, "pods opt in, not every pod");
  assert.deepEqual(role!.rules, JSON.parse(JSON.stringify(COORDINATOR_RULES)));
  // Least privilege: of the namespace's workloads only the owner StatefulSet is readable (a pod
  // template's environment may hold values); before, every StatefulSet and Deployment was.
  const apps = role!.rules.filter((r: { apiGroups: string[] }) => r.apiGroups.includes("apps"));
  assert.deepEqual(apps, [{
    apiGroups: ["apps"],
    resources: ["statefulsets"],
    resourceNames: ["coordinator"],
    verbs: ["get"],
  }]);
  assert.deepEqual(binding!.roleRef, {
    apiGroup: "rbac.authorization.k8s.io",
    kind: "Role",
    name: "coordinator",
  });
  assert.deepEqual(binding!.subjects, [
    { kind: "ServiceAccount", name: "coordinator", namespace: "ns" },
  ]);
  assert.equal(set!.spec.replicas, 3);
  assert.equal(set!.spec.podManagementPolicy, "Parallel");
  assert.equal(set!.spec.volumeClaimTemplates, undefined);
  const pod = set!.spec.template.spec;
  assert.equal(pod.automountServiceAccountToken, true);
  assert.equal(pod.serviceAccountName, "coordinator");
  assert.deepEqual(pod.volumes, [{ name: "state", emptyDir: {} }]);
  const env = Object.fromEntries(
    // deno-lint-ignore no-explicit-any
    pod.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom.fieldRef.fieldPath]),
  );
  assert.equal(env.CONTRAST_HISTORY_BACKEND, "kubernetes");
  assert.equal(env.CONTRAST_HISTORY_OWNER, "apps/v1/StatefulSet/coordinator");
  assert.equal(env.CONTRAST_HISTORY_DIR, undefined);
  assert.equal(env.POD_NAME, "metadata.name");
  assert.equal(env.POD_NAMESPACE, "metadata.namespace");
  assert.equal(env.POD_IP, "status.podIP");
  assert.equal(mesh!.spec.sessionAffinity, "ClientIP");
  assert.equal(user!.spec.sessionAffinity, "ClientIP");
});

Deno.test("the replicated Coordinator's options are ones the Coordinator accepts", () => {
  const objects = docs(coordinatorYaml({ ...OPTIONS, replicas: 2 }));
  const container = objects.find((o) => o.kind === "StatefulSet")!.spec.template.spec
    .containers[0];
  const saved = new Map<string, string | undefined>();
  // deno-lint-ignore no-explicit-any
  for (const e of container.env as any[]) {
    saved.set(e.name, Deno.env.get(e.name));
    Deno.env.set(e.name, e.value ?? `from-${e.valueFrom.fieldRef.fieldPath.replace(".", "-")}`);
  }
  try {
    // The program reads its defaults from the environment when it is built.
    const parsed = coordinatorProgram().parse([], { from: "user" }).opts();
    assert.equal(parsed.historyBackend, "kubernetes");
    assert.equal(parsed.historyOwner, "apps/v1/StatefulSet/coordinator");
    assert.equal(parsed.replicaName, "from-metadata-name");
    assert.equal(parsed.namespace, "from-metadata-namespace");
    assert.equal(parsed.meshPort, 7777);
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
});

Deno.test("coordinator YAML: a namespace go-yaml reads as a number (0o17) is printed quoted", () => {
  const text = coordinatorYaml({ ...OPTIONS, namespace: "0o17" });
  assert.match(text, /namespace: "0o17"/);
  assert.doesNotMatch(text, /namespace: 0o17/);
});
