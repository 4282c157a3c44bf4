import { type FieldIssue, InvalidDocumentError } from "../errors/mod.ts";

/**
 * Most problems kept per document; beyond it they are only counted, so a hostile document with
 * millions of bad fields costs a counter, not a list (and not a huge error answer).
 */
export const MAX_ISSUES = 100;

/**
 * Collects every problem of a document (up to {@link MAX_ISSUES}) to report them together.
 *
 * @example Collect every problem, then throw once
 * ```ts
 * import { InvalidDocumentError, IssueList } from "../../mod.ts";
 *
 * const issues = new IssueList();
 * issues.add("Policies", "missing");
 * issues.add("ReferenceValues.snp[0].MinimumTCB", "missing");
 * try {
 *   issues.throwIfAny();
 * } catch (e) {
 *   if (e instanceof InvalidDocumentError) console.log(e.issues.length); // 2
 * }
 * ```
 */
export class IssueList {
  readonly #issues: FieldIssue[] = [];
  #omitted = 0;

  /** Records a problem at `path`. */
  add(path: string, reason: string): void {
    if (this.#issues.length >= MAX_ISSUES) {
      this.#omitted++;
      return;
    }
    this.#issues.push({ path, reason });
  }

  /** Whether any problem was recorded. */
  get empty(): boolean {
    return this.#issues.length === 0;
  }

  /** How many problems were counted but not kept. */
  get omitted(): number {
    return this.#omitted;
  }

  /** The problems recorded so far. */
  get issues(): readonly FieldIssue[] {
    return this.#issues;
  }

  /**
   * Throws when a problem was recorded.
   *
   * @throws {InvalidDocumentError} carrying every recorded problem, if there is one
   */
  throwIfAny(): void {
    if (this.#issues.length === 0) return;
    const more = this.#omitted > 0
      ? [{ path: "(document)", reason: `${this.#omitted} more problems not listed` }]
      : [];
    throw new InvalidDocumentError([...this.#issues, ...more]);
  }
}

/** `path` joined with an object key, quoting keys that are not plain identifiers. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  const plain = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : JSON.stringify(key);
  return path ? `${path}.${plain}` : plain;
}
