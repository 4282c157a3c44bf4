/**
 * The sidecar memory annotations' output is accepted by a real Kubernetes API server (etcd +
 * kube-apiserver on 127.0.0.1, `testing/kube/`), applied server-side and read back with the
 * sidecar's resources; the one relation `generate` checks between them (request at most the
 * limit) is one the API server enforces too.
 */
import assert from "node:assert/strict";
import { parseYamlFile } from "../../deploy/documents.ts";
import { generate } from "../../deploy/generate.ts";
import { LocalKubeCluster } from "../../testing/kube/mod.ts";
import { testGenerateOptions } from "./generate_options.ts";
import { kubeTest } from "../helpers/kube_test.ts";

const NAME = "kubectl apply --server-side of a Deployment with the sidecar memory annotations";

const APP = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations:
        contrast.edgeless.systems/servicemesh-ingress: ""
        contrast.edgeless.systems/servicemesh-memory-limit: "256Mi"
        contrast.edgeless.systems/servicemesh-memory-request: "128Mi"
    spec:
      runtimeClassName: contrast-cc
      containers:
        - name: web
          image: "127.0.0.1:5000/web:1.0"
          ports: [{containerPort: 8080}]
`;

kubeTest(NAME, async () => {
  const generated = await generate(
    [parseYamlFile("web.yml", APP)],
    await testGenerateOptions({ referenceValues: { snp: [], tdx: [] } }),
  );
  const text = generated.files[0]!.text;
  const dir = await Deno.makeTempDir({ prefix: "contrast-mesh-memory-" });
  try {
    await using cluster = await LocalKubeCluster.start();
    const file = `${dir}/web.yml`;
    await Deno.writeTextFile(file, text);
    const applied = await cluster.kubectl(["apply", "--server-side", "-f", file]);
    assert.equal(applied.code, 0, applied.stderr);
    const read = await cluster.kubectl(["get", "deployment", "web", "-o", "json"]);
    const init = JSON.parse(read.stdout).spec.template.spec.initContainers as {
      name: string;
      resources?: unknown;
    }[];
    const sidecar = init.find((c) => c.name === "contrast-service-mesh")!;
    assert.deepEqual(sidecar.resources, {
      limits: { memory: "256Mi" },
      requests: { memory: "128Mi" },
    });
    // The API server refuses a request above the limit, as generate does.
    const swapped = text.replace("memory: 256Mi", "memory: 64Mi").replace(
      /name: web\n/,
      "name: web2\n",
    );
    assert.notEqual(swapped, text);
    await Deno.writeTextFile(`${dir}/web2.yml`, swapped);
    const refused = await cluster.kubectl(["apply", "--server-side", "-f", `${dir}/web2.yml`]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /must be less than or equal to memory limit/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
