import assert from "node:assert/strict";
import { withRegistry } from "../helpers/test_registry.ts";
import {
  ParseError,
  UnavailableError,
  ValidationError,
  VerificationError,
} from "../../util/errors/mod.ts";
import type { PullProgress } from "../../oci/progress.ts";
import { createImageResolver, type ImageResolverOptions } from "../../oci/resolver.ts";
import { writeTar } from "../../oci/tar.ts";
import { ephemeralImageCacheKey } from "../../oci/cache_key.ts";
import { digestOf } from "../../oci/digest.ts";
import type { Descriptor } from "../../oci/manifest.ts";
import { OCI_INDEX, OCI_LAYER_ZSTD, OCI_MANIFEST } from "../../oci/media_types.ts";
import { buildImage, type BuiltImage, layerEntries, pushArtifact } from "../../oci/writer.ts";
import {
  blobDataPath,
  pushTestImage,
  startRegistry,
  type TestRegistry,
} from "../../testing/registry/registry.ts";

const PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
const GROUP = "root:x:0:\napp:x:1000:\n";
/** One workspace's image-cache key, shared by the resolvers of a test. */
const CACHE_KEY = ephemeralImageCacheKey();

function resolverFor(
  registry: TestRegistry,
  cacheDir: string,
  options: Partial<ImageResolverOptions> = {},
) {
  return createImageResolver({
    cacheDir,
    cacheKey: CACHE_KEY,
    insecureRegistries: [registry.host],
    progress: false,
    dockerConfigPath: `${cacheDir}/no-docker-config.json`,
    ...options,
  });
}

/** A repository in a test registry. */
type Location = { registry: string; repository: string };

/** Builds an image from `spec` and pushes it to `location` under the tag `inner`. */
async function pushInner(
  registry: TestRegistry,
  location: Location,
  spec: Parameters<typeof buildImage>[0],
): Promise<BuiltImage> {
  const inner = await buildImage(spec);
  await pushArtifact(registry.client, location, "inner", { images: [inner], top: inner.manifest });
  return inner;
}

/** Pushes, under `tag`, an OCI index whose single linux/amd64 entry is `entry` (possibly forged). */
async function pushIndexOver(
  registry: TestRegistry,
  location: Location,
  tag: string,
  entry: Descriptor,
): Promise<void> {
  const index = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [{ ...entry, platform: { os: "linux", architecture: "amd64" } }],
  }));
  await registry.client.pushManifest(location, tag, index, OCI_INDEX, "push");
}

/** Pushes, under `tag`, an OCI manifest with `image`'s layers and `config` (possibly forged). */
async function pushManifestWithConfig(
  registry: TestRegistry,
  location: Location,
  tag: string,
  image: BuiltImage,
  config: Descriptor,
): Promise<void> {
  const manifest = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config,
    layers: image.layers.map((l) => l.descriptor),
  }));
  await registry.client.pushManifest(location, tag, manifest, OCI_MANIFEST, "push");
}

Deno.test("resolves a tag to the pushed manifest digest with config and account files", async () => {
  await withRegistry(async (registry, cacheDir) => {
    const pushed = await pushTestImage(registry, "team/app", "v1", {
      layers: [{ files: { "etc/passwd": PASSWD, "etc/group": GROUP, "app": "#!/bin/sh\n" } }],
      entrypoint: ["/app"],
      cmd: ["--serve"],
      env: ["PATH=/usr/bin", "MODE=prod"],
      user: "app",
      workingDir: "/srv",
    });
    const ref = `${registry.host}/team/app:v1`;
    const image = await resolverFor(registry, cacheDir).resolve(ref);
    assert.equal(image.reference, ref);
    assert.equal(image.repository, `${registry.host}/team/app`);
    assert.equal(image.digest, pushed.digest);
    assert.equal(image.pinned, `${registry.host}/team/app@${pushed.digest}`);
    assert.deepEqual(image.config, {
      entrypoint: ["/app"],
      cmd: ["--serve"],
      env: ["PATH=/usr/bin", "MODE=prod"],
      workingDir: "/srv",
      user: "app",
    });
    assert.equal(image.passwd, PASSWD);
    assert.equal(image.group, GROUP);
  });
});

Deno.test("resolves an OCI index and a Docker manifest list to the linux/amd64 manifest", async () => {
  await withRegistry(async (registry, cacheDir) => {
    for (const format of ["oci", "docker"] as const) {
      const pushed = await pushTestImage(registry, `multi-${format}`, "v1", {
        format,
        platforms: [
          {
            format,
            platform: { os: "linux", architecture: "arm64", variant: "v8" },
            layers: [{ files: { "etc/passwd": "arm:x:1:1::/:/bin/sh\n" } }],
            cmd: ["arm"],
          },
          {
            format,
            platform: { os: "linux", architecture: "amd64" },
            layers: [{ files: { "etc/passwd": PASSWD } }],
            cmd: ["amd64"],
          },
        ],
      });
      const image = await resolverFor(registry, cacheDir).resolve(
        `${registry.host}/multi-${format}:v1`,
      );
      assert.notEqual(pushed.digest, pushed.manifestDigests[1]);
      assert.equal(image.digest, pushed.manifestDigests[1], format);
      assert.deepEqual(image.config.cmd, ["amd64"]);
      assert.equal(image.passwd, PASSWD);
    }
  });
});

Deno.test("rejects an index without a linux/amd64 image, naming the platforms it has", async () => {
  await withRegistry(async (registry, cacheDir) => {
    await pushTestImage(registry, "armonly", "v1", {
      platforms: [{
        platform: { os: "linux", architecture: "arm64" },
        layers: [{ files: { "x": "y" } }],
      }],
    });
    await assert.rejects(
      resolverFor(registry, cacheDir).resolve(`${registry.host}/armonly:v1`),
      (e: unknown) => e instanceof ValidationError && /linux\/arm64/.test(e.message),
    );
  });
});

Deno.test("rejects a single-platform image built for another architecture", async () => {
  await withRegistry(async (registry, cacheDir) => {
    await pushTestImage(registry, "arm", "v1", {
      platform: { os: "linux", architecture: "arm64" },
      layers: [{ files: { "x": "y" } }],
    });
    await assert.rejects(
      resolverFor(registry, cacheDir).resolve(`${registry.host}/arm:v1`),
      (e: unknown) => e instanceof ValidationError && e.actual === "linux/arm64",
    );
  });
});

Deno.test("honours whiteouts: a later layer deleting /etc/group and an opaque /etc", async () => {
  await withRegistry(async (registry, cacheDir) => {
    await pushTestImage(registry, "wh", "deleted", {
      layers: [
        { files: { "etc/passwd": PASSWD, "etc/group": GROUP } },
        { files: { "etc/.wh.group": "" } },
      ],
    });
    const resolver = resolverFor(registry, cacheDir);
    const deleted = await resolver.resolve(`${registry.host}/wh:deleted`);
    assert.equal(deleted.passwd, PASSWD);
    assert.equal(deleted.group, undefined);

    await pushTestImage(registry, "wh", "opaque", {
      layers: [
        { files: { "etc/passwd": PASSWD, "etc/group": GROUP } },
        {
          files: {
            "etc": { type: "directory" },
            "etc/.wh..wh..opq": "",
            "etc/passwd": "new:x:5:5::/:/bin/sh\n",
          },
        },
      ],
    });
    const opaque = await resolver.resolve(`${registry.host}/wh:opaque`);
    assert.equal(opaque.passwd, "new:x:5:5::/:/bin/sh\n");
    assert.equal(opaque.group, undefined);

    await pushTestImage(registry, "wh", "readded", {
      layers: [
        { files: { "etc/group": GROUP } },
        { files: { "etc/.wh.group": "" } },
        { files: { "etc/group": "again:x:7:\n" } },
      ],
    });
    const readded = await resolver.resolve(`${registry.host}/wh:readded`);
    assert.equal(readded.group, "again:x:7:\n");
    assert.equal(readded.passwd, undefined);
  });
});

Deno.test("reads gzip, zstd (real zstd compressor and stored frames) and uncompressed layers", async () => {
  await withRegistry(async (registry, cacheDir) => {
    const tar = writeTar(layerEntries({ "etc/group": GROUP }));
    const zstd = new Deno.Command("zstd", {
      args: ["-q", "-19", "-c"],
      stdin: "piped",
      stdout: "piped",
    })
      .spawn();
    const writer = zstd.stdin.getWriter();
    await writer.write(tar);
    await writer.close();
    const compressed = (await zstd.output()).stdout;
    assert.deepEqual([...compressed.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd]);
    assert.ok(compressed.length < tar.length, "the zstd CLI really compressed the layer");
    await pushTestImage(registry, "comp", "v1", {
      layers: [
        { files: { "etc/passwd": "gz:x:1:1::/:/bin/sh\n" }, compression: "gzip" },
        { files: { "etc/passwd": "plain:x:2:2::/:/bin/sh\n", "a": "b" }, compression: "none" },
        { files: { "etc/passwd": PASSWD }, compression: "zstd" },
        { blob: compressed, mediaType: OCI_LAYER_ZSTD, diffId: await digestOf(tar) },
      ],
    });
    const image = await resolverFor(registry, cacheDir).resolve(`${registry.host}/comp:v1`);
    assert.equal(image.passwd, PASSWD);
    assert.equal(image.group, GROUP);

    await pushTestImage(registry, "comp", "gz", {
      layers: [{ files: { "etc/passwd": "gz:x:1:1::/:/bin/sh\n" }, compression: "gzip" }],
    });
    await pushTestImage(registry, "comp", "plain", {
      format: "docker",
      layers: [{ files: { "etc/passwd": "plain:x:2:2::/:/bin/sh\n" }, compression: "none" }],
    });
    const resolver = resolverFor(registry, cacheDir);
    assert.equal(
      (await resolver.resolve(`${registry.host}/comp:gz`)).passwd,
      "gz:x:1:1::/:/bin/sh\n",
    );
    assert.equal(
      (await resolver.resolve(`${registry.host}/comp:plain`)).passwd,
      "plain:x:2:2::/:/bin/sh\n",
    );
  });
});

Deno.test("follows symlinks and hard links to /etc/passwd and /etc/group", async () => {
  await withRegistry(async (registry, cacheDir) => {
    await pushTestImage(registry, "links", "v1", {
      layers: [
        { files: { "usr/share/base/passwd": PASSWD, "usr/share/base/group.orig": GROUP } },
        {
          files: {
            "etc/passwd": { type: "symlink", target: "../usr/share/base/passwd" },
            "usr/share/base/group.link": { type: "hardlink", target: "usr/share/base/group.orig" },
            "etc/group": { type: "symlink", target: "/usr/share/base/group.link" },
          },
        },
      ],
    });
    const image = await resolverFor(registry, cacheDir).resolve(`${registry.host}/links:v1`);
    assert.equal(image.passwd, PASSWD);
    assert.equal(image.group, GROUP);
  });
});

Deno.test("rejects a layer whose content the registry serves changed", async () => {
  await withRegistry(async (registry, cacheDir) => {
    const pushed = await pushTestImage(registry, "tamper", "v1", {
      layers: [{ files: { "etc/passwd": PASSWD } }],
    });
    const layer = pushed.artifact.images[0]!.layers[0]!.descriptor;
    const path = blobDataPath(registry, layer.digest);
    const data = await Deno.readFile(path);
    data[data.length - 5]! ^= 0x01;
    await Deno.writeFile(path, data);
    await assert.rejects(
      resolverFor(registry, cacheDir).resolve(`${registry.host}/tamper:v1`),
      (e: unknown) =>
        e instanceof VerificationError && e.message.includes(layer.digest) &&
        /does not match its digest/.test(e.message),
    );
  });
});

Deno.test("rejects a config and a manifest whose served content changed", async () => {
  await withRegistry(async (registry, cacheDir) => {
    const pushed = await pushTestImage(registry, "tamper", "v1", {
      layers: [{ files: { "etc/passwd": PASSWD } }],
      cmd: ["a"],
    });
    const config = pushed.artifact.images[0]!.config.descriptor;
    const configPath = blobDataPath(registry, config.digest);
    const text = await Deno.readTextFile(configPath);
    await Deno.writeTextFile(configPath, text.replace('"a"', '"b"'));
    await assert.rejects(
      resolverFor(registry, cacheDir).resolve(`${registry.host}/tamper:v1`),
      VerificationError,
    );
    await Deno.writeTextFile(configPath, text); // restore: only the manifest is wrong below
    const manifestPath = blobDataPath(registry, pushed.digest);
    const manifest = await Deno.readTextFile(manifestPath);
    await Deno.writeTextFile(
      manifestPath,
      manifest.replace('"schemaVersion":2', '"schemaVersion":2 '),
    );
    await assert.rejects(
      resolverFor(registry, `${cacheDir}/by-digest`).resolve(
        `${registry.host}/tamper@${pushed.digest}`,
      ),
      (e: unknown) => e instanceof VerificationError && e.message.includes(pushed.digest),
    );
    // By tag, the registry's Docker-Content-Digest names the pushed digest; the content differs.
    await assert.rejects(
      resolverFor(registry, `${cacheDir}/by-tag`).resolve(`${registry.host}/tamper:v1`),
      (e: unknown) => e instanceof VerificationError && e.message.includes(pushed.digest),
    );
  });
});

Deno.test("authenticates with htpasswd credentials from a docker config file", async () => {
  const credentials = { username: "alice", password: "s3cret-pw" };
  await withRegistry(async (registry, cacheDir) => {
    const pushed = await pushTestImage(registry, "private", "v1", {
      layers: [{ files: { "etc/passwd": PASSWD } }],
    });
    const auth = btoa(`${credentials.username}:${credentials.password}`);
    const configPath = `${cacheDir}/docker-config.json`;
    await Deno.writeTextFile(
      configPath,
      JSON.stringify({ auths: { [`http://${registry.host}`]: { auth } } }),
    );
    const ref = `${registry.host}/private:v1`;
    const image = await resolverFor(registry, cacheDir, { dockerConfigPath: configPath })
      .resolve(ref);
    assert.equal(image.digest, pushed.digest);

    await assert.rejects(
      resolverFor(registry, `${cacheDir}/anon`).resolve(ref),
      (e: unknown) => e instanceof UnavailableError && /requires credentials/.test(e.message),
    );
    const wrongPath = `${cacheDir}/wrong.json`;
    await Deno.writeTextFile(
      wrongPath,
      JSON.stringify({ auths: { [registry.host]: { auth: btoa("alice:wrong") } } }),
    );
    await assert.rejects(
      resolverFor(registry, `${cacheDir}/wrong`, { dockerConfigPath: wrongPath }).resolve(ref),
      (e: unknown) =>
        e instanceof UnavailableError && /refused the credentials/.test(e.message) &&
        !e.message.includes("wrong"),
    );
  }, { htpasswd: credentials });
});

Deno.test("offline mode resolves from the cache and reports a clear miss otherwise", async () => {
  const cacheDir = await Deno.makeTempDir({ prefix: "contrast-oci-cache-" });
  try {
    const registry = await startRegistry();
    let ref: string;
    let online;
    try {
      await pushTestImage(registry, "cached", "v1", {
        layers: [{ files: { "etc/passwd": PASSWD, "etc/group": GROUP } }],
        entrypoint: ["/bin/app"],
      });
      ref = `${registry.host}/cached:v1`;
      online = await resolverFor(registry, cacheDir).resolve(ref);
    } finally {
      await registry.stop();
    }
    // The registry is gone: only the cache can answer.
    const offline = createImageResolver({
      cacheDir,
      cacheKey: CACHE_KEY,
      offline: true,
      progress: false,
    });
    assert.deepEqual(await offline.resolve(ref), online);
    assert.deepEqual(
      { ...(await offline.resolve(online.pinned)), reference: ref },
      online,
    );
    await assert.rejects(
      offline.resolve(`${registry.host}/cached:v2`),
      (e: unknown) =>
        e instanceof UnavailableError && /offline/.test(e.message) && /v2/.test(e.message),
    );
    await assert.rejects(
      offline.resolve(`${registry.host}/cached@sha256:${"ab".repeat(32)}`),
      (e: unknown) => e instanceof UnavailableError && /not in the image cache/.test(e.message),
    );
    // Online with a digest reference, everything comes from the cache: no registry needed.
    const onlineCached = createImageResolver({
      cacheDir,
      cacheKey: CACHE_KEY,
      insecureRegistries: [registry.host],
      progress: false,
      retries: 0,
    });
    assert.equal((await onlineCached.resolve(online.pinned)).passwd, PASSWD);
    // A tag needs the registry online, which is gone.
    await assert.rejects(onlineCached.resolve(ref), UnavailableError);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("reports a pull's progress once per image, none for a cache hit", async () => {
  await withRegistry(async (registry, cacheDir) => {
    await pushTestImage(registry, "prog", "v1", {
      layers: [{ files: { "etc/passwd": PASSWD } }, { files: { "etc/group": GROUP } }],
    });
    const events: string[] = [];
    const progress: PullProgress = {
      start: (r, layers, total) => events.push(`start ${r} ${layers} ${total > 0}`),
      advance: () => {},
      done: (r, d) => events.push(`done ${r} ${d.slice(0, 7)}`),
    };
    const ref = `${registry.host}/prog:v1`;
    const resolver = resolverFor(registry, cacheDir, { progress });
    const [a, b] = await Promise.all([resolver.resolve(ref), resolver.resolve(ref)]);
    assert.equal(a, b);
    await resolverFor(registry, cacheDir, { progress }).resolve(ref);
    assert.deepEqual(events, [`start ${ref} 2 true`, `done ${ref} sha256:`]);
  });
});

Deno.test("rejects malformed references and unknown images with typed errors", async () => {
  await withRegistry(async (registry, cacheDir) => {
    const resolver = resolverFor(registry, cacheDir);
    await assert.rejects(resolver.resolve("Bad/Name"), ParseError);
    await assert.rejects(
      resolver.resolve(`${registry.host}/missing:v1`),
      (e: unknown) => e instanceof UnavailableError && /404/.test(e.message),
    );
  });
});

Deno.test("rejects a layer whose uncompressed tar does not match the config's diff_id", async () => {
  await withRegistry(async (registry, cacheDir) => {
    const tar = writeTar(layerEntries({ "etc/passwd": PASSWD }));
    const other = writeTar(layerEntries({ "etc/passwd": "other:x:1:1::/:/bin/sh\n" }));
    await pushTestImage(registry, "diffid", "v1", {
      layers: [{
        blob: tar,
        mediaType: "application/vnd.oci.image.layer.v1.tar",
        diffId: await digestOf(other),
      }],
    });
    await assert.rejects(
      resolverFor(registry, cacheDir).resolve(`${registry.host}/diffid:v1`),
      (e: unknown) => e instanceof VerificationError && /diff_id/.test(e.message),
    );
  });
});

Deno.test("authenticates with credentials from a docker credential helper program", async () => {
  const credentials = { username: "carol", password: "helper-pw" };
  await withRegistry(async (registry, cacheDir) => {
    const pushed = await pushTestImage(registry, "helped", "v1", {
      layers: [{ files: { "etc/passwd": PASSWD } }],
    });
    const bin = `${cacheDir}/bin`;
    await Deno.mkdir(bin);
    // A credential helper as Docker runs it: `get`, server URL on stdin, JSON on stdout.
    await Deno.writeTextFile(
      `${bin}/docker-credential-contrasttest`,
      `#!/bin/sh
read server
if [ "$1" = get ] && [ "$server" = "${registry.host}" ]; then
  echo '{"ServerURL":"'"$server"'","Username":"carol","Secret":"helper-pw"}'
else
  echo "credentials not found in native keychain"; exit 1
fi
`,
      { mode: 0o755 },
    );
    const configPath = `${cacheDir}/docker-config.json`;
    await Deno.writeTextFile(
      configPath,
      JSON.stringify({ auths: {}, credHelpers: { [registry.host]: "contrasttest" } }),
    );
    const path = Deno.env.get("PATH") ?? "";
    Deno.env.set("PATH", `${bin}:${path}`);
    try {
      const image = await resolverFor(registry, cacheDir, { dockerConfigPath: configPath })
        .resolve(`${registry.host}/helped:v1`);
      assert.equal(image.digest, pushed.digest);
    } finally {
      Deno.env.set("PATH", path);
    }
  }, { htpasswd: credentials });
});

Deno.test("spools large layers to disk, verifies them, and removes the files", async () => {
  await withRegistry(async (registry, cacheDir) => {
    const pushed = await pushTestImage(registry, "spool", "v1", {
      layers: [{ files: { "etc/passwd": PASSWD } }, { files: { "etc/group": GROUP } }],
    });
    const options = { maxInMemoryLayerBytes: 0 };
    const image = await resolverFor(registry, cacheDir, options).resolve(
      `${registry.host}/spool:v1`,
    );
    assert.equal(image.passwd, PASSWD);
    assert.equal(image.group, GROUP);
    assert.deepEqual([...Deno.readDirSync(`${cacheDir}/tmp`)], [], "no temporary layer left");

    const layer = pushed.artifact.images[0]!.layers[1]!.descriptor;
    const path = blobDataPath(registry, layer.digest);
    const data = await Deno.readFile(path);
    data[data.length - 5]! ^= 0x01;
    await Deno.writeFile(path, data);
    await assert.rejects(
      resolverFor(registry, `${cacheDir}/2`, options).resolve(`${registry.host}/spool:v1`),
      (e: unknown) => e instanceof VerificationError && e.message.includes(layer.digest),
    );
    assert.deepEqual([...Deno.readDirSync(`${cacheDir}/2/tmp`)], [], "bad layer removed");
  });
});

Deno.test("rejects an index entry whose media type contradicts the manifest it points at", async () => {
  await withRegistry(async (registry, cacheDir) => {
    const location = { registry: registry.host, repository: "confused" };
    const inner = await pushInner(registry, location, {
      format: "docker",
      layers: [{ files: { "etc/passwd": PASSWD } }],
    });
    await pushIndexOver(registry, location, "v1", {
      ...inner.manifest.descriptor,
      mediaType: OCI_MANIFEST, // the document itself says Docker schema 2
    });
    await assert.rejects(
      resolverFor(registry, cacheDir).resolve(`${registry.host}/confused:v1`),
      (e: unknown) => e instanceof ParseError && /contradicts/.test(e.message),
    );
  });
});

Deno.test("rejects layers longer or shorter than their descriptor, in memory and spooled", async () => {
  await withRegistry(async (registry, cacheDir) => {
    const pushed = await pushTestImage(registry, "sized", "v1", {
      layers: [{ files: { "etc/passwd": PASSWD } }],
    });
    const layer = pushed.artifact.images[0]!.layers[0]!.descriptor;
    const path = blobDataPath(registry, layer.digest);
    const original = await Deno.readFile(path);
    let run = 0;
    for (
      const data of [new Uint8Array([...original, 0]), original.subarray(0, original.length - 1)]
    ) {
      await Deno.writeFile(path, data);
      for (const maxInMemoryLayerBytes of [1 << 20, 0]) {
        await assert.rejects(
          resolverFor(registry, `${cacheDir}/${run++}`, { maxInMemoryLayerBytes }).resolve(
            `${registry.host}/sized:v1`,
          ),
          (e: unknown) =>
            e instanceof VerificationError &&
            /larger than expected|differs from the descriptor/.test(e.message),
        );
      }
    }
  });
});

Deno.test("rejects descriptors whose size does not match the content they name", async () => {
  await withRegistry(async (registry, cacheDir) => {
    const location = { registry: registry.host, repository: "badsize" };
    const inner = await pushInner(registry, location, {
      layers: [{ files: { "etc/passwd": PASSWD } }],
    });
    await pushIndexOver(registry, location, "index", {
      ...inner.manifest.descriptor,
      size: inner.manifest.descriptor.size + 1,
    });
    await assert.rejects(
      resolverFor(registry, cacheDir).resolve(`${registry.host}/badsize:index`),
      (e: unknown) => e instanceof VerificationError && /descriptor says/.test(e.message),
    );

    await pushManifestWithConfig(registry, location, "config", inner, {
      ...inner.config.descriptor,
      size: inner.config.descriptor.size - 1,
    });
    await pushManifestWithConfig(registry, location, "huge", inner, {
      ...inner.config.descriptor,
      size: 1 << 30,
    });
    await assert.rejects(
      resolverFor(registry, `${cacheDir}/3`).resolve(`${registry.host}/badsize:huge`),
      (e: unknown) => e instanceof ParseError && /more than the 4194304 allowed/.test(e.message),
    );
    await assert.rejects(
      resolverFor(registry, `${cacheDir}/2`).resolve(`${registry.host}/badsize:config`),
      (e: unknown) => e instanceof VerificationError && /larger than expected/.test(e.message),
    );
  });
});

Deno.test("a tag whose manifest is cached is checked with HEAD and not downloaded again", async () => {
  await withRegistry(async (registry, cacheDir) => {
    const pushed = await pushTestImage(registry, "headed", "v1", {
      layers: [{ files: { "etc/passwd": PASSWD } }],
    });
    const ref = `${registry.host}/headed:v1`;
    assert.equal((await resolverFor(registry, cacheDir).resolve(ref)).digest, pushed.digest);
    // Corrupt what the registry would serve: only a download could notice.
    const manifestPath = blobDataPath(registry, pushed.digest);
    const manifest = await Deno.readTextFile(manifestPath);
    await Deno.writeTextFile(
      manifestPath,
      manifest.replace('"schemaVersion":2', '"schemaVersion":2 '),
    );
    assert.equal((await resolverFor(registry, cacheDir).resolve(ref)).digest, pushed.digest);
    // A fresh cache must download it, and rejects the corrupted manifest.
    await assert.rejects(
      resolverFor(registry, `${cacheDir}/fresh`).resolve(ref),
      VerificationError,
    );
    // When the tag moves, the new manifest is downloaded.
    const moved = await pushTestImage(registry, "headed", "v1", {
      layers: [{ files: { "etc/passwd": "moved:x:1:1::/:/bin/sh\n" } }],
    });
    const image = await resolverFor(registry, cacheDir).resolve(ref);
    assert.equal(image.digest, moved.digest);
    assert.equal(image.passwd, "moved:x:1:1::/:/bin/sh\n");
  });
});
