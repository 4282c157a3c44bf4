/**
 * Test aid: validates `contrast … --json` output against the published schema
 * (`cli/result.schema.json`, JSON Schema 2020-12) with Ajv, so tests check the documented shape
 * itself rather than a hand-picked subset of it.
 *
 * @module
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const SCHEMA = JSON.parse(
  await Deno.readTextFile(new URL("../../cli/result.schema.json", import.meta.url)),
);
const ajv = new Ajv2020({ allErrors: true, strict: false });
// deno-lint-ignore no-explicit-any
(addFormats as any)(ajv);
const validate = ajv.compile(SCHEMA);

/**
 * Parses `stdout` as one `contrast-result/v1` document and throws naming every schema violation.
 */
// deno-lint-ignore no-explicit-any
export function parseResultDocument(stdout: string): Record<string, any> {
  const doc: unknown = JSON.parse(stdout);
  if (!validate(doc)) {
    throw new Error(`not a contrast-result/v1 document: ${JSON.stringify(validate.errors)}`);
  }
  // deno-lint-ignore no-explicit-any
  return doc as Record<string, any>;
}
