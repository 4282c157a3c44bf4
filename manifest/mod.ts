/**
 * The manifest: strict parsing, hashes, policy matching and the verifiers its reference values
 * configure.
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
