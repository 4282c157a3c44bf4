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
import { encodeBase64 } from "../../../util/bytes/mod.ts";
import { UnavailableError } from "../../../util/errors/mod.ts";
import { KubernetesHistoryBackend } from "../../../coordinator/history/kubernetes_backend.ts";
import { settlesWithin } from "../../helpers/settles_within.ts";
import { kubeConfigFor } from "../../helpers/kube_config_for.ts";
import { unansweringApiServer } from "../../helpers/unanswering_api_server.ts";

/**
 * An API server that leaves the first `silent` requests unanswered until it is closed and answers
 * later GETs of latest with one ConfigMap (everything else: 404).
 */
function apiServer(silent: number) {
  return unansweringApiServer(silent, (req) => {
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
}

function backendOn(server: string): KubernetesHistoryBackend {
  return new KubernetesHistoryBackend({
    connection: { kubeConfig: kubeConfigFor(server), namespace: "default" },
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
