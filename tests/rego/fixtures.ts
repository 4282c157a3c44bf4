/**
 * Test fixture for the compiled rules: an evaluator over the sample policy data with the sandbox
 * and its pause container already admitted, the state every container request starts from.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { CompiledRules, PolicyEvaluator } from "../../rego/evaluator.ts";
import type { PolicyData } from "../../policy/policy_data_types.ts";
import { samplePolicyData } from "../policy/fixtures.ts";
import { createContainer, createSandbox } from "./agent_requests.ts";

/**
 * An evaluator of `rules` over `data` (default: the sample policy data) after
 * `CreateSandboxRequest` for `sandboxId` and `CreateContainerRequest` for the pause container
 * (whose ID is the sandbox ID, as in Kata); asserts that both were allowed.
 */
export async function startedSandbox(
  rules: CompiledRules,
  sandboxId: string,
  given?: PolicyData,
): Promise<{ ev: PolicyEvaluator; data: PolicyData }> {
  const data = given ?? await samplePolicyData();
  const ev = await rules.evaluator(data);
  assert.equal(ev.evaluate("CreateSandboxRequest", createSandbox(data, sandboxId)).allowed, true);
  const pause = data.containers.find((c) => c.kind === "pause")!;
  assert.equal(
    ev.evaluate("CreateContainerRequest", createContainer(data, pause, sandboxId, sandboxId))
      .allowed,
    true,
  );
  return { ev, data };
}
