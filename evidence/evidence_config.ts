/**
 * Selecting a process's own evidence source from configuration: `configfs-tsm` (the real guest
 * interface) or `simulated-snp` / `simulated-tdx` (a simulated TEE, refused unless explicitly
 * allowed, for local runs and tests). The simulators are development aids (`testing/`), so this
 * library never imports them: an application that offers the simulated TEE passes a
 * {@link SimulatedEvidenceLoader} that loads them on demand.
 *
 * @module
 */
import { type Command } from "commander";
import { ParseError } from "../util/errors/mod.ts";
import { envOption } from "../util/process_options.ts";
import { ConfigfsTsmEvidenceSource } from "./configfs_tsm_source.ts";
import type { EvidenceSource } from "./evidence_source.ts";

/**
 * Configuration of the evidence source.
 *
 * @example Real evidence from configfs-tsm
 * ```ts
 * import { type EvidenceConfig, evidenceSourceFrom } from "./mod.ts";
 *
 * const config: EvidenceConfig = { kind: "configfs-tsm", allowSimulated: false };
 * async function source() {
 *   return await evidenceSourceFrom(config);
 * }
 * ```
 */
export interface EvidenceConfig {
  /** `configfs-tsm`, `simulated-snp` or `simulated-tdx`. */
  readonly kind: string;
  /** Must be true for a simulated source. */
  readonly allowSimulated: boolean;
  /** Folder of a saved simulated SNP authority, or file of a simulated TDX one (simulated only). */
  readonly simulatedAuthorityDir?: string;
  /** Hex HOST_DATA of the simulated VM: its initdata digest (simulated only). */
  readonly simulatedHostData?: string;
  /** Hex launch measurement of the simulated VM (simulated only). */
  readonly simulatedMeasurement?: string;
  /** configfs-tsm report folder (default `/sys/kernel/config/tsm/report`). */
  readonly configfsTsmDir?: string;
  /**
   * Simulated SNP only: deliver reports without their certificate table (as a host that does not
   * attach the VCEK), so verifiers fetch the VCEK and chain from KDS (a stand-in serving the
   * simulated chain).
   */
  readonly simulatedWithoutCertificates?: boolean;
}

/**
 * The checked configuration of a simulated TEE, as {@link evidenceSourceFrom} passes it on.
 *
 * @example What a simulated loader receives
 * ```ts
 * import type { SimulatedEvidenceConfig } from "./mod.ts";
 *
 * const config: SimulatedEvidenceConfig = {
 *   kind: "simulated-snp",
 *   simulatedAuthorityDir: "./authority",
 *   simulatedHostData: "00".repeat(32),
 * };
 * console.log(config.kind);
 * ```
 */
export interface SimulatedEvidenceConfig {
  /** Which simulated platform. */
  readonly kind: "simulated-snp" | "simulated-tdx";
  /** Folder of a saved simulated SNP authority, or file of a simulated TDX one. */
  readonly simulatedAuthorityDir: string;
  /** Hex HOST_DATA of the simulated VM. */
  readonly simulatedHostData: string;
  /** Hex launch measurement of the simulated VM, if set. */
  readonly simulatedMeasurement?: string;
  /** Simulated SNP: reports come without their certificate table (see {@link EvidenceConfig}). */
  readonly simulatedWithoutCertificates?: boolean;
}

/**
 * Builds a simulated TEE's evidence source (see `testing/simulated_evidence.ts`).
 *
 * @example Wire the simulators in, for local runs only
 * ```ts
 * import { evidenceSourceFrom, type SimulatedEvidenceLoader } from "./mod.ts";
 *
 * // The development aid of `testing/` (`simulatedEvidenceSource`); production code passes none.
 * declare const loadSimulated: SimulatedEvidenceLoader;
 * async function source(authorityDir: string) {
 *   return await evidenceSourceFrom({
 *     kind: "simulated-snp",
 *     allowSimulated: true,
 *     simulatedAuthorityDir: authorityDir,
 *     simulatedHostData: "00".repeat(32),
 *   }, loadSimulated);
 * }
 * ```
 */
export type SimulatedEvidenceLoader = (config: SimulatedEvidenceConfig) => Promise<EvidenceSource>;

/**
 * The evidence source `config` describes. A simulated TEE needs `allowSimulated`, its authority
 * and HOST_DATA, and a `loadSimulated` from the application; without one it is refused.
 *
 * @throws {ParseError} naming the option that is missing, malformed or not allowed
 *
 * @example The source a command line selects
 * ```ts
 * import { evidenceSourceFrom } from "./mod.ts";
 *
 * async function source(kind: string) {
 *   return await evidenceSourceFrom({ kind, allowSimulated: false }); // simulated kinds refused
 * }
 * ```
 */
export async function evidenceSourceFrom(
  config: EvidenceConfig,
  loadSimulated?: SimulatedEvidenceLoader,
): Promise<EvidenceSource> {
  switch (config.kind) {
    case "configfs-tsm":
      return await ConfigfsTsmEvidenceSource.open(config.configfsTsmDir);
    case "simulated-snp":
    case "simulated-tdx": {
      if (!config.allowSimulated) {
        throw new ParseError(
          "evidence",
          "the simulated TEE is refused unless --allow-simulated is given (local runs and tests only)",
        );
      }
      if (!config.simulatedAuthorityDir) {
        throw new ParseError("simulated-authority", `required with --evidence ${config.kind}`);
      }
      if (!config.simulatedHostData) {
        throw new ParseError("simulated-host-data", `required with --evidence ${config.kind}`);
      }
      if (!loadSimulated) {
        throw new ParseError("evidence", "this program offers no simulated TEE");
      }
      return await loadSimulated({
        kind: config.kind,
        simulatedAuthorityDir: config.simulatedAuthorityDir,
        simulatedHostData: config.simulatedHostData,
        ...(config.simulatedMeasurement
          ? { simulatedMeasurement: config.simulatedMeasurement }
          : {}),
        ...(config.simulatedWithoutCertificates ? { simulatedWithoutCertificates: true } : {}),
      });
    }
    default:
      throw new ParseError(
        "evidence",
        `unknown evidence source ${
          JSON.stringify(config.kind)
        } (configfs-tsm, simulated-snp or simulated-tdx)`,
      );
  }
}

/**
 * Adds the evidence-source options (`--evidence`, `--configfs-tsm-dir`, `--allow-simulated`,
 * `--simulated-authority`, `--simulated-host-data`, `--simulated-measurement`,
 * `--simulated-without-certificates`) to `command`;
 * read them back with {@link evidenceConfigFromOptions}.
 */
export function addEvidenceOptions(command: Command): Command {
  return command
    .option(
      "--evidence <kind>",
      "configfs-tsm, simulated-snp or simulated-tdx",
      envOption("CONTRAST_EVIDENCE") ?? "configfs-tsm",
    )
    .option(
      "--configfs-tsm-dir <dir>",
      "configfs-tsm report folder",
      envOption("CONTRAST_CONFIGFS_TSM_DIR"),
    )
    .option(
      "--allow-simulated",
      "accept the simulated TEE (local runs only)",
      envOption("CONTRAST_ALLOW_SIMULATED") === "1",
    )
    .option(
      "--simulated-authority <dir>",
      "saved simulated SNP authority",
      envOption("CONTRAST_SIMULATED_AUTHORITY"),
    )
    .option(
      "--simulated-host-data <hex>",
      "simulated HOST_DATA (initdata digest)",
      envOption("CONTRAST_SIMULATED_HOST_DATA"),
    )
    .option(
      "--simulated-measurement <hex>",
      "simulated launch measurement",
      envOption("CONTRAST_SIMULATED_MEASUREMENT"),
    )
    .option(
      "--simulated-without-certificates",
      "simulated SNP: no certificate table with reports (verifiers fetch the VCEK from KDS)",
      envOption("CONTRAST_SIMULATED_WITHOUT_CERTIFICATES") === "1",
    );
}

/** The evidence configuration the options of {@link addEvidenceOptions} parsed into `opts`. */
export function evidenceConfigFromOptions(opts: Record<string, unknown>): EvidenceConfig {
  const text = (value: unknown) => typeof value === "string" ? value : undefined;
  return {
    kind: text(opts.evidence) ?? "configfs-tsm",
    allowSimulated: opts.allowSimulated === true,
    simulatedAuthorityDir: text(opts.simulatedAuthority),
    simulatedHostData: text(opts.simulatedHostData),
    simulatedMeasurement: text(opts.simulatedMeasurement),
    configfsTsmDir: text(opts.configfsTsmDir),
    simulatedWithoutCertificates: opts.simulatedWithoutCertificates === true,
  };
}
