import assert from "node:assert/strict";
import { createImageResolver } from "../../oci/resolver.ts";
import { ephemeralImageCacheKey } from "../../oci/cache_key.ts";
import { pushTestImage, startRegistry } from "../../testing/registry/registry.ts";

Deno.test("retries reads while the registry is briefly unreachable, then succeeds", async () => {
  const dir = await Deno.makeTempDir({ prefix: "contrast-retry-test-" });
  const storageDir = `${dir}/storage`;
  await Deno.mkdir(storageDir);
  try {
    const first = await startRegistry({ storageDir });
    const port = Number(first.host.split(":")[1]);
    let pushed;
    try {
      pushed = await pushTestImage(first, "retry/app", "v1", {
        layers: [{ files: { "etc/passwd": "root:x:0:0::/:/bin/sh\n" } }],
      });
    } finally {
      await first.stop();
    }
    // The registry is down when the resolution starts and back (same port, same storage) soon.
    const pending = createImageResolver({
      cacheDir: `${dir}/cache`,
      cacheKey: ephemeralImageCacheKey(),
      insecureRegistries: [first.host],
      dockerConfigPath: `${dir}/none.json`,
      progress: false,
      retries: 5,
    }).resolve(`${first.host}/retry/app:v1`);
    pending.catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 200));
    const second = await startRegistry({ storageDir, port });
    try {
      const image = await pending;
      assert.equal(image.digest, pushed.digest);
      assert.equal(image.passwd, "root:x:0:0::/:/bin/sh\n");
    } finally {
      await second.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
