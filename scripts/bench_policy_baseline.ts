/**
 * Policy evaluation against an earlier commit, each with its own rules, policy data and request
 * model: issue 12's "per-request evaluation time does not get worse" measured where `--compare-wasm`
 * cannot (the earlier rules deny the requests the current model sends, e.g. containerd 2's guest
 * pull storages, so an earlier wasm on today's requests times a denial, not the path it names).
 *
 * The commit's tree is extracted with `git archive` into a temporary directory and its fixture pod
 * (the same pod YAML), request sequence and committed `rego/policy.wasm` are loaded next to the
 * current ones. For each request type, the first allowed request of the fixture pod at the state
 * the agent has then (for CreateContainer the app container) is asserted allowed by each tree and
 * timed as CPU time per evaluation over interleaved batches, after every case has run once for a
 * batch (the first type timed otherwise pays for V8's tier-up). Two ratios per type (goal: ≤ 1 for
 * every type), with the load average:
 * - whole path: each tree's own evaluator (rego/evaluator.ts of that commit) on its own wasm;
 * - rules only: the current evaluator on both wasm modules (each with its own policy data, state
 *   and request), so that a faster evaluator cannot hide slower rules.
 * Whether the two trees send the same input for the type is printed too (for the network requests
 * they do; for others the request model changed, e.g. containerd 2's guest pull storages).
 *
 * Usage: deno run -A scripts/bench_policy_baseline.ts [--commit e9ecebe] [--rounds 9]
 *
 * @module
 */
import process from "node:process";
import { CompiledRules as CurrentRules } from "../rego/evaluator.ts";
import { parseRecord } from "../rego/compiled_record.ts";
import { extractTree, REPO_ROOT } from "../bench/policy/tree.ts";
import { exitOnBadOptions } from "../bench/script_options.ts";

exitOnBadOptions(Deno.args, {
  usage: "deno run -A scripts/bench_policy_baseline.ts [options]",
  options: [
    { name: "--commit", value: "string", default: "e9ecebe", help: "the commit compared with" },
    { name: "--rounds", value: "number", default: "9", help: "rounds" },
  ],
});
const flag = (name: string, fallback: string) => {
  const at = Deno.args.indexOf(name);
  return at >= 0 ? Deno.args[at + 1] : fallback;
};
/** The commit that was `main` when issue 12 was filed. */
const COMMIT = flag("--commit", "e9ecebe");
const ROUNDS = Number(flag("--rounds", "9"));

/** Where a tree keeps the fixture pod and the request model (the layout moved once). */
const LAYOUTS = [
  {
    fixtures: "testing/policy/check_fixture.ts",
    sequence: "policy/check/request_sequence.ts",
    random: "policy/check/random_ids.ts",
  },
  {
    fixtures: "tests/cli/policy_check/fixtures.ts",
    sequence: "cli/policy_check/request_sequence.ts",
    random: "cli/policy_check/random_ids.ts",
  },
];

interface Evaluator {
  evaluate(type: string, input: unknown): { allowed: boolean };
  decide(type: string, input: unknown): { allowed: boolean };
}

/** One request to time: an evaluator at the state before it. */
interface Case {
  readonly evaluator: Evaluator;
  readonly input: unknown;
  /** The policy state before the request. */
  readonly state: Record<string, unknown>;
}

/** A tree's cases and the policy data they were evaluated with. */
interface TreeCases {
  readonly cases: Map<string, Case>;
  readonly policyData: unknown;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The first allowed request of each type of the fixture pod in the tree at `root`. */
async function treeCases(root: string): Promise<TreeCases> {
  let layout;
  for (const l of LAYOUTS) if (await exists(`${root}/${l.fixtures}`)) layout = l;
  if (!layout) throw new Error(`${root}: no fixture pod in a known place`);
  const { CompiledRules } = await import(`${root}/rego/evaluator.ts`);
  const f = await import(`${root}/${layout.fixtures}`);
  const { buildRequestSequence } = await import(`${root}/${layout.sequence}`);
  const { seededRandom } = await import(`${root}/${layout.random}`);
  const rules = await CompiledRules.load();
  const policyData = await f.fixturePolicyData();
  const seq = buildRequestSequence({
    workload: f.fixtureWorkload(),
    images: f.IMAGES,
    cluster: f.fixtureCluster(),
    rng: seededRandom(1),
  });
  const cases = new Map<string, Case>();
  for (const [i, step] of seq.steps.entries()) {
    const type: string = step.request.type;
    if (cases.has(type)) continue;
    if (type === "CreateContainerRequest" && step.context.role !== "container") continue;
    const evaluator: Evaluator & { state: Record<string, unknown> } = await rules.evaluator(
      policyData,
    );
    for (const before of seq.steps.slice(0, i)) {
      if (!evaluator.evaluate(before.request.type, before.request.input).allowed) {
        throw new Error(`${root}: ${before.label} denied before ${type}`);
      }
    }
    // The path named is the allowed one: a denial here would time something else.
    if (!evaluator.decide(type, step.request.input).allowed) {
      throw new Error(`${root}: ${type} denied at the state the agent has`);
    }
    cases.set(type, { evaluator, input: step.request.input, state: evaluator.state });
  }
  return { cases, policyData };
}

/**
 * The earlier tree's cases on the current evaluator: its wasm (checked against its own record),
 * its policy data, the state each request was asserted at, its requests.
 */
async function onCurrentEvaluator(root: string, tree: TreeCases): Promise<Map<string, Case>> {
  const [wasm, record] = await Promise.all([
    Deno.readFile(`${root}/rego/policy.wasm`),
    Deno.readFile(`${root}/rego/policy.wasm.json`),
  ]);
  const rules = await CurrentRules.load({ wasm, record: parseRecord(record) });
  const cases = new Map<string, Case>();
  for (const [type, c] of tree.cases) {
    const evaluator = await rules.evaluator(tree.policyData, c.state);
    if (!evaluator.decide(type, c.input).allowed) {
      throw new Error(`${root}: ${type} denied on the current evaluator at the same state`);
    }
    cases.set(type, { evaluator, input: c.input, state: c.state });
  }
  return cases;
}

/** CPU µs per evaluation over a batch of about 40 ms. */
function cpuMicros(c: Case, type: string): number {
  const once = () => c.evaluator.decide(type, c.input);
  for (let i = 0; i < 3; i++) once();
  const start = process.cpuUsage();
  let n = 0;
  const until = performance.now() + 40;
  while (performance.now() < until) {
    once();
    n++;
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Every order of three series, cycled through the rounds so that none always goes first. */
const ORDERS = [[0, 1, 2], [2, 1, 0], [1, 2, 0], [0, 2, 1], [2, 0, 1], [1, 0, 2]];

const baseDir = await extractTree(COMMIT, "contrast-bench-baseline-");
try {
  const current = await treeCases(REPO_ROOT);
  const earlier = await treeCases(baseDir);
  const earlierRulesNow = await onCurrentEvaluator(baseDir, earlier);
  // One batch of every case first: the first type timed would otherwise pay for the tier-up.
  for (const [type, c] of current.cases) cpuMicros(c, type);
  for (const [type, c] of earlier.cases) cpuMicros(c, type);
  for (const [type, c] of earlierRulesNow) cpuMicros(c, type);
  const load = Deno.loadavg();
  console.log(
    `policy evaluation vs ${COMMIT} (each tree's rules, data, requests; fixture pod), CPU µs per ` +
      `evaluation, median of ${ROUNDS} interleaved batches; load ${load.join(" ")}`,
  );
  console.log(
    "  whole path: each tree's evaluator and wasm; rules only: the current evaluator on both wasm",
  );
  let worst = 0;
  let worstRules = 0;
  for (const [type, now] of current.cases) {
    const then = earlier.cases.get(type);
    const thenRules = earlierRulesNow.get(type);
    if (!then || !thenRules) {
      console.log(`  ${type}: only in the current model`);
      continue;
    }
    const series = [now, then, thenRules];
    const times: number[][] = [[], [], []];
    for (let r = 0; r < ROUNDS; r++) {
      for (const i of ORDERS[r % ORDERS.length]) times[i].push(cpuMicros(series[i], type));
    }
    const [a, b, c] = times.map(median);
    const ratio = a / b;
    const rulesRatio = a / c;
    worst = Math.max(worst, ratio);
    worstRules = Math.max(worstRules, rulesRatio);
    const same = JSON.stringify(now.input) === JSON.stringify(then.input);
    console.log(
      `  ${type}: ratio ${ratio.toFixed(2)} (${a.toFixed(1)} µs vs ${b.toFixed(1)} µs), ` +
        `rules only ${rulesRatio.toFixed(2)} (vs ${c.toFixed(1)} µs); ` +
        `${same ? "same input" : "the trees' inputs differ"}`,
    );
  }
  console.log(
    `worst current/${COMMIT} ratio: ${worst.toFixed(2)} whole path, ${
      worstRules.toFixed(2)
    } rules only (goal ≤ 1); load after ${Deno.loadavg().join(" ")}`,
  );
} finally {
  await Deno.remove(baseDir, { recursive: true });
}
