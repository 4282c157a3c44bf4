/**
 * contrast: confidential container deployments on Kubernetes.
 *
 * The root entry point holds what every part shares: typed errors that name the field and the
 * reason, byte helpers, strict JSON reading, and the evidence types. The attestation libraries
 * have entry points of their own: `./snp`, `./tdx`, `./x509`, `./collateral`, `./evidence`,
 * `./manifest`, `./policy`, and `./testing` for the simulators.
 *
 * @example Errors carry the field they are about
 * ```ts
 * import { decodeHex, ParseError } from "./mod.ts";
 *
 * try {
 *   decodeHex("zz", "hostData", 32);
 * } catch (e) {
 *   if (e instanceof ParseError) console.log(e.field); // "hostData"
 * }
 * ```
 *
 * @module
 */
export * from "./util/errors/mod.ts";
export * from "./util/bytes/mod.ts";
export * from "./util/json/mod.ts";
export * from "./evidence/mod.ts";
