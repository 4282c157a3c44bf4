/**
 * SEV-SNP signer info (report offset 0x48, 32 bits): which key signed the report and how the
 * chip ID and author key are handled.
 *
 * @module
 */
import { ParseError } from "../../util/errors/mod.ts";

/**
 * The key that signed a report. `none` reports carry no signature.
 *
 * @example Which key signed the report
 * ```ts
 * import type { SnpReport, SnpSigningKey } from "../mod.ts";
 *
 * function signer(report: SnpReport): SnpSigningKey {
 *   return report.signerInfo.signingKey; // "VCEK", "VLEK" or "none"
 * }
 * ```
 */
export type SnpSigningKey = "VCEK" | "VLEK" | "none";

/**
 * The decoded signer info.
 *
 * @example Is the chip ID masked?
 * ```ts
 * import type { SnpReport, SnpSignerInfo } from "../mod.ts";
 *
 * function chipIdMasked(report: SnpReport): boolean {
 *   const info: SnpSignerInfo = report.signerInfo;
 *   return info.maskChipKey;
 * }
 * ```
 */
export interface SnpSignerInfo {
  /** The 32-bit value as it sits in the report. */
  readonly raw: number;
  /** `AUTHOR_KEY_EN` (bit 0): the ID block carried an author key. */
  readonly authorKeyEn: boolean;
  /** `MASK_CHIP_KEY` (bit 1): the host masked `CHIP_ID` (all zeros) and used no chip key. */
  readonly maskChipKey: boolean;
  /** `SIGNING_KEY` (bits 4:2): 0 VCEK, 1 VLEK, 7 none; 2–6 are reserved. */
  readonly signingKey: SnpSigningKey;
}

/**
 * Decodes the signer info.
 *
 * @throws {ParseError} naming `field` when a reserved bit (31:5) is set or `SIGNING_KEY` is 2–6
 */
export function decodeSignerInfo(raw: number, field = "signer_info"): SnpSignerInfo {
  if (raw >>> 5 !== 0) {
    throw new ParseError(field, `reserved bits 31:5 are not zero (0x${raw.toString(16)})`);
  }
  const code = (raw >>> 2) & 7;
  let signingKey: SnpSigningKey;
  if (code === 0) signingKey = "VCEK";
  else if (code === 1) signingKey = "VLEK";
  else if (code === 7) signingKey = "none";
  else throw new ParseError(`${field}.signing_key`, `value ${code} is reserved`);
  return { raw, authorKeyEn: (raw & 1) === 1, maskChipKey: (raw & 2) === 2, signingKey };
}

/** Packs signer info fields into the 32-bit value. */
export function encodeSignerInfo(
  info: { authorKeyEn?: boolean; maskChipKey?: boolean; signingKey: SnpSigningKey },
): number {
  const code = info.signingKey === "VCEK" ? 0 : info.signingKey === "VLEK" ? 1 : 7;
  return (info.authorKeyEn ? 1 : 0) | (info.maskChipKey ? 2 : 0) | (code << 2);
}
