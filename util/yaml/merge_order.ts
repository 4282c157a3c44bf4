/**
 * Where kubectl (go-yaml v2) and the `yaml` package resolve a YAML merge key (`<<`) to different
 * values. Both merge a map's `<<` sources into it, but they disagree on a key that the map
 * already holds when a `<<` pair comes (an own key written before it, or a key an earlier `<<`
 * gave): go-yaml v2 writes the merged value over it, the `yaml` package keeps the earlier one.
 * `{privileged: true, <<: {privileged: false}}` is an unprivileged container to kubectl and the
 * API server (checked with kubectl v1.37 `create --dry-run=client -o json`), and a privileged one
 * to everything generate reads (its checks and the policy data). They agree on everything else:
 * an own key written after a `<<` wins in both, and among the maps of one `<<: [a, b]` the
 * earlier one wins in both.
 *
 * @module
 */
import { type Document, isAlias, isMap, isScalar, isSeq, type Node, type YAMLMap } from "yaml";

/** Whether `key` is a merge key (the symbol the package reads a plain `<<` as). */
function isMergeKey(key: unknown): boolean {
  return isScalar(key) && typeof key.value === "symbol" && key.value.description === "<<";
}

/** The string key of a pair's key node (aliases resolved), or undefined for another key. */
function keyName(doc: Document, key: unknown): string | undefined {
  const node = isAlias(key) ? key.resolve(doc) : key;
  if (!isScalar(node) || typeof node.value === "symbol") return undefined;
  return String(node.value);
}

/** Every key a `<<` value gives (maps, aliases of maps, lists of them, their own merges). */
function mergedKeys(doc: Document, value: unknown, into: Set<string>, depth: number): void {
  if (depth > 64) return; // a cyclic alias is refused when the document is read
  const node = isAlias(value) ? value.resolve(doc) : value;
  if (isSeq(node)) {
    for (const item of node.items) mergedKeys(doc, item, into, depth + 1);
  } else if (isMap(node)) {
    for (const pair of node.items) {
      if (isMergeKey(pair.key)) mergedKeys(doc, pair.value, into, depth + 1);
      else {
        const name = keyName(doc, pair.key);
        if (name !== undefined) into.add(name);
      }
    }
  }
}

/**
 * The keys of `map` that a `<<` pair gives while the map already holds them (written before it,
 * or given by an earlier `<<`): kubectl takes the merged value, the `yaml` package the earlier.
 *
 * @example A merge after an own key
 * ```ts
 * import { parseDocument, type YAMLMap } from "yaml";
 * import { mergeOverrides } from "./merge_order.ts";
 *
 * const doc = parseDocument("{a: 1, <<: {a: 2, b: 3}}", { version: "1.1" });
 * console.log(mergeOverrides(doc, doc.contents as YAMLMap)); // [ "a" ]
 * ```
 */
export function mergeOverrides(doc: Document, map: YAMLMap): string[] {
  const held = new Set<string>();
  const overridden: string[] = [];
  for (const pair of map.items) {
    if (isMergeKey(pair.key)) {
      const given = new Set<string>();
      mergedKeys(doc, pair.value as Node, given, 0);
      for (const key of given) {
        if (held.has(key) && !overridden.includes(key)) overridden.push(key);
        held.add(key);
      }
    } else {
      const name = keyName(doc, pair.key);
      if (name !== undefined) held.add(name);
    }
  }
  return overridden;
}
