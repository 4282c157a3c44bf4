/**
 * The optimisation pass `deno task build:rego` runs over opa's WebAssembly output: binaryen's
 * `-O3` (the `binaryen` npm package, pinned in deno.json), for the WebAssembly MVP features opa
 * emits, keeping the function names (profiles and traps name the rules' functions).
 *
 * Why: opa emits the rules' plans as straightforward stack code (a local per temporary, a block per
 * statement). V8 runs much of a one-shot evaluation in its baseline compiler (Liftoff), which
 * translates instruction by instruction, so fewer instructions are less time: the example app's
 * CreateContainer requests, each evaluated once in sequence, cost 0.86–0.93x with the optimised
 * module, the other request types 0.6–0.95x (README, policy performance). binaryen's default
 * passes keep what the module computes (traps included); the verdicts are checked on the optimised
 * module as on opa's own (`rego/cases/`, the mutants, the Kata captures), and its exports are
 * checked here to be opa's.
 *
 * The package (~12 MB of wasm and JS) is imported only when compiling.
 *
 * @module
 */

/** The binaryen release the build uses (the version of the `binaryen` import in deno.json). */
const BINARYEN_VERSION = "132.0.0";

/** binaryen's optimisation level (`-O3`: speed, no size-over-speed trade). */
const OPTIMIZE_LEVEL = 3;

/** What {@link optimizeWasm} runs, as the compiled rules' record names it. */
export const WASM_OPTIMIZER = `binaryen ${BINARYEN_VERSION} -O${OPTIMIZE_LEVEL}`;

type Binaryen = typeof import("binaryen").default;
type BinaryenModule = InstanceType<Binaryen["Module"]>;

/** What the module offers and needs (see {@link moduleInterface}). */
interface ModuleInterface {
  /** `kind name` of every export. */
  readonly exports: ReadonlySet<string>;
  /** `kind module.base` of every import (functions, globals, the memory). */
  readonly imports: ReadonlySet<string>;
}

/**
 * `wasm` optimised by binaryen: validated before and after, with the same exports and no import
 * the input lacks (imports nothing calls, such as opa's unused `opa_builtin<n>`, are dropped; the
 * host still offers them, which WebAssembly allows).
 *
 * @throws {Error} when binaryen cannot read or validate the module, or the optimised module's
 *   exports differ from the input's, or it imports something the input does not
 */
export async function optimizeWasm(wasm: Uint8Array): Promise<Uint8Array> {
  const { default: binaryen } = await import("binaryen");
  const module = readMvp(binaryen, wasm);
  try {
    if (!module.validate()) {
      throw new Error("binaryen: opa's wasm does not validate for the WebAssembly MVP features");
    }
    const before = moduleInterface(binaryen, module);
    binaryen.setOptimizeLevel(OPTIMIZE_LEVEL);
    binaryen.setShrinkLevel(0);
    binaryen.setDebugInfo(true);
    module.optimize();
    if (!module.validate()) throw new Error("binaryen: the optimised wasm does not validate");
    const optimized = module.emitBinary();
    const reread = readMvp(binaryen, optimized);
    try {
      assertCompatible(before, moduleInterface(binaryen, reread));
    } finally {
      reread.dispose();
    }
    return optimized;
  } finally {
    module.dispose();
  }
}

/** `wasm` read by binaryen, limited to the WebAssembly MVP features (all that opa emits). */
function readMvp(binaryen: Binaryen, wasm: Uint8Array): BinaryenModule {
  const module = binaryen.readBinary(wasm);
  module.setFeatures(binaryen.Features.MVP);
  return module;
}

/** The exports and imports of `module`. */
function moduleInterface(binaryen: Binaryen, module: BinaryenModule): ModuleInterface {
  const exports = new Set<string>();
  for (let i = 0; i < module.getNumExports(); i++) {
    const e = binaryen.getExportInfo(module.getExportByIndex(i));
    exports.add(`${e.kind} ${e.name}`);
  }
  const imports = new Set<string>();
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const f = binaryen.getFunctionInfo(module.getFunctionByIndex(i));
    if (f.module) imports.add(`function ${f.module}.${f.base}`);
  }
  for (let i = 0; i < module.getNumGlobals(); i++) {
    const g = binaryen.getGlobalInfo(module.getGlobalByIndex(i));
    if (g.module) imports.add(`global ${g.module}.${g.base}`);
  }
  if (module.hasMemory()) {
    const m = module.getMemoryInfo();
    if (m.module) imports.add(`memory ${m.module}.${m.base} initial ${m.initial} max ${m.max}`);
  }
  return { exports, imports };
}

/**
 * Checks that `after` exports exactly what `before` does and imports nothing `before` does not.
 *
 * @throws {Error} naming the first export or import that breaks this
 */
export function assertCompatible(before: ModuleInterface, after: ModuleInterface): void {
  const lost = [...before.exports].find((e) => !after.exports.has(e));
  const gained = [...after.exports].find((e) => !before.exports.has(e));
  const imported = [...after.imports].find((i) => !before.imports.has(i));
  if (lost !== undefined) throw new Error(`binaryen dropped the export ${lost}`);
  if (gained !== undefined) throw new Error(`binaryen added the export ${gained}`);
  if (imported !== undefined) throw new Error(`binaryen added the import ${imported}`);
}
