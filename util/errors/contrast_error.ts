/**
 * Typed errors shared by every part of contrast.
 *
 * Every error carries the `field` it is about (a struct field such as `report.version`, or a
 * JSON path such as `ReferenceValues.snp[0].MinimumTCB.SNPVersion`) and the `reason` in words.
 * Messages never contain secret material.
 *
 * @module
 */

/**
 * Base class of every error contrast raises on purpose.
 *
 * @example Catch any error contrast raises on purpose
 * ```ts
 * import { ContrastError, decodeHex } from "../../mod.ts";
 *
 * try {
 *   decodeHex("xyz", "hostData");
 * } catch (e) {
 *   if (e instanceof ContrastError) console.log(e.field, e.reason);
 * }
 * ```
 */
export class ContrastError extends Error {
  /** The field, path or parameter the error is about. */
  readonly field: string;
  /** What is wrong, in words a user can act on. */
  readonly reason: string;

  /** An error about `field` (empty when none) for `reason`. */
  constructor(field: string, reason: string, options?: ErrorOptions) {
    super(field ? `${field}: ${reason}` : reason, options);
    this.name = new.target.name;
    this.field = field;
    this.reason = reason;
  }
}

/**
 * Bytes or text could not be decoded into a typed value (wrong length, bad tag, bad hex...).
 *
 * @example Report undecodable input with the field it was read from
 * ```ts
 * import { ParseError } from "../../mod.ts";
 *
 * const err = new ParseError("report.version", "unsupported version 1");
 * console.log(err.message); // "report.version: unsupported version 1"
 * ```
 */
export class ParseError extends ContrastError {}

/**
 * A cryptographic check failed: signature, certificate chain, revocation, validity window.
 *
 * @example A failed signature check
 * ```ts
 * import { VerificationError } from "../../mod.ts";
 *
 * const err = new VerificationError("report.signature", "does not verify with the VCEK");
 * console.log(err instanceof Error); // true
 * ```
 */
export class VerificationError extends ContrastError {}

/**
 * Genuine evidence does not meet the expected (reference) values.
 *
 * @example A value that differs from its reference value
 * ```ts
 * import { ValidationError } from "../../mod.ts";
 *
 * const err = new ValidationError("measurement", "not allowed", { expected: "ab..", actual: "cd.." });
 * console.log(err.expected, err.actual);
 * ```
 */
export class ValidationError extends ContrastError {
  /** The expected value, rendered for humans (hex, number, list). */
  readonly expected?: string;
  /** The actual value, rendered for humans. */
  readonly actual?: string;

  /** A mismatch of `field`, with the expected and actual values when known. */
  constructor(
    field: string,
    reason: string,
    values?: { expected?: string; actual?: string },
    options?: ErrorOptions,
  ) {
    const detail = values && (values.expected !== undefined || values.actual !== undefined)
      ? ` (expected ${values.expected ?? "?"}, got ${values.actual ?? "?"})`
      : "";
    super(field, reason + detail, options);
    this.expected = values?.expected;
    this.actual = values?.actual;
  }
}

/**
 * Something needed is not available (offline cache miss, missing file, missing collateral).
 *
 * @example Tell a missing input from a bad one
 * ```ts
 * import { UnavailableError } from "../../mod.ts";
 *
 * const err = new UnavailableError("vcek", "not in the offline cache");
 * console.log(err.field); // "vcek"
 * ```
 */
export class UnavailableError extends ContrastError {}

/**
 * A server that was reached answered that what was asked for does not exist (HTTP 404): the
 * name asked for is wrong, so commands treat it as bad input, not as something to retry later.
 *
 * @example A 404 from a collateral server
 * ```ts
 * import { NotFoundError, UnavailableError } from "../../mod.ts";
 *
 * const err = new NotFoundError("tcbInfo", "fmspc 00906ed50000 is unknown to the PCS");
 * console.log(err instanceof UnavailableError); // true
 * ```
 */
export class NotFoundError extends UnavailableError {}

/**
 * One problem found in a document, with the JSON path it sits at.
 *
 * @example One problem of a document
 * ```ts
 * import type { FieldIssue } from "../../mod.ts";
 *
 * const issue: FieldIssue = { path: "Policies.ab12.SANs[0]", reason: "not a DNS name or IP" };
 * console.log(issue.path);
 * ```
 */
export interface FieldIssue {
  /** JSON path, e.g. `Policies.ab12….SANs[0]`. */
  readonly path: string;
  /** What is wrong there. */
  readonly reason: string;
}

/** Most issues an {@link InvalidDocumentError}'s message lists (all are in `issues`). */
const MESSAGE_ISSUES = 20;

/**
 * A document (JSON, YAML, TOML) has one or more problems; all of them are reported together.
 *
 * @example Every problem of a manifest at once
 * ```ts
 * import { InvalidDocumentError } from "../../mod.ts";
 *
 * const err = new InvalidDocumentError([
 *   { path: "Policies", reason: "missing" },
 *   { path: "SeedshareOwnerPubKeys[0]", reason: "not hex" },
 * ], { file: "manifest.json" });
 * console.log(err.issues.length, err.file); // 2 "manifest.json"
 * ```
 */
export class InvalidDocumentError extends ContrastError {
  /** Every problem found, in document order. */
  readonly issues: readonly FieldIssue[];
  /** The file the document was read from, when known. */
  readonly file?: string;

  /** Every problem of a document, each with its path; `options.file` names the file. */
  constructor(
    issues: readonly FieldIssue[],
    options?: ErrorOptions & { readonly file?: string },
  ) {
    const first = issues[0] ?? { path: "", reason: "invalid document" };
    super(
      first.path,
      issues.length === 1
        ? first.reason
        : `${first.reason} (and ${issues.length - 1} more: ${
          issues.slice(1, MESSAGE_ISSUES).map((i) => `${i.path}: ${i.reason}`).join("; ")
        }${issues.length > MESSAGE_ISSUES ? "; …" : ""})`,
      options,
    );
    this.issues = issues;
    this.file = options?.file;
    if (this.file) this.message = `${this.file}: ${this.message}`;
  }

  /** The same problems, attributed to `file`. */
  inFile(file: string): InvalidDocumentError {
    return new InvalidDocumentError(this.issues, { cause: this.cause, file });
  }
}
