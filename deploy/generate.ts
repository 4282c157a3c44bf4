/**
 * The core of `contrast generate`, free of file output: takes parsed YAML, makes every
 * `contrast-cc*` workload confidential (injections, pinned images, per-pod policy in initdata)
 * and returns the edited files and the manifest. Every injected initializer carries the
 * Coordinator's policy digest, the manifest's reference values and the workload owner keys
 * (`CONTRAST_COORDINATOR_TRUST`, see `atls/coordinator_trust.ts`), which its pod's policy pins;
 * without a Coordinator in the input there is nothing to pin and the initializers will refuse to
 * start. Deterministic: the same input gives the same bytes. All problems are collected and reported together, naming file, document, path and
 * reason; on any problem nothing is returned for writing.
 *
 * @module
 */
import { checkSecurePv, injectSecurePv, parseSecurePv, type SecurePv } from "./secure_pv.ts";
import { type Document, isAlias, isMap, isScalar, type YAMLMap } from "yaml";
import { InvalidDocumentError, NotFoundError, UnavailableError } from "../util/errors/mod.ts";
import { ContrastError } from "../util/errors/mod.ts";
import type { FieldIssue } from "../util/errors/mod.ts";
import type { ImageResolver, ResolvedImage } from "../oci/types.ts";
import { digestHex } from "../policy/initdata.ts";
import { PolicyInitdataEncoder } from "../policy/initdata_encoder.ts";
import { assertSizeWithinAgentLimits, type PolicyTextSize } from "../policy/agent_limits.ts";
import { buildPolicyData } from "../policy/policy_data.ts";
import type { PatternShapeCache } from "../policy/pattern_shapes.ts";
import { encodeCoordinatorTrust } from "../atls/coordinator_trust.ts";
import type { PolicyData } from "../policy/policy_data_types.ts";
import type { ManifestReferenceValues } from "../policy/reference_values.ts";
import type { Settings } from "../policy/settings.ts";
import { frozenSettings, SharedPolicyValues } from "../policy/shared_values.ts";
import {
  EXTRA_SANS_ANNOTATION,
  MESH_EGRESS_ANNOTATION,
  POD_ROLE_ANNOTATION,
  SECURE_PV_ANNOTATION,
  SECURE_PV_DEVICE_PATH,
  SECURE_PV_NAME,
  SKIP_INITIALIZER_ANNOTATION,
  WORKLOAD_SECRET_ID_ANNOTATION,
} from "./annotations.ts";
import type { InputFile } from "./documents.ts";
import type { UnchangedWorkload } from "./unchanged_workloads.ts";
import { type UnmeshedPort, unmeshedPorts } from "./unmeshed_ports.ts";
import { unknownFieldIssues } from "./strict_fields.ts";
import { deriveSans, parseExtraSans, type SanService, type SanWorkload } from "./workload_sans.ts";
import { type EgressSan, encodeEgressSans, parseEgressConfig } from "../protocol/mesh_config.ts";
import { DEFAULT_CLUSTER_DOMAIN } from "../policy/hostname.ts";
import { resolvedValue } from "../util/yaml/plain_tree.ts";
import { mergedFieldIssues } from "./merged_fields.ts";
import { coordinatorPodIssues } from "./coordinator_pod_check.ts";
import { documentKey, type InitdataAnnotation, type RenderedFile, renderFiles } from "./render.ts";
import { meshAnnotationIssues, meshSysctlIssues, podTcpPorts } from "./mesh.ts";
import {
  containerEntries,
  existingInitializerIssues,
  expandContainerAliases,
  injectIntoPodSpec,
  meshConfigOf,
  pinImages,
  secretsVolumeIssues,
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
  /**
   * Also write the keys as `WorkloadOwnerKeyDigests` (lower-case hex SHA-256 of each key, in the
   * same order as the keys), for readers of older Contrast releases.
   */
  readonly workloadOwnerKeyDigests?: readonly string[];
  /** Hex PKIX DER RSA keys. */
  readonly seedshareOwnerKeys: readonly string[];
  readonly skipInitializer?: boolean;
  readonly skipServiceMesh?: boolean;
  /**
   * contrast's Coordinator image from the image lock in use (undefined: no lock names it). The
   * input's `pod-role: coordinator` workload must run it, as `contrast coordinator` writes it.
   */
  readonly coordinatorImage?: string;
  /**
   * The namespace resources without `metadata.namespace` will be created in (`kubectl apply -n`);
   * their policies bind the pod to it. Default `default`.
   */
  readonly namespace?: string;
  /**
   * The nodes' cluster domain (the kubelet's `--cluster-domain`), the end of the hostname of a
   * pod with `setHostnameAsFQDN` and a subdomain. Default `cluster.local`.
   */
  readonly clusterDomain?: string;
  /**
   * `--san-wildcard`: append `*` to every manifest entry's SANs (the old default), so that any
   * attested workload's certificate passes every mesh egress check. Off by default: each entry
   * gets the names derived from the input (`deploy/workload_sans.ts`).
   */
  readonly sanWildcard?: boolean;
}

/** One manifest `Policies` entry. */
interface ManifestPolicy {
  readonly SANs: readonly string[];
  readonly WorkloadSecretID: string;
  readonly Role: "" | "coordinator";
}

/** The manifest contrast writes (Contrast's field names). */
interface ManifestDocument {
  readonly Policies: Readonly<Record<string, ManifestPolicy>>;
  readonly ReferenceValues: ManifestReferenceValues;
  readonly WorkloadOwnerPubKeys: readonly string[];
  /** Written only when {@link GenerateOptions.workloadOwnerKeyDigests} is given. */
  readonly WorkloadOwnerKeyDigests?: readonly string[];
  readonly SeedshareOwnerPubKeys: readonly string[];
}

/** A generated pod policy. */
interface GeneratedPolicy {
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
interface GenerateResult {
  /** Every input file with its new text (`changed` false: text is the original). */
  readonly files: readonly RenderedFile[];
  readonly manifest: ManifestDocument;
  /** manifest.json text (pretty JSON, newline-terminated). */
  readonly manifestText: string;
  readonly policies: readonly GeneratedPolicy[];
  /** The pod-bearing workloads left unchanged (not confidential), in input order. */
  readonly unchanged: readonly UnchangedWorkload[];
  /** UDP and SCTP ports of pods that get the mesh sidecar (reachable in plain), in input order. */
  readonly unmeshedPorts: readonly UnmeshedPort[];
  /**
   * What the SAN derivation warns about (without `warning: `): egress targets no workload answers
   * to, names several workloads share, StatefulSets with more pods than per-pod names.
   */
  readonly sanWarnings: readonly string[];
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

function annotationsAt(node: unknown, doc: Document): Record<string, unknown> {
  if (!isMap(node)) return {};
  // As the API server gets them: aliases (a map or a value) and merge keys resolved.
  const a = resolvedValue(node.get("annotations", true), doc);
  return typeof a === "object" && a !== null && !Array.isArray(a)
    ? a as Record<string, unknown>
    : {};
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

function checkAnnotations(w: Workload, podPorts: readonly number[], issues: FieldIssue[]): void {
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
  const extraSans = a[EXTRA_SANS_ANNOTATION];
  if (extraSans !== undefined) {
    const parsed = parseExtraSans(extraSans);
    if ("error" in parsed) issues.push({ path: at(EXTRA_SANS_ANNOTATION), reason: parsed.error });
  }
  issues.push(...meshAnnotationIssues(a, podPorts, at));
}

/**
 * Generates confidential YAML and the manifest, in named steps: find the confidential workloads
 * and check their annotations, resolve every image once, build the Coordinator's policy first
 * (its digest is pinned in every initializer), then every other pod's, and finally the manifest
 * and the edited files. Each step collects its problems; any problem stops before the next step.
 *
 * @throws {InvalidDocumentError} with every problem (file, document, path, reason)
 * @throws {import("../util/errors/mod.ts").UnavailableError} when an image cannot be fetched
 */
export async function generate(
  files: readonly InputFile[],
  options: GenerateOptions,
): Promise<GenerateResult> {
  const issues: FieldIssue[] = [];
  const resources = collectResources(files, options.namespace);
  issues.push(...await unknownFieldIssues(resources));
  const unchanged: UnchangedWorkload[] = [];
  const workloads = findConfidentialWorkloads(resources, options.settings, issues, unchanged);
  /** Each workload's TCP container ports (the sidecar's mTLS ports), read once. */
  const podPorts = new Map<Workload, readonly number[]>();
  const unmeshed: UnmeshedPort[] = [];
  for (const w of workloads) {
    if (w.ref.file.jsonInDirectory === true) {
      issues.push({
        path: `${w.ref.location}: ${w.specPath}.runtimeClassName`,
        reason: "a confidential workload in a JSON file found in a directory: kubectl apply -f " +
          "applies it from there, but generate writes YAML; convert the file to YAML (or name " +
          "it on the command line to have it rewritten as YAML)",
      });
      continue;
    }
    const doc = w.ref.file.docs[w.ref.docIndex]!;
    expandContainerAliases(doc, w.spec);
    issues.push(...mergedFieldIssuesOf(w));
    // The checks read the pod as the API server gets it and the policy data reads it: aliases
    // and merge keys resolved, never the YAML nodes (util/yaml/plain_tree.ts).
    const spec = plainSpecOf(w);
    const ports = podTcpPorts(spec);
    podPorts.set(w, ports);
    checkAnnotations(w, ports, issues);
    const at = `${w.ref.location}: ${w.specPath}`;
    if (isCoordinator(w)) issues.push(...coordinatorPodIssuesOf(w, spec, options));
    if (!skipsInitializer(w, options) || hasMesh(w, options)) {
      issues.push(...secretsVolumeIssues(spec, options.settings, at));
    }
    if (hasMesh(w, options)) {
      issues.push(...meshSysctlIssues(spec, at));
      // Before injection, so that each field names the container's index in the user's YAML.
      unmeshed.push(...unmeshedPorts(w.ref, spec, w.specPath));
    }
    if (!skipsInitializer(w, options)) {
      issues.push(...existingInitializerIssues(spec, options.settings, at));
    }
  }
  const securePvs = checkSecurePvs(workloads, options, issues);
  throwIfAny(issues);
  const derivedSans = deriveSans(
    workloads.map((w) => sanWorkloadOf(w, options)),
    servicesOf(resources),
    options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
    options.sanWildcard === true,
  );

  const images = await resolveImages(workloads, options, issues);
  throwIfAny(issues);

  const build = new PolicyBuild(
    workloads,
    images,
    configSourceOf(resources),
    options,
    issues,
    securePvs,
    podPorts,
    derivedSans.sans,
    derivedSans.egressSans,
  );
  const coordinatorIndexes = [...workloads.keys()].filter((i) => isCoordinator(workloads[i]!));
  try {
    for (const i of coordinatorIndexes) await build.workload(i, undefined);
    const coordinatorTrust = coordinatorIndexes.length === 1
      ? pinnedCoordinatorTrust(build.policyAt(coordinatorIndexes[0]!), options, issues)
      : undefined;
    for (const i of workloads.keys()) {
      if (!coordinatorIndexes.includes(i)) await build.workload(i, coordinatorTrust);
    }
  } finally {
    build.close();
  }
  checkOneCoordinator(build.manifestPolicies, issues);
  throwIfAny(issues);
  build.writeInitdataAnnotations();

  const manifest = manifestDocument(build.manifestPolicies, options);
  return {
    files: renderFiles(files, build.changedDocs, build.initdataAnnotations),
    manifest,
    manifestText: JSON.stringify(manifest, null, 2) + "\n",
    policies: build.policies(),
    unchanged,
    unmeshedPorts: unmeshed,
    sanWarnings: derivedSans.warnings,
  };
}

/** What the SAN derivation reads of workload `w` (before injection; aliases resolved). */
function sanWorkloadOf(w: Workload, options: GenerateOptions): SanWorkload {
  const plain = toPlain(w.ref);
  const paths = podTemplatePaths(w.kind!);
  const at = (path: readonly string[]) =>
    path.reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], plain);
  const egress = hasMesh(w, options) ? meshConfigOf(w.annotations)?.egress : undefined;
  let egressHosts: SanWorkload["egressHosts"] = [];
  try {
    egressHosts = parseEgressConfig(egress, MESH_EGRESS_ANNOTATION).map((e) => ({
      entry: e.name,
      host: e.remoteHost,
    }));
  } catch {
    // Reported by meshAnnotationIssues before this step (generate stops there).
  }
  const extra = w.annotations[EXTRA_SANS_ANNOTATION];
  const parsedExtra = extra === undefined ? undefined : parseExtraSans(extra);
  // A refused value was reported by checkAnnotations before this step (generate stops there).
  const extraSans = parsedExtra && "sans" in parsedExtra ? parsedExtra.sans : [];
  return {
    location: w.ref.location,
    kind: w.ref.kind,
    namespace: w.ref.namespace,
    name: w.ref.name,
    ...(w.ref.generateName ? { generateName: true } : {}),
    podMetadata: (at(paths.meta) ?? {}) as Record<string, unknown>,
    podSpec: (at(paths.spec) ?? {}) as Record<string, unknown>,
    resourceSpec: (at(["spec"]) ?? {}) as Record<string, unknown>,
    egressHosts,
    extraSans,
  };
}

/** The input's Services (core/v1), as the SAN derivation reads them. */
function servicesOf(resources: readonly ResourceRef[]): SanService[] {
  return resources
    .filter((r) => r.kind === "Service" && r.apiVersion === "v1")
    .map((r) => {
      const spec = toPlain(r).spec;
      return {
        namespace: r.namespace,
        name: r.name,
        spec: typeof spec === "object" && spec !== null ? spec as Record<string, unknown> : {},
      };
    });
}

/** Fields generate writes that the workload's pod gives only through a merge key (refused). */
function mergedFieldIssuesOf(w: Workload): FieldIssue[] {
  // A merge key is spelled `<<` (an escape cannot make one: kubectl_agreement.ts refuses those).
  const doc = w.ref.file.docs[w.ref.docIndex]!;
  if (!w.ref.file.text.slice(doc.range[0], doc.range[2]).includes("<<")) return [];
  const templatePath = podTemplatePaths(w.kind!).meta.slice(0, -1);
  const template = templatePath.length === 0 ? w.ref.node : getIn(w.ref.node, templatePath);
  if (!isMap(template)) return [];
  return mergedFieldIssues(
    doc,
    template,
    templatePath.join("."),
    w.ref.location,
  );
}

function throwIfAny(issues: readonly FieldIssue[]): void {
  if (issues.length > 0) throw new InvalidDocumentError([...issues]);
}

/** The workload's pod spec as the policy data reads it (aliases and merge keys resolved). */
function plainSpecOf(w: Workload): Record<string, unknown> {
  const plain = resolvedValue(w.spec, w.ref.file.docs[w.ref.docIndex]!);
  return (plain ?? {}) as Record<string, unknown>;
}

/** How the input's Coordinator differs from contrast's (see `coordinator_pod_check.ts`). */
function coordinatorPodIssuesOf(
  w: Workload,
  spec: Record<string, unknown>,
  options: GenerateOptions,
): FieldIssue[] {
  const resource = toPlain(w.ref) as { spec?: { replicas?: unknown } };
  return coordinatorPodIssues(
    {
      location: w.ref.location,
      kind: w.kind ?? "",
      specPath: w.specPath,
      spec,
      replicas: resource.spec?.replicas,
      annotations: w.annotations,
    },
    options.coordinatorImage,
    options.settings,
  );
}

function isCoordinator(w: Workload): boolean {
  return w.annotations[POD_ROLE_ANNOTATION] === "coordinator";
}

/** Whether `w` gets no initializer (by option, annotation, or as the Coordinator). */
function skipsInitializer(w: Workload, options: GenerateOptions): boolean {
  const skip = w.annotations[SKIP_INITIALIZER_ANNOTATION];
  return options.skipInitializer === true || skip === "true" || skip === true || isCoordinator(w);
}

/**
 * The `secure-pv` annotations of the workloads, parsed and checked against their pods (problems
 * recorded in `issues`).
 */
function checkSecurePvs(
  workloads: readonly Workload[],
  options: GenerateOptions,
  issues: FieldIssue[],
): Map<Workload, SecurePv> {
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
    const plainResource = toPlain(w.ref) as Record<string, Record<string, unknown>>;
    const templates = w.kind === "StatefulSet"
      ? (plainResource.spec?.volumeClaimTemplates ?? []) as Record<string, unknown>[]
      : [];
    issues.push(
      ...checkSecurePv(
        pv,
        plainSpecOf(w),
        templates,
        !skipsInitializer(w, options),
        `${w.ref.location}: ${w.specPath}`,
      ),
    );
    securePvs.set(w, pv);
  }
  return securePvs;
}

/** Whether `w` gets the service-mesh sidecar. */
function hasMesh(w: Workload, options: GenerateOptions): boolean {
  return options.skipServiceMesh !== true && meshConfigOf(w.annotations) !== undefined;
}

/**
 * Step 1: the pod-template workloads whose runtime class is contrast's, recording duplicates and
 * workloads without a pod spec in `issues`, and every other pod-bearing workload in `unchanged`.
 */
function findConfidentialWorkloads(
  resources: readonly ResourceRef[],
  settings: Settings,
  issues: FieldIssue[],
  unchanged: UnchangedWorkload[],
): Workload[] {
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
    const rc = runtimeClassNameOf(spec, ref.file.docs[ref.docIndex]!);
    if (typeof rc !== "string" || !rc.startsWith(settings.runtime_class_prefix)) {
      unchanged.push({
        location: ref.location,
        kind: ref.kind,
        namespace: ref.namespace,
        name: ref.name,
        field: [...paths.spec, "runtimeClassName"].join("."),
        runtimeClassName: rc ?? undefined,
      });
      continue;
    }
    const meta = getIn(ref.node, paths.meta);
    const doc = ref.file.docs[ref.docIndex]!;
    workloads.push({
      ref,
      kind,
      spec,
      meta: isMap(meta) ? meta : undefined,
      annotations: {
        ...annotationsAt(ref.node.get("metadata", true), doc),
        ...annotationsAt(meta, doc),
      },
      templateAnnotationKeys: new Set(kind === "Pod" ? [] : Object.keys(annotationsAt(meta, doc))),
      specPath: paths.spec.join("."),
      metaPath: paths.meta.join("."),
    });
  }
  return workloads;
}

/**
 * The pod's `runtimeClassName` as the API server gets it: an alias (`runtimeClassName: *rc`) or a
 * merge key (`<<: *base`) resolved, so such a pod is not taken for one left unchanged while the
 * cluster runs it with contrast's runtime class. A plain value is read from the node directly.
 */
function runtimeClassNameOf(spec: YAMLMap, doc: Document): unknown {
  const rc = spec.get("runtimeClassName");
  const merged = rc === undefined &&
    spec.items.some((p) => isScalar(p.key) && typeof p.key.value === "symbol");
  if (!isAlias(rc) && !merged) return rc;
  return (resolvedValue(spec, doc) as Record<string, unknown> | null)?.runtimeClassName;
}

/** Every image of a generation, resolved once: by the reference written and by pinned form. */
interface ResolvedImages {
  /** By the reference as written in the YAML or settings. */
  readonly byReference: ReadonlyMap<string, ResolvedImage>;
  /** By pinned reference (`name@sha256:…`). */
  readonly byPinned: ReadonlyMap<string, ResolvedImage>;
}

/**
 * Step 2: resolves every image the workloads name (containers, and the initializer and mesh
 * images they get) once, concurrently; a missing or unresolvable image is an issue naming where
 * it was first written. When every failure is an unreachable registry or cache, that is not bad
 * input: it throws an {@link UnavailableError} (exit 3) instead.
 */
async function resolveImages(
  workloads: readonly Workload[],
  options: GenerateOptions,
  issues: FieldIssue[],
): Promise<ResolvedImages> {
  const { settings } = options;
  const wanted = new Map<string, string>(); // reference -> first location
  for (const w of workloads) {
    for (const { node, path } of containerEntries(w.spec)) {
      const image = node.get("image");
      const at = `${w.ref.location}: ${w.specPath}.${path}.image`;
      if (typeof image !== "string" || image === "") {
        issues.push({ path: at, reason: "missing image" });
      } else if (!wanted.has(image)) wanted.set(image, at);
    }
    if (!skipsInitializer(w, options) && !wanted.has(settings.initializer.image)) {
      wanted.set(settings.initializer.image, "settings: initializer.image");
    }
    if (hasMesh(w, options) && !wanted.has(settings.service_mesh.image)) {
      wanted.set(settings.service_mesh.image, "settings: service_mesh.image");
    }
  }
  for (const [ref, at] of wanted) {
    if (ref.startsWith("image-lock:")) {
      issues.push({
        path: at,
        reason: `contrast's ${ref.slice("image-lock:".length)} image comes from the image ` +
          "lock, and no lock names it: pass --image-lock FILE (written by `deno task images`), " +
          "set CONTRAST_IMAGE_LOCK or use a release build of contrast",
      });
    }
  }
  const byReference = new Map<string, ResolvedImage>();
  if (issues.length > 0) return { byReference, byPinned: new Map() };
  const references = [...wanted.keys()];
  const results = await Promise.allSettled(
    references.map((ref) => options.resolver.resolve(ref)),
  );
  let unreachable = 0;
  results.forEach((r, i) => {
    const ref = references[i]!;
    if (r.status === "fulfilled") byReference.set(ref, r.value);
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
  const byPinned = new Map<string, ResolvedImage>();
  for (const image of byReference.values()) byPinned.set(image.pinned, image);
  return { byReference, byPinned };
}

/**
 * Step 3: injects, pins and builds the policy of one workload at a time, collecting the manifest
 * policies, the generated policies (in workload order) and which documents changed.
 */
class PolicyBuild {
  /** The manifest's `Policies`, by initdata digest. */
  readonly manifestPolicies: Record<string, ManifestPolicy> = {};
  /** The workload whose manifest entry each digest has. */
  readonly #digestOwners = new Map<string, Workload>();
  /** `path\0docIndex` of every edited document. */
  readonly changedDocs = new Set<string>();
  /** The initdata annotation of every edited document, by `path\0docIndex`. */
  readonly initdataAnnotations = new Map<string, InitdataAnnotation>();
  readonly #built: (GeneratedPolicy | undefined)[];
  /** The policies built whose annotation is still to be written, in the order they were built. */
  readonly #unannotated: {
    readonly key: string;
    readonly doc: Document;
    readonly meta: YAMLMap;
    /** The `cc_init_data` annotation value. */
    readonly value: string;
    /** {@link value} as the base64 text all pods share and the pod's own. */
    readonly valueParts: readonly string[];
  }[] = [];
  readonly #initdata: PolicyInitdataEncoder;
  readonly #patternShapes: PatternShapeCache = new Map();
  /** The sidecar startup probes by mesh configuration (see `InjectionPlan.startupProbes`). */
  readonly #startupProbes: NonNullable<Parameters<typeof injectIntoPodSpec>[2]["startupProbes"]> =
    new Map();
  /**
   * The settings the policy data is built from: a deeply frozen copy, so that its parts and the
   * parts made from them once per run ({@link #sharedValues}) are shared by every pod's policy
   * data and their text is written once per run (`policy/toml_json_line.ts`).
   */
  readonly #policySettings: Settings;
  readonly #sharedValues: SharedPolicyValues;

  constructor(
    private readonly workloads: readonly Workload[],
    private readonly images: ResolvedImages,
    private readonly config: ReturnType<typeof configSourceOf>,
    private readonly options: GenerateOptions,
    private readonly issues: FieldIssue[],
    private readonly securePvs: ReadonlyMap<Workload, SecurePv>,
    /** Each workload's TCP container ports, read from its resolved spec before injection. */
    private readonly podPorts: ReadonlyMap<Workload, readonly number[]>,
    /** Each workload's manifest SANs, by workload index (`deploy/workload_sans.ts`). */
    private readonly sans: readonly (readonly string[])[],
    /** Each workload's egress entries' qualified SANs, by workload index (same module). */
    private readonly egressSans: readonly (readonly EgressSan[])[],
  ) {
    this.#built = workloads.map(() => undefined);
    this.#initdata = new PolicyInitdataEncoder(options.rules);
    this.#policySettings = frozenSettings(options.settings);
    this.#sharedValues = new SharedPolicyValues(this.#policySettings);
  }

  /** The policy built for workload `index`, if it was built without problems. */
  policyAt(index: number): GeneratedPolicy | undefined {
    return this.#built[index];
  }

  /** Every policy built, in workload order. */
  policies(): GeneratedPolicy[] {
    return this.#built.filter((p): p is GeneratedPolicy => p !== undefined);
  }

  /**
   * Injects the initializer and sidecar into workload `index` (the initializer carrying
   * `coordinatorTrust`), pins its images, builds its policy and compresses its initdata (the
   * initdata bytes are not kept: {@link GeneratedPolicy.initdata} encodes them again when read);
   * its initdata annotation is written by {@link writeInitdataAnnotations}.
   */
  async workload(index: number, coordinatorTrust: string | undefined): Promise<void> {
    const w = this.workloads[index]!;
    const doc = w.ref.file.docs[w.ref.docIndex]!;
    this.#inject(w, index, coordinatorTrust);
    const policyData = this.#policyData(w);
    if (!policyData) return;
    const initdata = await this.#initdata.encodeAnnotated(policyData);
    if (!this.#withinAgentLimits(w, initdata.policyTextSize)) return;
    const digest = digestHex(initdata.digest);
    const paths = podTemplatePaths(w.kind!);
    if (!w.meta) w.ref.node.setIn(paths.meta, doc.createNode({}));
    const meta = getIn(w.ref.node, paths.meta) as YAMLMap;
    const key = documentKey(w.ref.file.path, w.ref.docIndex);
    this.#unannotated.push({
      key,
      doc,
      meta,
      value: initdata.annotation,
      valueParts: initdata.annotationParts,
    });
    this.changedDocs.add(key);
    const entry: ManifestPolicy = {
      SANs: this.sans[index]!,
      WorkloadSecretID: workloadSecretIdOf(w),
      Role: isCoordinator(w) ? "coordinator" : "",
    };
    if (!this.#sameIdentityOrFirst(w, digest, entry)) return;
    this.manifestPolicies[digest] = entry;
    const encoder = this.#initdata;
    this.#built[index] = {
      location: w.ref.location,
      kind: w.ref.kind,
      namespace: w.ref.namespace,
      name: w.ref.name,
      digest,
      get initdata() {
        // The same bytes as encoded above (encoding is deterministic; tested).
        return encoder.encode(policyData).toml;
      },
      policyData,
    };
  }

  /** Ends the initdata compressor's stream. */
  close(): void {
    this.#initdata.close();
  }

  /**
   * Writes the initdata annotation of every policy built so far into its document, in the order
   * the policies were built.
   */
  writeInitdataAnnotations(): void {
    for (const { key, doc, meta, value, valueParts } of this.#unannotated.splice(0)) {
      this.initdataAnnotations.set(key, {
        annotations: setInitdataAnnotation(doc, meta, value),
        value,
        valueParts,
      });
    }
  }

  #inject(w: Workload, index: number, coordinatorTrust: string | undefined): void {
    const { settings } = this.options;
    const { byReference, byPinned } = this.images;
    const mesh = hasMesh(w, this.options) ? meshConfigOf(w.annotations) : undefined;
    const securePv = this.securePvs.get(w);
    if (securePv) {
      injectSecurePv(
        w.ref.file.docs[w.ref.docIndex]!,
        w.spec,
        securePv,
        byReference.get(settings.initializer.image)!.pinned,
      );
    }
    injectIntoPodSpec(w.ref.file.docs[w.ref.docIndex]!, w.spec, {
      settings,
      initializerImage: skipsInitializer(w, this.options)
        ? undefined
        : byReference.get(settings.initializer.image)!.pinned,
      meshImage: mesh ? byReference.get(settings.service_mesh.image)!.pinned : undefined,
      meshConfig: mesh
        ? {
          ...mesh,
          podPorts: this.podPorts.get(w)!.join(","),
          egressSans: encodeEgressSans(this.egressSans[index]!),
        }
        : {},
      coordinatorTrust,
      startupProbes: this.#startupProbes,
    });
    pinImages(
      w.spec,
      (image) => byReference.get(image)?.pinned ?? byPinned.get(image)?.pinned ?? image,
    );
  }

  /** Whether a policy text of `size` fits the Kata agent's limits (else the issue is recorded). */
  /**
   * Whether `entry` may be the manifest's entry for `digest`: the first for it, or the same as the
   * one an earlier workload with the very same policy has. The Coordinator tells pods apart by
   * their policy alone, so two workloads whose policies are equal (a DaemonSet and a ReplicaSet of
   * one name, namespace and pod template) are one identity: with different entries (workload
   * secret, SANs, role) the later would silently replace the earlier, and either's pods would get
   * the other's. Refused instead (an issue naming both).
   */
  #sameIdentityOrFirst(w: Workload, digest: string, entry: ManifestPolicy): boolean {
    const first = this.manifestPolicies[digest];
    const firstOwner = this.#digestOwners.get(digest);
    if (first === undefined || firstOwner === undefined) {
      this.#digestOwners.set(digest, w);
      return true;
    }
    if (JSON.stringify(first) === JSON.stringify(entry)) return true;
    this.issues.push({
      path: `${w.ref.location}: ${w.specPath}`,
      reason: `${w.ref.kind} ${w.ref.namespace}/${w.ref.name} has the same policy ` +
        `(${digest}) as ${firstOwner.ref.kind} ${firstOwner.ref.namespace}/` +
        `${firstOwner.ref.name} (${firstOwner.ref.location}) but another identity ` +
        `(workload secret ID ${JSON.stringify(entry.WorkloadSecretID)} against ` +
        `${JSON.stringify(first.WorkloadSecretID)}, SANs, role): the Coordinator tells pods ` +
        "apart only by their policy; give them the same contrast.edgeless.systems/" +
        "workload-secret-id, or make their pods differ (another name)",
    });
    return false;
  }

  #withinAgentLimits(w: Workload, size: PolicyTextSize): boolean {
    try {
      assertSizeWithinAgentLimits(
        size,
        `${w.ref.kind} ${w.ref.namespace}/${w.ref.name}`,
        `${w.ref.location}: ${w.specPath}`,
      );
      return true;
    } catch (error) {
      if (!(error instanceof InvalidDocumentError)) throw error;
      this.issues.push(...error.issues);
      return false;
    }
  }

  /** The policy data of the injected workload, or undefined (issues recorded) on problems. */
  #policyData(w: Workload): PolicyData | undefined {
    const plain = toPlain(w.ref);
    const securePv = this.securePvs.get(w);
    const paths = podTemplatePaths(w.kind!);
    const at = (path: readonly string[]) =>
      path.reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], plain);
    const claimTemplates = w.kind === "StatefulSet"
      ? ((plain.spec as Record<string, unknown>)?.volumeClaimTemplates as {
        metadata?: { name?: string };
      }[] ?? [])
        .map((t) => t.metadata?.name ?? "")
      : [];
    try {
      return buildPolicyData({
        kind: w.kind!,
        name: w.ref.name,
        generateName: w.ref.generateName,
        namespace: w.ref.namespace,
        podMetadata: (at(paths.meta) ?? {}) as Record<string, unknown>,
        podSpec: at(paths.spec) as Record<string, unknown>,
        specPath: `${w.ref.location}: ${w.specPath}`,
        images: this.images.byPinned,
        config: this.config,
        settings: this.#policySettings,
        claimTemplates,
        patternShapeCache: this.#patternShapes,
        ...(this.options.clusterDomain ? { clusterDomain: this.options.clusterDomain } : {}),
        sharedValues: this.#sharedValues,
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
        this.issues.push(...error.issues);
        return undefined;
      }
      throw error;
    }
  }
}

/** The workload secret ID of `w`: its annotation, or {@link defaultWorkloadSecretId}. */
function workloadSecretIdOf(w: Workload): string {
  const id = w.annotations[WORKLOAD_SECRET_ID_ANNOTATION];
  return typeof id === "string" ? id : defaultWorkloadSecretId(w.ref);
}

/**
 * Step 4: the trust document every initializer carries: the Coordinator policy's digest, the
 * manifest's reference values and its workload owner keys (undefined when the Coordinator's
 * policy could not be built).
 */
function pinnedCoordinatorTrust(
  coordinator: GeneratedPolicy | undefined,
  options: GenerateOptions,
  issues: FieldIssue[],
): string | undefined {
  if (!coordinator) return undefined;
  try {
    return encodeCoordinatorTrust(
      coordinator.digest,
      options.referenceValues,
      [...new Set(options.workloadOwnerKeys)].sort(),
    );
  } catch (error) {
    if (!(error instanceof InvalidDocumentError)) throw error;
    issues.push(...error.issues.map((issue) => ({
      path: `trust document pinned in the initializers: ${issue.path}`,
      reason: issue.reason,
    })));
    return undefined;
  }
}

function checkOneCoordinator(
  policies: Readonly<Record<string, ManifestPolicy>>,
  issues: FieldIssue[],
): void {
  const coordinators = Object.values(policies).filter((p) => p.Role === "coordinator").length;
  if (coordinators > 1) {
    issues.push({
      path: POD_ROLE_ANNOTATION,
      reason: `exactly one workload may be the coordinator, found ${coordinators}`,
    });
  }
}

/** Step 5: the manifest: policies sorted by digest, owner keys deduplicated and sorted. */
function manifestDocument(
  policies: Readonly<Record<string, ManifestPolicy>>,
  options: GenerateOptions,
): ManifestDocument {
  const sortedPolicies: Record<string, ManifestPolicy> = {};
  for (const digest of Object.keys(policies).sort()) sortedPolicies[digest] = policies[digest]!;
  return {
    Policies: sortedPolicies,
    ReferenceValues: options.referenceValues,
    WorkloadOwnerPubKeys: [...new Set(options.workloadOwnerKeys)].sort(),
    ...(options.workloadOwnerKeyDigests
      ? { WorkloadOwnerKeyDigests: [...new Set(options.workloadOwnerKeyDigests)].sort() }
      : {}),
    SeedshareOwnerPubKeys: [...new Set(options.seedshareOwnerKeys)].sort(),
  };
}
