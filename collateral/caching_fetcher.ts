/**
 * The one HTTP client for vendor collateral (AMD KDS, Intel PCS): an on-disk cache, merged
 * concurrent requests, retries with backoff that honour `Retry-After`, an offline mode and
 * offline collateral bundles.
 *
 * **The fetcher is untrusted transport.** It returns whatever the network, the cache or a bundle
 * holds, and checks only that the cache file is intact. Callers must verify everything they get —
 * signatures and chains to pinned roots, freshness at their own `now` — exactly as if it came
 * from an attacker. A cache or proxy can withhold or replay data, never make it trusted.
 *
 * Lookup order for `get(url)`:
 * 0. the copy of a disk cache entry kept in memory after it was read, for at most
 *    `memoryTtlMs` (default 5 s) and never past its `validUntil` (a copy is handed out each time,
 *    so a caller that changes its bytes changes nothing kept; at most 256 entries and 4 MiB of
 *    bodies, since the disk's contents are the host's): a Coordinator verifying hundreds of
 *    attestations a second reads the VCEK, chain and CRL files once per interval, not three files
 *    and their integrity digests per attestation;
 * 1. the disk cache, when the entry is intact and not expired (`validUntil` not passed);
 * 2. the import (bundle) directories, in order (see `bundle.ts` for their layout);
 * 3. the network, unless offline, unless too many lookups are in flight already and unless the
 *    caller's client has spent its budget of uncached lookups (see `lookup_budget.ts`; then it
 *    fails at once) — the response is checked with the caller's `verify` hook and then cached
 *    with the expiry the caller derives (a response failing the hook is not cached; with
 *    `deferCacheWrite` only when the caller calls the resource's `keep`);
 * 4. offline only: an expired cache entry (the caller's freshness check at its own `now` decides
 *    whether it is still usable).
 *
 * @module
 */
import { joinBytes } from "../util/bytes/mod.ts";
import { UnavailableError } from "../util/errors/mod.ts";
import { bundlePath, readFromBundle, writeToBundle } from "./bundle.ts";
import { type CacheEntry, DiskCache } from "./disk_cache.ts";
import { type LookupAllowance, LookupBudgetExceededError } from "./lookup_budget.ts";
import { DEFAULT_MAX_BODY_BYTES } from "./read_limited.ts";
import { backoffDelay, isRetryableStatus, parseRetryAfter } from "./retry.ts";

/**
 * Where a resource came from.
 *
 * @example Tell a cache hit from a network fetch
 * ```ts
 * import type { FetchedResource, ResourceSource } from "./mod.ts";
 *
 * function fromNetwork(resource: FetchedResource): boolean {
 *   const source: ResourceSource = resource.source;
 *   return source === "network";
 * }
 * ```
 */
export type ResourceSource = "network" | "cache" | "import";

/**
 * A fetched resource. Untrusted: verify before use.
 *
 * @example Fetch a certificate and note where it came from
 * ```ts
 * import { CachingFetcher, type FetchedResource } from "./mod.ts";
 *
 * async function fetchArk(fetcher: CachingFetcher): Promise<FetchedResource> {
 *   const resource = await fetcher.get("https://kdsintf.amd.com/vcek/v1/Genoa/cert_chain");
 *   console.log(resource.source, resource.body.length); // untrusted until verified
 *   return resource;
 * }
 * ```
 */
export interface FetchedResource {
  /** The URL asked for. */
  readonly url: string;
  /** The body bytes. */
  readonly body: Uint8Array;
  /** Response headers with lower-case names. */
  readonly headers: Record<string, string>;
  /** When it was fetched from the network (for imports: when it was read). */
  readonly fetchedAt: Date;
  /** Where it came from. */
  readonly source: ResourceSource;
  /**
   * With {@link GetOptions.deferCacheWrite}, for a network response: writes it to the disk cache
   * (call it once the evidence that needed it verified). Never throws; a failed write is recorded
   * in {@link CachingFetcher.cacheWriteErrors}.
   */
  readonly keep?: () => Promise<void>;
}

/**
 * Options of one {@link CachingFetcher.get}.
 *
 * @example Cache a JSON document only until its own nextUpdate
 * ```ts
 * import { CachingFetcher, type GetOptions } from "./mod.ts";
 *
 * const options: GetOptions = {
 *   accept: "application/json",
 *   validUntil: () => new Date(Date.now() + 3_600_000),
 * };
 * async function tcbInfo(fetcher: CachingFetcher, url: string) {
 *   return await fetcher.get(url, options);
 * }
 * ```
 */
export interface GetOptions {
  /**
   * Until when a freshly fetched response may be served from the cache, derived from its content
   * (a CRL's nextUpdate, a PCS JSON `nextUpdate`); undefined keeps it forever (certificates).
   * When it throws, the response is not cached and the error propagates.
   */
  readonly validUntil?: (body: Uint8Array, headers: Record<string, string>) => Date | undefined;
  /**
   * Checks a network response before it is cached (parse, signature and chain to pinned roots).
   * When it throws or rejects, the response is neither cached nor returned and the error
   * propagates, so one bogus response cannot stick in the cache. It runs on network responses
   * only: cache entries passed it when stored, and callers verify whatever they get anyway.
   */
  readonly verify?: (body: Uint8Array, headers: Record<string, string>) => Promise<void>;
  /** The `Accept` header to send. Part of the cache key. */
  readonly accept?: string;
  /**
   * The trust domain the response is verified in: the roots `verify` checks it against (see
   * {@link trustDomainOf}). Part of the cache key and of the merging of concurrent requests, so a
   * response accepted for one set of roots (a simulated authority's) is never what a lookup for
   * another (the vendor's pinned root) gets, even for the same URL.
   */
  readonly trustDomain?: string;
  /**
   * Extra request headers (e.g. an API subscription key). Not part of the cache key and never
   * stored; they must not change what the URL returns.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Do not write a network response to the disk cache now; the returned resource's `keep` does.
   * For items whose URL the evidence chooses (a VCEK per chip and TCB), so forged evidence cannot
   * fill the disk with items that verify but that no genuine evidence was signed with.
   */
  readonly deferCacheWrite?: boolean;
  /**
   * The budget of the client whose evidence chose the URL: a network lookup takes one token
   * first (after the in-flight bound admitted it); when none is left it fails with a
   * {@link LookupBudgetExceededError} and sends nothing. Cache and bundle hits take nothing, nor
   * does a call that joins another's lookup of the same URL (if that one was refused for its own
   * client's budget, this call makes its own lookup).
   */
  readonly allowance?: LookupAllowance;
}

/**
 * Options of a {@link CachingFetcher}.
 *
 * @example A fetcher with a disk cache and few retries
 * ```ts
 * import { CachingFetcher, type CachingFetcherOptions } from "./mod.ts";
 *
 * const options: CachingFetcherOptions = { cacheDir: await Deno.makeTempDir(), retries: 1, timeoutMs: 5000 };
 * const fetcher = new CachingFetcher(options);
 * ```
 */
export interface CachingFetcherOptions {
  /** Directory of the disk cache; without it nothing is cached on disk. */
  readonly cacheDir?: string;
  /** Never touch the network; read only the cache and the import directories. */
  readonly offline?: boolean;
  /** Offline collateral bundle directories, consulted in order before the network. */
  readonly importDirs?: readonly string[];
  /** The fetch function (default: the global `fetch`). */
  readonly fetch?: typeof fetch;
  /** Retries after the first attempt on network errors, 5xx, 408 and 429. Default 4. */
  readonly retries?: number;
  /** First backoff delay in milliseconds; doubles every retry. Default 500. */
  readonly baseDelayMs?: number;
  /** Longest backoff delay. Default 30 000. */
  readonly maxDelayMs?: number;
  /** Longest `Retry-After` honoured; a server asking for more fails the request. Default 120 000. */
  readonly maxRetryAfterMs?: number;
  /** Timeout of one request in milliseconds. Default 30 000. */
  readonly timeoutMs?: number;
  /** Largest body accepted, in bytes. Default 16 MiB. */
  readonly maxBodyBytes?: number;
  /**
   * Most network lookups (distinct URLs, retries included) in flight at once; a lookup beyond it
   * fails at once with an {@link UnavailableError} and sends nothing, so evidence naming
   * uncached collateral cannot make the process flood the vendor service. Default
   * {@link DEFAULT_MAX_CONCURRENT_NETWORK_LOOKUPS}.
   */
  readonly maxConcurrentNetworkLookups?: number;
  /** The `User-Agent` header. */
  readonly userAgent?: string;
  /**
   * How long a disk cache entry, once read, is served from memory (ms; default
   * {@link DEFAULT_MEMORY_TTL_MS}, never past the entry's `validUntil`; 0 reads the disk every
   * time). A file changed or removed on disk is seen after at most this long. At most 256
   * entries and 4 MiB of bodies are kept (the oldest go first; a larger body is not kept).
   */
  readonly memoryTtlMs?: number;
  /** The clock (default: wall clock). */
  readonly clock?: () => Date;
  /** How to wait between retries (default: a timer); injectable for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1) (default: Math.random). */
  readonly random?: () => number;
}

/**
 * Default of {@link CachingFetcherOptions.maxConcurrentNetworkLookups}: at most this many vendor
 * lookups (retries included) run at once; one more fails at once with an `UnavailableError`.
 *
 * @example The default bound
 * ```ts
 * import { DEFAULT_MAX_CONCURRENT_NETWORK_LOOKUPS } from "./mod.ts";
 * console.log(DEFAULT_MAX_CONCURRENT_NETWORK_LOOKUPS); // 16
 * ```
 */
export const DEFAULT_MAX_CONCURRENT_NETWORK_LOOKUPS = 16;

/**
 * Default of {@link CachingFetcherOptions.memoryTtlMs}: a disk cache entry read once is served
 * from memory for this long (ms).
 *
 * @example The default
 * ```ts
 * import { DEFAULT_MEMORY_TTL_MS } from "./mod.ts";
 * console.log(DEFAULT_MEMORY_TTL_MS); // 5000
 * ```
 */
export const DEFAULT_MEMORY_TTL_MS = 5_000;

/** Most entries kept in memory; the oldest goes first. */
const MAX_MEMORY_ENTRIES = 256;

/**
 * Most body bytes kept in memory (the oldest entries go first; a larger body is not kept). Genuine
 * collateral is a few KB an entry; the disk cache's contents are the host's, and a body may have
 * up to the body limit (16 MiB): without this bound, 256 planted entries read once each would be
 * held for the interval (4 GiB).
 */
const MAX_MEMORY_BYTES = 4 * 1024 * 1024;

/** A disk cache entry kept in memory, and until when (ms since the epoch) it may be served. */
interface RememberedEntry {
  readonly entry: CacheEntry;
  readonly until: number;
}

/**
 * The caching collateral client. One instance per process is enough; it holds no secrets.
 *
 * @example Fetch a CRL, cached until its nextUpdate
 * ```ts
 * import { CachingFetcher, CRL_GET_OPTIONS } from "./mod.ts";
 *
 * const fetcher = new CachingFetcher({ cacheDir: await Deno.makeTempDir() });
 * async function arkCrl() {
 *   return await fetcher.get("https://kdsintf.amd.com/vcek/v1/Genoa/crl", CRL_GET_OPTIONS);
 * }
 * ```
 */
export class CachingFetcher {
  readonly #cache?: DiskCache;
  readonly #offline: boolean;
  readonly #importDirs: readonly string[];
  readonly #fetch: typeof fetch;
  readonly #retries: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #timeoutMs: number;
  readonly #maxBodyBytes: number;
  readonly #userAgent: string;
  readonly #clock: () => Date;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #inFlight = new Map<string, Promise<FetchedResource>>();
  readonly #memory = new Map<string, RememberedEntry>();
  #memoryBytes = 0;
  readonly #memoryTtlMs: number;
  #networkRequests = 0;
  readonly #maxNetworkLookups: number;
  #networkLookups = 0;
  readonly #cacheWriteErrors: string[] = [];

  /** A fetcher with the cache, import bundles, offline mode and retries of `options`. */
  constructor(options: CachingFetcherOptions = {}) {
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#cache = options.cacheDir
      ? new DiskCache(options.cacheDir, this.#maxBodyBytes)
      : undefined;
    this.#offline = options.offline ?? false;
    this.#importDirs = options.importDirs ?? [];
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#retries = options.retries ?? 4;
    this.#baseDelayMs = options.baseDelayMs ?? 500;
    this.#maxDelayMs = options.maxDelayMs ?? 30_000;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#userAgent = options.userAgent ?? "contrast-collateral/0.1";
    this.#clock = options.clock ?? (() => new Date());
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
    this.#memoryTtlMs = options.memoryTtlMs ?? DEFAULT_MEMORY_TTL_MS;
    this.#maxNetworkLookups = options.maxConcurrentNetworkLookups ??
      DEFAULT_MAX_CONCURRENT_NETWORK_LOOKUPS;
  }

  /** Whether the fetcher never touches the network. */
  get offline(): boolean {
    return this.#offline;
  }

  /** Number of HTTP requests sent so far (retries included). */
  get networkRequests(): number {
    return this.#networkRequests;
  }

  /** Cache writes that failed (URL and reason); the responses were served all the same. */
  get cacheWriteErrors(): readonly string[] {
    return this.#cacheWriteErrors;
  }

  /**
   * Gets `url` from the cache, an import directory or the network (see the module documentation
   * for the order). Concurrent calls for the same URL share one lookup and one network request.
   *
   * @throws {UnavailableError} naming the URL: 404 or another final status, retries exhausted,
   *   or (offline) not in the cache nor any import directory — the message says where it looked
   */
  get(url: string, options: GetOptions = {}): Promise<FetchedResource> {
    const key = cacheKey(url, options);
    const pending = this.#inFlight.get(key);
    if (pending) {
      // Another client's spent budget is not this caller's: look up on its own behalf then.
      return options.allowance
        ? pending.catch((e) =>
          e instanceof LookupBudgetExceededError ? this.get(url, options) : Promise.reject(e)
        )
        : pending;
    }
    const promise = this.#get(url, key, options).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, promise);
    return promise;
  }

  async #get(url: string, key: string, options: GetOptions): Promise<FetchedResource> {
    const now = this.#clock();
    let stale: CacheEntry | undefined;
    const notes: string[] = [];
    if (this.#cache) {
      const remembered = this.#remembered(key, now);
      if (remembered) return fromEntry(remembered, "cache");
      const read = await this.#cache.read(key);
      if (read.kind === "hit") {
        const entry = read.entry;
        if (entry.validUntil === undefined || now <= entry.validUntil) {
          this.#remember(key, entry, now);
          return fromEntry(entry, "cache");
        }
        stale = entry;
        notes.push(`cache entry expired at ${entry.validUntil.toISOString()}`);
      } else if (read.kind === "corrupt") {
        notes.push(`cache entry was corrupt (${read.reason}) and was removed`);
        await this.#cache.remove(key).catch(() => {});
      }
    }
    for (const dir of this.#importDirs) {
      const found = await readFromBundle(dir, url, this.#maxBodyBytes);
      if (found) {
        return { url, body: found.body, headers: found.headers, fetchedAt: now, source: "import" };
      }
    }
    if (this.#offline) {
      if (stale) return fromEntry(stale, "cache");
      const places = [
        this.#cache ? `cache ${await this.#cache.pathOf(key)}` : "no cache directory",
        ...this.#importDirs.map((d) => `import ${bundlePath(d, url)}`),
      ];
      if (this.#importDirs.length === 0) places.push("no import directory");
      throw new UnavailableError(
        url,
        `offline and not available: looked in ${places.join(", ")}` +
          (notes.length ? ` (${notes.join("; ")})` : ""),
      );
    }
    const fetched = await this.#networkLookup(url, options);
    if (options.verify) await options.verify(fetched.body, fetched.headers);
    const validUntil = options.validUntil?.(fetched.body, fetched.headers);
    const keep = async () => {
      if (this.#cache && (validUntil === undefined || validUntil > this.#clock())) {
        await this.#write(key, fetched, validUntil);
      }
    };
    if (options.deferCacheWrite) return { ...fetched, keep };
    await keep();
    return fetched;
  }

  /**
   * A copy of the entry kept for `key`, while within the memory interval and its `validUntil`;
   * an entry past either is dropped.
   */
  #remembered(key: string, now: Date): CacheEntry | undefined {
    const kept = this.#memory.get(key);
    if (kept === undefined) return undefined;
    const validUntil = kept.entry.validUntil;
    if (now.getTime() > kept.until || (validUntil !== undefined && now > validUntil)) {
      this.#forget(key);
      return undefined;
    }
    return { ...kept.entry, headers: { ...kept.entry.headers }, body: kept.entry.body.slice() };
  }

  /** Keeps a copy of `entry`, read from the disk at `now`, for the memory interval. */
  #remember(key: string, entry: CacheEntry, now: Date): void {
    if (this.#memoryTtlMs <= 0) return;
    this.#forget(key);
    const size = entry.body.length;
    if (size > MAX_MEMORY_BYTES) return;
    while (
      this.#memory.size >= MAX_MEMORY_ENTRIES || this.#memoryBytes + size > MAX_MEMORY_BYTES
    ) {
      this.#forget(this.#memory.keys().next().value!);
    }
    this.#memoryBytes += size;
    this.#memory.set(key, {
      entry: { ...entry, headers: { ...entry.headers }, body: entry.body.slice() },
      until: now.getTime() + this.#memoryTtlMs,
    });
  }

  /** Drops what is kept in memory for `key`, if anything. */
  #forget(key: string): void {
    const kept = this.#memory.get(key);
    if (kept === undefined) return;
    this.#memoryBytes -= kept.entry.body.length;
    this.#memory.delete(key);
  }

  /** The network lookup of `url`, refused without a request when too many are in flight. */
  async #networkLookup(url: string, options: GetOptions): Promise<FetchedResource> {
    if (this.#networkLookups >= this.#maxNetworkLookups) {
      throw new UnavailableError(
        url,
        `not requested: ${this.#networkLookups} vendor requests already in flight ` +
          `(limit ${this.#maxNetworkLookups}); try again later`,
      );
    }
    options.allowance?.take(url);
    this.#networkLookups++;
    try {
      return await this.#fetchWithRetries(url, options.accept, options.headers);
    } finally {
      this.#networkLookups--;
    }
  }

  async #write(key: string, fetched: FetchedResource, validUntil: Date | undefined) {
    try {
      await this.#cache!.write({
        key,
        url: fetched.url,
        fetchedAt: fetched.fetchedAt,
        validUntil,
        headers: fetched.headers,
        body: fetched.body,
      });
    } catch (e) {
      // A cache that cannot be written costs speed, not correctness: serve the response.
      this.#cacheWriteErrors.push(`${fetched.url}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async #fetchWithRetries(
    url: string,
    accept: string | undefined,
    extraHeaders: Readonly<Record<string, string>> | undefined,
  ): Promise<FetchedResource> {
    let lastProblem = "";
    for (let attempt = 0; attempt <= this.#retries; attempt++) {
      let response: Response;
      this.#networkRequests++;
      try {
        const headers: Record<string, string> = { ...extraHeaders, "user-agent": this.#userAgent };
        if (accept) headers.accept = accept;
        response = await this.#fetch(url, {
          headers,
          redirect: "follow",
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (e) {
        lastProblem = `network error: ${e instanceof Error ? e.message : String(e)}`;
        if (attempt < this.#retries) {
          await this.#sleep(
            backoffDelay(attempt, this.#baseDelayMs, this.#maxDelayMs, this.#random),
          );
        }
        continue;
      }
      if (response.ok) {
        const body = await this.#readBody(url, response);
        return {
          url,
          body,
          headers: headerRecord(response.headers),
          fetchedAt: this.#clock(),
          source: "network",
        };
      }
      await response.body?.cancel();
      if (response.status === 404) {
        throw new UnavailableError(url, "not found (HTTP 404)");
      }
      if (!isRetryableStatus(response.status)) {
        throw new UnavailableError(url, `HTTP ${response.status} ${response.statusText}`.trim());
      }
      lastProblem = `HTTP ${response.status}`;
      if (attempt === this.#retries) break;
      let delay = backoffDelay(attempt, this.#baseDelayMs, this.#maxDelayMs, this.#random);
      if (response.status === 429 || response.status === 503) {
        const asked = parseRetryAfter(response.headers.get("retry-after"), this.#clock());
        if (asked !== undefined) {
          if (asked > this.#maxRetryAfterMs) {
            throw new UnavailableError(
              url,
              `HTTP ${response.status}: server asks to retry after ${Math.ceil(asked / 1000)} s, ` +
                `longer than the ${Math.ceil(this.#maxRetryAfterMs / 1000)} s allowed`,
            );
          }
          delay = asked;
        }
      }
      await this.#sleep(delay);
    }
    throw new UnavailableError(
      url,
      `gave up after ${this.#retries + 1} attempts (last: ${lastProblem})`,
    );
  }

  async #readBody(url: string, response: Response): Promise<Uint8Array> {
    const declared = Number(response.headers.get("content-length") ?? "NaN");
    if (declared > this.#maxBodyBytes) {
      await response.body?.cancel();
      throw new UnavailableError(
        url,
        `response of ${declared} bytes exceeds ${this.#maxBodyBytes}`,
      );
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    if (response.body) {
      for await (const chunk of response.body) {
        total += chunk.length;
        if (total > this.#maxBodyBytes) {
          throw new UnavailableError(url, `response exceeds ${this.#maxBodyBytes} bytes`);
        }
        chunks.push(chunk);
      }
    }
    return joinBytes(chunks);
  }

  /**
   * Gets every URL (through the cache and network as usual) and writes it into bundle directory
   * `dir`, so the same verification can later run offline with `importDirs: [dir]`.
   *
   * @returns the bundle paths written, in the order of `urls`
   */
  async exportBundle(dir: string, urls: readonly string[]): Promise<string[]> {
    const paths: string[] = [];
    for (const url of urls) {
      const resource = await this.get(url);
      paths.push(await writeToBundle(dir, url, resource.body, resource.headers));
    }
    return paths;
  }
}

/**
 * The trust domain of responses verified against `roots` (SHA-256 fingerprints): the sorted,
 * lower-case fingerprints, so the same roots always name the same domain.
 *
 * @example Keep a simulated authority's responses apart from the vendor's
 * ```ts
 * import { CachingFetcher, trustDomainOf } from "./mod.ts";
 *
 * const fetcher = new CachingFetcher({ cacheDir: await Deno.makeTempDir() });
 * async function get(url: string, roots: readonly string[]) {
 *   return await fetcher.get(url, { trustDomain: trustDomainOf(roots) });
 * }
 * ```
 */
export function trustDomainOf(roots: readonly string[]): string {
  return `roots=${[...new Set(roots.map((r) => r.toLowerCase()))].sort().join(",")}`;
}

/** The cache key of a request: the URL, then the Accept header and the trust domain if any. */
function cacheKey(url: string, options: Pick<GetOptions, "accept" | "trustDomain">): string {
  let key = url;
  if (options.accept) key += `\naccept: ${options.accept}`;
  if (options.trustDomain) key += `\ntrust: ${options.trustDomain}`;
  return key;
}

function fromEntry(entry: CacheEntry, source: ResourceSource): FetchedResource {
  return {
    url: entry.url,
    body: entry.body,
    headers: entry.headers,
    fetchedAt: entry.fetchedAt,
    source,
  };
}

function headerRecord(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name.toLowerCase()] = value;
  });
  return out;
}
