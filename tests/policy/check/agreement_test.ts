/**
 * The TypeScript checker (compiled wasm through opa-wasm) and the Rego interpreter
 * (`rego/cases_test.rego` under `opa test`) agree on the shared cases in `rego/cases/`; and the
 * shared cases are what the checker produces today.
 */
import assert from "node:assert/strict";
import { CompiledRules } from "../../../rego/evaluator.ts";
import { applyPatch, type PatchOp } from "../../../rego/json_patch.ts";
import { type AgreementCase, buildCases, CASES_URL } from "./write_cases.ts";

const file = JSON.parse(await Deno.readTextFile(CASES_URL)) as {
  fixture_pod: { policy_data: unknown; cases: AgreementCase[] };
};
const { policy_data: policyData, cases } = file.fixture_pod;
const rules = await CompiledRules.load();

Deno.test("the wasm evaluator gives every shared case its recorded verdict", async () => {
  const legit = new Map(cases.filter((c) => c.input !== undefined).map((c) => [c.name, c.input]));
  assert.ok(cases.length > 50);
  const disagreements: string[] = [];
  for (const c of cases) {
    const input = c.input ?? applyPatch(structuredClone(legit.get(c.base!)), c.patch as PatchOp[]);
    assert.ok(input !== undefined, `${c.name}: no base ${c.base}`);
    const ev = await rules.evaluator(policyData, c.state as Record<string, unknown>);
    if (ev.decide(c.type, input).allowed !== c.allowed) disagreements.push(c.name);
  }
  assert.deepEqual(disagreements, []);
});

Deno.test("the shared cases are current (rewrite with write_cases.ts after changes)", async () => {
  const built = await buildCases();
  assert.equal(built.cases.length, cases.length);
  assert.deepEqual(
    built.cases.map((c) => [c.name, c.type, c.allowed]),
    cases.map((c) => [c.name, c.type, c.allowed]),
  );
});
