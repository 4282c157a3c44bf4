/**
 * Agent requests of the fixture pod at the state the agent really has when it receives them, for
 * the policy evaluation benchmarks: each case replays the pod's request sequence up to the request
 * on a fresh evaluator, then checks the verdict the case names (an allowed case that the rules
 * deny, or the other way round, throws: a benchmark must not time a path other than the one it
 * names).
 *
 * @module
 */
import type { CompiledRules, PolicyEvaluator, PolicyState } from "../../rego/evaluator.ts";
import type { RequestSequence, Step } from "../../policy/check/request_sequence.ts";

/** One request to time, with the evaluator holding the state just before it. */
export interface TimedRequest {
  /** e.g. `CreateContainerRequest (app, allowed)`. */
  readonly name: string;
  readonly step: Step;
  /** The verdict the case measures. */
  readonly allowed: boolean;
  /** An evaluator at the state before the request (use `decide`, which keeps the state). */
  readonly evaluator: PolicyEvaluator;
  /** The policy state at that point (`data.pstate`), e.g. for `opa bench`. */
  readonly state: PolicyState;
}

/** Thrown when a case's request does not get the verdict the case names. */
class UnexpectedVerdictError extends Error {
  constructor(name: string, allowed: boolean) {
    super(`${name}: the rules ${allowed ? "allow" : "deny"} the request, the case names the other`);
    this.name = "UnexpectedVerdictError";
  }
}

/** The request at `index` of `seq`, evaluated at the state the agent has after the ones before. */
async function requestAtRealState(
  rules: CompiledRules,
  policyData: unknown,
  seq: RequestSequence,
  index: number,
  name: string,
): Promise<TimedRequest> {
  const evaluator = await rules.evaluator(policyData);
  for (const s of seq.steps.slice(0, index)) {
    const d = evaluator.evaluate(s.request.type, s.request.input);
    if (!d.allowed) throw new UnexpectedVerdictError(`${name}: earlier step ${s.label}`, false);
  }
  const step = seq.steps[index];
  return { name, step, allowed: true, evaluator, state: evaluator.state };
}

/**
 * The cases: the first allowed request of each type (CreateContainer of the app container, not
 * the pause or init container), at its real state; and CreateContainer of the app container
 * again after it ran (denied: the container ID is already in the state).
 */
export async function fixtureCases(
  rules: CompiledRules,
  policyData: unknown,
  seq: RequestSequence,
): Promise<TimedRequest[]> {
  const cases: TimedRequest[] = [];
  const seen = new Set<string>();
  for (const [i, s] of seq.steps.entries()) {
    const type = s.request.type;
    const isApp = type !== "CreateContainerRequest" || s.context.role === "container";
    if (seen.has(type) || !isApp) continue;
    seen.add(type);
    cases.push(await requestAtRealState(rules, policyData, seq, i, `${type} (allowed)`));
  }
  const createApp = seq.steps.findIndex((s) =>
    s.request.type === "CreateContainerRequest" && s.context.role === "container"
  );
  const again = await requestAtRealState(rules, policyData, seq, createApp + 1, "");
  cases.push({
    ...again,
    name: "CreateContainerRequest (app again, denied)",
    step: seq.steps[createApp],
    allowed: false,
  });
  for (const c of cases) {
    const d = c.evaluator.decide(c.step.request.type, c.step.request.input);
    if (d.allowed !== c.allowed) throw new UnexpectedVerdictError(c.name, d.allowed);
  }
  return cases;
}
