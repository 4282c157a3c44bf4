/**
 * A request the wasm module cannot read (a lone surrogate: OPA's JSON reader aborts with
 * "illegal string escape character", thrown by opa-wasm as a plain string) is denied, with the
 * reason, instead of escaping as an internal error; the instance keeps working afterwards.
 */
import assert from "node:assert/strict";
import { CompiledRules, wasmAbortReason } from "../../rego/evaluator.ts";
import { SAMPLE_INTERFACE, samplePolicyData } from "../policy/fixtures.ts";

const INTERFACE = SAMPLE_INTERFACE;

Deno.test("a lone surrogate in a request is a denial naming the abort, and the instance stays usable", async () => {
  const rules = await CompiledRules.load();
  using evaluator = await rules.evaluator(await samplePolicyData());
  const allowed = evaluator.decide("UpdateInterfaceRequest", { interface: INTERFACE });
  assert.equal(allowed.allowed, true);
  for (const bad of ["\ud800a:26:d9:7d:7d:07", "ca:26:d9:7d:7d:0\udc00"]) {
    const decision = evaluator.evaluate("UpdateInterfaceRequest", {
      interface: { ...INTERFACE, hwAddr: bad },
    });
    assert.equal(decision.allowed, false);
    assert.deepEqual(decision.ops, []);
    assert.match(decision.aborted ?? "", /illegal string escape character/);
    assert.match(decision.error ?? "", /^the rules aborted: illegal string escape/);
  }
  assert.deepEqual(evaluator.decide("UpdateInterfaceRequest", { interface: INTERFACE }), allowed);
});

Deno.test("wasmAbortReason: opa_abort strings and wasm traps are aborts, anything else is not", () => {
  assert.equal(
    wasmAbortReason("illegal string escape character"),
    "illegal string escape character",
  );
  assert.equal(
    wasmAbortReason(new WebAssembly.RuntimeError("unreachable")),
    "wasm trap: unreachable",
  );
  assert.equal(wasmAbortReason(new TypeError("x is undefined")), undefined);
  assert.equal(wasmAbortReason(undefined), undefined);
});
