/**
 * The check that the rules a policy carries are the rules the checker evaluates: the rules text
 * inside the hashed initdata document must be byte-identical to `rego/rules.rego`, the source
 * `rego/policy.wasm` is compiled from (CI rebuilds the wasm and fails when it is stale). A policy
 * generated with other rules would be checked against the wrong logic, so this fails closed.
 *
 * @module
 */
import { encodeHex, sha256 } from "../../bytes/mod.ts";
import { UnavailableError, VerificationError } from "../../errors/mod.ts";

/** Location of the rules source compiled into `rego/policy.wasm`. */
export const RULES_SOURCE_URL: URL = new URL("../../rego/rules.rego", import.meta.url);

/** The rules the compiled module was built from. */
export interface CompiledRulesText {
  /** The exact rules bytes. */
  readonly bytes: Uint8Array;
  /** Hex SHA-256 of {@link bytes}. */
  readonly sha256: string;
}

/**
 * Reads the rules source of the compiled module.
 *
 * @throws {UnavailableError} when the file cannot be read
 */
export async function readCompiledRulesText(
  url: URL = RULES_SOURCE_URL,
): Promise<CompiledRulesText> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(url);
  } catch (error) {
    throw new UnavailableError(
      "rego/rules.rego",
      `cannot read the compiled rules' source: ${error}`,
    );
  }
  return { bytes, sha256: encodeHex(await sha256(bytes)) };
}

/**
 * Checks that `policyRules` (the rules part of a policy text, before `policy_data := `) is
 * byte-identical to the compiled rules.
 *
 * @throws {VerificationError} naming `policy.rego` with both digests when they differ
 */
export async function assertSameRules(
  policyRules: string,
  compiled: CompiledRulesText,
  field = "policy.rego",
): Promise<void> {
  const bytes = new TextEncoder().encode(policyRules);
  const digest = encodeHex(await sha256(bytes));
  if (digest !== compiled.sha256) {
    throw new VerificationError(
      field,
      `the policy's rules (sha256 ${digest}) are not the rules compiled into rego/policy.wasm ` +
        `(sha256 ${compiled.sha256}); regenerate the policy with this contrast version`,
    );
  }
}
