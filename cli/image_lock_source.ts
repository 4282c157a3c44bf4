/**
 * Where the CLI takes contrast's image references from: `--image-lock FILE`, else the file named
 * by `CONTRAST_IMAGE_LOCK`, else the lock embedded in a release build. `--image-registry` moves
 * the locked images to a mirror. Without any lock, commands that need one stop with an error that
 * says how to get one.
 *
 * @module
 */
import { UnavailableError } from "../util/errors/mod.ts";
import { type ImageLock, parseImageLock, withRegistry } from "../deploy/image_lock.ts";
import type { BuildInfo } from "./build_info.ts";

/** Environment variable naming the image lock file. */
const IMAGE_LOCK_ENV = "CONTRAST_IMAGE_LOCK";

/** The flags that select the lock. */
interface ImageLockFlags {
  /** `--image-lock FILE`. */
  readonly imageLock?: string;
  /** `--image-registry HOST[:PORT][/PATH]`. */
  readonly imageRegistry?: string;
}

/** Where a lock came from (for messages and `--version`). */
interface LockedImages {
  /** The lock (registry override applied). */
  readonly lock: ImageLock;
  /** `--image-lock <file>`, `CONTRAST_IMAGE_LOCK=<file>` or `embedded`. */
  readonly source: string;
}

async function readLockFile(path: string, field: string): Promise<ImageLock> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new UnavailableError(
      field,
      `cannot read image lock ${path}: ${error instanceof Error ? error.message : error}`,
    );
  }
  return parseImageLock(bytes, path);
}

/**
 * The lock the flags, the environment or the build select, or `undefined` when there is none.
 *
 * @throws {UnavailableError} when a named lock file cannot be read
 * @throws {InvalidDocumentError} when the lock is malformed
 */
export async function findImageLock(
  flags: ImageLockFlags,
  build: BuildInfo,
): Promise<LockedImages | undefined> {
  const env = Deno.env.get(IMAGE_LOCK_ENV) || undefined;
  let found: LockedImages | undefined;
  if (flags.imageLock !== undefined) {
    found = {
      lock: await readLockFile(flags.imageLock, "--image-lock"),
      source: `--image-lock ${flags.imageLock}`,
    };
  } else if (env !== undefined) {
    found = {
      lock: await readLockFile(env, IMAGE_LOCK_ENV),
      source: `${IMAGE_LOCK_ENV}=${env}`,
    };
  } else if (build.imageLock !== undefined) {
    found = {
      lock: parseImageLock(build.imageLock, "embedded images.lock.json"),
      source: "embedded",
    };
  }
  if (found === undefined || flags.imageRegistry === undefined) return found;
  return { lock: withRegistry(found.lock, flags.imageRegistry), source: found.source };
}

/**
 * Like {@link findImageLock}, but a missing lock is an error.
 *
 * @throws {UnavailableError} naming `--image-lock` when no lock is available
 */
export async function requireImageLock(
  flags: ImageLockFlags,
  build: BuildInfo,
): Promise<LockedImages> {
  const found = await findImageLock(flags, build);
  if (found === undefined) {
    throw new UnavailableError(
      "--image-lock",
      "no image lock: contrast's own images (Coordinator, initializer, service-mesh proxy) are " +
        "pinned by the lock `deno task images --registry HOST:PORT` writes (dist/images.lock.json); " +
        `pass it with --image-lock FILE or ${IMAGE_LOCK_ENV}, or use a release build, which embeds it`,
    );
  }
  return found;
}
