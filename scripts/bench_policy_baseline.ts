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
 * timed as CPU time per evaluation over interleaved batches; the script prints current/earlier per
 * type (goal: ≤ 1 for every type) with the load average.
 *
 * Usage: deno run -A scripts/bench_policy_baseline.ts [--commit e9ecebe] [--rounds 9]
 *
 * @module
 */
import process from "node:process";

const ROOT = new URL("../", import.meta.url).pathname;
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
async function treeCases(root: string): Promise<Map<string, Case>> {
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
    const evaluator: Evaluator = await rules.evaluator(policyData);
    for (const before of seq.steps.slice(0, i)) {
      if (!evaluator.evaluate(before.request.type, before.request.input).allowed) {
        throw new Error(`${root}: ${before.label} denied before ${type}`);
      }
    }
    // The path named is the allowed one: a denial here would time something else.
    if (!evaluator.decide(type, step.request.input).allowed) {
      throw new Error(`${root}: ${type} denied at the state the agent has`);
    }
    cases.set(type, { evaluator, input: step.request.input });
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

async function extract(commit: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "contrast-bench-baseline-" });
  const archive = new Deno.Command("git", {
    args: ["-C", ROOT, "archive", "--format=tar", commit],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const tar = new Deno.Command("tar", { args: ["-x", "-C", dir], stdin: "piped" }).spawn();
  await archive.stdout.pipeTo(tar.stdin);
  const [a, t] = await Promise.all([archive.output(), tar.status]);
  if (!a.success || !t.success) {
    throw new Error(`git archive ${commit}: ${new TextDecoder().decode(a.stderr)}`);
  }
  return dir;
}

const baseDir = await extract(COMMIT);
try {
  const current = await treeCases(ROOT.replace(/\/$/, ""));
  const earlier = await treeCases(baseDir);
  const load = Deno.loadavg();
  console.log(
    `policy evaluation vs ${COMMIT} (each tree's rules, data, requests; fixture pod), CPU µs per ` +
      `evaluation, median of ${ROUNDS} interleaved batches; load ${load.join(" ")}`,
  );
  let worst = 0;
  for (const [type, now] of current) {
    const then = earlier.get(type);
    if (!then) {
      console.log(`  ${type}: only in the current model`);
      continue;
    }
    const a: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which tree goes first so neither gains from the other's warm caches.
      if (r % 2 === 0) a.push(cpuMicros(now, type)), b.push(cpuMicros(then, type));
      else b.push(cpuMicros(then, type)), a.push(cpuMicros(now, type));
    }
    const ratio = median(a) / median(b);
    worst = Math.max(worst, ratio);
    console.log(
      `  ${type}: ratio ${ratio.toFixed(2)} (${median(a).toFixed(1)} µs vs ${
        median(b).toFixed(1)
      } µs)`,
    );
  }
  console.log(
    `worst current/${COMMIT} ratio: ${worst.toFixed(2)} (goal ≤ 1); load after ${
      Deno.loadavg().join(" ")
    }`,
  );
} finally {
  await Deno.remove(baseDir, { recursive: true });
}
