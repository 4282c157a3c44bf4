/**
 * One `contrast policy check` run: for every confidential pod read from the inputs, check that its
 * policy's rules are the compiled rules, resolve its images, build its request sequence and check
 * it (with mutants when asked); policies given on their own get the pod-independent checks.
 *
 * @module
 */
import type { ImageResolver, ResolvedImage } from "../../oci/types.ts";
import type { CompiledRules } from "../../rego/evaluator.ts";
import { ContrastError, VerificationError } from "../../util/errors/mod.ts";
import { checkPod, checkPolicyOnly, type PodReport } from "./checker.ts";
import type { CheckInputs, PolicyDocument } from "./inputs.ts";
import type { RandomSource } from "./random_ids.ts";
import { buildRequestSequence } from "./request_sequence.ts";
import { type CheckRun, summarise, type Unchecked } from "./report.ts";
import { assertSameRules } from "./rules_identity.ts";
import type { NodeRuntime } from "./runtime_model.ts";

/** What a run needs besides its inputs. */
interface RunContext {
  /** The compiled rules; policies must carry the rules its record names. */
  readonly rules: CompiledRules;
  readonly images: ImageResolver;
  readonly mutate: boolean;
  readonly rng: RandomSource;
  /** The nodes' runtime the policies were generated for (default: generate's defaults). */
  readonly node?: NodeRuntime;
}

/** A run's result. */
interface RunResult {
  readonly run: CheckRun;
}

async function resolveImages(
  resolver: ImageResolver,
  refs: Iterable<string>,
): Promise<Map<string, ResolvedImage>> {
  const unique = [...new Set(refs)];
  const resolved = await Promise.all(unique.map((r) => resolver.resolve(r)));
  return new Map(unique.map((r, i) => [r, resolved[i]]));
}

/**
 * Refuses a policy that is not all its initdata holds: the Kata agent hands `aa.toml` and
 * `cdh.toml` of the `[data]` table to the guest's attestation agent and confidential data hub
 * (where images and secrets come from, through which proxy), which the policy does not cover and
 * generate never writes; the digest the TEE measures covers them, so a check of the policy alone
 * would pass a pod whose guest is configured by someone else.
 *
 * @param field the policy's field (`<origin>: policy.rego`)
 * @throws {VerificationError} naming the first other key
 */
function onlyThePolicy(policy: PolicyDocument, field: string): void {
  const [other] = policy.otherInitdataKeys;
  if (other === undefined) return;
  throw new VerificationError(
    field.replace(/policy\.rego$/, `data[${JSON.stringify(other)}]`),
    `the initdata holds more than the policy (${
      policy.otherInitdataKeys.join(", ")
    }): the Kata agent passes these to the guest's attestation agent and confidential data hub, ` +
      "which the policy does not cover and contrast generate never writes; regenerate the pod",
  );
}

async function policyOk(policy: PolicyDocument, ctx: RunContext, field: string): Promise<void> {
  onlyThePolicy(policy, field);
  await assertSameRules(policy.rules, ctx.rules.record, field);
}

/**
 * Checks everything in `inputs`.
 *
 * @throws {UnavailableError} when an image cannot be resolved (offline cache miss, registry down)
 */
export async function runPolicyCheck(inputs: CheckInputs, ctx: RunContext): Promise<RunResult> {
  const reports: PodReport[] = [];
  const unchecked: Unchecked[] = [];
  for (const { workload, policy } of inputs.workloads) {
    const pod = `${workload.kind} ${workload.namespace}/${workload.name}`;
    if (!policy) {
      unchecked.push({
        pod,
        origin: workload.origin,
        field: `${workload.templatePath}.metadata.annotations`,
        reason: "the pod has no policy annotation; run `contrast generate` first",
      });
      continue;
    }
    try {
      await policyOk(policy, ctx, `${workload.origin}: policy.rego`);
    } catch (error) {
      if (!(error instanceof ContrastError)) throw error;
      unchecked.push({ pod, origin: workload.origin, field: error.field, reason: error.reason });
      continue;
    }
    const containers = [...workload.spec.initContainers, ...workload.spec.containers];
    const images = await resolveImages(ctx.images, containers.map((c) => c.image));
    const sequence = buildRequestSequence({
      workload,
      images,
      cluster: inputs.cluster,
      rng: ctx.rng,
      ...(ctx.node ? { node: ctx.node } : {}),
    });
    reports.push(
      await checkPod(ctx.rules, sequence, policy.policyData, policy.digest, {
        mutate: ctx.mutate,
        rng: ctx.rng,
      }),
    );
  }
  for (const { file, policy } of inputs.standalone) {
    try {
      await policyOk(policy, ctx, `${file}: policy.rego`);
    } catch (error) {
      if (!(error instanceof ContrastError)) throw error;
      unchecked.push({ pod: "(policy)", origin: file, field: error.field, reason: error.reason });
      continue;
    }
    reports.push(await checkPolicyOnly(ctx.rules, policy.policyData, policy.digest, file, ctx.rng));
  }
  return { run: summarise(reports, ctx.mutate, unchecked) };
}
