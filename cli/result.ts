/**
 * The one JSON shape `contrast … --json` prints on stdout, for every outcome (failures included):
 * `contrast-result/v1`, documented in `cli/result.schema.json`. A command prints it through
 * {@link printResult} on success; on failure the entry point prints it from the error, with the
 * partial result a command attached through {@link FailureWithResult}.
 *
 * @module
 */
import { ContrastError, InvalidDocumentError, ValidationError } from "../util/errors/mod.ts";
import { ExitCode } from "./exit_codes.ts";
import { retryJson } from "./retry_hint.ts";

/** The schema identifier of {@link CommandResult}. */
const RESULT_SCHEMA = "contrast-result/v1";

/** What happened, one word per exit code. */
type Outcome = "ok" | "rejected" | "bad-input" | "unavailable" | "internal-error";

/** The error part of a {@link CommandResult}. */
interface ResultError {
  /** Error class: ParseError, VerificationError, ValidationError, UnavailableError, … */
  readonly type: string;
  /** Field, JSON path, flag or file the error is about ("" when none). */
  readonly field: string;
  /** What is wrong. */
  readonly reason: string;
  /** The file the error is about, when one is known. */
  readonly file?: string;
  /** Expected value (ValidationError). */
  readonly expected?: string;
  /** Actual value (ValidationError). */
  readonly actual?: string;
  /** Every problem of an invalid document. */
  readonly issues?: readonly { readonly path: string; readonly reason: string }[];
  /** HTTP status of a busy Coordinator's answer (429, 503). */
  readonly status?: number;
  /** Seconds the busy Coordinator's `Retry-After` asks to wait, when it sent a readable one. */
  readonly retryAfterSeconds?: number;
}

/** The document `--json` prints. */
interface CommandResult {
  /** Always {@link RESULT_SCHEMA}. */
  readonly schema: typeof RESULT_SCHEMA;
  /** The command, e.g. `evidence verify`. */
  readonly command: string;
  /** Whether the command succeeded (exit code 0). */
  readonly ok: boolean;
  /** The process exit code. */
  readonly exitCode: number;
  /** {@link Outcome} of the exit code. */
  readonly outcome: Outcome;
  /** Command-specific result (possibly partial on failure), or null. */
  readonly result: Record<string, unknown> | null;
  /** Why it failed, or null. */
  readonly error: ResultError | null;
}

/** A failure with the partial result the command had when it failed. */
export class FailureWithResult extends Error {
  /** The error that ended the command. */
  readonly error: unknown;
  /** What the command had found until then. */
  readonly result: Record<string, unknown>;
  /** Whether the command printed its result document already (the entry point then does not). */
  readonly printed: boolean;

  constructor(
    error: unknown,
    result: Record<string, unknown>,
    options: { printed?: boolean } = {},
  ) {
    super(error instanceof Error ? error.message : String(error), { cause: error });
    this.name = "FailureWithResult";
    this.error = error;
    this.result = result;
    this.printed = options.printed ?? false;
  }
}

/** The outcome word of an exit code. */
function outcomeOf(exitCode: number): Outcome {
  switch (exitCode) {
    case ExitCode.Ok:
      return "ok";
    case ExitCode.VerificationFailed:
      return "rejected";
    case ExitCode.BadInput:
      return "bad-input";
    case ExitCode.Unavailable:
      return "unavailable";
    default:
      return "internal-error";
  }
}

/** The JSON form of an error. */
function errorToJson(error: unknown): ResultError {
  if (!(error instanceof ContrastError)) {
    return { type: "InternalError", field: "", reason: String(error) };
  }
  return {
    type: error.name,
    field: error.field,
    reason: error.reason,
    ...(error instanceof InvalidDocumentError ? { issues: error.issues } : {}),
    ...(error instanceof InvalidDocumentError && error.file ? { file: error.file } : {}),
    ...(error instanceof ValidationError ? { expected: error.expected, actual: error.actual } : {}),
    ...retryJson(error, Date.now()),
  };
}

/** The result document of a command. */
export function commandResult(
  command: string,
  exitCode: number,
  result: Record<string, unknown> | null,
  error?: unknown,
): CommandResult {
  return {
    schema: RESULT_SCHEMA,
    command,
    ok: exitCode === ExitCode.Ok,
    exitCode,
    outcome: outcomeOf(exitCode),
    result,
    error: exitCode === ExitCode.Ok ? null : errorToJson(error),
  };
}

/** Prints a successful command's result document on stdout. */
export function printResult(command: string, result: Record<string, unknown>): void {
  console.log(JSON.stringify(commandResult(command, ExitCode.Ok, result), null, 2));
}
