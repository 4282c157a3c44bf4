/**
 * Fields generate writes that the input gives only through a YAML merge key (`<<`). generate
 * edits the YAML nodes: where it adds a field of its own (the initdata annotation, the
 * `contrast-secrets` volume and mounts, the initializer, a pinned image), that own key replaces
 * the merged one for kubectl (go-yaml: an explicit key wins over a merge), so whatever the merge
 * gave is dropped from the pod kubectl applies and from its policy, while the YAML still shows it
 * in the `<<` line: an init container, a volume mount, annotations. Such input is refused, naming
 * the field, so that the pod applied is the pod the file shows.
 *
 * @module
 */
import { type Document, isAlias, isMap, isScalar, isSeq, type YAMLMap } from "yaml";
import type { FieldIssue } from "../util/errors/mod.ts";
import { INITIALIZER_NAME } from "./annotations.ts";

/** Whether `key` is the merge key itself (the symbol the package reads a plain `<<` as). */
function isMergeKey(key: unknown): boolean {
  return isScalar(key) && typeof key.value === "symbol" && key.value.description === "<<";
}

/** The string keys a merge pair's value gives (maps, aliases of maps, lists of them; nested). */
function keysOfMergeValue(doc: Document, value: unknown, into: Set<string>, depth = 0): void {
  if (depth > 32) return; // cyclic aliases are refused when the document is read
  const node = isAlias(value) ? value.resolve(doc) : value;
  if (isSeq(node)) {
    for (const item of node.items) keysOfMergeValue(doc, item, into, depth + 1);
  } else if (isMap(node)) {
    for (const pair of node.items) {
      if (isMergeKey(pair.key)) keysOfMergeValue(doc, pair.value, into, depth + 1);
      else if (isScalar(pair.key)) into.add(String(pair.key.value));
    }
  }
}

/** The keys of `map` that only a merge key gives (none of its own pairs has them). */
function mergedOnlyKeys(doc: Document, map: YAMLMap): Set<string> {
  const own = new Set<string>();
  const merged = new Set<string>();
  for (const pair of map.items) {
    if (isMergeKey(pair.key)) keysOfMergeValue(doc, pair.value, merged);
    else if (isScalar(pair.key)) own.add(String(pair.key.value));
  }
  for (const key of own) merged.delete(key);
  return merged;
}

/** Fields generate reads or writes, by the map they are in. */
const WRITTEN = {
  /** The pod's (or template's) metadata: the initdata annotation. */
  podMetadata: ["annotations"],
  /** The map holding the pod metadata (the resource for a Pod, else the template). */
  template: ["metadata", "spec"],
  /** The pod spec: the runtime class, the secrets volume, the initializer and containers. */
  podSpec: ["runtimeClassName", "volumes", "initContainers", "containers"],
  /** Every container: its name (found by it), image (pinned) and mounts (`/contrast`). */
  container: ["name", "image", "volumeMounts"],
  /** contrast's initializer also gets its trust document in `env`. */
  initializer: ["env"],
} as const;

/**
 * One issue per field of `keys` that only a merge key of `map` gives; `at(key)` names the field.
 */
function issuesOf(
  doc: Document,
  map: unknown,
  keys: readonly string[],
  at: (key: string) => string,
): FieldIssue[] {
  if (!isMap(map)) return [];
  const merged = mergedOnlyKeys(doc, map);
  return keys.filter((k) => merged.has(k)).map((k) => ({
    path: at(k),
    reason: `given only through a merge key (<<): generate writes this field itself, and its own ` +
      "key would replace the merged one for kubectl (an explicit key wins over a merge), so what " +
      "the merge gives would be dropped from the pod and its policy while the file still shows " +
      `it; write ${k} here directly`,
  }));
}

/**
 * Every field of a confidential workload's pod that generate writes but the input gives only
 * through a merge key.
 *
 * @param template the map holding `metadata` and `spec` of the pod (the Pod, or the template)
 * @param templatePath its path in the document (`spec.template`; "" for a Pod)
 * @param location the workload's file and document (`app.yml[0]`)
 */
export function mergedFieldIssues(
  doc: Document,
  template: YAMLMap,
  templatePath: string,
  location: string,
): FieldIssue[] {
  const field = (path: string) => (key: string) =>
    `${location}: ${[templatePath, path, key].filter((p) => p !== "").join(".")}`;
  const issues = [
    ...issuesOf(doc, template, WRITTEN.template, field("")),
    ...issuesOf(doc, template.get("metadata", true), WRITTEN.podMetadata, field("metadata")),
  ];
  const spec = template.get("spec", true);
  if (!isMap(spec)) return issues;
  issues.push(...issuesOf(doc, spec, WRITTEN.podSpec, field("spec")));
  for (const list of ["initContainers", "containers"]) {
    const seq = spec.get(list, true);
    if (!isSeq(seq)) continue;
    seq.items.forEach((item, i) => {
      if (!isMap(item)) return;
      const at = field(`spec.${list}[${i}]`);
      issues.push(...issuesOf(doc, item, WRITTEN.container, at));
      if (list === "initContainers" && item.get("name") === INITIALIZER_NAME) {
        issues.push(...issuesOf(doc, item, WRITTEN.initializer, at));
      }
    });
  }
  return issues;
}
