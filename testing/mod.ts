/**
 * Development aids, never imported by production code: simulated AMD SEV-SNP and Intel TDX
 * authorities (locally generated vendor-like chains that sign byte-exact reports and quotes, with
 * their collateral) and evidence sources backed by them. Evidence they sign verifies only against
 * reference values that name the simulated root's fingerprint, never by default.
 *
 * @example Sign a simulated SNP report and verify it against the simulated root
 * ```ts
 * import { SimulatedSnpAuthority } from "./mod.ts";
 *
 * const authority = await SimulatedSnpAuthority.generate({ rsaBits: 2048 });
 * const { report } = await authority.createReport({ reportData: new Uint8Array(64) });
 * console.log(report.length, authority.rootFingerprint); // 1184, hex SHA-256 of the ARK
 * ```
 *
 * @module
 */
export {
  type GenerateSimulatedSnpOptions,
  type SimulatedReport,
  type SimulatedReportInput,
  SimulatedSnpAuthority,
} from "./snp/authority.ts";
export { simulatedSnpTsmProvider } from "./snp/tsm_provider.ts";
export {
  type SimulatedCollateralOptions,
  type SimulatedQuoteOptions,
  SimulatedTdxAuthority,
  type SimulatedTdxAuthorityFile,
  type SimulatedTdxAuthorityOptions,
} from "./tdx/authority.ts";
export { simulatedTdxTsmProvider } from "./tdx/tsm_provider.ts";
export {
  simulatedEvidenceSource,
  type SimulatedSnpEvidenceOptions,
  SimulatedSnpEvidenceSource,
  type SimulatedTdxEvidenceOptions,
  SimulatedTdxEvidenceSource,
} from "./simulated_evidence.ts";
export { emulatedTsmFileSystem, TsmEmulator, type TsmProvider } from "./tsm_emulator.ts";
