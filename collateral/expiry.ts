/**
 * Expiry of cached collateral, derived from its content, for {@link GetOptions.validUntil}:
 * a CRL until its `nextUpdate`, Intel PCS JSON (TCB info, QE identity) until its `nextUpdate`.
 * These only decide how long the cache keeps an entry; verification checks freshness itself.
 * Each throws when the body is not what it should be, so garbage (an error page from a proxy)
 * is never cached.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";
import { parseCrl } from "../x509/crl.ts";
import type { GetOptions } from "./caching_fetcher.ts";

/**
 * The `nextUpdate` of a CRL body (DER or PEM).
 *
 * @throws {ParseError} when the body is not a CRL or has no nextUpdate
 */
export function crlNextUpdate(body: Uint8Array): Date {
  const crl = parseCrl(body, "crl");
  if (!crl.nextUpdate) throw new ParseError("crl.nextUpdate", "CRL has no nextUpdate");
  return crl.nextUpdate;
}

/**
 * The `nextUpdate` of an Intel PCS JSON response (`{"tcbInfo": {…}}` or
 * `{"enclaveIdentity": {…}}`).
 *
 * @throws {ParseError} when the body is not such JSON or the date is missing or invalid
 */
export function pcsJsonNextUpdate(body: Uint8Array): Date {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch (e) {
    throw new ParseError("pcsJson", "not JSON", { cause: e });
  }
  const root = value as Record<string, unknown> | null;
  const inner = root?.tcbInfo ?? root?.enclaveIdentity;
  const field = root?.tcbInfo !== undefined ? "tcbInfo.nextUpdate" : "enclaveIdentity.nextUpdate";
  if (typeof inner !== "object" || inner === null) {
    throw new ParseError("pcsJson", "neither tcbInfo nor enclaveIdentity");
  }
  const next = (inner as Record<string, unknown>).nextUpdate;
  const date = typeof next === "string" ? new Date(next) : undefined;
  if (!date || isNaN(date.getTime())) throw new ParseError(field, "missing or not a date");
  return date;
}

/**
 * {@link GetOptions} for a CRL.
 *
 * @example Keep a CRL no longer than its nextUpdate
 * ```ts
 * import { CachingFetcher, CRL_GET_OPTIONS } from "./mod.ts";
 *
 * async function crl(fetcher: CachingFetcher, url: string): Promise<Uint8Array> {
 *   return (await fetcher.get(url, CRL_GET_OPTIONS)).body;
 * }
 * ```
 */
export const CRL_GET_OPTIONS: GetOptions = { validUntil: crlNextUpdate };

/**
 * {@link GetOptions} for Intel PCS TCB info and QE identity.
 *
 * @example Keep Intel TCB info no longer than its nextUpdate
 * ```ts
 * import { CachingFetcher, PCS_JSON_GET_OPTIONS } from "./mod.ts";
 *
 * async function tcbInfo(fetcher: CachingFetcher, fmspc: string): Promise<Uint8Array> {
 *   const url = `https://api.trustedservices.intel.com/tdx/certification/v4/tcb?fmspc=${fmspc}`;
 *   return (await fetcher.get(url, PCS_JSON_GET_OPTIONS)).body;
 * }
 * ```
 */
export const PCS_JSON_GET_OPTIONS: GetOptions = { validUntil: pcsJsonNextUpdate };
