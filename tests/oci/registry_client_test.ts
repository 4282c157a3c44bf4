import assert from "node:assert/strict";
import { VerificationError } from "../../errors/mod.ts";
import { parseManifestDocument } from "../../oci/manifest.ts";
import { blobDataPath, pushTestImage, startRegistry } from "../helpers/registry.ts";

Deno.test("pushes an image and reads its manifest back by tag with the pushed digest", async () => {
  const registry = await startRegistry();
  try {
    const pushed = await pushTestImage(registry, "app", "v1", {
      layers: [{ files: { "etc/passwd": "root:x:0:0::/root:/bin/sh\n" } }],
      entrypoint: ["/app"],
    });
    const location = { registry: registry.host, repository: "app" };
    const fetched = await registry.client.getManifest(location, "v1", "app:v1");
    assert.equal(fetched.digest, pushed.digest);
    const manifest = parseManifestDocument(fetched.bytes, fetched.contentType, "app:v1");
    assert.equal(manifest.kind, "manifest");
  } finally {
    await registry.stop();
  }
});

Deno.test("rejects a blob the registry serves with content that does not match its digest", async () => {
  const registry = await startRegistry();
  try {
    const pushed = await pushTestImage(registry, "app", "v1", {
      layers: [{ files: { "etc/group": "root:x:0:\n" } }],
    });
    const layer = pushed.artifact.images[0]!.layers[0]!.descriptor;
    const path = blobDataPath(registry, layer.digest);
    const data = await Deno.readFile(path);
    data[data.length - 1] ^= 0x01;
    await Deno.writeFile(path, data);
    const location = { registry: registry.host, repository: "app" };
    await assert.rejects(
      registry.client.getBlob(location, layer, "layer"),
      (e: unknown) => e instanceof VerificationError && /does not match its digest/.test(e.message),
    );
  } finally {
    await registry.stop();
  }
});
