/**
 * Typed errors of the manifest history.
 *
 * @module
 */
import { ContrastError, VerificationError } from "../../util/errors/mod.ts";

/**
 * An update named a previous transition that is not (or no longer) the latest, or lost the
 * compare-and-swap on latest to a concurrent writer. The Coordinator answers HTTP 409.
 */
export class StaleTransitionError extends ContrastError {
  /** Hex of the transition the writer expected to be latest. */
  readonly expected: string;
  /** Hex of the latest transition found (32 zero bytes' hex when the history is empty). */
  readonly actual: string;

  constructor(expected: string, actual: string, reason?: string) {
    super(
      "previous_transition",
      reason ?? `is not the latest transition (expected ${expected}, latest is ${actual})`,
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * Stored history failed a check: an object whose bytes do not hash to its name, a torn or
 * malformed record, a latest not signed by the history key, or a reference to a missing object.
 * `field` is the stored path (`manifests/<sha256>`, `transitions/latest`). Never trusted.
 */
export class HistoryCorruptionError extends VerificationError {}

/**
 * The store lost its latest record but still holds an earlier history: starting fresh over it
 * would let whoever deleted the record install a new first manifest. The Coordinator refuses to
 * start; the history must be restored (or the store wiped on purpose).
 */
export class HistoryResetError extends VerificationError {}
