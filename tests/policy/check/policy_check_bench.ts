/**
 * Benchmarks of `contrast policy check`: evaluation of one agent request against the compiled
 * rules, each at the state the agent really has and with its verdict asserted before timing (goal:
 * CreateContainer allowed ≤ 0.3 ms median; `deno run -A scripts/bench_policy_vs_opa.ts` compares
 * with native OPA) and a whole check of the fixture pod with
 * and without mutants. Run with `deno bench -A tests/policy/check/`.
 */
import { CompiledRules } from "../../../rego/evaluator.ts";
import { checkPod } from "../../../policy/check/checker.ts";
import { buildRequestSequence } from "../../../policy/check/request_sequence.ts";
import { seededRandom } from "../../../policy/check/random_ids.ts";
import { fixtureCases } from "../../../bench/policy/requests.ts";
import { fixtureCluster, fixturePolicyData, fixtureWorkload, IMAGES } from "./fixtures.ts";

const rules = await CompiledRules.load();
const pd = await fixturePolicyData();
const seq = buildRequestSequence({
  workload: fixtureWorkload(),
  images: IMAGES,
  cluster: fixtureCluster(),
  rng: seededRandom(1),
});
// Each request at the state the agent has when it receives it; the verdict each case names is
// checked before timing (bench/policy/requests.ts). Denials are timed as their own cases.
const cases = await fixtureCases(rules, pd, seq);
const baseline = cases.find((c) => c.step.request.type === "ReadStreamRequest")!;
for (const c of cases) {
  const group = c.allowed ? "allowed request" : "denied request";
  Deno.bench(`evaluate ${c.name}`, { group, baseline: c === baseline }, () => {
    c.evaluator.decide(c.step.request.type, c.step.request.input);
  });
}

Deno.bench("build the request sequence of the fixture pod", { group: "pod" }, () => {
  buildRequestSequence({
    workload: fixtureWorkload(),
    images: IMAGES,
    cluster: fixtureCluster(),
    rng: seededRandom(2),
  });
});

Deno.bench("check the fixture pod", { group: "pod", baseline: true }, async () => {
  await checkPod(rules, seq, pd, "00", { mutate: false, rng: seededRandom(3) });
});

Deno.bench("check the fixture pod with mutants", { group: "pod" }, async () => {
  await checkPod(rules, seq, pd, "00", { mutate: true, rng: seededRandom(3) });
});
