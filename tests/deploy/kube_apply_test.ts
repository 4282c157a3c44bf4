/**
 * What contrast writes is accepted by a real Kubernetes API server (etcd + kube-apiserver v1.37.2
 * on 127.0.0.1, `testing/kube/`): the RuntimeClass of `contrast runtime`, the Coordinator of
 * `contrast coordinator` and the example app made confidential by `contrast generate`, applied
 * server-side (not a dry run) and read back; the replicated Coordinator (`--replicas 3`) with its
 * Role, whose ServiceAccount `kubectl auth can-i` finds with exactly the granted verbs.
 */
import assert from "node:assert/strict";
import { runGenerate } from "../../cli/commands/generate.ts";
import { runtimeClassYaml } from "../../deploy/runtime_class.ts";
import { coordinatorYaml } from "../../deploy/coordinator_yaml.ts";
import { COORDINATOR_RULES } from "../../deploy/coordinator_rbac.ts";
import { loadDefaultSettings } from "../../policy/settings.ts";
import { INITDATA_ANNOTATION } from "../../policy/initdata.ts";
import { exampleGenerateFlags, withExampleApp } from "../../testing/example_app.ts";
import { LocalKubeCluster } from "../../testing/kube/mod.ts";
import { kubeTest } from "../helpers/kube_test.ts";

const NAME = "kubectl apply --server-side of runtime, Coordinator and the generated example app";

kubeTest(NAME, () =>
  withExampleApp("contrast-kube-apply-", async (example) => {
    const quiet = console.error;
    console.error = () => {};
    try {
      await runGenerate([example.app], exampleGenerateFlags(example));
    } finally {
      console.error = quiet;
    }
    const runtimeClassName = (await loadDefaultSettings()).runtime_class_name;
    const runtime = `${example.tmp}/runtime.yml`;
    await Deno.writeTextFile(
      runtime,
      runtimeClassYaml({ name: runtimeClassName, platform: "Metal-QEMU-SNP" }),
    );
    await using cluster = await LocalKubeCluster.start();
    const kubectl = async (...args: string[]) => {
      const r = await cluster.kubectl(args);
      assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
      return r.stdout;
    };
    await kubectl("apply", "--server-side", "-f", runtime);
    // Files apply in name order: config.yml (with the Namespace) comes first.
    const applied = await kubectl("apply", "--server-side", "-f", example.app);
    assert.equal(applied.trim().split("\n").length, 16, applied);

    assert.equal(
      await kubectl("get", "runtimeclass", runtimeClassName, "-o", "jsonpath={.handler}"),
      "kata-qemu-snp",
    );
    const coordinator = JSON.parse(
      await kubectl("get", "statefulset", "coordinator", "-n", "emojivoto", "-o", "json"),
    );
    const pod = coordinator.spec.template;
    assert.equal(pod.spec.runtimeClassName, runtimeClassName);
    assert.ok(pod.metadata.annotations[INITDATA_ANNOTATION], "the Coordinator has its policy");
    assert.match(pod.spec.containers[0].image, /\/contrast\/coordinator@sha256:[0-9a-f]{64}$/);
    const web = JSON.parse(
      await kubectl("get", "deployment", "web", "-n", "emojivoto", "-o", "json"),
    );
    const init = web.spec.template.spec.initContainers[0];
    assert.match(init.image, /\/contrast\/initializer@sha256:[0-9a-f]{64}$/);
    for (const service of ["coordinator", "coordinator-userapi"]) {
      await kubectl("get", "service", service, "-n", "emojivoto");
    }
    // The Coordinator's ServiceAccount has no rights: its state needs none.
    const can = await cluster.kubectl([
      "auth",
      "can-i",
      "--as=system:serviceaccount:emojivoto:coordinator",
      "-n",
      "emojivoto",
      "get",
      "configmaps",
    ]);
    assert.equal(can.stdout.trim(), "no");
    await applyReplicatedCoordinator(cluster, example.tmp);
  }));

/** Every verb RBAC knows for a resource. */
const VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"];

/**
 * `contrast coordinator --replicas 3` applied server-side in its own namespace: its ServiceAccount
 * gets exactly the verbs of {@link COORDINATOR_RULES} in that namespace and nothing elsewhere.
 */
async function applyReplicatedCoordinator(cluster: LocalKubeCluster, tmp: string): Promise<void> {
  const kubectl = async (...args: string[]) => {
    const r = await cluster.kubectl(args);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const file = `${tmp}/coordinator-ha.yml`;
  await Deno.writeTextFile(
    file,
    coordinatorYaml({
      image: `127.0.0.1:5000/contrast/coordinator@sha256:${"ab".repeat(32)}`,
      runtimeClassName: (await loadDefaultSettings()).runtime_class_name,
      namespace: "ha",
      replicas: 3,
    }),
  );
  await kubectl("create", "namespace", "ha");
  const applied = await kubectl("apply", "--server-side", "-f", file);
  assert.equal(applied.trim().split("\n").length, 6, applied);
  const set = JSON.parse(
    await kubectl("get", "statefulset", "coordinator", "-n", "ha", "-o", "json"),
  );
  assert.equal(set.spec.replicas, 3);
  assert.equal(set.spec.template.spec.automountServiceAccountToken, true);
  const userApi = JSON.parse(
    await kubectl("get", "service", "coordinator-userapi", "-n", "ha", "-o", "json"),
  );
  assert.equal(userApi.spec.sessionAffinity, "ClientIP");

  const account = "--as=system:serviceaccount:ha:coordinator";
  const can = async (namespace: string, verb: string, resource: string) =>
    (await cluster.kubectl(["auth", "can-i", account, "-n", namespace, verb, resource])).stdout
      .trim();
  // A rule with resourceNames grants its verbs on those names only: `resource/name` is asked
  // for each, and the resource without a name and under another name must be refused.
  const granted = new Map<string, readonly string[]>();
  const refused: string[] = [];
  for (const rule of COORDINATOR_RULES) {
    for (const group of rule.apiGroups) {
      for (const resource of rule.resources) {
        const qualified = group ? `${resource}.${group}` : resource;
        if (rule.resourceNames === undefined) {
          granted.set(qualified, rule.verbs);
          continue;
        }
        for (const name of rule.resourceNames) granted.set(`${qualified}/${name}`, rule.verbs);
        refused.push(qualified, `${qualified}/other`);
      }
    }
  }
  const checks: Promise<void>[] = [];
  for (const [resource, verbs] of granted) {
    for (const verb of VERBS) {
      checks.push((async () => {
        const expected = verbs.includes(verb) ? "yes" : "no";
        assert.equal(await can("ha", verb, resource), expected, `${verb} ${resource} in ha`);
        // Nothing outside its namespace.
        assert.equal(await can("default", verb, resource), "no", `${verb} ${resource} in default`);
      })());
    }
  }
  for (const resource of refused) {
    for (const verb of ["get", "list", "watch", "update", "delete"]) {
      checks.push(
        (async () =>
          assert.equal(await can("ha", verb, resource), "no", `${verb} ${resource} in ha`))(),
      );
    }
  }
  for (const resource of ["secrets", "pods", "services", "roles.rbac.authorization.k8s.io"]) {
    checks.push((async () => assert.equal(await can("ha", "get", resource), "no", resource))());
  }
  await Promise.all(checks);
}
