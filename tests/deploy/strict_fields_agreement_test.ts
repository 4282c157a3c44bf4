/**
 * The unknown fields `generate` refuses are exactly the ones a real API server (kube-apiserver
 * v1.37.2, `testing/kube/`) refuses with strict field validation (`kubectl create --dry-run=server
 * --validate=strict`), on every pod-bearing workload of the repository's YAML, of Kata's genpolicy
 * test data (`../shared/conformance/kata-genpolicy`, skipped loudly when absent) and on misspelt
 * ones. The repository's and Kata's workloads must have none (a false refusal would stop valid
 * YAML).
 */
import assert from "node:assert/strict";
import { parseYamlFile } from "../../deploy/documents.ts";
import { collectResources, isWorkloadKind, toPlain } from "../../deploy/resources.ts";
import { loadKubernetesFields, unknownFieldPaths } from "../../deploy/strict_fields.ts";
import { LocalKubeCluster } from "../../testing/kube/mod.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { kubeTest } from "../helpers/kube_test.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const KATA = `${ROOT}../shared/conformance/kata-genpolicy/testdata`;

async function yamlFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory && entry.name !== ".git") out.push(...await yamlFilesUnder(path));
    else if (entry.isFile && /\.ya?ml$/.test(entry.name)) out.push(path);
  }
  return out.sort();
}

/** Every YAML file of the repository (examples, fixtures) and of Kata's test data when present. */
async function corpusFiles(): Promise<string[]> {
  const files = (await yamlFilesUnder(ROOT.replace(/\/$/, ""))).filter((f) =>
    !f.includes("/.tools/") && !f.includes("/.cache/") && !f.includes("/dist/")
  );
  try {
    files.push(...await yamlFilesUnder(KATA));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    console.error(`SKIPPED Kata genpolicy cases: ${KATA} is absent`);
  }
  return files;
}

const MISSPELT = [
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", labels: { RuntimeClasName: "x" } },
    spec: {
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" }, annotatons: {} },
        spec: {
          runtimeClasName: "contrast-cc",
          nodeSelector: { anyKey: "x" },
          containers: [{
            name: "web",
            image: "r.example/web:1",
            imagePullPolice: "Always",
            resources: { limits: { "vendor.example/thing": 1 } },
          }],
        },
      },
    },
    status: { phaze: 1 },
  },
  {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: {
      name: "cj",
      managedFields: [{ manager: "m", fieldsV1: { "f:spec": { "f:x": {} } } }],
    },
    spec: {
      schedule: "* * * * *",
      jobTemplate: {
        spec: {
          template: {
            spec: {
              restartPolicy: "Never",
              RuntimeClassName: "contrast-cc",
              containers: [{ name: "c", image: "r.example/c:1", "odd key": 1 }],
              volumes: [{ name: "v", emptyDir: { sizeLimt: "1Gi" } }],
            },
          },
        },
      },
    },
  },
  {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "s" },
    spec: {
      selector: { matchLabels: { app: "s" } },
      template: {
        metadata: { labels: { app: "s" } },
        spec: { containers: [{ name: "c", image: "r.example/c:1" }] },
      },
      volumeClaimTemplates: [{ metadata: { name: "d" }, spec: { accesMode: ["ReadWriteOnce"] } }],
    },
  },
];

const NAME = "unknown fields: generate's verdicts equal kube-apiserver's strict field validation";

Deno.test("no workload of the repository or of Kata's genpolicy cases has an unknown field", async () => {
  const fields = await loadKubernetesFields();
  let workloads = 0;
  for (const path of await corpusFiles()) {
    const file = parseYamlFile(path, await Deno.readTextFile(path));
    for (const r of collectResources([file]).filter((r) => isWorkloadKind(r.kind))) {
      workloads++;
      assert.deepEqual(unknownFieldPaths(fields, r.apiVersion, r.kind, toPlain(r)), [], r.location);
    }
  }
  assert.ok(workloads >= 6, `only ${workloads} workloads found`);
});

kubeTest(NAME, async () => {
  const fields = await loadKubernetesFields();
  const objects: { at: string; object: Record<string, unknown> }[] = MISSPELT.map((o, i) => ({
    at: `misspelt[${i}]`,
    object: o,
  }));
  for (const path of await corpusFiles()) {
    const file = parseYamlFile(path, await Deno.readTextFile(path));
    for (const r of collectResources([file]).filter((r) => isWorkloadKind(r.kind))) {
      objects.push({ at: r.location, object: toPlain(r) });
    }
  }
  await using cluster = await LocalKubeCluster.start();
  const serverVerdict = async (object: Record<string, unknown>): Promise<string[]> => {
    const r = await cluster.kubectl(
      ["create", "--dry-run=server", "--validate=strict", "-o", "name", "-f", "-"],
      { stdin: JSON.stringify(object) },
    );
    return [...r.stderr.matchAll(/unknown field "([^"]+)"/g)].map((m) => m[1]!).sort();
  };
  let refused = 0;
  for (let i = 0; i < objects.length; i += 4) {
    await Promise.all(
      objects.slice(i, i + 4).map(async ({ at, object }) => {
        const ours = unknownFieldPaths(
          fields,
          object.apiVersion as string,
          object.kind as string,
          object,
        )!.sort();
        assert.deepEqual(ours, await serverVerdict(object), at);
        if (ours.length > 0) refused++;
      }),
    );
  }
  assert.equal(refused, MISSPELT.length);
});

const RECORD = new URL("../../scripts/record_kubernetes_fields.ts", import.meta.url).pathname;
const SPEC_FILES = [
  "api__v1_openapi.json",
  "apis__apps__v1_openapi.json",
  "apis__batch__v1_openapi.json",
];

async function record(...args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", RECORD, "--check", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("deploy/kubernetes_fields.json is what the pinned Kubernetes' OpenAPI documents give; a changed document is caught", async () => {
  const current = await record();
  if (current.code === 2) {
    console.error(`SKIPPED field table freshness: ${current.stderr.trim()}`);
    return;
  }
  assert.equal(current.code, 0, current.stderr);
  const gomod = await Deno.readTextFile(new URL("../../tools/kube/go.mod", import.meta.url));
  const version = gomod.match(/^require k8s\.io\/kubernetes (v[0-9.]+)$/m)![1];
  const cache = new TextDecoder().decode(
    (await new Deno.Command("go", { args: ["env", "GOMODCACHE"] }).output()).stdout,
  ).trim();
  const dir = `${cache}/k8s.io/kubernetes@${version}/api/openapi-spec/v3`;
  await withTempDir(async (tmp) => {
    for (const name of SPEC_FILES) {
      const doc = JSON.parse(await Deno.readTextFile(`${dir}/${name}`));
      // A Kubernetes whose PodSpec had no runtimeClassName.
      delete doc.components.schemas["io.k8s.api.core.v1.PodSpec"]?.properties?.runtimeClassName;
      await Deno.writeTextFile(`${tmp}/${name}`, JSON.stringify(doc));
    }
    const changed = await record(tmp);
    assert.equal(changed.code, 1, changed.stderr);
    assert.match(changed.stderr, /deploy\/kubernetes_fields\.json differs/);
  });
});
