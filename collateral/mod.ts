/**
 * Vendor collateral transport: the caching fetcher for AMD KDS and Intel PCS, offline bundles,
 * and the on-disk cache. Everything it returns is untrusted; callers verify it.
 *
 * @example A fetcher that never touches the network, reading an offline bundle
 * ```ts
 * import { CachingFetcher } from "./mod.ts";
 *
 * const fetcher = new CachingFetcher({ offline: true, importDirs: ["./bundle"] });
 * console.log(fetcher instanceof CachingFetcher);
 * ```
 *
 * @module
 */
export * from "./bundle.ts";
export * from "./cache_export.ts";
export * from "./caching_fetcher.ts";
export * from "./disk_cache.ts";
export * from "./expiry.ts";
export * from "./retry.ts";
