/**
 * The Kubernetes backend's reads of latest, as its callers see them: concurrent `readLatest`
 * calls share GETs, but only GETs that started after they asked (a latest replaced while a GET
 * was in flight is seen by a caller that asked after the replacement).
 */
import assert from "node:assert/strict";
import { encodeBase64 } from "../../../util/bytes/mod.ts";
import { KubernetesHistoryBackend } from "../../../coordinator/history/kubernetes_backend.ts";
import { kubeConfigFor } from "../../helpers/kube_config_for.ts";

/**
 * An API server holding one latest ConfigMap: it counts the GETs of it, and holds each answer
 * (the ConfigMap as it was when the GET arrived) until the test releases it.
 */
function latestApiServer() {
  let version = 1;
  let gets = 0;
  const held: (() => void)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (req.method !== "GET" || !url.pathname.endsWith("/configmaps/contrast-history-latest")) {
      return new Response("{}", { status: 404 });
    }
    gets++;
    const snapshot = version;
    await new Promise<void>((resolve) => held.push(resolve));
    return Response.json({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "contrast-history-latest", resourceVersion: String(snapshot) },
      binaryData: { content: encodeBase64(new Uint8Array([snapshot])) },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    gets: () => gets,
    held: () => held.length,
    /** Replaces latest (as another replica would). */
    replace: () => version++,
    release: () => held.splice(0).forEach((answer) => answer()),
    close: async () => {
      held.splice(0).forEach((answer) => answer());
      await server.shutdown();
    },
  };
}

function backendOn(server: string): KubernetesHistoryBackend {
  return new KubernetesHistoryBackend({
    connection: { kubeConfig: kubeConfigFor(server), namespace: "default" },
  });
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 1));
}

Deno.test("kubernetes backend: concurrent reads of latest share GETs that started after they asked", async () => {
  const api = latestApiServer();
  try {
    const backend = backendOn(api.url);
    const early = backend.readLatest();
    await until(() => api.held() === 1);
    api.replace(); // latest replaced while the first GET (which saw version 1) is in flight
    const late = Array.from({ length: 20 }, () => backend.readLatest());
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(api.gets(), 1, "callers arriving meanwhile wait for the next GET");
    api.release();
    assert.equal((await early)?.version, "1");
    await until(() => api.held() === 1);
    api.release();
    for (const record of await Promise.all(late)) {
      assert.equal(record?.version, "2");
      assert.deepEqual(record?.bytes, new Uint8Array([2]));
    }
    assert.equal(api.gets(), 2, "21 concurrent reads, 2 GETs");
  } finally {
    await api.close();
  }
});
