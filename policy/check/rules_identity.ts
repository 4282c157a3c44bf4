/**
 * The check that the rules a policy carries are the rules the checker evaluates: the SHA-256 of the
 * rules text inside the hashed initdata document must be the rules digest recorded in
 * `rego/policy.wasm.json` when `rego/policy.wasm` was compiled (the evaluator loads only a wasm
 * with the recorded digest, and CI fails when either is stale). A policy generated with other
 * rules would be checked against the wrong logic, so this fails closed. The current
 * `rego/rules.rego` file is deliberately not the reference: it may have been edited since the
 * compilation.
 *
 * @module
 */
import { VerificationError } from "../../util/errors/mod.ts";
import { type CompiledRulesRecord, rulesMatchRecord } from "../../rego/compiled_record.ts";

/**
 * Checks that `policyRules` (the rules part of a policy text, before `policy_data := `) has the
 * digest recorded for the compiled rules.
 *
 * @throws {VerificationError} naming `field` with both digests when they differ
 */
export async function assertSameRules(
  policyRules: string,
  record: Pick<CompiledRulesRecord, "rulesSha256">,
  field = "policy.rego",
): Promise<void> {
  const { same, sha256 } = await rulesMatchRecord(
    new TextEncoder().encode(policyRules),
    record,
  );
  if (!same) {
    throw new VerificationError(
      field,
      `the policy's rules (sha256 ${sha256}) are not the rules compiled into rego/policy.wasm ` +
        `(sha256 ${record.rulesSha256}, recorded in rego/policy.wasm.json); regenerate the ` +
        `policy with this contrast version`,
    );
  }
}
