/**
 * The checker: replays a pod's request sequence against its policy, threading the policy state
 * exactly as the agent does, and (with mutation on) asks, before every legitimate request, whether
 * each tampered variant would be let through in the same state. A denied legitimate request means
 * the pod would not start; an allowed `deny` mutant is a policy weakness; `non-guarantee` mutants
 * are reported both ways.
 *
 * @module
 */
import type { Decision } from "../../rego/evaluator.ts";
import type { RequestType as RulesRequestType } from "../../rego/request_types.ts";
import type { AgentRequest, RequestType } from "./agent_protocol.ts";
import {
  type Expectation,
  mutantsOf,
  podIndependentMutants,
  policyExecMutants,
  stateMutantsAfter,
} from "./mutations.ts";
import type { RandomSource } from "./random_ids.ts";
import { policyDataMismatches } from "./explain.ts";
import type { ExpectationMismatch } from "./policy_data_diff.ts";
import type { RequestSequence } from "./request_sequence.ts";

/** A legitimate request the policy denied. */
interface DeniedRequest {
  /** Position in the sequence (0-based). */
  readonly index: number;
  readonly label: string;
  readonly type: RequestType;
  /** Where the request and the policy data's expectations part ways (when known). */
  readonly mismatches?: readonly ExpectationMismatch[];
  readonly request: AgentRequest;
}

/**
 * A request (legitimate or tampered) whose evaluation aborted or returned a malformed result: the
 * wasm failed closed, but by accident, and another engine (the agent's regorus) may decide it
 * otherwise. Neither a denial nor an allowance: its own category, and it fails the check.
 */
interface EvaluationAbort {
  /** Label of the legitimate step (the request itself, or the step a mutant replaces/follows). */
  readonly step: string;
  readonly type: RequestType;
  /** The container the step concerns, when it concerns one. */
  readonly container?: string;
  /** The mutant's name; absent for a legitimate request. */
  readonly mutant?: string;
  /** What the mutant expects (`deny` or `non-guarantee`); absent for a legitimate request. */
  readonly expectation?: Expectation;
  /** The engine's message, e.g. `the rules aborted: var assignment conflict`. */
  readonly error: string;
  /** The request, so users can replay it with `contrast policy explain`. */
  readonly request: AgentRequest;
}

/** The evaluator the checker needs (a {@link PolicyEvaluator} of the compiled rules). */
interface RequestEvaluator extends Disposable {
  /** Decides a request without changing the state. */
  decide(type: RulesRequestType | string, request: unknown): Decision;
  /** Decides a request and applies its state operations when allowed. */
  evaluate(type: RulesRequestType | string, request: unknown): Decision;
}

/** Where evaluators come from: the compiled rules (`CompiledRules`), or a test's wrapper of them. */
interface RulesSource {
  evaluator(policyData: unknown): Promise<RequestEvaluator>;
}

/** The outcome of one mutant. */
interface MutantOutcome {
  /** Label of the legitimate step the mutant replaces (or follows, for state mutants). */
  readonly step: string;
  readonly mutant: string;
  readonly field: string;
  readonly expectation: Expectation;
  readonly allowed: boolean;
  /** The tampered request (kept for weaknesses so users can replay them). */
  readonly request?: AgentRequest;
}

/** The result of checking one pod. */
export interface PodReport {
  /** `Kind namespace/name`. */
  readonly pod: string;
  /** Where the pod came from, e.g. `app.yml#3`. */
  readonly origin: string;
  /** Hex digest of the policy (initdata or legacy form). */
  readonly policyDigest: string;
  /** The generated pod name of this run, e.g. `web-7c9fd6b5d8-x2kqp`. */
  readonly podName: string;
  /** Number of legitimate requests replayed. */
  readonly requests: number;
  /** Legitimate requests that were denied (the pod would not start or run). */
  readonly denied: readonly DeniedRequest[];
  /** Requests (legitimate or tampered) whose evaluation aborted: neither allowed nor denied. */
  readonly aborts: readonly EvaluationAbort[];
  /** Number of mutants evaluated. */
  readonly mutants: number;
  /** `deny` mutants that were allowed: policy weaknesses. */
  readonly weaknesses: readonly MutantOutcome[];
  /** `non-guarantee` mutants with their outcome. */
  readonly nonGuarantees: readonly MutantOutcome[];
  /** Documented limits that apply to every pod, in words. */
  readonly notes: readonly string[];
  /** True when nothing was denied, nothing aborted and no weakness was found. */
  readonly ok: boolean;
}

/** Options of {@link checkPod}. */
interface CheckOptions {
  /** Whether to generate and evaluate mutants. */
  readonly mutate: boolean;
  /** Randomness for mutants (identifiers, digests). */
  readonly rng: RandomSource;
}

/** Limits of runtime policies that hold for every pod, reported so both directions are visible. */
const POD_NOTES: readonly string[] = [
  "an omitted container cannot be detected: the agent never sees a request for a container the " +
  "host chooses not to create",
  "variables shaped like Kubernetes service links (NAME_SERVICE_HOST, NAME_PORT, …) are accepted " +
  "with any address: the services of a namespace are not known when the policy is generated",
];

function podLabel(seq: RequestSequence): string {
  const w = seq.workload;
  return `${w.kind} ${w.namespace}/${w.name}`;
}

function decide(evaluator: RequestEvaluator, request: AgentRequest): Decision {
  return evaluator.decide(request.type, request.input);
}

/** What an abort needs of a step: its label and, when it concerns one, its container. */
interface StepLike {
  readonly label: string;
  readonly context?: { readonly container?: string };
}

function abortOf(
  decision: Decision,
  request: AgentRequest,
  step: StepLike,
  mutant?: { readonly name: string; readonly expectation: Expectation },
): EvaluationAbort | undefined {
  if (decision.error === undefined) return undefined;
  return {
    step: step.label,
    type: request.type,
    ...(step.context?.container !== undefined ? { container: step.context.container } : {}),
    ...(mutant !== undefined ? { mutant: mutant.name, expectation: mutant.expectation } : {}),
    error: decision.error,
    request,
  };
}

/**
 * Checks one pod's sequence against its policy.
 *
 * @param rules the compiled rules (shared between pods)
 * @param policyData the pod's `policy_data`
 * @param policyDigest hex digest of the pod's policy, for the report
 */
export async function checkPod(
  rules: RulesSource,
  seq: RequestSequence,
  policyData: unknown,
  policyDigest: string,
  options: CheckOptions,
): Promise<PodReport> {
  using evaluator = await rules.evaluator(policyData);
  const denied: DeniedRequest[] = [];
  const aborts: EvaluationAbort[] = [];
  const weaknesses: MutantOutcome[] = [];
  const nonGuarantees: MutantOutcome[] = [];
  let mutants = 0;
  const record = (
    step: StepLike,
    m: ReturnType<typeof mutantsOf>[number],
  ) => {
    const decision = decide(evaluator, m.request);
    mutants++;
    const abort = abortOf(decision, m.request, step, m);
    if (abort) return void aborts.push(abort);
    const allowed = decision.allowed;
    const outcome: MutantOutcome = {
      step: step.label,
      mutant: m.name,
      field: m.field,
      expectation: m.expectation,
      allowed,
      ...(allowed && m.expectation === "deny" ? { request: m.request } : {}),
    };
    if (m.expectation === "non-guarantee") nonGuarantees.push(outcome);
    else if (allowed) weaknesses.push(outcome);
  };
  for (const [index, step] of seq.steps.entries()) {
    if (options.mutate) {
      for (const m of mutantsOf(step, seq, options.rng)) record(step, m);
      for (const m of policyExecMutants(step, seq, policyData)) record(step, m);
    }
    const decision = evaluator.evaluate(step.request.type, step.request.input);
    const abort = abortOf(decision, step.request, step);
    if (abort) aborts.push(abort);
    else if (!decision.allowed) {
      const mismatches = policyDataMismatches(policyData, step.request.type, step.request.input);
      denied.push({
        index,
        label: step.label,
        type: step.request.type,
        request: step.request,
        ...(mismatches.length > 0 ? { mismatches } : {}),
      });
    }
    if (options.mutate && decision.allowed) {
      for (const m of stateMutantsAfter(step, seq, options.rng)) {
        record({ ...step, label: `after ${step.label}` }, m);
      }
    }
  }
  return {
    pod: podLabel(seq),
    origin: seq.workload.origin,
    policyDigest,
    podName: seq.instance.podName,
    requests: seq.steps.length,
    denied,
    aborts,
    mutants,
    weaknesses,
    nonGuarantees,
    notes: POD_NOTES,
    ok: denied.length === 0 && aborts.length === 0 && weaknesses.length === 0,
  };
}

/**
 * Checks a policy given without its pod: only the tampered requests that must be denied whatever
 * the pod is (SetPolicy, kernel modules, guest hooks, loopback networking, CopyFile escapes, exec
 * or start of unknown containers, UpdateContainer), evaluated in the initial state.
 */
export async function checkPolicyOnly(
  rules: RulesSource,
  policyData: unknown,
  policyDigest: string,
  origin: string,
  rng: RandomSource,
): Promise<PodReport> {
  using evaluator = await rules.evaluator(policyData);
  const weaknesses: MutantOutcome[] = [];
  const aborts: EvaluationAbort[] = [];
  const all = podIndependentMutants(rng);
  for (const m of all) {
    const decision = decide(evaluator, m.request);
    const abort = abortOf(decision, m.request, { label: "(initial state)" }, m);
    if (abort) aborts.push(abort);
    else if (decision.allowed) {
      weaknesses.push({
        step: "(initial state)",
        mutant: m.name,
        field: m.field,
        expectation: m.expectation,
        allowed: true,
        request: m.request,
      });
    }
  }
  return {
    pod: "(policy without pod spec)",
    origin,
    policyDigest,
    podName: "",
    requests: 0,
    denied: [],
    aborts,
    mutants: all.length,
    weaknesses,
    nonGuarantees: [],
    notes: [
      ...POD_NOTES,
      "without the pod spec only pod-independent requests were checked; pass the generated " +
      "YAML for a full check",
    ],
    ok: weaknesses.length === 0 && aborts.length === 0,
  };
}
