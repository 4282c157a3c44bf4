/**
 * The HTTP `Retry-After` header (RFC 9110 §10.2.3): `delay-seconds` (digits) or an `HTTP-date`
 * in any of the three forms a recipient must accept (§5.6.7: IMF-fixdate, the obsolete RFC 850
 * form, asctime). Parsed at the edge into a typed {@link RetryAfter}; turning it into a wait is a
 * separate pure step ({@link retryAfterWaitMs}) that takes the caller's clock and clamp, so a
 * hostile or broken server cannot make a client sleep beyond what the client allows.
 *
 * @module
 */

/**
 * A readable `Retry-After`: a delay in whole seconds, or a point in time (ms since the epoch).
 *
 * @example A delay and a date
 * ```ts
 * import type { RetryAfter } from "./retry_after.ts";
 *
 * const inTen: RetryAfter = { kind: "seconds", seconds: 10 };
 * const at: RetryAfter = { kind: "date", epochMs: Date.UTC(2026, 0, 1) };
 * ```
 */
export type RetryAfter =
  | { readonly kind: "seconds"; readonly seconds: number }
  | { readonly kind: "date"; readonly epochMs: number };

const DAY = "(Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const LONG_DAY = "(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTH = `(${MONTHS.join("|")})`;
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})";
/** `Sun, 06 Nov 1994 08:49:37 GMT` */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
/** `Sunday, 06-Nov-94 08:49:37 GMT` */
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
/** `Sun Nov  6 08:49:37 1994` (day padded with a space) */
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/** Epoch ms of the calendar fields, or undefined when they name no real instant (31 Feb, 25:00). */
function utc(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
): number | undefined {
  // 60 is a leap second (IMF-fixdate allows it); it is read as the next second.
  if (hour > 23 || minute > 59 || second > 60 || day < 1) return undefined;
  const ms = Date.UTC(year, month, day, hour, minute, Math.min(second, 59));
  const date = new Date(ms);
  if (date.getUTCDate() !== day || date.getUTCMonth() !== month) return undefined;
  return ms + (second === 60 ? 1000 : 0);
}

/**
 * The year of a two-digit RFC 850 year: RFC 9110 §5.6.7 reads one that would be more than 50
 * years in the future as the most recent past year with those digits.
 */
function rfc850Year(twoDigits: number, nowMs: number): number {
  const current = new Date(nowMs).getUTCFullYear();
  let year = Math.floor(current / 100) * 100 + twoDigits;
  if (year > current + 50) year -= 100;
  return year;
}

/** Epoch ms of an `HTTP-date` in any of its three forms, or undefined. */
function parseHttpDate(text: string, nowMs: number): number | undefined {
  let m = IMF_FIXDATE.exec(text);
  if (m) {
    return utc(Number(m[4]), MONTHS.indexOf(m[3]!), Number(m[2]), +m[5]!, +m[6]!, +m[7]!);
  }
  m = RFC850_DATE.exec(text);
  if (m) {
    const year = rfc850Year(Number(m[4]), nowMs);
    return utc(year, MONTHS.indexOf(m[3]!), Number(m[2]), +m[5]!, +m[6]!, +m[7]!);
  }
  m = ASCTIME_DATE.exec(text);
  if (m) {
    return utc(Number(m[7]), MONTHS.indexOf(m[2]!), Number(m[3]!.trim()), +m[4]!, +m[5]!, +m[6]!);
  }
  return undefined;
}

/**
 * A `Retry-After` header value parsed, or undefined when it is absent or not of the RFC's
 * syntax (then it is ignored: negative or fractional numbers, units, dates in other formats,
 * impossible dates). `nowMs` only places a two-digit RFC 850 year.
 *
 * @example Both forms
 * ```ts
 * import { parseRetryAfter } from "./retry_after.ts";
 *
 * parseRetryAfter("120", Date.now()); // { kind: "seconds", seconds: 120 }
 * parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", Date.now()); // { kind: "date", epochMs: … }
 * parseRetryAfter("soon", Date.now()); // undefined
 * ```
 */
export function parseRetryAfter(
  value: string | null | undefined,
  nowMs: number,
): RetryAfter | undefined {
  if (value === null || value === undefined) return undefined;
  // Optional whitespace around a field value is not part of it (RFC 9110 §5.5).
  const text = value.replace(/^[ \t]+|[ \t]+$/g, "");
  if (/^\d+$/.test(text)) {
    // Digits beyond what a double holds exactly are still "very long" (the caller clamps).
    return { kind: "seconds", seconds: Math.min(Number(text), Number.MAX_SAFE_INTEGER) };
  }
  const epochMs = parseHttpDate(text, nowMs);
  return epochMs === undefined ? undefined : { kind: "date", epochMs };
}

/**
 * How long `retryAfter` asks to wait at `nowMs`, ms, clamped to `[0, maxMs]`: a date in the
 * past gives 0, anything beyond `maxMs` (a delay of days, a date years ahead) gives `maxMs`.
 *
 * @example Clamp a server's request to one minute
 * ```ts
 * import { parseRetryAfter, retryAfterWaitMs } from "./retry_after.ts";
 *
 * const now = Date.now();
 * retryAfterWaitMs(parseRetryAfter("10", now)!, now, 60_000); // 10 000
 * retryAfterWaitMs(parseRetryAfter("999999", now)!, now, 60_000); // 60 000
 * ```
 */
export function retryAfterWaitMs(retryAfter: RetryAfter, nowMs: number, maxMs: number): number {
  const asked = retryAfter.kind === "seconds"
    ? retryAfter.seconds * 1000
    : retryAfter.epochMs - nowMs;
  return Math.min(maxMs, Math.max(0, asked));
}

/**
 * `retryAfter` for people: `in 10 s` or `after 2026-01-01T00:00:00.000Z`.
 *
 * @example In a message
 * ```ts
 * import { describeRetryAfter } from "./retry_after.ts";
 *
 * console.log(`retry ${describeRetryAfter({ kind: "seconds", seconds: 10 })}`); // retry in 10 s
 * ```
 */
export function describeRetryAfter(retryAfter: RetryAfter): string {
  return retryAfter.kind === "seconds"
    ? `in ${retryAfter.seconds} s`
    : `after ${new Date(retryAfter.epochMs).toISOString()}`;
}
