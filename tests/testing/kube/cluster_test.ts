import assert from "node:assert/strict";
import { kubeToolsMissing, LocalKubeCluster } from "../../../testing/kube/mod.ts";

const NAME = "testing/kube: a local etcd + kube-apiserver stores objects, enforces RBAC, restarts";

Deno.test({ name: NAME, ignore: kubeToolsMissing(NAME) }, async () => {
  const reader = { token: "reader-token-0123456789", name: "reader", groups: ["readers"] };
  await using cluster = await LocalKubeCluster.start({ users: [reader] });
  // The admin (system:masters) writes through kubectl and the kubeconfig the helper wrote.
  const created = await cluster.kubectl(["create", "configmap", "probe", "--from-literal=k=v"]);
  assert.equal(created.code, 0, created.stderr);
  const got = await cluster.kubectl(["get", "configmap", "probe", "-o", "jsonpath={.data.k}"]);
  assert.equal(got.stdout, "v");

  // RBAC is enforced: a user without bindings is forbidden, and allowed once bound.
  const readerConfig = await cluster.writeKubeconfig(reader);
  const denied = await cluster.kubectl(["get", "configmap", "probe"], { kubeconfig: readerConfig });
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /forbidden/i);
  const role = await cluster.kubectl([
    "create",
    "role",
    "read-cm",
    "--verb=get",
    "--resource=configmaps",
  ]);
  assert.equal(role.code, 0, role.stderr);
  const bind = await cluster.kubectl([
    "create",
    "rolebinding",
    "read-cm",
    "--role=read-cm",
    "--group=readers",
  ]);
  assert.equal(bind.code, 0, bind.stderr);
  const allowed = await cluster.kubectl(["get", "configmap", "probe", "-o", "name"], {
    kubeconfig: readerConfig,
  });
  assert.equal(allowed.stdout.trim(), "configmap/probe", allowed.stderr);

  // A crashed API server and etcd come back on the same ports with the same data.
  await cluster.stopApiServer("SIGKILL");
  assert.equal(await cluster.apiServerReady().catch(() => false), false);
  await cluster.stopEtcd("SIGKILL");
  await cluster.startEtcd();
  await cluster.startApiServer();
  const again = await cluster.kubectl(["get", "configmap", "probe", "-o", "jsonpath={.data.k}"]);
  assert.equal(again.stdout, "v", await cluster.logs());
});
