/**
 * The `contrast` command tree. Each command lives in `cli/commands/<name>.ts` and exports a
 * `register…` function that adds it to the program.
 *
 * @module
 */
import { Command } from "commander";
import { registerCollateralCommand } from "./commands/collateral.ts";
import { registerEvidenceCommand } from "./commands/evidence.ts";
import { registerGenerateCommand } from "./commands/generate.ts";
import { registerPolicyCommand } from "./commands/policy.ts";
import { registerRecoverCommand } from "./commands/recover.ts";
import { registerSetCommand } from "./commands/set.ts";
import { registerVerifyCommand } from "./commands/verify.ts";

/** Version of contrast, printed by `contrast --version`. */
export const VERSION = "0.1.0";

/** Builds the `contrast` program with every command registered. */
export function buildProgram(): Command {
  const program = new Command("contrast")
    .description("Confidential container deployments on Kubernetes: generate, attest, verify.")
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();
  // Commands register themselves here, one line each (keep alphabetical).
  registerCollateralCommand(program);
  registerEvidenceCommand(program);
  registerGenerateCommand(program);
  registerPolicyCommand(program);
  registerRecoverCommand(program);
  registerSetCommand(program);
  registerVerifyCommand(program);
  return program;
}
