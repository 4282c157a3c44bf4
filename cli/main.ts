/**
 * Entry point of the `contrast` CLI: runs the command, prints the error of a failed one on
 * stderr (naming its file and field) and, with `--json`, the result document
 * (`contrast-result/v1`, `cli/result.ts`) on stdout for failures too; returns the exit code of
 * `cli/exit_codes.ts`.
 *
 * @module
 */
import { type Command, CommanderError } from "commander";
import { ContrastError, InvalidDocumentError, ParseError } from "../util/errors/mod.ts";
import { ExitCode, exitCodeFor } from "./exit_codes.ts";
import { buildProgram, selectedCommand } from "./program.ts";
import { commandResult, FailureWithResult } from "./result.ts";
import type { BuildInfo } from "./build_info.ts";
import { internalErrorText, type LogLevel, logLevelOf } from "./output.ts";

/** The command words of `args` (`evidence verify`), for the result document. */
function commandName(args: readonly string[]): string {
  const first = selectedCommand(args);
  if (first === undefined) return "";
  const next = args[args.indexOf(first) + 1];
  return next !== undefined && /^[a-z][a-z-]*$/.test(next) && ["evidence", "collateral", "policy"]
      .includes(first)
    ? `${first} ${next}`
    : first;
}

function printError(error: unknown, level: LogLevel): void {
  if (error instanceof InvalidDocumentError) {
    console.error(`error: invalid document${error.file ? ` ${error.file}` : ""}:`);
    for (const issue of error.issues) console.error(`  ${issue.path}: ${issue.reason}`);
  } else if (error instanceof ContrastError) {
    console.error(`error: ${error.message}`);
  } else {
    console.error(`internal error: ${internalErrorText(error, level)}`);
  }
}

/** Runs the CLI with `args` (and what the build embeds) and returns the exit code. */
export async function runCli(args: string[], build: BuildInfo = {}): Promise<number> {
  const json = args.includes("--json");
  let program: Command | undefined;
  try {
    if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
      // Loaded only here: it reads every shipped reference value and the image lock.
      const { versionText } = await import("./version.ts");
      await Deno.stdout.write(new TextEncoder().encode(await versionText(build)));
      return ExitCode.Ok;
    }
    program = await buildProgram(args, { build });
    await program.parseAsync(args, { from: "user" });
    return ExitCode.Ok;
  } catch (thrown) {
    let error = thrown;
    let partial: Record<string, unknown> | null = null;
    let printed = false;
    if (thrown instanceof FailureWithResult) {
      error = thrown.error;
      partial = thrown.result;
      printed = thrown.printed;
    }
    let code: number;
    if (error instanceof CommanderError) {
      // Commander printed its message (or the help) already.
      code = error.exitCode === 0 ? ExitCode.Ok : ExitCode.BadInput;
      if (code === ExitCode.Ok) return code;
      error = new ParseError("usage", error.message.replace(/^error:\s*/, ""));
    } else {
      code = exitCodeFor(error);
      printError(error, logLevelOf(program));
    }
    if (json && !printed) {
      console.log(JSON.stringify(commandResult(commandName(args), code, partial, error), null, 2));
    }
    return code;
  }
}

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
