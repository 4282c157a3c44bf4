/**
 * Selecting a process's own evidence source from configuration: `configfs-tsm` (the real guest
 * interface) or `simulated-snp` (a simulated TEE, refused unless explicitly allowed, for local
 * runs and tests).
 *
 * @module
 */
import { decodeHex } from "../util/bytes/mod.ts";
import { ParseError } from "../util/errors/mod.ts";
import { SimulatedSnpAuthority } from "../testing/snp/authority.ts";
import { ConfigfsTsmEvidenceSource } from "./configfs_tsm_source.ts";
import type { EvidenceSource } from "./evidence_source.ts";
import {
  SimulatedSnpEvidenceSource,
  SimulatedTdxEvidenceSource,
} from "../testing/simulated_evidence.ts";
import { SimulatedTdxAuthority } from "../testing/tdx/authority.ts";

/** Configuration of the evidence source. */
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
}

/**
 * The evidence source `config` describes.
 *
 * @throws {ParseError} naming the option that is missing, malformed or not allowed
 */
export async function evidenceSourceFrom(config: EvidenceConfig): Promise<EvidenceSource> {
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
      if (config.kind === "simulated-tdx") {
        return new SimulatedTdxEvidenceSource(
          await SimulatedTdxAuthority.load(config.simulatedAuthorityDir),
          {
            hostData: decodeHex(config.simulatedHostData, "simulated-host-data", 32),
            ...(config.simulatedMeasurement
              ? { mrTd: decodeHex(config.simulatedMeasurement, "simulated-measurement", 48) }
              : {}),
          },
        );
      }
      const authority = await SimulatedSnpAuthority.load(config.simulatedAuthorityDir);
      return new SimulatedSnpEvidenceSource(authority, {
        hostData: decodeHex(config.simulatedHostData, "simulated-host-data", 32),
        ...(config.simulatedMeasurement
          ? { measurement: decodeHex(config.simulatedMeasurement, "simulated-measurement", 48) }
          : {}),
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
