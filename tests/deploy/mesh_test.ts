import assert from "node:assert/strict";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { parseYamlFile } from "../../deploy/documents.ts";
import { generate, type GenerateOptions } from "../../deploy/generate.ts";
import { MemoryResolver, testSettings } from "../policy/fixtures.ts";

const RULES = await Deno.readTextFile(new URL("../../rego/rules.rego", import.meta.url));

async function options(): Promise<GenerateOptions> {
  return {
    settings: await testSettings(),
    resolver: new MemoryResolver(),
    rules: RULES,
    referenceValues: { snp: [], tdx: [] },
    workloadOwnerKeys: ["ab"],
    seedshareOwnerKeys: ["cd"],
  } as unknown as GenerateOptions;
}

const pod = (annotations: Record<string, string>, ports = "[{containerPort: 8080}]") =>
  `apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
${Object.entries(annotations).map(([k, v]) => `    ${k}: "${v}"`).join("\n")}
spec:
  runtimeClassName: contrast-cc
  containers: [{name: c, image: "127.0.0.1:5000/web:1.0", ports: ${ports}}]
`;

const ING = "contrast.edgeless.systems/servicemesh-ingress";
const EGR = "contrast.edgeless.systems/servicemesh-egress";
const ADM = "contrast.edgeless.systems/servicemesh-admin-interface-port";
const LIM = "contrast.edgeless.systems/servicemesh-limits";

Deno.test("generate refuses malformed mesh annotations, naming the annotation and the entry", async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { [EGR]: "db#127.0.0.2:5432#db:5432##web#10.1.2.3:80#web:80" },
      /metadata\.annotations\["contrast\.edgeless\.systems\/servicemesh-egress"\]: entry 2 "web#10\.1\.2\.3:80#web:80": listen IP "10\.1\.2\.3" must be an IPv4 address in 127\.0\.0\.0\/8/,
    ],
    [
      { [ING]: "web#8080#maybe" },
      /servicemesh-ingress"\]: entry 1 "web#8080#maybe": disableTLS "maybe" must be "true" or "false"/,
    ],
    [
      { [ING]: "a#81#true##a#82#true" },
      /servicemesh-ingress"\]: entry 2 "a#82#true": name "a" is used twice/,
    ],
    [
      { [ING]: "a#9901#true", [ADM]: "9901" },
      /servicemesh-admin-interface-port"\]: port 9901 is also ingress entry "a"/,
    ],
    [
      { [ING]: "", [LIM]: "maxConnections=100,idleTimeoutSeconds=0" },
      /servicemesh-limits"\]: entry 2 "idleTimeoutSeconds=0": 0 is outside 1–2000000/,
    ],
    [
      { [ING]: "", [LIM]: "maxConections=100" },
      /servicemesh-limits"\]: entry 1 "maxConections=100": unknown key "maxConections"/,
    ],
    [
      { [ING]: "", [LIM]: "maxConnections=10,maxHandshakes=20" },
      /servicemesh-limits"\]: maxHandshakes 20 exceeds maxConnections 10/,
    ],
  ];
  for (const [annotations, pattern] of cases) {
    const error = await generate([parseYamlFile("bad.yml", pod(annotations))], await options())
      .then(() => assert.fail("generation must fail"), (e) => e);
    assert.ok(error instanceof InvalidDocumentError, String(error));
    assert.match(error.issues.map((i) => `${i.path}: ${i.reason}`).join("\n"), pattern);
  }
  const reserved = await generate(
    [parseYamlFile("bad.yml", pod({ [ING]: "" }, "[{containerPort: 15100}]"))],
    await options(),
  ).then(() => assert.fail("generation must fail"), (e) => e);
  assert.match(String(reserved), /port 15100 \(port-15100\) lies in the proxy's reserved range/);
});

Deno.test("the injected sidecar gets the mesh configuration and the pod's TCP ports", async () => {
  const text = pod(
    { [ING]: "metrics#9090#true", [EGR]: "db#127.0.0.2:5432#db:5432", [ADM]: "9901" },
    "[{containerPort: 8080}, {containerPort: 9090}, {containerPort: 53, protocol: UDP}]",
  );
  const out = (await generate([parseYamlFile("p.yml", text)], await options())).files[0]!.text;
  for (
    const env of [
      "name: EDG_INGRESS_PROXY_CONFIG\n          value: metrics#9090#true",
      "name: EDG_EGRESS_PROXY_CONFIG\n          value: db#127.0.0.2:5432#db:5432",
      'name: EDG_ADMIN_PORT\n          value: "9901"',
      "name: CONTRAST_MESH_POD_PORTS\n          value: 8080,9090",
    ]
  ) assert.ok(out.includes(env), `${env}\n---\n${out}`);
  assert.ok(!out.includes("CONTRAST_MESH_LIMITS"), "no limits variable without the annotation");
});

Deno.test("the limits annotation reaches the sidecar as CONTRAST_MESH_LIMITS", async () => {
  const limits = "maxConnections=500,idleTimeoutSeconds=600,adminRemoteAccess=all";
  const text = pod({ [ING]: "", [LIM]: limits });
  const out = (await generate([parseYamlFile("p.yml", text)], await options())).files[0]!.text;
  const env = `name: CONTRAST_MESH_LIMITS\n          value: ${limits}`;
  assert.ok(out.includes(env), `${env}\n---\n${out}`);
  // The annotation alone adds no sidecar.
  const alone = pod({ [LIM]: limits });
  const plain = (await generate([parseYamlFile("p.yml", alone)], await options())).files[0]!.text;
  assert.ok(!plain.includes("contrast-service-mesh"), plain);
});
