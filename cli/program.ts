/**
 * The `contrast` command tree. Each command lives in `cli/commands/<name>.ts` and exports a
 * `register…` function that adds it to the program.
 *
 * @module
 */
import { Command } from "commander";
import type { BuildInfo } from "./build_info.ts";
import { registerCollateralCommand } from "./commands/collateral.ts";
import { registerCoordinatorCommand } from "./commands/coordinator.ts";
import { registerEvidenceCommand } from "./commands/evidence.ts";
import { registerGenerateCommand } from "./commands/generate.ts";
import { registerPolicyCommand } from "./commands/policy.ts";
import { registerRecoverCommand } from "./commands/recover.ts";
import { registerRuntimeCommand } from "./commands/runtime.ts";
import { registerSetCommand } from "./commands/set.ts";
import { registerVerifyCommand } from "./commands/verify.ts";

export { VERSION } from "./version.ts";

/** Builds the `contrast` program with every command registered. */
export function buildProgram(build: BuildInfo = {}): Command {
  const program = new Command("contrast")
    .description("Confidential container deployments on Kubernetes: generate, attest, verify.")
    .option("-V, --version", "print the version, the images it pins, the reference values it ships")
    .showHelpAfterError()
    .exitOverride();
  // Commands register themselves here, one line each (keep alphabetical).
  registerCollateralCommand(program);
  registerCoordinatorCommand(program, build);
  registerEvidenceCommand(program);
  registerGenerateCommand(program, build);
  registerPolicyCommand(program);
  registerRecoverCommand(program);
  registerRuntimeCommand(program);
  registerSetCommand(program);
  registerVerifyCommand(program);
  return program;
}
