/**
 * Small edits of parsed YAML documents shared by the injection steps: the map or sequence at a
 * key, created empty when missing, so an edit keeps every other node (and its comments) as it was.
 *
 * @module
 */
import {
  type Document,
  isAlias,
  isMap,
  isSeq,
  type Node,
  Pair,
  Scalar,
  YAMLMap,
  YAMLSeq,
} from "yaml";

/**
 * The node at `key` of `parent` with an alias there (`volumeMounts: *m`) replaced by a copy of
 * what it points to (without the anchor), so an edit adds to what the API server gets there
 * instead of replacing it with an empty collection (or editing the anchored original).
 */
function expandedAt(doc: Document, parent: YAMLMap, key: string): unknown {
  const existing = parent.get(key, true);
  if (!isAlias(existing)) return existing;
  const target = existing.resolve(doc);
  if (!isMap(target) && !isSeq(target)) return existing;
  const copy = target.clone();
  copy.anchor = undefined;
  parent.set(key, copy);
  return copy;
}

/** The map at `key` of `parent` (an alias there expanded), created empty when missing. */
export function ensureMap(doc: Document, parent: YAMLMap, key: string): YAMLMap {
  const existing = expandedAt(doc, parent, key);
  if (isMap(existing)) return existing;
  const created = plainNode(doc, {}) as YAMLMap;
  parent.set(key, created);
  return created;
}

/**
 * The sequence at `key` of `parent`, or undefined when there is none, with an alias there and
 * every item that is an alias of a map (`volumeMounts: [*m]`) expanded into a copy, so that
 * finding an item by name sees what the API server gets and an edit of an item changes this
 * pod alone (not the anchored original, which may belong to another object).
 */
export function expandedSeq(doc: Document, parent: YAMLMap, key: string): YAMLSeq | undefined {
  const seq = expandedAt(doc, parent, key);
  if (!isSeq(seq)) return undefined;
  for (let i = 0; i < seq.items.length; i++) {
    const item = seq.items[i];
    if (!isAlias(item)) continue;
    const target = item.resolve(doc);
    if (!isMap(target)) continue;
    const copy = target.clone() as YAMLMap;
    copy.anchor = undefined;
    seq.items[i] = copy;
  }
  return seq;
}

/**
 * The sequence at `key` of `parent` (aliases there and of its map items expanded: see
 * {@link expandedSeq}), created empty when missing.
 */
export function ensureSeq(doc: Document, parent: YAMLMap, key: string): YAMLSeq {
  const existing = expandedSeq(doc, parent, key) ?? parent.get(key, true);
  if (isSeq(existing)) return existing;
  const created = plainNode(doc, []) as YAMLSeq;
  parent.set(key, created);
  return created;
}

/** What {@link plainNode} builds from: JSON-like values without repeated objects. */
type Plain = string | boolean | null | number | readonly Plain[] | {
  readonly [key: string]: Plain;
};

/**
 * `doc.createNode(value)` for a tree of plain objects, arrays, strings, booleans, `null` and safe
 * integers in which no object or array appears twice (the injected containers, volumes and
 * mounts): the same nodes (`new YAMLMap(schema)` with a `Pair` of scalar key and node per own
 * key, `new YAMLSeq(schema)`, `new Scalar(value)`: what the package's default tags make for such
 * values), without its per-value tag search and alias bookkeeping. Anything else is handed to
 * `doc.createNode` (tests compare the two on random trees).
 */
export function plainNode(doc: Document, value: Plain): Node {
  const seen = new Set<object>();
  const build = (v: unknown): Node | undefined => {
    if (typeof v === "string" || typeof v === "boolean" || v === null) return new Scalar(v);
    if (typeof v === "number") return Number.isSafeInteger(v) ? new Scalar(v) : undefined;
    if (typeof v !== "object" || seen.has(v)) return undefined;
    seen.add(v);
    if (Array.isArray(v)) {
      const seq = new YAMLSeq(doc.schema);
      for (const item of v) {
        const node = build(item);
        if (node === undefined) return undefined;
        seq.items.push(node);
      }
      return seq;
    }
    if (Object.getPrototypeOf(v) !== Object.prototype) return undefined;
    const map = new YAMLMap(doc.schema);
    for (const key of Object.keys(v)) {
      const item = (v as Record<string, unknown>)[key];
      if (item === undefined) continue; // left out, as createNode does
      const node = build(item);
      if (node === undefined) return undefined;
      map.items.push(new Pair(new Scalar(key), node));
    }
    return map;
  };
  if (doc.schema.sortMapEntries) return doc.createNode(value);
  return build(value) ?? doc.createNode(value);
}
