/**
 * A node's plain value as `node.toJS(doc)` gives it, without the `yaml` package's per-node
 * bookkeeping (anchor tracking, merge-key and key-type tests, a conversion context), for the trees
 * `contrast generate` reads and builds: maps (`YAMLMap` itself), sequences (`YAMLSeq` itself),
 * scalars, pairs holding plain keys and values. Anything else (an alias, a `<<` key, a key that is
 * a collection or an object, a tagged collection class such as `!!omap` or `!!set`, a sequence
 * item that is a pair, a value with its own `toJSON`) is declined, and the caller converts with
 * the package. `generate` converts each workload twice (the strict field check, the policy data);
 * the package's conversion was about 5% of a 1,000-pod run.
 *
 * @module
 */
import { type Document, isNode, Pair, Scalar, YAMLMap, YAMLSeq } from "yaml";

/** What {@link plainTreeValue} returns for a tree it declines. */
export const DECLINED: unique symbol = Symbol("declined");

const MERGE_KEY = "<<";

/**
 * The value `node.toJS(doc)` gives (`Node.toJS` keeps scalar values as they are), or
 * {@link DECLINED} for a tree outside the plain shapes listed in the module documentation.
 */
export function plainTreeValue(node: unknown): unknown {
  if (node === null || typeof node !== "object") return node;
  const kind = node.constructor;
  if (kind === Scalar) return (node as Scalar).value;
  if (kind === YAMLMap) return mapValue(node as YAMLMap);
  if (kind === YAMLSeq) {
    const items = (node as YAMLSeq).items;
    const out: unknown[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (item instanceof Pair) return DECLINED;
      const value = plainTreeValue(item);
      if (value === DECLINED) return DECLINED;
      out[i] = value;
    }
    return out;
  }
  if (Array.isArray(node)) {
    // A raw array set into a node (the package maps its items too).
    const out: unknown[] = new Array(node.length);
    for (let i = 0; i < node.length; i++) {
      const value = plainTreeValue(node[i]);
      if (value === DECLINED) return DECLINED;
      out[i] = value;
    }
    return out;
  }
  // Other nodes (aliases, tagged collections), and raw objects: only those without `toJSON` are
  // returned as they are, as the package returns them.
  if (kind === Pair || typeof (node as { toJSON?: unknown }).toJSON === "function") return DECLINED;
  if (Symbol.for("yaml.node.type") in node) return DECLINED;
  return node;
}

function mapValue(map: YAMLMap): unknown {
  const out: Record<string, unknown> = {};
  const items = map.items as unknown[];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (!(item instanceof Pair)) return DECLINED;
    const key = keyText(item.key);
    if (key === undefined) return DECLINED;
    const value = plainTreeValue(item.value);
    if (value === DECLINED) return DECLINED;
    // As the package does: an inherited name (`__proto__`, `toString`) becomes an own property.
    // (`out` is a fresh object: a name is in it when it is an own key already, where assigning
    // gives the same property, or inherited from Object.prototype.)
    if (key in Object.prototype) {
      Object.defineProperty(out, key, {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    } else out[key] = value;
  }
  return out;
}

/** The property name the package gives a pair's key, or undefined to decline. */
function keyText(key: unknown): string | undefined {
  let value = key;
  if (key !== null && typeof key === "object") {
    if (key.constructor !== Scalar || "addToJSMap" in key) return undefined;
    value = (key as Scalar).value;
  }
  if (value === MERGE_KEY || typeof value === "symbol") return undefined;
  if (value === null) return "";
  if (typeof value === "object" || typeof value === "function") return undefined;
  return String(value);
}

/**
 * The value of `node` as the API server gets it and the policy data reads it: aliases and merge
 * keys resolved (`node.toJS(doc)`), read directly for plain trees ({@link plainTreeValue}). Every
 * check of `contrast generate` that decides what is refused, kept or pinned reads the pod through
 * this, never the node tree (`get`, `items`, `toJSON()`), which shows an alias as an `Alias` node
 * (`{source}` in `toJSON()`) and a `<<` pair as one key: a check reading those passed what the
 * policy then pinned (`tests/deploy/alias_reads_test.ts`).
 *
 * @example An alias resolved
 * ```ts
 * import { parseDocument, type YAMLMap } from "yaml";
 * import { resolvedValue } from "./plain_tree.ts";
 *
 * const doc = parseDocument("a: &e [x]\nb: {env: *e}", { version: "1.1" });
 * const b = (doc.contents as YAMLMap).get("b", true);
 * console.log(resolvedValue(b, doc)); // { env: [ "x" ] }
 * ```
 */
export function resolvedValue(node: unknown, doc: Document): unknown {
  const plain = plainTreeValue(node);
  if (plain !== DECLINED) return plain;
  return isNode(node) ? node.toJS(doc) : (node as { toJS(doc: Document): unknown }).toJS(doc);
}
