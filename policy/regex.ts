/**
 * Helpers for the anchored RE2 patterns in policy data: escaping literals and composing values
 * that are partly known (a literal) and partly only known at run time (a pattern).
 *
 * @module
 */

/** Escapes `text` so it matches itself literally in RE2 and JavaScript regexes. */
export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, (c) => `\\${c}`);
}

/** An anchored pattern matching exactly `text`. */
export function exactRegex(text: string): string {
  return `^${escapeRegex(text)}$`;
}

/**
 * A piece of a value: literal text (flagged `secret` when it comes from a Kubernetes Secret, so it
 * is only ever published as a hash), or an unanchored pattern for a run-time part.
 */
type ValuePart =
  | { readonly literal: string; readonly secret?: boolean }
  | { readonly pattern: string };

/** Whether any part of the value comes from a Secret. */
export function hasSecret(value: PartialValue): boolean {
  return value.some((p) => "literal" in p && p.secret === true);
}

/** A value made of parts; literal when every part is literal. */
export type PartialValue = readonly ValuePart[];

/** Whether every part is literal. */
export function isLiteral(value: PartialValue): boolean {
  return value.every((p) => "literal" in p);
}

/** The literal text of a fully literal value. */
export function literalText(value: PartialValue): string {
  return value.map((p) => ("literal" in p ? p.literal : "")).join("");
}

/** The anchored pattern for a value. */
export function valueRegex(value: PartialValue): string {
  return `^${value.map((p) => ("literal" in p ? escapeRegex(p.literal) : p.pattern)).join("")}$`;
}

/**
 * Strips the `^…$` anchors of a pattern to embed it in another: a leading `^` and a trailing `$`
 * that is not escaped (preceded by an even number of backslashes). An escaped `\$` at the end is
 * literal text of the pattern (a name `web$` is `web\$`): stripping its `$` would leave `^web\$`,
 * which admits `web$` followed by anything.
 *
 * @example
 * ```ts
 * import { unanchor } from "./regex.ts";
 *
 * unanchor("^web-[0-9]+$"); // "web-[0-9]+"
 * unanchor("web\\$"); // "web\\$" (the literal text `web$`)
 * ```
 */
export function unanchor(pattern: string): string {
  const body = pattern.startsWith("^") ? pattern.slice(1) : pattern;
  if (!body.endsWith("$")) return body;
  const backslashes = body.length - 1 - body.slice(0, -1).replace(/\\+$/, "").length;
  return backslashes % 2 === 0 ? body.slice(0, -1) : body;
}
