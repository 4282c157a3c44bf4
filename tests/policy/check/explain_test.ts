import assert from "node:assert/strict";
import { ParseError } from "../../../util/errors/mod.ts";
import { CompiledRules } from "../../../rego/evaluator.ts";
import {
  explainRequests,
  leafDiffs,
  parseLoggedRequests,
  renderExplanations,
  renderPath,
} from "../../../policy/check/explain.ts";
import {
  type AgentRequest,
  cloneJson,
  type JsonObject,
} from "../../../policy/check/agent_protocol.ts";
import type { PolicyData } from "../../../policy/policy_data_types.ts";
import { fixturePolicyData, fixtureSequence } from "./fixtures.ts";

const rules = await CompiledRules.load();
const pd = await fixturePolicyData();

function legit(seed: number): AgentRequest[] {
  return fixtureSequence(seed).steps.map((s) => s.request);
}

/**
 * The explanations of `seq`'s requests before `original`, replayed, then of `input` sent in its
 * place (as the same request type), each explained against `seq`.
 */
function explainedInPlaceOf(seq: AgentRequest[], original: AgentRequest, input: JsonObject) {
  return explainRequests(
    rules,
    pd,
    [...seq.slice(0, seq.indexOf(original)), { type: original.type, input }],
    seq,
  );
}

function find(seq: AgentRequest[], type: string, name?: string): AgentRequest {
  return seq.find((r) =>
    r.type === type &&
    (name === undefined ||
      ((r.input.OCI as JsonObject)?.Annotations as JsonObject)?.[
          "io.kubernetes.cri.container-name"
        ] === name)
  )!;
}

Deno.test("an allowed request is explained as allowed", async () => {
  const seq = legit(1);
  const [e] = await explainRequests(rules, pd, [find(seq, "UpdateInterfaceRequest")], []);
  assert.equal(e.allowed, true);
  assert.match(e.summary, /allowed/);
});

Deno.test("a changed argument is pinned to OCI.Process.Args with both values", async () => {
  const seq = legit(1);
  const bad = cloneJson(find(seq, "CreateContainerRequest", "app").input);
  ((bad.OCI as JsonObject).Process as JsonObject).Args = ["/usr/bin/app", "--level", "trace"];
  const explanations = await explainedInPlaceOf(
    seq,
    find(seq, "CreateContainerRequest", "app"),
    bad,
  );
  const e = explanations.at(-1)!;
  assert.equal(e.allowed, false);
  assert.deepEqual(e.fields.map((f) => f.field), ["OCI.Process.Args"]);
  assert.deepEqual(e.fields[0].got, ["/usr/bin/app", "--level", "trace"]);
  assert.deepEqual(e.fields[0].allowedValue, ["/usr/bin/app", "--level", "debug"]);
  assert.match(renderExplanations(explanations), /command line/);
});

Deno.test("an exec of a non-probe command is pinned to process.Args", async () => {
  const seq = legit(1);
  const at = seq.findIndex((r) => r.type === "ExecProcessRequest");
  const exec = cloneJson(seq[at].input);
  (exec.process as JsonObject).Args = ["/bin/sh"];
  const out = await explainedInPlaceOf(seq, seq[at], exec);
  const e = out.at(-1)!;
  assert.equal(e.allowed, false);
  assert.deepEqual(e.fields.map((f) => f.field), ["process.Args"]);
  assert.match(e.summary, /exec probes/);
});

Deno.test("an exec into a container the policy never saw is blamed on the policy state", async () => {
  const seq = legit(1);
  const exec = find(seq, "ExecProcessRequest");
  const [e] = await explainRequests(rules, pd, [exec], seq);
  assert.equal(e.allowed, false);
  assert.deepEqual(e.fields, []);
  assert.match(e.summary, /policy state/);
});

Deno.test("a denied request with nothing to compare it with says so", async () => {
  const exec = find(legit(1), "ExecProcessRequest");
  const [e] = await explainRequests(rules, pd, [exec], []);
  assert.equal(e.allowed, false);
  assert.deepEqual(e.fields, []);
  assert.match(e.summary, /no allowed request of this type was available/);
});

Deno.test("without any allowed reference, compares with the policy data's expectation", async () => {
  const strict: PolicyData = {
    ...pd,
    containers: pd.containers.map((c) => ({
      ...c,
      namespaces: [...c.namespaces, "pid"],
    })),
  };
  const seq = legit(1);
  const create = find(seq, "CreateContainerRequest");
  const [e] = await explainRequests(rules, strict, [create], seq);
  assert.equal(e.allowed, false);
  assert.deepEqual(e.fields.map((f) => f.field), ["OCI.Linux.Namespaces"]);
  assert.match(e.summary, /policy's expectations/);
});

Deno.test("a SetPolicy request is explained as never allowed", async () => {
  const [e] = await explainRequests(rules, pd, [{
    type: "SetPolicyRequest",
    input: { policy: "package agent_policy" },
  }], legit(1));
  assert.equal(e.allowed, false);
  assert.match(e.summary, /never allowed/);
});

Deno.test("a request type the policy turns off is explained as such", async () => {
  const [e] = await explainRequests(rules, pd, [{
    type: "UpdateContainerRequest",
    input: { container_id: "ab".repeat(32), resources: null },
  }], legit(1));
  assert.equal(e.allowed, false);
  assert.match(e.summary, /policy_data\.requests\.UpdateContainerRequest is false/);
});

Deno.test("reads the agent's policy log (JSON lines), an array, or one object", () => {
  const line = JSON.stringify({ kind: "StartContainerRequest", request: { container_id: "a" } });
  assert.equal(parseLoggedRequests(`${line}\n${line}\n`).length, 2);
  assert.equal(parseLoggedRequests(`[${line},${line},${line}]`).length, 3);
  assert.equal(parseLoggedRequests(line)[0].type, "StartContainerRequest");
});

Deno.test("rejects malformed request files naming the line or field", () => {
  const line = JSON.stringify({ kind: "StartContainerRequest", request: {} });
  assert.throws(
    () => parseLoggedRequests(`${line}\n{oops\n`, "r.json"),
    (e) => e instanceof ParseError && e.field === "r.json:2",
  );
  assert.throws(
    () => parseLoggedRequests(JSON.stringify({ kind: "NoSuchRequest", request: {} }), "r.json"),
    (e) => e instanceof ParseError && e.field === "r.json.kind",
  );
  assert.throws(
    () => parseLoggedRequests(JSON.stringify({ kind: "StartContainerRequest" }), "r.json"),
    (e) => e instanceof ParseError && e.field === "r.json.request",
  );
  assert.throws(() => parseLoggedRequests("  ", "r.json"), ParseError);
});

Deno.test("leaf diffs recurse into objects and treat lists as values", () => {
  const d = leafDiffs({ a: { b: 1, c: [1] }, x: "s" }, { a: { b: 2, c: [1] }, y: 1 });
  assert.deepEqual(d.map((x) => renderPath(x.path)).sort(), ["a.b", "x", "y"]);
  assert.equal(renderPath(["OCI", "Annotations", "io.k/x"]), 'OCI.Annotations["io.k/x"]');
});

Deno.test("nested mounts sent out of order are pinned to OCI.Mounts", async () => {
  const seq = legit(1);
  const create = find(seq, "CreateContainerRequest", "app");
  const bad = cloneJson(create.input);
  const mounts = (bad.OCI as JsonObject).Mounts as JsonObject[];
  const dev = mounts.findIndex((m) => m.destination === "/dev");
  const [parent] = mounts.splice(dev, 1);
  mounts.push(parent!);
  const explanations = await explainedInPlaceOf(seq, create, bad);
  const e = explanations.at(-1)!;
  assert.equal(e.allowed, false);
  assert.deepEqual(e.fields.map((f) => f.field), ["OCI.Mounts"]);
  assert.match(e.fields[0].hint, /^\/dev\/pts comes before \/dev, which would cover it/);
  // Another mount difference keeps the general hint.
  assert.match(
    (await explainedInPlaceOf(seq, create, {
      ...bad,
      OCI: { ...(bad.OCI as JsonObject), Mounts: mounts.slice(0, -1) },
    })).at(-1)!.fields.map((f) => f.hint).join("\n"),
    /differ from the pod's volumes/,
  );
});
