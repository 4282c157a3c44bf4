import assert from "node:assert/strict";
import { CompiledRules } from "../../../rego/evaluator.ts";
import { checkPod, checkPolicyOnly } from "../../../policy/check/checker.ts";
import { buildRequestSequence } from "../../../policy/check/request_sequence.ts";
import { seededRandom } from "../../../policy/check/random_ids.ts";
import { renderJson, renderText, summarise } from "../../../policy/check/report.ts";
import type { PolicyData } from "../../../policy/policy_data_types.ts";
import { readWorkload } from "../../../policy/check/pod.ts";
import { DOCS, fixtureCluster, fixturePolicyData, fixtureSequence, IMAGES } from "./fixtures.ts";

const rules = await CompiledRules.load();

function sequence(seed: number) {
  return fixtureSequence(seed);
}

async function check(pd: PolicyData, seed = 1) {
  return await checkPod(rules, sequence(seed), pd, "00", { mutate: true, rng: seededRandom(seed) });
}

Deno.test("fixture pod: every legitimate request allowed, every tampered one denied", async () => {
  const report = await check(await fixturePolicyData());
  assert.deepEqual(report.denied.map((d) => d.label), []);
  assert.deepEqual(report.weaknesses.map((w) => `${w.step}: ${w.mutant}`), []);
  assert.ok(report.mutants > 100, `only ${report.mutants} mutants`);
  assert.ok(report.ok);
  const names = new Set(report.nonGuarantees.map((n) => n.mutant));
  assert.ok(names.has("missing env var") && !names.has("extra masked path"));
});

Deno.test("holds for other random runtime IDs and pod names too", async () => {
  const pd = await fixturePolicyData();
  for (const seed of [2, 3]) {
    const report = await check(pd, seed);
    assert.equal(report.ok, true, JSON.stringify(report.denied.map((d) => d.label)));
  }
});

Deno.test("reports a legitimate request the policy denies, by step", async () => {
  const pd = await fixturePolicyData();
  const other: PolicyData = {
    ...pd,
    containers: pd.containers.map((c) =>
      c.name === "app" ? { ...c, process: { ...c.process, args: ["/usr/bin/app", "--other"] } } : c
    ),
  };
  const report = await check(other);
  assert.equal(report.ok, false);
  assert.ok(report.denied.some((d) => d.label === "CreateContainerRequest app"));
});

Deno.test("a legitimate request the rules cannot read (a lone surrogate) is an abort, not a denial", async () => {
  const seq = sequence(1);
  const step = seq.steps.findIndex((s) => s.request.type === "CreateContainerRequest");
  seq.steps[step].request.input.container_id = "\ud800";
  const report = await checkPod(rules, seq, await fixturePolicyData(), "00", {
    mutate: false,
    rng: seededRandom(1),
  });
  assert.equal(report.ok, false);
  // The aborted step is not a denial (later steps of its container are: it was never created).
  assert.ok(!report.denied.some((d) => d.index === step), JSON.stringify(report.denied));
  assert.equal(report.aborts.length, 1, JSON.stringify(report.aborts));
  const [abort] = report.aborts;
  assert.equal(abort.step, seq.steps[step].label);
  assert.equal(abort.type, "CreateContainerRequest");
  assert.equal(abort.container, seq.steps[step].context.container);
  assert.equal(abort.mutant, undefined);
  assert.match(abort.error, /the rules aborted: illegal string escape character/);
});

/**
 * The compiled rules, except that the "extra env var" mutant's requests reach the wasm with a lone
 * surrogate in that variable, so the real module aborts on exactly that mutant (as rules with two
 * conflicting values for a complete rule abort with `var assignment conflict`).
 */
const abortingOnExtraEnv = {
  async evaluator(policyData: unknown) {
    const inner = await rules.evaluator(policyData);
    const poisoned = (request: unknown): unknown => {
      const text = JSON.stringify(request);
      return text.includes("LD_PRELOAD=/tmp/x.so")
        ? JSON.parse(text.replaceAll("LD_PRELOAD=/tmp/x.so", "LD_PRELOAD=\\ud800"))
        : request;
    };
    return {
      decide: (type: string, request: unknown) => inner.decide(type, poisoned(request)),
      evaluate: (type: string, request: unknown) => inner.evaluate(type, poisoned(request)),
      [Symbol.dispose]: () => inner[Symbol.dispose](),
    };
  },
};

Deno.test("a mutant whose evaluation aborts is reported as an abort and fails the check", async () => {
  const report = await checkPod(abortingOnExtraEnv, sequence(1), await fixturePolicyData(), "00", {
    mutate: true,
    rng: seededRandom(1),
  });
  assert.equal(report.ok, false);
  assert.deepEqual(report.denied, []);
  assert.deepEqual(report.weaknesses, []);
  assert.ok(report.aborts.length > 0);
  for (const a of report.aborts) {
    assert.equal(a.mutant, "extra env var");
    assert.equal(a.expectation, "deny");
    assert.ok(["CreateContainerRequest", "ExecProcessRequest"].includes(a.type), a.type);
    assert.ok(a.container, "names the container");
    assert.match(a.error, /the rules aborted: illegal string escape character/);
  }
  assert.ok(report.aborts.some((a) => a.type === "CreateContainerRequest"));
  const run = summarise([report], true);
  assert.equal(run.ok, false);
  assert.equal(run.aborted, report.aborts.length);
  assert.equal(JSON.parse(renderJson(run)).aborted, report.aborts.length);
  const text = renderText(run);
  assert.match(
    text,
    /ABORTED: CreateContainerRequest .*\(container \S+\): tampered "extra env var"/,
  );
  assert.match(text, new RegExp(`${report.aborts.length} evaluation\\(s\\) aborted`));
});

Deno.test("catches an exec weakness: a policy allowing any shell command", async () => {
  const pd = await fixturePolicyData();
  const weak: PolicyData = {
    ...pd,
    exec: { allowed_commands: [["/bin/sh", "-c", "cat /proc/1/environ"]] },
  };
  const report = await check(weak);
  const w = report.weaknesses.find((x) => x.mutant === "non-probe command");
  assert.ok(w, "weakness not reported");
  assert.equal(w.field, "process.Args");
  assert.equal(w.request?.type, "ExecProcessRequest");
});

Deno.test("catches an env weakness: a policy allowing any variable", async () => {
  const pd = await fixturePolicyData();
  const weak: PolicyData = {
    ...pd,
    containers: pd.containers.map((c) => ({
      ...c,
      process: { ...c.process, env_regexes: [...c.process.env_regexes, "^.*$"] },
    })),
  };
  const report = await check(weak);
  assert.ok(report.weaknesses.some((w) => w.mutant === "extra env var"));
});

Deno.test("catches enabled stdin streams when no container uses stdin", async () => {
  const pd = await fixturePolicyData();
  const report = await check({ ...pd, requests: { ...pd.requests, WriteStreamRequest: true } });
  assert.ok(report.weaknesses.some((w) => w.mutant === "stdin write when streams are disabled"));
});

Deno.test("policy without pod spec: pod-independent tampered requests are all denied", async () => {
  const report = await checkPolicyOnly(
    rules,
    await fixturePolicyData(),
    "00",
    "p.toml",
    seededRandom(1),
  );
  assert.ok(report.ok, JSON.stringify(report.weaknesses.map((w) => w.mutant)));
  assert.ok(report.mutants >= 15);
});

Deno.test("policy without pod spec: a policy allowing UpdateContainer is caught", async () => {
  const pd = await fixturePolicyData();
  const report = await checkPolicyOnly(
    rules,
    { ...pd, requests: { ...pd.requests, UpdateContainerRequest: true } },
    "00",
    "p.toml",
    seededRandom(1),
  );
  assert.equal(report.ok, false);
  assert.deepEqual(report.weaknesses.map((w) => w.mutant), ["UpdateContainer"]);
});

Deno.test("shareProcessNamespace and a custom termination path are replayed and admitted", async () => {
  const doc = structuredClone(DOCS[2]) as {
    spec: {
      template: {
        spec: { shareProcessNamespace?: boolean; containers: Record<string, unknown>[] };
      };
    };
  };
  doc.spec.template.spec.shareProcessNamespace = true;
  doc.spec.template.spec.containers[0].terminationMessagePath = "/tmp/app-termination";
  const pd = await fixturePolicyData(doc);
  const seq = buildRequestSequence({
    workload: readWorkload(doc, "d.yml#0")!,
    images: IMAGES,
    cluster: fixtureCluster(),
    rng: seededRandom(4),
  });
  const creates = seq.steps.filter((s) => s.request.type === "CreateContainerRequest");
  assert.deepEqual(creates.map((s) => s.request.input.sandbox_pidns), [false, true, true]);
  const mounts = (creates[2].request.input.OCI as { Mounts: { destination: string }[] }).Mounts;
  assert.ok(mounts.some((m) => m.destination === "/tmp/app-termination"));
  const report = await checkPod(rules, seq, pd, "00", { mutate: true, rng: seededRandom(4) });
  assert.deepEqual(report.denied.map((d) => d.label), []);
  assert.deepEqual(report.weaknesses.map((w) => `${w.step}: ${w.mutant}`), []);
});

Deno.test("a privileged container is replayed with every capability and rw sysfs, and admitted", async () => {
  const doc = structuredClone(DOCS[2]) as {
    spec: { template: { spec: { containers: { securityContext: Record<string, unknown> }[] } } };
  };
  doc.spec.template.spec.containers[0].securityContext = { privileged: true };
  const pd = await fixturePolicyData(doc);
  const seq = buildRequestSequence({
    workload: readWorkload(doc, "d.yml#0")!,
    images: IMAGES,
    cluster: fixtureCluster(),
    rng: seededRandom(6),
  });
  const report = await checkPod(rules, seq, pd, "00", { mutate: true, rng: seededRandom(6) });
  assert.deepEqual(report.denied.map((d) => d.label), []);
  assert.deepEqual(report.weaknesses.map((w) => `${w.step}: ${w.mutant}`), []);
});

Deno.test("long workload names: pods named with the API server's 58-character cut are admitted", async () => {
  const doc = structuredClone(DOCS[2]) as { metadata: { name: string } };
  doc.metadata.name = "storefront-recommendations-service-canary-eu-west";
  const pd = await fixturePolicyData(doc);
  for (const seed of [1, 2, 3, 4]) {
    const seq = buildRequestSequence({
      workload: readWorkload(doc, "d.yml#0")!,
      images: IMAGES,
      cluster: fixtureCluster(),
      rng: seededRandom(seed),
    });
    assert.ok(seq.instance.podName.length <= 63);
    const report = await checkPod(rules, seq, pd, "00", { mutate: false, rng: seededRandom(seed) });
    assert.deepEqual(report.denied.map((d) => d.label), [], seq.instance.podName);
  }
});
