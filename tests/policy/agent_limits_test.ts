/** The Kata agent's policy text limits, measured and enforced at generate naming the pod. */
import assert from "node:assert/strict";
import {
  assertWithinAgentLimits,
  combinePolicyTextSizes,
  KATA_AGENT_POLICY_LIMITS,
  limitViolations,
  measurePolicyText,
} from "../../policy/agent_limits.ts";
import { parseYamlFile } from "../../deploy/documents.ts";
import { generate } from "../../deploy/generate.ts";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { MemoryResolver, testSettings } from "./fixtures.ts";

Deno.test("the limits are Kata's: 64 KiB per line, 16 MiB per file, 200,000 lines", () => {
  assert.deepEqual(KATA_AGENT_POLICY_LIMITS, {
    maxLineBytes: 65536,
    maxFileBytes: 16777216,
    maxLines: 200000,
  });
});

Deno.test("measures UTF-8 bytes and lines; reports each limit exceeded", () => {
  const size = measurePolicyText("ab\nü€\n");
  assert.deepEqual(size, { bytes: 9, lines: 2, longestLineBytes: 5, longestLine: 2 });
  assert.deepEqual(limitViolations(size), []);
  const tiny = { maxLineBytes: 4, maxFileBytes: 8, maxLines: 1 };
  assert.deepEqual(limitViolations(size, tiny), [
    "line 2 is 5 bytes, over the agent's 4 per line",
    "9 bytes, over the agent's 8 per policy",
    "2 lines, over the agent's 1",
  ]);
  const exactly = "x".repeat(65536);
  assert.deepEqual(limitViolations(measurePolicyText(exactly)), []);
  assert.equal(limitViolations(measurePolicyText(exactly + "x")).length, 1);
});

Deno.test("assertWithinAgentLimits names the pod and the path", () => {
  assert.throws(
    () => assertWithinAgentLimits("x".repeat(70000), "Pod ns/big", "big.yml[0]: spec"),
    (e: unknown) =>
      e instanceof InvalidDocumentError && e.issues[0]!.path === "big.yml[0]: spec" &&
      /policy of Pod ns\/big would be refused by the Kata agent: line 1 is 70000 bytes/
        .test(e.issues[0]!.reason),
  );
});

Deno.test("generate refuses a pod whose policy has a line over 64 KiB, naming the pod", async () => {
  const long = "v".repeat(70 * 1024);
  const yaml = `apiVersion: v1
kind: Pod
metadata: {name: stress, namespace: load}
spec:
  runtimeClassName: contrast-cc
  containers: [{name: c, image: "127.0.0.1:5000/web:1.0", env: [{name: BIG, value: "${long}"}]}]
`;
  const error = await generate([parseYamlFile("stress.yml", yaml)], {
    settings: await testSettings(),
    resolver: new MemoryResolver(),
    rules: await Deno.readTextFile(new URL("../../rego/rules.rego", import.meta.url)),
    referenceValues: { snp: [], tdx: [] },
    workloadOwnerKeys: [],
    seedshareOwnerKeys: [],
    skipInitializer: true,
    skipServiceMesh: true,
  }).then(() => undefined, (e) => e);
  assert.ok(error instanceof InvalidDocumentError, String(error));
  const text = error.issues.map((i) => `${i.path}: ${i.reason}`).join("\n");
  assert.match(text, /stress\.yml\[0\]: spec: the policy of Pod load\/stress would be refused/);
  assert.match(text, /over the agent's 65536 per line/);
});

Deno.test("measurePolicyText counts like split-by-newline with per-line UTF-8 bytes", () => {
  const reference = (text: string) => {
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    let longestLineBytes = 0;
    let longestLine = 0;
    lines.forEach((line, i) => {
      const n = new TextEncoder().encode(line).length;
      if (n > longestLineBytes) [longestLineBytes, longestLine] = [n, i + 1];
    });
    const bytes = new TextEncoder().encode(text).length;
    return { bytes, lines: lines.length, longestLineBytes, longestLine };
  };
  for (const text of ["", "\n", "a", "a\n", "a\n\n", "ab\nc", "x\näöü€\nyy\n", "\n\nlong line\n"]) {
    assert.deepEqual(measurePolicyText(text), reference(text), JSON.stringify(text));
  }
});

Deno.test("sizes of two parts split at a line end combine to the size of the whole", () => {
  const texts = ["", "a\n", "long line one\nb\n", "x\n\n", "äöü€\n", "zz\nlonger line\n"];
  for (const first of texts) {
    for (const second of [...texts, "tail without newline", "üü"]) {
      assert.deepEqual(
        combinePolicyTextSizes(measurePolicyText(first), measurePolicyText(second)),
        measurePolicyText(first + second),
        JSON.stringify([first, second]),
      );
    }
  }
});
