/**
 * Evidence and the verifier interface shared by SNP and TDX.
 *
 * @module
 */
export * from "./types.ts";
