/**
 * Guest side of TDX: quotes through configfs-tsm (provider `tdx_guest`). The simulated provider
 * for the configfs-tsm emulator is in `testing/tdx/tsm_provider.ts`.
 *
 * @module
 */
import { UnavailableError, VerificationError } from "../util/errors/mod.ts";
import { constantTimeEqual } from "../util/bytes/mod.ts";
import { ConfigfsTsm } from "../evidence/configfs_tsm.ts";
import type { Evidence } from "../evidence/types.ts";
import { parseTdxQuote } from "./quote/parse_quote.ts";
import type { TdxQuote } from "./quote/types.ts";

/** The configfs-tsm provider name of TDX guests. */
export const TDX_TSM_PROVIDER = "tdx_guest";

/**
 * A quote obtained in the guest.
 *
 * @example Send the evidence, log the measurement
 * ```ts
 * import type { GuestTdxQuote } from "./mod.ts";
 *
 * function mrTdOf(got: GuestTdxQuote): Uint8Array {
 *   return got.parsed.body.mrTd;
 * }
 * ```
 */
export interface GuestTdxQuote {
  /** The quote bytes exactly as the provider returned them (padding included). */
  readonly quote: Uint8Array;
  /** The parsed quote. */
  readonly parsed: TdxQuote;
  /** The quote as evidence for a verifier. */
  readonly evidence: Evidence;
}

/**
 * Gets a TDX quote binding `reportData` (64 bytes) through configfs-tsm.
 *
 * @throws {UnavailableError} when configfs-tsm is not usable or the provider is not TDX
 * @throws {import("../util/errors/mod.ts").ParseError} when the provider returned a malformed quote
 * @throws {VerificationError} when the quote does not carry the requested report data
 *
 * @example Get a quote bound to 64 bytes of report data (in a TDX guest)
 * ```ts
 * import { getTdxQuote } from "./mod.ts";
 *
 * async function attest(reportData: Uint8Array) {
 *   const { evidence } = await getTdxQuote(reportData);
 *   return evidence;
 * }
 * ```
 */
export async function getTdxQuote(
  reportData: Uint8Array,
  tsm: ConfigfsTsm = new ConfigfsTsm(),
): Promise<GuestTdxQuote> {
  const report = await tsm.getReport(reportData);
  if (report.provider !== TDX_TSM_PROVIDER) {
    throw new UnavailableError(
      "configfs-tsm.provider",
      `expected ${TDX_TSM_PROVIDER}, the provider is ${report.provider || "(empty)"}`,
    );
  }
  const parsed = parseTdxQuote(report.outblob);
  if (!constantTimeEqual(parsed.body.reportData, reportData)) {
    throw new VerificationError(
      "quote.body.reportData",
      "the quote does not carry the report data that was written to inblob",
    );
  }
  return { quote: report.outblob, parsed, evidence: { platform: "tdx", report: report.outblob } };
}
