/**
 * Deterministic work counts of one policy evaluation, free of the machine's load: binaryen's
 * `log-execution` pass makes the rules' wasm call an import at every function entry and loop
 * iteration, and one `opa_eval` of a request counts those calls per function. Two builds of the
 * rules compare by their counts on the same request, data and state where wall or CPU time on a
 * shared machine moves by more than the change (the counts are not time: a step of RE2's program
 * compiler costs more than one of a string scan, so a change is confirmed in time as well). Builds
 * optimised differently compare only roughly: a function inlined into its callers logs no entry.
 *
 * A development aid (binaryen is loaded only here, never by contrast itself).
 *
 * @module
 */

/** Steps of one evaluation. */
interface StepCounts {
  /** Function entries and loop iterations in all. */
  readonly total: number;
  /** Steps per function, most first. */
  readonly byFunction: readonly (readonly [name: string, steps: number])[];
  /** The result set as `opa_eval` wrote it (JSON). */
  readonly result: string;
}

/** The exports of an opa wasm module (ABI 1.2) this module calls. */
interface OpaExports {
  opa_malloc(bytes: number): number;
  opa_json_parse(addr: number, len: number): number;
  opa_heap_ptr_get(): number;
  opa_eval(
    reserved: number,
    entrypoint: number,
    data: number,
    input: number,
    inputLen: number,
    heap: number,
    format: number,
  ): number;
}

/** An instrumented module and the function each log point belongs to. */
interface Instrumented {
  readonly wasm: Uint8Array;
  /** The function of each log point, by the point's number. */
  readonly functionOf: ReadonlyMap<number, string>;
}

const PAGE_BYTES = 64 * 1024;

/** Counts the steps of evaluating `input` at `entrypoint` with `data` as the data document. */
type StepCounter = (data: unknown, input: unknown, entrypoint: number) => StepCounts;

/**
 * A counter for `wasm` (instrumented and compiled once; each count runs on a fresh instance).
 * `entrypoint` is the number of `agent_policy/<Request>`: its position in the compiled rules'
 * record.
 *
 * @throws {Error} (from the counter) when the module aborts, or cannot parse the data
 */
export async function stepCounter(wasm: Uint8Array): Promise<StepCounter> {
  const { wasm: instrumented, functionOf } = await instrument(wasm);
  const module = await WebAssembly.compile(instrumented as Uint8Array<ArrayBuffer>);
  return (data, input, entrypoint) => countOnce(module, functionOf, data, input, entrypoint);
}

function countOnce(
  module: WebAssembly.Module,
  functionOf: ReadonlyMap<number, string>,
  data: unknown,
  input: unknown,
  entrypoint: number,
): StepCounts {
  const counts = new Map<number, number>();
  const memory = new WebAssembly.Memory({ initial: 5 });
  const abort = (addr: number) => {
    throw new Error(`the rules aborted: ${cString(memory, addr)}`);
  };
  const noBuiltin = () => {
    throw new Error("the rules called a host builtin");
  };
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory,
      opa_abort: abort,
      opa_println: () => {},
      opa_builtin0: noBuiltin,
      opa_builtin1: noBuiltin,
      opa_builtin2: noBuiltin,
      opa_builtin3: noBuiltin,
      opa_builtin4: noBuiltin,
      log_execution: (point: number) => counts.set(point, (counts.get(point) ?? 0) + 1),
    },
  });
  const ex = instance.exports as unknown as OpaExports;
  const dataAddr = parseInto(ex, memory, JSON.stringify(data));
  const inputBytes = new TextEncoder().encode(JSON.stringify(input));
  const inputAddr = ex.opa_heap_ptr_get();
  reserve(memory, inputAddr + inputBytes.length);
  new Uint8Array(memory.buffer).set(inputBytes, inputAddr);
  counts.clear();
  const resultAddr = ex.opa_eval(
    0,
    entrypoint,
    dataAddr,
    inputAddr,
    inputBytes.length,
    inputAddr + inputBytes.length,
    0,
  );
  return { ...tally(counts, functionOf), result: cString(memory, resultAddr) };
}

/** The module with binaryen's `log-execution` instrumentation, and its points' functions. */
async function instrument(wasm: Uint8Array): Promise<Instrumented> {
  const { default: binaryen } = await import("binaryen");
  const module = binaryen.readBinary(wasm);
  try {
    module.setFeatures(binaryen.Features.MVP);
    binaryen.setDebugInfo(true);
    module.runPasses(["log-execution"]);
    return { wasm: module.emitBinary(), functionOf: logPointFunctions(module.emitText()) };
  } finally {
    module.dispose();
  }
}

/**
 * The function of each `log_execution` call in the module's text: binaryen prints each function
 * as `(func $name …` at the start of a line, and each call with its constant point number.
 */
export function logPointFunctions(text: string): Map<number, string> {
  const functionOf = new Map<number, string>();
  for (const chunk of text.split("\n (func $").slice(1)) {
    const name = chunk.slice(0, chunk.search(/\s/));
    for (const call of chunk.matchAll(/\(call \$log_execution\s*\(i32\.const (\d+)\)/g)) {
      functionOf.set(Number(call[1]), name);
    }
  }
  return functionOf;
}

/** The counts per function, most first, and their total. */
function tally(
  counts: ReadonlyMap<number, number>,
  functionOf: ReadonlyMap<number, string>,
): Omit<StepCounts, "result"> {
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const [point, n] of counts) {
    const name = functionOf.get(point) ?? `(log point ${point})`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + n);
    total += n;
  }
  return { total, byFunction: [...byFunction].sort((a, b) => b[1] - a[1]) };
}

/** Parses `json` into the module's heap (as opa-wasm's `setData` does); returns the value. */
function parseInto(ex: OpaExports, memory: WebAssembly.Memory, json: string): number {
  const bytes = new TextEncoder().encode(json);
  const addr = ex.opa_malloc(bytes.length);
  new Uint8Array(memory.buffer).set(bytes, addr);
  const value = ex.opa_json_parse(addr, bytes.length);
  if (value === 0) throw new Error("the module cannot parse the data document");
  return value;
}

/** Grows `memory` to hold `end` bytes. */
function reserve(memory: WebAssembly.Memory, end: number): void {
  const missing = end - memory.buffer.byteLength;
  if (missing > 0) memory.grow(Math.ceil(missing / PAGE_BYTES));
}

/** The NUL-terminated UTF-8 text at `addr`. */
function cString(memory: WebAssembly.Memory, addr: number): string {
  const bytes = new Uint8Array(memory.buffer);
  const end = bytes.indexOf(0, addr);
  return new TextDecoder().decode(bytes.subarray(addr, end < 0 ? bytes.length : end));
}
