/**
 * Benchmarks of `contrast policy check`: evaluation of one agent request against the compiled
 * rules (goal: well under 1 ms for every request type) and a whole check of the fixture pod with
 * and without mutants. Run with `deno bench -A tests/policy/check/`.
 */
import { CompiledRules } from "../../../rego/evaluator.ts";
import { checkPod } from "../../../policy/check/checker.ts";
import { buildRequestSequence } from "../../../policy/check/request_sequence.ts";
import { seededRandom } from "../../../policy/check/random_ids.ts";
import { fixtureCluster, fixturePolicyData, fixtureWorkload, IMAGES } from "./fixtures.ts";

const rules = await CompiledRules.load();
const pd = await fixturePolicyData();
const seq = buildRequestSequence({
  workload: fixtureWorkload(),
  images: IMAGES,
  cluster: fixtureCluster(),
  rng: seededRandom(1),
});
const ev = await rules.evaluator(pd);
const createApp = seq.steps.find((s) =>
  s.request.type === "CreateContainerRequest" && s.context.role === "container"
)!;
const exec = seq.steps.find((s) => s.request.type === "ExecProcessRequest")!;
for (const s of seq.steps) {
  if (s === exec) break;
  ev.evaluate(s.request.type, s.request.input);
}
const copy = seq.steps.find((s) => s.request.type === "CopyFileRequest")!;
const read = seq.steps.find((s) => s.request.type === "ReadStreamRequest")!;

Deno.bench("evaluate ReadStreamRequest (baseline)", { group: "request", baseline: true }, () => {
  ev.decide(read.request.type, read.request.input);
});

Deno.bench("evaluate CreateContainerRequest (app)", { group: "request" }, () => {
  ev.decide(createApp.request.type, createApp.request.input);
});

Deno.bench("evaluate ExecProcessRequest (probe)", { group: "request" }, () => {
  ev.decide(exec.request.type, exec.request.input);
});

Deno.bench("evaluate CopyFileRequest", { group: "request" }, () => {
  ev.decide(copy.request.type, copy.request.input);
});

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
