import assert from "node:assert/strict";
import { VerificationError } from "../../../util/errors/mod.ts";
import { sha256Hex } from "../../../rego/compiled_record.ts";
import { assertSameRules } from "../../../policy/check/rules_identity.ts";
import { CompiledRules } from "../../../rego/evaluator.ts";

const RULES = await Deno.readTextFile(new URL("../../../rego/rules.rego", import.meta.url));
const { record } = await CompiledRules.load();

Deno.test("accepts a policy carrying exactly the compiled rules", async () => {
  await assertSameRules(RULES, record);
});

Deno.test("rejects rules differing by one byte from the compiled rules, naming the field", async () => {
  const variants = [
    RULES + "\n",
    RULES.slice(0, -1),
    RULES.replace("package agent_policy", "package agent_policx"),
    RULES.replace("default SetPolicyRequest", "default SetPolicyRequesT"),
  ];
  for (const rules of variants) {
    assert.notEqual(rules, RULES);
    await assert.rejects(
      assertSameRules(rules, record, "app.yml#2: policy.rego"),
      (e: unknown) =>
        e instanceof VerificationError && e.field === "app.yml#2: policy.rego" &&
        e.reason.includes(record.rulesSha256),
    );
  }
});

Deno.test("compares with the recorded digest, not with the rules.rego file", async () => {
  // A record of other rules (as if rules.rego were edited after compiling): the file's current
  // text is not accepted, the recorded rules are.
  const other = "package agent_policy\n# compiled earlier\n";
  const recorded = { rulesSha256: await sha256Hex(new TextEncoder().encode(other)) };
  await assert.rejects(assertSameRules(RULES, recorded), VerificationError);
  await assertSameRules(other, recorded);
});
