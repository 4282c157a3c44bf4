/**
 * The seed engine (HKDF derivations, deterministic P-384 keys, workload secrets) and seed shares.
 *
 * @module
 */
export * from "./hkdf.ts";
export * from "./p384.ts";
export * from "./seed_engine.ts";
export * from "./seed_shares.ts";
