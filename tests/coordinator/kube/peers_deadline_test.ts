/**
 * A hostile (or partitioned) API server that accepts the Coordinator's Lease requests and never
 * answers must not hold the replica: every call of the peer registry rejects after its deadline,
 * so the recovery loop (which awaits `readyPeers` and `renew`) goes on.
 */
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { LeasePeerRegistry } from "../../../coordinator/kube/peers.ts";
import { settlesWithin } from "../../helpers/settles_within.ts";

/** An HTTP server that reads each request and answers none until released. */
function silentApiServer() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
    requests++;
    await released;
    return new Response("{}", { status: 503 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests: () => requests,
    close: async () => {
      release();
      await server.shutdown();
    },
  };
}

function registry(server: string): LeasePeerRegistry {
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "c", server, skipTLSVerify: true }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u", namespace: "default" }],
    currentContext: "x",
  });
  return new LeasePeerRegistry({
    connection: { kubeConfig, namespace: "default" },
    historyName: "contrast-history",
    replicaName: "r1",
    meshAddress: "127.0.0.1:7777",
    apiTimeoutMs: 300,
  });
}

/**
 * Registers a test that `call` on a registry whose API server never answers rejects (after the
 * registry's deadline, long before the guard) with the request having reached the server.
 */
function rejectsAfterDeadline(
  name: string,
  what: string,
  call: (peers: LeasePeerRegistry) => Promise<unknown>,
): void {
  Deno.test(name, async () => {
    const api = silentApiServer();
    try {
      const peers = registry(api.url);
      const error = await settlesWithin(call(peers), 5000).then(() => undefined, (e) => e);
      assert.ok(error !== undefined, `${what} resolved without an answer`);
      assert.ok(!String(error).includes("still pending"), `${what} hung: ${error}`);
      assert.ok(api.requests() >= 1, `the request reached the server (${error})`);
    } finally {
      await api.close();
    }
  });
}

rejectsAfterDeadline(
  "peer registry: an unanswered Lease list rejects after the deadline",
  "readyPeers",
  (peers) => peers.readyPeers(),
);

rejectsAfterDeadline(
  "peer registry: an unanswered Lease renewal rejects after the deadline",
  "renew",
  (peers) => peers.renew(),
);
