/**
 * Stand-in images for the demo: for every image the example app (and the injected initializer
 * and service mesh) references, a small image with the same name is built with contrast's own
 * OCI writer and put into a local image cache, so `contrast generate --offline` runs without a
 * registry or network. The images carry the account files (`/etc/passwd`, `/etc/group`) policy
 * generation reads and a plausible entrypoint; they are not the real upstream images, and the
 * demo says so.
 *
 * @module
 */
import { parseAllDocuments } from "yaml";
import { ImageCache } from "../oci/cache.ts";
import { parseImageReference } from "../oci/reference.ts";
import { buildArtifact } from "../oci/writer.ts";

const PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/sbin/nologin\n" +
  "app:x:1000:1000::/home/app:/bin/sh\npostgres:x:999:999::/var/lib/postgresql:/bin/sh\n" +
  "curl_user:x:100:101::/home/curl_user:/bin/sh\n";
const GROUP = "root:x:0:\napp:x:1000:\npostgres:x:999:\ncurl_group:x:101:\nnogroup:x:65534:\n";

/** The `USER` of upstream images that set one (the stand-ins keep it, so policies match). */
const UPSTREAM_USERS: Readonly<Record<string, string>> = {
  "docker.io/curlimages/curl": "curl_user",
};

function collectImages(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) collectImages(item, out);
  } else if (typeof node === "object" && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === "image" && typeof value === "string") out.add(value);
      else collectImages(value, out);
    }
  }
}

/** Every `image:` in the YAML files of `dir`. */
export async function imagesInYaml(dir: string): Promise<string[]> {
  const images = new Set<string>();
  for await (const entry of Deno.readDir(dir)) {
    if (!/\.ya?ml$/.test(entry.name)) continue;
    const text = await Deno.readTextFile(`${dir}/${entry.name}`);
    for (const doc of parseAllDocuments(text, { version: "1.1" })) {
      collectImages(doc.toJS(), images);
    }
  }
  return [...images].sort();
}

/**
 * Builds a stand-in for each reference and records it in the cache at `cacheDir` (account files
 * and tags authenticated with the workspace's image-cache key `cacheKey`); returns the digest of
 * each reference's stand-in.
 */
export async function publishStandInImages(
  cacheDir: string,
  cacheKey: Uint8Array,
  references: readonly string[],
): Promise<Map<string, string>> {
  const cache = new ImageCache(cacheDir, cacheKey);
  const digests = new Map<string, string>();
  for (const reference of references) {
    const ref = parseImageReference(reference);
    const name = ref.name.split("/").at(-1)!;
    const artifact = await buildArtifact({
      layers: [
        { files: { "etc/passwd": PASSWD, "etc/group": GROUP } },
        { files: { [`usr/local/bin/${name}`]: { content: "#!/bin/sh\n", mode: 0o755 } } },
      ],
      entrypoint: [`/usr/local/bin/${name}`],
      env: ["PATH=/usr/local/bin:/usr/bin:/bin"],
      ...(UPSTREAM_USERS[ref.name] ? { user: UPSTREAM_USERS[ref.name] } : {}),
    });
    const image = artifact.images[0]!;
    await cache.putBlob(image.config.descriptor.digest, image.config.bytes);
    await cache.putBlob(artifact.top.descriptor.digest, artifact.top.bytes);
    await cache.putAccountFiles(image.manifest.descriptor.digest, { passwd: PASSWD, group: GROUP });
    const tag = ref.tag ?? "latest";
    if (ref.digest === undefined) await cache.putTag(ref, tag, artifact.top.descriptor.digest);
    digests.set(reference, artifact.top.descriptor.digest);
  }
  return digests;
}
