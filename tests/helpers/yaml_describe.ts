/**
 * Every own property of `yaml` package values (documents, nodes, pairs: enumerable or not,
 * symbols too) as plain JSON, so tests can compare what two ways of building them give.
 *
 * @module
 */

/** Every own property (enumerable or not, symbols too) of a parse result, as plain JSON. */
export function describe(value: unknown, seen = new Map<unknown, string>(), path = "$"): unknown {
  if (typeof value === "symbol") return `symbol:${String(value)}`;
  if (typeof value === "number" && !Number.isFinite(value)) return `number:${value}`;
  if (typeof value === "bigint") return `bigint:${value}`;
  if (typeof value === "function") return `function:${value.name}`;
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value)) return `<same as ${seen.get(value)}>`;
  seen.set(value, path);
  const out: Record<string, unknown> = { "@class": value.constructor?.name };
  for (const key of Reflect.ownKeys(value)) {
    // The schema is compared through its tags' names: the package gives each document its own.
    const d = Object.getOwnPropertyDescriptor(value, key)!;
    const v = key === "schema" && d.value !== undefined
      ? (d.value as { tags: { tag: string }[] }).tags.map((t) => t.tag)
      : d.value;
    out[String(key)] = describe(v, seen, `${path}.${String(key)}`);
  }
  return out;
}
