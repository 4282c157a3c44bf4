/**
 * The launch-configuration digest a Coordinator's own evidence carries: SNP `HOST_DATA`, or the
 * first 32 bytes of TDX `MRCONFIGID` (its last 16 bytes must be zero). This is the policy the
 * process runs, as the hardware reports it; the Coordinator uses it to refuse updates that would
 * disown it.
 *
 * @module
 */
import { encodeHex } from "../util/bytes/mod.ts";
import type { Evidence } from "../evidence/types.ts";
import { parseSnpReport } from "../snp/abi/report.ts";
import { parseTdxQuote } from "../tdx/quote/parse_quote.ts";

/**
 * The lower-case hex policy digest in `evidence`, or `undefined` when the evidence is not parsable
 * or its TDX `MRCONFIGID` is not a padded SHA-256 digest.
 */
export function launchPolicyDigest(evidence: Evidence): string | undefined {
  try {
    if (evidence.platform === "snp") return encodeHex(parseSnpReport(evidence.report).hostData);
    const id = parseTdxQuote(evidence.report).body.mrConfigId;
    if (id.subarray(32).some((b) => b !== 0)) return undefined;
    return encodeHex(id.subarray(0, 32));
  } catch {
    return undefined;
  }
}
