/**
 * A registry that breaks off an answer mid-body (a reset connection) or dribbles it past the
 * timeout: the reads end in an UnavailableError naming the image (exit 3), not an untyped
 * TypeError or DOMException from the body stream (an "internal error" of the CLI).
 */
import assert from "node:assert/strict";
import { UnavailableError } from "../../util/errors/mod.ts";
import { RegistryClient } from "../../oci/registry_client.ts";

function serve(body: () => ReadableStream<Uint8Array>) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(body(), { headers: { "content-type": "application/json" } }),
  );
  return { host: `127.0.0.1:${server.addr.port}`, stop: () => server.shutdown().catch(() => {}) };
}

const DIGEST = `sha256:${"a".repeat(64)}`;

Deno.test("an answer broken off mid-body is an UnavailableError naming the image", async () => {
  const registry = serve(() =>
    new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"schemaVersion":'));
        setTimeout(() => c.error(new Error("reset")), 20);
      },
    })
  );
  const client = new RegistryClient({ insecureRegistries: [registry.host], retries: 0 });
  const location = { registry: registry.host, repository: "app" };
  const dir = await Deno.makeTempDir({ prefix: "contrast-broken-body-" });
  try {
    const broken = (field: string) => (e: unknown) =>
      e instanceof UnavailableError && e.field === field && /broke off/.test(e.reason) &&
      e.reason.includes(registry.host);
    await assert.rejects(
      client.getManifest(location, "v1", "image app:v1"),
      broken("image app:v1"),
    );
    await assert.rejects(
      client.getBlob(location, { digest: DIGEST, size: 100 }, "image app:v1 config"),
      broken("image app:v1 config"),
    );
    await assert.rejects(
      client.downloadBlob(location, { digest: DIGEST, size: 100 }, `${dir}/layer`, "layer x"),
      broken("layer x"),
    );
    await assert.rejects(
      Deno.stat(`${dir}/layer`),
      Deno.errors.NotFound,
      "the partial file is removed",
    );
  } finally {
    await registry.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an answer dribbled past the timeout is an UnavailableError naming the image", async () => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const registry = serve(() =>
    new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode("{"));
        timer = setTimeout(() => c.close(), 5_000);
      },
    })
  );
  const client = new RegistryClient({
    insecureRegistries: [registry.host],
    retries: 0,
    timeoutMs: 300,
  });
  try {
    await assert.rejects(
      client.getManifest({ registry: registry.host, repository: "app" }, "v1", "image app:v1"),
      (e: unknown) =>
        e instanceof UnavailableError && e.field === "image app:v1" && /broke off/.test(e.reason),
    );
  } finally {
    clearTimeout(timer);
    await registry.stop();
  }
});
