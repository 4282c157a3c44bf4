/**
 * What release tests share: a digest-pinned image lock to build a release around (`--lock`, no
 * image built), and the files a release folder holds.
 *
 * @module
 */
import type { ImageLock } from "../../deploy/image_lock.ts";

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
