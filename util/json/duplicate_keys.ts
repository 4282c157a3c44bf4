/**
 * Duplicate object keys in JSON text. `JSON.parse` keeps the last of two equal keys while other
 * readers keep the first, so a signed or hashed document with a duplicate key could mean one
 * thing to the signer and another to a verifier: every such document is refused instead.
 *
 * One linear scan of text that `JSON.parse` has already accepted: strings are skipped with
 * `indexOf` (escapes counted), a string followed by `:` is a key of the innermost open object.
 * Hand-written rather than `jsonc-parser`'s visitor (used before): that package's only build
 * Deno loads is CommonJS, and loading it cost the CLI's cold start ~15 ms of CPU, more than a
 * short command's own work; its ESM build has extensionless imports Deno refuses (issue 18).
 * The tests (`tests/util/json/`) pin paths, order, escapes and the issue limit.
 *
 * @module
 */
import type { FieldIssue } from "../errors/mod.ts";
import { childPath } from "./issues.ts";
import {
  BACKSLASH,
  CLOSE_ARRAY,
  CLOSE_OBJECT,
  COLON,
  COMMA,
  OPEN_ARRAY,
  OPEN_OBJECT,
  QUOTE,
} from "./json_bytes.ts";

/** At most this many duplicates are reported per document (the rest are counted). */
export const MAX_DUPLICATE_ISSUES = 20;

/** An open object or array while scanning; `at` is its key or index in its parent. */
interface OpenContainer {
  readonly parent?: OpenContainer;
  readonly at?: string | number;
  /** The keys seen so far (objects only). */
  readonly keys?: Set<string>;
  /** The key whose value is being read (objects), or the index of the current element (arrays). */
  current: string | number;
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** The index after the closing quote of the string opening at `start`, or -1 if unterminated. */
function stringEnd(text: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** The path of `container` (the chain of keys and indices from the root), under `root`. */
function pathOf(container: OpenContainer | undefined, root: string): string {
  const steps: (string | number)[] = [];
  for (let c = container; c?.at !== undefined; c = c.parent) steps.push(c.at);
  return steps.reverse().reduce<string>((path, step) => childPath(path, step), root);
}

/**
 * The JSON path of every duplicated key in `text` (valid JSON: parse it first), at most
 * {@link MAX_DUPLICATE_ISSUES} of them followed by one issue counting the rest.
 *
 * @param root prefix of every path (a file name or a field), "" for none
 */
export function duplicateKeyIssues(text: string, root = ""): FieldIssue[] {
  const issues: FieldIssue[] = [];
  let more = 0;
  let open: OpenContainer | undefined;
  for (let i = 0; i < text.length;) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (end < 0) break; // not JSON: the caller's parse has already said so
      let next = end;
      while (isWhitespace(text.charCodeAt(next))) next++;
      if (text.charCodeAt(next) === COLON && open?.keys) {
        const raw = text.slice(i + 1, end - 1);
        const key = raw.includes("\\") ? JSON.parse(`"${raw}"`) as string : raw;
        if (!open.keys.has(key)) open.keys.add(key);
        else if (issues.length >= MAX_DUPLICATE_ISSUES) more++;
        else {
          const path = childPath(pathOf(open, root), key);
          issues.push({
            path: path || "(root)",
            reason: "duplicate key (refused: readers disagree)",
          });
        }
        open.current = key;
        i = next + 1;
      } else i = end;
      continue;
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      open = {
        parent: open,
        at: open?.current,
        ...(c === OPEN_OBJECT ? { keys: new Set<string>() } : {}),
        current: c === OPEN_OBJECT ? "" : 0,
      };
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) open = open?.parent;
    else if (c === COMMA && open !== undefined && !open.keys) {
      open.current = Number(open.current) + 1;
    }
    i++;
  }
  if (more > 0) issues.push({ path: root || "(root)", reason: `${more} more duplicate keys` });
  return issues;
}
