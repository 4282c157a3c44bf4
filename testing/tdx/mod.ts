/**
 * Simulated Intel TDX: a locally generated vendor-like chain (root, PCK, QE) that signs
 * byte-exact quotes, with its collateral, and a `tdx_guest` provider for the configfs-tsm
 * emulator.
 *
 * @module
 */
export * from "./authority.ts";
export * from "./tsm_provider.ts";
