/**
 * Reading a JSON document from its exact bytes: strict UTF-8 (no replacement characters), then
 * JSON; a failure is one {@link InvalidDocumentError} issue at `(root)`.
 *
 * @module
 */
import { InvalidDocumentError } from "../errors/mod.ts";

/**
 * The JSON value encoded in `bytes`.
 *
 * @throws {InvalidDocumentError} with the issue at `(root)` when `bytes` is not UTF-8 JSON
 */
export function parseJsonDocument(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new InvalidDocumentError([{
      path: "(root)",
      reason: `not valid UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}`,
    }]);
  }
}
