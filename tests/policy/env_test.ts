import assert from "node:assert/strict";
import { IssueList } from "../../util/json/mod.ts";
import { envExpectation, expandVars, resolveEnv } from "../../policy/env.ts";

const facts = {
  namespace: "shop",
  namePattern: "web-[a-z0-9]{5}",
  serviceAccountName: "web",
  labels: { app: "web" },
  annotations: {},
};
const source = {
  configMap: (ns: string, name: string) =>
    ns === "shop" && name === "cm" ? { A: "1", B: "two" } : undefined,
  secret: (ns: string, name: string) => ns === "shop" && name === "s" ? { PASS: "pw" } : undefined,
};

Deno.test("$(VAR) expansion follows Kubernetes: $$ escapes, unknown stays, runtime values become patterns", () => {
  const vars = new Map([["A", [{ literal: "x" }]], ["P", [{ pattern: "[a-z]+" }]]]);
  assert.deepEqual(expandVars("$(A)-$$(A)-$(NOPE)", vars), [{ literal: "x-$(A)-$(NOPE)" }]);
  assert.deepEqual(envExpectation("V", expandVars("pre.$(P)", vars)), {
    name: "V",
    regex: "^pre\\.[a-z]+$",
  });
});

Deno.test("image env is overridden by envFrom (with prefix) and env, in that order", () => {
  const issues = new IssueList();
  const { env, podVars } = resolveEnv(
    {
      envFrom: [{ configMapRef: { name: "cm" }, prefix: "CM_" }, { secretRef: { name: "s" } }],
      env: [
        { name: "MODE", value: "dev" },
        { name: "URL", value: "http://$(CM_B):$(PORT)" },
        { name: "NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "NS", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
        { name: "APP", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: "CPU", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } },
      ],
    },
    ["PATH=/bin", "MODE=prod", "PORT=80"],
    facts,
    source,
    "c",
    issues,
  );
  assert.ok(issues.empty, JSON.stringify(issues.issues));
  const out = Object.fromEntries([...env].map(([n, v]) => [n, envExpectation(n, v)]));
  assert.deepEqual(out.MODE, { name: "MODE", value: "dev" });
  assert.deepEqual(out.CM_A, { name: "CM_A", value: "1" });
  // Nothing of a Secret's value is published: the variable is only required to be present.
  assert.deepEqual(out.PASS, { name: "PASS", secret: true });
  // PORT comes from the image, so Kubernetes does not expand it.
  assert.deepEqual(out.URL, { name: "URL", value: "http://two:$(PORT)" });
  assert.deepEqual(out.NAME, { name: "NAME", regex: "^web-[a-z0-9]{5}$" });
  assert.deepEqual(out.NS, { name: "NS", value: "shop" });
  assert.deepEqual(out.APP, { name: "APP", value: "web" });
  assert.deepEqual(out.CPU, { name: "CPU", regex: "^[0-9]+$" });
  assert.equal(podVars.has("PATH"), false);
});

Deno.test("missing ConfigMaps, Secrets or keys are errors unless optional, each with its path", () => {
  const issues = new IssueList();
  resolveEnv(
    {
      envFrom: [{ configMapRef: { name: "gone" } }, {
        secretRef: { name: "gone", optional: true },
      }],
      env: [
        { name: "X", valueFrom: { configMapKeyRef: { name: "cm", key: "missing" } } },
        { name: "Y", valueFrom: { secretKeyRef: { name: "s", key: "missing", optional: true } } },
        { name: "Z", valueFrom: { fieldRef: { fieldPath: "spec.unknownField" } } },
        { name: "W", valueFrom: { somethingElse: {} } },
      ],
    },
    [],
    facts,
    source,
    "spec.containers[0]",
    issues,
  );
  assert.deepEqual(issues.issues.map((i) => i.path), [
    "spec.containers[0].envFrom[0].configMapRef.name",
    "spec.containers[0].env[0].valueFrom.configMapKeyRef",
    "spec.containers[0].env[2].valueFrom.fieldRef.fieldPath",
    "spec.containers[0].env[3].valueFrom",
  ]);
  assert.match(issues.issues[1]!.reason, /has no key "missing"/);
});

Deno.test("text built from a Secret with $(VAR) is secret as a whole; mixing it with run-time values is refused", () => {
  const issues = new IssueList();
  const { env } = resolveEnv(
    {
      env: [
        { name: "USER", valueFrom: { secretKeyRef: { name: "s", key: "PASS" } } },
        { name: "DSN", value: "db://$(USER)@host" },
        { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "MIX", value: "$(USER)-$(POD)" },
      ],
    },
    [],
    facts,
    source,
    "c",
    issues,
  );
  assert.deepEqual(envExpectation("DSN", env.get("DSN")!), { name: "DSN", secret: true });
  assert.throws(
    () => envExpectation("MIX", env.get("MIX")!),
    /Secret's value with a value only known at run time/,
  );
});

Deno.test("a literal JSON value (the initializer's trust document) is pinned verbatim, not as a pattern", () => {
  const json = '{"CoordinatorPolicyHash":"ab","ReferenceValues":{"snp":[{"a":"$(X)"}],"tdx":[]}}';
  const value = expandVars(json, new Map());
  assert.deepEqual(envExpectation("CONTRAST_COORDINATOR_TRUST", value), {
    name: "CONTRAST_COORDINATOR_TRUST",
    value: json,
  });
});
