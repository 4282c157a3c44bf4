/**
 * A hostile (or partitioned) API server that accepts the history backend's requests and never
 * answers must not hold the replica: every ConfigMap call rejects after its deadline as
 * unavailable. Reads of latest are coalesced (`fresh_read.ts`): a GET of latest left unanswered
 * held every later read behind it, so the replica stayed not ready, answering nothing, after the
 * API server behaved again (the Coordinator's own 5 s limit only abandons its wait, not the GET);
 * and an object read left unanswered during a reload held the replica's queue of state changes
 * (the owner's update, recovery) for good.
 */
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { encodeBase64 } from "../../../util/bytes/mod.ts";
import { UnavailableError } from "../../../util/errors/mod.ts";
import { KubernetesHistoryBackend } from "../../../coordinator/history/kubernetes_backend.ts";
import { settlesWithin } from "../../helpers/settles_within.ts";

/**
 * An API server that leaves the first `silent` requests unanswered until it is closed and answers
 * later GETs of latest with one ConfigMap (everything else: 404).
 */
function apiServer(silent: number) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (++requests <= silent) {
      await released;
      return new Response("{}", { status: 503 });
    }
    if (req.method === "GET" && new URL(req.url).pathname.endsWith("/contrast-history-latest")) {
      return Response.json({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "contrast-history-latest", resourceVersion: "7" },
        binaryData: { content: encodeBase64(new Uint8Array([1, 2, 3])) },
      });
    }
    return new Response("{}", { status: 404 });
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

function backendOn(server: string): KubernetesHistoryBackend {
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "c", server, skipTLSVerify: true }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u", namespace: "default" }],
    currentContext: "x",
  });
  return new KubernetesHistoryBackend({
    connection: { kubeConfig, namespace: "default" },
    apiTimeoutMs: 300,
  });
}

/** What `call` rejected with (within the guard, far beyond the backend's deadline). */
async function refusal(call: Promise<unknown>): Promise<unknown> {
  return await settlesWithin(call, 5000).then(
    (value) => assert.fail(`resolved without an answer: ${value}`),
    (e: unknown) => e,
  );
}

Deno.test("kubernetes backend: an unanswered GET of latest rejects after the deadline, and the next read is answered", async () => {
  const api = apiServer(1);
  try {
    const backend = backendOn(api.url);
    const error = await refusal(backend.readLatest());
    assert.ok(
      error instanceof UnavailableError && error.field === "transitions/latest",
      `the unanswered read: ${error}`,
    );
    // The API server answers again: the next read must not wait behind the unanswered one.
    const record = await settlesWithin(backend.readLatest(), 5000);
    assert.equal(record?.version, "7");
    assert.deepEqual(record?.bytes, new Uint8Array([1, 2, 3]));
  } finally {
    await api.close();
  }
});

Deno.test("kubernetes backend: every ConfigMap call the API server leaves unanswered rejects after the deadline", async () => {
  const name = "ab".repeat(32);
  const calls: [string, (b: KubernetesHistoryBackend) => Promise<unknown>][] = [
    ["manifests/" + name, (b) => b.getObject("manifests", name)],
    ["transitions/" + name, (b) => b.putObject("transitions", name, new Uint8Array(64))],
    ["policies", (b) => b.listObjects("policies")],
    ["transitions/latest", (b) => b.compareAndSwapLatest("6", new Uint8Array(128))],
    ["transitions/latest", (b) => b.compareAndSwapLatest(undefined, new Uint8Array(128))],
  ];
  const api = apiServer(calls.length);
  try {
    const backend = backendOn(api.url);
    for (const [field, call] of calls) {
      const error = await refusal(call(backend));
      assert.ok(
        error instanceof UnavailableError && error.field === field,
        `${field}: ${error}`,
      );
    }
    assert.equal(api.requests(), calls.length, "each request reached the server");
  } finally {
    await api.close();
  }
});
