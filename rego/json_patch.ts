/**
 * The subset of JSON Patch (RFC 6902: `add`, `replace`, `remove`) the policy rules emit in their
 * `ops`, applied the way the Kata agent applies them to its policy state. Pure: returns a new
 * document and leaves the input untouched; any invalid operation rejects the whole patch.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";

/** One JSON Patch operation. */
export type PatchOp =
  | { readonly op: "add" | "replace"; readonly path: string; readonly value: unknown }
  | { readonly op: "remove"; readonly path: string };

/** Splits an RFC 6901 JSON pointer into its unescaped tokens. */
function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new ParseError("ops.path", `not a JSON pointer: ${pointer}`);
  return pointer.slice(1).split("/").map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"));
}

/** Validates that `value` is an array of {@link PatchOp}s. */
export function parsePatch(value: unknown, field = "ops"): PatchOp[] {
  if (!Array.isArray(value)) throw new ParseError(field, "must be an array");
  return value.map((op, i) => {
    const at = `${field}[${i}]`;
    if (typeof op !== "object" || op === null) throw new ParseError(at, "must be an object");
    const o = op as Record<string, unknown>;
    if (typeof o.path !== "string") throw new ParseError(`${at}.path`, "must be a string");
    if (o.op === "remove") return { op: "remove", path: o.path };
    if (o.op === "add" || o.op === "replace") {
      if (!("value" in o)) throw new ParseError(`${at}.value`, "missing");
      return { op: o.op, path: o.path, value: o.value };
    }
    throw new ParseError(`${at}.op`, `unsupported operation ${JSON.stringify(o.op)}`);
  });
}

type Container = Record<string, unknown> | unknown[];

/** Applies `ops` to a deep copy of `doc` and returns it. */
export function applyPatch<T>(doc: T, ops: readonly PatchOp[]): T {
  let root: unknown = structuredClone(doc);
  for (const [i, op] of ops.entries()) {
    const tokens = parsePointer(op.path);
    const field = `ops[${i}].path`;
    if (tokens.length === 0) {
      if (op.op === "remove") throw new ParseError(field, "cannot remove the root");
      root = structuredClone(op.value);
      continue;
    }
    let parent: unknown = root;
    for (const token of tokens.slice(0, -1)) {
      parent = child(parent, token, field);
    }
    const last = tokens[tokens.length - 1]!;
    if (typeof parent !== "object" || parent === null) {
      throw new ParseError(field, `parent of ${op.path} does not exist`);
    }
    const target = parent as Container;
    if (Array.isArray(target)) {
      const index = last === "-" ? target.length : arrayIndex(last, field);
      if (op.op === "add") {
        if (index > target.length) throw new ParseError(field, "index out of range");
        target.splice(index, 0, structuredClone(op.value));
      } else {
        if (index >= target.length) throw new ParseError(field, "index out of range");
        if (op.op === "replace") target[index] = structuredClone(op.value);
        else target.splice(index, 1);
      }
    } else {
      const exists = Object.hasOwn(target, last);
      if (op.op !== "add" && !exists) throw new ParseError(field, `${op.path} does not exist`);
      if (op.op === "remove") delete target[last];
      else target[last] = structuredClone(op.value);
    }
  }
  return root as T;
}

function child(parent: unknown, token: string, field: string): unknown {
  if (Array.isArray(parent)) {
    const index = arrayIndex(token, field);
    if (index >= parent.length) throw new ParseError(field, "index out of range");
    return parent[index];
  }
  if (typeof parent === "object" && parent !== null && Object.hasOwn(parent, token)) {
    return (parent as Record<string, unknown>)[token];
  }
  throw new ParseError(field, `no member ${JSON.stringify(token)}`);
}

function arrayIndex(token: string, field: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new ParseError(field, `bad array index ${token}`);
  return Number(token);
}
