/**
 * Guest side of SEV-SNP: obtains an attestation report through configfs-tsm, with the auxblob
 * certificate table (VCEK/VLEK, ASK, ARK) parsed. The report is checked to be an SNP report that
 * carries the requested report data; it is not verified here (the relying party does that).
 *
 * @module
 */
import { constantTimeEqual } from "../util/bytes/mod.ts";
import { UnavailableError, VerificationError } from "../util/errors/mod.ts";
import type { Evidence } from "../evidence/types.ts";
import { ConfigfsTsm, type ConfigfsTsmOptions } from "../evidence/configfs_tsm.ts";
import { type CertTableEntry, parseCertTable } from "./abi/cert_table.ts";
import { parseSnpReport, type SnpReport } from "./abi/report.ts";

/** The configfs-tsm provider name of the SEV-SNP guest driver. */
export const SNP_TSM_PROVIDER = "sev_guest";

/**
 * What the guest obtained.
 *
 * @example Send the evidence, keep the parsed report for logging
 * ```ts
 * import type { SnpGuestEvidence } from "./mod.ts";
 *
 * function measurementOf(got: SnpGuestEvidence): Uint8Array {
 *   return got.report.measurement;
 * }
 * ```
 */
export interface SnpGuestEvidence {
  /** The evidence to send to a verifier (report + auxblob). */
  readonly evidence: Evidence;
  /** The decoded (unverified) report. */
  readonly report: SnpReport;
  /** The certificate table from the auxblob (empty when the host supplied none). */
  readonly certificates: readonly CertTableEntry[];
}

/**
 * Options of {@link SnpGuest}.
 *
 * @example Use a configfs-tsm mount other than the default
 * ```ts
 * import { SnpGuest, type SnpGuestOptions } from "./mod.ts";
 *
 * const options: SnpGuestOptions = { root: "/sys/kernel/config/tsm/report" };
 * const guest = new SnpGuest(options);
 * ```
 */
export interface SnpGuestOptions extends ConfigfsTsmOptions {
  /** A configured configfs-tsm client; built from the other options when absent. */
  readonly tsm?: ConfigfsTsm;
}

/**
 * Obtains SEV-SNP evidence inside a confidential VM.
 *
 * @example Get a report bound to a public-key digest (in an SEV-SNP guest)
 * ```ts
 * import { SnpGuest } from "./mod.ts";
 *
 * async function attest(keyDigest: Uint8Array) {
 *   const reportData = new Uint8Array(64);
 *   reportData.set(keyDigest);
 *   const { evidence, report } = await new SnpGuest().getEvidence(reportData);
 *   console.log("VMPL", report.vmpl);
 *   return evidence;
 * }
 * ```
 */
export class SnpGuest {
  readonly #tsm: ConfigfsTsm;

  /** A guest reading SNP reports through configfs-tsm (`options.tsm`, or one it opens). */
  constructor(options: SnpGuestOptions = {}) {
    this.#tsm = options.tsm ?? new ConfigfsTsm(options);
  }

  /**
   * A report binding `reportData` (exactly 64 bytes) at `vmpl` (default: the provider's choice).
   *
   * @throws {UnavailableError} when configfs-tsm is unusable or the provider is not SEV-SNP
   * @throws {import("../util/errors/mod.ts").ParseError} when the report or auxblob is malformed
   * @throws {VerificationError} when the report does not carry the requested report data
   */
  async getEvidence(
    reportData: Uint8Array,
    options: { readonly vmpl?: number } = {},
  ): Promise<SnpGuestEvidence> {
    const tsm = await this.#tsm.getReport(reportData, { privlevel: options.vmpl });
    if (tsm.provider !== SNP_TSM_PROVIDER) {
      throw new UnavailableError(
        "provider",
        `configfs-tsm provider is "${tsm.provider}", not ${SNP_TSM_PROVIDER} (not an SEV-SNP guest)`,
      );
    }
    const report = parseSnpReport(tsm.outblob);
    if (!constantTimeEqual(report.reportData, reportData)) {
      throw new VerificationError(
        "report.report_data",
        "the report does not carry the requested report data",
      );
    }
    if (options.vmpl !== undefined && report.vmpl !== options.vmpl) {
      throw new VerificationError(
        "report.vmpl",
        `requested VMPL ${options.vmpl}, the report says ${report.vmpl}`,
      );
    }
    const aux = tsm.auxblob && tsm.auxblob.length > 0 ? tsm.auxblob : undefined;
    return {
      evidence: { platform: "snp", report: tsm.outblob, ...(aux ? { aux } : {}) },
      report,
      certificates: aux ? parseCertTable(aux) : [],
    };
  }
}
