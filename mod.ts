/**
 * contrast: confidential container deployments on Kubernetes.
 *
 * The library surface shared by the CLI, the Coordinator and the Initializer.
 *
 * @module
 */
export * from "./errors/mod.ts";
export * from "./bytes/mod.ts";
export * from "./json/mod.ts";
export * from "./evidence/mod.ts";
