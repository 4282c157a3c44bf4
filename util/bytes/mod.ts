/**
 * Byte helpers: hex, base64, PEM, digests, constant-time comparison and a bounds-checked reader.
 *
 * @module
 */
export * from "./base64.ts";
export * from "./concat.ts";
export * from "./digest.ts";
export * from "./equal.ts";
export * from "./hex.ts";
export * from "./pem.ts";
export * from "./reader.ts";
