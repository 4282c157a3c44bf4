/**
 * A per-client budget of the requests that cost the Coordinator work before anyone is
 * authenticated: every `/attest` generates a fresh evidence report (hardware report generation in
 * a real TEE) and signs it, every `/mesh/certificate` verifies the evidence it carries, and every
 * `/manifest` or `/recover` checks owner signatures (~1.9 ms each, ~10 ms with owner key digests)
 * before a stranger's request is refused. A token bucket per client address
 * (`util/rate/client_buckets.ts`, the one the vendor lookup budget uses), charged before the body
 * is read; beyond it the request is answered 429 with `Retry-After`.
 *
 * The defaults are meant never to be reached by a deployment: a pod's initializer makes one
 * `/attest` and one `/mesh/certificate` when it starts (a few more when it retries), `contrast set`
 * one `/attest` and one `/manifest`, `contrast verify` one `/attest`. Pods normally have addresses
 * of their own; where they share one (`hostNetwork` pods, a source-NATing network in front of the
 * Coordinator), a node's 110 pods (Kubernetes' default most per node) all starting at once take 220
 * tokens of the burst of 256, and the refill of 600 a minute lets 300 more pods a minute start
 * from that address. What it bounds is one address's share: without it, one client looping on
 * `/attest` made the Coordinator generate and sign reports as fast as its CPU allowed.
 *
 * @module
 */
import { BudgetExceededError, ClientBuckets } from "../../util/rate/client_buckets.ts";

/**
 * Refusal of a request because its client's budget of expensive requests is spent: nothing was
 * read or computed for it. Answered 429 with `Retry-After: retryAfterSeconds`.
 *
 * @example When to retry
 * ```ts
 * import { RequestBudgetExceededError } from "./request_budget.ts";
 *
 * const e = new RequestBudgetExceededError("/attest", "10.0.0.66", 2, "256 at once, 600 per minute");
 * console.log(e.retryAfterSeconds, e.reason);
 * ```
 */
export class RequestBudgetExceededError extends BudgetExceededError {
  /** A refusal of `path` for `client`, which may try again in `retryAfterSeconds`. */
  constructor(path: string, client: string, retryAfterSeconds: number, budget: string) {
    super(
      path,
      `not served: client ${client || "(unknown)"} spent its budget of attestation and ` +
        `manifest requests (${budget}); retry in ${retryAfterSeconds} s`,
      client,
      retryAfterSeconds,
    );
  }
}

/**
 * Options of a {@link RequestBudget}.
 *
 * @example A small budget for a test
 * ```ts
 * import { RequestBudget, type RequestBudgetOptions } from "./request_budget.ts";
 *
 * const options: RequestBudgetOptions = { burst: 2, perMinute: 60, maxClients: 16 };
 * const budget = new RequestBudget(options);
 * ```
 */
export interface RequestBudgetOptions {
  /** Requests a client may make at once. Default 256. */
  readonly burst?: number;
  /** Requests a client's budget regains per minute. Default 600. */
  readonly perMinute?: number;
  /** Most client buckets kept; the one used longest ago goes first. Default 4096. */
  readonly maxClients?: number;
  /** Milliseconds clock (default `Date.now`); injectable for tests. */
  readonly clock?: () => number;
}

/**
 * Defaults of {@link RequestBudgetOptions} (the reasoning is in the module documentation).
 *
 * @example The default budget
 * ```ts
 * import { DEFAULT_REQUEST_BUDGET } from "./request_budget.ts";
 * console.log(DEFAULT_REQUEST_BUDGET); // { burst: 256, perMinute: 600, maxClients: 4096 }
 * ```
 */
export const DEFAULT_REQUEST_BUDGET = {
  burst: 256,
  perMinute: 600,
  maxClients: 4096,
} as const;

/**
 * The per-client budget of expensive requests; see the module documentation. One per Coordinator
 * process, shared by its user and mesh ports.
 *
 * @example Refuse a client's third request while another client is served
 * ```ts
 * import { RequestBudget, RequestBudgetExceededError } from "./request_budget.ts";
 *
 * const budget = new RequestBudget({ burst: 2, perMinute: 1 });
 * budget.charge("10.0.0.1", "/attest");
 * budget.charge("10.0.0.1", "/attest");
 * try {
 *   budget.charge("10.0.0.1", "/attest");
 * } catch (e) {
 *   console.log(e instanceof RequestBudgetExceededError); // true
 * }
 * budget.charge("10.0.0.2", "/attest");
 * ```
 */
export class RequestBudget {
  readonly #buckets: ClientBuckets;

  /**
   * A budget with the options' burst, rate and table size.
   *
   * @throws {RangeError} when burst, perMinute or maxClients is not a positive number
   */
  constructor(options: RequestBudgetOptions = {}) {
    this.#buckets = new ClientBuckets({
      burst: options.burst ?? DEFAULT_REQUEST_BUDGET.burst,
      perMinute: options.perMinute ?? DEFAULT_REQUEST_BUDGET.perMinute,
      maxClients: options.maxClients ?? DEFAULT_REQUEST_BUDGET.maxClients,
      ...(options.clock ? { clock: options.clock } : {}),
    });
  }

  /** Number of client buckets held (at most `maxClients`). */
  get clients(): number {
    return this.#buckets.clients;
  }

  /**
   * Charges one request to `path` to `client` (its source address).
   *
   * @throws {RequestBudgetExceededError} naming `path` when the client has no token left
   */
  charge(client: string, path: string): void {
    const retryAfter = this.#buckets.take(client);
    if (retryAfter > 0) {
      throw new RequestBudgetExceededError(path, client, retryAfter, this.#buckets.description);
    }
  }
}
