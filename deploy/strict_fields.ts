/**
 * Refuses what the Kubernetes API server's strict field validation (`kubectl apply`'s default
 * `--validate=strict`) refuses in pod-bearing workloads: a field that the object's type does not
 * have, such as a misspelt `runtimeClasName`, which would otherwise leave a pod silently without
 * contrast's runtime class. Only typed objects are checked, as the API server decodes them: the
 * keys of maps (labels, annotations, nodeSelector, resource limits) and values the API keeps as
 * raw JSON are free; field names are case-sensitive. The field names come from the API server's
 * OpenAPI v3 documents at the Kubernetes version the project pins (`deploy/kubernetes_fields.json`,
 * recorded by `scripts/record_kubernetes_fields.ts`), loaded only when the input has a workload.
 * Workloads of other API versions than the table names (`v1`, `apps/v1`, `batch/v1`) are not
 * checked.
 *
 * @module
 */
import type { FieldIssue } from "../util/errors/mod.ts";
import { isWorkloadKind, type ResourceRef, toPlain } from "./resources.ts";

/** How a value is checked: 0 any value; a type name: a typed object; arrays and maps of shapes. */
type Shape = 0 | string | readonly ["a", Shape] | readonly ["m", Shape];

/** The recorded field table (`deploy/kubernetes_fields.json`). */
interface KubernetesFields {
  /** Type of each `apiVersion/kind`. */
  readonly roots: Readonly<Record<string, string>>;
  /** The fields of each typed object, with the shape of their values. */
  readonly types: Readonly<Record<string, Readonly<Record<string, Shape>>>>;
}

/** Loads the recorded field table (a 45 kB JSON module, imported on first use). */
export async function loadKubernetesFields(): Promise<KubernetesFields> {
  const module = await import("./kubernetes_fields.json", { with: { type: "json" } });
  return module.default as unknown as KubernetesFields;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The paths (`spec.template.spec.runtimeClasName`, `spec.containers[0].odd key`: written as the
 * API server writes them) of every field of `object` that its type does not have, for an `apiVersion/kind` the table names; `undefined` when it names none (unchecked).
 * Values of the wrong type are not this check's business and are skipped.
 */
export function unknownFieldPaths(
  fields: KubernetesFields,
  apiVersion: string,
  kind: string,
  object: Record<string, unknown>,
): string[] | undefined {
  const root = fields.roots[`${apiVersion}/${kind}`];
  if (root === undefined) return undefined;
  const found: string[] = [];
  // The path of the value visited: a field name, an array index, or a map key (in a one-element
  // array); written out only for a field that is reported (a 1,000-pod generate built a path
  // string for every field it visited).
  const segments: (string | number | [string])[] = [];
  const report = (name: string) => {
    const path = segments.map((s) =>
      typeof s === "string"
        ? `.${s}`
        : typeof s === "number"
        ? `[${s}]`
        : `[${JSON.stringify(s[0])}]`
    );
    found.push(`${path.join("")}.${name}`);
  };
  const visit = (value: unknown, shape: Shape): void => {
    if (shape === 0 || value === null || value === undefined) return;
    if (typeof shape === "string") {
      if (!isObject(value)) return;
      const known = fields.types[shape]!;
      for (const name in value) {
        if (!Object.hasOwn(value, name)) continue;
        const childShape = Object.hasOwn(known, name) ? known[name] : undefined;
        if (childShape === undefined) report(name);
        else if (childShape !== 0) {
          segments.push(name);
          visit(value[name], childShape);
          segments.pop();
        }
      }
    } else if (shape[0] === "a") {
      if (!Array.isArray(value)) return;
      for (let i = 0; i < value.length; i++) {
        segments.push(i);
        visit(value[i], shape[1]);
        segments.pop();
      }
    } else if (isObject(value)) {
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        segments.push([key]);
        visit(value[key], shape[1]);
        segments.pop();
      }
    }
  };
  visit(object, root);
  return found.map((p) => p.replace(/^\./, ""));
}

/**
 * An `unknown field` issue (file, document, path) for every field strict validation would refuse
 * in the pod-bearing workloads of `resources`; loads the field table only when there is one.
 */
export async function unknownFieldIssues(
  resources: readonly ResourceRef[],
): Promise<FieldIssue[]> {
  const workloads = resources.filter((r) => isWorkloadKind(r.kind));
  if (workloads.length === 0) return [];
  const fields = await loadKubernetesFields();
  const issues: FieldIssue[] = [];
  for (const r of workloads) {
    const paths = unknownFieldPaths(fields, r.apiVersion, r.kind, toPlain(r)) ?? [];
    for (const path of paths) {
      issues.push({
        path: `${r.location}: ${path}`,
        reason: "unknown field (kubectl's strict field validation refuses it too)",
      });
    }
  }
  return issues;
}
