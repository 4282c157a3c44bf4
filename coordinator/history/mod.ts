/**
 * The crash-safe manifest history: backends (files, memory; Kubernetes ConfigMaps fit the same
 * interface), the verified store and the hash-chained manifest history on top.
 *
 * @module
 */
export * from "./backend.ts";
export * from "./errors.ts";
export * from "./file_backend.ts";
export * from "./history_store.ts";
export * from "./manifest_history.ts";
export * from "./memory_backend.ts";
