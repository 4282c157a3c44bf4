/**
 * Strict JSON reading: typed values out, every problem reported with its JSON path.
 *
 * @module
 */
export * from "./duplicate_keys.ts";
export * from "./issues.ts";
export * from "./object_reader.ts";
export * from "./parse_document.ts";
export * from "./shape.ts";
export * from "./platform_list.ts";
