/**
 * The typed errors for the Coordinator's error answers (its HTTP status kept), apart from the
 * HTTPS client that makes them (`pinned_client.ts`): a reader that only tells them apart (the
 * CLI's error line, `cli/retry_hint.ts`, loaded by every command) does not load the client's TLS
 * and X.509 modules (about a tenth of a 1,000-pod `contrast generate`'s CPU time).
 *
 * @example
 * ```ts
 * import { CoordinatorUnavailableError } from "./coordinator_answers.ts";
 * const busy = new CoordinatorUnavailableError(503, "coordinator", "busy");
 * console.assert(busy.status === 503 && busy.retryAfter === undefined);
 * ```
 *
 * @module
 */
import { ParseError, UnavailableError, VerificationError } from "../util/errors/mod.ts";
import type { RetryAfter } from "../util/http/retry_after.ts";

/** The Coordinator answered with an error status; `status` is the HTTP status. */
export interface CoordinatorAnswer {
  /** HTTP status code. */
  readonly status: number;
}

/** The Coordinator refused the request as malformed (400). */
export class CoordinatorBadRequestError extends ParseError implements CoordinatorAnswer {
  /** HTTP status code. */
  readonly status: number;
  constructor(status: number, field: string, reason: string) {
    super(field, reason);
    this.status = status;
  }
}

/** The Coordinator refused the request (401, 403, 409, …). */
export class CoordinatorRejectedError extends VerificationError implements CoordinatorAnswer {
  /** HTTP status code. */
  readonly status: number;
  constructor(status: number, field: string, reason: string) {
    super(field, reason);
    this.status = status;
  }
}

/**
 * The Coordinator cannot serve the request now: 412 (no manifest / recovery), 429 (this client's
 * budget of uncached vendor lookups is spent), 5xx (e.g. 503: its vendor lookups at once are all
 * taken). Retrying later may succeed; `retryAfter` is the answer's `Retry-After` header when it
 * had a readable one (an unreadable one is dropped).
 */
export class CoordinatorUnavailableError extends UnavailableError implements CoordinatorAnswer {
  /** HTTP status code. */
  readonly status: number;
  /** The answer's `Retry-After`, parsed; undefined when absent or unreadable. */
  readonly retryAfter?: RetryAfter;
  constructor(status: number, field: string, reason: string, retryAfter?: RetryAfter) {
    super(field, reason);
    this.status = status;
    if (retryAfter !== undefined) this.retryAfter = retryAfter;
  }
}
