/**
 * End to end on `contrast generate` output: generate a confidential Deployment (initializer,
 * service-mesh sidecar, ConfigMap env, exec probe), then `contrast policy check --mutate` it.
 * Every legitimate request must be allowed and every tampered one denied. Until `policy/` adopts
 * the runtime facts in `policy/check/FINDINGS.md`, this test fails and its report lists the
 * requests the generated policy would block on a real Kata node.
 */
import assert from "node:assert/strict";
import { parseYamlFile } from "../../../deploy/documents.ts";
import { generate } from "../../../deploy/generate.ts";
import { policyCheckCommand } from "../../../cli/commands/policy.ts";
import { IMAGES, MemoryResolver, OWNER, testSettings } from "../fixtures.ts";

const RULES = await Deno.readTextFile(new URL("../../../rego/rules.rego", import.meta.url));

const APP = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    metadata:
      annotations:
        contrast.edgeless.systems/servicemesh-ingress: "web#8080#false"
    spec:
      runtimeClassName: contrast-cc
      containers:
        - name: web
          image: "127.0.0.1:5000/web:1.0"
          env:
            - name: GREETING
              valueFrom:
                configMapKeyRef: {name: web-config, key: greeting}
          readinessProbe:
            exec:
              command: ["/usr/bin/web", "ready"]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: shop}
data: {greeting: hello}
`;

Deno.test("generated app: every legitimate request allowed, every tampered one denied", async () => {
  const resolver = new MemoryResolver(IMAGES);
  const result = await generate([parseYamlFile("app.yml", APP)], {
    settings: await testSettings(),
    resolver,
    rules: RULES,
    referenceValues: { snp: [], tdx: [] },
    workloadOwnerKeys: [OWNER],
    seedshareOwnerKeys: [],
  });
  const dir = await Deno.makeTempDir({ prefix: "generated-app-" });
  await Deno.writeTextFile(`${dir}/app.yml`, result.files[0]!.text);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  let error: unknown;
  try {
    await policyCheckCommand([dir], {
      json: false,
      mutate: true,
      seed: "1",
      imageCache: dir,
      insecureRegistry: [],
      offline: true,
    }, resolver);
  } catch (e) {
    error = e;
  } finally {
    console.log = log;
  }
  assert.equal(error, undefined, lines.join("\n"));
  assert.match(lines.join("\n"), /^PASS: 1 pod\(s\), 0 legitimate request\(s\) denied, 0 weak/m);
});
