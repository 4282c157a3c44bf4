/**
 * Typed errors of contrast: every one names the field it is about and the reason.
 *
 * @module
 */
export * from "./contrast_error.ts";
