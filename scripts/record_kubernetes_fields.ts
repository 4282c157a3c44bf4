/**
 * Records `deploy/kubernetes_fields.json`: the field names of every typed object reachable from
 * the pod-bearing workload kinds, as the Kubernetes API server's OpenAPI v3 documents describe them
 * (k8s.io/kubernetes at the version `tools/kube/go.mod` pins, `api/openapi-spec/v3/`, read from the
 * Go module cache; `scripts/install_kube.sh` downloads it). `deploy/strict_fields.ts` refuses the
 * fields these types do not have, as the API server's strict field validation does.
 *
 * Usage: `deno run -A scripts/record_kubernetes_fields.ts [--check] [SPEC_DIR]`; with `--check` it
 * writes nothing and exits 1 when the committed table differs from what it would record (2 when the
 * OpenAPI documents are absent).
 *
 * @module
 */

const ROOTS: Record<string, { file: string; schema: string }> = {
  "v1/Pod": { file: "api__v1_openapi.json", schema: "io.k8s.api.core.v1.Pod" },
  "v1/ReplicationController": {
    file: "api__v1_openapi.json",
    schema: "io.k8s.api.core.v1.ReplicationController",
  },
  "apps/v1/Deployment": {
    file: "apis__apps__v1_openapi.json",
    schema: "io.k8s.api.apps.v1.Deployment",
  },
  "apps/v1/StatefulSet": {
    file: "apis__apps__v1_openapi.json",
    schema: "io.k8s.api.apps.v1.StatefulSet",
  },
  "apps/v1/DaemonSet": {
    file: "apis__apps__v1_openapi.json",
    schema: "io.k8s.api.apps.v1.DaemonSet",
  },
  "apps/v1/ReplicaSet": {
    file: "apis__apps__v1_openapi.json",
    schema: "io.k8s.api.apps.v1.ReplicaSet",
  },
  "batch/v1/Job": { file: "apis__batch__v1_openapi.json", schema: "io.k8s.api.batch.v1.Job" },
  "batch/v1/CronJob": {
    file: "apis__batch__v1_openapi.json",
    schema: "io.k8s.api.batch.v1.CronJob",
  },
};

// deno-lint-ignore no-explicit-any
type Schema = any;
/** 0: any value; a type name: a typed object; ["a", s]: array of s; ["m", s]: map to s. */
type Shape = 0 | string | ["a", Shape] | ["m", Shape];

async function kubeVersion(): Promise<string> {
  const gomod = await Deno.readTextFile(new URL("../tools/kube/go.mod", import.meta.url));
  const m = gomod.match(/^require k8s\.io\/kubernetes (v[0-9.]+)$/m);
  if (!m) throw new Error("tools/kube/go.mod: no `require k8s.io/kubernetes vX.Y.Z` line");
  return m[1]!;
}

/** The Go module cache, or a path that does not exist when `go` is not installed. */
async function goModCache(): Promise<string> {
  try {
    const out = await new Deno.Command("go", { args: ["env", "GOMODCACHE"] }).output();
    if (out.success) return new TextDecoder().decode(out.stdout).trim();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return "/nonexistent-go-module-cache";
}

function refName(schema: Schema): string | undefined {
  const ref = schema?.$ref ?? schema?.allOf?.[0]?.$ref;
  return typeof ref === "string" ? ref.replace("#/components/schemas/", "") : undefined;
}

function record(all: Record<string, Schema>, types: Record<string, Record<string, Shape>>) {
  const shapeOf = (schema: Schema): Shape => {
    if (schema?.["x-kubernetes-preserve-unknown-fields"] === true) return 0;
    const ref = refName(schema);
    if (ref !== undefined) return typeOf(ref);
    if (schema?.type === "array" && schema.items) return ["a", shapeOf(schema.items)];
    if (schema?.type === "object" && schema.additionalProperties) {
      const value = shapeOf(schema.additionalProperties);
      return value === 0 ? 0 : ["m", value];
    }
    if (schema?.type === "object" && schema.properties) throw new Error("inline object schema");
    return 0; // scalars, int-or-string, and objects without properties (raw JSON in Go)
  };
  const typeOf = (name: string): Shape => {
    const schema = all[name];
    if (!schema) throw new Error(`no schema ${name}`);
    if (schema["x-kubernetes-preserve-unknown-fields"] === true) return 0;
    if (!schema.properties) return shapeOf(schema);
    if (!(name in types)) {
      const fields: Record<string, Shape> = {};
      types[name] = fields;
      for (const field of Object.keys(schema.properties).sort()) {
        fields[field] = shapeOf(schema.properties[field]);
      }
    }
    return name;
  };
  return typeOf;
}

const check = Deno.args.includes("--check");
const version = await kubeVersion();
const dir = Deno.args.find((a) => a !== "--check") ??
  `${await goModCache()}/k8s.io/kubernetes@${version}/api/openapi-spec/v3`;
try {
  await Deno.stat(dir);
} catch {
  console.error(`${dir}: absent (scripts/install_kube.sh downloads k8s.io/kubernetes@${version})`);
  Deno.exit(2);
}
const types: Record<string, Record<string, Shape>> = {};
const roots: Record<string, string> = {};
for (const [key, { file, schema }] of Object.entries(ROOTS)) {
  const doc = JSON.parse(await Deno.readTextFile(`${dir}/${file}`));
  const shape = record(doc.components.schemas, types)(schema);
  if (typeof shape !== "string") throw new Error(`${schema}: not a typed object`);
  roots[key] = shape;
}
const sortedTypes: Record<string, Record<string, Shape>> = {};
for (const name of Object.keys(types).sort()) sortedTypes[name] = types[name]!;
const out = {
  source: `k8s.io/kubernetes@${version} api/openapi-spec/v3 (${
    [...new Set(Object.values(ROOTS).map((r) => r.file))].join(", ")
  }), recorded by scripts/record_kubernetes_fields.ts`,
  shapes: '0: any value; "Type": typed object; ["a", s]: array of s; ["m", s]: map to s',
  roots,
  types: sortedTypes,
};
const target = new URL("../deploy/kubernetes_fields.json", import.meta.url);
const text = JSON.stringify(out, null, 2) + "\n";
if (check) {
  if (await Deno.readTextFile(target) !== text) {
    console.error("deploy/kubernetes_fields.json differs from " + out.source);
    Deno.exit(1);
  }
  console.log(
    `deploy/kubernetes_fields.json is current (${Object.keys(sortedTypes).length} types)`,
  );
} else {
  await Deno.writeTextFile(target, text);
  console.log(`deploy/kubernetes_fields.json: ${Object.keys(sortedTypes).length} types`);
}
