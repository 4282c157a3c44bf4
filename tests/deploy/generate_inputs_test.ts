/**
 * Inputs kubectl accepts that generate refused or modelled wrongly: each accepted one generates a
 * policy that `contrast policy check --mutate` passes (every legitimate request allowed, every
 * tampered one denied); each still refused is exit 2 naming file and field.
 */
import assert from "node:assert/strict";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { exitCodeFor } from "../../cli/exit_codes.ts";
import { parseYamlFile } from "../../deploy/documents.ts";
import { generate } from "../../deploy/generate.ts";
import { parseYamlDocuments } from "../../policy/check/inputs.ts";
import { serviceLinkEnv } from "../../policy/check/runtime_model.ts";
import { serviceVariables } from "../../policy/env.ts";
import { generateAndCheck } from "../policy/check/generate_and_check.ts";
import { testGenerateOptions } from "./generate_options.ts";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { ExitCode } from "../../cli/exit_codes.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { SIMULATED_SNP_REFERENCE_FLAGS } from "../helpers/contrast_cli.ts";

const BOM = "\uFEFF";
const PASS =
  /^PASS: (\d+) pod\(s\), 0 legitimate request\(s\) denied, 0 weakness\(es\), 0 evaluation\(s\) aborted/m;

/** A confidential Pod named `name` with `extra` spec lines (two-space indented, before containers). */
function pod(name: string, extra = "", container = ""): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  runtimeClassName: contrast-cc
${extra}  containers:
    - name: web
      image: "127.0.0.1:5000/web:1.0"
${container}`;
}

/** The issues generate's reading of `text` gives (asserting exit 2), or [] when it reads. */
async function refusal(text: string): Promise<{ path: string; reason: string }[]> {
  try {
    await generate([parseYamlFile("app.yml", text)], await testGenerateOptions());
  } catch (e) {
    assert.ok(e instanceof InvalidDocumentError, String(e));
    assert.equal(exitCodeFor(e), 2);
    return [...e.issues];
  }
  return [];
}

Deno.test("a BOM right after a --- separator (concatenated files) is read as kubectl reads it; policy check passes", async () => {
  const yaml = `${pod("a")}---\n${BOM}${pod("b")}`;
  const { result, error, out } = await generateAndCheck("app.yml", yaml, "3");
  assert.equal(error, undefined, out);
  assert.equal(PASS.exec(out)?.[1], "2", out);
  assert.deepEqual(result.policies.map((p) => p.name), ["a", "b"]);
  // Written without the BOM (kubectl reads both alike); the second pod is the confidential one.
  assert.ok(!result.files[0]!.text.includes(BOM));
  assert.match(result.files[0]!.text, /---\napiVersion: v1\nkind: Pod\nmetadata:\n {2}name: b\n/);
  // policy check reads the input the same way.
  assert.deepEqual(
    parseYamlDocuments(yaml, "app.yml").map((d) => (d.value as { metadata: unknown }).metadata),
    [{ name: "a" }, { name: "b" }],
  );
});

Deno.test("a file left unchanged keeps its BOMs (written as read with -o)", async () => {
  const text = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n${BOM}` +
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n`;
  const result = await generate([parseYamlFile("app.yml", text)], await testGenerateOptions());
  assert.equal(result.files[0]!.changed, false);
  assert.equal(result.files[0]!.text, text);
});

Deno.test("a BOM elsewhere at a line start is refused (exit 2), naming file, line and column", async () => {
  for (
    const [text, path] of [
      [`---\n${BOM}${pod("a")}`, "app.yml:2:1"], // kubectl: key "\uFEFFapiVersion"
      [`${pod("a")}---\n\n${BOM}${pod("b")}`, "app.yml:12:1"],
      [pod("a", `${BOM}  hostname: h\n`), "app.yml:7:1"],
    ] as const
  ) {
    const issues = await refusal(text);
    assert.equal(issues[0]?.path, path, JSON.stringify(issues));
    assert.match(
      issues[0]!.reason,
      /^a byte order mark \(U\+FEFF\) at the start of a line: kubectl/,
    );
    assert.throws(
      () => parseYamlDocuments(text, "app.yml"),
      (e: Error) => e.message.includes(path),
    );
  }
});

/** `text` indented by `n` spaces after its first line (a YAML block under a list item). */
function indent(text: string, n: number): string {
  return text.trimEnd().replaceAll("\n", `\n${" ".repeat(n)}`);
}

const TYPED_LISTS = `apiVersion: v1
kind: PodList
items:
  - ${indent(pod("solo").replace("apiVersion: v1\nkind: Pod\n", ""), 4)}
---
apiVersion: apps/v1
kind: DeploymentList
items:
  - metadata: {name: front, namespace: shop}
    spec:
      selector: {matchLabels: {app: front}}
      template:
        metadata: {labels: {app: front}}
        spec:
          runtimeClassName: contrast-cc
          containers: [{name: web, image: "127.0.0.1:5000/web:1.0"}]
`;

Deno.test("typed lists (PodList, DeploymentList): items without kind are the list's kind, as kubectl applies them; policy check passes", async () => {
  const { result, error, out } = await generateAndCheck("app.yml", TYPED_LISTS, "4");
  assert.equal(error, undefined, out);
  assert.equal(PASS.exec(out)?.[1], "2", out);
  assert.deepEqual(result.policies.map((p) => `${p.kind} ${p.namespace}/${p.name}`), [
    "Pod default/solo",
    "Deployment shop/front",
  ]);
  assert.deepEqual(
    Object.values(result.manifest.Policies).map((p) => p.WorkloadSecretID).sort(),
    ["apps/v1/Deployment/shop/front", "core/v1/Pod/default/solo"],
  );
  // The lists keep their shape (kubectl applies the items alike), the items edited in place.
  const text = result.files[0]!.text;
  assert.match(text, /^apiVersion: v1\nkind: PodList\nitems:\n {2}- metadata:\n/);
  assert.match(text, /---\napiVersion: apps\/v1\nkind: DeploymentList\nitems:\n {2}- metadata:/);
  assert.equal(text.match(/io\.katacontainers\.config\.hypervisor\.cc_init_data/g)?.length, 2);
});

Deno.test("list items get the same strict checks as documents, naming the item", async () => {
  const misspelt = TYPED_LISTS.replace("runtimeClassName", "runtimeClasName");
  assert.notEqual(misspelt, TYPED_LISTS);
  assert.deepEqual(await refusal(misspelt), [{
    path: "app.yml[0].items[0]: spec.runtimeClasName",
    reason: "unknown field (kubectl's strict field validation refuses it too)",
  }]);
});

Deno.test("lists kubectl refuses or reads otherwise are refused (exit 2), naming the field", async () => {
  const hiddenPod =
    `  - apiVersion: v1\n    kind: Pod\n    metadata: {name: hidden}\n    spec:\n      runtimeClassName: contrast-cc\n      containers: [{name: web, image: "127.0.0.1:5000/web:1.0"}]\n`;
  for (
    const [text, path, reason] of [
      // kubectl (v1.37.2, measured) applies the Pod, not the ConfigMap.
      [
        `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nitems:\n${hiddenPod}`,
        "app.yml[0]: items",
        /^kubectl applies the items of a document with an items field, not the ConfigMap itself; use kind List/,
      ],
      // kubectl: "*unstructured.Unstructured is not a list: no Items field in this object".
      [
        `apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: List\n    items:\n  ${
          hiddenPod.replaceAll("\n  ", "\n    ")
        }`,
        "app.yml[0].items[0]: items",
        /^a list inside a list, which kubectl refuses/,
      ],
      // kubectl: "Object 'apiVersion' is missing" (only an item with neither gets the list's).
      [
        `apiVersion: v1\nkind: PodList\nitems:\n  - kind: Pod\n    metadata: {name: half}\n    spec: {containers: [{name: web, image: "127.0.0.1:5000/web:1.0"}]}\n`,
        "app.yml[0].items[0]: apiVersion",
        /^missing$/,
      ],
    ] as const
  ) {
    const issues = await refusal(text);
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.equal(issues[0]!.path, path);
    assert.match(issues[0]!.reason, reason);
  }
});

/** A pod referring to service variables in env and args; `links` sets enableServiceLinks. */
function serviceVariablePod(name: string, links?: boolean): string {
  return pod(
    name,
    links === undefined ? "" : `  enableServiceLinks: ${links}\n`,
    `      args: ["--api=$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)", "--db=$(DB_PORT)", "$(NOT_SET)"]
      env:
        - {name: DB_ADDRESS, value: "$(DB_SERVICE_HOST):$(DB_SERVICE_PORT)"}
        - {name: DB_LINK, value: "$(DB_PORT_5432_TCP)"}
        - {name: DB_METRICS, value: "$(DB_SERVICE_PORT_METRICS) $(DB_PORT_9000_UDP_ADDR)"}
`,
  );
}

const DB_SERVICE = `---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  ports: [{port: 5432, name: sql}, {port: 9000, name: metrics, protocol: UDP}]
`;

Deno.test("$(VAR) of a service variable the kubelet injects: the policy admits the reference as written or the kubelet's value; policy check passes with and without the Service", async () => {
  for (
    const [yaml, seed] of [
      [serviceVariablePod("web") + DB_SERVICE, "5"], // expanded to the Service's values
      [serviceVariablePod("web"), "6"], // no such Service: the references stay as written
      [serviceVariablePod("web", false) + DB_SERVICE, "7"], // only KUBERNETES_* expand
    ] as const
  ) {
    const { result, error, out } = await generateAndCheck("app.yml", yaml, seed);
    assert.equal(error, undefined, out);
    assert.equal(PASS.exec(out)?.[1], "1", out);
    const process = result.policies[0]!.policyData.containers[1]!.process;
    const dbAddress = process.env.find((e) => e.name === "DB_ADDRESS");
    const argRegexes = process.arg_regexes ?? [];
    if (yaml.includes("enableServiceLinks: false")) {
      // Without service links no DB_* variable exists: the reference stays as written.
      assert.deepEqual(dbAddress, {
        name: "DB_ADDRESS",
        value: "$(DB_SERVICE_HOST):$(DB_SERVICE_PORT)",
      });
      assert.equal(argRegexes[2], "^\\-\\-db=\\$\\(DB_PORT\\)$");
    } else {
      // DB_SERVICE_PORT is also the _PORT variable of a Service "db-service": both shapes.
      assert.deepEqual(dbAddress, {
        name: "DB_ADDRESS",
        regex: "^(\\$\\(DB_SERVICE_HOST\\)|[0-9a-fA-F.:]+):(\\$\\(DB_SERVICE_PORT\\)|[0-9]+|" +
          "(tcp|udp|sctp)://(\\[[0-9a-fA-F:]+\\]|[0-9.]+):[0-9]+)$",
      });
    }
    // KUBERNETES_* are injected whatever enableServiceLinks says; an unknown name stays.
    assert.equal(
      argRegexes[1],
      "^\\-\\-api=(\\$\\(KUBERNETES_SERVICE_HOST\\)|[0-9a-fA-F.:]+):(\\$\\(KUBERNETES_SERVICE_PORT\\)|[0-9]+|(tcp|udp|sctp)://(\\[[0-9a-fA-F:]+\\]|[0-9.]+):[0-9]+)$",
    );
    assert.equal(argRegexes[3], "^\\$\\(NOT_SET\\)$");
  }
});

const FQDN_POD = pod(
  "db",
  "  hostname: db-0\n  subdomain: db\n  setHostnameAsFQDN: true\n",
).replace("  name: db\n", "  name: db\n  namespace: shop\n");

const FQDN_STATEFUL_SET = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: store, namespace: shop}
spec:
  serviceName: store
  selector: {matchLabels: {app: store}}
  template:
    metadata: {labels: {app: store}}
    spec:
      runtimeClassName: contrast-cc
      subdomain: store
      setHostnameAsFQDN: true
      containers: [{name: web, image: "127.0.0.1:5000/web:1.0"}]
`;

Deno.test("setHostnameAsFQDN with a subdomain: the hostname the agent receives (CreateSandbox, OCI hostname, HOSTNAME) is the pod's FQDN in the cluster domain; policy check passes", async () => {
  for (
    const [yaml, hostname] of [
      [FQDN_POD, "^db\\-0\\.db\\.shop\\.svc\\.cluster\\.local$"],
      [FQDN_STATEFUL_SET, "^store-[0-9]+\\.store\\.shop\\.svc\\.cluster\\.local$"],
      // Without a subdomain the kubelet has no domain: the hostname stays the pod's name.
      [pod("solo", "  setHostnameAsFQDN: true\n"), "^solo$"],
      // hostnameOverride (GA in v1.37) is the hostname; a name over 63 characters is cut.
      [pod("web", "  hostnameOverride: web.example\n"), "^web\\.example$"],
      [pod(`${"a".repeat(62)}-b`), `^${"a".repeat(62)}$`],
    ] as const
  ) {
    const { result, error, out } = await generateAndCheck("app.yml", yaml, "8");
    assert.equal(error, undefined, out);
    assert.equal(PASS.exec(out)?.[1], "1", out);
    const data = result.policies[0]!.policyData;
    assert.equal(data.pod.hostname_regex, hostname);
    assert.ok(
      data.containers[1]!.process.env_regexes.includes(`^HOSTNAME=${hostname.slice(1)}`),
      JSON.stringify(data.containers[1]!.process.env_regexes),
    );
  }
});

Deno.test("the cluster domain is the kubelet's setting: generate --cluster-domain and policy check --cluster-domain must agree", async () => {
  const domain = { clusterDomain: "corp.example" };
  const same = await generateAndCheck("app.yml", FQDN_POD, "9", { ...domain, checkFlags: domain });
  assert.equal(same.error, undefined, same.out);
  assert.equal(
    same.result.policies[0]!.policyData.pod.hostname_regex,
    "^db\\-0\\.db\\.shop\\.svc\\.corp\\.example$",
  );
  // Checked against nodes of the default domain, the sandbox's hostname is denied.
  const other = await generateAndCheck("app.yml", FQDN_POD, "9", domain);
  assert.notEqual(other.error, undefined);
  assert.match(other.out, /denied #\d+: CreateSandboxRequest/);
});

Deno.test("an FQDN over 64 characters, which the kubelet refuses to start, is refused (exit 2) naming setHostnameAsFQDN", async () => {
  const long = FQDN_POD.replace("subdomain: db", `subdomain: ${"d".repeat(40)}`);
  const issues = await refusal(long);
  assert.deepEqual(issues.map((i) => i.path), ["app.yml[0]: spec.setHostnameAsFQDN"]);
  assert.match(
    issues[0]!.reason,
    /^the pod's FQDN "db-0\.d{40}\.shop\.svc\.cluster\.local" has 68 characters; the kubelet starts no pod whose FQDN is longer than 64/,
  );
});

Deno.test("--cluster-domain must be a DNS subdomain (generate and policy check): exit 2 naming the flag, nothing written", () =>
  withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/app.yml`, FQDN_POD);
    for (const bad of ["Cluster.Local", "cluster.local.", "a..b"]) {
      const run = await runCliCaptured(
        "generate",
        ...SIMULATED_SNP_REFERENCE_FLAGS,
        "--cluster-domain",
        bad,
        "-w",
        `${dir}/ws`,
        `${dir}/app.yml`,
      );
      assert.equal(run.code, ExitCode.BadInput, run.stderr);
      assert.match(
        run.stderr,
        /--cluster-domain: must be the kubelet's cluster domain, a DNS-1123 subdomain/,
      );
      const check = await runCliCaptured(
        "policy",
        "check",
        "--cluster-domain",
        bad,
        `${dir}/app.yml`,
      );
      assert.equal(check.code, ExitCode.BadInput, check.stderr);
      assert.match(check.stderr, /--cluster-domain: must be/);
    }
    assert.equal(await Deno.readTextFile(`${dir}/app.yml`), FQDN_POD);
    await assert.rejects(() => Deno.stat(`${dir}/ws`));
  }));

Deno.test("the request model makes the variables the kubelet makes of a Service (envvars.FromServices, v1.37)", () => {
  assert.deepEqual(
    serviceLinkEnv("my-db", "fd00::7", [
      { port: 5432, name: "", protocol: "TCP" },
      { port: 9000, name: "metrics-udp", protocol: "UDP" },
    ]),
    [
      "MY_DB_SERVICE_HOST=fd00::7",
      "MY_DB_SERVICE_PORT=5432",
      "MY_DB_SERVICE_PORT_METRICS_UDP=9000",
      "MY_DB_PORT=tcp://[fd00::7]:5432",
      "MY_DB_PORT_5432_TCP=tcp://[fd00::7]:5432",
      "MY_DB_PORT_5432_TCP_PROTO=tcp",
      "MY_DB_PORT_5432_TCP_PORT=5432",
      "MY_DB_PORT_5432_TCP_ADDR=fd00::7",
      "MY_DB_PORT_9000_UDP=udp://[fd00::7]:9000",
      "MY_DB_PORT_9000_UDP_PROTO=udp",
      "MY_DB_PORT_9000_UDP_PORT=9000",
      "MY_DB_PORT_9000_UDP_ADDR=fd00::7",
    ],
  );
  // Each value fits the shape generate admits for its name.
  const lookup = serviceVariables([
    "^[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT|SERVICE_PORT_[A-Z0-9_]+|PORT|PORT_[0-9]+_(TCP|UDP|SCTP)|PORT_[0-9]+_(TCP|UDP|SCTP)_(PROTO|PORT|ADDR))=[0-9a-zA-Z.:/\\[\\]-]*$",
  ]);
  for (
    const entry of serviceLinkEnv("my-db", "fd00::7", [{ port: 1, name: "a", protocol: "SCTP" }])
  ) {
    const [name, value] = [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)];
    const pattern = lookup(name)?.[0];
    assert.ok(pattern !== undefined && "pattern" in pattern, name);
    assert.match(value, new RegExp(`^${pattern.pattern}$`), name);
    assert.match(`$(${name})`, new RegExp(`^${pattern.pattern}$`), name);
  }
});
