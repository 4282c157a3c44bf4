/**
 * SEV-SNP `PLATFORM_INFO` (report offset 0x40): the platform configuration when the report was
 * made. Bits the ABI has not defined yet are kept in `raw` and are not an error: firmware sets
 * new bits as features appear (Turin sets bit 6), and reference values compare named bits only.
 *
 * @module
 */

/**
 * The decoded platform info. Field names follow go-sev-guest's `abi.SnpPlatformInfo`.
 *
 * @example Refuse a host without TSME
 * ```ts
 * import type { SnpReport } from "../mod.ts";
 *
 * function tsmeOn(report: SnpReport): boolean {
 *   return report.platformInfo.tsmeEnabled;
 * }
 * ```
 */
export interface SnpPlatformInfo {
  /** The 64-bit value as it sits in the report. */
  readonly raw: bigint;
  /** SMT is enabled on the platform (bit 0). */
  readonly smtEnabled: boolean;
  /** Transparent SME is enabled (bit 1). */
  readonly tsmeEnabled: boolean;
  /** ECC memory is in use (bit 2). */
  readonly eccEnabled: boolean;
  /** RAPL is disabled (bit 3). */
  readonly raplDisabled: boolean;
  /** Ciphertext hiding for DRAM is enabled (bit 4). */
  readonly ciphertextHidingDramEnabled: boolean;
  /** The memory alias check has completed (bit 5). */
  readonly aliasCheckComplete: boolean;
  /** SEV-TIO (trusted I/O) is enabled (bit 7). */
  readonly tioEnabled: boolean;
}

/** Bit positions of the named platform-info flags. */
const PLATFORM_INFO_BITS = {
  smtEnabled: 0,
  tsmeEnabled: 1,
  eccEnabled: 2,
  raplDisabled: 3,
  ciphertextHidingDramEnabled: 4,
  aliasCheckComplete: 5,
  tioEnabled: 7,
} as const;

/**
 * Decodes a `PLATFORM_INFO` value.
 *
 * @example Is SMT enabled on the host?
 * ```ts
 * import { decodePlatformInfo } from "../mod.ts";
 *
 * console.log(decodePlatformInfo(0x1n).smtEnabled); // true
 * ```
 */
export function decodePlatformInfo(raw: bigint): SnpPlatformInfo {
  // Every named bit is below 32: test them on the low word as a number (no BigInt per bit).
  const low = Number(BigInt.asUintN(32, raw));
  const bit = (n: number) => ((low >>> n) & 1) === 1;
  return {
    raw,
    smtEnabled: bit(PLATFORM_INFO_BITS.smtEnabled),
    tsmeEnabled: bit(PLATFORM_INFO_BITS.tsmeEnabled),
    eccEnabled: bit(PLATFORM_INFO_BITS.eccEnabled),
    raplDisabled: bit(PLATFORM_INFO_BITS.raplDisabled),
    ciphertextHidingDramEnabled: bit(PLATFORM_INFO_BITS.ciphertextHidingDramEnabled),
    aliasCheckComplete: bit(PLATFORM_INFO_BITS.aliasCheckComplete),
    tioEnabled: bit(PLATFORM_INFO_BITS.tioEnabled),
  };
}
