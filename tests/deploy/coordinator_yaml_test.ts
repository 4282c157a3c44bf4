import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { ParseError } from "../../util/errors/mod.ts";
import { coordinatorYaml } from "../../deploy/coordinator_yaml.ts";
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
  assert.equal(set!.spec.volumeClaimTemplates[0].metadata.name, "state");
  assert.deepEqual(mesh!.spec.ports.map((p: { port: number }) => p.port), [7777, 8200]);
  assert.equal(user!.spec.type, "LoadBalancer");
  assert.deepEqual(user!.spec.ports.map((p: { port: number }) => p.port), [1313]);
});

Deno.test("the Coordinator YAML refuses a tag-only image, a bad namespace and unsupported replicas", () => {
  const refused: [Partial<typeof OPTIONS>, string][] = [
    [{ image: "r.example/contrast/coordinator:v1" }, "image"],
    [{ namespace: "Not_A_Label" }, "--namespace"],
    [{ replicas: 0 }, "--replicas"],
    [{ replicas: 3 }, "--replicas"],
  ];
  for (const [change, field] of refused) {
    assert.throws(
      () => coordinatorYaml({ ...OPTIONS, ...change }),
      (e) => e instanceof ParseError && e.field === field,
      field,
    );
  }
});
