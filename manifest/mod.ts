/**
 * The manifest: strict parsing, hashes, policy matching and the verifiers its reference values
 * configure.
 *
 * @example Read a manifest and compute its hash and first transition
 * ```ts
 * import { GENESIS_TRANSITION, manifestHash, parseManifest, transitionHash } from "./mod.ts";
 *
 * async function firstTransition(bytes: Uint8Array): Promise<Uint8Array> {
 *   const manifest = parseManifest(bytes); // strict: every problem with its JSON path
 *   console.log(Object.keys(manifest.Policies).length, "policies");
 *   return transitionHash(await manifestHash(bytes), GENESIS_TRANSITION);
 * }
 * ```
 *
 * @module
 */
export {
  type CollateralConfig,
  defaultCollateralCacheDir,
  manifestVerifiersWithCollateral,
} from "./collateral_config.ts";
export { GENESIS_TRANSITION, manifestHash, transitionHash } from "./hash.ts";
export {
  coordinatorPolicyDigest,
  type Manifest,
  parseManifest,
  type PolicyEntry,
  type PolicyRole,
  type ReferenceValues,
} from "./manifest.ts";
export { expectedHostData, type MatchedPolicy, matchPolicy } from "./policy_match.ts";
export type { SubjectAltName } from "./sans.ts";
export {
  type ManifestEvidenceVerifier,
  type ManifestVerification,
  ManifestVerifiers,
  type ManifestVerifiersOptions,
  VerifiersOfManifest,
  verifyEvidenceAgainstManifest,
} from "./verifiers.ts";
export {
  workloadOwnerKeyDigest,
  type WorkloadOwners,
  workloadOwnersOf,
} from "./workload_owners.ts";
