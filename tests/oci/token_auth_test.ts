import assert from "node:assert/strict";
import { UnavailableError } from "../../util/errors/mod.ts";
import { fetchBearerToken } from "../../oci/auth.ts";
import { createImageResolver } from "../../oci/resolver.ts";
import { ephemeralImageCacheKey } from "../../oci/cache_key.ts";
import { pushTestImage, startRegistry } from "../../testing/registry/registry.ts";

const credentials = { username: "bob", password: "t0ken-pw" };

Deno.test("pulls through the Bearer token flow with credentials from the docker config", async () => {
  const registry = await startRegistry({ tokenAuth: { credentials } });
  const dir = await Deno.makeTempDir({ prefix: "contrast-token-test-" });
  try {
    // The registry really demands a token: a bare request is challenged with Bearer.
    const bare = await fetch(`${registry.url}/v2/`);
    await bare.body?.cancel();
    assert.equal(bare.status, 401);
    assert.match(bare.headers.get("www-authenticate") ?? "", /^Bearer realm=/);

    const pushed = await pushTestImage(registry, "secure/app", "v1", {
      layers: [{ files: { "etc/passwd": "root:x:0:0::/:/bin/sh\n" } }],
    });
    const configPath = `${dir}/config.json`;
    await Deno.writeTextFile(
      configPath,
      JSON.stringify({ auths: { [registry.host]: { auth: btoa("bob:t0ken-pw") } } }),
    );
    const image = await createImageResolver({
      cacheDir: `${dir}/cache`,
      cacheKey: ephemeralImageCacheKey(),
      insecureRegistries: [registry.host],
      dockerConfigPath: configPath,
      progress: false,
    }).resolve(`${registry.host}/secure/app:v1`);
    assert.equal(image.digest, pushed.digest);
    assert.equal(image.passwd, "root:x:0:0::/:/bin/sh\n");
    const pulls = registry.tokenServer!.requests.filter((r) =>
      r.scope === "repository:secure/app:pull"
    );
    assert.equal(pulls.length, 1, "one token per repository and scope, reused for every request");
    assert.ok(pulls[0]!.authenticated);

    await assert.rejects(
      createImageResolver({
        cacheDir: `${dir}/anon-cache`,
        cacheKey: ephemeralImageCacheKey(),
        insecureRegistries: [registry.host],
        dockerConfigPath: `${dir}/none.json`,
        progress: false,
      }).resolve(`${registry.host}/secure/app:v1`),
      (e: unknown) =>
        e instanceof UnavailableError && /HTTP 401/.test(e.message) &&
        /check the credentials/.test(e.message),
    );
  } finally {
    await registry.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("refuses to send credentials to a plain-HTTP token realm of an HTTPS registry", async () => {
  await assert.rejects(
    fetchBearerToken({
      challenge: { scheme: "bearer", params: new Map([["realm", "http://127.0.0.1:9/token"]]) },
      scope: "repository:a:pull",
      credentials,
      allowHttp: false,
      timeoutMs: 1000,
    }),
    (e: unknown) => e instanceof UnavailableError && /not HTTPS/.test(e.message),
  );
  await assert.rejects(
    fetchBearerToken({
      challenge: { scheme: "bearer", params: new Map() },
      scope: "repository:a:pull",
      allowHttp: true,
      timeoutMs: 1000,
    }),
    /without realm/,
  );
});

Deno.test("exchanges a docker config identitytoken (OAuth2 refresh token) for a Bearer token", async () => {
  const registry = await startRegistry({ tokenAuth: { credentials, refreshToken: "rt-4711" } });
  const dir = await Deno.makeTempDir({ prefix: "contrast-token-test-" });
  try {
    const pushed = await pushTestImage(registry, "oauth/app", "v1", {
      layers: [{ files: { "etc/group": "root:x:0:\n" } }],
    });
    const resolve = async (identitytoken: string, cache: string) => {
      const configPath = `${dir}/${cache}.json`;
      await Deno.writeTextFile(
        configPath,
        JSON.stringify({ auths: { [registry.host]: { auth: "", identitytoken } } }),
      );
      return createImageResolver({
        cacheDir: `${dir}/${cache}`,
        cacheKey: ephemeralImageCacheKey(),
        insecureRegistries: [registry.host],
        dockerConfigPath: configPath,
        progress: false,
      }).resolve(`${registry.host}/oauth/app:v1`);
    };
    assert.equal((await resolve("rt-4711", "good")).digest, pushed.digest);
    const posts = registry.tokenServer!.requests.filter((r) => r.method === "POST");
    assert.deepEqual(posts, [{
      scope: "repository:oauth/app:pull",
      authenticated: true,
      method: "POST",
    }]);
    await assert.rejects(
      resolve("rt-wrong", "bad"),
      (e: unknown) =>
        e instanceof UnavailableError && /HTTP 401/.test(e.message) && !e.message.includes("rt-"),
    );
  } finally {
    await registry.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
