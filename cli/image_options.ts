/**
 * The image-resolution options of `generate`, `policy check` and `policy explain`
 * (`--max-layer-size`, `--max-image-size`, `--image-cache`, `--insecure-registry`, ...) and what
 * they parse to. Kept apart from `options.ts` (which every command loads) so the commands that
 * resolve no image, `evidence verify` among them, do not load the size parsing they never use.
 *
 * @module
 */
import type { Command } from "commander";
import { ParseError } from "../util/errors/mod.ts";
import { parseMemoryQuantity } from "../deploy/memory_quantity.ts";
import { DEFAULT_IMAGE_SIZE_LIMITS, type ImageSizeLimits } from "../oci/size_limits.ts";
import { cacheRoot, collectRepeated } from "./options.ts";

/** Where images are cached for `flags`. */
export function imageCacheDir(flags: { readonly cacheDir?: string }): string {
  return `${flags.cacheDir ?? cacheRoot()}/images`;
}

/** The size bounds of images given on the command line. */
interface ImageSizeFlags {
  /** `--max-layer-size`. */
  readonly maxLayerSize?: string;
  /** `--max-image-size`. */
  readonly maxImageSize?: string;
}

/** A size option's bytes. @throws {ParseError} naming `option` for anything but a positive size */
function sizeOption(text: string, option: string): number {
  const parsed = parseMemoryQuantity(text);
  if ("reason" in parsed) throw new ParseError(option, parsed.reason);
  if (parsed.bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ParseError(option, `${JSON.stringify(text)} is more than 2^53 - 1 bytes`);
  }
  return Number(parsed.bytes);
}

/**
 * The image size bounds `flags` set (`--max-layer-size`, `--max-image-size`; the resolver's
 * defaults for those not given).
 *
 * @throws {ParseError} naming the option for a value that is not a positive size (exit 2)
 */
export function imageSizeLimits(flags: ImageSizeFlags): Partial<ImageSizeLimits> {
  return {
    ...(flags.maxLayerSize !== undefined
      ? { maxLayerBytes: sizeOption(flags.maxLayerSize, "--max-layer-size") }
      : {}),
    ...(flags.maxImageSize !== undefined
      ? { maxImageBytes: sizeOption(flags.maxImageSize, "--max-image-size") }
      : {}),
  };
}

/**
 * Adds the image-resolution options shared by `generate`, `policy check` and `policy explain`:
 * `--cache-dir`, `--image-cache`, `--insecure-registry` (repeatable), `--offline`, and the size
 * bounds `--max-layer-size` and `--max-image-size` (read with {@link imageSizeLimits}).
 */
export function addImageOptions(command: Command): Command {
  return command
    .option(
      "--max-layer-size <size>",
      "refuse an image layer larger than this, as declared or decompressed (bytes, or with " +
        `Ki/Mi/Gi/Ti; default: ${DEFAULT_IMAGE_SIZE_LIMITS.maxLayerBytes / 1024 ** 3}Gi)`,
    )
    .option(
      "--max-image-size <size>",
      "refuse an image whose layers together are larger than this, as declared or decompressed " +
        `(default: ${DEFAULT_IMAGE_SIZE_LIMITS.maxImageBytes / 1024 ** 3}Gi)`,
    )
    .option("--cache-dir <dir>", `cache root shared by every command (default: ${cacheRoot()})`)
    .option("--image-cache <dir>", "image cache directory (default: <cache-dir>/images)")
    .option(
      "--insecure-registry <host>",
      "registry reached over plain HTTP (repeatable)",
      collectRepeated,
      [] as string[],
    )
    .option("--offline", "never use the network: resolve images from the cache only", false);
}
