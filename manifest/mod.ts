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
export * from "./collateral_config.ts";
export * from "./hash.ts";
export * from "./manifest.ts";
export * from "./policy_match.ts";
export * from "./public_keys.ts";
export * from "./sans.ts";
export * from "./verifiers.ts";
