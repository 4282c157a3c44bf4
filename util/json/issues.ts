import { type FieldIssue, InvalidDocumentError } from "../errors/mod.ts";

/**
 * Collects every problem of a document so they can be reported together.
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

  /** Records a problem at `path`. */
  add(path: string, reason: string): void {
    this.#issues.push({ path, reason });
  }

  /** Whether any problem was recorded. */
  get empty(): boolean {
    return this.#issues.length === 0;
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
    if (this.#issues.length > 0) throw new InvalidDocumentError([...this.#issues]);
  }
}

/** `path` joined with an object key, quoting keys that are not plain identifiers. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  const plain = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : JSON.stringify(key);
  return path ? `${path}.${plain}` : plain;
}
