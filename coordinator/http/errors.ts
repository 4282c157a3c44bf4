/**
 * The HTTP status codes of the Coordinator API's errors (DESIGN.md; the error kinds are in
 * `protocol/errors.ts`): 400 bad input, 401/403 authentication and authorisation, 409 stale
 * transition, 412 no manifest or recovery needed, 413 body too large, 429 a budget of the client's
 * is spent (uncached vendor lookups, or attestation and manifest requests; with `Retry-After`), 503 unavailable (with a short
 * `Retry-After`, {@link UNAVAILABLE_RETRY_AFTER_SECONDS}). Unexpected errors become a bare 500
 * without details.
 *
 * @module
 */
import {
  ContrastError,
  InvalidDocumentError,
  ParseError,
  UnavailableError,
  ValidationError,
  VerificationError,
} from "../../util/errors/mod.ts";
import {
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  UnauthenticatedError,
} from "../../protocol/errors.ts";
import { BudgetExceededError } from "../../util/rate/client_buckets.ts";
import { HttpFramingError } from "./request_head.ts";

/** JSON body of every error answer. */
interface ErrorBody {
  /** What went wrong, safe to show (never secret material). */
  readonly error: string;
  /** The field or JSON path it is about, when there is one. */
  readonly field?: string;
}

/**
 * The `Retry-After` of the Coordinator's own 503 answers (all vendor lookup slots taken, a port's
 * body or answer budget full, storage unavailable): these pass in about a second, and a client
 * told so waits instead of retrying at once (the initializer and CLI honour it).
 */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

/**
 * The extra headers of an answer with `status` that the error does not set itself: a short
 * `Retry-After` on a 503.
 *
 * @example
 * ```ts
 * import { refusalHeaders } from "./errors.ts";
 * console.log(refusalHeaders(503)); // { "retry-after": "1" }
 * console.log(refusalHeaders(400)); // undefined
 * ```
 */
export function refusalHeaders(status: number): Readonly<Record<string, string>> | undefined {
  return status === 503 ? { "retry-after": String(UNAVAILABLE_RETRY_AFTER_SECONDS) } : undefined;
}

/** Most document problems one error answer lists. */
const MAX_ANSWER_ISSUES = 20;

/** Names of errors raised by other modules that mean "stale transition" (409). */
const CONFLICT_NAMES = new Set(["StaleTransitionError", "ConflictError"]);

/**
 * The status, body and extra headers (`retry-after` for a 429 and a 503) for `error`; the reason of an
 * unexpected error is not disclosed.
 */
export function errorAnswer(
  error: unknown,
): { status: number; body: ErrorBody; headers?: Readonly<Record<string, string>> } {
  const status = statusFor(error);
  if (status === 500 || !(error instanceof ContrastError)) {
    return { status: 500, body: { error: "internal error" } };
  }
  if (error instanceof InvalidDocumentError) {
    return {
      status,
      body: {
        error: [
          ...error.issues.slice(0, MAX_ANSWER_ISSUES).map((i) => `${i.path}: ${i.reason}`),
          ...(error.issues.length > MAX_ANSWER_ISSUES
            ? [`${error.issues.length - MAX_ANSWER_ISSUES} more problems not listed`]
            : []),
        ].join("; "),
        field: error.field || undefined,
      },
    };
  }
  return {
    status,
    body: { error: error.reason, ...(error.field ? { field: error.field } : {}) },
    ...(error instanceof BudgetExceededError
      ? { headers: { "retry-after": String(error.retryAfterSeconds) } }
      : status === 503
      ? { headers: refusalHeaders(status)! }
      : {}),
  };
}

/** The HTTP status of `error`. */
export function statusFor(error: unknown): number {
  if (!(error instanceof ContrastError)) return 500;
  if (CONFLICT_NAMES.has(error.name)) return 409;
  if (error instanceof HttpFramingError) return error.status;
  if (error instanceof ParseError || error instanceof InvalidDocumentError) return 400;
  if (error instanceof UnauthenticatedError) return 401;
  if (error instanceof ForbiddenError) return 403;
  if (error instanceof VerificationError || error instanceof ValidationError) return 403;
  if (error instanceof PreconditionFailedError) return 412;
  if (error instanceof PayloadTooLargeError) return 413;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof BudgetExceededError) return 429;
  if (error instanceof UnavailableError) return 503;
  return 400;
}
