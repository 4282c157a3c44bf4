/**
 * Policy evaluation against native OPA, in one run: for each request of the fixture pod (the
 * first allowed request of each type, at the state the agent has when it receives it, and the
 * app's CreateContainer again, denied), the median time of one evaluation through opa-wasm
 * (`PolicyEvaluator.decide`, what `contrast policy check` runs) and `opa bench` on the same rules
 * (`rego/rules.rego`), data (policy data + state) and input, interleaved per request. Prints
 * wasm/native per request (goal: ≤ 1 for every type) and fails when a verdict is not the one the
 * case names.
 *
 * Usage: deno run -A scripts/bench_policy_vs_opa.ts [samples]
 *
 * @module
 */
import { CompiledRules } from "../rego/evaluator.ts";
import { buildRequestSequence } from "../policy/check/request_sequence.ts";
import { seededRandom } from "../policy/check/random_ids.ts";
import { fixtureCases, type TimedRequest } from "../bench/policy/requests.ts";
import {
  fixtureCluster,
  fixturePolicyData,
  fixtureWorkload,
  IMAGES,
} from "../testing/policy/check_fixture.ts";
import { exitOnBadOptions } from "../bench/script_options.ts";

exitOnBadOptions(Deno.args, {
  usage: "deno run -A scripts/bench_policy_vs_opa.ts [samples, default 5]",
  positionals: 1,
  options: [],
});
const SAMPLES = Number(Deno.args[0] ?? 5);
const RULES = new URL("../rego/rules.rego", import.meta.url).pathname;
const OPA = Deno.env.get("OPA") ?? new URL("../.tools/bin/opa", import.meta.url).pathname;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median µs of one wasm evaluation over a batch sized to take ~200 ms. */
function wasmMicros(c: TimedRequest): number {
  const once = () => c.evaluator.decide(c.step.request.type, c.step.request.input);
  for (let i = 0; i < 20; i++) once();
  const times: number[] = [];
  const until = performance.now() + 200;
  while (performance.now() < until) {
    const t = performance.now();
    once();
    times.push((performance.now() - t) * 1000);
  }
  return median(times);
}

/** µs per evaluation reported by `opa bench` (native Go evaluator) for the same data and input. */
async function opaMicros(c: TimedRequest, dir: string, policyData: unknown): Promise<number> {
  await Deno.writeTextFile(
    `${dir}/data.json`,
    JSON.stringify({ agent_policy: { policy_data: policyData }, pstate: c.state }),
  );
  await Deno.writeTextFile(`${dir}/input.json`, JSON.stringify(c.step.request.input));
  const out = await new Deno.Command(OPA, {
    args: [
      "bench",
      "--format",
      "json",
      "--benchmem=false",
      "--metrics=false",
      "--fail=false",
      "-d",
      RULES,
      "-d",
      `${dir}/data.json`,
      "-i",
      `${dir}/input.json`,
      `data.agent_policy.${c.step.request.type}.allowed`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`opa bench: ${new TextDecoder().decode(out.stderr)}`);
  const r = JSON.parse(new TextDecoder().decode(out.stdout)) as { N: number; T: number };
  return r.T / r.N / 1000;
}

/** What native OPA decides for the case (must be the case's verdict too). */
async function opaAllowed(c: TimedRequest, dir: string): Promise<boolean> {
  const out = await new Deno.Command(OPA, {
    args: [
      "eval",
      "--format",
      "raw",
      "-d",
      RULES,
      "-d",
      `${dir}/data.json`,
      "-i",
      `${dir}/input.json`,
      `data.agent_policy.${c.step.request.type}.allowed`,
    ],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim() === "true";
}

const rules = await CompiledRules.load();
const pd = await fixturePolicyData();
const seq = buildRequestSequence({
  workload: fixtureWorkload(),
  images: IMAGES,
  cluster: fixtureCluster(),
  rng: seededRandom(1),
});
const cases = await fixtureCases(rules, pd, seq);
const dir = await Deno.makeTempDir({ prefix: "contrast-bench-policy-opa-" });
try {
  console.log(`load average: ${Deno.loadavg().join(" ")}; ${SAMPLES} interleaved samples`);
  console.log(
    `${"request".padEnd(44)} ${"wasm µs".padStart(9)} ${"opa µs".padStart(9)} ${
      "wasm/opa".padStart(9)
    }`,
  );
  let worst = 0;
  let createAllowed: number | undefined;
  for (const c of cases) {
    const wasm: number[] = [];
    const native: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      wasm.push(wasmMicros(c));
      native.push(await opaMicros(c, dir, pd));
    }
    if (await opaAllowed(c, dir) !== c.allowed) {
      throw new Error(`${c.name}: native OPA's verdict differs from the case's`);
    }
    const ratio = median(wasm) / median(native);
    if (c.step.request.type === "CreateContainerRequest" && c.allowed) createAllowed = median(wasm);
    worst = Math.max(worst, ratio);
    console.log(
      `${c.name.padEnd(44)} ${median(wasm).toFixed(1).padStart(9)} ${
        median(native).toFixed(1).padStart(9)
      } ${ratio.toFixed(2).padStart(9)}`,
    );
  }
  console.log(`worst wasm/opa: ${worst.toFixed(2)} (goal ≤ 1)`);
  if (createAllowed !== undefined) {
    console.log(
      `CreateContainer allowed median: ${(createAllowed / 1000).toFixed(3)} ms (goal ≤ 0.3 ms: ${
        createAllowed <= 300 ? "met" : "NOT met"
      })`,
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
