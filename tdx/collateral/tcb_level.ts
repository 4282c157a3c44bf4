/**
 * Shared reading of a TCB level entry (`{tcb, tcbDate, tcbStatus, advisoryIDs}`) in Intel
 * collateral JSON.
 *
 * @module
 */
import type { ObjectReader } from "../../util/json/mod.ts";
import { childPath } from "../../util/json/mod.ts";
import { type CollateralTcbStatus, isCollateralTcbStatus } from "./tcb_status.ts";

/**
 * Common fields of a TCB level.
 *
 * @example Anything with a TCB date and status
 * ```ts
 * import type { TcbLevelCommon } from "../mod.ts";
 *
 * function describe(level: TcbLevelCommon): string {
 *   return `${level.tcbDate} ${level.tcbStatus} ${level.advisoryIds.join(",")}`;
 * }
 * ```
 */
export interface TcbLevelCommon {
  /** Date of the TCB level (ISO 8601). */
  readonly tcbDate: string;
  /** Status of the level. */
  readonly tcbStatus: CollateralTcbStatus;
  /** Intel security advisories that apply to platforms at this level. */
  readonly advisoryIds: readonly string[];
}

/** Reads `tcbDate`, `tcbStatus` and `advisoryIDs` of a TCB level. */
export function readTcbLevelCommon(r: ObjectReader): TcbLevelCommon | undefined {
  const tcbDate = readDate(r, "tcbDate");
  const status = r.string("tcbStatus");
  if (status !== undefined && !isCollateralTcbStatus(status)) {
    r.issues.add(childPath(r.path, "tcbStatus"), `unknown TCB status ${JSON.stringify(status)}`);
  }
  const advisoryIds = r.array("advisoryIDs", (v, p) => {
    if (typeof v !== "string") {
      r.issues.add(p, "expected a string");
      return undefined;
    }
    return v;
  }, false) ?? [];
  if (tcbDate === undefined || status === undefined || !isCollateralTcbStatus(status)) {
    return undefined;
  }
  return { tcbDate, tcbStatus: status, advisoryIds };
}

/** Reads an RFC 3339 date string field; records a problem when it does not parse. */
export function readDate(r: ObjectReader, key: string): string | undefined {
  const s = r.string(key);
  if (s === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(s) || Number.isNaN(Date.parse(s))) {
    r.issues.add(childPath(r.path, key), `not an RFC 3339 UTC date: ${JSON.stringify(s)}`);
    return undefined;
  }
  return s;
}
