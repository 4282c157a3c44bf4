import assert from "node:assert/strict";
import { encodeBase64, encodeHex, sha256 } from "../../../util/bytes/mod.ts";
import { UnavailableError } from "../../../util/errors/mod.ts";
import {
  HistoryCorruptionError,
  ManifestHistory,
  StaleTransitionError,
} from "../../../coordinator/history/mod.ts";
import { KubernetesHistoryBackend } from "../../../coordinator/history/kubernetes_backend.ts";
import { loadKubeConnection } from "../../../coordinator/kube/client.ts";
import { GENESIS_TRANSITION } from "../../../manifest/hash.ts";
import { kubeToolsMissing, LocalKubeCluster } from "../../../testing/kube/mod.ts";
import { COORDINATOR_HISTORY_RULES } from "../../../coordinator/kube/rbac.ts";
import { historyKey, manifestBytes, policyBytes } from "./helpers.ts";

const NAME = "kubernetes backend: ConfigMaps on a real API server";

/**
 * Deno 2.9.6 segfaults (a tokio worker thread) when this test process stops its API server after
 * using `@kubernetes/client-node` in-process, on a quiet machine (every step passes first; under
 * load it does not happen). The Coordinator processes of the kube e2e tests survive API server
 * restarts and exercise the same backend, so this in-process contract test runs only on request.
 */
function inProcessRunSkipped(name: string): boolean {
  if (Deno.env.get("CONTRAST_TEST_KUBE_IN_PROCESS") === "1") return false;
  console.error(
    `SKIPPED ${name}: set CONTRAST_TEST_KUBE_IN_PROCESS=1 to run it (Deno 2.9.6 segfaults when ` +
      "the API server stops under this process's client-node connections; see the README)",
  );
  return true;
}

Deno.test({
  name: NAME,
  ignore: kubeToolsMissing(NAME) || inProcessRunSkipped(NAME),
}, async (t) => {
  const sa = { token: "coordinator-sa-token-0123456789", name: "coordinator" };
  await using cluster = await LocalKubeCluster.start({ users: [sa] });
  // The Coordinator runs with exactly the documented least-privilege Role.
  const role = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "coordinator", namespace: "default" },
    rules: COORDINATOR_HISTORY_RULES,
  };
  const binding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "coordinator", namespace: "default" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "coordinator" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: sa.name }],
  };
  const applied = await cluster.kubectl(["apply", "-f", "-"], {
    stdin: JSON.stringify({ apiVersion: "v1", kind: "List", items: [role, binding] }),
  });
  assert.equal(applied.code, 0, applied.stderr);
  const connection = loadKubeConnection({ kubeconfig: await cluster.writeKubeconfig(sa) });
  assert.equal(connection.namespace, "default");
  const owner = await cluster.kubectl(
    ["create", "configmap", "owner", "-o", "jsonpath={.metadata.uid}"],
  );
  const backend = new KubernetesHistoryBackend({
    connection,
    owner: { apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.stdout },
  });
  const keys = await historyKey();

  await t.step(
    "objects: stored immutable with labels, owner and binaryData, read back",
    async () => {
      const bytes = new Uint8Array([0, 1, 2, 255, 254]);
      const name = encodeHex(await sha256(bytes));
      await backend.putObject("policies", name, bytes);
      await backend.putObject("policies", name, bytes); // idempotent
      assert.deepEqual(await backend.getObject("policies", name), bytes);
      assert.equal(await backend.getObject("policies", "00".repeat(32)), undefined);
      const cm = JSON.parse(
        (await cluster.kubectl([
          "get",
          "configmap",
          `contrast-history-policies-${name}`,
          "-o",
          "json",
        ]))
          .stdout,
      );
      assert.equal(cm.immutable, true);
      assert.equal(cm.binaryData.content, encodeBase64(bytes));
      assert.equal(cm.metadata.labels["contrast.edgeless.systems/history-record"], "policies");
      assert.equal(cm.metadata.labels["contrast.edgeless.systems/history"], "contrast-history");
      assert.equal(cm.metadata.ownerReferences[0].uid, owner.stdout);
    },
  );

  await t.step("a planted object with wrong bytes is replaced by the genuine write", async () => {
    const bytes = new TextEncoder().encode("genuine");
    const name = encodeHex(await sha256(bytes));
    const planted = await cluster.kubectl([
      "create",
      "configmap",
      `contrast-history-manifests-${name}`,
      "--from-literal=content=planted",
    ]);
    assert.equal(planted.code, 0, planted.stderr);
    await backend.putObject("manifests", name, bytes);
    assert.deepEqual(await backend.getObject("manifests", name), bytes);
  });

  const history = ManifestHistory.open(backend, keys.publicKey);
  await t.step("append, chain, and compare-and-swap: 6 concurrent writers, one wins", async () => {
    const first = await history.append(
      {
        manifestBytes: manifestBytes(0),
        policies: [policyBytes(0)],
        expectedPrevious: GENESIS_TRANSITION,
      },
      keys.privateKey,
    );
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, w) =>
        ManifestHistory.open(backend, keys.publicKey).append(
          {
            manifestBytes: manifestBytes(10 + w),
            policies: [],
            expectedPrevious: first.transitionHash,
          },
          keys.privateKey,
        )),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    assert.equal(won.length, 1);
    for (const r of results) {
      if (r.status === "rejected") {
        assert.ok(r.reason instanceof StaleTransitionError, String(r.reason));
      }
    }
    const chain = await history.chain();
    assert.equal(chain.length, 2);
    assert.deepEqual(chain[0]!.manifestBytes, manifestBytes(0));
  });

  await t.step("the watch reports a new latest", async () => {
    let changes = 0;
    let resolve!: () => void;
    const seen = new Promise<void>((r) => resolve = r);
    const watch = backend.watchLatest(() => {
      changes++;
      if (changes >= 2) resolve(); // once on connect, then on the update
    });
    try {
      await new Promise((r) => setTimeout(r, 500));
      const latest = await history.latest();
      await history.append(
        {
          manifestBytes: manifestBytes(99),
          policies: [],
          expectedPrevious: latest!.transitionHash,
        },
        keys.privateKey,
      );
      await Promise.race([
        seen,
        new Promise((_, reject) => setTimeout(() => reject(new Error("no watch event")), 10_000)),
      ]);
    } finally {
      await watch.stop();
    }
  });

  await t.step("tampered ConfigMaps are detected on read", async () => {
    const latest = (await history.latest())!;
    // A changed manifest: immutable, so an attacker deletes and recreates it.
    const cmName = `contrast-history-manifests-${encodeHex(latest.manifestHash)}`;
    const backup = (await cluster.kubectl(["get", "configmap", cmName, "-o", "json"])).stdout;
    assert.equal((await cluster.kubectl(["delete", "configmap", cmName])).code, 0);
    await cluster.kubectl(["create", "configmap", cmName, "--from-literal=x=y"]);
    await assert.rejects(history.latest(), HistoryCorruptionError);
    await cluster.kubectl(["delete", "configmap", cmName]);
    const restored = JSON.parse(backup);
    delete restored.metadata.resourceVersion;
    delete restored.metadata.uid;
    delete restored.metadata.creationTimestamp;
    delete restored.metadata.managedFields;
    assert.equal(
      (await cluster.kubectl(["create", "-f", "-"], { stdin: JSON.stringify(restored) })).code,
      0,
    );
    assert.ok(await history.latest());
    // A forged latest (signed by another key) is refused.
    const other = await historyKey(7);
    const forged = await ManifestHistory.open(backend, other.publicKey).store.swapLatest(
      (await backend.readLatest())!.version,
      latest.previousTransition,
      other.privateKey,
    );
    assert.equal(forged, true);
    await assert.rejects(history.latest(), (e) => {
      assert.ok(e instanceof HistoryCorruptionError);
      assert.match(e.message, /not signed by the history signing key/);
      return true;
    });
  });

  await t.step("an unreachable API server is UnavailableError", async () => {
    // A backend whose API server refuses connections. (Stopping this cluster's API server under
    // the pooled connections of `backend` segfaults Deno 2.9.6 on a quiet machine: a runtime
    // bug, noted in the README; the fault e2e test restarts the API server under Coordinators.)
    const closed = await Deno.makeTempFile({ suffix: ".kubeconfig" });
    await Deno.writeTextFile(
      closed,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:1" } }],
        users: [{ name: "u", user: { token: "unused" } }],
        contexts: [{ name: "x", context: { cluster: "c", user: "u", namespace: "default" } }],
        "current-context": "x",
      }),
    );
    try {
      const unreachable = new KubernetesHistoryBackend({
        connection: loadKubeConnection({ kubeconfig: closed }),
      });
      await assert.rejects(unreachable.readLatest(), UnavailableError);
      await assert.rejects(unreachable.compareAndSwapLatest(undefined, new Uint8Array([1])));
    } finally {
      await Deno.remove(closed);
    }
  });

  // Close the client's pooled keep-alive connections before the cluster stops: Deno 2.9.6
  // segfaults when the API server closes idle pooled TLS connections of a test process (seen
  // on a quiet machine; Coordinator processes survive API server restarts, see kube_faults_test).
  const agents = (connection.kubeConfig as unknown as {
    agentCache: Map<string, { destroy(): void }>;
  }).agentCache;
  for (const agent of agents.values()) agent.destroy();
});
