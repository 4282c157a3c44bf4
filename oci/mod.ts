/**
 * Container images: the OCI distribution client `contrast generate` reads images through
 * (`createImageResolver` → `ImageResolver`), and the image writer tests and demos publish images
 * with.
 *
 * @module
 */
export * from "./types.ts";
export * from "./resolver.ts";
export * from "./reference.ts";
export * from "./digest.ts";
export * from "./manifest.ts";
export * from "./media_types.ts";
export * from "./cache.ts";
export * from "./credentials.ts";
export * from "./auth.ts";
export * from "./registry_client.ts";
export * from "./progress.ts";
export * from "./compression.ts";
export * from "./tar.ts";
export * from "./rootfs.ts";
export * from "./limiter.ts";
export * from "./network_error.ts";
export * from "./writer.ts";
