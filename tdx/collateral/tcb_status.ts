/**
 * TCB statuses as Intel's collateral and quote verification library name them.
 *
 * @module
 */

/**
 * A TCB level status from Intel collateral.
 *
 * @example Statuses a TCB level in Intel's collateral may carry
 * ```ts
 * import type { CollateralTcbStatus } from "../mod.ts";
 *
 * const acceptable: readonly CollateralTcbStatus[] = ["UpToDate", "SWHardeningNeeded"];
 * ```
 */
export type CollateralTcbStatus =
  | "UpToDate"
  | "SWHardeningNeeded"
  | "ConfigurationNeeded"
  | "ConfigurationAndSWHardeningNeeded"
  | "OutOfDate"
  | "OutOfDateConfigurationNeeded"
  | "Revoked";

/**
 * The outcome of TCB evaluation: a collateral status, or no level matched the platform.
 *
 * @example Accept a platform that needs a software hardening update, too
 * ```ts
 * import { defaultTdxReferenceValues, type TcbStatus } from "../mod.ts";
 *
 * const allowed: TcbStatus[] = ["UpToDate", "SWHardeningNeeded"];
 * const references = defaultTdxReferenceValues(allowed);
 * ```
 */
export type TcbStatus = CollateralTcbStatus | "TcbNotSupported";

/** Every status a TCB level in collateral may carry. */
const COLLATERAL_TCB_STATUSES: readonly CollateralTcbStatus[] = [
  "UpToDate",
  "SWHardeningNeeded",
  "ConfigurationNeeded",
  "ConfigurationAndSWHardeningNeeded",
  "OutOfDate",
  "OutOfDateConfigurationNeeded",
  "Revoked",
];

/** Every TCB status evaluation can produce. */
const TCB_STATUSES: readonly TcbStatus[] = [...COLLATERAL_TCB_STATUSES, "TcbNotSupported"];

/** Whether `s` names a collateral TCB status. */
export function isCollateralTcbStatus(s: string): s is CollateralTcbStatus {
  return (COLLATERAL_TCB_STATUSES as readonly string[]).includes(s);
}

/** Whether `s` names a TCB status. */
export function isTcbStatus(s: string): s is TcbStatus {
  return (TCB_STATUSES as readonly string[]).includes(s);
}
