/**
 * Reading a JSON document from its exact bytes: strict UTF-8 (no replacement characters), then
 * JSON without duplicate object keys; a syntax failure is one {@link InvalidDocumentError} issue
 * at `(root)`, duplicates are issues at their JSON paths.
 *
 * @module
 */
import { InvalidDocumentError } from "../errors/mod.ts";
import { duplicateKeyIssues } from "./duplicate_keys.ts";

/**
 * The JSON value encoded in `bytes`.
 *
 * @throws {InvalidDocumentError} with the issue at `(root)` when `bytes` is not UTF-8 JSON, or at
 *   each duplicated key's path
 */
export function parseJsonDocument(bytes: Uint8Array): unknown {
  let text: string;
  let value: unknown;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    value = JSON.parse(text);
  } catch (e) {
    throw new InvalidDocumentError([{
      path: "(root)",
      reason: `not valid UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}`,
    }]);
  }
  refuseDuplicateKeys(text);
  return value;
}

function refuseDuplicateKeys(text: string, root = ""): void {
  const duplicates = duplicateKeyIssues(text, root);
  if (duplicates.length > 0) throw new InvalidDocumentError(duplicates);
}

/**
 * The JSON value of `text`, refusing duplicate object keys.
 *
 * @param root prefix of every issue's path ("" for none: syntax errors are at `(root)`)
 * @throws {InvalidDocumentError} when `text` is not JSON or repeats a key
 */
export function parseJsonText(text: string, root = ""): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new InvalidDocumentError([{
      path: root || "(root)",
      reason: `not valid JSON: ${e instanceof Error ? e.message : String(e)}`,
    }]);
  }
  refuseDuplicateKeys(text, root);
  return value;
}
