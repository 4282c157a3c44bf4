/**
 * Evaluates Kata agent requests against the compiled rules (`rego/policy.wasm`) through
 * `@open-policy-agent/opa-wasm`, keeping the policy state as the agent does: the rules see
 * `data.agent_policy.policy_data` and `data.pstate`; after an allowed request the evaluator
 * applies the result's JSON-Patch `ops` to the data document. Fails closed: a result that is not
 * `{allowed: boolean, ops: [...]}` counts as a denial.
 *
 * @module
 */
import { loadPolicy } from "@open-policy-agent/opa-wasm";
import { ParseError, UnavailableError } from "../util/errors/mod.ts";
import {
  assertRecordedEntrypoints,
  assertRecordedWasm,
  type CompiledRulesRecord,
  readRecord,
} from "./compiled_record.ts";
import {
  type DataFieldReplacement,
  dataFieldReplacement,
  type EntrypointEvaluation,
  entrypointEvaluation,
  type LoadedPolicy,
} from "./direct_evaluation.ts";
import { applyPatch, parsePatch, type PatchOp } from "./json_patch.ts";
import { isRequestType, type RequestType } from "./request_types.ts";
import { shippedPolicyWasm } from "./shipped.ts";

/** The outcome of one request. */
export interface Decision {
  /** Whether the agent would run the request. */
  readonly allowed: boolean;
  /** State operations (applied only when allowed). */
  readonly ops: readonly PatchOp[];
  /**
   * Set when the rules returned something malformed, or could not evaluate the request at all
   * (then `allowed` is false).
   */
  readonly error?: string;
  /**
   * Set when the wasm module aborted evaluating the request (e.g. `illegal string escape
   * character` for a lone surrogate, which OPA's JSON reader refuses): the request is denied.
   */
  readonly aborted?: string;
}

/** Policy state as the agent keeps it (`data.pstate`). */
export type PolicyState = Record<string, unknown>;

/** Reads the wasm module at `url`, or without one the committed module embedded in the program. */
export async function readPolicyWasm(url?: URL): Promise<Uint8Array> {
  if (url === undefined) return shippedPolicyWasm();
  try {
    return await Deno.readFile(url);
  } catch (error) {
    throw new UnavailableError("rego/policy.wasm", `cannot read the compiled rules: ${error}`);
  }
}

/**
 * Built-ins the rules use that OPA's WebAssembly target leaves to the host: none (the rules use
 * only what the Kata agent's engine provides, `rego/capabilities/kata-regorus.json`, and all of
 * that compiles into the module).
 */
const BUILTINS: Readonly<Record<string, (...args: unknown[]) => unknown>> = {};

/** A wasm module with its provenance record. */
interface CompiledRulesSource {
  /** The wasm module bytes. */
  readonly wasm: Uint8Array;
  /** Its record (what it was compiled from, its digest). */
  readonly record: CompiledRulesRecord;
}

/**
 * A compiled rules module, loaded once and shared by evaluators (it is stateless). Instances that
 * evaluators released are kept and handed to the next evaluator: a fresh instance's memory is
 * untouched, and the page faults of the first evaluations that grow into it cost more than the
 * rules (about 0.5 ms on a pod's first CreateContainer, measured by
 * `scripts/bench_policy_check.ts`).
 */
export class CompiledRules {
  /** Released instances, ready for another pod's data (setData replaces all of it). */
  readonly #idle: LoadedPolicy[] = [];

  private constructor(
    private readonly module: WebAssembly.Module,
    /** What the module was compiled from: policies must carry rules with its `rulesSha256`. */
    readonly record: CompiledRulesRecord,
  ) {}

  /**
   * Compiles the wasm (default: the committed `rego/policy.wasm` and `rego/policy.wasm.json`)
   * after checking that its SHA-256 and its entrypoints are the recorded ones.
   *
   * @throws {UnavailableError} when a file cannot be read
   * @throws {InvalidDocumentError} when the record is malformed
   * @throws {VerificationError} when the wasm is not the recorded one
   */
  static async load(source?: CompiledRulesSource): Promise<CompiledRules> {
    const [wasm, record] = source
      ? [source.wasm, source.record]
      : await Promise.all([readPolicyWasm(), readRecord()]);
    await assertRecordedWasm(wasm, record);
    const module = await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>);
    const rules = new CompiledRules(module, record);
    const probe = await rules.#instantiate();
    assertRecordedEntrypoints(Object.keys(probe.entrypoints), record);
    return rules;
  }

  async #instantiate(): Promise<LoadedPolicy> {
    return await loadPolicy(this.module, undefined, BUILTINS) as unknown as LoadedPolicy;
  }

  /**
   * An evaluator for one pod's policy data, starting with empty state (or `state`). It runs on an
   * instance another evaluator released when there is one: the instance keeps no state of its own
   * between evaluations, only the data document the evaluator sets. Release it when done
   * (`using`, or {@link PolicyEvaluator.release}) to pass its instance on.
   */
  async evaluator(policyData: unknown, state: PolicyState = {}): Promise<PolicyEvaluator> {
    const policy = this.#idle.pop() ?? await this.#instantiate();
    return new PolicyEvaluator(policy, policyData, state, (p) => this.#idle.push(p));
  }
}

/** Evaluates one pod's requests in order, threading the policy state. */
export class PolicyEvaluator {
  #state: PolicyState;
  #policy: LoadedPolicy | undefined;
  /** Evaluation on this instance (direct through `opa_eval` where the instance allows it). */
  readonly #evaluate: EntrypointEvaluation;
  /** The instance's entrypoint number of each request type. */
  readonly #entrypoints: ReadonlyMap<string, number>;
  /** Replacement of `pstate` alone in the instance's data (where the instance allows it). */
  readonly #replaceField: DataFieldReplacement | undefined;

  /** Use {@link CompiledRules.evaluator}. */
  constructor(
    policy: LoadedPolicy,
    private readonly policyData: unknown,
    state: PolicyState,
    private readonly onRelease: (policy: LoadedPolicy) => void = () => {},
  ) {
    this.#policy = policy;
    this.#evaluate = entrypointEvaluation(policy);
    this.#replaceField = dataFieldReplacement(policy);
    this.#entrypoints = new Map(
      Object.entries(policy.entrypoints).map((
        [name, id],
      ) => [name.replace(/^agent_policy\//, ""), id]),
    );
    this.#state = structuredClone(state);
    this.#syncData();
  }

  /**
   * Hands the instance back for another evaluator; this one then refuses to evaluate (a released
   * evaluator must not read or change another pod's data).
   */
  release(): void {
    const policy = this.#policy;
    this.#policy = undefined;
    if (policy !== undefined) this.onRelease(policy);
  }

  /** {@link release}, for `using`. */
  [Symbol.dispose](): void {
    this.release();
  }

  #instance(): LoadedPolicy {
    if (this.#policy === undefined) {
      throw new UnavailableError("policy evaluator", "released: it no longer holds an instance");
    }
    return this.#policy;
  }

  /** The current policy state (a copy). */
  get state(): PolicyState {
    return structuredClone(this.#state);
  }

  /**
   * Replaces the policy state, e.g. to evaluate another build of the rules at the state the
   * agent reached with this one (the benchmark's comparison keeps both on one instance each).
   */
  setState(state: PolicyState): void {
    this.#state = structuredClone(state);
    this.#syncData();
  }

  #syncData(): void {
    this.#instance().setData({
      agent_policy: { policy_data: this.policyData },
      pstate: this.#state,
    });
  }

  /**
   * Puts the changed state into the instance's data: only `pstate` where the instance allows it
   * (the policy data stays parsed where it is), else the whole document again.
   */
  #syncState(): void {
    this.#instance(); // refuses when released
    if (this.#replaceField === undefined) return this.#syncData();
    this.#replaceField("pstate", this.#state);
  }

  /**
   * Decides `request` of `type` without changing state.
   *
   * @throws {ParseError} when `type` is not a request type the rules know
   */
  decide(type: RequestType | string, request: unknown): Decision {
    if (!isRequestType(type)) throw new ParseError("request type", `unknown request ${type}`);
    this.#instance(); // refuses when released
    const entrypoint = this.#entrypoints.get(type);
    // CompiledRules.load checked that the module exports every request type's entrypoint.
    if (typeof entrypoint !== "number") {
      throw new UnavailableError("rego/policy.wasm", `no entrypoint agent_policy/${type}`);
    }
    let results: unknown;
    try {
      results = this.#evaluate(request, entrypoint);
    } catch (thrown) {
      const reason = wasmAbortReason(thrown);
      if (reason === undefined) throw thrown;
      // Fail closed: a request the rules cannot read is never allowed.
      return { allowed: false, ops: [], error: `the rules aborted: ${reason}`, aborted: reason };
    }
    return interpretResult(results);
  }

  /** Decides `request` and, when allowed, applies its `ops` to the state as the agent does. */
  evaluate(type: RequestType | string, request: unknown): Decision {
    const decision = this.decide(type, request);
    if (decision.allowed && decision.ops.length > 0) {
      const doc = applyPatch({ pstate: this.#state }, decision.ops);
      this.#state = (doc.pstate ?? {}) as PolicyState;
      this.#syncState();
    }
    return decision;
  }
}

/**
 * Why the wasm module stopped, when `thrown` is an abort of the module: opa-wasm throws the
 * module's `opa_abort` message as a plain string, and a trap of the module is a
 * `WebAssembly.RuntimeError`. `undefined` for anything else (a bug of ours: rethrown).
 */
export function wasmAbortReason(thrown: unknown): string | undefined {
  if (typeof thrown === "string") return thrown;
  if (thrown instanceof WebAssembly.RuntimeError) return `wasm trap: ${thrown.message}`;
  return undefined;
}

/** Turns opa-wasm's raw result set into a {@link Decision}, failing closed. */
export function interpretResult(results: unknown): Decision {
  if (!Array.isArray(results) || results.length !== 1) {
    return { allowed: false, ops: [], error: "rules returned no single result" };
  }
  const result = (results[0] as { result?: unknown }).result;
  if (typeof result !== "object" || result === null) {
    return { allowed: false, ops: [], error: "result is not an object" };
  }
  const { allowed, ops } = result as { allowed?: unknown; ops?: unknown };
  if (typeof allowed !== "boolean") {
    return { allowed: false, ops: [], error: "result.allowed is not a boolean" };
  }
  try {
    return { allowed, ops: parsePatch(ops ?? [], "result.ops") };
  } catch (error) {
    return { allowed: false, ops: [], error: (error as Error).message };
  }
}
