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

/** Strips the `^…$` anchors of a pattern to embed it in another. */
export function unanchor(pattern: string): string {
  return pattern.replace(/^\^/, "").replace(/\$$/, "");
}
