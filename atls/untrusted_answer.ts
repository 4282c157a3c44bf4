/**
 * What a Coordinator sends, or whoever answers in its place (the network is not trusted), is
 * untrusted input of the verifier, not the user's: an answer or evidence that does not even parse
 * is evidence that does not verify (`VerificationError`: CLI exit 1, and the initializer retries
 * rather than giving up for good), never "malformed input" (`ParseError`: exit 2, which tells the
 * user to fix something on their side). The error names the field under `coordinator.` and keeps
 * the parser's error as its cause.
 *
 * @module
 */
import { InvalidDocumentError, ParseError, VerificationError } from "../util/errors/mod.ts";
import type { Evidence } from "../evidence/types.ts";
import { CoordinatorBadRequestError } from "./coordinator_answers.ts";
import { CERT_TABLE_GUIDS, parseCertTable } from "../snp/abi/cert_table.ts";
import { parseSnpReport } from "../snp/abi/report.ts";
import { parseTdxQuote } from "../tdx/quote/parse_quote.ts";
import { pckChainFromQuote } from "../tdx/verify/verify_quote.ts";
import { parseCertificate } from "../x509/certificate.ts";

/**
 * Runs `read` over data the Coordinator sent; a parse failure becomes a {@link VerificationError}
 * naming `coordinator.<field>`.
 *
 * @throws {VerificationError} when `read` throws a {@link ParseError} (but a
 *   {@link CoordinatorBadRequestError}: a 400 answer) or {@link InvalidDocumentError}; any other
 *   error unchanged
 */
export async function readUntrusted<T>(read: () => T | Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    // A 400 answer is the Coordinator refusing our request, not an answer that does not parse.
    if (error instanceof CoordinatorBadRequestError) throw error;
    if (!(error instanceof ParseError || error instanceof InvalidDocumentError)) throw error;
    const field = error.field === "" || error.field.startsWith("coordinator")
      ? error.field || "coordinator"
      : `coordinator.${error.field}`;
    throw new VerificationError(
      field,
      `the Coordinator's answer does not parse: ${error.reason}`,
      { cause: error },
    );
  }
}

/** The kinds of AMD certificates a certificate table carries (the others are not read). */
const AMD_CERTIFICATES = new Set<string>(Object.keys(CERT_TABLE_GUIDS));

/**
 * Parses the structure of `evidence` (SNP report and the AMD certificates of its table, or TDX
 * quote and its PCK chain), so that a malformed one is reported as the sender's, before
 * verification (whose own parse errors can also come from local collateral bundles).
 *
 * @throws {ParseError} naming the malformed field
 */
export function parseEvidenceStructure(evidence: Evidence): void {
  if (evidence.platform === "snp") {
    parseSnpReport(evidence.report);
    if (!evidence.aux || evidence.aux.length === 0) return;
    for (const [i, entry] of parseCertTable(evidence.aux).entries()) {
      if (AMD_CERTIFICATES.has(entry.kind)) parseCertificate(entry.data, `auxblob[${i}]`);
    }
    return;
  }
  pckChainFromQuote(parseTdxQuote(evidence.report));
}
