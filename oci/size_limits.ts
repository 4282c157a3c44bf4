/**
 * Bounds on how much of an image `generate` downloads and decompresses: a layer's size (as its
 * descriptor declares it, which bounds the download and the spool file, and decompressed, which
 * bounds the work of reading it and checking its `diff_id`) and an image's total of each. A
 * registry chooses the declared sizes and a compressed layer can expand ~1000x (gzip of zeros),
 * so both are bounded absolutely; a ratio guard would refuse legitimate layers of zeros.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";

/** Bounds of one image, bytes. */
export interface ImageSizeLimits {
  /** Most bytes of one layer, compressed (declared) and decompressed alike. */
  readonly maxLayerBytes: number;
  /** Most bytes of all layers of an image together, compressed (declared) and decompressed. */
  readonly maxImageBytes: number;
}

const GIB = 1024 ** 3;

/**
 * The defaults: 32 GiB per layer, 64 GiB per image. The largest common images (PyTorch with CUDA,
 * NVIDIA NGC frameworks) are 7–13 GB compressed and about twice that unpacked, in layers of a few
 * GB; both bounds leave at least twice that. Refusing a layer at 32 GiB of output costs ~4.5 min
 * of decompressing and hashing at the ~124 MiB/s measured on the development machine.
 */
export const DEFAULT_IMAGE_SIZE_LIMITS: ImageSizeLimits = {
  maxLayerBytes: 32 * GIB,
  maxImageBytes: 64 * GIB,
};

/** The CLI options that raise each bound (named in the error). */
const OPTION: Readonly<Record<keyof ImageSizeLimits, string>> = {
  maxLayerBytes: "--max-layer-size",
  maxImageBytes: "--max-image-size",
};

/**
 * An image beyond one of its {@link ImageSizeLimits}: a {@link ParseError} (exit 2, bad input)
 * naming the image and layer, with the bound and the option that raises it.
 *
 * @example Tell a too-large image from other bad input
 * ```ts
 * import { ImageSizeLimitError } from "./size_limits.ts";
 *
 * const e = new ImageSizeLimitError("image x layer sha256:ab", "maxLayerBytes", "decompressed", 1024);
 * console.log(e.limit, e.limitBytes); // "maxLayerBytes" 1024
 * ```
 */
export class ImageSizeLimitError extends ParseError {
  /** Which bound was exceeded. */
  readonly limit: keyof ImageSizeLimits;
  /** Its value, bytes. */
  readonly limitBytes: number;

  /** `field` (image and layer) exceeds `limit` (`limitBytes`) in its `what` size. */
  constructor(
    field: string,
    limit: keyof ImageSizeLimits,
    what: "declared" | "decompressed",
    limitBytes: number,
  ) {
    const layer = limit === "maxLayerBytes";
    const verb = what === "declared"
      ? (layer ? "declares" : "declare")
      : (layer ? "decompresses to" : "decompress to");
    super(
      field,
      `${layer ? "the layer" : "the image's layers together"} ${verb} more than ${
        formatBytes(limitBytes)
      } (${limitBytes} bytes), the bound of ${OPTION[limit]}; raise it if the image is genuine`,
    );
    this.limit = limit;
    this.limitBytes = limitBytes;
  }
}

/** `bytes` in the largest binary unit that divides it (`32 GiB`), else in bytes. */
function formatBytes(bytes: number): string {
  for (const [unit, size] of [["TiB", 1024 ** 4], ["GiB", GIB], ["MiB", 1024 ** 2]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} B`;
}

/**
 * Checks the sizes an image's layer descriptors declare (what would be downloaded and spooled)
 * against `limits`, before anything is downloaded.
 *
 * @param layerField the field naming layer `i` (image and layer digest) for errors
 * @throws {ImageSizeLimitError} naming the first layer beyond a bound
 *
 * @example Refuse a manifest declaring a 1 TiB layer
 * ```ts
 * import { checkDeclaredLayerSizes, DEFAULT_IMAGE_SIZE_LIMITS } from "./size_limits.ts";
 *
 * checkDeclaredLayerSizes([{ size: 1024 }], DEFAULT_IMAGE_SIZE_LIMITS, (i) => `layer ${i}`);
 * ```
 */
export function checkDeclaredLayerSizes(
  layers: readonly { readonly size: number }[],
  limits: ImageSizeLimits,
  layerField: (i: number) => string,
): void {
  let total = 0;
  layers.forEach((layer, i) => {
    if (layer.size > limits.maxLayerBytes) {
      throw new ImageSizeLimitError(
        layerField(i),
        "maxLayerBytes",
        "declared",
        limits.maxLayerBytes,
      );
    }
    total += layer.size;
    if (total > limits.maxImageBytes) {
      throw new ImageSizeLimitError(
        layerField(i),
        "maxImageBytes",
        "declared",
        limits.maxImageBytes,
      );
    }
  });
}

/**
 * Decompressed bytes of an image's layers as they are read: {@link DecompressedBudget.stream}
 * passes a layer's bytes through and errors it with an {@link ImageSizeLimitError} as soon as
 * the layer, or the image's layers read so far, go beyond the bounds (so the reader stops and
 * the download and decompression behind it are cancelled).
 *
 * @example Count the layers of one image
 * ```ts
 * import { DecompressedBudget, DEFAULT_IMAGE_SIZE_LIMITS } from "./size_limits.ts";
 *
 * const budget = new DecompressedBudget(DEFAULT_IMAGE_SIZE_LIMITS);
 * const tar = new Blob(["layer"]).stream().pipeThrough(budget.stream("image x layer 0"));
 * ```
 */
export class DecompressedBudget {
  readonly #limits: ImageSizeLimits;
  #imageBytes = 0;

  /** A budget of `limits` for one image. */
  constructor(limits: ImageSizeLimits) {
    this.#limits = limits;
  }

  /**
   * A pass-through for one layer's decompressed bytes, counted against the layer's bound and
   * (unless `counted` is false: a layer read a second time) the image's.
   */
  stream(field: string, counted = true): TransformStream<Uint8Array, Uint8Array> {
    let layerBytes = 0;
    return new TransformStream({
      transform: (chunk, controller) => {
        layerBytes += chunk.length;
        if (layerBytes > this.#limits.maxLayerBytes) {
          throw new ImageSizeLimitError(
            field,
            "maxLayerBytes",
            "decompressed",
            this.#limits.maxLayerBytes,
          );
        }
        if (counted) {
          this.#imageBytes += chunk.length;
          if (this.#imageBytes > this.#limits.maxImageBytes) {
            throw new ImageSizeLimitError(
              field,
              "maxImageBytes",
              "decompressed",
              this.#limits.maxImageBytes,
            );
          }
        }
        controller.enqueue(chunk);
      },
    });
  }
}
