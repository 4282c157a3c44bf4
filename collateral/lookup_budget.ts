/**
 * A per-client budget of uncached vendor lookups (AMD KDS requests that evidence chose), so one
 * client sending forged evidence with made-up chip IDs cannot make the process spend its share
 * of the vendor's rate limit. A token bucket per client (the Coordinator uses the source IP
 * address): `burst` lookups at once, refilled at `perMinute`; a lookup answered from the disk
 * cache or a bundle never takes a token, and one whose evidence then verifies gives its token back
 * ({@link LookupAllowance.refund}), so genuine clients are never throttled by their own success.
 * The table holds at most `maxClients` buckets: the one touched longest ago is dropped first (its
 * client starts again with a full bucket, no worse than a new address); the buckets are
 * `util/rate/client_buckets.ts`'s.
 *
 * @module
 */
import { BudgetExceededError, ClientBuckets } from "../util/rate/client_buckets.ts";

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
export class LookupBudgetExceededError extends BudgetExceededError {
  /** A refusal of the lookup of `url` for `client`, which may try again in `retryAfterSeconds`. */
  constructor(url: string, client: string, retryAfterSeconds: number, budget: string) {
    super(
      url,
      `not requested: client ${client || "(unknown)"} spent its budget of uncached vendor ` +
        `lookups (${budget}); retry in ${retryAfterSeconds} s`,
      client,
      retryAfterSeconds,
    );
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
  readonly #buckets: ClientBuckets;

  /**
   * A budget with the options' burst, rate and table size.
   *
   * @throws {RangeError} when burst, perMinute or maxClients is not a positive finite number
   */
  constructor(options: VendorLookupBudgetOptions = {}) {
    this.#buckets = new ClientBuckets({
      burst: options.burst ?? DEFAULT_VENDOR_LOOKUP_BUDGET.burst,
      perMinute: options.perMinute ?? DEFAULT_VENDOR_LOOKUP_BUDGET.perMinute,
      maxClients: options.maxClients ?? DEFAULT_VENDOR_LOOKUP_BUDGET.maxClients,
      ...(options.clock ? { clock: options.clock } : {}),
    });
  }

  /** Number of client buckets held (at most `maxClients`). */
  get clients(): number {
    return this.#buckets.clients;
  }

  /** Tokens `client` holds now (a client without a bucket holds a full one). */
  tokensOf(client: string): number {
    return this.#buckets.tokensOf(client);
  }

  /** The allowance of one verification on behalf of `client` (its source address). */
  allowanceFor(client: string): LookupAllowance {
    let taken = 0;
    return {
      take: (url) => {
        const retryAfter = this.#buckets.take(client);
        if (retryAfter > 0) {
          throw new LookupBudgetExceededError(
            url,
            client,
            retryAfter,
            this.#buckets.description,
          );
        }
        taken++;
      },
      refund: () => {
        if (taken > 0) this.#buckets.give(client, taken);
        taken = 0;
      },
    };
  }
}
