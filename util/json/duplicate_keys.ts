/**
 * Duplicate object keys in JSON text. `JSON.parse` keeps the last of two equal keys while other
 * readers keep the first, so a signed or hashed document with a duplicate key could mean one
 * thing to the signer and another to a verifier: every such document is refused instead.
 * Scanning uses `jsonc-parser`'s event visitor (Microsoft's parser behind VS Code), strict JSON
 * only (no comments, no trailing commas).
 *
 * @module
 */
import { visit } from "jsonc-parser";
import type { FieldIssue } from "../errors/mod.ts";
import { childPath } from "./issues.ts";

/** At most this many duplicates are reported per document (the rest are counted). */
export const MAX_DUPLICATE_ISSUES = 20;

/**
 * The JSON path of every duplicated key in `text` (valid JSON), at most
 * {@link MAX_DUPLICATE_ISSUES} of them followed by one issue counting the rest.
 *
 * @param root prefix of every path (a file name or a field), "" for none
 */
export function duplicateKeyIssues(text: string, root = ""): FieldIssue[] {
  const open: Set<string>[] = [];
  const issues: FieldIssue[] = [];
  let more = 0;
  visit(text, {
    onObjectBegin: () => {
      open.push(new Set());
    },
    onObjectEnd: () => {
      open.pop();
    },
    onObjectProperty: (property, _offset, _length, _line, _column, pathSupplier) => {
      const keys = open.at(-1);
      if (!keys) return;
      if (!keys.has(property)) {
        keys.add(property);
        return;
      }
      if (issues.length >= MAX_DUPLICATE_ISSUES) {
        more++;
        return;
      }
      const path = [...pathSupplier(), property].reduce<string>(
        (p, key) => childPath(p, key),
        root,
      );
      issues.push({ path: path || "(root)", reason: "duplicate key (refused: readers disagree)" });
    },
  }, { disallowComments: true, allowTrailingComma: false });
  if (more > 0) issues.push({ path: root || "(root)", reason: `${more} more duplicate keys` });
  return issues;
}
