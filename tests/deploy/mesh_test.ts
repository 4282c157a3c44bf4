import assert from "node:assert/strict";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { parseYamlFile } from "../../deploy/documents.ts";
import { generate, type GenerateOptions } from "../../deploy/generate.ts";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { ExitCode } from "../../cli/exit_codes.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { BARE_PODS_GENERATE_FLAGS } from "../helpers/contrast_cli.ts";
import { testGenerateOptions } from "./generate_options.ts";

/** The test generate options without reference values. */
function options(): Promise<GenerateOptions> {
  return testGenerateOptions({ referenceValues: { snp: [], tdx: [] } });
}

/** `contrast generate` (service mesh on) of `yaml` written to `dir`/app.yml, into `dir`. */
async function generateMeshed(dir: string, yaml: string) {
  await Deno.writeTextFile(`${dir}/app.yml`, yaml);
  return await runCliCaptured(
    "generate",
    ...BARE_PODS_GENERATE_FLAGS.filter((f) => f !== "--skip-service-mesh"),
    "-w",
    dir,
    `${dir}/app.yml`,
  );
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
      // A plain port is admitted from outside the pod: an egress listener on it would be
      // reachable where the host routes 127.0.0.0/8 (route_localnet).
      { [ING]: "metrics#8801#true", [EGR]: "db#127.0.0.2:5432#db:5432##m#127.0.0.3:8801#m:80" },
      /servicemesh-egress"\]: entry 2 "m#127\.0\.0\.3:8801#m:80": listen port 8801 is also ingress entry "metrics" of contrast\.edgeless\.systems\/servicemesh-ingress, which the ingress passes through in plain/,
    ],
    [
      { [EGR]: "m#127.0.0.3:15150#m:80" },
      /servicemesh-egress"\]: entry 1 "m#127\.0\.0\.3:15150#m:80": listen port 15150 lies in the proxy's reserved range 15100–15199/,
    ],
    [
      { [EGR]: "m#127.0.0.3:9901#m:80", [ADM]: "9901" },
      /servicemesh-admin-interface-port"\]: port 9901 is also the listen port of egress entry "m"/,
    ],
    [
      { [EGR]: "a#127.0.0.3:80#a:80##b#127.0.0.3:80#b:80" },
      /servicemesh-egress"\]: entry 2 "b#127\.0\.0\.3:80#b:80": listen address 127\.0\.0\.3:80 already has entry "a"/,
    ],
    [
      { [ING]: "a#9901#false", [ADM]: "9901" },
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

Deno.test("generate keeps egress ports that reach nothing from outside", async () => {
  // 8080 is a terminated pod port (redirected to the proxy's listener whatever the destination
  // address) and two entries share it on two addresses; 8801 is plain, but no egress uses it.
  const egress = "a#127.0.0.2:8080#a:80##b#127.0.0.3:8080#b:80";
  const text = pod(
    { [ING]: "metrics#8801#true", [EGR]: egress, [ADM]: "9901" },
    "[{containerPort: 8080}, {containerPort: 8801}]",
  );
  const out = (await generate([parseYamlFile("p.yml", text)], await options())).files[0]!.text;
  const env = `name: EDG_EGRESS_PROXY_CONFIG\n          value: ${egress}`;
  assert.ok(out.includes(env), `${env}\n---\n${out}`);
});

Deno.test("contrast generate: an egress port equal to a plain port is exit 2 naming the file and the annotation, nothing written", () =>
  withTempDir(async (dir) => {
    const r = await generateMeshed(
      dir,
      pod({ [ING]: "metrics#8801#true", [EGR]: "m#127.0.0.3:8801#m:80" }),
    );
    assert.equal(r.code, ExitCode.BadInput, r.stderr);
    assert.match(
      r.stderr,
      /app\.yml.*metadata\.annotations\["contrast\.edgeless\.systems\/servicemesh-egress"\]: entry 1 "m#127\.0\.0\.3:8801#m:80": listen port 8801 is also ingress entry "metrics"/,
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["app.yml"]);
  }));

/** A meshed (or, without annotations, plain) pod with these pod-level sysctls. */
const sysctlPod = (
  sysctls: [string, string][],
  annotations: Record<string, string> = { [EGR]: "db#127.0.0.2:5432#db:5432" },
) =>
  pod(annotations).replace(
    "spec:\n",
    `spec:\n  securityContext:\n    sysctls:\n${
      sysctls.map(([n, v]) => `    - {name: "${n}", value: "${v}"}`).join("\n")
    }\n`,
  );

Deno.test("generate refuses route_localnet in a meshed pod's sysctls, naming the file and the entry", async () => {
  const cases: [string, string][] = [
    ["net.ipv4.conf.all.route_localnet", "1"],
    ["net.ipv4.conf.default.route_localnet", "1"],
    ["net.ipv4.conf.eth0.route_localnet", "1"],
    ["net/ipv4/conf/eth0.100/route_localnet", "1"],
  ];
  for (const [name, value] of cases) {
    const text = sysctlPod([["net.ipv4.ip_unprivileged_port_start", "0"], [name, value]]);
    await assert.rejects(
      generate([parseYamlFile("p.yml", text)], await options()),
      (e: unknown) => {
        assert.ok(e instanceof InvalidDocumentError, String(e));
        assert.match(
          e.message,
          new RegExp(
            `p\\.yml.*spec\\.securityContext\\.sysctls\\[1\\]: sysctl ${
              name.replaceAll(".", "\\.")
            }="1" routes 127\\.0\\.0\\.0/8 from outside the pod`,
          ),
        );
        assert.doesNotMatch(e.message, /sysctls\[0\]/);
        return true;
      },
    );
  }
});

Deno.test("generate refuses route_localnet in a meshed pod's sysctls behind an alias, as the policy reads them", async () => {
  // The policy data reads the pod with aliases resolved and pins the sysctl; the check read the
  // spec with yaml's toJSON(), which gives an alias as {source}, and let it through. Here the
  // container's env list (valid for kubectl) is anchored and given again as the pod's sysctls.
  const text = (annotations: string) =>
    `apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
${annotations}    other: "x"
spec:
  runtimeClassName: contrast-cc
  containers:
    - name: c
      image: "127.0.0.1:5000/web:1.0"
      env: &s [{name: net.ipv4.conf.all.route_localnet, value: "1"}]
  securityContext: {sysctls: *s}
`;
  await assert.rejects(
    generate(
      [parseYamlFile("p.yml", text(`    ${EGR}: "db#127.0.0.2:5432#db:5432"\n`))],
      await options(),
    ),
    (e: unknown) => {
      assert.ok(e instanceof InvalidDocumentError, String(e));
      assert.match(
        e.message,
        /p\.yml.*spec\.securityContext\.sysctls\[0\]: sysctl net\.ipv4\.conf\.all\.route_localnet="1" routes 127\.0\.0\.0\/8 from outside the pod/,
      );
      return true;
    },
  );
  // Without the sidecar the same pod is generated, the sysctl pinned by its policy.
  const result = await generate([parseYamlFile("p.yml", text(""))], await options());
  const sysctls = result.policies[0]!.policyData.containers[0]!.sysctls;
  assert.equal(sysctls["net.ipv4.conf.all.route_localnet"], "1");
});

Deno.test("generate keeps other sysctls of meshed pods, route_localnet=0, and route_localnet of pods without a sidecar", async () => {
  const keep = [
    sysctlPod([["net.ipv4.ip_unprivileged_port_start", "0"], [
      "net.ipv4.conf.all.route_localnet",
      "0",
    ]]),
    sysctlPod([["net.ipv4.conf.all.route_localnet", "1"]], {}),
  ];
  for (const text of keep) {
    const out = (await generate([parseYamlFile("p.yml", text)], await options())).files[0]!.text;
    assert.match(out, /sysctls:/, out);
  }
  const unmeshed = (await generate([parseYamlFile("p.yml", keep[1]!)], await options())).files[0]!
    .text;
  assert.ok(!unmeshed.includes("contrast-service-mesh"), unmeshed);
});

Deno.test("contrast generate: route_localnet in a meshed pod is exit 2 naming the file and field, nothing written", () =>
  withTempDir(async (dir) => {
    const r = await generateMeshed(dir, sysctlPod([["net.ipv4.conf.all.route_localnet", "1"]]));
    assert.equal(r.code, ExitCode.BadInput, r.stderr);
    assert.match(
      r.stderr,
      /app\.yml.*spec\.securityContext\.sysctls\[0\]: sysctl net\.ipv4\.conf\.all\.route_localnet="1"/,
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["app.yml"]);
  }));
