/**
 * Exit codes of the `contrast` CLI, stable for use in CI steps.
 *
 * @module
 */
import {
  ContrastError,
  InvalidDocumentError,
  ParseError,
  UnavailableError,
  ValidationError,
  VerificationError,
} from "../util/errors/mod.ts";

/** Exit codes; documented in the README. */
export const ExitCode = {
  /** Everything checked out. */
  Ok: 0,
  /** Evidence, a signature, a chain or a policy did not verify, or did not match expectations. */
  VerificationFailed: 1,
  /** Bad usage or malformed input (file, manifest, YAML, report). */
  BadInput: 2,
  /**
   * Something needed could not be reached or is missing (network, offline cache), or the
   * Coordinator is busy (429/503); retryable.
   */
  Unavailable: 3,
  /** An unexpected internal error (a bug: please report it). */
  Internal: 70,
} as const;

/** The exit code for an error thrown by a command. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof VerificationError || error instanceof ValidationError) {
    return ExitCode.VerificationFailed;
  }
  if (error instanceof ParseError || error instanceof InvalidDocumentError) {
    return ExitCode.BadInput;
  }
  if (error instanceof UnavailableError) return ExitCode.Unavailable;
  if (error instanceof ContrastError) return ExitCode.VerificationFailed;
  return ExitCode.Internal;
}
