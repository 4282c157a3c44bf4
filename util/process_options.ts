/**
 * Command-line pieces the Coordinator and Initializer processes share: options that default to a
 * `CONTRAST_*` environment variable, the log format, and how a fatal error becomes a log line and
 * an exit code. (The options selecting the process's own evidence source are in
 * `evidence/evidence_config.ts`.)
 *
 * @module
 */
import { type Command, CommanderError, Option } from "commander";
import { ContrastError } from "./errors/mod.ts";
import type { Logger } from "./log/logger.ts";

/** The value of environment variable `name`, or `undefined` when unset or empty. */
export function envOption(name: string): string | undefined {
  return Deno.env.get(name) || undefined;
}

/** Adds `--log-format json|text` (default `CONTRAST_LOG_FORMAT` or `json`) to `command`. */
export function addLogFormatOption(command: Command): Command {
  return command.addOption(
    new Option("--log-format <f>", "log format").choices(["json", "text"]).default(
      envOption("CONTRAST_LOG_FORMAT") ?? "json",
    ),
  );
}

/**
 * Logs a fatal `error` as `message` (a {@link ContrastError} by its message, which names the
 * field; anything else as its text) and returns the exit code: 1 for a {@link ContrastError}, 70
 * (internal software error) otherwise.
 */
export function fatalExitCode(logger: Logger, message: string, error: unknown): number {
  logger.error(message, {
    error: error instanceof ContrastError ? error.message : String(error),
  });
  return error instanceof ContrastError ? 1 : 70;
}

/**
 * The exit code after commander stopped parsing a process's arguments: 0 for `--help` and
 * `--version` (commander printed what was asked for), 2 for a usage error.
 */
export function usageExitCode(error: unknown): number {
  return error instanceof CommanderError && error.exitCode === 0 ? 0 : 2;
}
