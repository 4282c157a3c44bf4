/**
 * One evaluation of a loaded opa-wasm policy through the module's own `opa_eval` export (OPA's
 * wasm ABI 1.2), the call `LoadedPolicy.evaluate` makes, without its per-call costs: it builds a
 * `TextEncoder` and a `TextDecoder` for every evaluation, copies the encoded input once more into
 * the module's memory and looks the entrypoint up by name. Here the input is encoded straight into
 * the module's memory with one encoder, the result decoded with one decoder (the two common result
 * sets, allowed or denied without state operations, are recognised by their bytes), and the
 * entrypoint is a number. Measured on the network requests (a few µs each), this is about 1.5 µs
 * less per evaluation (`scripts/bench_policy_baseline.ts`). The fields used (`mem`,
 * `wasmInstance`, `dataAddr`, `dataHeapPtr`, `minorVersion`) are public in opa-wasm's type
 * declarations; a policy without them, or with an older ABI, is evaluated by its own `evaluate`.
 * `tests/rego/direct_evaluation_test.ts` checks that both give the same result set.
 *
 * @module
 */
import { ParseError, UnavailableError } from "../util/errors/mod.ts";

/** What opa-wasm's `LoadedPolicy` offers (the fields of its type declarations this module uses). */
export interface LoadedPolicy {
  readonly entrypoints: Record<string, number>;
  setData(data: object): void;
  evaluate(input: unknown, entrypoint?: string | number): unknown;
  readonly minorVersion?: unknown;
  readonly mem?: WebAssembly.Memory;
  readonly wasmInstance?: WebAssembly.Instance | WebAssembly.WebAssemblyInstantiatedSource;
  readonly dataAddr?: number;
  readonly dataHeapPtr?: number;
}

/**
 * Replaces one top-level field of the policy's data document (e.g. `pstate`) with `value`,
 * leaving the rest where it is in the module's memory.
 */
export type DataFieldReplacement = (field: string, value: unknown) => void;

/** Evaluates `input` at the numbered entrypoint and returns opa-wasm's raw result set. */
export type EntrypointEvaluation = (input: unknown, entrypoint: number) => unknown;

/** The module's `opa_eval`: returns the address of the NUL-terminated JSON result set. */
/** The module's exports for data updates (OPA's wasm ABI 1.1 and later). */
interface DataExports {
  opa_heap_ptr_get(): number;
  opa_heap_ptr_set(addr: number): void;
  opa_malloc(bytes: number): number;
  opa_json_parse(addr: number, len: number): number;
  opa_value_add_path(base: number, path: number, value: number): number;
}

type OpaEval = (
  reserved: number,
  entrypoint: number,
  dataAddr: number,
  inputAddr: number,
  inputLen: number,
  heapAddr: number,
  format: number,
) => number;

const PAGE_BYTES = 64 * 1024;
/** Stateless: shared by every evaluation. */
const ENCODER = new TextEncoder();
/** Stateless (no streaming): shared by every evaluation. */
const DECODER = new TextDecoder();

/**
 * The fastest evaluation `policy` allows: direct through `opa_eval` when it exposes ABI 1.2 or
 * later, otherwise its own `evaluate`.
 */
export function entrypointEvaluation(policy: LoadedPolicy): EntrypointEvaluation {
  const direct = directEvaluation(policy);
  return direct ?? ((input, entrypoint) => policy.evaluate(input, entrypoint));
}

/** Direct evaluation through `opa_eval`, or `undefined` when `policy` does not expose it. */
export function directEvaluation(policy: LoadedPolicy): EntrypointEvaluation | undefined {
  const { mem, wasmInstance, minorVersion } = policy;
  if (!(mem instanceof WebAssembly.Memory) || typeof minorVersion !== "number") return undefined;
  if (minorVersion < 2) return undefined;
  const instance = wasmInstance instanceof WebAssembly.Instance
    ? wasmInstance
    : wasmInstance?.instance;
  const opaEval = instance?.exports.opa_eval;
  if (typeof opaEval !== "function") return undefined;
  if (typeof policy.dataAddr !== "number" || typeof policy.dataHeapPtr !== "number") {
    return undefined;
  }
  return (input, entrypoint) => evaluateDirect(policy, mem, opaEval as OpaEval, input, entrypoint);
}

/**
 * Replacement of a top-level data field in place through the module's `opa_value_add_path`, or
 * `undefined` when `policy` does not expose it (then set the whole data document again). opa-wasm's
 * `setData` serialises and parses the whole document: the pod's policy data (tens of KB) again for
 * each change of the small policy state. Here only the new value and its path are parsed, into the
 * heap after the data document, which is then taken to end after them (the input of the next
 * evaluation goes there); the replaced value stays in memory until the next `setData`, which
 * starts the data document afresh.
 */
export function dataFieldReplacement(policy: LoadedPolicy): DataFieldReplacement | undefined {
  const { mem, wasmInstance } = policy;
  if (!(mem instanceof WebAssembly.Memory) || directEvaluation(policy) === undefined) {
    return undefined;
  }
  const instance = wasmInstance instanceof WebAssembly.Instance
    ? wasmInstance
    : wasmInstance?.instance;
  const exports = instance?.exports as Partial<DataExports> | undefined;
  const names = [
    "opa_heap_ptr_get",
    "opa_heap_ptr_set",
    "opa_malloc",
    "opa_json_parse",
    "opa_value_add_path",
  ] as const;
  if (exports === undefined || names.some((name) => typeof exports[name] !== "function")) {
    return undefined;
  }
  const ex = exports as DataExports;
  // The fields opa-wasm's own evaluate and setData read and write (public in its declarations).
  const fields = policy as { dataAddr: number; dataHeapPtr: number };
  const parse = (value: unknown): number => {
    const bytes = ENCODER.encode(JSON.stringify(value));
    const addr = ex.opa_malloc(bytes.length);
    new Uint8Array(mem.buffer).set(bytes, addr);
    const parsed = ex.opa_json_parse(addr, bytes.length);
    if (parsed === 0) throw new ParseError("policy data", "the module cannot parse the new value");
    return parsed;
  };
  return (field, value) => {
    ex.opa_heap_ptr_set(fields.dataHeapPtr);
    const valueAddr = parse(value);
    const pathAddr = parse([field]);
    const errc = ex.opa_value_add_path(fields.dataAddr, pathAddr, valueAddr);
    if (errc !== 0) {
      throw new UnavailableError("policy data", `opa_value_add_path failed (${errc})`);
    }
    fields.dataHeapPtr = ex.opa_heap_ptr_get();
  };
}

function evaluateDirect(
  policy: LoadedPolicy,
  mem: WebAssembly.Memory,
  opaEval: OpaEval,
  input: unknown,
  entrypoint: number,
): unknown {
  // opa-wasm takes an ArrayBuffer as JSON text already encoded: leave that to it.
  if (input instanceof ArrayBuffer) return policy.evaluate(input, entrypoint);
  // Where opa-wasm puts the input: after the data document (setData moves both addresses).
  const inputAddr = policy.dataHeapPtr as number;
  let inputLen = 0;
  // As LoadedPolicy.evaluate: a falsy input is no input at all.
  if (input) {
    const text = JSON.stringify(input);
    // UTF-8 needs at most three bytes per UTF-16 code unit.
    const missing = inputAddr + text.length * 3 - mem.buffer.byteLength;
    if (missing > 0) mem.grow(Math.ceil(missing / PAGE_BYTES));
    const target = new Uint8Array(mem.buffer, inputAddr, text.length * 3);
    inputLen = ENCODER.encodeInto(text, target).written;
  }
  const resultAddr = opaEval(
    0,
    entrypoint,
    policy.dataAddr as number,
    inputAddr,
    inputLen,
    inputAddr + inputLen,
    0,
  );
  // The evaluation may have grown the memory: view its buffer as it is now.
  return readResultSet(new Uint8Array(mem.buffer), resultAddr);
}

/**
 * The result sets most evaluations return (a decision without state operations: every denial and
 * most allowed requests), as `opa_eval` writes them.
 */
const COMMON_RESULT_SETS: readonly { bytes: Uint8Array; allowed: boolean }[] = [true, false].map(
  (allowed) => ({
    bytes: ENCODER.encode(`[{"result":{"allowed":${allowed},"ops":[]}}]\0`),
    allowed,
  }),
);

/**
 * Parses the NUL-terminated JSON result set at `addr`. The common result sets are recognised by
 * their bytes (including the terminator) and built without decoding and parsing: the same value
 * `JSON.parse` gives for them, about 0.6 µs less. Of an allowed result with state operations (a
 * CreateContainer's) only the operations are parsed, when they are the one value between the
 * result's opening and its closing braces (then the whole text is exactly that result set).
 */
export function readResultSet(memory: Uint8Array, addr: number): unknown {
  for (const { bytes, allowed } of COMMON_RESULT_SETS) {
    if (sameBytesAt(memory, addr, bytes)) return [{ result: { allowed, ops: [] } }];
  }
  const text = resultText(memory, addr);
  if (text.startsWith(ALLOWED_OPS_PREFIX) && text.endsWith(ALLOWED_OPS_SUFFIX)) {
    const ops = parsedOrUndefined(
      text.slice(ALLOWED_OPS_PREFIX.length, text.length - ALLOWED_OPS_SUFFIX.length),
    );
    if (ops !== undefined) return [{ result: { allowed: true, ops } }];
  }
  return JSON.parse(text);
}

/** How an allowed result set with operations begins, up to the operations. */
const ALLOWED_OPS_PREFIX = `[{"result":{"allowed":true,"ops":`;
/** How it ends after them. */
const ALLOWED_OPS_SUFFIX = "}}]";

/** `text` parsed when it is one JSON value, else `undefined`. */
function parsedOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Longest result text read without the decoder (one argument per byte to `fromCharCode`). */
const ASCII_TEXT_MAX = 4096;

/**
 * The text from `addr` to the terminator (or the end of memory), found in one pass that also
 * notes whether it is ASCII: short ASCII text is read without the decoder's call into the runtime
 * (5-8 µs against 2-3 µs on CreateContainer's results evaluated once each), and the scan replaces
 * `indexOf` over the whole memory.
 */
function resultText(memory: Uint8Array, addr: number): string {
  let end = addr;
  let ascii = true;
  for (; end < memory.length; end++) {
    const byte = memory[end];
    if (byte === 0) break;
    if (byte >= 0x80) ascii = false;
  }
  const bytes = memory.subarray(addr, end);
  return ascii && bytes.length <= ASCII_TEXT_MAX
    ? String.fromCharCode.apply(null, bytes as unknown as number[])
    : DECODER.decode(bytes);
}

function sameBytesAt(memory: Uint8Array, addr: number, bytes: Uint8Array): boolean {
  if (addr + bytes.length > memory.length) return false;
  for (let i = 0; i < bytes.length; i++) {
    if (memory[addr + i] !== bytes[i]) return false;
  }
  return true;
}
