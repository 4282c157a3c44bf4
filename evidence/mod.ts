/**
 * Evidence and the verifier interface shared by SNP and TDX.
 *
 * @module
 */
export * from "./types.ts";
export * from "./configfs_tsm.ts";
export * from "./tsm_emulator.ts";
