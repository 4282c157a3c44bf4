import assert from "node:assert/strict";
import { UnavailableError } from "../../util/errors/mod.ts";
import { createImageResolver } from "../../oci/resolver.ts";
import { ephemeralImageCacheKey } from "../../oci/cache_key.ts";
import { pushTestImage, startRegistry } from "../../testing/registry/registry.ts";

Deno.test("reaches a registry over HTTPS by default, trusting only the configured CA", async () => {
  const registry = await startRegistry({ tls: true });
  const dir = await Deno.makeTempDir({ prefix: "contrast-https-test-" });
  try {
    assert.ok(registry.url.startsWith("https://"));
    const pushed = await pushTestImage(registry, "tls/app", "v1", {
      layers: [{ files: { "etc/group": "root:x:0:\n" } }],
    });
    const ref = `${registry.host}/tls/app:v1`;
    const resolver = createImageResolver({
      cacheDir: `${dir}/ok`,
      cacheKey: ephemeralImageCacheKey(),
      caCertificates: [registry.caCertificatePem!],
      dockerConfigPath: `${dir}/none.json`,
      progress: false,
    });
    try {
      const image = await resolver.resolve(ref);
      assert.equal(image.digest, pushed.digest);
      assert.equal(image.group, "root:x:0:\n");
    } finally {
      await resolver.close();
    }

    // Without the CA, the certificate is not trusted and nothing is read.
    await assert.rejects(
      createImageResolver({
        cacheDir: `${dir}/untrusted`,
        cacheKey: ephemeralImageCacheKey(),
        dockerConfigPath: `${dir}/none.json`,
        progress: false,
      }).resolve(ref),
      (e: unknown) =>
        e instanceof UnavailableError && /cannot reach registry/.test(e.message) &&
        /certificate/.test(e.message) && !/attempts/.test(e.message), // not retried
    );
    // Marking it insecure means plain HTTP, which an HTTPS registry refuses.
    await assert.rejects(
      createImageResolver({
        cacheDir: `${dir}/plain`,
        cacheKey: ephemeralImageCacheKey(),
        insecureRegistries: [registry.host],
        dockerConfigPath: `${dir}/none.json`,
        progress: false,
      }).resolve(ref),
      UnavailableError,
    );
  } finally {
    await registry.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
