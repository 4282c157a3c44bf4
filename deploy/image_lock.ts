/**
 * The image lock: the digest reference of every container image contrast itself provides (the
 * Coordinator, the initializer and the service-mesh proxy), written by `deno task images` after it
 * built and pushed them. `contrast generate`, `contrast coordinator` and `contrast --version` take
 * contrast's images from it, so generated YAML names only these images, pinned by digest.
 *
 * ```json
 * { "version": 1,
 *   "images": { "coordinator": "registry.example/contrast/coordinator@sha256:…", … } }
 * ```
 *
 * Users who mirror the images into their own registry keep the digests and replace the registry
 * with {@link withRegistry}.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";
import { childPath, IssueList, ObjectReader, parseJsonDocument } from "../util/json/mod.ts";
import { parseImageReference } from "../oci/reference.ts";
import type { Settings } from "../policy/settings.ts";

/** The images contrast builds, by component name. */
export const CONTRAST_IMAGES = ["coordinator", "initializer", "service-mesh-proxy"] as const;

/** One of contrast's own images. */
export type ContrastImage = typeof CONTRAST_IMAGES[number];

/** The lock format version. */
const IMAGE_LOCK_VERSION = 1;

/** Every contrast image pinned by digest. */
export interface ImageLock {
  /** {@link IMAGE_LOCK_VERSION}. */
  readonly version: 1;
  /** `<registry>/contrast/<component>@sha256:<64 hex>` per component. */
  readonly images: Readonly<Record<ContrastImage, string>>;
}

/**
 * The value of an image field in platform settings that means "contrast's own image, from the
 * image lock" (`image-lock:initializer`, `image-lock:service-mesh-proxy`).
 */
export function lockedImagePlaceholder(image: ContrastImage): string {
  return `image-lock:${image}`;
}

/** The repository path of a contrast image below its registry (`contrast/<component>`). */
export function imageRepository(image: ContrastImage): string {
  return `contrast/${image}`;
}

function readLockedReference(value: string, path: string, issues: IssueList): string | undefined {
  try {
    const ref = parseImageReference(value);
    if (ref.digest === undefined || ref.tag !== undefined) {
      issues.add(path, `must be pinned by digest only (<name>@sha256:<hex>), got "${value}"`);
      return undefined;
    }
    return value;
  } catch (error) {
    issues.add(path, error instanceof Error ? error.message : String(error));
    return undefined;
  }
}

/**
 * Parses a lock file's bytes.
 *
 * @throws {InvalidDocumentError} naming every problem with its JSON path (prefixed with `file`)
 */
export function parseImageLock(bytes: Uint8Array, file: string): ImageLock {
  const issues = new IssueList();
  let doc: unknown;
  try {
    doc = parseJsonDocument(bytes);
  } catch {
    issues.add(`${file}: (root)`, "not valid UTF-8 JSON");
    issues.throwIfAny();
  }
  const root = new ObjectReader(doc, "", issues);
  const version = root.integer("version");
  if (version !== undefined && version !== IMAGE_LOCK_VERSION) {
    issues.add("version", `unsupported lock version ${version} (expected ${IMAGE_LOCK_VERSION})`);
  }
  const out: Partial<Record<ContrastImage, string>> = {};
  root.object("images", (images) => {
    for (const name of CONTRAST_IMAGES) {
      const value = images.string(name, true);
      if (value !== undefined) {
        const ref = readLockedReference(value, childPath("images", name), issues);
        if (ref !== undefined) out[name] = ref;
      }
    }
  });
  root.finish();
  if (!issues.empty) {
    const prefixed = new IssueList();
    for (const i of issues.issues) prefixed.add(`${file}: ${i.path}`, i.reason);
    prefixed.throwIfAny();
  }
  return { version: 1, images: out as ImageLock["images"] };
}

/** The lock as its file holds it (sorted keys, two-space indent, final newline). */
export function encodeImageLock(lock: ImageLock): string {
  const images = Object.fromEntries(
    CONTRAST_IMAGES.map((n) => [n, lock.images[n]]),
  );
  return `${JSON.stringify({ version: lock.version, images }, null, 2)}\n`;
}

/**
 * The lock with every image moved to `registry` (a host with optional port and path, e.g.
 * `mirror.example:5000/team`): `<registry>/contrast/<component>@<same digest>`.
 *
 * @throws {ParseError} naming `--image-registry` when `registry` is not a registry prefix
 */
export function withRegistry(lock: ImageLock, registry: string): ImageLock {
  const prefix = registry.replace(/\/+$/, "");
  const host = prefix.split("/")[0]!;
  if (!(host.includes(".") || host.includes(":") || host === "localhost")) {
    throw new ParseError(
      "--image-registry",
      `"${registry}" does not start with a registry host (a name with a dot or port, or localhost)`,
    );
  }
  const images: Partial<Record<ContrastImage, string>> = {};
  for (const name of CONTRAST_IMAGES) {
    const locked = lock.images[name];
    const digest = parseImageReference(locked).digest!;
    const moved = `${prefix}/${imageRepository(name)}@${digest}`;
    try {
      const ref = parseImageReference(moved);
      if (
        !ref.registry.includes(".") && !ref.registry.includes(":") && ref.registry !== "localhost"
      ) {
        throw new Error("no registry host");
      }
    } catch (error) {
      throw new ParseError(
        "--image-registry",
        `"${registry}" is not a registry host[:port][/path]: ${
          error instanceof Error ? error.message : error
        }`,
      );
    }
    images[name] = moved;
  }
  return { version: 1, images: images as ImageLock["images"] };
}

/**
 * `settings` with every `image-lock:<component>` image replaced by the lock's reference. Images
 * a user's settings name explicitly are kept.
 */
export function settingsWithLockedImages(settings: Settings, lock: ImageLock): Settings {
  const resolve = (image: string) => {
    for (const name of CONTRAST_IMAGES) {
      if (image === lockedImagePlaceholder(name)) return lock.images[name];
    }
    return image;
  };
  return {
    ...settings,
    initializer: { ...settings.initializer, image: resolve(settings.initializer.image) },
    service_mesh: { ...settings.service_mesh, image: resolve(settings.service_mesh.image) },
  };
}

/** Whether `settings` take any image from the lock. */
export function settingsNeedLock(settings: Settings): boolean {
  return [settings.initializer.image, settings.service_mesh.image].some((i) =>
    i.startsWith("image-lock:")
  );
}
