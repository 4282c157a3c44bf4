import assert from "node:assert/strict";
import { REQUEST_TYPES } from "../../rego/request_types.ts";

Deno.test("every request type has a default decision in rules.rego and vice versa", async () => {
  const rules = await Deno.readTextFile(new URL("../../rego/rules.rego", import.meta.url));
  const defaults = [
    ...rules.matchAll(/^default ([A-Za-z]+Request) := \{"allowed": false, "ops": \[\]\}$/gm),
  ]
    .map((m) => m[1]!).sort();
  assert.deepEqual(defaults, [...REQUEST_TYPES].sort());
});
