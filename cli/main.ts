/**
 * Entry point of the `contrast` CLI: runs the command, prints the error of a failed one on
 * stderr (naming its file and field) and, with `--json`, the result document
 * (`contrast-result/v1`, `cli/result.ts`) on stdout for failures too; returns the exit code of
 * `cli/exit_codes.ts`.
 *
 * @module
 */
import type { Command } from "commander";
import { ContrastError, InvalidDocumentError, ParseError } from "../util/errors/mod.ts";
import { ExitCode, exitCodeFor } from "./exit_codes.ts";
import { commandName } from "./command_words.ts";
import { commandResult, FailureWithResult } from "./result.ts";
import type { BuildInfo } from "./build_info.ts";
import { escapeLineText } from "../util/log/line_text.ts";
import { internalErrorLines, type LogLevel, logLevelFromEnv, logLevelOf } from "./output.ts";
import { retryHint } from "./retry_hint.ts";

/**
 * Runs the command of `args` without commander when it takes that path (`evidence show|verify`
 * with its options in the plain form, `cli/option_specs.ts`, and no bad `CONTRAST_LOG_LEVEL`):
 * true when it ran. Everything else goes through commander (help, errors, other commands).
 */
async function runPlain(args: readonly string[]): Promise<boolean> {
  if (args[0] !== "evidence" || logLevelFromEnv() === undefined) return false;
  const { runEvidencePlain } = await import("./commands/evidence.ts");
  return await runEvidencePlain(args.slice(1));
}

/**
 * Prints the error of a failed command on stderr. Its text may carry what the network sent (an
 * impostor's error answer, a field name of its JSON): every line is printed through
 * {@link escapeLineText}, so such text can neither add lines (a forged "✔ Manifest set") nor
 * drive the terminal.
 */
function printError(error: unknown, level: LogLevel): void {
  const print = (text: string) => console.error(escapeLineText(text));
  if (error instanceof InvalidDocumentError) {
    // Without a file the problems are spread over the command's inputs (documents, settings,
    // flags), each named by its own path.
    print(error.file ? `error: invalid document ${error.file}:` : "error: invalid input:");
    for (const issue of error.issues) print(`  ${issue.path}: ${issue.reason}`);
  } else if (error instanceof ContrastError) {
    // A busy Coordinator (429/503) also says when to retry (exit code 3, unavailable).
    print(`error: ${error.message}${retryHint(error)}`);
  } else {
    // The message alone, then (at debug) the stack's frames, the program's own text, one a line.
    const [message, ...frames] = internalErrorLines(error, level);
    print(`internal error: ${message}`);
    for (const frame of frames) print(frame);
  }
}

/** Runs the CLI with `args` (and what the build embeds) and returns the exit code. */
export async function runCli(args: string[], build: BuildInfo = {}): Promise<number> {
  const json = args.includes("--json");
  let program: Command | undefined;
  let commanderFailure: typeof import("./program.ts").commanderFailure | undefined;
  try {
    if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
      // Loaded only here: it reads every shipped reference value and the image lock.
      const { versionText } = await import("./version.ts");
      await Deno.stdout.write(new TextEncoder().encode(await versionText(build)));
      return ExitCode.Ok;
    }
    if (await runPlain(args)) return ExitCode.Ok;
    const cli = await import("./program.ts");
    commanderFailure = cli.commanderFailure;
    program = await cli.buildProgram(args, { build });
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
    const usage = commanderFailure?.(error);
    if (usage !== undefined) {
      // Commander printed its message (or the help) already.
      if (usage.helpShown) return ExitCode.Ok;
      code = ExitCode.BadInput;
      error = new ParseError("usage", usage.message);
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
