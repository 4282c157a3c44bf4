import assert from "node:assert/strict";
import { logPointFunctions, stepCounter } from "../../../bench/policy/step_counts.ts";
import { readPolicyWasm } from "../../../rego/evaluator.ts";
import { readRecord } from "../../../rego/compiled_record.ts";
import { SAMPLE_INTERFACE, samplePolicyData } from "../../policy/fixtures.ts";

const record = await readRecord();
const UPDATE_INTERFACE = record.entrypoints.indexOf("agent_policy/UpdateInterfaceRequest");
const count = await stepCounter(await readPolicyWasm());
const data = { agent_policy: { policy_data: await samplePolicyData() }, pstate: {} };

Deno.test("counts the same steps for the same evaluation, other steps for another path", () => {
  const allowed = count(data, { interface: SAMPLE_INTERFACE }, UPDATE_INTERFACE);
  assert.match(allowed.result, /^\[\{"result":\{"allowed":true,/);
  assert.ok(allowed.total > 1000, `${allowed.total} steps`);
  assert.equal(allowed.total, allowed.byFunction.reduce((n, [, steps]) => n + steps, 0));
  assert.ok(allowed.byFunction.some(([name]) => name.startsWith("g0.data.agent_policy.")));
  assert.deepEqual(count(data, { interface: SAMPLE_INTERFACE }, UPDATE_INTERFACE), allowed);
  const loopback = count(
    data,
    { interface: { ...SAMPLE_INTERFACE, name: "lo", IPAddresses: [] } },
    UPDATE_INTERFACE,
  );
  assert.match(loopback.result, /"allowed":false/);
  assert.notEqual(loopback.total, allowed.total);
});

Deno.test("an abort of the rules is an error naming it", () => {
  assert.throws(
    () => count(data, { interface: { ...SAMPLE_INTERFACE, hwAddr: "\ud800" } }, UPDATE_INTERFACE),
    /the rules aborted: illegal string escape character/,
  );
});

Deno.test("logPointFunctions reads each log point's function from binaryen's text", () => {
  const text = [
    "(module",
    " (func $a (param $0 i32)",
    "  (call $log_execution",
    "   (i32.const 0)",
    "  )",
    "  (loop $l (call $log_execution (i32.const 1)))",
    " )",
    " (func $g0.data.x (result i32)",
    "  (call $log_execution",
    "   (i32.const 2)",
    "  )",
    " )",
    ")",
  ].join("\n");
  assert.deepEqual(
    logPointFunctions(text),
    new Map([[0, "a"], [1, "a"], [2, "g0.data.x"]]),
  );
});
