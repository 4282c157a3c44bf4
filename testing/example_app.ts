/**
 * Test helper: publishes test images under the example app's image names to a real local
 * registry (Debian's docker-registry, started by testing/registry/registry.ts) and prepares a copy
 * of `examples/emojivoto` that points at it.
 */
import type { GenerateFlags } from "../cli/commands/generate.ts";
import { buildArtifact, type ImageSpec } from "../oci/writer.ts";
import { coordinatorYaml } from "../deploy/coordinator_yaml.ts";
import {
  CONTRAST_IMAGES,
  type ContrastImage,
  encodeImageLock,
  imageRepository,
} from "../deploy/image_lock.ts";
import { pushTestImage, startRegistry, type TestRegistry } from "./registry/registry.ts";
import { loadDefaultSettings } from "../policy/settings.ts";

const PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/sbin/nologin\n" +
  "app:x:1000:1000::/home/app:/bin/sh\npostgres:x:999:999::/var/lib/postgresql:/bin/sh\n";
const GROUP = "root:x:0:\napp:x:1000:\npostgres:x:999:\nnogroup:x:65534:\n";

function spec(config: Omit<ImageSpec, "layers">): ImageSpec {
  return {
    layers: [{ files: { "etc/passwd": PASSWD, "etc/group": GROUP } }, {
      files: { "usr/local/bin/app": { content: "#!/bin/sh\n", mode: 0o755 } },
    }],
    ...config,
  };
}

/** The images the example references (repository path without registry, tag, config). */
const EXAMPLE_IMAGES: readonly [string, string, ImageSpec][] = [
  [
    "contrast/coordinator",
    "test",
    spec({ entrypoint: ["/bin/coordinator"], env: ["PATH=/bin"] }),
  ],
  [
    "contrast/initializer",
    "test",
    spec({ entrypoint: ["/bin/initializer"], env: ["PATH=/bin"] }),
  ],
  [
    "contrast/service-mesh-proxy",
    "test",
    spec({ entrypoint: ["/bin/service-mesh"], env: ["PATH=/bin"] }),
  ],
  [
    "buoyantio/emojivoto-emoji-svc",
    "v11",
    spec({
      entrypoint: ["/usr/local/bin/emojivoto-emoji-svc"],
      env: ["PATH=/usr/local/bin:/bin"],
      workingDir: "/usr/local/bin",
    }),
  ],
  [
    "buoyantio/emojivoto-voting-svc",
    "v11",
    spec({
      entrypoint: ["/usr/local/bin/emojivoto-voting-svc"],
      env: ["PATH=/usr/local/bin:/bin"],
    }),
  ],
  [
    "buoyantio/emojivoto-web",
    "v11",
    spec({
      entrypoint: ["/usr/local/bin/emojivoto-web"],
      env: ["PATH=/usr/local/bin:/bin", "WEB_PORT=80"],
      user: "app",
    }),
  ],
  [
    "library/postgres",
    "16",
    spec({
      entrypoint: ["docker-entrypoint.sh"],
      cmd: ["postgres"],
      env: ["PATH=/usr/lib/postgresql/16/bin:/bin", "PGDATA=/var/lib/postgresql/data"],
      user: "postgres",
    }),
  ],
  [
    "curlimages/curl",
    "8.10.1",
    spec({ entrypoint: ["/entrypoint.sh"], cmd: ["curl"], user: "nobody:nogroup" }),
  ],
];

/** Pushes every example image to `registry`. */
export async function pushExampleImages(registry: TestRegistry): Promise<void> {
  for (const [name, tag, s] of EXAMPLE_IMAGES) await pushTestImage(registry, name, tag, s);
}

/** The test image of contrast's `component` in the registry at `host`, pinned by its digest. */
async function pinnedContrastImage(host: string, component: ContrastImage): Promise<string> {
  const [, , imageSpec] = EXAMPLE_IMAGES.find(([name]) => name === imageRepository(component))!;
  const digest = (await buildArtifact(imageSpec)).top.descriptor.digest;
  return `${host}/${imageRepository(component)}@${digest}`;
}

/**
 * Writes the image lock of the test images of contrast in the registry at `host` (generate checks
 * the input's Coordinator against its `coordinator`); returns the path.
 */
export async function writeExampleImageLock(path: string, host: string): Promise<string> {
  const images = Object.fromEntries(
    await Promise.all(CONTRAST_IMAGES.map(async (c) => [c, await pinnedContrastImage(host, c)])),
  ) as Record<ContrastImage, string>;
  await Deno.writeTextFile(path, encodeImageLock({ version: 1, images }));
  return path;
}

/**
 * The Coordinator YAML `contrast coordinator --platform Metal-QEMU-SNP -n emojivoto` writes, with
 * the test Coordinator image in the registry at `host` (pinned by its digest).
 */
async function exampleCoordinatorYaml(host: string): Promise<string> {
  return coordinatorYaml({
    image: await pinnedContrastImage(host, "coordinator"),
    runtimeClassName: (await loadDefaultSettings()).runtime_class_name,
    namespace: "emojivoto",
    replicas: 1,
  });
}

/**
 * Copies the example into `dir` with image registries replaced by `host`, plus the generated
 * Coordinator YAML (`coordinator.yml`); returns the files.
 */
export async function copyExample(dir: string, host: string): Promise<string[]> {
  const src = new URL("../examples/emojivoto/", import.meta.url);
  const files: string[] = [`${dir}/coordinator.yml`];
  await Deno.writeTextFile(files[0]!, await exampleCoordinatorYaml(host));
  for await (const e of Deno.readDir(src)) {
    if (!e.name.endsWith(".yml")) continue;
    const text = (await Deno.readTextFile(new URL(e.name, src)))
      .replaceAll("docker.io/", `${host}/`).replaceAll("ghcr.io/", `${host}/`);
    await Deno.writeTextFile(`${dir}/${e.name}`, text);
    files.push(`${dir}/${e.name}`);
  }
  return files.sort();
}

/** Writes settings whose initializer and mesh images live in `host`; returns the path. */
export async function writeSettings(path: string, host: string): Promise<string> {
  const d = await loadDefaultSettings();
  const settings = {
    ...d,
    initializer: { ...d.initializer, image: `${host}/contrast/initializer:test` },
    service_mesh: {
      ...d.service_mesh,
      image: `${host}/contrast/service-mesh-proxy:test`,
    },
  };
  await Deno.writeTextFile(path, JSON.stringify(settings, null, 2));
  return path;
}

/** The example app prepared in a temporary directory, with its images in a local registry. */
interface ExampleApp {
  /** The running registry holding every example image. */
  readonly registry: TestRegistry;
  /** The temporary directory everything below lives in. */
  readonly tmp: string;
  /** The copy of `examples/emojivoto` whose images point at the registry. */
  readonly app: string;
  /** The `.yml` files of that copy, sorted. */
  readonly files: readonly string[];
  /** An empty workspace directory for `contrast generate`. */
  readonly ws: string;
  /** The settings file naming the registry's initializer and mesh images. */
  readonly settings: string;
  /** The image cache directory (not created up front). */
  readonly cache: string;
  /** The image lock naming the registry's contrast images (the Coordinator's is checked). */
  readonly imageLock: string;
}

/**
 * Starts a registry, pushes the example images, copies the example app and writes its settings
 * under a temporary directory named with `prefix`; runs `fn`; then stops the registry and
 * removes the directory, whether `fn` succeeded or not.
 */
export async function withExampleApp(
  prefix: string,
  fn: (example: ExampleApp) => Promise<void>,
): Promise<void> {
  const registry = await startRegistry();
  const tmp = await Deno.makeTempDir({ prefix });
  try {
    await pushExampleImages(registry);
    const app = `${tmp}/app`;
    const ws = `${tmp}/ws`;
    await Deno.mkdir(app);
    await Deno.mkdir(ws);
    const files = await copyExample(app, registry.host);
    const settings = await writeSettings(`${tmp}/settings.json`, registry.host);
    const imageLock = await writeExampleImageLock(`${tmp}/image-lock.json`, registry.host);
    await fn({ registry, tmp, app, files, ws, settings, cache: `${tmp}/cache`, imageLock });
  } finally {
    await registry.stop();
    await Deno.remove(tmp, { recursive: true });
  }
}

/** The launch measurement the example app's generated reference values pin. */
const EXAMPLE_MEASUREMENT = "5a".repeat(48);

/** The simulated root fingerprint the example app's generated reference values pin. */
const EXAMPLE_SIMULATED_ROOT = "c0".repeat(32);

/** `contrast generate` flags for `example`: simulated SNP values, the registry as insecure. */
export function exampleGenerateFlags(example: ExampleApp): GenerateFlags {
  return {
    referenceValues: "Simulated-SNP",
    workspace: example.ws,
    settings: example.settings,
    imageLock: example.imageLock,
    addWorkloadOwnerKey: [],
    addSeedshareOwnerKey: [],
    insecureRegistry: [example.registry.host],
    imageCache: example.cache,
    rtmr: [],
    trustedMeasurement: EXAMPLE_MEASUREMENT,
    simulatedRoot: EXAMPLE_SIMULATED_ROOT,
  };
}
