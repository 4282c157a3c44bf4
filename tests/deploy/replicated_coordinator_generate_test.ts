/**
 * The replicated Coordinator (`contrast coordinator --replicas 3`) passes through `contrast
 * generate` with the example app: its pod gets a policy, keeps its ServiceAccount token mount (the
 * Kubernetes history backend needs it), and the Role and RoleBinding come out unchanged.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { runGenerate } from "../../cli/commands/generate.ts";
import { coordinatorYaml } from "../../deploy/coordinator_yaml.ts";
import { COORDINATOR_RULES } from "../../deploy/coordinator_rbac.ts";
import { INITDATA_ANNOTATION } from "../../policy/initdata.ts";
import { loadDefaultSettings } from "../../policy/settings.ts";
import { exampleGenerateFlags, withExampleApp } from "../../testing/example_app.ts";

Deno.test({
  name: "contrast generate takes the replicated Coordinator: policy, token mount, Role unchanged",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withExampleApp("contrast-ha-generate-", async (example) => {
      const file = `${example.app}/coordinator.yml`;
      const image = (await Deno.readTextFile(file)).match(/image: (\S+)/)![1]!;
      await Deno.writeTextFile(
        file,
        coordinatorYaml({
          image,
          runtimeClassName: (await loadDefaultSettings()).runtime_class_name,
          namespace: "emojivoto",
          replicas: 3,
        }),
      );
      const quiet = console.error;
      console.error = () => {};
      try {
        await runGenerate([example.app], exampleGenerateFlags(example));
      } finally {
        console.error = quiet;
      }
      const docs = parseAllDocuments(await Deno.readTextFile(file), { version: "1.1" })
        .map((d) => d.toJS());
      assert.deepEqual(docs.map((d) => d.kind), [
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "StatefulSet",
        "Service",
        "Service",
      ]);
      assert.deepEqual(docs[1].rules, JSON.parse(JSON.stringify(COORDINATOR_RULES)));
      const pod = docs[3].spec.template;
      assert.ok(pod.metadata.annotations[INITDATA_ANNOTATION], "the Coordinator has its policy");
      assert.equal(pod.spec.automountServiceAccountToken, true);
    }),
});
