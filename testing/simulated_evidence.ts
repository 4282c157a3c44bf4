/**
 * Simulated evidence for local runs and tests: SEV-SNP reports signed by a
 * {@link SimulatedSnpAuthority} with the `HOST_DATA` the Kata runtime would set, and TDX quotes
 * by a {@link SimulatedTdxAuthority} with the `MRCONFIGID` it would set (both locally generated
 * vendor-like chains). Only accepted by manifests whose reference values name the
 * simulated root's fingerprint; never trusted implicitly.
 *
 * @module
 */
import type { Evidence } from "../evidence/types.ts";
import type { SimulatedEvidenceConfig } from "../evidence/evidence_config.ts";
import { expectedHostData } from "../manifest/policy_match.ts";
import { decodeHex } from "../util/bytes/mod.ts";
import { SimulatedSnpAuthority } from "./snp/authority.ts";
import { SimulatedTdxAuthority } from "./tdx/authority.ts";
import type { EvidenceSource } from "../evidence/evidence_source.ts";

/**
 * The simulated evidence source `config` describes: the saved authority it names, signing
 * evidence with its HOST_DATA (and measurement). The Coordinator and the initializer load this
 * on demand for `--evidence simulated-snp|simulated-tdx --allow-simulated`.
 *
 * @throws {ParseError} naming `simulated-host-data` or `simulated-measurement` when malformed
 *
 * @example The loader `evidenceSourceFrom` takes for simulated kinds
 * ```ts
 * import { simulatedEvidenceSource } from "./mod.ts";
 *
 * async function source(authorityDir: string) {
 *   return await simulatedEvidenceSource({
 *     kind: "simulated-snp",
 *     simulatedAuthorityDir: authorityDir,
 *     simulatedHostData: "00".repeat(32),
 *   });
 * }
 * ```
 */
export async function simulatedEvidenceSource(
  config: SimulatedEvidenceConfig,
): Promise<EvidenceSource> {
  const hostData = decodeHex(config.simulatedHostData, "simulated-host-data", 32);
  const measurement = config.simulatedMeasurement
    ? decodeHex(config.simulatedMeasurement, "simulated-measurement", 48)
    : undefined;
  if (config.kind === "simulated-tdx") {
    return new SimulatedTdxEvidenceSource(
      await SimulatedTdxAuthority.load(config.simulatedAuthorityDir),
      { hostData, ...(measurement ? { mrTd: measurement } : {}) },
    );
  }
  return new SimulatedSnpEvidenceSource(
    await SimulatedSnpAuthority.load(config.simulatedAuthorityDir),
    {
      hostData,
      ...(measurement ? { measurement } : {}),
      withoutCertificates: config.simulatedWithoutCertificates === true,
    },
  );
}

/**
 * Options of {@link SimulatedSnpEvidenceSource}.
 *
 * @example A simulated VM with a given HOST_DATA
 * ```ts
 * import { type SimulatedSnpEvidenceOptions } from "./mod.ts";
 *
 * const options: SimulatedSnpEvidenceOptions = { hostData: new Uint8Array(32).fill(1) };
 * console.log(options.hostData.length); // 32
 * ```
 */
export interface SimulatedSnpEvidenceOptions {
  /** HOST_DATA of the simulated VM: the SHA-256 digest of its initdata document. */
  readonly hostData: Uint8Array;
  /** Launch measurement (48 bytes); default all zero. */
  readonly measurement?: Uint8Array;
  /**
   * Deliver reports without the certificate table (as a host that attaches no VCEK), so the
   * verifier must fetch VCEK and chain from KDS (default false).
   */
  readonly withoutCertificates?: boolean;
  /**
   * Signs each report in place of WebCrypto (see `SimulatedReportInput.sign`): the load test's
   * generator precomputes the nonces of its simulated secure processor's signatures.
   */
  readonly sign?: (key: CryptoKey, body: Uint8Array) => Promise<Uint8Array>;
}

/**
 * An {@link EvidenceSource} backed by a simulated SNP authority.
 *
 * @example Simulated SNP evidence bound to a nonce
 * ```ts
 * import { SimulatedSnpAuthority, SimulatedSnpEvidenceSource } from "./mod.ts";
 *
 * const authority = await SimulatedSnpAuthority.generate({ rsaBits: 2048 });
 * const source = new SimulatedSnpEvidenceSource(authority, { hostData: new Uint8Array(32) });
 * const evidence = await source.getEvidence(new Uint8Array(64));
 * console.log(evidence.report.length); // 1184
 * ```
 */
export class SimulatedSnpEvidenceSource implements EvidenceSource {
  /** Always `snp`. */
  readonly platform = "snp" as const;
  /** For logs. */
  readonly description = "simulated-snp";
  readonly #authority: SimulatedSnpAuthority;
  readonly #options: SimulatedSnpEvidenceOptions;

  /** Evidence signed by `authority` with the HOST_DATA (and measurement) of `options`. */
  constructor(authority: SimulatedSnpAuthority, options: SimulatedSnpEvidenceOptions) {
    this.#authority = authority;
    this.#options = options;
  }

  /**
   * A signed report binding `reportData`, with the auxblob carrying VCEK, ASK and ARK (none with
   * `withoutCertificates`).
   */
  async getEvidence(reportData: Uint8Array): Promise<Evidence> {
    const r = await this.#authority.createReport({
      reportData,
      hostData: this.#options.hostData,
      ...(this.#options.measurement ? { measurement: this.#options.measurement } : {}),
      ...(this.#options.sign ? { sign: this.#options.sign } : {}),
    });
    return this.#options.withoutCertificates
      ? { platform: "snp", report: r.report }
      : { platform: "snp", report: r.report, aux: r.aux };
  }
}

/**
 * Options of {@link SimulatedTdxEvidenceSource}.
 *
 * @example A simulated TD with a given MRCONFIGID source
 * ```ts
 * import { type SimulatedTdxEvidenceOptions } from "./mod.ts";
 *
 * const options: SimulatedTdxEvidenceOptions = { hostData: new Uint8Array(32).fill(1) };
 * console.log(options.hostData.length); // 32
 * ```
 */
export interface SimulatedTdxEvidenceOptions {
  /** SHA-256 digest of the VM's initdata; MRCONFIGID = digest ‖ 16 zero bytes. */
  readonly hostData: Uint8Array;
  /** MRTD (48 bytes); default the authority's default. */
  readonly mrTd?: Uint8Array;
  /** TD attributes (8 bytes, quote byte order); default the authority's (debug off). */
  readonly tdAttributes?: Uint8Array;
}

/**
 * An {@link EvidenceSource} backed by a simulated TDX authority.
 *
 * @example Simulated TDX evidence bound to a nonce
 * ```ts
 * import { SimulatedTdxAuthority, SimulatedTdxEvidenceSource } from "./mod.ts";
 *
 * const authority = await SimulatedTdxAuthority.generate();
 * const source = new SimulatedTdxEvidenceSource(authority, { hostData: new Uint8Array(32) });
 * const evidence = await source.getEvidence(new Uint8Array(64));
 * console.log(evidence.platform); // "tdx"
 * ```
 */
export class SimulatedTdxEvidenceSource implements EvidenceSource {
  /** Always `tdx`. */
  readonly platform = "tdx" as const;
  /** For logs. */
  readonly description = "simulated-tdx";
  readonly #authority: SimulatedTdxAuthority;
  readonly #options: SimulatedTdxEvidenceOptions;

  /** Quotes signed by `authority` with the MRCONFIGID (and MRTD) of `options`. */
  constructor(authority: SimulatedTdxAuthority, options: SimulatedTdxEvidenceOptions) {
    this.#authority = authority;
    this.#options = options;
  }

  /** A signed quote binding `reportData` with MRCONFIGID = the initdata digest, padded. */
  async getEvidence(reportData: Uint8Array): Promise<Evidence> {
    const quote = await this.#authority.createQuote({
      reportData,
      mrConfigId: expectedHostData("tdx", this.#options.hostData),
      ...(this.#options.mrTd ? { mrTd: this.#options.mrTd } : {}),
      ...(this.#options.tdAttributes ? { tdAttributes: this.#options.tdAttributes } : {}),
    });
    return { platform: "tdx", report: quote };
  }
}
