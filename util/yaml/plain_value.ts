/**
 * Turning a parsed YAML document into plain values without letting the document choose the cost
 * or the shape: alias expansion is bounded (a "billion laughs" document is refused instead of
 * exhausting memory) and an anchor used inside itself (a self-referential alias, which would give
 * a cyclic value) is refused. Both are bad input naming the document: exit code 2, never a crash.
 *
 * @module
 */
import type { Document } from "yaml";
import { ParseError } from "../errors/mod.ts";

/** Most alias expansions one document may cause (the `yaml` package's own measure). */
const MAX_YAML_ALIAS_COUNT = 100;

/**
 * The plain value of `doc`.
 *
 * @param where the file and document index, named by any error
 * @throws {ParseError} naming `where` for an alias bomb or a self-referential alias
 */
export function plainYamlValue(doc: Document.Parsed | Document, where: string): unknown {
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT });
  } catch (cause) {
    if (cause instanceof ReferenceError) {
      throw new ParseError(
        where,
        `aliases expand more than ${MAX_YAML_ALIAS_COUNT} times (a "billion laughs" document?): ` +
          "refused",
        { cause },
      );
    }
    throw new ParseError(where, `not a usable YAML document: ${String(cause)}`, { cause });
  }
  if (isCyclic(value)) {
    throw new ParseError(
      where,
      "an anchor is used inside itself (self-referential alias): refused",
    );
  }
  return value;
}

/** Whether `value` contains itself (depth-first with the set of ancestors). */
function isCyclic(value: unknown): boolean {
  const ancestors = new Set<object>();
  const visit = (v: unknown): boolean => {
    if (v === null || typeof v !== "object") return false;
    if (ancestors.has(v)) return true;
    ancestors.add(v);
    const children = v instanceof Map ? [...v.keys(), ...v.values()] : Object.values(v);
    for (const child of children) if (visit(child)) return true;
    ancestors.delete(v);
    return false;
  };
  return visit(value);
}
