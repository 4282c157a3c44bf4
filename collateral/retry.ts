/**
 * Retry timing: exponential backoff with jitter, and the HTTP `Retry-After` header (RFC 9110
 * §10.2.3: delay in seconds, or an HTTP date).
 *
 * @module
 */

/**
 * The delay a `Retry-After` value asks for, in milliseconds, or undefined when it is absent or
 * unreadable. A date in the past gives 0.
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (isNaN(date) || !/[a-z]/i.test(text)) return undefined;
  return Math.max(0, date - now.getTime());
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
