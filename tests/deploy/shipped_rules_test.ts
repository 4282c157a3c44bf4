import assert from "node:assert/strict";
import { VerificationError } from "../../util/errors/mod.ts";
import { assertShippedRulesCompiled } from "../../cli/commands/generate.ts";

const DEFAULT_RULES_URL = new URL("../../rego/rules.rego", import.meta.url);

Deno.test("the shipped rules are the rules compiled into the committed wasm", async () => {
  await assertShippedRulesCompiled(await Deno.readFile(DEFAULT_RULES_URL));
});

Deno.test("generate refuses shipped rules that differ by one byte from the compiled rules", async () => {
  const rules = await Deno.readFile(DEFAULT_RULES_URL);
  const edited = rules.slice();
  edited[edited.length - 2] ^= 0x20;
  await assert.rejects(
    assertShippedRulesCompiled(edited),
    (e) =>
      e instanceof VerificationError && e.field === "rego/rules.rego" &&
      /build:rego/.test(e.message),
  );
});
