/**
 * A blob upload goes only to the registry's own origin: the registry's `Location` answer naming
 * another host, or `http://` for an HTTPS registry (as one behind a TLS-terminating proxy does),
 * would otherwise receive the upload with the registry's credentials in its `Authorization`.
 */
import assert from "node:assert/strict";
import { VerificationError } from "../../util/errors/mod.ts";
import { RegistryClient } from "../../oci/registry_client.ts";

function serve(handler: (req: Request) => Response | Promise<Response>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  return { host: `127.0.0.1:${server.addr.port}`, stop: () => server.shutdown() };
}

Deno.test("a blob upload Location on another origin is refused before credentials go there", async () => {
  const elsewhere: (string | null)[] = [];
  const other = serve((req) => {
    elsewhere.push(req.headers.get("authorization"));
    return new Response(null, { status: 201 });
  });
  const registry = serve((req) => {
    if (req.headers.get("authorization") === null) {
      return new Response(null, {
        status: 401,
        headers: { "www-authenticate": 'Basic realm="registry"' },
      });
    }
    const url = new URL(req.url);
    if (req.method === "HEAD") return new Response(null, { status: 404 });
    if (req.method === "POST" && url.pathname === "/v2/app/blobs/uploads/") {
      return new Response(null, {
        status: 202,
        headers: { location: `http://${other.host}/upload/1` },
      });
    }
    return new Response(null, { status: 400 });
  });
  const client = new RegistryClient({
    insecureRegistries: [registry.host],
    credentials: new Map([[registry.host, { username: "bob", password: "s3cret" }]]),
    retries: 0,
  });
  try {
    await assert.rejects(
      client.pushBlob({ registry: registry.host, repository: "app" }, new Uint8Array([1]), "blob"),
      (e: unknown) => e instanceof VerificationError && /not the registry's origin/.test(e.message),
    );
    assert.deepEqual(elsewhere, [], "nothing reached the other origin");
  } finally {
    await registry.stop();
    await other.stop();
  }
});
