/**
 * The pods of `contrast generate` output as a local run starts them: for every pod template with
 * an initdata annotation, its initdata digest (what the Kata runtime makes the VM's HOST_DATA) and
 * the literal environment of its injected initializer (what the runtime hands the initializer
 * process, and what the pod's policy pins).
 *
 * @module
 */
import { parseAllDocuments } from "yaml";
import { encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { ParseError } from "../../util/errors/mod.ts";
import { decodeInitdataAnnotation, INITDATA_ANNOTATION } from "../../policy/initdata.ts";
import { INITIALIZER_NAME, MESH_SIDECAR_NAME } from "../../deploy/annotations.ts";

/** One generated pod. */
export interface GeneratedPod {
  /** `file: Kind/name` of the resource. */
  readonly source: string;
  /** The resource name. */
  readonly name: string;
  /** Lower-case hex SHA-256 of the initdata document. */
  readonly digest: string;
  /** The exact initdata TOML bytes. */
  readonly initdata: Uint8Array;
  /** Literal `env` of the injected initializer; undefined when the pod has no initializer. */
  readonly initializerEnv?: Readonly<Record<string, string>>;
  /** Literal `env` of the injected mesh sidecar; undefined when the pod has none. */
  readonly meshProxyEnv?: Readonly<Record<string, string>>;
}

type Json = Record<string, unknown>;

function asObject(value: unknown): Json | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Json
    : undefined;
}

/** The pod templates (metadata + spec) of a resource: itself for a Pod, else its template(s). */
function podTemplates(resource: Json): { meta: Json; spec: Json }[] {
  if (resource.kind === "Pod") {
    return [{ meta: asObject(resource.metadata) ?? {}, spec: asObject(resource.spec) ?? {} }];
  }
  const spec = asObject(resource.spec);
  const template = asObject(spec?.template) ??
    asObject(asObject(asObject(spec?.jobTemplate)?.spec)?.template);
  if (!template) return [];
  return [{ meta: asObject(template.metadata) ?? {}, spec: asObject(template.spec) ?? {} }];
}

function initContainerEnv(spec: Json, name: string): Record<string, string> | undefined {
  const init = Array.isArray(spec.initContainers) ? spec.initContainers : [];
  const container = init.map(asObject).find((c) => c?.name === name);
  if (!container) return undefined;
  const env: Record<string, string> = {};
  for (const entry of Array.isArray(container.env) ? container.env : []) {
    const e = asObject(entry);
    if (typeof e?.name === "string" && typeof e.value === "string") env[e.name] = e.value;
  }
  return env;
}

/**
 * Every pod with an initdata annotation in the YAML files at `paths`, in file and document order.
 *
 * @throws {ParseError} naming the file and document when the YAML or an annotation is malformed
 */
export async function readGeneratedPods(paths: readonly string[]): Promise<GeneratedPod[]> {
  const pods: GeneratedPod[] = [];
  for (const path of paths) {
    const docs = parseAllDocuments(await Deno.readTextFile(path), { version: "1.1" });
    for (const [i, doc] of (Array.isArray(docs) ? docs : [docs]).entries()) {
      if (doc.errors.length > 0) {
        throw new ParseError(`${path}[${i}]`, `not valid YAML: ${doc.errors[0]!.message}`);
      }
      const resource = asObject(doc.toJS());
      if (!resource) continue;
      const name = String(asObject(resource.metadata)?.name ?? "?");
      const source = `${path}: ${String(resource.kind ?? "?")}/${name}`;
      for (const { meta, spec } of podTemplates(resource)) {
        const annotation = asObject(meta.annotations)?.[INITDATA_ANNOTATION];
        if (typeof annotation !== "string") continue;
        const { bytes } = await decodeInitdataAnnotation(annotation, `${source}.annotations`);
        const env = initContainerEnv(spec, INITIALIZER_NAME);
        const meshEnv = initContainerEnv(spec, MESH_SIDECAR_NAME);
        pods.push({
          source,
          name,
          digest: encodeHex(await sha256(bytes)),
          initdata: bytes,
          ...(env ? { initializerEnv: env } : {}),
          ...(meshEnv ? { meshProxyEnv: meshEnv } : {}),
        });
      }
    }
  }
  return pods;
}
