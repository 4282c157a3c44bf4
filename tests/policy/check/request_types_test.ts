/**
 * Each agent request type in both directions against the compiled rules and the fixture pod's
 * policy: the legitimate request (in the state the sequence reaches) is allowed, its tampered
 * variants are denied, including the state-dependent ones.
 */
import assert from "node:assert/strict";
import { CompiledRules, type PolicyEvaluator } from "../../../rego/evaluator.ts";
import {
  type AgentRequest,
  cloneJson,
  type JsonObject,
} from "../../../policy/check/agent_protocol.ts";
import {
  buildRequestSequence,
  type RequestSequence,
  type Step,
} from "../../../policy/check/request_sequence.ts";
import { mutantsOf, stateMutantsAfter } from "../../../policy/check/mutations.ts";
import { seededRandom } from "../../../policy/check/random_ids.ts";
import { fixtureCluster, fixturePolicyData, fixtureWorkload, IMAGES } from "./fixtures.ts";

const rules = await CompiledRules.load();
const pd = await fixturePolicyData();
const seq: RequestSequence = buildRequestSequence({
  workload: fixtureWorkload(),
  images: IMAGES,
  cluster: fixtureCluster(),
  rng: seededRandom(11),
});

/** An evaluator that has replayed the sequence up to (not including) `step`. */
async function stateBefore(step: Step): Promise<PolicyEvaluator> {
  const ev = await rules.evaluator(pd);
  for (const s of seq.steps) {
    if (s === step) break;
    assert.ok(ev.evaluate(s.request.type, s.request.input).allowed, `${s.label} denied`);
  }
  return ev;
}

function stepOf(type: string, role?: string): Step {
  const s = seq.steps.find((x) =>
    x.request.type === type && (role === undefined || x.context.role === role)
  );
  assert.ok(s, `no ${type} ${role ?? ""}`);
  return s;
}

function allowed(ev: PolicyEvaluator, r: AgentRequest): boolean {
  return ev.decide(r.type, r.input).allowed;
}

async function bothDirections(type: string, role?: string, minimumMutants = 1) {
  const step = stepOf(type, role);
  const ev = await stateBefore(step);
  assert.equal(allowed(ev, step.request), true, `${step.label} should be allowed`);
  const mutants = mutantsOf(step, seq, seededRandom(5)).filter((m) => m.expectation === "deny");
  assert.ok(mutants.length >= minimumMutants);
  for (const m of mutants) {
    assert.equal(allowed(ev, m.request), false, `${step.label}: "${m.name}" must be denied`);
  }
  return { step, ev };
}

Deno.test("UpdateInterface: eth0 allowed; lo and loopback addresses denied", async () => {
  await bothDirections("UpdateInterfaceRequest", undefined, 2);
});

Deno.test("UpdateRoutes: pod routes allowed; routes from 127.0.0.1 or via lo denied", async () => {
  await bothDirections("UpdateRoutesRequest", undefined, 2);
});

Deno.test("AddARPNeighbors: gateway allowed; neighbour on lo denied", async () => {
  await bothDirections("AddARPNeighborsRequest");
});

Deno.test("CreateSandbox: allowed once; kernel modules, guest hook, pidns, storage denied", async () => {
  await bothDirections("CreateSandboxRequest", undefined, 4);
});

Deno.test("CreateSandbox: a second sandbox is denied (state)", async () => {
  const step = stepOf("CreateSandboxRequest");
  const ev = await stateBefore(step);
  assert.ok(ev.evaluate(step.request.type, step.request.input).allowed);
  const second = stateMutantsAfter(step, seq, seededRandom(1)).find((m) =>
    m.name === "second sandbox"
  )!;
  assert.equal(allowed(ev, second.request), false);
  assert.equal(allowed(ev, step.request), false, "even the same sandbox again");
});

Deno.test("CopyFile: kubelet files allowed; .., outside paths, symlink escapes, setuid denied", async () => {
  await bothDirections("CopyFileRequest", "container", 3);
  const linkStep = seq.steps.find((s) =>
    s.request.type === "CopyFileRequest" && s.request.input.file_type === "Symlink"
  )!;
  const linkEv = await stateBefore(linkStep);
  for (const m of mutantsOf(linkStep, seq, seededRandom(5))) {
    assert.equal(allowed(linkEv, m.request), false, m.name);
  }
  const link = seq.steps.find((s) =>
    s.request.type === "CopyFileRequest" && s.request.input.file_type === "Symlink"
  )!;
  const ev = await stateBefore(link);
  assert.equal(allowed(ev, link.request), true, "relative kubelet symlink allowed");
});

Deno.test("CreateContainer: pause, init and app allowed; every tampered field denied", async () => {
  for (const role of ["pause", "init", "container"]) {
    await bothDirections("CreateContainerRequest", role, 25);
  }
});

Deno.test("CreateContainer: another sandbox name after the first container is denied (state)", async () => {
  const step = stepOf("CreateContainerRequest", "container");
  const ev = await stateBefore(step);
  const input = cloneJson(step.request.input);
  const annotations = (input.OCI as JsonObject).Annotations as JsonObject;
  annotations["io.kubernetes.cri.sandbox-name"] = "web-7d9f8b6c5d-zzzzz";
  assert.notEqual(annotations["io.kubernetes.cri.sandbox-name"], seq.instance.podName);
  assert.equal(allowed(ev, { type: "CreateContainerRequest", input }), false);
  assert.equal(allowed(ev, step.request), true);
});

Deno.test("CreateContainer: the same container ID twice is denied (state)", async () => {
  const step = stepOf("CreateContainerRequest", "container");
  const ev = await stateBefore(step);
  assert.ok(ev.evaluate(step.request.type, step.request.input).allowed);
  assert.equal(allowed(ev, step.request), false);
});

Deno.test("StartContainer: known container allowed; unknown or removed denied", async () => {
  const step = stepOf("StartContainerRequest", "container");
  const ev = await stateBefore(step);
  assert.equal(allowed(ev, step.request), true);
  const unknown = { ...step.request, input: { container_id: "ab".repeat(32) } };
  assert.equal(allowed(ev, unknown), false);
  const removeInit = stepOf("RemoveContainerRequest", "init");
  const afterRemove = await stateBefore(seq.steps[seq.steps.indexOf(removeInit) + 1]);
  const startInit = stepOf("StartContainerRequest", "init");
  assert.equal(allowed(afterRemove, startInit.request), false, "start after remove");
});

Deno.test("ExecProcess: the probe allowed; other commands, terminal, root, unknown denied", async () => {
  await bothDirections("ExecProcessRequest", undefined, 6);
});

Deno.test("ExecProcess: the probe is denied after its container was removed (state)", async () => {
  const remove = seq.steps.find((s) =>
    s.request.type === "RemoveContainerRequest" && s.context.role === "container"
  )!;
  const exec = stepOf("ExecProcessRequest");
  const before = await stateBefore(remove);
  assert.equal(allowed(before, exec.request), true, "probe allowed while running");
  assert.ok(before.evaluate(remove.request.type, remove.request.input).allowed);
  assert.equal(allowed(before, exec.request), false, "probe denied after remove");
  const forged = stateMutantsAfter(remove, seq, seededRandom(2));
  assert.ok(forged.some((m) => m.name === "exec into removed container"));
  for (const m of forged) assert.equal(allowed(before, m.request), false, m.name);
});

Deno.test("Wait, ReadStream, Signal, Remove, DestroySandbox: allowed in sequence", async () => {
  const ev = await rules.evaluator(pd);
  const seen = new Set<string>();
  for (const s of seq.steps) {
    assert.ok(ev.evaluate(s.request.type, s.request.input).allowed, s.label);
    seen.add(s.request.type);
  }
  for (
    const t of [
      "WaitProcessRequest",
      "ReadStreamRequest",
      "SignalProcessRequest",
      "RemoveContainerRequest",
      "DestroySandboxRequest",
    ]
  ) assert.ok(seen.has(t), t);
});

Deno.test("SetPolicy, UpdateContainer and stdin writes are denied when the pod does not use them", async () => {
  const sandbox = stepOf("CreateSandboxRequest");
  const start = stepOf("StartContainerRequest", "container");
  const ev = await stateBefore(seq.steps[seq.steps.indexOf(start) + 1]);
  const forged = [
    ...stateMutantsAfter(sandbox, seq, seededRandom(3)),
    ...stateMutantsAfter(start, seq, seededRandom(3)),
  ];
  const names = forged.map((m) => m.name).sort();
  assert.deepEqual(
    names.filter((n) => n !== "second sandbox"),
    ["SetPolicy", "UpdateContainer", "stdin write when streams are disabled"],
  );
  for (const m of forged) assert.equal(allowed(ev, m.request), false, m.name);
});
