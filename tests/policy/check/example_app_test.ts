/**
 * The proof of `contrast policy check` on the example app (examples/emojivoto): generated against
 * a real local registry, then every pod's legitimate requests must be allowed and every tampered
 * request denied, with images read through the real OCI client and cache.
 */
import assert from "node:assert/strict";
import { runGenerate } from "../../../cli/commands/generate.ts";
import { policyCheckCommand } from "../../../cli/commands/policy.ts";
import { exampleGenerateFlags, withExampleApp } from "../../../testing/example_app.ts";

Deno.test({
  name: "example app: every legitimate request allowed, every tampered request denied",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withExampleApp("contrast-policy-check-example-", async (example) => {
      const { app, cache, registry } = example;
      await runGenerate([app], exampleGenerateFlags(example));

      const lines: string[] = [];
      const log = console.log;
      console.log = (...args: unknown[]) => lines.push(args.join(" "));
      let error: unknown;
      try {
        await policyCheckCommand([app], {
          json: true,
          mutate: true,
          imageCache: cache,
          // generate's workspace: its image-cache key authenticates the cached account files.
          workspaceDir: example.ws,
          insecureRegistry: [registry.host],
          offline: false,
        });
      } catch (e) {
        error = e;
      } finally {
        console.log = log;
      }
      const report = JSON.parse(lines.join("\n"));
      const summary = report.pods.map((p: Record<string, unknown[] & number>) =>
        `${p.pod}: ${p.denied.length} denied, ${p.weaknesses.length} weaknesses`
      );
      assert.equal(error, undefined, JSON.stringify({ summary, unchecked: report.unchecked }));
      assert.equal(report.ok, true);
      assert.equal(report.aborted, 0);
      assert.equal(report.pods.length, 6, summary.join("\n"));
      for (const pod of report.pods) {
        assert.deepEqual(pod.denied, [], pod.pod);
        assert.deepEqual(pod.weaknesses, [], pod.pod);
        assert.deepEqual(pod.aborts, [], pod.pod);
        assert.ok(pod.requests > 20 && pod.mutants > 100, pod.pod);
      }
    }),
});
