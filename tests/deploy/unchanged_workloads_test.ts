import assert from "node:assert/strict";
import { parseYamlFile } from "../../deploy/documents.ts";
import { generate } from "../../deploy/generate.ts";
import { unchangedWorkloadWarning } from "../../deploy/unchanged_workloads.ts";
import { testGenerateOptions } from "./generate_options.ts";
import { generateAppArgs, runContrast } from "../helpers/contrast_cli.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

const CONTAINERS = 'containers: [{name: c, image: "127.0.0.1:5000/web:1.0"}]';

/** One pod-bearing resource of `kind` whose pod spec carries `specLine` (indented by `pad`). */
function workload(kind: string, name: string, specLine: string): string {
  const pod = (pad: string) => `${pad}${specLine}\n${pad}${CONTAINERS}\n`;
  switch (kind) {
    case "Pod":
      return `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec:\n${pod("  ")}`;
    case "CronJob":
      return `apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: ${name}, namespace: jobs}\n` +
        `spec:\n  schedule: "* * * * *"\n  jobTemplate:\n    spec:\n      template:\n` +
        `        spec:\n${pod("          ")}`;
    default: {
      const apiVersion = kind === "Job"
        ? "batch/v1"
        : kind === "ReplicationController"
        ? "v1"
        : "apps/v1";
      return `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: ${name}}\n` +
        `spec:\n  template:\n    spec:\n${pod("      ")}`;
    }
  }
}

const KINDS = [
  "Pod",
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "ReplicaSet",
  "ReplicationController",
  "Job",
  "CronJob",
];

Deno.test("generate lists every pod-bearing kind it leaves unchanged, with the runtime class it has", async () => {
  const docs = KINDS.map((kind, i) =>
    workload(
      kind,
      `w${i}`,
      i % 2 === 0 ? "terminationGracePeriodSeconds: 5" : "runtimeClassName: kata",
    )
  );
  const file = parseYamlFile("app.yml", docs.join("---\n"));
  const result = await generate([file], await testGenerateOptions());
  assert.equal(result.policies.length, 0);
  assert.ok(result.files.every((f) => !f.changed));
  assert.deepEqual(
    result.unchanged.map((
      w,
    ) => [w.location, w.kind, w.namespace, w.name, w.field, w.runtimeClassName]),
    KINDS.map((kind, i) => [
      `app.yml[${i}]`,
      kind,
      kind === "CronJob" ? "jobs" : "default",
      `w${i}`,
      kind === "Pod"
        ? "spec.runtimeClassName"
        : kind === "CronJob"
        ? "spec.jobTemplate.spec.template.spec.runtimeClassName"
        : "spec.template.spec.runtimeClassName",
      i % 2 === 0 ? undefined : "kata",
    ]),
  );
});

Deno.test("generate lists unchanged workloads inside Lists, and not the confidential ones nor other kinds", async () => {
  const text = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: plain, namespace: shop}
    spec:
      runtimeClassName: ~
      ${CONTAINERS}
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: c}
  - apiVersion: v1
    kind: Service
    metadata: {name: s}
---
${workload("Pod", "safe", "runtimeClassName: contrast-cc")}---
${workload("Pod", "numeric", "runtimeClassName: 17")}---
${workload("Pod", "prefix-case", "runtimeClassName: Contrast-CC")}`;
  const result = await generate([parseYamlFile("app.yml", text)], await testGenerateOptions());
  assert.deepEqual(result.policies.map((p) => p.name), ["safe"]);
  assert.deepEqual(
    result.unchanged.map((w) => [w.location, w.name, w.runtimeClassName]),
    [
      ["app.yml[0].items[0]", "plain", undefined],
      ["app.yml[2]", "numeric", 17],
      ["app.yml[3]", "prefix-case", "Contrast-CC"],
    ],
  );
});

Deno.test("the warning names file, document, kind, namespace/name and the runtime class (or none)", () => {
  const base = {
    location: "app.yml[1]",
    kind: "Deployment",
    namespace: "shop",
    name: "web",
    field: "spec.template.spec.runtimeClassName",
  };
  assert.equal(
    unchangedWorkloadWarning({ ...base, runtimeClassName: undefined }, "contrast-cc"),
    "app.yml[1]: Deployment shop/web left unchanged, not confidential (no policy): no " +
      'spec.template.spec.runtimeClassName (confidential pods need one starting with "contrast-cc")',
  );
  assert.equal(
    unchangedWorkloadWarning({ ...base, runtimeClassName: "kata-qemu" }, "contrast-cc"),
    "app.yml[1]: Deployment shop/web left unchanged, not confidential (no policy): " +
      'spec.template.spec.runtimeClassName is "kata-qemu", which does not start with "contrast-cc"',
  );
  assert.match(
    unchangedWorkloadWarning({ ...base, runtimeClassName: 17 }, "contrast-cc"),
    /runtimeClassName is 17 \(not a string\), which does not start/,
  );
  assert.match(
    unchangedWorkloadWarning({ ...base, runtimeClassName: { a: 1 } }, "contrast-cc"),
    /runtimeClassName is a non-string value, which does not start/,
  );
});

Deno.test("contrast generate warns on stderr about a missing or misspelt runtime class, exit 0, stdout untouched; --log-level error silences it", () =>
  withTempDir(async (dir) => {
    const yaml = workload("Deployment", "web", "terminationGracePeriodSeconds: 5") + "---\n" +
      workload("Pod", "tools", "runtimeClassName: contrast-c");
    await Deno.writeTextFile(`${dir}/app.yml`, yaml);
    const args = (...extra: string[]) => [
      ...extra,
      ...generateAppArgs(dir),
    ];
    const r = await runContrast(...args());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    const lines = r.stderr.trimEnd().split("\n");
    assert.ok(
      lines.includes(
        `warning: ${dir}/app.yml[0]: Deployment default/web left unchanged, not confidential ` +
          "(no policy): no spec.template.spec.runtimeClassName (confidential pods need one " +
          'starting with "contrast-cc")',
      ),
      r.stderr,
    );
    assert.ok(
      lines.includes(
        `warning: ${dir}/app.yml[1]: Pod default/tools left unchanged, not confidential ` +
          '(no policy): spec.runtimeClassName is "contrast-c", which does not start with "contrast-cc"',
      ),
      r.stderr,
    );
    assert.match(r.stderr, /wrote .*manifest\.json with 0 policies/);
    assert.equal(await Deno.readTextFile(`${dir}/app.yml`), yaml);

    // Warnings survive --log-level warn (progress does not); error drops them.
    const warn = await runContrast(...args("--log-level", "warn"));
    assert.equal(warn.code, 0, warn.stderr);
    assert.match(warn.stderr, /Deployment default\/web left unchanged/);
    assert.doesNotMatch(warn.stderr, /wrote /);
    const quiet = await runContrast(...args("--log-level", "error"));
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, "");
  }));
