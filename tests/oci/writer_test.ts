import assert from "node:assert/strict";
import { ValidationError } from "../../util/errors/mod.ts";
import { digestOf } from "../../oci/digest.ts";
import { parseImageConfig, parseManifestDocument } from "../../oci/manifest.ts";
import { buildArtifact, buildImage } from "../../oci/writer.ts";
import { collect, decompressStream } from "../../oci/compression.ts";

const spec = {
  layers: [{ files: { "etc/passwd": "root:x:0:0::/:/bin/sh\n" } }],
  entrypoint: ["/app"],
  cmd: ["serve"],
  env: ["A=1"],
  user: "1000",
  workingDir: "/srv",
};

Deno.test("builds identical images (same digests) from the same spec", async () => {
  const a = await buildImage(spec);
  const b = await buildImage(spec);
  assert.equal(a.manifest.descriptor.digest, b.manifest.descriptor.digest);
  assert.deepEqual(a.layers[0]!.bytes, b.layers[0]!.bytes);
});

Deno.test("writes a config whose diff_ids hash the uncompressed layers", async () => {
  const image = await buildImage(spec);
  const config = parseImageConfig(image.config.bytes, "config");
  assert.deepEqual(config.process, {
    entrypoint: ["/app"],
    cmd: ["serve"],
    env: ["A=1"],
    user: "1000",
    workingDir: "/srv",
  });
  const tar = await collect(decompressStream(image.layers[0]!.bytes, "layer"));
  assert.deepEqual(config.diffIds, [await digestOf(tar)]);
  const manifest = parseManifestDocument(image.manifest.bytes, undefined, "m");
  assert.equal(
    manifest.kind === "manifest" && manifest.config.digest,
    image.config.descriptor.digest,
  );
  assert.equal(image.manifest.descriptor.digest, await digestOf(image.manifest.bytes));
});

Deno.test("builds an index naming each platform, and rejects an empty one", async () => {
  const artifact = await buildArtifact({
    platforms: [
      { ...spec, platform: { os: "linux", architecture: "amd64" } },
      { ...spec, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
    ],
  });
  const index = parseManifestDocument(artifact.top.bytes, undefined, "index");
  assert.equal(index.kind, "index");
  assert.deepEqual(
    index.kind === "index" && index.manifests.map((m) => m.platform),
    [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64", variant: "v8" }],
  );
  await assert.rejects(buildArtifact({ platforms: [] }), ValidationError);
});
