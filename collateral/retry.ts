/**
 * Retry timing: exponential backoff with jitter, and the HTTP `Retry-After` header (RFC 9110
 * §10.2.3: delay in seconds, or an HTTP date).
 *
 * @module
 */
import {
  parseRetryAfter as parseRetryAfterHeader,
  retryAfterWaitMs,
} from "../util/http/retry_after.ts";

/**
 * The delay a `Retry-After` value asks for, in milliseconds, or undefined when it is absent or
 * unreadable. A date in the past gives 0. Read by the strict RFC 9110 parser of
 * `util/http/retry_after.ts` (delay-seconds or an HTTP-date in one of its three forms).
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  const parsed = parseRetryAfterHeader(value, now.getTime());
  return parsed === undefined
    ? undefined
    : retryAfterWaitMs(parsed, now.getTime(), Number.POSITIVE_INFINITY);
}

/**
 * Backoff before retry number `attempt` (0 for the first retry): `base · 2^attempt`, capped at
 * `max`, scaled by a jitter factor in [0.5, 1) drawn from `random`.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(exp * (0.5 + random() / 2));
}

/** Whether an HTTP status is worth retrying (rate limiting and server errors). */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status <= 599);
}
