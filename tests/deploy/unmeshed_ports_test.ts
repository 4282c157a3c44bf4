/**
 * `contrast generate` warns about every UDP and SCTP `containerPort` of a pod that gets the mesh
 * sidecar: the mesh carries TCP only and transparent mode filters TCP only, so such a port stays
 * reachable in plain (README "Service mesh"). Pods without the sidecar and TCP ports get no
 * warning.
 */
import assert from "node:assert/strict";
import { parseYamlFile } from "../../deploy/documents.ts";
import { generate } from "../../deploy/generate.ts";
import { unmeshedPortWarning } from "../../deploy/unmeshed_ports.ts";
import { testGenerateOptions } from "./generate_options.ts";
import { generateWarnings } from "../../cli/commands/generate.ts";

const IMAGE = "127.0.0.1:5000/web:1.0";

/** A confidential Deployment `name`, meshed or not, with a DNS container and a native sidecar. */
function deployment(name: string, meshed: boolean): string {
  const annotations = meshed
    ? `\n      annotations: {contrast.edgeless.systems/servicemesh-ingress: ""}`
    : "";
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: ${name}}${annotations}
    spec:
      runtimeClassName: contrast-cc
      initContainers:
        - name: stats
          image: "${IMAGE}"
          restartPolicy: Always
          ports: [{containerPort: 9000, protocol: SCTP}]
      containers:
        - name: dns
          image: "${IMAGE}"
          ports:
            - {containerPort: 8080}
            - {containerPort: 53, protocol: UDP}
            - {containerPort: 53, protocol: TCP}
`;
}

Deno.test("generate lists the UDP and SCTP ports of meshed pods only, with container and field", async () => {
  const text = deployment("meshed", true) + "---\n" + deployment("plain", false);
  const result = await generate([parseYamlFile("app.yml", text)], await testGenerateOptions());
  assert.deepEqual(result.policies.map((p) => p.name), ["meshed", "plain"]);
  assert.deepEqual(
    result.unmeshedPorts.map((p) => [
      p.location,
      p.kind,
      p.namespace,
      p.name,
      p.container,
      p.field,
      p.port,
      p.protocol,
    ]),
    [
      [
        "app.yml[0]",
        "Deployment",
        "shop",
        "meshed",
        "stats",
        "spec.template.spec.initContainers[0].ports[0]",
        9000,
        "SCTP",
      ],
      [
        "app.yml[0]",
        "Deployment",
        "shop",
        "meshed",
        "dns",
        "spec.template.spec.containers[0].ports[1]",
        53,
        "UDP",
      ],
    ],
  );
});

Deno.test("generate --skip-service-mesh: no sidecar, no warning", async () => {
  const file = parseYamlFile("app.yml", deployment("meshed", true));
  const result = await generate([file], { ...await testGenerateOptions(), skipServiceMesh: true });
  assert.deepEqual(result.unmeshedPorts, []);
});

Deno.test("the warning names file, workload, container, port, protocol and field", () => {
  assert.equal(
    unmeshedPortWarning({
      location: "app.yml[0]",
      kind: "Deployment",
      namespace: "shop",
      name: "dns",
      container: "server",
      field: "spec.template.spec.containers[0].ports[1]",
      port: 53,
      protocol: "UDP",
    }),
    'app.yml[0]: Deployment shop/dns container "server" port 53/UDP ' +
      "(spec.template.spec.containers[0].ports[1]) is not protected by the service mesh: the " +
      "mesh carries TCP only and transparent mode filters TCP only, so this port stays reachable " +
      "in plain from outside the pod",
  );
});

Deno.test("contrast generate's stderr warnings include each meshed pod's UDP/SCTP port", async () => {
  const text = deployment("meshed", true) + "---\n" + deployment("plain", false);
  const result = await generate([parseYamlFile("app.yml", text)], await testGenerateOptions());
  const tail = "is not protected by the service mesh: the mesh carries TCP only and transparent " +
    "mode filters TCP only, so this port stays reachable in plain from outside the pod";
  assert.deepEqual(generateWarnings(result, false, "contrast-cc"), [
    'warning: app.yml[0]: Deployment shop/meshed container "stats" port 9000/SCTP ' +
    `(spec.template.spec.initContainers[0].ports[0]) ${tail}`,
    'warning: app.yml[0]: Deployment shop/meshed container "dns" port 53/UDP ' +
    `(spec.template.spec.containers[0].ports[1]) ${tail}`,
  ]);
});
