/**
 * Builds contrast's images from the pinned inputs and the bundles of the current source tree,
 * and pushes them. The lock is written only after every image is in the registry with the digest
 * that was built, so a failed run leaves the previous lock untouched.
 *
 * @module
 */
import { NotFoundError, UnavailableError, VerificationError } from "../../util/errors/mod.ts";
import { writeFileAtomic } from "../../util/files/atomic_write.ts";
import { RegistryClient } from "../../oci/registry_client.ts";
import { loadDockerCredentials } from "../../oci/credentials.ts";
import { buildArtifact, type BuiltArtifact, pushArtifact } from "../../oci/writer.ts";
import {
  type ContrastImage,
  encodeImageLock,
  type ImageLock,
  imageRepository,
} from "../../deploy/image_lock.ts";
import { VERSION } from "../../cli/version.ts";
import { bundleComponent } from "./bundle.ts";
import { type Component, imageComponents } from "./components.ts";
import {
  denoLayerFiles,
  extraLayerFiles,
  imageSpec,
  runtimeLayerFiles,
  sharedLayer,
} from "./image_spec.ts";
import { debianExtraFiles, debianRuntimeFiles, denoRuntime } from "./inputs.ts";

/** One built image. */
interface BuiltComponentImage {
  readonly component: Component;
  /** The image's name below `contrast/` and its key in the lock. */
  readonly name: ContrastImage;
  readonly artifact: BuiltArtifact;
  /** `sha256:…` of the image manifest. */
  readonly digest: string;
  /** Compressed size of config and layers, in bytes (what a pull downloads). */
  readonly compressedBytes: number;
}

/** Where the build keeps downloads and bundles. */
interface BuildDirs {
  /** Downloads of the pinned inputs (kept between runs). */
  readonly cacheDir: string;
  /** Bundles (replaced each run). */
  readonly bundleDir: string;
}

/**
 * Builds every image (deterministic: same source tree and pins, same digests).
 *
 * @throws {UnavailableError} when a pinned input cannot be downloaded
 * @throws {VerificationError} when a download has another digest than pinned
 */
export async function buildImages(dirs: BuildDirs): Promise<BuiltComponentImage[]> {
  await Deno.mkdir(dirs.cacheDir, { recursive: true });
  const shared = {
    runtime: await sharedLayer(runtimeLayerFiles(await debianRuntimeFiles(dirs.cacheDir))),
    deno: await sharedLayer(denoLayerFiles(await denoRuntime(dirs.cacheDir))),
  };
  const out: BuiltComponentImage[] = [];
  for (const component of imageComponents()) {
    const bundle = await Deno.readFile(await bundleComponent(component, dirs.bundleDir));
    const extra = component.extraLayer === undefined ? undefined : extraLayerFiles(
      component.extraLayer,
      await debianExtraFiles(dirs.cacheDir, component.extraLayer.debian),
    );
    const artifact = await buildArtifact(imageSpec(component, shared, bundle, extra));
    const image = artifact.images[0]!;
    out.push({
      component,
      name: imageNameOf(component),
      artifact,
      digest: artifact.top.descriptor.digest,
      compressedBytes: [...image.layers, image.config].reduce((n, b) => n + b.bytes.length, 0),
    });
  }
  return out;
}

function imageNameOf(component: Component): ContrastImage {
  if (component.imageName === undefined) {
    throw new VerificationError(
      `components.${component.name}.imageName`,
      "an image component needs the name it has in the image lock",
    );
  }
  return component.imageName;
}

/** Where to push. */
interface PushTarget {
  /** `host[:port][/path]`. */
  readonly registry: string;
  /** Reach the registry over plain HTTP. */
  readonly insecure: boolean;
}

function registryHost(registry: string): string {
  return registry.split("/")[0]!;
}

/**
 * Pushes the images as `<registry>/contrast/<name>:<version>` and returns the lock naming them by
 * digest, once the registry serves each by that digest (read back and checked).
 *
 * @throws {UnavailableError} naming the registry when it cannot be reached
 * @throws {VerificationError} when the registry does not serve an image by the digest built
 */
export async function pushImages(
  images: readonly BuiltComponentImage[],
  target: PushTarget,
): Promise<ImageLock> {
  const host = registryHost(target.registry);
  const prefix = target.registry.slice(host.length).replace(/^\/+|\/+$/g, "");
  const client = new RegistryClient({
    insecureRegistries: target.insecure ? [host] : [],
    credentials: await loadDockerCredentials(),
    retries: 1,
    retryBaseMs: 200,
    timeoutMs: 30_000,
  });
  const refs: Partial<Record<ContrastImage, string>> = {};
  try {
    for (const image of images) {
      const name = image.name;
      const repository = [prefix, imageRepository(name)].filter(Boolean).join("/");
      let pushed;
      try {
        pushed = await pushArtifact(
          client,
          { registry: host, repository },
          VERSION,
          image.artifact,
        );
      } catch (error) {
        if (error instanceof TypeError || error instanceof Deno.errors.ConnectionRefused) {
          throw new UnavailableError(
            "--registry",
            `cannot reach registry ${host}: ${error.message}`,
          );
        }
        throw error;
      }
      if (pushed.digest !== image.digest) {
        throw new VerificationError(
          "--registry",
          `${host}/${repository} stored ${pushed.digest}, but the built image is ${image.digest}`,
        );
      }
      await requireServed(client, { registry: host, repository }, image.digest);
      refs[name] = `${host}/${repository}@${image.digest}`;
    }
  } finally {
    client.close();
  }
  return { version: 1, images: refs as ImageLock["images"] };
}

/**
 * Reads the pushed image back by `digest` (the registry's answer is checked against it): a
 * registry that answered the push with 201 but keeps nothing, or other bytes, under the digest
 * is refused before the lock names it.
 *
 * @throws {VerificationError} naming `--registry` when the registry does not serve it
 */
async function requireServed(
  client: RegistryClient,
  location: { readonly registry: string; readonly repository: string },
  digest: string,
): Promise<void> {
  const where = `${location.registry}/${location.repository}@${digest}`;
  try {
    await client.getManifest(location, digest, "--registry");
  } catch (error) {
    if (error instanceof NotFoundError) {
      throw new VerificationError("--registry", `accepted the push but does not serve ${where}`);
    }
    if (error instanceof VerificationError) {
      throw new VerificationError(
        "--registry",
        `accepted the push but serves other bytes as ${where}: ${error.message}`,
      );
    }
    throw error;
  }
}

/** Writes `lock` to `path` atomically. */
export async function writeImageLock(path: string, lock: ImageLock): Promise<void> {
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
  await Deno.mkdir(dir, { recursive: true });
  await writeFileAtomic(path, new TextEncoder().encode(encodeImageLock(lock)));
}
