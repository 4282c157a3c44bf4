/**
 * Simulated SEV-SNP: a locally generated vendor-like chain that signs byte-exact reports.
 *
 * @module
 */
export * from "./authority.ts";
export * from "./tsm_provider.ts";
