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
import { Pair, Scalar, YAMLMap, YAMLSeq } from "yaml";

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
  for (const item of map.items as unknown[]) {
    if (!(item instanceof Pair)) return DECLINED;
    const key = keyText(item.key);
    if (key === undefined) return DECLINED;
    const value = plainTreeValue(item.value);
    if (value === DECLINED) return DECLINED;
    // As the package does: an inherited name (`__proto__`, `toString`) becomes an own property.
    if (key in out) {
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
