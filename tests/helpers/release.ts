/**
 * What release tests share: a digest-pinned image lock to build a release around (`--lock`, no
 * image built), the files a release folder holds, and a lock that keeps release builds of
 * several test files (run in parallel processes) from overlapping.
 *
 * @module
 */
import type { ImageLock } from "../../deploy/image_lock.ts";
import { REPO_ROOT } from "../../scripts/images/bundle.ts";

/** An image lock naming made-up digests: a release is written around it without a registry. */
export const TEST_LOCK: ImageLock = {
  version: 1,
  images: {
    coordinator: `registry.example.com/contrast/coordinator@sha256:${"1".repeat(64)}`,
    initializer: `registry.example.com/contrast/initializer@sha256:${"2".repeat(64)}`,
    "service-mesh-proxy": `registry.example.com/contrast/service-mesh-proxy@sha256:${
      "3".repeat(64)
    }`,
  },
};

/** Every file below `dir`, by its path from `dir`, sorted. */
export function filesBelow(dir: string, prefix = ""): string[] {
  const names: string[] = [];
  for (const entry of Deno.readDirSync(`${dir}/${prefix}`)) {
    if (entry.isDirectory) names.push(...filesBelow(dir, `${prefix}${entry.name}/`));
    else names.push(`${prefix}${entry.name}`);
  }
  return names.sort();
}

/**
 * Runs `build` while holding an exclusive `flock` on `.cache/release-tests.lock`: a release is
 * bundled from one fixed entry folder of the checkout (so that its bytes do not depend on where
 * it is built), and `scripts/release.ts` refuses to share that folder with a build under way, so
 * test files that build releases (in parallel `deno test` processes) take turns.
 */
export async function withReleaseBuildLock<T>(build: () => Promise<T>): Promise<T> {
  await Deno.mkdir(`${REPO_ROOT}.cache`, { recursive: true });
  const lock = await Deno.open(`${REPO_ROOT}.cache/release-tests.lock`, {
    read: true,
    write: true,
    create: true,
  });
  try {
    await lock.lock(true);
    return await build();
  } finally {
    lock.close();
  }
}
