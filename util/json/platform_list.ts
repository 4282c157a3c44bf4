/**
 * The documents that carry one platform's list of entries (reference values): a manifest
 * (`ReferenceValues.<platform>`), a wrapper (`{"<platform>": [...]}`), a bare list, or one entry.
 *
 * @module
 */
import type { IssueList } from "./issues.ts";

/**
 * Reads the `platform` list out of `document` (any of the shapes above), each entry through
 * `readEntry` with its JSON path; every problem is added to `issues`, which throws at the end.
 *
 * @example
 * ```ts
 * import { IssueList, readPlatformList } from "./mod.ts";
 *
 * const names = readPlatformList(
 *   { ReferenceValues: { snp: [{ Platform: "Metal-QEMU-SNP" }] } },
 *   "snp",
 *   "SNP reference values",
 *   (entry) => (entry as { Platform: string }).Platform,
 *   new IssueList(),
 * );
 * console.log(names); // ["Metal-QEMU-SNP"]
 * ```
 *
 * @throws {import("../errors/mod.ts").InvalidDocumentError} with every problem and its path
 */
export function readPlatformList<T>(
  document: unknown,
  platform: string,
  label: string,
  readEntry: (entry: unknown, path: string, issues: IssueList) => T | undefined,
  issues: IssueList,
): T[] {
  const { list, path } = locateList(document, platform);
  if (!Array.isArray(list)) {
    issues.add(path || "(root)", `expected an array of ${label}`);
    issues.throwIfAny();
    return [];
  }
  const out: T[] = [];
  list.forEach((entry, i) => {
    const value = readEntry(entry, path ? `${path}[${i}]` : `[${i}]`, issues);
    if (value !== undefined) out.push(value);
  });
  if (list.length === 0) issues.add(path || "(root)", `no ${label}`);
  issues.throwIfAny();
  return out;
}

/** Where the list stands in `document`, and its JSON path ("" for the root). */
function locateList(document: unknown, platform: string): { list: unknown; path: string } {
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    return { list: document, path: "" };
  }
  const o = document as Record<string, unknown>;
  if ("ReferenceValues" in o) {
    const rv = o.ReferenceValues as Record<string, unknown> | null;
    return {
      list: rv && typeof rv === "object" ? rv[platform] : undefined,
      path: `ReferenceValues.${platform}`,
    };
  }
  if (platform in o) return { list: o[platform], path: platform };
  return { list: [document], path: "" };
}
