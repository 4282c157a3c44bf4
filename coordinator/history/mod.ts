/**
 * The crash-safe manifest history: backends (files, memory; the Kubernetes ConfigMap backend is
 * imported from `kubernetes_backend.ts` directly, so the file backend does not load the
 * Kubernetes client), the verified store and the hash-chained manifest history on top.
 *
 * @module
 */
export * from "./backend.ts";
export * from "./errors.ts";
export * from "./file_backend.ts";
export * from "./history_store.ts";
export * from "./manifest_history.ts";
export * from "./memory_backend.ts";
