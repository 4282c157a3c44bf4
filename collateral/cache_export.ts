/**
 * Turning a collateral cache into an offline bundle: after verifying online with a cache
 * directory, `exportCacheToBundle` writes everything the cache holds into a bundle directory that
 * an air-gapped machine then reads with `--collateral-dir` (see `bundle.ts`).
 *
 * @module
 */
import { writeToBundle } from "./bundle.ts";
import { DiskCache } from "./disk_cache.ts";

/**
 * One cache entry as listed.
 *
 * @example Show what the cache holds
 * ```ts
 * import { type CacheListing, listCache } from "./mod.ts";
 *
 * const entries: CacheListing[] = await listCache(await Deno.makeTempDir());
 * for (const e of entries) console.log(e.url ?? e.path, e.validUntil ?? "forever", e.corrupt ?? "");
 * ```
 */
export interface CacheListing {
  /** The entry file. */
  readonly path: string;
  /** The URL, when the entry is intact. */
  readonly url?: string;
  /** When it was fetched. */
  readonly fetchedAt?: Date;
  /** Until when it is served without refetching (undefined: forever). */
  readonly validUntil?: Date;
  /** Body size in bytes. */
  readonly size?: number;
  /** The roots the entry was verified against, when its request named them (`roots=…`). */
  readonly trustDomain?: string;
  /** Why the entry cannot be used, when it cannot. */
  readonly corrupt?: string;
}

/**
 * Lists the entries of cache directory `cacheDir`.
 *
 * @example Count the usable entries of a cache
 * ```ts
 * import { listCache } from "./mod.ts";
 *
 * const entries = await listCache(await Deno.makeTempDir());
 * console.log(entries.filter((e) => !e.corrupt).length); // 0 for a new directory
 * ```
 */
export async function listCache(cacheDir: string): Promise<CacheListing[]> {
  return (await new DiskCache(cacheDir).list()).map(({ path, read }) =>
    read.kind === "hit"
      ? {
        path,
        url: read.entry.url,
        fetchedAt: read.entry.fetchedAt,
        validUntil: read.entry.validUntil,
        size: read.entry.body.length,
        ...(trustDomainOfKey(read.entry.key)
          ? { trustDomain: trustDomainOfKey(read.entry.key) }
          : {}),
      }
      : { path, corrupt: read.kind === "corrupt" ? read.reason : "missing" }
  );
}

/**
 * Result of {@link exportCacheToBundle}.
 *
 * @example Report what an export left out
 * ```ts
 * import { exportCacheToBundle, type ExportResult } from "./mod.ts";
 *
 * const result: ExportResult = await exportCacheToBundle(await Deno.makeTempDir(), await Deno.makeTempDir());
 * for (const s of result.skipped) console.log(`skipped ${s.path}: ${s.reason}`);
 * ```
 */
export interface ExportResult {
  /** Bundle files written, with their URLs. */
  readonly written: readonly { url: string; path: string }[];
  /** Entries left out and why. */
  readonly skipped: readonly { path: string; reason: string }[];
}

/**
 * Writes every intact entry of `cacheDir` into bundle directory `bundleDir`. Expired entries are
 * left out unless `includeExpired` (an old CRL is useless for verifying at the current time, but
 * needed to re-verify at an old one).
 *
 * @example Carry the collateral of an online run to an air-gapped machine
 * ```ts
 * import { CachingFetcher, exportCacheToBundle } from "./mod.ts";
 *
 * const cacheDir = await Deno.makeTempDir();
 * const bundleDir = await Deno.makeTempDir();
 * const result = await exportCacheToBundle(cacheDir, bundleDir);
 * const offline = new CachingFetcher({ offline: true, importDirs: [bundleDir] });
 * console.log(result.written.length, offline instanceof CachingFetcher);
 * ```
 */
export async function exportCacheToBundle(
  cacheDir: string,
  bundleDir: string,
  options: { readonly now?: Date; readonly includeExpired?: boolean } = {},
): Promise<ExportResult> {
  const now = options.now ?? new Date();
  const written: { url: string; path: string }[] = [];
  const skipped: { path: string; reason: string }[] = [];
  const domainOfUrl = new Map<string, string | undefined>();
  for (const { path, read } of await new DiskCache(cacheDir).list()) {
    if (read.kind !== "hit") {
      skipped.push({ path, reason: read.kind === "corrupt" ? read.reason : "missing" });
      continue;
    }
    const { entry } = read;
    if (entry.validUntil && entry.validUntil < now && !options.includeExpired) {
      skipped.push({ path, reason: `${entry.url} expired at ${entry.validUntil.toISOString()}` });
      continue;
    }
    // A bundle file holds one response per URL: responses one URL gave for different roots (a
    // simulated stand-in's and the vendor's) cannot both go in; the first is kept.
    const domain = trustDomainOfKey(entry.key);
    if (domainOfUrl.has(entry.url) && domainOfUrl.get(entry.url) !== domain) {
      skipped.push({
        path,
        reason: `${entry.url} is already exported for ${
          domainOfUrl.get(entry.url) ?? "no named roots"
        }; this entry was verified against ${domain ?? "no named roots"}`,
      });
      continue;
    }
    domainOfUrl.set(entry.url, domain);
    // Bundles are keyed by URL alone (an Accept header only picks the encoding AMD KDS answers
    // in, and the reader parses DER and PEM alike).
    written.push({
      url: entry.url,
      path: await writeToBundle(bundleDir, entry.url, entry.body, entry.headers),
    });
  }
  return { written, skipped };
}

/** The trust domain a cache key names (`…\ntrust: <domain>`), if any. */
function trustDomainOfKey(key: string): string | undefined {
  return /\ntrust: ([^\n]+)$/.exec(key)?.[1];
}
