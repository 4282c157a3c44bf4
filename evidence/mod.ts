/**
 * Evidence and the verifier interface shared by SNP and TDX, and the sources a guest reads its
 * own evidence from (configfs-tsm, and an emulator of it for tests).
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
export * from "./types.ts";
export * from "./configfs_tsm.ts";
export * from "./tsm_emulator.ts";
export * from "./evidence_source.ts";
export { ConfigfsTsmEvidenceSource } from "./configfs_tsm_source.ts";
export {
  type EvidenceConfig,
  evidenceSourceFrom,
  type SimulatedEvidenceConfig,
  type SimulatedEvidenceLoader,
} from "./evidence_config.ts";
