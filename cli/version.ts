/**
 * `contrast --version`: the version, the image references this build pins (from its image lock)
 * and the reference values it ships per platform, so an auditor can see what a given CLI build
 * deploys and accepts.
 *
 * @module
 */
import { PLATFORMS, readPlatformTemplate } from "../policy/reference_values.ts";
import { CONTRAST_IMAGES } from "../deploy/image_lock.ts";
import type { BuildInfo } from "./build_info.ts";
import { findImageLock } from "./image_lock_source.ts";

/** Version of contrast. */
export const VERSION = "0.1.0";

/** The text `contrast --version` prints. */
export async function versionText(build: BuildInfo): Promise<string> {
  const lines = [`contrast ${VERSION}`, ""];
  const locked = await findImageLock({}, build);
  if (locked === undefined) {
    lines.push(
      "images: no image lock (run `deno task images`, pass CONTRAST_IMAGE_LOCK or use a release build)",
    );
  } else {
    lines.push(`images (${locked.source}):`);
    for (const name of CONTRAST_IMAGES) {
      lines.push(`  ${name.padEnd(20)} ${locked.lock.images[name] ?? "(not in the lock)"}`);
    }
  }
  lines.push("", "reference values shipped (launch measurements come from your node image):");
  for (const platform of PLATFORMS) {
    const template = await readPlatformTemplate(platform);
    lines.push(`  ${platform}: ${JSON.stringify(template)}`);
  }
  return `${lines.join("\n")}\n`;
}
