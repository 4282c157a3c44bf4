/**
 * The generate options the deploy tests share: the committed rules, the test settings, an
 * in-memory image resolver, the test reference values and placeholder owner keys.
 */
import type { GenerateOptions } from "../../deploy/generate.ts";
import { MemoryResolver, TEST_REFERENCE_VALUES, testSettings } from "../policy/fixtures.ts";

const RULES = await Deno.readTextFile(new URL("../../rego/rules.rego", import.meta.url));

/** Options for `generate` in tests; `overrides` replace single fields. */
export async function testGenerateOptions(
  overrides: Partial<GenerateOptions> = {},
): Promise<GenerateOptions> {
  return {
    settings: await testSettings(),
    resolver: new MemoryResolver(),
    rules: RULES,
    referenceValues: TEST_REFERENCE_VALUES,
    workloadOwnerKeys: ["ab"],
    seedshareOwnerKeys: ["cd"],
    ...overrides,
  };
}
