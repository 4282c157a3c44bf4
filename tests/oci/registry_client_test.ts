import assert from "node:assert/strict";
import { UnavailableError, VerificationError } from "../../util/errors/mod.ts";
import { digestOf } from "../../oci/digest.ts";
import { RegistryClient } from "../../oci/registry_client.ts";
import { blobDataPath, pushTestImage, startRegistry } from "../../testing/registry/registry.ts";

Deno.test("registry client: manifests by tag and digest, HEAD, blobs in memory and to files", async () => {
  const registry = await startRegistry();
  const dir = await Deno.makeTempDir({ prefix: "contrast-client-test-" });
  try {
    const client = registry.client;
    const location = { registry: registry.host, repository: "client/app" };
    assert.equal(client.baseUrl(registry.host), `http://${registry.host}/v2/`);
    assert.equal(new RegistryClient().baseUrl("docker.io"), "https://registry-1.docker.io/v2/");

    const pushed = await pushTestImage(registry, "client/app", "v1", {
      layers: [{ files: { "etc/passwd": "root:x:0:0::/:/bin/sh\n" } }],
    });
    const byTag = await client.getManifest(location, "v1", "m");
    const byDigest = await client.getManifest(location, pushed.digest, "m");
    assert.equal(byTag.digest, pushed.digest);
    assert.deepEqual(byDigest.bytes, byTag.bytes);
    assert.equal(await client.headManifest(location, "v1", "m"), pushed.digest);

    const layer = pushed.artifact.images[0]!.layers[0]!;
    assert.equal(await client.hasBlob(location, layer.descriptor.digest, "b"), true);
    assert.deepEqual(await client.getBlob(location, layer.descriptor, "b"), layer.bytes);
    await client.downloadBlob(location, layer.descriptor, `${dir}/layer`, "b");
    assert.deepEqual(await Deno.readFile(`${dir}/layer`), layer.bytes);
    assert.equal((await Deno.stat(`${dir}/layer`)).mode! & 0o777, 0o600);

    // Pushing a blob the repository has is a no-op that returns its digest.
    assert.equal(await client.pushBlob(location, layer.bytes, "p"), layer.descriptor.digest);

    const missing = { digest: await digestOf(new Uint8Array([9])), size: 1 };
    assert.equal(await client.hasBlob(location, missing.digest, "b"), false);
    await assert.rejects(
      client.getBlob(location, missing, "b"),
      (e: unknown) => e instanceof UnavailableError && /404/.test(e.message),
    );
    await assert.rejects(client.headManifest(location, "nope", "m"), UnavailableError);

    // A corrupted blob is rejected and its partial file removed.
    const data = await Deno.readFile(blobDataPath(registry, layer.descriptor.digest));
    data[10]! ^= 0xff;
    await Deno.writeFile(blobDataPath(registry, layer.descriptor.digest), data);
    await assert.rejects(
      client.downloadBlob(location, layer.descriptor, `${dir}/bad`, "b"),
      VerificationError,
    );
    await assert.rejects(Deno.stat(`${dir}/bad`), Deno.errors.NotFound);
  } finally {
    await registry.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
