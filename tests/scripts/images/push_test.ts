/**
 * `deno task images` writes the lock only after the registry serves every image by the digest
 * that was built. Before, the check compared the built digest with the digest of the bytes sent
 * (the same thing), so a registry that answered 201 and kept nothing, or kept other bytes, got a
 * lock naming an image it did not have.
 */
import assert from "node:assert/strict";
import { VerificationError } from "../../../util/errors/mod.ts";
import { buildArtifact } from "../../../oci/writer.ts";
import { pushImages } from "../../../scripts/images/build.ts";
import { COMPONENTS } from "../../../scripts/images/components.ts";

/** One small image as `buildImages` returns it (the Coordinator's name). */
async function coordinatorImage() {
  const artifact = await buildArtifact({
    layers: [{ files: { "etc/passwd": "root:x:0:0::/:/sbin/nologin\n" } }],
    entrypoint: ["/usr/bin/deno"],
  });
  return {
    component: COMPONENTS.find((c) => c.name === "coordinator")!,
    name: "coordinator" as const,
    artifact,
    digest: artifact.top.descriptor.digest,
    compressedBytes: 0,
  };
}

/** A registry that accepts every push and answers manifest reads with `read`. */
function lyingRegistry(read: () => Response) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path.includes("/blobs/")) return new Response(null, { status: 200 }); // "has it"
    if (path.includes("/manifests/") && req.method === "PUT") {
      return new Response(null, { status: 201 });
    }
    if (path.includes("/manifests/")) return read();
    return new Response(null, { status: 404 });
  });
  return { host: `127.0.0.1:${server.addr.port}`, stop: () => server.shutdown() };
}

for (
  const [what, read] of [
    ["keeps nothing", () => new Response("{}", { status: 404 })],
    [
      "serves other bytes under the digest",
      () =>
        new Response('{"schemaVersion":2}', {
          headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
        }),
    ],
  ] as const
) {
  Deno.test(`a registry that accepts the push but ${what}: no lock`, async () => {
    const image = await coordinatorImage();
    const registry = lyingRegistry(read);
    try {
      await assert.rejects(
        pushImages([image], { registry: registry.host, insecure: true }),
        (e) =>
          e instanceof VerificationError && e.field === "--registry" &&
          e.message.includes(image.digest),
      );
    } finally {
      await registry.stop();
    }
  });
}

Deno.test("a registry that serves the pushed image by its digest: the lock names it", async () => {
  const image = await coordinatorImage();
  let stored: Uint8Array | undefined;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path.includes("/blobs/")) return new Response(null, { status: 200 });
    if (path.endsWith(`/manifests/${image.digest}`) && req.method === "GET" && stored) {
      return new Response(stored as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": image.artifact.top.descriptor.mediaType },
      });
    }
    if (path.includes("/manifests/") && req.method === "PUT") {
      stored = new Uint8Array(await req.arrayBuffer());
      return new Response(null, { status: 201 });
    }
    return new Response(null, { status: 404 });
  });
  const host = `127.0.0.1:${server.addr.port}`;
  try {
    const lock = await pushImages([image], { registry: host, insecure: true });
    assert.equal(lock.images.coordinator, `${host}/contrast/coordinator@${image.digest}`);
  } finally {
    await server.shutdown();
  }
});
