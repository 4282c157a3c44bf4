/**
 * Benchmarks of image resolution from a warm cache (what `contrast generate` does for 1,000 pods
 * with cached images) and of applying a layer with many files, each next to a baseline measured in
 * the same run: compare the ratio, not absolute times.
 *
 * Run: `deno bench -A tests/oci/resolver_bench.ts`
 */
import { ImageCache } from "../../oci/cache.ts";
import { createImageResolver } from "../../oci/resolver.ts";
import { parseImageReference } from "../../oci/reference.ts";
import { ephemeralImageCacheKey } from "../../oci/cache_key.ts";
import { LayeredFilesystem } from "../../oci/rootfs.ts";
import { readTar, writeTar } from "../../oci/tar.ts";
import { buildImage, layerEntries } from "../../oci/writer.ts";

const IMAGES = 100;
const cacheDir = await Deno.makeTempDir({ prefix: "contrast-oci-bench-" });
const cacheKey = ephemeralImageCacheKey();
const cache = new ImageCache(cacheDir, cacheKey);
const references: string[] = [];
const documentPaths: string[] = [];
for (let i = 0; i < IMAGES; i++) {
  const image = await buildImage({
    layers: [{ files: { "etc/passwd": `u${i}:x:${i}:${i}::/:/bin/sh\n` } }],
    cmd: [`/bin/app-${i}`],
  });
  const reference = `registry.example:5000/bench/app-${i}:v1`;
  const digest = image.manifest.descriptor.digest;
  await cache.putBlob(digest, image.manifest.bytes);
  await cache.putBlob(image.config.descriptor.digest, image.config.bytes);
  await cache.putTag(parseImageReference(reference), "v1", digest);
  await cache.putAccountFiles(digest, { passwd: `u${i}:x:${i}:${i}::/:/bin/sh\n` });
  references.push(reference);
  documentPaths.push(
    `${cacheDir}/blobs/sha256/${digest.slice(7)}`,
    `${cacheDir}/blobs/sha256/${image.config.descriptor.digest.slice(7)}`,
  );
}

Deno.bench({
  name: "baseline: read the cached documents of 100 images",
  group: "cached",
  baseline: true,
  async fn() {
    await Promise.all(documentPaths.map((p) => Deno.readFile(p)));
  },
});

Deno.bench({
  name: "resolve 100 cached images offline (fresh resolver)",
  group: "cached",
  async fn() {
    const resolver = createImageResolver({ cacheDir, cacheKey, offline: true, progress: false });
    await Promise.all(references.map((r) => resolver.resolve(r)));
  },
});

const files: Record<string, string> = {};
for (let i = 0; i < 5000; i++) {
  files[`usr/share/doc/pkg-${i % 200}/file-${i}`] = "x".repeat(i % 300);
}
files["etc/passwd"] = "root:x:0:0::/:/bin/sh\n";
const tar = writeTar(layerEntries(files));
const stream = () => new Blob([tar as Uint8Array<ArrayBuffer>]).stream();

Deno.bench({
  name: "baseline: read a 5,000-entry tar",
  group: "layer",
  baseline: true,
  async fn() {
    await readTar(stream(), "bench", () => false);
  },
});

Deno.bench({
  name: "apply a 5,000-entry layer to the filesystem view",
  group: "layer",
  async fn() {
    await new LayeredFilesystem(["etc/passwd", "etc/group"]).applyLayer(stream(), 0, "bench");
  },
});

globalThis.addEventListener("unload", () => {
  Deno.removeSync(cacheDir, { recursive: true });
});
