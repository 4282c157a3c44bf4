/**
 * Times given on the command line (`--now`): RFC 3339 date-times with seconds and a zone.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";

/**
 * Parses an RFC 3339 time for `--now`.
 *
 * @throws {ParseError} naming `--now`
 */
export function parseRfc3339(value: string, flag = "--now"): Date {
  if (!/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(value)) {
    throw new ParseError(flag, `not an RFC 3339 time: ${value}`);
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new ParseError(flag, `not a valid time: ${value}`);
  return date;
}
