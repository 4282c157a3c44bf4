/**
 * Shapes of the policy data's patterns, worked out at generate time so the rules need not: the
 * same decision as `pattern_shape` in `rego/rules.rego` (a literal text, a literal prefix with a
 * generated-name or number tail, a Kata container ID after a literal prefix, a shared file, …, or
 * `regex` for every other pattern), which the rules otherwise work out anew in every evaluation
 * of every pattern. The rules take a shape from `policy_data.pattern_shapes` by the exact pattern
 * text and decide the value by it; `tests/policy/pattern_shapes_test.ts` checks that every shape
 * here is the one the rules compute.
 *
 * @module
 */

import { deepFreeze } from "./shared_values.ts";
import type { PolicyData, StorageExpectation } from "./policy_data_types.ts";

/** A pattern's shape, as `pattern_shape` in rules.rego returns it (sets as sorted arrays). */
export type PatternShape =
  | { readonly literal: string }
  | { readonly prefix: string; readonly tail: string }
  | { readonly prefix: string; readonly id: true }
  | { readonly uuid: true }
  | { readonly shared: string; readonly name: string }
  | { readonly shared_tree: true }
  | { readonly shared_names: readonly string[] }
  | { readonly log_dir: true }
  | { readonly image_ref: true }
  | { readonly regex: true };

/** A container ID in patterns (rules.rego `id_token`). */
const ID_TOKEN = "[A-Za-z0-9][A-Za-z0-9_.-]+";
/** Literal text without a backslash (the one-class constant pattern of `literal_match`). */
const LITERAL_CLASS = /^[A-Za-z0-9_,:;@=/ %~-]*$/;
/** rules.rego `literal_text_pattern`: literal characters or a backslash-escaped metacharacter. */
const LITERAL_TEXT = /^(?:[A-Za-z0-9_,:;@=/ %~-]|\\[.+*?()|\[\]{}^$/-])*$/;
const KATA_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]+$/;
const SHARED_DIR_PATTERN = "^/run/kata-containers/shared/containers/";
const UUID_PATTERN = "^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$";
const SHARED_TREE_PATTERN =
  `${SHARED_DIR_PATTERN}${ID_TOKEN}-[a-z0-9]{16}-[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)*$`;
const SHARED_NAMES_PREFIX = `${SHARED_DIR_PATTERN}${ID_TOKEN}-[a-z0-9]{16}-(`;
const LOG_DIR_PATTERN = "^/var/log/pods/[a-z0-9.-]+_[a-z0-9.-]+_[a-f0-9-]{36}$";
/** rules.rego `image_ref_pattern`: the pause image's name (settings.json). */
const IMAGE_REF_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._/:@-]*$";
/** The body of {@link UUID_PATTERN}: the last of the name tails, after a non-empty prefix. */
const UUID_TAIL = UUID_PATTERN.slice(1, -1);
/** rules.rego `name_tails`, in its order. */
const NAME_TAILS = [
  "[a-z0-9]{1,10}-[a-z0-9]{5}",
  "[a-z0-9]{5}",
  "[0-9]+",
  "-?[0-9]+",
  ".*",
  UUID_TAIL,
  "[0-9]{1,11}-([0-9]+-)?[a-z0-9]{5}",
  "([0-9]+-)?[a-z0-9]{5}",
];
/** Each tail with the closing anchor. */
const TAIL_ENDINGS = NAME_TAILS.map((tail) => ({ tail, ending: `${tail}$` }));
const ID_ENDING = `${ID_TOKEN}$`;

const unescape = (text: string) => text.replaceAll("\\", "");

/**
 * The shape rules.rego's `pattern_shape` gives `pattern`. Patterns with a non-ASCII character are
 * `regex` (no literal check admits one, and the rules count characters where JavaScript counts
 * UTF-16 units).
 */
export function patternShape(pattern: string): PatternShape {
  // deno-lint-ignore no-control-regex
  if (/[^\x00-\x7f]/.test(pattern)) return { regex: true };
  const literal = literalPatternText(pattern);
  if (literal !== undefined) return { literal };
  const tail = tailShape(pattern);
  if (tail) return tail;
  const id = idShape(pattern);
  if (id) return id;
  if (pattern === UUID_PATTERN) return { uuid: true };
  const shared = sharedFileShape(pattern);
  if (shared) return shared;
  if (pattern === SHARED_TREE_PATTERN) return { shared_tree: true };
  const names = sharedNamesShape(pattern);
  if (names) return names;
  if (pattern === LOG_DIR_PATTERN) return { log_dir: true };
  if (pattern === IMAGE_REF_PATTERN) return { image_ref: true };
  return { regex: true };
}

function literalPatternText(pattern: string): string | undefined {
  if (!pattern.startsWith("^") || !pattern.endsWith("$") || pattern.length < 2) return undefined;
  const inner = pattern.slice(1, -1);
  if (!inner.includes("\\")) return LITERAL_CLASS.test(inner) ? inner : undefined;
  return LITERAL_TEXT.test(inner) ? unescape(inner) : undefined;
}

function tailShape(pattern: string): PatternShape | undefined {
  if (!pattern.startsWith("^")) return undefined;
  for (const { tail, ending } of TAIL_ENDINGS) {
    if (!pattern.endsWith(ending)) continue;
    const prefix = pattern.slice(1, pattern.length - ending.length);
    // A UUID alone is the `uuid` shape (rules.rego tail_after).
    if (tail === UUID_TAIL && prefix === "") continue;
    if (LITERAL_TEXT.test(prefix)) return { prefix: unescape(prefix), tail };
  }
  return undefined;
}

function idShape(pattern: string): PatternShape | undefined {
  if (!pattern.endsWith(ID_ENDING) || !pattern.startsWith("^")) return undefined;
  const prefix = pattern.slice(1, pattern.length - ID_ENDING.length);
  return LITERAL_TEXT.test(prefix) ? { prefix: unescape(prefix), id: true } : undefined;
}

function sharedFileShape(pattern: string): PatternShape | undefined {
  if (!pattern.startsWith(SHARED_DIR_PATTERN) || !pattern.endsWith("$")) return undefined;
  const rest = pattern.slice(SHARED_DIR_PATTERN.length);
  const id = sharedIdPart(rest);
  if (id === undefined) return undefined;
  const after = rest.slice(id.length + 1);
  if (!after.startsWith("[a-z0-9]{16}-")) return undefined;
  const name = after.slice(13, after.length - 1);
  if (name === "" || !LITERAL_TEXT.test(name)) return undefined;
  return { shared: unescape(id), name: unescape(name) };
}

function sharedIdPart(rest: string): string | undefined {
  if (rest.startsWith(`${ID_TOKEN}-`)) return ID_TOKEN;
  const at = rest.indexOf("-[a-z0-9]{16}-");
  if (at <= 0) return undefined;
  const id = rest.slice(0, at);
  return LITERAL_TEXT.test(id) && KATA_ID.test(unescape(id)) ? id : undefined;
}

function sharedNamesShape(pattern: string): PatternShape | undefined {
  if (!pattern.startsWith(SHARED_NAMES_PREFIX) || !pattern.endsWith(")$")) return undefined;
  const alternatives = pattern.slice(SHARED_NAMES_PREFIX.length, pattern.length - 2);
  const parts = alternatives.split("|");
  if (!parts.every((p) => p !== "" && LITERAL_TEXT.test(p))) return undefined;
  return { shared_names: [...new Set(parts.map(unescape))].sort() };
}

/**
 * Stands for the container ID in the shapes of `$(cid)` patterns (rules.rego `cid_placeholder`):
 * the rules put the ID in its place in the shape's text fields.
 */
export const CID_PLACEHOLDER = "CONTAINERID";

/**
 * The shape of a pattern with `$(cid)`, worked out with {@link CID_PLACEHOLDER} in its place;
 * undefined where the ID would not land in text fields only (then the rules put the ID into the
 * pattern and work the shape out).
 */
export function cidPatternShape(pattern: string): PatternShape | undefined {
  if (pattern.includes(CID_PLACEHOLDER)) return undefined;
  const shape = patternShape(pattern.replaceAll("$(cid)", CID_PLACEHOLDER));
  return "literal" in shape || "prefix" in shape || "shared" in shape ? shape : undefined;
}

/** The fields of the policy data whose patterns the rules decide through `pattern_match`. */
type PatternFields = Omit<PolicyData, "pattern_shapes">;

/**
 * Shapes already worked out, by pattern (undefined: the pattern has none), for the pods of one
 * `generate` run: most patterns (settings, images, injected containers) repeat in every pod, and a
 * shape depends on the pattern text alone. The shapes are frozen, as pods share them.
 */
export type PatternShapeCache = Map<string, PatternShape | undefined>;

/**
 * The shape of every pattern in `data` (a pod's policy data) that the rules decide through
 * `pattern_match`: pod name and hostname, annotations, argument and variable patterns, root path,
 * mount and storage sources, mount points and options, CopyFile paths (not `env_regexes`, which
 * the rules decide by their own shortcuts). A pattern with `$(cid)` gets the shape of the pattern
 * with {@link CID_PLACEHOLDER} in place of the ID, when that shape has the ID in text fields only
 * (see `cid_pattern_match` in rules.rego). Keys sorted.
 */
export function patternShapesOf(
  data: PatternFields,
  cache: PatternShapeCache = new Map(),
): Record<string, PatternShape> {
  // Collected with one add each (no lists built on the way: this ran for every pod).
  const patterns = new Set<string>();
  patterns.add(data.pod.sandbox_name_regex);
  patterns.add(data.pod.hostname_regex);
  for (const p of data.copy_file.path_regexes) patterns.add(p);
  const storages = (list: readonly StorageExpectation[]) => {
    for (const s of list) {
      patterns.add(s.source_regex);
      patterns.add(s.mount_point_regex);
      for (const p of s.option_regexes) patterns.add(p);
      for (const p of s.driver_option_regexes) patterns.add(p);
    }
  };
  storages(data.sandbox.storages);
  for (const c of data.containers) {
    patterns.add(c.root_path_regex);
    for (const key in c.annotations) {
      if (Object.hasOwn(c.annotations, key)) patterns.add(c.annotations[key]!);
    }
    for (const p of c.process.arg_regexes ?? []) patterns.add(p);
    for (const e of c.process.env) if ("regex" in e) patterns.add(e.regex);
    for (const m of c.mounts) patterns.add(m.source_regex);
    storages(c.storages);
  }
  const shapes: Record<string, PatternShape> = {};
  for (const p of [...patterns].sort()) {
    let shape = cache.get(p);
    if (shape === undefined && !cache.has(p)) {
      shape = p.includes("$(cid)") ? cidPatternShape(p) : patternShape(p);
      cache.set(p, shape === undefined ? undefined : deepFreeze(shape));
    }
    if (shape) shapes[p] = shape;
  }
  return shapes;
}
