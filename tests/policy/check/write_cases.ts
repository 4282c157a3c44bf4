/**
 * Writes `rego/cases/fixture_pod.json`: agreement cases shared by the Rego unit tests
 * (`rego/cases_test.rego`, run by `opa test rego/`) and the TypeScript checker
 * (`agreement_test.ts`, through the compiled wasm). Each case is a request with the policy state
 * the fixture pod's sequence reaches before it, and the verdict the checker expects. Run after
 * changing the fixture or the mutation catalogue:
 *
 *   deno run -A tests/policy/check/write_cases.ts
 *
 * @module
 */
import { CompiledRules } from "../../../rego/evaluator.ts";
import { buildRequestSequence } from "../../../policy/check/request_sequence.ts";
import { mutantsOf, stateMutantsAfter } from "../../../policy/check/mutations.ts";
import { seededRandom } from "../../../policy/check/random_ids.ts";
import type { AgentRequest, Json } from "../../../policy/check/agent_protocol.ts";
import { leafDiffs } from "../../../policy/check/explain.ts";
import type { PatchOp } from "../../../rego/json_patch.ts";
import { fixtureCluster, fixturePolicyData, fixtureWorkload, IMAGES } from "./fixtures.ts";

/** One shared case: the request is `input`, or the legitimate case `base` with `patch` applied. */
export interface AgreementCase {
  readonly name: string;
  readonly type: string;
  readonly state: unknown;
  readonly input?: unknown;
  readonly base?: string;
  readonly patch?: readonly PatchOp[];
  readonly allowed: boolean;
}

/** JSON Patch (RFC 6902) turning `from` into `to`, at the granularity of {@link leafDiffs}. */
function diffPatch(from: Json, to: Json): PatchOp[] {
  const pointer = (path: readonly (string | number)[]) =>
    path.map((k) => "/" + String(k).replaceAll("~", "~0").replaceAll("/", "~1")).join("");
  return leafDiffs(from, to).map((d) => {
    let cur: Json | undefined = from;
    for (const k of d.path) cur = (cur as Record<string, Json> | undefined)?.[k as string];
    if (d.value === undefined) return { op: "remove", path: pointer(d.path) } as PatchOp;
    return {
      op: cur === undefined ? "add" : "replace",
      path: pointer(d.path),
      value: d.value,
    } as PatchOp;
  });
}

/** Location of the shared case file. */
export const CASES_URL = new URL("../../../rego/cases/fixture_pod.json", import.meta.url);

/** Builds the cases from the fixture pod: every legitimate step and a choice of mutants. */
export async function buildCases(): Promise<{ policy_data: unknown; cases: AgreementCase[] }> {
  const pd = await fixturePolicyData();
  const rules = await CompiledRules.load();
  const seq = buildRequestSequence({
    workload: fixtureWorkload(),
    images: IMAGES,
    cluster: fixtureCluster(),
    rng: seededRandom(21),
  });
  const ev = await rules.evaluator(pd);
  const cases: AgreementCase[] = [];
  const seenTypes = new Set<string>();
  const names = new Set<string>();
  const add = (name: string, r: AgentRequest, allowed: boolean, base?: AgentRequest) => {
    // rego/cases_test.rego keys the verdicts on names: a repeated one would be counted once.
    if (names.has(name)) throw new Error(`two shared cases named ${JSON.stringify(name)}`);
    names.add(name);
    if (base && base.type === r.type) {
      cases.push({
        name,
        type: r.type,
        state: ev.state,
        base: `legitimate ${baseLabel}`,
        patch: diffPatch(base.input, r.input),
        allowed,
      });
    } else cases.push({ name, type: r.type, state: ev.state, input: r.input, allowed });
  };
  let baseLabel = "";
  const rng = seededRandom(22);
  for (const step of seq.steps) {
    const first = !seenTypes.has(`${step.request.type}/${step.context.role ?? ""}`);
    seenTypes.add(`${step.request.type}/${step.context.role ?? ""}`);
    if (first) {
      baseLabel = step.label;
      add(`legitimate ${step.label}`, step.request, true);
      const sampled = step.request.type !== "CreateContainerRequest" ||
        step.context.role === "container";
      const mutants = sampled ? mutantsOf(step, seq, rng) : [];
      for (const m of mutants.filter((x) => x.expectation === "deny")) {
        add(`${step.label}: ${m.name}`, m.request, false, step.request);
      }
    }
    ev.evaluate(step.request.type, step.request.input);
    if (first) {
      for (const m of stateMutantsAfter(step, seq, rng)) {
        add(`after ${step.label}: ${m.name}`, m.request, false);
      }
    }
  }
  return { policy_data: pd, cases };
}

if (import.meta.main) {
  const built = await buildCases();
  await Deno.mkdir(new URL(".", CASES_URL), { recursive: true });
  await Deno.writeTextFile(CASES_URL, JSON.stringify({ fixture_pod: built }, null, 1) + "\n");
  console.log(`wrote ${built.cases.length} cases to rego/cases/fixture_pod.json`);
}
