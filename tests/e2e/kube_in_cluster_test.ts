import "reflect-metadata";
import assert from "node:assert/strict";
import { SERVICE_ACCOUNT_DIR } from "../../coordinator/kube/client.ts";
import { COORDINATOR_RULES } from "../../coordinator/kube/rbac.ts";
import { kubeToolsMissing, LocalKubeCluster } from "../../testing/kube/mod.ts";
import { startCoordinatorProcess } from "../../testing/simulation/processes.ts";
import { workspaceVm } from "../../testing/simulation/workspace.ts";
import { createWorkspace, runCli, type Workspace } from "./harness.ts";

const NAME =
  "kubernetes backend in-cluster: ServiceAccount token (TokenRequest) + CA, least RBAC, --history-owner StatefulSet owner references";

const SA = "contrast-coordinator";
const HISTORY_LABEL = "contrast.edgeless.systems/history=contrast-history";

/** The ServiceAccount, the Coordinator's Role (rbac.ts) bound to it, and a StatefulSet owner. */
async function applyObjects(cluster: LocalKubeCluster): Promise<void> {
  const items = [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: SA, namespace: "default" } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: SA, namespace: "default" },
      rules: COORDINATOR_RULES,
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: SA, namespace: "default" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: SA },
      subjects: [{ kind: "ServiceAccount", name: SA, namespace: "default" }],
    },
    {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "coordinator", namespace: "default" },
      spec: {
        serviceName: "coordinator",
        selector: { matchLabels: { app: "coordinator" } },
        template: {
          metadata: { labels: { app: "coordinator" } },
          spec: {
            serviceAccountName: SA,
            containers: [{ name: "coordinator", image: "example.invalid/coordinator:test" }],
          },
        },
      },
    },
  ];
  // Another workload of the namespace, which the Role must not let the token read.
  const other = structuredClone(items[3]!) as { metadata: { name: string } };
  other.metadata.name = "other";
  items.push(other as (typeof items)[number]);
  const applied = await cluster.kubectl(["apply", "-f", "-"], {
    stdin: JSON.stringify({ apiVersion: "v1", kind: "List", items }),
  });
  assert.equal(applied.code, 0, applied.stderr);
}

/**
 * Writes what the kubelet mounts into a pod (token, ca.crt, namespace) under
 * `<root>/var/run/secrets/kubernetes.io/serviceaccount/`; returns `root`.
 */
async function mountServiceAccount(ws: Workspace, token: string, caPem: string): Promise<string> {
  const root = `${ws.dir}/pod-root`;
  const dir = `${root}${SERVICE_ACCOUNT_DIR}`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/token`, token, { mode: 0o600 });
  await Deno.writeTextFile(`${dir}/ca.crt`, caPem);
  await Deno.writeTextFile(`${dir}/namespace`, "default");
  return root;
}

/** Starts a Coordinator configured as in a pod: no kubeconfig, no namespace flag. */
function startInCluster(
  ws: Workspace,
  cluster: LocalKubeCluster,
  root: string,
  owner: string,
) {
  const url = new URL(cluster.server);
  return startCoordinatorProcess({
    vm: workspaceVm(ws, ws.deployment.coordinator.digest),
    readyFile: `${ws.dir}/ready-${crypto.randomUUID()}.json`,
    cwd: ws.dir,
    extraArgs: [
      "--history-backend",
      "kubernetes",
      "--service-account-root",
      root,
      "--history-owner",
      owner,
    ],
    env: { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port },
  });
}

Deno.test({
  name: NAME,
  ignore: kubeToolsMissing(NAME),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    await using cluster = await LocalKubeCluster.start();
    await applyObjects(cluster);
    // A real ServiceAccount token, signed by the API server (TokenRequest), as a pod gets one.
    const created = await cluster.kubectl(["create", "token", SA, "--duration=1h"]);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    const ws = await createWorkspace();
    const root = await mountServiceAccount(ws, token, cluster.caPem);
    const ownerUid = (await cluster.kubectl(
      ["get", "statefulset", "coordinator", "-o", "jsonpath={.metadata.uid}"],
    )).stdout;
    assert.match(ownerUid, /^[0-9a-f-]{36}$/);

    await t.step("the token authenticates as the ServiceAccount and RBAC limits it", async () => {
      const as = ["--token", token, "--kubeconfig=/dev/null", "--server", cluster.server];
      const ca = `${ws.dir}/ca.pem`;
      await Deno.writeTextFile(ca, cluster.caPem);
      const whoami = await cluster.kubectl(
        [
          "auth",
          "whoami",
          "-o",
          "jsonpath={.status.userInfo.username}",
          ...as,
          `--certificate-authority=${ca}`,
        ],
      );
      assert.equal(whoami.stdout, `system:serviceaccount:default:${SA}`, whoami.stderr);
      // Outside the Role: no Secrets, no other namespace.
      const secrets = await cluster.kubectl(
        ["get", "secrets", ...as, `--certificate-authority=${ca}`],
      );
      assert.notEqual(secrets.code, 0);
      assert.match(secrets.stderr, /forbidden/i);
      const elsewhere = await cluster.kubectl(
        ["get", "configmaps", "-n", "kube-system", ...as, `--certificate-authority=${ca}`],
      );
      assert.notEqual(elsewhere.code, 0);
      assert.match(elsewhere.stderr, /forbidden/i);
    });

    await t.step(
      "an owner the Role cannot read (a Secret) stops the start, naming the flag",
      async () => {
        await assert.rejects(
          startInCluster(ws, cluster, root, "v1/Secret/coordinator"),
          /history-owner/,
        );
      },
    );

    await t.step(
      "another StatefulSet as owner stops the start (the Role reads only the Coordinator's)",
      async () => {
        await assert.rejects(
          startInCluster(ws, cluster, root, "apps/v1/StatefulSet/other"),
          /history-owner/,
        );
      },
    );

    await t.step("a missing ServiceAccount token stops the start, naming in-cluster", async () => {
      await assert.rejects(
        startInCluster(ws, cluster, `${ws.dir}/empty-root`, "apps/v1/StatefulSet/coordinator"),
        /no ServiceAccount token/,
      );
    });

    const coordinator = await startInCluster(ws, cluster, root, "apps/v1/StatefulSet/coordinator");
    try {
      await t.step("set through the in-cluster Coordinator stores the history", async () => {
        const set = await runCli(ws, ["set", "-c", coordinator.userAddress, ws.yamlPath]);
        assert.equal(set.code, 0, set.stderr);
        const verify = await runCli(ws, ["verify", "-c", coordinator.userAddress]);
        assert.equal(verify.code, 0, verify.stderr);
      });

      await t.step(
        "every history ConfigMap carries the StatefulSet's owner reference",
        async () => {
          const listed = await cluster.kubectl([
            "get",
            "configmaps",
            "-l",
            HISTORY_LABEL,
            "-o",
            "json",
          ]);
          assert.equal(listed.code, 0, listed.stderr);
          const items: { metadata: { name: string; ownerReferences?: unknown[] } }[] =
            JSON.parse(listed.stdout).items;
          const records = new Set(items.map((i) => i.metadata.name.split("-")[2]));
          for (const r of ["manifests", "policies", "transitions", "latest"]) {
            assert.ok(records.has(r), `a ${r} ConfigMap: ${[...records]}`);
          }
          for (const item of items) {
            assert.deepEqual(item.metadata.ownerReferences, [{
              apiVersion: "apps/v1",
              kind: "StatefulSet",
              name: "coordinator",
              uid: ownerUid,
              controller: false,
              blockOwnerDeletion: false,
            }], item.metadata.name);
          }
        },
      );
    } finally {
      await coordinator.stop();
    }

    await t.step("deleting the owner leaves ConfigMaps whose only owner is gone", async () => {
      // No kube-controller-manager runs here, so no garbage collector deletes the dependents. What
      // is checked is what the collector acts on: after the StatefulSet is deleted, every history
      // ConfigMap's only owner reference names a uid that no longer exists, which makes it garbage
      // for a cluster's collector (background deletion, since blockOwnerDeletion is false).
      const deleted = await cluster.kubectl(["delete", "statefulset", "coordinator", "--wait"]);
      assert.equal(deleted.code, 0, deleted.stderr);
      const gone = await cluster.kubectl(["get", "statefulset", "coordinator"]);
      assert.match(gone.stderr, /NotFound/);
      const listed = await cluster.kubectl([
        "get",
        "configmaps",
        "-l",
        HISTORY_LABEL,
        "-o",
        "json",
      ]);
      const items: { metadata: { ownerReferences: { uid: string }[] } }[] =
        JSON.parse(listed.stdout).items;
      assert.ok(items.length >= 4);
      for (const item of items) {
        assert.deepEqual(item.metadata.ownerReferences.map((o) => o.uid), [ownerUid]);
      }
    });
    await Deno.remove(ws.dir, { recursive: true }).catch(() => {});
  },
});
