/**
 * Redirects of a hostile or misconfigured registry (or token endpoint): an HTTPS registry's
 * answer must not come over plain HTTP, a redirect target's 401 challenge must not receive the
 * registry's credentials, and a token request (with a refresh token in its body) must not be
 * re-sent to another origin.
 */
import assert from "node:assert/strict";
import { UnavailableError, VerificationError } from "../../util/errors/mod.ts";
import { RegistryClient } from "../../oci/registry_client.ts";
import { fetchBearerToken } from "../../oci/auth.ts";
import { makeTlsFiles } from "../../testing/registry/registry.ts";

interface Tls {
  readonly caPem: string;
  readonly cert: string;
  readonly key: string;
}

async function withTls(run: (tls: Tls) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "contrast-redirect-test-" });
  try {
    const caPem = await makeTlsFiles(dir);
    await run({
      caPem,
      cert: await Deno.readTextFile(`${dir}/server.crt`),
      key: await Deno.readTextFile(`${dir}/server.key`),
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

type Handler = (req: Request, body: string) => Response;

/** A server on 127.0.0.1 (HTTPS with `tls`) that logs each request's path, Authorization and body. */
function serve(handler: Handler, tls?: Tls) {
  const log: { path: string; authorization: string | null; body: string }[] = [];
  const server = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      onListen() {},
      ...(tls ? { cert: tls.cert, key: tls.key } : {}),
    },
    async (req) => {
      const body = await req.text();
      log.push({
        path: new URL(req.url).pathname,
        authorization: req.headers.get("authorization"),
        body,
      });
      return handler(req, body);
    },
  );
  const host = `127.0.0.1:${server.addr.port}`;
  return {
    host,
    origin: `${tls ? "https" : "http"}://${host}`,
    log,
    stop: () => server.shutdown(),
  };
}

const MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: {
    mediaType: "application/vnd.oci.image.config.v1+json",
    digest: `sha256:${"a".repeat(64)}`,
    size: 2,
  },
  layers: [],
});

Deno.test("an HTTPS registry's redirect to plain HTTP is refused (a tag's manifest could be swapped on the path)", async () => {
  await withTls(async (tls) => {
    const plain = serve(() =>
      new Response(MANIFEST, {
        headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
      })
    );
    const registry = serve(
      () => new Response(null, { status: 307, headers: { location: `${plain.origin}/m` } }),
      tls,
    );
    const client = new RegistryClient({ caCertificates: [tls.caPem], retries: 0 });
    try {
      const location = { registry: registry.host, repository: "app" };
      await assert.rejects(
        client.getManifest(location, "v1", "image app:v1"),
        (e: unknown) =>
          e instanceof VerificationError && e.field === "image app:v1" &&
          /plain HTTP/.test(e.reason),
      );
      await assert.rejects(
        client.headManifest(location, "v1", "image app:v1"),
        (e: unknown) => e instanceof VerificationError && /plain HTTP/.test(e.reason),
      );
    } finally {
      client.close();
      await registry.stop();
      await plain.stop();
    }
  });
});

Deno.test("a 401 challenge from the origin a registry redirected to gets no credentials", async () => {
  await withTls(async (tls) => {
    const other = serve((req) => {
      if (new URL(req.url).pathname === "/token") return Response.json({ token: "stolen" });
      return new Response(null, {
        status: 401,
        headers: { "www-authenticate": `Bearer realm="https://${otherHost()}/token"` },
      });
    }, tls);
    const otherHost = () => other.host;
    const registry = serve((req) => {
      if (!req.headers.get("authorization")) {
        return new Response(null, {
          status: 401,
          headers: { "www-authenticate": 'Basic realm="r"' },
        });
      }
      return new Response(null, {
        status: 307,
        headers: { location: `${other.origin}/storage/blob` },
      });
    }, tls);
    const client = new RegistryClient({
      caCertificates: [tls.caPem],
      credentials: new Map([[registry.host, { username: "bob", password: "s3cret" }]]),
      retries: 0,
    });
    try {
      await assert.rejects(
        client.getManifest({ registry: registry.host, repository: "app" }, "v1", "image app:v1"),
        (e: unknown) =>
          e instanceof UnavailableError && e.field === "image app:v1" &&
          /redirected/.test(e.reason) && e.reason.includes(other.origin),
      );
      assert.deepEqual(
        other.log.filter((r) => r.authorization !== null || r.path === "/token"),
        [],
        "the other origin saw no credentials and no token request",
      );
    } finally {
      client.close();
      await registry.stop();
      await other.stop();
    }
  });
});

for (
  const [what, credentials] of [
    ["refresh token", { username: "u", password: "", identityToken: "REFRESH-TOKEN" }],
    ["password", { username: "bob", password: "s3cret" }],
  ] as const
) {
  Deno.test(`a token endpoint's redirect to another origin is refused (${what} not re-sent)`, async () => {
    await withTls(async (tls) => {
      const other = serve(() => Response.json({ token: "x" }));
      const realm = serve(
        () => new Response(null, { status: 307, headers: { location: `${other.origin}/t` } }),
        tls,
      );
      const httpClient = Deno.createHttpClient({ caCerts: [tls.caPem] });
      try {
        await assert.rejects(
          fetchBearerToken({
            challenge: { scheme: "bearer", params: new Map([["realm", `${realm.origin}/token`]]) },
            scope: "repository:app:pull",
            credentials,
            allowHttp: false,
            timeoutMs: 5000,
            httpClient,
          }),
          (e: unknown) =>
            e instanceof UnavailableError && e.field === `token endpoint ${realm.origin}` &&
            /redirects to/.test(e.reason),
        );
        assert.deepEqual(other.log, [], "nothing reached the other origin");
      } finally {
        httpClient.close();
        await realm.stop();
        await other.stop();
      }
    });
  });
}

Deno.test("a token endpoint's redirect within its origin is followed", async () => {
  await withTls(async (tls) => {
    const realm = serve(
      (req) =>
        new URL(req.url).pathname === "/token"
          ? new Response(null, { status: 308, headers: { location: "/v2/token" } })
          : Response.json({ token: "ok-token" }),
      tls,
    );
    const httpClient = Deno.createHttpClient({ caCerts: [tls.caPem] });
    try {
      const token = await fetchBearerToken({
        challenge: { scheme: "bearer", params: new Map([["realm", `${realm.origin}/token`]]) },
        scope: "repository:app:pull",
        credentials: { username: "u", password: "", identityToken: "REFRESH-TOKEN" },
        allowHttp: false,
        timeoutMs: 5000,
        httpClient,
      });
      assert.equal(token, "ok-token");
      assert.deepEqual(realm.log.map((r) => [r.path, r.body.includes("REFRESH-TOKEN")]), [
        ["/token", true],
        ["/v2/token", true],
      ]);
    } finally {
      httpClient.close();
      await realm.stop();
    }
  });
});

Deno.test("an upload redirected elsewhere is not re-sent there (image content, possibly private)", async () => {
  await withTls(async (tls) => {
    const plain = serve(() => new Response(null, { status: 201 }));
    const registry = serve((req) => {
      const url = new URL(req.url);
      if (req.method === "HEAD") return new Response(null, { status: 404 });
      if (req.method === "POST") {
        return new Response(null, { status: 202, headers: { location: `${url.pathname}1` } });
      }
      return new Response(null, { status: 307, headers: { location: `${plain.origin}/sink` } });
    }, tls);
    const client = new RegistryClient({ caCertificates: [tls.caPem], retries: 0 });
    const location = { registry: registry.host, repository: "app" };
    try {
      await assert.rejects(
        client.pushBlob(location, new TextEncoder().encode("SECRET LAYER"), "blob"),
        (e: unknown) =>
          e instanceof UnavailableError && e.field === "blob" &&
          /redirected the upload/.test(e.reason),
      );
      await assert.rejects(
        client.pushManifest(
          location,
          "v1",
          new TextEncoder().encode("{}"),
          "application/json",
          "manifest",
        ),
        (e: unknown) => e instanceof UnavailableError && /redirected the upload/.test(e.reason),
      );
      assert.deepEqual(plain.log, [], "nothing went to the plain-HTTP origin");
    } finally {
      client.close();
      await registry.stop();
      await plain.stop();
    }
  });
});
