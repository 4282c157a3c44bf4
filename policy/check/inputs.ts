/**
 * Reading what `contrast policy check` and `explain` are pointed at: Kubernetes YAML (files or
 * directories, multi-document, `List`), or a policy on its own (an initdata TOML file, a policy
 * text, or an annotation value). Policies are read from pod annotations with the `policy/` codecs
 * (initdata or the legacy form) and split into rules and `policy_data`.
 *
 * @module
 */
import { plainYamlValue } from "../../util/yaml/plain_value.ts";
import { goYamlTags } from "../../util/yaml/go_yaml_schema.ts";
import { kubectlDisagreements } from "../../util/yaml/kubectl_agreement.ts";
import { separatorBoms } from "../../util/yaml/separator_boms.ts";
import { parseAllDocuments } from "yaml";
import { decodeBase64, encodeHex } from "../../util/bytes/mod.ts";
import { ParseError, UnavailableError } from "../../util/errors/mod.ts";
import {
  decodeInitdataAnnotation,
  type Initdata,
  parseInitdata,
  POLICY_KEY,
  readAnnotatedPolicy,
  splitPolicyText,
} from "../initdata.ts";
import { sha256 } from "../../util/bytes/mod.ts";
import { yamlFilesInDirectory } from "../../util/files/mod.ts";
import { type ClusterObjects, type PodWorkload, readClusterObjects, readWorkload } from "./pod.ts";

/** A policy split into its parts, with the digest the TEE measures. */
export interface PolicyDocument {
  /** Which form carried it. */
  readonly form: "initdata" | "legacy" | "policy-text";
  /** The rules text, verbatim (everything before `policy_data := `). */
  readonly rules: string;
  /** The parsed `policy_data`. */
  readonly policyData: unknown;
  /** Hex digest (initdata digest, or SHA-256 of the legacy/policy text). */
  readonly digest: string;
  /**
   * Keys of the initdata's `[data]` table besides `policy.rego` (e.g. `aa.toml`, `cdh.toml`, which
   * the Kata agent hands to the guest's attestation agent and confidential data hub); empty for
   * the other forms. A policy check does not pass a pod whose initdata holds any.
   */
  readonly otherInitdataKeys: readonly string[];
}

/** The keys of an initdata `[data]` table other than the policy's. */
function otherInitdataKeys(data: Readonly<Record<string, string>>): string[] {
  return Object.keys(data).filter((k) => k !== POLICY_KEY).sort();
}

/** A pod workload with the policy its annotations carry (undefined: none). */
interface PolicedWorkload {
  readonly workload: PodWorkload;
  readonly policy?: PolicyDocument;
}

/** Everything read from the paths given on the command line. */
export interface CheckInputs {
  /** Workloads that are confidential (runtime class `contrast-cc…`). */
  readonly workloads: readonly PolicedWorkload[];
  readonly cluster: ClusterObjects;
  /** Policies given on their own (no pod spec), by file name. */
  readonly standalone: readonly { readonly file: string; readonly policy: PolicyDocument }[];
}

/** Runtime class prefix of confidential pods. */
const CONFIDENTIAL_RUNTIME_PREFIX = "contrast-cc";

const YAML_EXTENSIONS = [".yml", ".yaml"];

async function listFiles(path: string): Promise<string[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    throw new UnavailableError(path, `cannot read: ${(error as Error).message}`);
  }
  // A directory as generate and kubectl read it (symbolic links to files followed).
  return info.isDirectory ? await yamlFilesInDirectory(path) : [path];
}

/**
 * Parses YAML text (YAML 1.1, as Kubernetes reads it) into plain documents; the items of `List`s
 * and typed lists (`PodList`, `DeploymentList`…) are expanded. Each document is returned with its origin `file#index`.
 *
 * @throws {ParseError} naming file and document on a syntax error, or naming the field kubectl
 *   would read differently (`util/yaml/kubectl_agreement.ts`)
 */
export function parseYamlDocuments(
  fileText: string,
  file: string,
): { origin: string; value: unknown }[] {
  const out: { origin: string; value: unknown }[] = [];
  // Read as kubectl (go-yaml v2) reads it, as generate does; what kubectl would read otherwise
  // is refused.
  const boms = separatorBoms(file, fileText);
  if (boms.issues.length > 0) throw new ParseError(boms.issues[0]!.path, boms.issues[0]!.reason);
  const text = boms.text;
  const parsed = parseAllDocuments(text, { version: "1.1", customTags: goYamlTags });
  if (!Array.isArray(parsed)) throw new ParseError(file, "not a YAML stream");
  const disagreement = parsed.every((doc) => doc.errors.length === 0)
    ? kubectlDisagreements(file, text, parsed)[0]
    : undefined;
  if (disagreement !== undefined) throw new ParseError(disagreement.path, disagreement.reason);
  parsed.forEach((doc, i) => {
    if (doc.errors.length > 0) {
      throw new ParseError(`${file}#${i}`, `not valid YAML: ${doc.errors[0].message}`);
    }
    const value = plainYamlValue(doc, `${file}#${i}`);
    if (value === null || value === undefined) return;
    const { kind, apiVersion, items } = value as Record<string, unknown>;
    if (typeof kind === "string" && kind.endsWith("List") && Array.isArray(items)) {
      // As kubectl applies a list: each item, one without kind and apiVersion as the list's
      // item kind (`PodList` → `Pod`) in the list's apiVersion.
      items.forEach((item, j) =>
        out.push({
          origin: `${file}#${i}.items[${j}]`,
          value: withListKind(item, kind.slice(0, -"List".length), apiVersion),
        })
      );
    } else {
      out.push({ origin: `${file}#${i}`, value });
    }
  });
  return out;
}

/** `item` of a list of `itemKind`s, with the kind and apiVersion kubectl's decoder gives it. */
function withListKind(item: unknown, itemKind: string, apiVersion: unknown): unknown {
  if (typeof item !== "object" || item === null || Array.isArray(item)) return item;
  const own = item as Record<string, unknown>;
  const given = (v: unknown) => typeof v === "string" && v !== "";
  if (given(own.kind) || given(own.apiVersion)) return item;
  return { ...own, apiVersion, kind: itemKind };
}

async function policyDocument(
  annotations: Readonly<Record<string, string>>,
): Promise<PolicyDocument | undefined> {
  const annotated = await readAnnotatedPolicy(annotations);
  if (annotated === undefined) return undefined;
  const { rules, policyData } = splitPolicyText(annotated.policy);
  return {
    form: annotated.form,
    rules,
    policyData,
    digest: encodeHex(annotated.digest),
    otherInitdataKeys: annotated.initdata ? otherInitdataKeys(annotated.initdata.data) : [],
  };
}

/** The policy document of parsed initdata read from `file`; a ParseError when it holds no policy. */
function initdataPolicy(initdata: Initdata, file: string): PolicyDocument {
  const policy = initdata.data[POLICY_KEY];
  if (policy === undefined) throw new ParseError(`${file}.data["${POLICY_KEY}"]`, "no policy");
  const { rules, policyData } = splitPolicyText(policy);
  return {
    form: "initdata",
    rules,
    policyData,
    digest: encodeHex(initdata.digest),
    otherInitdataKeys: otherInitdataKeys(initdata.data),
  };
}

/** The policy document of a policy text `text` (no initdata), its digest the SHA-256 of `bytes`. */
async function plainPolicy(
  form: "policy-text" | "legacy",
  text: string,
  bytes: Uint8Array,
): Promise<PolicyDocument> {
  const { rules, policyData } = splitPolicyText(text);
  return { form, rules, policyData, digest: encodeHex(await sha256(bytes)), otherInitdataKeys: [] };
}

/**
 * Reads a policy given on its own: initdata TOML, a policy text (rules + `policy_data := …`), or
 * an annotation value (base64 of gzipped initdata, or legacy base64 policy text).
 *
 * @throws {ParseError} naming the file when none of the forms parse
 */
export async function readStandalonePolicy(
  bytes: Uint8Array,
  file: string,
): Promise<PolicyDocument> {
  const text = new TextDecoder().decode(bytes);
  if (/^\s*version\s*=/m.test(text) && text.includes("[data]")) {
    return initdataPolicy(await parseInitdata(bytes, file), file);
  }
  if (text.includes("package agent_policy")) {
    return await plainPolicy("policy-text", text, bytes);
  }
  const value = text.trim();
  try {
    return initdataPolicy(await decodeInitdataAnnotation(value, file), file);
  } catch (error) {
    const raw = (() => {
      try {
        return decodeBase64(value, file);
      } catch {
        return undefined;
      }
    })();
    const decoded = raw ? new TextDecoder().decode(raw) : "";
    if (raw && decoded.includes("package agent_policy")) {
      return await plainPolicy("legacy", decoded, raw);
    }
    // Only an annotation value that really is gzip data keeps the gzip/initdata error: anything
    // else (plain text that happens to decode as base64 included) is none of the forms.
    const gzipped = raw !== undefined && raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b;
    if (error instanceof ParseError && !gzipped) {
      throw new ParseError(
        file,
        "neither Kubernetes YAML, initdata TOML, a policy text, nor an annotation value",
      );
    }
    throw error;
  }
}

/**
 * Reads every path: YAML files (and directories of them) become workloads with their policies
 * and the ConfigMaps/Secrets/Services they refer to; other files are read as standalone policies.
 *
 * Resources without `metadata.namespace` are in `defaultNamespace` (`--namespace` of generate).
 *
 * @throws {ParseError} naming file, document and field for malformed input
 * @throws {UnavailableError} for a path that cannot be read
 */
export async function readCheckInputs(
  paths: readonly string[],
  defaultNamespace = "default",
): Promise<CheckInputs> {
  const docs: { origin: string; value: unknown }[] = [];
  const standalone: { file: string; policy: PolicyDocument }[] = [];
  for (const path of paths) {
    for (const file of await listFiles(path)) {
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(file);
      } catch (error) {
        throw new UnavailableError(file, `cannot read: ${(error as Error).message}`);
      }
      if (YAML_EXTENSIONS.some((x) => file.endsWith(x))) {
        docs.push(...parseYamlDocuments(new TextDecoder().decode(bytes), file));
      } else {
        standalone.push({ file, policy: await readStandalonePolicy(bytes, file) });
      }
    }
  }
  const cluster = readClusterObjects(docs.map((d) => d.value), defaultNamespace);
  const workloads: PolicedWorkload[] = [];
  for (const doc of docs) {
    let workload: PodWorkload | undefined;
    try {
      workload = readWorkload(doc.value, doc.origin, defaultNamespace);
    } catch (error) {
      if (error instanceof ParseError) {
        throw new ParseError(`${doc.origin}: ${error.field}`, error.reason, { cause: error });
      }
      throw error;
    }
    if (!workload || !workload.spec.runtimeClassName.startsWith(CONFIDENTIAL_RUNTIME_PREFIX)) {
      continue;
    }
    let policy: PolicyDocument | undefined;
    try {
      policy = await policyDocument(workload.annotations);
    } catch (error) {
      if (error instanceof ParseError) {
        throw new ParseError(
          `${doc.origin}: ${workload.templatePath}.metadata.${error.field}`,
          error.reason,
          { cause: error },
        );
      }
      throw error;
    }
    workloads.push({ workload, ...(policy ? { policy } : {}) });
  }
  return { workloads, cluster, standalone };
}
