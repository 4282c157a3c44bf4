/**
 * Evidence from the Linux guest's configfs-tsm interface, through the shared
 * {@link ConfigfsTsm} client (`evidence/configfs_tsm.ts`): the provider (`sev_guest`,
 * `tdx_guest`) selects the platform; SNP evidence carries the auxblob certificate table.
 *
 * @module
 */
import { UnavailableError } from "../util/errors/mod.ts";
import type { Evidence, TeePlatform } from "./types.ts";
import {
  ConfigfsTsm,
  DEFAULT_TSM_REPORT_ROOT,
  evidenceFromTsmReport,
  type TsmFileSystem,
} from "./configfs_tsm.ts";
import type { EvidenceSource } from "./evidence_source.ts";

/**
 * An {@link EvidenceSource} over configfs-tsm.
 *
 * @example The guest's own evidence
 * ```ts
 * import { ConfigfsTsmEvidenceSource } from "./mod.ts";
 *
 * async function ownEvidence(reportData: Uint8Array) {
 *   const source = await ConfigfsTsmEvidenceSource.open(); // /sys/kernel/config/tsm/report
 *   return await source.getEvidence(reportData);
 * }
 * ```
 */
export class ConfigfsTsmEvidenceSource implements EvidenceSource {
  /** The platform, from the provider. */
  readonly platform: TeePlatform;
  /** For logs. */
  readonly description: string;
  readonly #tsm: ConfigfsTsm;

  private constructor(tsm: ConfigfsTsm, platform: TeePlatform, provider: string) {
    this.#tsm = tsm;
    this.platform = platform;
    this.description = `configfs-tsm (${provider} at ${tsm.root})`;
  }

  /**
   * Opens configfs-tsm at `root` and learns the provider with one probe report.
   *
   * @throws {UnavailableError} naming `configfs-tsm` when the interface is missing
   */
  static async open(
    root: string = DEFAULT_TSM_REPORT_ROOT,
    fs?: TsmFileSystem,
  ): Promise<ConfigfsTsmEvidenceSource> {
    const tsm = new ConfigfsTsm({ root, ...(fs ? { fs } : {}) });
    if (!(await tsm.available())) {
      throw new UnavailableError(
        "configfs-tsm",
        `${root} is missing: not a confidential VM with configfs-tsm (or configfs not mounted)`,
      );
    }
    const probe = await tsm.getReport(new Uint8Array(64));
    const evidence = evidenceFromTsmReport(probe);
    return new ConfigfsTsmEvidenceSource(tsm, evidence.platform, probe.provider);
  }

  /** A fresh report binding `reportData` (64 bytes). */
  async getEvidence(reportData: Uint8Array): Promise<Evidence> {
    return evidenceFromTsmReport(await this.#tsm.getReport(reportData));
  }
}
