import assert from "node:assert/strict";
import { assertCompatible, optimizeWasm, WASM_OPTIMIZER } from "../../scripts/wasm_optimizer.ts";

/** A wasm section: id, byte length (one LEB128 byte: sections here are short), content. */
function section(id: number, content: number[]): number[] {
  assert.ok(content.length < 128);
  return [id, content.length, ...content];
}

/** `name` as a wasm name (length byte, UTF-8). */
function name(text: string): number[] {
  return [text.length, ...new TextEncoder().encode(text)];
}

/**
 * A module importing `env.unused` (never called) and exporting `add(a, b)` computed the long way
 * (through a local and a redundant block), with `body` as the function's code when given.
 */
function module(body?: number[]): Uint8Array {
  const code = body ??
    [
      0x01, // one local group
      0x01, // one local
      0x7f, // i32
      0x02, // block
      0x40, // no result
      0x20, // local.get 0
      0x00,
      0x20, // local.get 1
      0x01,
      0x6a, // i32.add
      0x21, // local.set 2
      0x02,
      0x0b, // end block
      0x20, // local.get 2
      0x02,
      0x0b, // end
    ];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    // types: () -> (), (i32, i32) -> i32
    ...section(1, [0x02, 0x60, 0x00, 0x00, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f]),
    // import env.unused: function of type 0
    ...section(2, [0x01, ...name("env"), ...name("unused"), 0x00, 0x00]),
    // one function of type 1
    ...section(3, [0x01, 0x01]),
    // export add: function 1 (0 is the import)
    ...section(7, [0x01, ...name("add"), 0x00, 0x01]),
    ...section(10, [0x01, code.length, ...code]),
  ]);
}

Deno.test("optimizeWasm keeps the exports and what they compute, and drops an unused import", async () => {
  const input = module();
  const output = await optimizeWasm(input);
  assert.ok(output.length < input.length, `${output.length} bytes, input ${input.length}`);
  const compiled = await WebAssembly.compile(output as Uint8Array<ArrayBuffer>);
  assert.deepEqual(WebAssembly.Module.exports(compiled), [{ name: "add", kind: "function" }]);
  assert.deepEqual(WebAssembly.Module.imports(compiled), []);
  const instance = await WebAssembly.instantiate(compiled, { env: { unused: () => {} } });
  assert.equal((instance.exports.add as (a: number, b: number) => number)(40, 2), 42);
  assert.deepEqual(await optimizeWasm(input), output, "deterministic");
  assert.match(WASM_OPTIMIZER, /^binaryen \d+\.\d+\.\d+ -O3$/);
});

Deno.test("optimizeWasm refuses a module beyond the WebAssembly MVP features opa emits", async () => {
  // i32.extend8_s (sign-extension operators, not in the MVP) on the first argument.
  const signExt = [0x00, 0x20, 0x00, 0xc0, 0x0b];
  await assert.rejects(optimizeWasm(module(signExt)), /does not validate for the WebAssembly MVP/);
});

Deno.test("assertCompatible refuses a lost or added export and an added import", () => {
  const base = {
    exports: new Set(["0 opa_eval", "2 memory"]),
    imports: new Set(["function env.opa_abort", "function env.opa_builtin0"]),
  };
  assertCompatible(base, base);
  assertCompatible(base, { ...base, imports: new Set(["function env.opa_abort"]) });
  assert.throws(
    () => assertCompatible(base, { ...base, exports: new Set(["2 memory"]) }),
    /dropped the export 0 opa_eval/,
  );
  assert.throws(
    () => assertCompatible(base, { ...base, exports: new Set([...base.exports, "0 extra"]) }),
    /added the export 0 extra/,
  );
  assert.throws(
    () =>
      assertCompatible(base, {
        ...base,
        imports: new Set([...base.imports, "function env.opa_println"]),
      }),
    /added the import function env.opa_println/,
  );
});
