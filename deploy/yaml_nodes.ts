/**
 * Small edits of parsed YAML documents shared by the injection steps: the map or sequence at a
 * key, created empty when missing, so an edit keeps every other node (and its comments) as it was.
 *
 * @module
 */
import { type Document, isMap, isSeq, type YAMLMap, type YAMLSeq } from "yaml";

/** The map at `key` of `parent`, created empty when missing. */
export function ensureMap(doc: Document, parent: YAMLMap, key: string): YAMLMap {
  const existing = parent.get(key, true);
  if (isMap(existing)) return existing;
  const created = doc.createNode({}) as YAMLMap;
  parent.set(key, created);
  return created;
}

/** The sequence at `key` of `parent`, created empty when missing. */
export function ensureSeq(doc: Document, parent: YAMLMap, key: string): YAMLSeq {
  const existing = parent.get(key, true);
  if (isSeq(existing)) return existing;
  const created = doc.createNode([]) as YAMLSeq;
  parent.set(key, created);
  return created;
}
