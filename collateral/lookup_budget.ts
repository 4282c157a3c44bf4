/**
 * A per-client budget of uncached vendor lookups (AMD KDS requests that evidence chose), so one
 * client sending forged evidence with made-up chip IDs cannot make the process spend its share
 * of the vendor's rate limit. A token bucket per client (the Coordinator uses the source IP
 * address): `burst` lookups at once, refilled at `perMinute`; a lookup answered from the disk
 * cache or a bundle never takes a token, and one whose evidence then verifies gives its token back
 * ({@link LookupAllowance.refund}), so genuine clients are never throttled by their own success.
 * The table holds at most `maxClients` buckets: the one touched longest ago is dropped first (its
 * client starts again with a full bucket, no worse than a new address).
 *
 * @module
 */
import { UnavailableError } from "../util/errors/mod.ts";

/**
 * Refusal of a lookup because its client's budget is spent: nothing was sent. The Coordinator
 * answers it with HTTP 429 and `Retry-After: retryAfterSeconds`.
 *
 * @example Tell a budget refusal from a vendor outage
 * ```ts
 * import { LookupBudgetExceededError } from "./mod.ts";
 *
 * function retryIn(e: unknown): number | undefined {
 *   return e instanceof LookupBudgetExceededError ? e.retryAfterSeconds : undefined;
 * }
 * ```
 */
export class LookupBudgetExceededError extends UnavailableError {
  /** Whole seconds until the client's bucket holds a token again (at least 1). */
  readonly retryAfterSeconds: number;
  /** The client whose budget is spent (its address). */
  readonly client: string;

  /** A refusal of the lookup of `url` for `client`, which may try again in `retryAfterSeconds`. */
  constructor(url: string, client: string, retryAfterSeconds: number, budget: string) {
    super(
      url,
      `not requested: client ${client || "(unknown)"} spent its budget of uncached vendor ` +
        `lookups (${budget}); retry in ${retryAfterSeconds} s`,
    );
    this.client = client;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * Options of a {@link VendorLookupBudget}.
 *
 * @example Two lookups at once, one more every 30 s, for at most 1000 addresses
 * ```ts
 * import { VendorLookupBudget, type VendorLookupBudgetOptions } from "./mod.ts";
 *
 * const options: VendorLookupBudgetOptions = { burst: 2, perMinute: 2, maxClients: 1000 };
 * const budget = new VendorLookupBudget(options);
 * ```
 */
export interface VendorLookupBudgetOptions {
  /** Tokens a client's bucket holds when full (lookups it may make at once). Default 4. */
  readonly burst?: number;
  /** Tokens added to a bucket per minute. Default 6. */
  readonly perMinute?: number;
  /** Most client buckets kept; the one used longest ago goes first. Default 4096. */
  readonly maxClients?: number;
  /** Milliseconds clock (default `Date.now`); injectable for tests. */
  readonly clock?: () => number;
}

/**
 * Defaults of {@link VendorLookupBudgetOptions}.
 *
 * @example The default budget
 * ```ts
 * import { DEFAULT_VENDOR_LOOKUP_BUDGET } from "./mod.ts";
 * console.log(DEFAULT_VENDOR_LOOKUP_BUDGET); // { burst: 4, perMinute: 6, maxClients: 4096 }
 * ```
 */
export const DEFAULT_VENDOR_LOOKUP_BUDGET = {
  burst: 4,
  perMinute: 6,
  maxClients: 4096,
} as const;

/**
 * What one verification may spend of its client's budget: the fetcher calls {@link take} before
 * each network lookup it makes for the verification, and the verifier calls {@link refund} once
 * the evidence verified.
 *
 * @example Charge a lookup, give the token back once the evidence verified
 * ```ts
 * import { VendorLookupBudget } from "./mod.ts";
 *
 * const allowance = new VendorLookupBudget().allowanceFor("10.0.0.7");
 * allowance.take("https://kdsintf.amd.com/vcek/v1/Genoa/…"); // throws once the budget is spent
 * allowance.refund();
 * ```
 */
export interface LookupAllowance {
  /**
   * Takes one token for a network lookup of `url`.
   *
   * @throws {LookupBudgetExceededError} naming `url` when the client has none left
   */
  take(url: string): void;
  /** Gives back every token taken through this allowance (once; later calls do nothing). */
  refund(): void;
}

/** One client's bucket. */
interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, ms. */
  at: number;
}

/**
 * The per-client token buckets; see the module documentation. Not shared between processes.
 *
 * @example Refuse a client's third uncached lookup in a row, serve another client
 * ```ts
 * import { LookupBudgetExceededError, VendorLookupBudget } from "./mod.ts";
 *
 * const budget = new VendorLookupBudget({ burst: 2, perMinute: 1 });
 * const a = budget.allowanceFor("10.0.0.1");
 * a.take("u1");
 * a.take("u2");
 * try {
 *   a.take("u3");
 * } catch (e) {
 *   console.log(e instanceof LookupBudgetExceededError); // true
 * }
 * budget.allowanceFor("10.0.0.2").take("u3"); // another client's own budget
 * ```
 */
export class VendorLookupBudget {
  readonly #burst: number;
  readonly #perMs: number;
  readonly #maxClients: number;
  readonly #clock: () => number;
  /** Insertion order is the order of last use: the first entry is evicted first. */
  readonly #buckets = new Map<string, Bucket>();

  /**
   * A budget with the options' burst, rate and table size.
   *
   * @throws {RangeError} when burst, perMinute or maxClients is not a positive finite number
   */
  constructor(options: VendorLookupBudgetOptions = {}) {
    const burst = options.burst ?? DEFAULT_VENDOR_LOOKUP_BUDGET.burst;
    const perMinute = options.perMinute ?? DEFAULT_VENDOR_LOOKUP_BUDGET.perMinute;
    const maxClients = options.maxClients ?? DEFAULT_VENDOR_LOOKUP_BUDGET.maxClients;
    for (const [name, value] of [["burst", burst], ["perMinute", perMinute]] as const) {
      if (!(Number.isFinite(value) && value > 0)) {
        throw new RangeError(`${name} must be a positive number, got ${value}`);
      }
    }
    if (!(Number.isInteger(maxClients) && maxClients > 0)) {
      throw new RangeError(`maxClients must be a positive integer, got ${maxClients}`);
    }
    this.#burst = burst;
    this.#perMs = perMinute / 60_000;
    this.#maxClients = maxClients;
    this.#clock = options.clock ?? Date.now;
  }

  /** Number of client buckets held (at most `maxClients`). */
  get clients(): number {
    return this.#buckets.size;
  }

  /** Tokens `client` holds now (a client without a bucket holds a full one). */
  tokensOf(client: string): number {
    const bucket = this.#buckets.get(client);
    return bucket ? this.#refill(bucket, this.#clock()) : this.#burst;
  }

  /** The allowance of one verification on behalf of `client` (its source address). */
  allowanceFor(client: string): LookupAllowance {
    let taken = 0;
    return {
      take: (url) => {
        this.#take(client, url);
        taken++;
      },
      refund: () => {
        if (taken > 0) this.#refund(client, taken);
        taken = 0;
      },
    };
  }

  #take(client: string, url: string): void {
    const now = this.#clock();
    const bucket = this.#touch(client, now);
    const tokens = this.#refill(bucket, now);
    if (tokens < 1) {
      const waitMs = (1 - tokens) / this.#perMs;
      throw new LookupBudgetExceededError(
        url,
        client,
        Math.max(1, Math.ceil(waitMs / 1000)),
        `${this.#burst} at once, ${this.#perMs * 60_000} per minute`,
      );
    }
    bucket.tokens = tokens - 1;
  }

  #refund(client: string, n: number): void {
    const bucket = this.#buckets.get(client);
    // An evicted bucket comes back full anyway.
    if (!bucket) return;
    bucket.tokens = Math.min(this.#burst, this.#refill(bucket, this.#clock()) + n);
  }

  /** `client`'s bucket, created full if absent, moved to the end of the eviction order. */
  #touch(client: string, now: number): Bucket {
    let bucket = this.#buckets.get(client);
    if (bucket) {
      this.#buckets.delete(client);
    } else {
      bucket = { tokens: this.#burst, at: now };
      while (this.#buckets.size >= this.#maxClients) {
        this.#buckets.delete(this.#buckets.keys().next().value!);
      }
    }
    this.#buckets.set(client, bucket);
    return bucket;
  }

  /** Brings `bucket` up to `now` and returns its tokens. */
  #refill(bucket: Bucket, now: number): number {
    const elapsed = Math.max(0, now - bucket.at);
    bucket.tokens = Math.min(this.#burst, bucket.tokens + elapsed * this.#perMs);
    bucket.at = Math.max(bucket.at, now);
    return bucket.tokens;
  }
}
