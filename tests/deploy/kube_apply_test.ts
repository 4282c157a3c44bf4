/**
 * What contrast writes is accepted by a real Kubernetes API server (etcd + kube-apiserver v1.37.2
 * on 127.0.0.1, `testing/kube/`): the RuntimeClass of `contrast runtime`, the Coordinator of
 * `contrast coordinator` and the example app made confidential by `contrast generate`, applied
 * server-side (not a dry run) and read back.
 */
import assert from "node:assert/strict";
import { runGenerate } from "../../cli/commands/generate.ts";
import { runtimeClassYaml } from "../../deploy/runtime_class.ts";
import { loadDefaultSettings } from "../../policy/settings.ts";
import { INITDATA_ANNOTATION } from "../../policy/initdata.ts";
import { exampleGenerateFlags, withExampleApp } from "../../testing/example_app.ts";
import { kubeToolsMissing, LocalKubeCluster } from "../../testing/kube/mod.ts";

const NAME = "kubectl apply --server-side of runtime, Coordinator and the generated example app";

Deno.test({
  name: NAME,
  ignore: kubeToolsMissing(NAME),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withExampleApp("contrast-kube-apply-", async (example) => {
      const quiet = console.error;
      console.error = () => {};
      try {
        await runGenerate([example.app], exampleGenerateFlags(example));
      } finally {
        console.error = quiet;
      }
      const runtimeClassName = (await loadDefaultSettings()).runtime_class_name;
      const runtime = `${example.tmp}/runtime.yml`;
      await Deno.writeTextFile(
        runtime,
        runtimeClassYaml({ name: runtimeClassName, platform: "Metal-QEMU-SNP" }),
      );
      await using cluster = await LocalKubeCluster.start();
      const kubectl = async (...args: string[]) => {
        const r = await cluster.kubectl(args);
        assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
        return r.stdout;
      };
      await kubectl("apply", "--server-side", "-f", runtime);
      // Files apply in name order: config.yml (with the Namespace) comes first.
      const applied = await kubectl("apply", "--server-side", "-f", example.app);
      assert.equal(applied.trim().split("\n").length, 16, applied);

      assert.equal(
        await kubectl("get", "runtimeclass", runtimeClassName, "-o", "jsonpath={.handler}"),
        "kata-qemu-snp",
      );
      const coordinator = JSON.parse(
        await kubectl("get", "statefulset", "coordinator", "-n", "emojivoto", "-o", "json"),
      );
      const pod = coordinator.spec.template;
      assert.equal(pod.spec.runtimeClassName, runtimeClassName);
      assert.ok(pod.metadata.annotations[INITDATA_ANNOTATION], "the Coordinator has its policy");
      assert.match(pod.spec.containers[0].image, /\/contrast\/coordinator@sha256:[0-9a-f]{64}$/);
      const web = JSON.parse(
        await kubectl("get", "deployment", "web", "-n", "emojivoto", "-o", "json"),
      );
      const init = web.spec.template.spec.initContainers[0];
      assert.match(init.image, /\/contrast\/initializer@sha256:[0-9a-f]{64}$/);
      for (const service of ["coordinator", "coordinator-userapi"]) {
        await kubectl("get", "service", service, "-n", "emojivoto");
      }
      // The Coordinator's ServiceAccount has no rights: its state needs none.
      const can = await cluster.kubectl([
        "auth",
        "can-i",
        "--as=system:serviceaccount:emojivoto:coordinator",
        "-n",
        "emojivoto",
        "get",
        "configmaps",
      ]);
      assert.equal(can.stdout.trim(), "no");
    }),
});
