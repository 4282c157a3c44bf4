/**
 * A cache of verified TDX collateral and PCK chains, so that verifying many quotes of the same
 * platforms costs little more than the two ECDSA verifies each quote needs. It is an ordinary
 * object the caller creates and passes in (no global state).
 *
 * Only positive results for exactly the same inputs are remembered: collateral is keyed by the
 * SHA-256 of all its bytes, the pinned anchors and the revocation options; a PCK chain by its exact
 * PEM bytes within that collateral entry. An entry is used only while `now` lies inside the
 * window in which every certificate, CRL and collateral document it rests on is valid; outside
 * it, everything is verified again (and fails if it must).
 *
 * @module
 */

/**
 * A cached value with the window in which it holds.
 *
 * @example A cached value with the window it is valid in
 * ```ts
 * import type { Windowed } from "../mod.ts";
 *
 * const entry: Windowed<string> = {
 *   value: "collateral digest",
 *   validFrom: new Date("2026-11-01T00:00:00Z"),
 *   validUntil: new Date("2026-12-01T00:00:00Z"),
 * };
 * ```
 */
export interface Windowed<T> {
  /** The cached value. */
  readonly value: T;
  /** Start of the window. */
  readonly validFrom: Date;
  /** End of the window (inclusive). */
  readonly validUntil: Date;
}

/**
 * Options of a {@link TdxVerificationCache}.
 *
 * @example A small cache for a short-lived tool
 * ```ts
 * import { TdxVerificationCache, type TdxVerificationCacheOptions } from "../mod.ts";
 *
 * const options: TdxVerificationCacheOptions = { maxCollateral: 4, maxPckChains: 16 };
 * const cache = new TdxVerificationCache(options);
 * ```
 */
export interface TdxVerificationCacheOptions {
  /** Most collateral entries kept (least recently used dropped first). Default 64. */
  readonly maxCollateral?: number;
  /** Most PCK chains kept per collateral entry. Default 1024. */
  readonly maxPckChains?: number;
}

interface CollateralEntry {
  readonly collateral: Windowed<unknown>;
  readonly pck: Map<string, Windowed<unknown>>;
}

function inside(w: Windowed<unknown>, now: Date): boolean {
  return now >= w.validFrom && now <= w.validUntil;
}

function touch<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value as K);
}

/**
 * Remembers verified collateral and PCK chains; see the module documentation for the rules.
 *
 * @example Share verified collateral and PCK chains across many quotes
 * ```ts
 * import { defaultTdxReferenceValues, TdxEvidenceVerifier, TdxVerificationCache } from "../mod.ts";
 *
 * const verifier = new TdxEvidenceVerifier({
 *   referenceValues: defaultTdxReferenceValues(),
 *   verificationCache: new TdxVerificationCache({ maxCollateral: 16 }),
 * });
 * ```
 */
export class TdxVerificationCache {
  readonly #entries = new Map<string, CollateralEntry>();
  readonly #keys = new Map<string, Promise<CryptoKey>>();
  readonly #anchoredPckChains = new Map<string, Windowed<unknown>>();
  readonly #digests = new WeakMap<object, Promise<string>>();
  readonly #maxCollateral: number;
  readonly #maxPckChains: number;
  #hits = 0;
  #misses = 0;

  /** A cache bounded by `options` (default 64 collateral sets, 1024 PCK chains). */
  constructor(options: TdxVerificationCacheOptions = {}) {
    this.#maxCollateral = options.maxCollateral ?? 64;
    this.#maxPckChains = options.maxPckChains ?? 1024;
  }

  /** Cache hits and misses so far (collateral and PCK chains, checked before or with collateral). */
  get stats(): { hits: number; misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  /** The verified collateral for `key` at `now`, computing and storing it on a miss. */
  async collateral<T>(key: string, now: Date, compute: () => Promise<Windowed<T>>): Promise<T> {
    const entry = this.#entries.get(key);
    if (entry && inside(entry.collateral, now)) {
      this.#hits++;
      touch(this.#entries, key, entry, this.#maxCollateral);
      return entry.collateral.value as T;
    }
    this.#misses++;
    const value = await compute();
    touch(this.#entries, key, { collateral: value, pck: new Map() }, this.#maxCollateral);
    return value.value;
  }

  /**
   * The content digest of a collateral object, computed once per object (collateral objects are
   * treated as immutable: build a new one to change it).
   */
  digestOf(collateral: object, compute: () => Promise<string>): Promise<string> {
    let digest = this.#digests.get(collateral);
    if (!digest) {
      digest = compute();
      this.#digests.set(collateral, digest);
    }
    return digest;
  }

  /**
   * The imported attestation key for its raw bytes (`x ‖ y` hex), importing it on a miss. An
   * imported key is only a decoding of public bytes; nothing about it is trusted by caching it.
   */
  attestationKey(hex: string, load: () => Promise<CryptoKey>): Promise<CryptoKey> {
    let key = this.#keys.get(hex);
    if (!key) {
      key = load();
      key.catch(() => this.#keys.delete(hex));
    }
    touch(this.#keys, hex, key, this.#maxPckChains);
    return key;
  }

  /** The verified PCK chain for `pem` under collateral `key` at `now`, computing it on a miss. */
  async pckChain<T>(
    key: string,
    pem: string,
    now: Date,
    compute: () => Promise<Windowed<T>>,
  ): Promise<T> {
    const entry = this.#entries.get(key);
    const hit = entry?.pck.get(pem);
    if (hit && inside(hit, now)) {
      this.#hits++;
      return hit.value as T;
    }
    this.#misses++;
    const value = await compute();
    if (entry) touch(entry.pck, pem, value, this.#maxPckChains);
    return value.value;
  }

  /**
   * A PCK chain verified to its anchors before collateral (no CRLs yet), for `key` (the anchors
   * and the chain's exact PEM) at `now`, computing it on a miss. Kept apart from {@link pckChain}:
   * such an entry only tells which collateral to fetch, never that the chain is unrevoked.
   */
  async anchoredPckChain<T>(
    key: string,
    now: Date,
    compute: () => Promise<Windowed<T>>,
  ): Promise<T> {
    const hit = this.#anchoredPckChains.get(key);
    if (hit && inside(hit, now)) {
      this.#hits++;
      touch(this.#anchoredPckChains, key, hit, this.#maxPckChains);
      return hit.value as T;
    }
    this.#misses++;
    const value = await compute();
    touch(this.#anchoredPckChains, key, value, this.#maxPckChains);
    return value.value;
  }
}
