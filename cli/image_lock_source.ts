/**
 * Where the CLI takes contrast's image references from: `--image-lock FILE`, else the file named
 * by `CONTRAST_IMAGE_LOCK`, else the lock embedded in a release build. `--image-registry` moves
 * the locked images to a mirror. Without any lock, commands that need one stop with an error that
 * says how to get one. A file that replaces a release build's embedded lock with other images is
 * said (`generate` and `coordinator` warn): the embedded lock is the one a user checked the
 * release by, and a variable left set from a development checkout would otherwise replace it
 * without a word.
 *
 * @module
 */
import { UnavailableError } from "../util/errors/mod.ts";
import {
  CONTRAST_IMAGES,
  encodeImageLock,
  type ImageLock,
  parseImageLock,
  withRegistry,
} from "../deploy/image_lock.ts";
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
  /**
   * The warning (without `warning: `) when this lock is a file that names other images than the
   * lock the build embeds; undefined otherwise.
   */
  readonly replacesEmbedded?: string;
}

/** The warning for `file`'s `lock` replacing the build's embedded lock, if their images differ. */
function replacedEmbeddedWarning(
  lock: ImageLock,
  source: string,
  build: BuildInfo,
): string | undefined {
  if (build.imageLock === undefined) return undefined;
  let embedded: ImageLock | undefined;
  try {
    embedded = parseImageLock(build.imageLock, "embedded images.lock.json");
  } catch {
    embedded = undefined;
  }
  if (embedded !== undefined && encodeImageLock(embedded) === encodeImageLock(lock)) {
    return undefined;
  }
  const changed = CONTRAST_IMAGES.filter((n) => embedded?.images[n] !== lock.images[n])
    .map((n) => `${n} ${lock.images[n]}`);
  return `the image lock in use (${source}) replaces the one this release build embeds: ` +
    `contrast's images are ${changed.join(", ")}, not the release's ` +
    "(unset CONTRAST_IMAGE_LOCK and leave out --image-lock to use the embedded lock)";
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
  if (found !== undefined && found.source !== "embedded") {
    const warning = replacedEmbeddedWarning(found.lock, found.source, build);
    if (warning !== undefined) found = { ...found, replacesEmbedded: warning };
  }
  if (found === undefined || flags.imageRegistry === undefined) return found;
  return { ...found, lock: withRegistry(found.lock, flags.imageRegistry) };
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
