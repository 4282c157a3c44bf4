/**
 * Simulated SEV-SNP evidence for local runs and tests: reports signed by a
 * {@link SimulatedSnpAuthority} (a locally generated vendor-like chain) with the `HOST_DATA`
 * the Kata runtime would set. Only accepted by manifests whose reference values name the
 * simulated root's fingerprint; never trusted implicitly.
 *
 * @module
 */
import type { Evidence } from "../evidence/types.ts";
import type { SimulatedSnpAuthority } from "../snp/simulated/authority.ts";
import type { EvidenceSource } from "./evidence_source.ts";

/** Options of {@link SimulatedSnpEvidenceSource}. */
export interface SimulatedSnpEvidenceOptions {
  /** HOST_DATA of the simulated VM: the SHA-256 digest of its initdata document. */
  readonly hostData: Uint8Array;
  /** Launch measurement (48 bytes); default all zero. */
  readonly measurement?: Uint8Array;
}

/** An {@link EvidenceSource} backed by a simulated SNP authority. */
export class SimulatedSnpEvidenceSource implements EvidenceSource {
  /** Always `snp`. */
  readonly platform = "snp" as const;
  /** For logs. */
  readonly description = "simulated-snp";
  readonly #authority: SimulatedSnpAuthority;
  readonly #options: SimulatedSnpEvidenceOptions;

  constructor(authority: SimulatedSnpAuthority, options: SimulatedSnpEvidenceOptions) {
    this.#authority = authority;
    this.#options = options;
  }

  /** A signed report binding `reportData`, with the auxblob carrying VCEK, ASK and ARK. */
  async getEvidence(reportData: Uint8Array): Promise<Evidence> {
    const r = await this.#authority.createReport({
      reportData,
      hostData: this.#options.hostData,
      ...(this.#options.measurement ? { measurement: this.#options.measurement } : {}),
    });
    return { platform: "snp", report: r.report, aux: r.aux };
  }
}
