/**
 * The core of `contrast generate`, free of file output: takes parsed YAML, makes every
 * `contrast-cc*` workload confidential (injections, pinned images, per-pod policy in initdata)
 * and returns the edited files and the manifest. Every injected initializer carries the
 * Coordinator's policy digest and the manifest's reference values (`CONTRAST_COORDINATOR_TRUST`,
 * see `atls/coordinator_trust.ts`), which its pod's policy pins; without a Coordinator in the
 * input there is nothing to pin and the initializers will refuse to start. Deterministic: the same input gives the same
 * bytes. All problems are collected and reported together, naming file, document, path and
 * reason; on any problem nothing is returned for writing.
 *
 * @module
 */
import { checkSecurePv, injectSecurePv, parseSecurePv, type SecurePv } from "./secure_pv.ts";
import { isMap, type YAMLMap } from "yaml";
import { InvalidDocumentError, NotFoundError, UnavailableError } from "../util/errors/mod.ts";
import { ContrastError } from "../util/errors/mod.ts";
import type { FieldIssue } from "../util/errors/mod.ts";
import type { ImageResolver, ResolvedImage } from "../oci/types.ts";
import {
  digestHex,
  encodeInitdataAnnotation,
  initdataDigestSync,
  policyInitdataEncoder,
  renderPolicyText,
} from "../policy/initdata.ts";
import { assertWithinAgentLimits } from "../policy/agent_limits.ts";
import { buildPolicyData } from "../policy/policy_data.ts";
import { encodeCoordinatorTrust } from "../atls/coordinator_trust.ts";
import type { PolicyData } from "../policy/policy_data_types.ts";
import type { ManifestReferenceValues } from "../policy/reference_values.ts";
import type { Settings } from "../policy/settings.ts";
import {
  POD_ROLE_ANNOTATION,
  SECURE_PV_ANNOTATION,
  SECURE_PV_DEVICE_PATH,
  SECURE_PV_NAME,
  SKIP_INITIALIZER_ANNOTATION,
  WORKLOAD_SECRET_ID_ANNOTATION,
} from "./annotations.ts";
import { type InputFile, stringifyOptionsFor } from "./documents.ts";
import { meshAnnotationIssues, podTcpPorts } from "./mesh.ts";
import {
  containerEntries,
  expandContainerAliases,
  injectIntoPodSpec,
  meshConfigOf,
  pinImages,
  setInitdataAnnotation,
} from "./inject.ts";
import {
  collectResources,
  configSourceOf,
  isWorkloadKind,
  podTemplatePaths,
  type ResourceRef,
  toPlain,
} from "./resources.ts";

/** Options of {@link generate}. */
export interface GenerateOptions {
  readonly settings: Settings;
  readonly resolver: ImageResolver;
  /** The rules text (`rego/rules.rego` or `--policy`). */
  readonly rules: string;
  readonly referenceValues: ManifestReferenceValues;
  /** Hex PKIX DER ECDSA keys (empty with `--disable-updates`). */
  readonly workloadOwnerKeys: readonly string[];
  /** Hex PKIX DER RSA keys. */
  readonly seedshareOwnerKeys: readonly string[];
  readonly skipInitializer?: boolean;
  readonly skipServiceMesh?: boolean;
}

/** One manifest `Policies` entry. */
export interface ManifestPolicy {
  readonly SANs: readonly string[];
  readonly WorkloadSecretID: string;
  readonly Role: "" | "coordinator";
}

/** The manifest contrast writes (Contrast's field names). */
export interface ManifestDocument {
  readonly Policies: Readonly<Record<string, ManifestPolicy>>;
  readonly ReferenceValues: ManifestReferenceValues;
  readonly WorkloadOwnerPubKeys: readonly string[];
  readonly SeedshareOwnerPubKeys: readonly string[];
}

/** A generated pod policy. */
export interface GeneratedPolicy {
  /** `file[doc]` of the workload. */
  readonly location: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** Lower-case hex digest of the initdata document. */
  readonly digest: string;
  /** The exact initdata TOML bytes. */
  readonly initdata: Uint8Array;
  readonly policyData: PolicyData;
}

/** Output of {@link generate}. */
export interface GenerateResult {
  /** Every input file with its new text (`changed` false: text is the original). */
  readonly files: readonly { path: string; text: string; changed: boolean }[];
  readonly manifest: ManifestDocument;
  /** manifest.json text (pretty JSON, newline-terminated). */
  readonly manifestText: string;
  readonly policies: readonly GeneratedPolicy[];
}

interface Workload {
  readonly ref: ResourceRef;
  readonly kind: ReturnType<typeof podTemplateKind>;
  readonly spec: YAMLMap;
  readonly meta: YAMLMap | undefined;
  /** Resource and pod-template annotations merged (the template's win). */
  readonly annotations: Record<string, unknown>;
  /** Keys that come from the pod template's annotations. */
  readonly templateAnnotationKeys: ReadonlySet<string>;
  readonly specPath: string;
  readonly metaPath: string;
}

function podTemplateKind(kind: string) {
  return isWorkloadKind(kind) ? kind : undefined;
}

function getIn(node: YAMLMap, path: readonly string[]): unknown {
  return node.getIn(path, true);
}

function annotationsAt(node: unknown): Record<string, unknown> {
  if (!isMap(node)) return {};
  const a = node.get("annotations", true);
  return isMap(a) ? (a.toJSON() as Record<string, unknown>) ?? {} : {};
}

/** The default workload secret ID: `<group|core>/<version>/<Kind>/<namespace>/<name>`. */
export function defaultWorkloadSecretId(
  r: { apiVersion: string; kind: string; namespace: string; name: string },
): string {
  const [group, version] = r.apiVersion.includes("/")
    ? r.apiVersion.split("/", 2)
    : ["core", r.apiVersion];
  return `${group}/${version}/${r.kind}/${r.namespace}/${r.name}`;
}

function checkAnnotations(w: Workload, issues: FieldIssue[]): void {
  const at = (key: string) =>
    `${w.ref.location}: ${
      w.templateAnnotationKeys.has(key) ? w.metaPath : "metadata"
    }.annotations["${key}"]`;
  const a = w.annotations;
  const role = a[POD_ROLE_ANNOTATION];
  if (role !== undefined && role !== "coordinator") {
    issues.push({
      path: at(POD_ROLE_ANNOTATION),
      reason: `must be "coordinator", got ${JSON.stringify(role)}`,
    });
  }
  const skip = a[SKIP_INITIALIZER_ANNOTATION];
  if (
    skip !== undefined && skip !== "true" && skip !== "false" && skip !== true && skip !== false
  ) {
    issues.push({
      path: at(SKIP_INITIALIZER_ANNOTATION),
      reason: `must be "true" or "false", got ${JSON.stringify(skip)}`,
    });
  }
  const id = a[WORKLOAD_SECRET_ID_ANNOTATION];
  if (id !== undefined && (typeof id !== "string" || id.trim() === "")) {
    issues.push({ path: at(WORKLOAD_SECRET_ID_ANNOTATION), reason: "must be a non-empty string" });
  }
  issues.push(...meshAnnotationIssues(a, podTcpPorts(w.spec), at));
}

/**
 * Generates confidential YAML and the manifest.
 *
 * @throws {InvalidDocumentError} with every problem (file, document, path, reason)
 * @throws {import("../util/errors/mod.ts").UnavailableError} when an image cannot be fetched
 */
export async function generate(
  files: readonly InputFile[],
  options: GenerateOptions,
): Promise<GenerateResult> {
  const { settings } = options;
  const issues: FieldIssue[] = [];
  const resources = collectResources(files);
  const config = configSourceOf(resources);

  // Confidential workloads.
  const workloads: Workload[] = [];
  const seen = new Map<string, string>();
  for (const ref of resources) {
    const key = `${ref.kind}/${ref.namespace}/${ref.name}`;
    if (seen.has(key)) {
      issues.push({
        path: `${ref.location}: metadata.name`,
        reason: `duplicate ${ref.kind} "${ref.namespace}/${ref.name}" (first at ${seen.get(key)})`,
      });
      continue;
    }
    seen.set(key, ref.location);
    const kind = podTemplateKind(ref.kind);
    if (!kind) continue;
    const paths = podTemplatePaths(kind);
    const spec = getIn(ref.node, paths.spec);
    if (!isMap(spec)) {
      issues.push({ path: `${ref.location}: ${paths.spec.join(".")}`, reason: "missing pod spec" });
      continue;
    }
    const rc = spec.get("runtimeClassName");
    if (typeof rc !== "string" || !rc.startsWith(settings.runtime_class_prefix)) continue;
    const meta = getIn(ref.node, paths.meta);
    workloads.push({
      ref,
      kind,
      spec,
      meta: isMap(meta) ? meta : undefined,
      annotations: { ...annotationsAt(ref.node.get("metadata", true)), ...annotationsAt(meta) },
      templateAnnotationKeys: new Set(kind === "Pod" ? [] : Object.keys(annotationsAt(meta))),
      specPath: paths.spec.join("."),
      metaPath: paths.meta.join("."),
    });
  }
  for (const w of workloads) {
    expandContainerAliases(w.ref.file.docs[w.ref.docIndex]!, w.spec);
    checkAnnotations(w, issues);
  }
  if (issues.length > 0) throw new InvalidDocumentError(issues);

  // Resolve every image once, concurrently.
  const wanted = new Map<string, string>(); // reference -> first location
  const isSkipped = (w: Workload) =>
    options.skipInitializer === true || w.annotations[SKIP_INITIALIZER_ANNOTATION] === "true" ||
    w.annotations[SKIP_INITIALIZER_ANNOTATION] === true ||
    w.annotations[POD_ROLE_ANNOTATION] === "coordinator";
  const hasMesh = (w: Workload) =>
    options.skipServiceMesh !== true && meshConfigOf(w.annotations) !== undefined;
  const securePvs = new Map<Workload, SecurePv>();
  for (const w of workloads) {
    const value = w.annotations[SECURE_PV_ANNOTATION];
    if (value === undefined) continue;
    const pv = parseSecurePv(value);
    const at = `${w.ref.location}: ${
      w.templateAnnotationKeys.has(SECURE_PV_ANNOTATION) ? w.metaPath : "metadata"
    }.annotations["${SECURE_PV_ANNOTATION}"]`;
    if ("error" in pv) {
      issues.push({ path: at, reason: pv.error });
      continue;
    }
    const plainResource = w.ref.node.toJSON() as Record<string, Record<string, unknown>>;
    const templates = w.kind === "StatefulSet"
      ? (plainResource.spec?.volumeClaimTemplates ?? []) as Record<string, unknown>[]
      : [];
    issues.push(
      ...checkSecurePv(
        pv,
        w.spec.toJSON() as Record<string, unknown>,
        templates,
        !isSkipped(w),
        `${w.ref.location}: ${w.specPath}`,
      ),
    );
    securePvs.set(w, pv);
  }
  if (issues.length > 0) throw new InvalidDocumentError(issues);
  for (const w of workloads) {
    for (const { node, path } of containerEntries(w.spec)) {
      const image = node.get("image");
      const at = `${w.ref.location}: ${w.specPath}.${path}.image`;
      if (typeof image !== "string" || image === "") {
        issues.push({ path: at, reason: "missing image" });
      } else if (!wanted.has(image)) wanted.set(image, at);
    }
    if (!isSkipped(w) && !wanted.has(settings.initializer.image)) {
      wanted.set(settings.initializer.image, "settings: initializer.image");
    }
    if (hasMesh(w) && !wanted.has(settings.service_mesh.image)) {
      wanted.set(settings.service_mesh.image, "settings: service_mesh.image");
    }
  }
  if (issues.length > 0) throw new InvalidDocumentError(issues);
  const resolved = new Map<string, ResolvedImage>();
  const results = await Promise.allSettled(
    [...wanted.keys()].map(async (ref) => [ref, await options.resolver.resolve(ref)] as const),
  );
  let unreachable = 0;
  results.forEach((r, i) => {
    const ref = [...wanted.keys()][i]!;
    if (r.status === "fulfilled") resolved.set(ref, r.value[1]);
    else {
      const e = r.reason;
      if (e instanceof UnavailableError && !(e instanceof NotFoundError)) unreachable++;
      issues.push({
        path: wanted.get(ref)!,
        reason: `image "${ref}": ${e instanceof ContrastError ? e.message : String(e)}`,
      });
    }
  });
  if (issues.length > 0 && unreachable === issues.length) {
    // Every failure is a registry or cache that could not be reached: not bad input (exit 3).
    throw new UnavailableError(
      "images",
      issues.map((issue) => `${issue.path}: ${issue.reason}`).join("; "),
    );
  }
  if (issues.length > 0) throw new InvalidDocumentError(issues);
  const byPinned = new Map<string, ResolvedImage>();
  for (const image of resolved.values()) byPinned.set(image.pinned, image);

  // Inject, pin, build policies.
  const changedDocs = new Set<string>();
  const encodeInitdata = policyInitdataEncoder(options.rules);
  const built: (GeneratedPolicy | undefined)[] = workloads.map(() => undefined);
  const manifestPolicies: Record<string, ManifestPolicy> = {};
  const isCoordinator = (w: Workload) => w.annotations[POD_ROLE_ANNOTATION] === "coordinator";
  // The Coordinator's pod has no initializer, so its policy does not depend on the others: build
  // it first, then pin its digest (with the reference values) in every initializer.
  const buildWorkload = async (index: number, coordinatorTrust: string | undefined) => {
    const w = workloads[index]!;
    const doc = w.ref.file.docs[w.ref.docIndex]!;
    const mesh = hasMesh(w) ? meshConfigOf(w.annotations) : undefined;
    const securePv = securePvs.get(w);
    if (securePv) {
      injectSecurePv(doc, w.spec, securePv, resolved.get(settings.initializer.image)!.pinned);
    }
    injectIntoPodSpec(doc, w.spec, {
      settings,
      initializerImage: isSkipped(w) ? undefined : resolved.get(settings.initializer.image)!.pinned,
      meshImage: mesh ? resolved.get(settings.service_mesh.image)!.pinned : undefined,
      meshConfig: mesh ? { ...mesh, podPorts: podTcpPorts(w.spec).join(",") } : {},
      coordinatorTrust,
    });
    pinImages(
      w.spec,
      (image) => resolved.get(image)?.pinned ?? byPinned.get(image)?.pinned ?? image,
    );
    const plain = toPlain(w.ref);
    const paths = podTemplatePaths(w.kind!);
    const podSpec = paths.spec.reduce<unknown>(
      (o, k) => (o as Record<string, unknown>)?.[k],
      plain,
    ) as Record<string, unknown>;
    const podMeta =
      (paths.meta.reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], plain) ??
        {}) as Record<string, unknown>;
    const claimTemplates = w.kind === "StatefulSet"
      ? ((plain.spec as Record<string, unknown>)?.volumeClaimTemplates as {
        metadata?: { name?: string };
      }[] ?? [])
        .map((t) => t.metadata?.name ?? "")
      : [];
    let policyData: PolicyData;
    try {
      policyData = buildPolicyData({
        kind: w.kind!,
        name: w.ref.name,
        generateName: w.ref.generateName,
        namespace: w.ref.namespace,
        podMetadata: podMeta,
        podSpec,
        specPath: `${w.ref.location}: ${w.specPath}`,
        images: byPinned,
        config,
        settings,
        claimTemplates,
        ...(securePv
          ? {
            securePv: {
              container: SECURE_PV_NAME,
              deviceVolume: securePv.device,
              devicePath: SECURE_PV_DEVICE_PATH,
            },
          }
          : {}),
      });
    } catch (error) {
      if (error instanceof InvalidDocumentError) {
        issues.push(...error.issues);
        return;
      }
      throw error;
    }
    try {
      assertWithinAgentLimits(
        renderPolicyText(options.rules, policyData),
        `${w.ref.kind} ${w.ref.namespace}/${w.ref.name}`,
        `${w.ref.location}: ${w.specPath}`,
      );
    } catch (error) {
      if (!(error instanceof InvalidDocumentError)) throw error;
      issues.push(...error.issues);
      return;
    }
    const toml = encodeInitdata(policyData);
    const digest = digestHex(initdataDigestSync(toml, "sha256"));
    if (!w.meta) {
      w.ref.node.setIn(paths.meta, doc.createNode({}));
    }
    const meta = getIn(w.ref.node, paths.meta) as YAMLMap;
    setInitdataAnnotation(doc, meta, await encodeInitdataAnnotation(toml));
    changedDocs.add(`${w.ref.file.path}\0${w.ref.docIndex}`);
    const role = w.annotations[POD_ROLE_ANNOTATION] === "coordinator" ? "coordinator" : "";
    const secretId = typeof w.annotations[WORKLOAD_SECRET_ID_ANNOTATION] === "string"
      ? w.annotations[WORKLOAD_SECRET_ID_ANNOTATION] as string
      : defaultWorkloadSecretId(w.ref);
    manifestPolicies[digest] = { SANs: [w.ref.name, "*"], WorkloadSecretID: secretId, Role: role };
    built[index] = {
      location: w.ref.location,
      kind: w.ref.kind,
      namespace: w.ref.namespace,
      name: w.ref.name,
      digest,
      initdata: toml,
      policyData,
    };
  };
  const coordinatorIndexes = [...workloads.keys()].filter((i) => isCoordinator(workloads[i]!));
  for (const i of coordinatorIndexes) await buildWorkload(i, undefined);
  const coordinatorPolicies = coordinatorIndexes.flatMap((i) => built[i] ? [built[i]!] : []);
  let coordinatorTrust: string | undefined;
  if (coordinatorIndexes.length === 1 && coordinatorPolicies.length === 1) {
    try {
      coordinatorTrust = encodeCoordinatorTrust(
        coordinatorPolicies[0]!.digest,
        options.referenceValues,
      );
    } catch (error) {
      if (!(error instanceof InvalidDocumentError)) throw error;
      issues.push(...error.issues.map((issue) => ({
        path: `reference values pinned in the initializers: ${issue.path}`,
        reason: issue.reason,
      })));
    }
  }
  for (const i of workloads.keys()) {
    if (!coordinatorIndexes.includes(i)) await buildWorkload(i, coordinatorTrust);
  }
  const policies = built.filter((p): p is GeneratedPolicy => p !== undefined);
  const coordinators =
    Object.values(manifestPolicies).filter((p) => p.Role === "coordinator").length;
  if (coordinators > 1) {
    issues.push({
      path: POD_ROLE_ANNOTATION,
      reason: `exactly one workload may be the coordinator, found ${coordinators}`,
    });
  }
  if (issues.length > 0) throw new InvalidDocumentError(issues);

  const sortedPolicies: Record<string, ManifestPolicy> = {};
  for (const digest of Object.keys(manifestPolicies).sort()) {
    sortedPolicies[digest] = manifestPolicies[digest]!;
  }
  const manifest: ManifestDocument = {
    Policies: sortedPolicies,
    ReferenceValues: options.referenceValues,
    WorkloadOwnerPubKeys: [...new Set(options.workloadOwnerKeys)].sort(),
    SeedshareOwnerPubKeys: [...new Set(options.seedshareOwnerKeys)].sort(),
  };
  const outFiles = files.map((file) => {
    const changed = file.docs.some((_, i) => changedDocs.has(`${file.path}\0${i}`));
    if (!changed) return { path: file.path, text: file.text, changed: false };
    const style = stringifyOptionsFor(file.text);
    const text = file.docs.map((d, i) => {
      let s = d.toString(style);
      if (i > 0 && !s.startsWith("---")) s = `---\n${s}`;
      return s;
    }).join("");
    return { path: file.path, text, changed: text !== file.text };
  });
  return {
    files: outFiles,
    manifest,
    manifestText: JSON.stringify(manifest, null, 2) + "\n",
    policies,
  };
}
