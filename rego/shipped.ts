/**
 * The compiled rules contrast ships, embedded as module imports (not read from disk), so a
 * `deno bundle` or `deno compile` output carries them: the WebAssembly module `policy.wasm`, its
 * provenance record `policy.wasm.json` and the rules source `rules.rego` they were compiled from.
 * `deno task build:rego --check` keeps the three consistent.
 *
 * @module
 */
import shippedWasm from "./policy.wasm" with { type: "bytes" };
import shippedRecord from "./policy.wasm.json" with { type: "bytes" };
import shippedRules from "./rules.rego" with { type: "bytes" };

/** The committed `rego/policy.wasm` bytes (a copy, so callers cannot alter the shared one). */
export function shippedPolicyWasm(): Uint8Array {
  return shippedWasm.slice();
}

/** The committed `rego/policy.wasm.json` bytes. */
export function shippedRecordBytes(): Uint8Array {
  return shippedRecord.slice();
}

/** The committed `rego/rules.rego` as text. */
export function shippedRulesText(): string {
  return new TextDecoder().decode(shippedRules);
}
