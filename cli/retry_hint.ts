/**
 * What the CLI adds to the error line when the Coordinator is busy: a 429 (this client's budget
 * of uncached vendor lookups is spent) or a 503 (its vendor lookups at once, or its body budget,
 * are all taken) is worth retrying, and the answer's `Retry-After` says when. Built from the
 * typed error (`CoordinatorUnavailableError.status`, `.retryAfter`), never from its text.
 *
 * @module
 */
import { CoordinatorUnavailableError } from "../atls/coordinator_answers.ts";
import { describeRetryAfter, retryAfterWaitMs } from "../util/http/retry_after.ts";

/** The statuses that mean "busy, try again". */
const BUSY_STATUSES: Readonly<Record<number, string>> = {
  429: "429 Too Many Requests",
  503: "503 Service Unavailable",
};

/** The busy answer `error` is, with its `Retry-After`, or undefined for any other error. */
function busyAnswer(error: unknown): CoordinatorUnavailableError | undefined {
  return error instanceof CoordinatorUnavailableError && error.status in BUSY_STATUSES
    ? error
    : undefined;
}

/**
 * The hint appended to the error line of `error` (`; the Coordinator is busy (429 Too Many
 * Requests): retry in 10 s (its Retry-After)`), or "" when `error` is no busy answer.
 */
export function retryHint(error: unknown): string {
  const busy = busyAnswer(error);
  if (busy === undefined) return "";
  const when = busy.retryAfter === undefined
    ? "retry later (it sent no readable Retry-After)"
    : `retry ${describeRetryAfter(busy.retryAfter)} (its Retry-After)`;
  return `; the Coordinator is busy (${BUSY_STATUSES[busy.status]}): ${when}`;
}

/**
 * What `--json` adds to the error of a busy answer: the status and the seconds `Retry-After`
 * asks to wait from `nowMs` (whole seconds, rounded up; 0 for a date passed), when readable.
 */
export function retryJson(
  error: unknown,
  nowMs: number,
): { readonly status?: number; readonly retryAfterSeconds?: number } {
  const busy = busyAnswer(error);
  if (busy === undefined) return {};
  if (busy.retryAfter === undefined) return { status: busy.status };
  const ms = retryAfterWaitMs(busy.retryAfter, nowMs, Number.MAX_SAFE_INTEGER);
  return { status: busy.status, retryAfterSeconds: Math.ceil(ms / 1000) };
}
