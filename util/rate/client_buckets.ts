/**
 * Token buckets keyed by client (the Coordinator keys them by source IP address): each client may
 * spend `burst` tokens at once, refilled at `perMinute`; a client without a bucket holds a full
 * one. The table holds at most `maxClients` buckets: the one touched longest ago is dropped first
 * (its client starts again with a full bucket, no worse than a new address). One implementation
 * for every per-client budget (uncached vendor lookups, expensive unauthenticated requests). Not
 * shared between processes.
 *
 * @module
 */
import { UnavailableError } from "../errors/mod.ts";

/**
 * Refusal because a client's budget is spent: nothing was done for it. The Coordinator answers it
 * with HTTP 429 and `Retry-After: retryAfterSeconds`.
 *
 * @example Tell a budget refusal from other errors
 * ```ts
 * import { BudgetExceededError } from "./client_buckets.ts";
 *
 * function retryIn(e: unknown): number | undefined {
 *   return e instanceof BudgetExceededError ? e.retryAfterSeconds : undefined;
 * }
 * ```
 */
export class BudgetExceededError extends UnavailableError {
  /** Whole seconds until the client's bucket holds a token again (at least 1). */
  readonly retryAfterSeconds: number;
  /** The client whose budget is spent (its address). */
  readonly client: string;

  /** A refusal about `field` for `client`, which may try again in `retryAfterSeconds`. */
  constructor(field: string, reason: string, client: string, retryAfterSeconds: number) {
    super(field, reason);
    this.client = client;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Options of {@link ClientBuckets}. */
interface ClientBucketsOptions {
  /** Tokens a client's bucket holds when full (what it may spend at once). */
  readonly burst: number;
  /** Tokens added to a bucket per minute. */
  readonly perMinute: number;
  /** Most client buckets kept; the one used longest ago goes first. */
  readonly maxClients: number;
  /** Milliseconds clock (default `Date.now`); injectable for tests. */
  readonly clock?: () => number;
}

/** One client's bucket. */
interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, ms. */
  at: number;
}

/**
 * The per-client token buckets; see the module documentation.
 *
 * @example Refuse a client's third request in a row, serve another client
 * ```ts
 * import { ClientBuckets } from "./client_buckets.ts";
 *
 * const buckets = new ClientBuckets({ burst: 2, perMinute: 1, maxClients: 100 });
 * buckets.take("10.0.0.1"); // 0: taken
 * buckets.take("10.0.0.1"); // 0
 * console.log(buckets.take("10.0.0.1")); // 60: refused, a token is due in 60 s
 * console.log(buckets.take("10.0.0.2")); // 0: another client's own bucket
 * ```
 */
export class ClientBuckets {
  readonly #burst: number;
  readonly #perMs: number;
  readonly #maxClients: number;
  readonly #clock: () => number;
  /** Insertion order is the order of last use: the first entry is evicted first. */
  readonly #buckets = new Map<string, Bucket>();

  /**
   * Buckets with the options' burst, rate and table size.
   *
   * @throws {RangeError} when burst or perMinute is not a positive finite number, or maxClients
   *   not a positive integer
   */
  constructor(options: ClientBucketsOptions) {
    const { burst, perMinute, maxClients } = options;
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

  /** The budget in words, for refusals: `"<burst> at once, <perMinute> per minute"`. */
  get description(): string {
    return `${this.#burst} at once, ${this.#perMs * 60_000} per minute`;
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

  /**
   * Takes one token of `client`'s: 0 when taken, otherwise (nothing taken) the whole seconds until
   * one is due, at least 1.
   */
  take(client: string): number {
    const now = this.#clock();
    const bucket = this.#touch(client, now);
    const tokens = this.#refill(bucket, now);
    if (tokens < 1) return Math.max(1, Math.ceil((1 - tokens) / this.#perMs / 1000));
    bucket.tokens = tokens - 1;
    return 0;
  }

  /** Gives `n` tokens back to `client` (up to the burst; an evicted bucket comes back full anyway). */
  give(client: string, n: number): void {
    const bucket = this.#buckets.get(client);
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
