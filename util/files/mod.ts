/**
 * Files: crash-safe replacement and reading files that may be absent.
 *
 * @module
 */
export * from "./atomic_write.ts";
export * from "./read_if_exists.ts";
export * from "./read_input.ts";
export * from "./yaml_paths.ts";
