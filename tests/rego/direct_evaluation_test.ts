/**
 * Direct evaluation through `opa_eval` returns what opa-wasm's own `LoadedPolicy.evaluate`
 * returns: for every request of the fixture pod's sequence at the state the agent has then, for
 * denied variants, for inputs that are not objects (opa-wasm passes a falsy input as no input),
 * for an input larger than the module's memory (which must grow) and across `setData`. A policy
 * without the ABI 1.2 fields is evaluated by its own `evaluate`. Replacing `pstate` in place
 * (dataFieldReplacement) leaves the data document `setData` of the whole would give: the same
 * document dumped, the same results.
 */
import assert from "node:assert/strict";
import { loadPolicy } from "@open-policy-agent/opa-wasm";
import {
  dataFieldReplacement,
  directEvaluation,
  entrypointEvaluation,
  type LoadedPolicy,
  readResultSet,
} from "../../rego/direct_evaluation.ts";
import { readPolicyWasm } from "../../rego/evaluator.ts";
import { applyPatch, parsePatch } from "../../rego/json_patch.ts";
import { buildRequestSequence } from "../../policy/check/request_sequence.ts";
import { seededRandom } from "../../policy/check/random_ids.ts";
import * as fixture from "../../testing/policy/check_fixture.ts";

const wasm = await readPolicyWasm();

async function loaded(): Promise<LoadedPolicy> {
  return await loadPolicy(wasm) as unknown as LoadedPolicy;
}

/** A result or what was thrown (opa's wasm aborts on e.g. a lone surrogate escape). */
function outcome(f: () => unknown): { value?: unknown; thrown?: string } {
  try {
    return { value: f() };
  } catch (error) {
    return { thrown: String(error instanceof Error ? error.message : error) };
  }
}

/** Two instances on the same data: one evaluated by opa-wasm, one directly. */
async function pair(data: object) {
  const viaLibrary = await loaded();
  const viaDirect = await loaded();
  viaLibrary.setData(data);
  viaDirect.setData(data);
  const direct = directEvaluation(viaDirect);
  assert.ok(direct, "the committed module offers ABI 1.2");
  return {
    same(input: unknown, name: string): unknown {
      const id = viaLibrary.entrypoints[name];
      const expected = outcome(() => viaLibrary.evaluate(input, name));
      const actual = outcome(() => direct(input, id));
      assert.deepEqual(actual, expected, `${name} ${JSON.stringify(input)?.slice(0, 80)}`);
      return expected.value;
    },
    setData(d: object) {
      viaLibrary.setData(d);
      viaDirect.setData(d);
    },
  };
}

Deno.test("direct evaluation returns opa-wasm's result for every request of the fixture pod", async () => {
  const policyData = await fixture.fixturePolicyData();
  const seq = buildRequestSequence({
    workload: fixture.fixtureWorkload(),
    images: fixture.IMAGES,
    cluster: fixture.fixtureCluster(),
    rng: seededRandom(1),
  });
  let state: Record<string, unknown> = {};
  const data = () => ({ agent_policy: { policy_data: policyData }, pstate: state });
  const p = await pair(data());
  let allowed = 0;
  for (const step of seq.steps) {
    const name = `agent_policy/${step.request.type}`;
    const input = step.request.input as Record<string, unknown>;
    // A denied variant first (an unknown field the rules never admit at the top, or a changed one).
    p.same({ ...input, container_id: "../../etc" }, name);
    const [result] = p.same(input, name) as [{ result: { allowed: boolean; ops: unknown } }];
    if (result.result.allowed) allowed++;
    const ops = parsePatch(result.result.ops ?? []);
    if (result.result.allowed && ops.length > 0) {
      state = (applyPatch({ pstate: state }, ops).pstate ?? {}) as Record<string, unknown>;
      p.setData(data());
    }
  }
  assert.ok(allowed >= seq.steps.length - 1, `the sequence is allowed (${allowed})`);
});

/** The module's data document, dumped by the module itself (opa_json_dump). */
function dumpedData(policy: LoadedPolicy): unknown {
  const instance = policy.wasmInstance instanceof WebAssembly.Instance
    ? policy.wasmInstance
    : policy.wasmInstance!.instance;
  const dump = instance.exports.opa_json_dump as (addr: number) => number;
  const addr = dump(policy.dataAddr!);
  // (after the dump, which may have grown the memory)
  return readResultSet(new Uint8Array(policy.mem!.buffer), addr);
}

Deno.test("replacing pstate in place gives the data and results setData of the whole gives", async () => {
  const policyData = await fixture.fixturePolicyData();
  const seq = buildRequestSequence({
    workload: fixture.fixtureWorkload(),
    images: fixture.IMAGES,
    cluster: fixture.fixtureCluster(),
    rng: seededRandom(4),
  });
  const whole = await loaded();
  const inPlace = await loaded();
  let state: Record<string, unknown> = {};
  const data = () => ({ agent_policy: { policy_data: policyData }, pstate: state });
  whole.setData(data());
  inPlace.setData(data());
  const replace = dataFieldReplacement(inPlace);
  assert.ok(replace, "the committed module offers opa_value_add_path");
  const [viaWhole, viaInPlace] = [directEvaluation(whole)!, directEvaluation(inPlace)!];
  let changes = 0;
  for (const step of seq.steps) {
    const id = whole.entrypoints[`agent_policy/${step.request.type}`];
    const expected = viaWhole(step.request.input, id) as [
      { result: { allowed: boolean; ops: [] } },
    ];
    assert.deepEqual(viaInPlace(step.request.input, id), expected, step.request.type);
    const ops = parsePatch(expected[0].result.ops ?? []);
    if (!expected[0].result.allowed || ops.length === 0) continue;
    state = (applyPatch({ pstate: state }, ops).pstate ?? {}) as Record<string, unknown>;
    whole.setData(data());
    replace("pstate", state);
    changes++;
    assert.deepEqual(dumpedData(inPlace), dumpedData(whole));
    assert.deepEqual(dumpedData(inPlace), data());
  }
  assert.ok(changes >= 5, `the sequence changes the state (${changes})`);
  // A new document afterwards starts afresh: setData after replacements.
  inPlace.setData({ pstate: { a: 1 } });
  replace("pstate", { b: 2 });
  assert.deepEqual(dumpedData(inPlace), { pstate: { b: 2 } });
  // Without the exports (a policy object lacking them) there is no replacement.
  assert.equal(dataFieldReplacement({ ...inPlace, wasmInstance: undefined }), undefined);
});

Deno.test("direct evaluation: inputs that are not objects, a large input, other data", async () => {
  const p = await pair({ agent_policy: { policy_data: await fixture.fixturePolicyData() } });
  const name = "agent_policy/CreateContainerRequest";
  for (
    const input of [undefined, null, 0, "", false, true, 1, "x", [], {}, [1, "a"], {
      a: "é\u0000\ud800",
    }]
  ) {
    p.same(input, name);
  }
  // Several MB of input: more than the instance's memory, which must grow for it.
  const big = { OCI: { Env: Array.from({ length: 40_000 }, (_, i) => `V${i}=${"ü".repeat(40)}`) } };
  p.same(big, name);
  p.same(
    { interface: { name: "eth0", hwAddr: "ca:26:d9:7d:7d:07" } },
    "agent_policy/UpdateInterfaceRequest",
  );
  p.setData({});
  p.same(big, name);
  p.same(
    { interface: { name: "eth0", hwAddr: "ca:26:d9:7d:7d:07" } },
    "agent_policy/UpdateInterfaceRequest",
  );
});

Deno.test("a policy without opa_eval's fields is evaluated by its own evaluate", () => {
  const calls: unknown[] = [];
  const policy: LoadedPolicy = {
    entrypoints: { "agent_policy/X": 3 },
    setData() {},
    evaluate(input, entrypoint) {
      calls.push([input, entrypoint]);
      return [{ result: { allowed: false, ops: [] } }];
    },
  };
  assert.equal(directEvaluation(policy), undefined);
  assert.equal(
    directEvaluation({ ...policy, minorVersion: 1, mem: new WebAssembly.Memory({ initial: 1 }) }),
    undefined,
  );
  const evaluate = entrypointEvaluation(policy);
  assert.deepEqual(evaluate({ a: 1 }, 3), [{ result: { allowed: false, ops: [] } }]);
  assert.deepEqual(calls, [[{ a: 1 }, 3]]);
});

Deno.test("result sets read from memory equal JSON.parse of their text, common ones included", () => {
  const texts = [
    '[{"result":{"allowed":true,"ops":[]}}]',
    '[{"result":{"allowed":false,"ops":[]}}]',
    '[{"result":{"allowed":true,"ops":[{"op":"add","path":"/a","value":1}]}}]',
    '[{"result":{"allowed":true,"ops":[]},"x":1}]',
    '[{"result":{"allowed":"true","ops":[]}}]',
    // begin and end as an allowed result with operations, but more than its operations between
    '[{"result":{"allowed":true,"ops":[1]}},{"result":{"allowed":true,"ops":[2]}}]',
    '[{"result":{"allowed":true,"ops":[],"z":{}}}]',
    '[{"result":{"allowed":true,"ops":[{"op":"add","path":"/a","value":{"b":"}}]"}}]}}]',
    '[{"result":{"allowed":true,"ops":{"op":"add"}}}]',
    "[]",
    // not ASCII (decoded as UTF-8), and longer than what is read without the decoder
    '[{"result":{"allowed":true,"ops":[{"op":"add","path":"/p/é€𝄞","value":"ü"}]}}]',
    `[{"result":{"allowed":true,"ops":[{"op":"add","path":"/a","value":"${"x".repeat(5000)}"}]}}]`,
  ];
  for (const text of texts) {
    for (const at of [0, 7]) {
      const memory = new Uint8Array(at + text.length * 4 + 4).fill(0x20);
      const bytes = new TextEncoder().encode(text);
      memory.set(bytes, at);
      memory[at + bytes.length] = 0;
      assert.deepEqual(readResultSet(memory, at), JSON.parse(text), text);
    }
  }
  // A common result set not followed by its terminator is not taken for it.
  const text = '[{"result":{"allowed":true,"ops":[]}}]';
  const memory = new TextEncoder().encode(`${text}   \0`);
  assert.deepEqual(readResultSet(memory, 0), JSON.parse(text));
  assert.throws(() => readResultSet(new TextEncoder().encode(`${text}]\0`), 0), SyntaxError);
  // Without a terminator the text runs to the end of memory.
  assert.deepEqual(readResultSet(new TextEncoder().encode(text), 0), JSON.parse(text));
  // Two evaluations never share a result object.
  const shared = new TextEncoder().encode(`${text}\0`);
  assert.notEqual(readResultSet(shared, 0), readResultSet(shared, 0));
});
