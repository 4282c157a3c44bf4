/**
 * Entry point of the `contrast` CLI.
 *
 * @module
 */
import "reflect-metadata";
import { CommanderError } from "commander";
import { ContrastError, InvalidDocumentError } from "../util/errors/mod.ts";
import { ExitCode, exitCodeFor } from "./exit_codes.ts";
import { buildProgram } from "./program.ts";
import type { BuildInfo } from "./build_info.ts";
import { versionText } from "./version.ts";

/** Runs the CLI with `args` (and what the build embeds) and returns the exit code. */
export async function runCli(args: string[], build: BuildInfo = {}): Promise<number> {
  const program = buildProgram(build);
  try {
    if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
      await Deno.stdout.write(new TextEncoder().encode(await versionText(build)));
      return ExitCode.Ok;
    }
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
