/**
 * A cache of certificate chains and signatures already verified. It is an ordinary object the
 * caller creates and passes in (no global state). Deno's WebCrypto is slow for P-384 and RSA-4096,
 * so remembering what was verified is what makes repeated attestation fast.
 *
 * What is remembered is only ever a *positive* result for *exactly the same inputs*:
 * - a chain, keyed by the SHA-256 of every certificate DER, the pinned anchors, every CRL and the
 *   options that influence the result; it is returned only while `now` lies inside the
 *   intersection of every certificate's validity window and every CRL's [thisUpdate, nextUpdate];
 * - a signature, keyed by the SHA-256 of the signed structure's DER and of the signer's SPKI
 *   (a signature does not depend on time).
 *
 * @module
 */

/**
 * A cached chain verification result with the time window in which it holds.
 *
 * @example Store a result for the window it is valid in
 * ```ts
 * import { type CachedChain, ChainCache } from "./mod.ts";
 *
 * const cache = new ChainCache();
 * const entry: CachedChain<string> = {
 *   value: "verified",
 *   validFrom: new Date("2026-11-01T00:00:00Z"),
 *   validUntil: new Date("2026-12-01T00:00:00Z"),
 * };
 * cache.storeChain("leaf-fingerprint", entry);
 * ```
 */
export interface CachedChain<T> {
  /** The result to hand out again. */
  readonly value: T;
  /** Start of the window in which the result holds. */
  readonly validFrom: Date;
  /** End of the window (inclusive). */
  readonly validUntil: Date;
}

/**
 * Options of a {@link ChainCache}.
 *
 * @example A smaller cache
 * ```ts
 * import { ChainCache, type ChainCacheOptions } from "./mod.ts";
 *
 * const options: ChainCacheOptions = { maxChains: 32, maxSignatures: 256 };
 * const cache = new ChainCache(options);
 * ```
 */
export interface ChainCacheOptions {
  /** Most chains remembered (least recently used are dropped first). Default 1024. */
  readonly maxChains?: number;
  /** Most signatures remembered. Default 4096. */
  readonly maxSignatures?: number;
}

/**
 * Remembers verified chains and signatures; see the module documentation for the rules.
 *
 * @example Share verified chains across verifications
 * ```ts
 * import { ChainCache } from "./mod.ts";
 *
 * const cache = new ChainCache();
 * // pass `cache` to verifyChain (or a verifier's chainCache option), then:
 * console.log(cache.stats.hits, cache.stats.misses);
 * ```
 */
export class ChainCache {
  readonly #chains = new Map<string, CachedChain<unknown>>();
  readonly #signatures = new Map<string, true>();
  readonly #pending = new Map<string, Promise<unknown>>();
  readonly #pendingSignatures = new Map<string, Promise<void>>();
  #keys = new WeakMap<object, { readonly parts: readonly unknown[]; readonly key: string }>();
  readonly #maxChains: number;
  readonly #maxSignatures: number;
  #hits = 0;
  #misses = 0;
  #merged = 0;

  /** A cache bounded by `options` (default 1024 chains, 4096 signatures). */
  constructor(options: ChainCacheOptions = {}) {
    this.#maxChains = options.maxChains ?? 1024;
    this.#maxSignatures = options.maxSignatures ?? 4096;
  }

  /** The cached chain for `key` when `now` is inside its window; otherwise undefined. */
  lookupChain<T>(key: string, now: Date): T | undefined {
    const entry = this.#chains.get(key);
    if (entry === undefined || now < entry.validFrom || now > entry.validUntil) {
      this.#misses++;
      return undefined;
    }
    this.#chains.delete(key);
    this.#chains.set(key, entry);
    this.#hits++;
    return entry.value as T;
  }

  /** Remembers a verified chain for `key`, valid within [validFrom, validUntil]. */
  storeChain<T>(key: string, entry: CachedChain<T>): void {
    this.#chains.delete(key);
    this.#chains.set(key, entry);
    evict(this.#chains, this.#maxChains);
  }

  /** The verification of the chain `key` that is under way, if any. */
  pendingChain(key: string): Promise<unknown> | undefined {
    const pending = this.#pending.get(key);
    if (pending) this.#merged++;
    return pending;
  }

  /** Records `work` as the verification of chain `key` under way until it settles. */
  trackPendingChain(key: string, work: Promise<unknown>): void {
    this.#pending.set(key, work);
    const done = () => {
      if (this.#pending.get(key) === work) this.#pending.delete(key);
    };
    work.then(done, done);
  }

  /** Whether the signature identified by `key` was verified before. */
  hasSignature(key: string): boolean {
    if (!this.#signatures.has(key)) return false;
    this.#signatures.delete(key);
    this.#signatures.set(key, true);
    return true;
  }

  /**
   * Checks the signature identified by `key` with `verify` unless it verified before or is being
   * verified right now (two chains sharing a link, checked at once): then waits for that check and
   * takes its success; its failure is not shared, `verify` runs afresh (its error names this
   * caller's field). True when `verify` ran here. Stores the signature when `verify` succeeds.
   *
   * @throws whatever `verify` throws
   */
  async verifySignatureOnce(key: string, verify: () => Promise<void>): Promise<boolean> {
    if (this.hasSignature(key)) return false;
    const pending = this.#pendingSignatures.get(key);
    if (pending !== undefined && await pending.then(() => true, () => false)) return false;
    const work = verify();
    this.#pendingSignatures.set(key, work);
    try {
      await work;
    } finally {
      if (this.#pendingSignatures.get(key) === work) this.#pendingSignatures.delete(key);
    }
    this.storeSignature(key);
    return true;
  }

  /** Remembers that the signature identified by `key` verified. */
  storeSignature(key: string): void {
    this.#signatures.set(key, true);
    evict(this.#signatures, this.#maxSignatures);
  }

  /**
   * The key `compute` builds from `parts`, remembered for `owner` (e.g. a chain's leaf): given
   * the same parts again (element by element, `===`) it is handed out without building it, the
   * same string each time (whose hash the engine keeps). Nothing is remembered when `compute`
   * gives undefined. The parts must determine the key: immutable objects and primitives.
   */
  memoizedKey(
    owner: object,
    parts: readonly unknown[],
    compute: () => string | undefined,
  ): string | undefined {
    const known = this.#keys.get(owner);
    if (known !== undefined && sameParts(known.parts, parts)) return known.key;
    const key = compute();
    if (key !== undefined) this.#keys.set(owner, { parts, key });
    return key;
  }

  /** Counters for chain lookups, for tests and metrics. */
  get stats(): {
    hits: number;
    misses: number;
    merged: number;
    chains: number;
    signatures: number;
  } {
    return {
      hits: this.#hits,
      misses: this.#misses,
      merged: this.#merged,
      chains: this.#chains.size,
      signatures: this.#signatures.size,
    };
  }

  /** Forgets everything. */
  clear(): void {
    this.#chains.clear();
    this.#signatures.clear();
    this.#pendingSignatures.clear();
    this.#keys = new WeakMap();
  }
}

function sameParts(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function evict(map: Map<string, unknown>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next().value;
    if (oldest === undefined) return;
    map.delete(oldest);
  }
}
