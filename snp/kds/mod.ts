/**
 * AMD Key Distribution Service: URLs, the verified client, and the collateral-source interface
 * the verifier uses.
 *
 * @module
 */
export * from "./client.ts";
export * from "./source.ts";
export * from "./urls.ts";
