/**
 * Errors of the Coordinator's API and their HTTP status codes (DESIGN.md): 400 bad input,
 * 401/403 authentication and authorisation, 409 stale transition, 412 no manifest or recovery
 * needed, 413 body too large. Unexpected errors become a bare 500 without details.
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

/** The request is not authenticated (no or a bad signature). Status 401. */
export class UnauthenticatedError extends ContrastError {}

/** The request is authenticated but not allowed. Status 403. */
export class ForbiddenError extends ContrastError {}

/** The request was based on a state that is no longer current. Status 409. */
export class ConflictError extends ContrastError {}

/** The Coordinator cannot serve this yet: no manifest, or recovery needed. Status 412. */
export class PreconditionFailedError extends ContrastError {}

/** The request body exceeds the limit. Status 413. */
export class PayloadTooLargeError extends ContrastError {}

/** No route for the method and path. Status 404. */
export class NotFoundError extends ContrastError {}

/** JSON body of every error answer. */
export interface ErrorBody {
  /** What went wrong, safe to show (never secret material). */
  readonly error: string;
  /** The field or JSON path it is about, when there is one. */
  readonly field?: string;
}

/** Names of errors raised by other modules that mean "stale transition" (409). */
const CONFLICT_NAMES = new Set(["StaleTransitionError", "ConflictError"]);

/** The status and body for `error`; the reason of an unexpected error is not disclosed. */
export function errorAnswer(error: unknown): { status: number; body: ErrorBody } {
  const status = statusFor(error);
  if (status === 500 || !(error instanceof ContrastError)) {
    return { status: 500, body: { error: "internal error" } };
  }
  if (error instanceof InvalidDocumentError) {
    return {
      status,
      body: {
        error: error.issues.map((i) => `${i.path}: ${i.reason}`).join("; "),
        field: error.field || undefined,
      },
    };
  }
  return { status, body: { error: error.reason, ...(error.field ? { field: error.field } : {}) } };
}

/** The HTTP status of `error`. */
export function statusFor(error: unknown): number {
  if (!(error instanceof ContrastError)) return 500;
  if (CONFLICT_NAMES.has(error.name)) return 409;
  if (error instanceof ParseError || error instanceof InvalidDocumentError) return 400;
  if (error instanceof UnauthenticatedError) return 401;
  if (error instanceof ForbiddenError) return 403;
  if (error instanceof VerificationError || error instanceof ValidationError) return 403;
  if (error instanceof PreconditionFailedError) return 412;
  if (error instanceof PayloadTooLargeError) return 413;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof UnavailableError) return 503;
  return 400;
}
