/**
 * The determinism check the generate tests share.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseYamlFile } from "../../deploy/documents.ts";
import { generate, type GenerateOptions } from "../../deploy/generate.ts";

/**
 * Asserts that `generate` is deterministic on `input` (the one file `app.yml`), each run with
 * fresh `options()`: two runs give the same files and manifest, and a run on the first run's
 * output gives that output back (a fixed point).
 */
export async function assertGenerateDeterministic(
  input: string,
  options: () => Promise<GenerateOptions>,
): Promise<void> {
  const a = await generate([parseYamlFile("app.yml", input)], await options());
  const b = await generate([parseYamlFile("app.yml", input)], await options());
  assert.equal(a.files[0]!.text, b.files[0]!.text);
  assert.equal(a.manifestText, b.manifestText);
  const again = await generate([parseYamlFile("app.yml", a.files[0]!.text)], await options());
  assert.equal(again.files[0]!.text, a.files[0]!.text);
  assert.equal(again.manifestText, a.manifestText);
}
