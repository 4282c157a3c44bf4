/**
 * Evidence from the Linux guest's configfs-tsm interface: create a report folder under
 * `/sys/kernel/config/tsm/report`, write the 64 bytes of report data to `inblob`, read
 * `provider` (`sev_guest` or `tdx_guest`), `outblob` (the report or quote) and `auxblob` (SNP
 * certificate table), and remove the folder.
 *
 * @module
 */
import { UnavailableError, VerificationError } from "../errors/mod.ts";
import type { Evidence, TeePlatform } from "../evidence/types.ts";
import type { EvidenceSource } from "./evidence_source.ts";

/** Default configfs-tsm report folder. */
export const CONFIGFS_TSM_REPORT_DIR = "/sys/kernel/config/tsm/report";

const PROVIDERS: Record<string, TeePlatform> = { sev_guest: "snp", tdx_guest: "tdx" };

async function readOptional(path: string): Promise<Uint8Array | undefined> {
  try {
    const bytes = await Deno.readFile(path);
    return bytes.length > 0 ? bytes : undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** An {@link EvidenceSource} over configfs-tsm. */
export class ConfigfsTsmEvidenceSource implements EvidenceSource {
  /** The platform, from the provider. */
  readonly platform: TeePlatform;
  /** For logs. */
  readonly description: string;
  readonly #dir: string;

  private constructor(dir: string, platform: TeePlatform, provider: string) {
    this.#dir = dir;
    this.platform = platform;
    this.description = `configfs-tsm (${provider})`;
  }

  /**
   * Opens configfs-tsm at `dir` and learns the provider with one probe report.
   *
   * @throws {UnavailableError} naming `configfs-tsm` when the interface is missing
   */
  static async open(dir = CONFIGFS_TSM_REPORT_DIR): Promise<ConfigfsTsmEvidenceSource> {
    try {
      await Deno.stat(dir);
    } catch (cause) {
      throw new UnavailableError(
        "configfs-tsm",
        `${dir} is missing: not a confidential VM with configfs-tsm (or configfs not mounted)`,
        { cause },
      );
    }
    const probe = await ConfigfsTsmEvidenceSource.#report(dir, new Uint8Array(64));
    return new ConfigfsTsmEvidenceSource(dir, probe.platform, probe.provider);
  }

  static async #report(
    dir: string,
    reportData: Uint8Array,
  ): Promise<Evidence & { provider: string }> {
    if (reportData.length !== 64) {
      throw new VerificationError("reportData", `expected 64 bytes, got ${reportData.length}`);
    }
    const entry = `${dir}/contrast-${crypto.randomUUID()}`;
    try {
      await Deno.mkdir(entry);
    } catch (cause) {
      throw new UnavailableError("configfs-tsm", `cannot create ${entry}`, { cause });
    }
    try {
      await Deno.writeFile(`${entry}/inblob`, reportData);
      const provider = (await Deno.readTextFile(`${entry}/provider`)).trim();
      const platform = PROVIDERS[provider];
      if (!platform) {
        throw new UnavailableError("configfs-tsm.provider", `unsupported provider ${provider}`);
      }
      const report = await readOptional(`${entry}/outblob`);
      if (!report) throw new UnavailableError("configfs-tsm.outblob", "empty report");
      const aux = platform === "snp" ? await readOptional(`${entry}/auxblob`) : undefined;
      return { platform, report, ...(aux ? { aux } : {}), provider };
    } finally {
      await Deno.remove(entry).catch(() => undefined);
    }
  }

  /** A fresh report binding `reportData`. */
  async getEvidence(reportData: Uint8Array): Promise<Evidence> {
    const { provider: _provider, ...evidence } = await ConfigfsTsmEvidenceSource.#report(
      this.#dir,
      reportData,
    );
    return evidence;
  }
}
