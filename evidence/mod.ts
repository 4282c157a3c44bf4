/**
 * Evidence and the verifier interface shared by SNP and TDX, and the sources a guest reads its
 * own evidence from (configfs-tsm). The configfs-tsm emulator for tests is in `./testing`.
 *
 * @example A verifier of any platform, behind the shared interface
 * ```ts
 * import type { AttestationClaims, Evidence, EvidenceVerifier } from "./mod.ts";
 *
 * async function check(
 *   verifier: EvidenceVerifier,
 *   evidence: Evidence,
 *   reportData: Uint8Array,
 * ): Promise<AttestationClaims> {
 *   return await verifier.verify(evidence, { reportData, now: new Date() });
 * }
 * ```
 *
 * @module
 */
export type {
  AttestationClaims,
  Evidence,
  EvidenceVerifier,
  TeePlatform,
  VerifyOptions,
} from "./types.ts";
export {
  ConfigfsTsm,
  type ConfigfsTsmOptions,
  DEFAULT_TSM_REPORT_ROOT,
  evidenceFromTsmReport,
  type TsmFileSystem,
  type TsmReport,
  type TsmReportOptions,
} from "./configfs_tsm.ts";
export type { EvidenceSource } from "./evidence_source.ts";
export { ConfigfsTsmEvidenceSource } from "./configfs_tsm_source.ts";
export {
  type EvidenceConfig,
  evidenceSourceFrom,
  type SimulatedEvidenceConfig,
  type SimulatedEvidenceLoader,
} from "./evidence_config.ts";
