import assert from "node:assert/strict";
import { summarise } from "../../scripts/test.ts";

const ESC = "\x1b";

Deno.test("summarise sums passed, failed and ignored over every summary line, steps apart", () => {
  const output = [
    `${ESC}[0m${ESC}[32mok${ESC}[0m | 2 passed (1 step) | 0 failed | 1 ignored (1 step) ${ESC}[0m(26ms)`,
    "running 3 tests from ./x_test.ts",
    "FAILED | 5 passed | 2 failed | 4 ignored (3s)",
    "ok | 7 passed | 0 failed (1s)",
  ].join("\n");
  assert.deepEqual(summarise(output), { passed: 14, failed: 2, skipped: 5 });
});

Deno.test("summarise reads nothing from output without a summary line", () => {
  assert.deepEqual(summarise("ok | not a summary\n"), { passed: 0, failed: 0, skipped: 0 });
});

Deno.test(".ci/run prints the same closing line, skipped included", async () => {
  // The awk program of .ci/run, run on a captured log: its closing line must count ignored tests.
  const script = await Deno.readTextFile(new URL("../../.ci/run", import.meta.url));
  const awk = script.match(/awk '([^']+)'/)![1]!;
  const out = await new Deno.Command("awk", {
    args: [awk],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = out.stdin.getWriter();
  await writer.write(
    new TextEncoder().encode(
      "ok | 2 passed (1 step) | 0 failed | 1 ignored (1 step) (26ms)\nFAILED | 5 passed | 2 failed | 4 ignored (3s)\n",
    ),
  );
  await writer.close();
  const { stdout } = await out.output();
  assert.equal(new TextDecoder().decode(stdout).trim(), "7 2 5");
  assert.match(script, /echo "\$\{passed\} passed, \$\{failed\} failed, \$\{skipped\} skipped"/);
});
