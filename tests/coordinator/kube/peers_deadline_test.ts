/**
 * A hostile (or partitioned) API server that accepts the Coordinator's Lease requests and never
 * answers must not hold the replica: every call of the peer registry rejects after its deadline,
 * so the recovery loop (which awaits `readyPeers` and `renew`) goes on.
 */
import assert from "node:assert/strict";
import { LeasePeerRegistry } from "../../../coordinator/kube/peers.ts";
import { settlesWithin } from "../../helpers/settles_within.ts";
import { kubeConfigFor } from "../../helpers/kube_config_for.ts";
import { unansweringApiServer } from "../../helpers/unanswering_api_server.ts";

/** An HTTP server that reads each request and answers none until released. */
const silentApiServer = () => unansweringApiServer();

function registry(server: string): LeasePeerRegistry {
  return new LeasePeerRegistry({
    connection: { kubeConfig: kubeConfigFor(server), namespace: "default" },
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
