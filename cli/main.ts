/**
 * Entry point of the `contrast` CLI.
 *
 * @module
 */
import { CommanderError } from "commander";
import { ContrastError, InvalidDocumentError } from "../util/errors/mod.ts";
import { ExitCode, exitCodeFor } from "./exit_codes.ts";
import { buildProgram } from "./program.ts";

/** Runs the CLI with `args` and returns the exit code. */
export async function runCli(args: string[]): Promise<number> {
  const program = await buildProgram(args);
  try {
    await program.parseAsync(args, { from: "user" });
    return ExitCode.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.BadInput;
    }
    if (error instanceof InvalidDocumentError) {
      console.error("error: invalid document:");
      for (const issue of error.issues) console.error(`  ${issue.path}: ${issue.reason}`);
    } else if (error instanceof ContrastError) {
      console.error(`error: ${error.message}`);
    } else {
      console.error("internal error:", error);
    }
    return exitCodeFor(error);
  }
}

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
