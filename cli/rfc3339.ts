/**
 * Times given on the command line (`--now`): RFC 3339 date-times with seconds and a zone.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/**
 * Parses an RFC 3339 time for `--now`. Every field must be in range for its calendar date
 * (JavaScript's `Date` would roll `2025-02-30` over to March 2 and take `24:00:00`); a leap
 * second (`:60`) cannot be represented and is refused too.
 *
 * @throws {ParseError} naming `--now`
 */
export function parseRfc3339(value: string, flag = "--now"): Date {
  const m = RFC3339.exec(value);
  if (!m) throw new ParseError(flag, `not an RFC 3339 time: ${value}`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const offsetHour = m[8] === undefined ? 0 : Number(m[8]);
  const offsetMinute = m[9] === undefined ? 0 : Number(m[9]);
  if (
    month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 ||
    second > 59 || offsetHour > 23 || offsetMinute > 59
  ) {
    throw new ParseError(flag, `not a valid time: ${value}`);
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new ParseError(flag, `not a valid time: ${value}`);
  return date;
}
