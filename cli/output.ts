/**
 * How much the `contrast` CLI says: the global `--log-level error|warn|info|debug` (else
 * `CONTRAST_LOG_LEVEL`, default `info`) is parsed by commander at the edge (`cli/program.ts`) and
 * read back from the command being run, so no module keeps mutable state. `warn` and `error` drop
 * progress lines (`✔ Coordinator attested …`, `wrote …`), `error` warnings too; errors and the
 * `--json` document are never dropped; `debug` adds the stack of internal errors.
 *
 * @module
 */
import type { Command } from "commander";

/** The levels, most quiet first. */
export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];

/** The environment variable read when `--log-level` is not given. */
export const LOG_LEVEL_ENV = "CONTRAST_LOG_LEVEL";

/** Where a command writes one line. */
export type LineWriter = (line: string) => void;

function isLogLevel(value: unknown): value is LogLevel {
  return (LOG_LEVELS as readonly unknown[]).includes(value);
}

/**
 * The level `CONTRAST_LOG_LEVEL` names when no `--log-level` is given: `info` when unset,
 * `undefined` when it names no level (commander reports that as a usage error).
 */
export function logLevelFromEnv(): LogLevel | undefined {
  const value = Deno.env.get(LOG_LEVEL_ENV);
  if (value === undefined) return "info";
  return isLogLevel(value) ? value : undefined;
}

/** True when `level` prints at least as much as `threshold`. */
function atLeast(level: LogLevel, threshold: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(threshold);
}

/**
 * The level the program was run with, read from `command` or any parent; without a command (a
 * command run without commander, or a failure before it parsed), the environment's (default:
 * `info`).
 */
export function logLevelOf(command: Command | undefined): LogLevel {
  if (command === undefined) return logLevelFromEnv() ?? "info";
  const value = command.optsWithGlobals().logLevel;
  return isLogLevel(value) ? value : "info";
}

/** The writer for progress lines at `level`: `write` from `info` up, nothing below. */
export function progressWriter(level: LogLevel, write: LineWriter = console.log): LineWriter {
  return atLeast(level, "info") ? write : () => {};
}

/** The writer for warnings at `level`: `write` from `warn` up, nothing at `error`. */
export function warningWriter(level: LogLevel, write: LineWriter = console.error): LineWriter {
  return atLeast(level, "warn") ? write : () => {};
}

/** The progress writer of the command being run (stdout; see {@link progressWriter}). */
export function progressOf(command: Command, write: LineWriter = console.log): LineWriter {
  return progressWriter(logLevelOf(command), write);
}

/**
 * An unexpected (internal) error's message, then, at `debug` (name and message), the frames of its stack (the lines
 * of `stack` after the message), one per entry.
 */
export function internalErrorLines(error: unknown, level: LogLevel): string[] {
  if (!(error instanceof Error)) return [String(error)];
  if (!atLeast(level, "debug") || !error.stack) return [error.message];
  const head = `${error.name}: ${error.message}`;
  // The stack repeats the message first; a message with line breaks must not pose as frames.
  const rest = error.stack.startsWith(head) ? error.stack.slice(head.length) : "";
  return [head, ...rest.split("\n").filter((line) => /^\s+at /.test(line))];
}
