/**
 * contrast: confidential container deployments on Kubernetes.
 *
 * The library surface shared by the CLI, the Coordinator and the Initializer.
 *
 * @module
 */
export * from "./util/errors/mod.ts";
export * from "./util/bytes/mod.ts";
export * from "./util/json/mod.ts";
export * from "./evidence/mod.ts";
