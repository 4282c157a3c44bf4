/**
 * Where a confidential process gets evidence about itself: the guest's configfs-tsm interface,
 * or — only when explicitly enabled — a simulated TEE for local runs and tests.
 *
 * @module
 */
import type { Evidence, TeePlatform } from "./types.ts";

/**
 * Produces evidence that binds 64 bytes of report data.
 *
 * @example Evidence bound to a fresh nonce
 * ```ts
 * import type { Evidence, EvidenceSource } from "./mod.ts";
 *
 * async function attest(source: EvidenceSource): Promise<Evidence> {
 *   const nonce = crypto.getRandomValues(new Uint8Array(64));
 *   console.log(`asking ${source.description}`);
 *   return await source.getEvidence(nonce);
 * }
 * ```
 */
export interface EvidenceSource {
  /** The platform of the evidence. */
  readonly platform: TeePlatform;
  /** A short description for logs (`configfs-tsm`, `simulated-snp`). */
  readonly description: string;
  /** Fresh evidence binding `reportData` (64 bytes). */
  getEvidence(reportData: Uint8Array): Promise<Evidence>;
}
