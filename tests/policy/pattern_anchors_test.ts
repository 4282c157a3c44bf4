/**
 * Patterns composed from other patterns keep their anchors: a name part that ends with an escaped
 * `$` (a pod named `web$`, a hostname `h$`) is literal text, and stripping that `$` as if it were
 * the part's own end anchor left `^web\$`, which admits `web$` followed by anything (a hostname
 * `web$.attacker.example`, a POD_NAME with a second line).
 */
import assert from "node:assert/strict";
import { IMAGES, samplePodSpec, testSettings } from "./fixtures.ts";
import { buildPolicyData } from "../../policy/policy_data.ts";
import { envExpectation } from "../../policy/env.ts";
import { unanchor } from "../../policy/regex.ts";
import type { ResolvedImage } from "../../oci/types.ts";

async function podData(name: string, hostname?: string) {
  const images = new Map<string, ResolvedImage>();
  for (const i of IMAGES.values()) images.set(i.pinned, i);
  return buildPolicyData({
    kind: "Pod",
    name,
    namespace: "shop",
    podMetadata: { labels: { app: "web" } },
    podSpec: { ...samplePodSpec(), ...(hostname === undefined ? {} : { hostname }) },
    specPath: "web.yml[0]: spec",
    images,
    config: { configMap: () => ({ greeting: "hi" }), secret: () => undefined },
    settings: await testSettings(),
  });
}

Deno.test("unanchor strips only a pattern's own anchors, never an escaped $ or ^", () => {
  assert.equal(unanchor("^a[0-9]+$"), "a[0-9]+");
  assert.equal(unanchor("web\\$"), "web\\$");
  assert.equal(unanchor("web\\\\$"), "web\\\\");
  assert.equal(unanchor("web\\\\\\$"), "web\\\\\\$");
  assert.equal(unanchor("\\^web"), "\\^web");
});

Deno.test("a name ending in $ stays literal in the hostname and POD_NAME patterns", async () => {
  for (const [name, hostname, value] of [["web$", undefined, "web$"], ["web", "h$", "h$"]]) {
    const data = await podData(name!, hostname);
    const re = new RegExp(data.pod.hostname_regex);
    assert.equal(re.test(value!), true, data.pod.hostname_regex);
    for (const other of [`${value}.attacker.example`, `${value}x`, `${value}\nx`]) {
      assert.equal(re.test(other), false, `${data.pod.hostname_regex} admits ${other}`);
    }
  }
  const data = await podData("web$");
  const web = data.containers.find((c) => c.name === "web")!;
  const podName = web.process.env.find((e) => e.name === "POD_NAME")!;
  const pattern = "value" in podName ? `^${podName.value}$` : (podName as { regex: string }).regex;
  assert.equal(new RegExp(pattern).test("web$"), true, pattern);
  assert.equal(new RegExp(pattern).test("web$.attacker.example"), false, pattern);
  assert.deepEqual(envExpectation("P", [{ literal: "a-" }, { pattern: "web\\$" }]), {
    name: "P",
    regex: "^a\\-web\\$$",
  });
});
