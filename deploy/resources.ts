/**
 * Finds the Kubernetes resources in parsed YAML, where each workload kind keeps its pod template,
 * and the ConfigMaps and Secrets env references read. Lists are read as kubectl reads them: a
 * document with an `items` field is a list whose items kubectl applies one by one (`List` and typed
 * lists such as `PodList`, `DeploymentList`, whose items without kind and apiVersion get the
 * list's item kind and apiVersion); a list inside a list is refused, as kubectl refuses it.
 *
 * @module
 */
import { resolvedValue } from "../util/yaml/plain_tree.ts";
import { type Document, isAlias, isMap, isScalar, isSeq, type YAMLMap, type YAMLSeq } from "yaml";
import { decodeBase64 } from "../util/bytes/mod.ts";
import { InvalidDocumentError, ParseError } from "../util/errors/mod.ts";
import type { ConfigSource } from "../policy/env.ts";
import { WORKLOAD_KINDS, type WorkloadKind } from "../policy/policy_data.ts";
import type { InputFile } from "./documents.ts";

/** One resource found in the input. */
export interface ResourceRef {
  readonly file: InputFile;
  /** Index of the YAML document in the file. */
  readonly docIndex: number;
  /** The resource's map node (edited in place). */
  readonly node: YAMLMap;
  /** Where it is, for messages: `app.yml[2]` or `app.yml[0].items[3]`. */
  readonly location: string;
  readonly apiVersion: string;
  readonly kind: string;
  /** `metadata.name`, or for a Pod with only `metadata.generateName`, that prefix. */
  readonly name: string;
  /** True when `name` is a `generateName` prefix (the API server appends 5 characters). */
  readonly generateName?: boolean;
  readonly namespace: string;
}

/** Path (keys) of the pod template metadata and spec inside a workload resource. */
export function podTemplatePaths(kind: WorkloadKind): { meta: string[]; spec: string[] } {
  switch (kind) {
    case "Pod":
      return { meta: ["metadata"], spec: ["spec"] };
    case "CronJob":
      return {
        meta: ["spec", "jobTemplate", "spec", "template", "metadata"],
        spec: ["spec", "jobTemplate", "spec", "template", "spec"],
      };
    default:
      return { meta: ["spec", "template", "metadata"], spec: ["spec", "template", "spec"] };
  }
}

/** Whether `kind` carries a pod. */
export function isWorkloadKind(kind: string): kind is WorkloadKind {
  return (WORKLOAD_KINDS as readonly string[]).includes(kind);
}

/** The namespace of resources that name none, unless `generate --namespace` says otherwise. */
export const DEFAULT_NAMESPACE = "default";

/**
 * Parses a namespace name (a DNS-1123 label: at most 63 lower-case alphanumerics or `-`, starting
 * and ending alphanumeric), as the API server requires.
 *
 * @throws {ParseError} naming `field`
 */
export function parseNamespace(value: string, field: string): string {
  if (value.length > 63 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value)) {
    throw new ParseError(
      field,
      `must be a Kubernetes namespace name (DNS-1123 label, at most 63 characters), got ${
        JSON.stringify(value)
      }`,
    );
  }
  return value;
}

/**
 * Every resource of every document, in input order. A resource without `metadata.namespace` gets
 * `defaultNamespace` (the namespace it will be applied in, as `kubectl apply -n`).
 *
 * @throws {InvalidDocumentError} for a document that is not a map or lacks kind/apiVersion/name
 */
export function collectResources(
  files: readonly InputFile[],
  defaultNamespace: string = DEFAULT_NAMESPACE,
): ResourceRef[] {
  const out: ResourceRef[] = [];
  const issues: { path: string; reason: string }[] = [];
  for (const file of files) {
    file.docs.forEach((doc, docIndex) => {
      const contents = doc.contents;
      if (contents === null || contents === undefined) return;
      const base = `${file.path}[${docIndex}]`;
      if (!isMap(contents)) {
        issues.push({ path: base, reason: "a Kubernetes resource must be a map" });
        return;
      }
      /**
       * One object, or a list's items. `inherited` is given for the items of a document that is
       * a list: kubectl's decoder gives an item without kind and apiVersion the list's (`PodList`
       * items become `Pod`s).
       */
      const add = (
        node: YAMLMap,
        location: string,
        inherited?: { kind: string; apiVersion: string },
      ) => {
        let kind = node.get("kind");
        let apiVersion = node.get("apiVersion");
        if (inherited !== undefined && !nonEmpty(kind) && !nonEmpty(apiVersion)) {
          ({ kind, apiVersion } = inherited);
        }
        const metaNode = node.get("metadata");
        const meta = isMap(metaNode) ? metadataOf(metaNode, doc) : undefined;
        const givenName = meta?.name;
        const prefix = meta?.generateName;
        // A Pod may carry only generateName; controllers need a name to derive pod names from.
        const generated = (givenName === undefined || givenName === "") && kind === "Pod" &&
          typeof prefix === "string" && prefix !== "";
        const name = generated ? prefix : givenName;
        const namespace = meta?.namespace;
        const items = node.get("items", true);
        if (node !== contents && node.has("items")) {
          // kubectl v1.37 refuses a list inside a list ("*unstructured.Unstructured is not a
          // list") and an object with an items field in a list (an unknown field).
          issues.push({
            path: `${location}: items`,
            reason: "a list inside a list, which kubectl refuses; give its items in the outer list",
          });
          return;
        }
        if (!nonEmpty(kind)) {
          issues.push({ path: `${location}: kind`, reason: "missing" });
          return;
        }
        if (!nonEmpty(apiVersion)) {
          issues.push({ path: `${location}: apiVersion`, reason: "missing" });
          return;
        }
        if (node === contents && node.has("items")) {
          // kubectl's decoder reads every document with an `items` field as a list and applies
          // its items, not the document; it maps `List` and `<Kind>List` kinds.
          if (!kind.endsWith("List")) {
            issues.push({
              path: `${location}: items`,
              reason: `kubectl applies the items of a document with an items field, not the ` +
                `${kind} itself; use kind List (or ${kind}List) for a list`,
            });
            return;
          }
          if (items !== null && items !== undefined && !isScalarNull(items) && !isSeq(items)) {
            issues.push({ path: `${location}: items`, reason: "must be a list" });
            return;
          }
          if (isSeq(items)) addItems(items, location, { kind: kind.slice(0, -4), apiVersion });
          return;
        }
        if (typeof name !== "string" || name === "") {
          issues.push({
            path: `${location}: metadata.name`,
            reason: kind === "Pod" ? "missing (and no metadata.generateName)" : "missing",
          });
          return;
        }
        out.push({
          file,
          docIndex,
          node,
          location,
          apiVersion,
          kind,
          name,
          ...(generated ? { generateName: true } : {}),
          namespace: typeof namespace === "string" && namespace !== ""
            ? namespace
            : defaultNamespace,
        });
      };
      const addItems = (
        items: YAMLSeq,
        location: string,
        inherited: { kind: string; apiVersion: string },
      ) => {
        items.items.forEach((item, i) => {
          if (!isMap(item)) {
            issues.push({ path: `${location}.items[${i}]`, reason: "must be a map" });
          } else add(item, `${location}.items[${i}]`, inherited);
        });
      };
      add(contents, base);
    });
  }
  if (issues.length > 0) throw new InvalidDocumentError(issues);
  return out;
}

/**
 * The name, generateName and namespace of a `metadata` map as the API server gets them: read from
 * the nodes when they are plain, else with aliases and merge keys resolved (`namespace: *ns`,
 * `<<: {namespace: prod}`), so the namespace the policy binds the pod to is the one it runs in.
 */
function metadataOf(
  meta: YAMLMap,
  doc: Document,
): { name?: unknown; generateName?: unknown; namespace?: unknown } {
  const fields = {
    name: meta.get("name"),
    generateName: meta.get("generateName"),
    namespace: meta.get("namespace"),
  };
  const plain = !isAlias(fields.name) && !isAlias(fields.generateName) &&
    !isAlias(fields.namespace) &&
    !meta.items.some((p) => isScalar(p.key) && typeof p.key.value === "symbol");
  if (plain) return fields;
  const resolved = resolvedValue(meta, doc) as Record<string, unknown> | null;
  return {
    name: resolved?.name,
    generateName: resolved?.generateName,
    namespace: resolved?.namespace,
  };
}

function nonEmpty(value: unknown): value is string {
  return typeof value === "string" && value !== "";
}

/** Whether `node` is a YAML null scalar (`items:` or `items: null`). */
function isScalarNull(node: unknown): boolean {
  return isScalar(node) && node.value === null;
}

/**
 * The resource as plain JavaScript, aliases and merge keys resolved (`resolvedValue` of
 * `util/yaml/plain_tree.ts`, the reader of every check).
 */
export function toPlain(r: ResourceRef): Record<string, unknown> {
  return resolvedValue(r.node, r.file.docs[r.docIndex]!) as Record<string, unknown>;
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) out[k] = v === null ? "" : String(v);
  }
  return out;
}

/**
 * ConfigMap and Secret data of the input, for env resolution. Secret `data` is base64-decoded
 * (and must be UTF-8 text to be used in env); `stringData` wins over `data`.
 *
 * @throws {InvalidDocumentError} for malformed Secret data
 */
export function configSourceOf(resources: readonly ResourceRef[]): ConfigSource {
  const configMaps = new Map<string, Record<string, string>>();
  const secrets = new Map<string, Record<string, string>>();
  const issues: { path: string; reason: string }[] = [];
  for (const r of resources) {
    const key = `${r.namespace}/${r.name}`;
    if (r.kind === "ConfigMap") {
      configMaps.set(key, stringMap((toPlain(r) as { data?: unknown }).data));
    } else if (r.kind === "Secret") {
      const js = toPlain(r) as {
        data?: Record<string, string>;
        stringData?: Record<string, string>;
      };
      const data: Record<string, string> = {};
      for (const [k, v] of Object.entries(js.data ?? {})) {
        try {
          data[k] = new TextDecoder("utf-8", { fatal: true }).decode(
            decodeBase64(String(v).replace(/\s+/g, ""), k),
          );
        } catch {
          issues.push({ path: `${r.location}: data.${k}`, reason: "not base64 of UTF-8 text" });
        }
      }
      Object.assign(data, stringMap(js.stringData));
      secrets.set(key, data);
    }
  }
  if (issues.length > 0) throw new InvalidDocumentError(issues);
  return {
    configMap: (ns, name) => configMaps.get(`${ns}/${name}`),
    secret: (ns, name) => secrets.get(`${ns}/${name}`),
  };
}
