/**
 * The TDX reference value tests pin for a simulated TDX authority's default TD.
 *
 * @module
 */
import type { SimulatedTdxAuthority } from "../../testing/tdx/authority.ts";

/**
 * The reference value `authority`'s default TD meets: platform `Simulated-TDX`, MRTD 11…11, the
 * authority's root pinned (nothing else set).
 */
export async function simulatedTdxReference(authority: SimulatedTdxAuthority) {
  return {
    Platform: "Simulated-TDX",
    MrTd: "11".repeat(48),
    SimulatedRootSHA256: await authority.rootFingerprint(),
  };
}
