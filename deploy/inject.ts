/**
 * Edits a workload's pod template in place through the `yaml` document API: the versioned
 * runtime class, the initializer as first init container (its Coordinator trust document in
 * `CONTRAST_COORDINATOR_TRUST`) with the `contrast-secrets` memory volume mounted by every
 * container, the service-mesh native sidecar, images pinned by digest, and the initdata
 * annotation. Existing nodes keep their comments and position; re-running on
 * generated output changes nothing.
 *
 * @module
 */
import { type Document, isAlias, isMap, isScalar, isSeq, type YAMLMap, type YAMLSeq } from "yaml";
import { ensureMap, ensureSeq, plainNode } from "./yaml_nodes.ts";
import { INITDATA_ANNOTATION, LEGACY_POLICY_ANNOTATION } from "../policy/initdata.ts";
import { COORDINATOR_TRUST_ENV } from "../atls/coordinator_trust.ts";
import type { Settings } from "../policy/settings.ts";
import type { FieldIssue } from "../util/errors/mod.ts";
import {
  ADMIN_PORT_ENV,
  EGRESS_ENV,
  EGRESS_SANS_ENV,
  ENV_SOURCES,
  INGRESS_ENV,
  LIMITS_ENV,
  MEMORY_LIMIT_ENV,
  MeshConfigError,
  parseMeshConfig,
  POD_PORTS_ENV,
} from "../protocol/mesh_config.ts";
import {
  INITIALIZER_NAME,
  MESH_ADMIN_ANNOTATION,
  MESH_EGRESS_ANNOTATION,
  MESH_INGRESS_ANNOTATION,
  MESH_LIMITS_ANNOTATION,
  MESH_MEMORY_LIMIT_ANNOTATION,
  MESH_MEMORY_REQUEST_ANNOTATION,
  MESH_SIDECAR_NAME,
} from "./annotations.ts";

function findByName(seq: YAMLSeq, name: string): YAMLMap | undefined {
  for (const item of seq.items) {
    if (isMap(item) && item.get("name") === name) return item;
  }
  return undefined;
}

/**
 * Replaces YAML aliases among a pod spec's container lists, containers and their images with
 * copies of what they point to (without the anchor), so contrast can edit each container on its
 * own.
 */
export function expandContainerAliases(doc: Document, spec: YAMLMap): void {
  for (const key of ["initContainers", "containers"]) {
    let seq: unknown = spec.get(key, true);
    if (isAlias(seq)) {
      const target = seq.resolve(doc);
      if (isSeq(target)) {
        const copy = target.clone() as YAMLSeq;
        copy.anchor = undefined;
        spec.set(key, copy);
        seq = copy;
      }
    }
    if (!isSeq(seq)) continue;
    seq.items = seq.items.map((item) => {
      if (!isAlias(item)) return item;
      const target = item.resolve(doc);
      if (!isMap(target)) return item;
      const copy = target.clone() as YAMLMap;
      copy.anchor = undefined;
      return copy;
    });
    // An image behind an alias (`image: *img`) is read and pinned as the API server gets it.
    for (const item of seq.items) {
      if (!isMap(item)) continue;
      const image = item.get("image", true);
      if (!isAlias(image)) continue;
      const target = image.resolve(doc);
      if (!isScalar(target)) continue;
      const copy = target.clone() as typeof target;
      copy.anchor = undefined;
      item.set("image", copy);
    }
  }
}

/** A pod spec as plain values, aliases and merge keys resolved (`resolvedValue`). */
type PlainPodSpec = Readonly<Record<string, unknown>>;

/** The items of a plain list, each a map or undefined (anything else); [] for no list. */
function plainMaps(value: unknown): (Record<string, unknown> | undefined)[] {
  if (!Array.isArray(value)) return [];
  return value.map((v) =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? v as Record<string, unknown>
      : undefined
  );
}

/** The container maps of a pod spec with their paths (`initContainers[0]`, `containers[1]`…). */
export function containerEntries(spec: YAMLMap): { node: YAMLMap; path: string }[] {
  const out: { node: YAMLMap; path: string }[] = [];
  for (const key of ["initContainers", "containers"]) {
    const seq = spec.get(key, true);
    if (isSeq(seq)) {
      seq.items.forEach((item, i) => {
        if (isMap(item)) out.push({ node: item, path: `${key}[${i}]` });
      });
    }
  }
  return out;
}

/** The container maps of a pod spec: init containers first, then containers. */
function containerNodes(spec: YAMLMap): YAMLMap[] {
  const out: YAMLMap[] = [];
  for (const key of ["initContainers", "containers"]) {
    const seq = spec.get(key, true);
    if (isSeq(seq)) { for (const item of seq.items) if (isMap(item)) out.push(item); }
  }
  return out;
}

/** What to inject into one pod. */
interface InjectionPlan {
  readonly settings: Settings;
  /** Pinned initializer image, or undefined to skip the initializer. */
  readonly initializerImage?: string;
  /** Pinned service-mesh image, or undefined when the pod gets no sidecar. */
  readonly meshImage?: string;
  /**
   * Mesh annotations of the pod (values as strings) and its TCP ports (comma-separated, for
   * `CONTRAST_MESH_POD_PORTS`).
   */
  readonly meshConfig: {
    ingress?: string;
    egress?: string;
    /** `CONTRAST_MESH_EGRESS_SANS`: the egress entries' qualified SANs, when any. */
    egressSans?: string;
    admin?: string;
    podPorts?: string;
    limits?: string;
    /** The sidecar's `resources.limits.memory` (a checked quantity), if set. */
    memoryLimit?: string;
    /** The sidecar's `resources.requests.memory` (a checked quantity), if set. */
    memoryRequest?: string;
  };
  /**
   * The initializer's trust document (`CONTRAST_COORDINATOR_TRUST`: the Coordinator's policy
   * hash and reference values); undefined when the input has no Coordinator, and then any
   * previous value is removed (the initializer refuses to start without one).
   */
  readonly coordinatorTrust?: string;
  /**
   * The sidecar startup probes made so far, by mesh configuration (`JSON.stringify` of
   * {@link meshConfig}), for a caller that injects many pods: a probe depends on the configuration
   * alone, and working it out parses the configuration.
   */
  readonly startupProbes?: Map<string, ReturnType<typeof sidecarStartupProbe>>;
}

/**
 * Sets the initializer's `CONTRAST_COORDINATOR_TRUST` variable to `value` (in place when it is
 * already there, so re-running keeps the order), or removes it when `value` is undefined.
 */
function setTrustEnv(doc: Document, initializer: YAMLMap, value: string | undefined): void {
  const existing = initializer.get("env", true);
  if (!isSeq(existing) && value === undefined) return;
  const env = ensureSeq(doc, initializer, "env");
  const at = env.items.findIndex((e) => isMap(e) && e.get("name") === COORDINATOR_TRUST_ENV);
  // Any duplicate would be ambiguous: keep at most the first, with our value.
  env.items = env.items.filter((e, i) =>
    i === at || !(isMap(e) && e.get("name") === COORDINATOR_TRUST_ENV)
  );
  if (value === undefined) {
    if (at >= 0) env.items.splice(at, 1);
    if (env.items.length === 0) initializer.delete("env");
    return;
  }
  if (at >= 0) {
    const entry = env.items[at] as YAMLMap;
    entry.delete("valueFrom");
    entry.set("value", value);
  } else env.add(plainNode(doc, { name: COORDINATOR_TRUST_ENV, value }));
}

function addSecretsMount(doc: Document, container: YAMLMap, settings: Settings): void {
  const mounts = ensureSeq(doc, container, "volumeMounts");
  if (findByName(mounts, settings.initializer.secrets_volume)) return;
  mounts.add(plainNode(doc, {
    name: settings.initializer.secrets_volume,
    mountPath: settings.initializer.secrets_mount_path,
  }));
}

/**
 * The sidecar's startup probe. The kubelet starts a pod's next container once a native sidecar's
 * startup probe passes, else as soon as its process runs: without one the application could
 * listen (and answer plain clients) before the proxy has installed its transparent-mode rules.
 * The probe passes once the proxy serves, which it does only after installing them: a TCP connect
 * to its first inbound listener, or `/ready` of its admin interface when it terminates no port;
 * none when it has neither. (The proxy gives up after 60 s without credentials and is restarted;
 * the probe allows 120.)
 */
function sidecarStartupProbe(
  mesh: InjectionPlan["meshConfig"],
): Record<string, Record<string, string | number> | number> | undefined {
  let listener: number | undefined;
  let admin: number | undefined;
  try {
    const config = parseMeshConfig(mesh, ENV_SOURCES);
    listener = config.inbound[0]?.listenerPort;
    admin = config.adminPort;
  } catch (error) {
    if (!(error instanceof MeshConfigError)) throw error;
    return undefined; // refused with its annotation named before injection
  }
  const timing = { periodSeconds: 1, failureThreshold: 120 };
  if (listener !== undefined) return { tcpSocket: { port: listener }, ...timing };
  if (admin !== undefined) return { httpGet: { path: "/ready", port: admin }, ...timing };
  return undefined;
}

/**
 * A volume of the user's pod with the name of the injected `contrast-secrets` volume must be
 * that memory emptyDir (as generate writes it, so re-running on its output passes): injection
 * keeps an existing volume of that name, and the initializer writes the mesh key and the
 * workload secret into it. A persistentVolumeClaim (or any other kind) there would put them into
 * the host's storage, and the policy, generated from the same YAML, would admit it.
 *
 * @param spec the pod spec as the policy data reads it (`resolvedValue` of
 *   `util/yaml/plain_tree.ts`: aliases and merge keys resolved), not its YAML nodes
 * @param at prefix of issue paths (`file: doc[0] spec.template.spec`)
 */
export function secretsVolumeIssues(
  spec: PlainPodSpec,
  settings: Settings,
  at: string,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  plainMaps(spec.volumes).forEach((plain, i) => {
    if (plain?.name !== settings.initializer.secrets_volume) return;
    const emptyDir = plain.emptyDir as Record<string, unknown> | null | undefined;
    const memoryEmptyDir = Object.keys(plain).every((k) => k === "name" || k === "emptyDir") &&
      typeof emptyDir === "object" && emptyDir !== null && emptyDir.medium === "Memory";
    if (memoryEmptyDir) return;
    issues.push({
      path: `${at}.volumes[${i}]`,
      reason: `volume "${settings.initializer.secrets_volume}" is where the initializer writes ` +
        "the mesh key and the workload secret: it must be the memory emptyDir contrast injects " +
        `(emptyDir: {medium: Memory}); rename this volume`,
    });
  });
  return issues;
}

/**
 * Fields of a `contrast-initializer` already in the input that injection keeps as written and
 * that cannot change where the initializer writes its outputs or whom it trusts (its image and
 * trust document are replaced; `env` and `volumeMounts` are checked entry by entry).
 */
const INITIALIZER_KEPT_FIELDS: ReadonlySet<string> = new Set([
  "name",
  "image",
  "env",
  "volumeMounts",
  "resources",
  "resizePolicy",
  "securityContext",
  "imagePullPolicy",
  "terminationMessagePath",
  "terminationMessagePolicy",
]);

/** Why a field of an existing initializer is refused (shared by every such issue). */
const INITIALIZER_FIELD_REASON = "decides where the initializer writes the mesh key and the " +
  "workload secret, or whom it trusts as the Coordinator: contrast writes the initializer's " +
  "options and mounts itself (its environment comes from the settings, -s initializer.env), " +
  "so an initializer in the input may differ only in the values of those variables, its " +
  "resources and its securityContext; remove this";

/**
 * Injection keeps a `contrast-initializer` init container already in the pod (its image and
 * trust document are replaced, so re-running on generated output changes nothing), and the
 * policy, generated from the same YAML, admits what it holds. Options or mounts of its own
 * could send the mesh key and workload secret elsewhere (`CONTRAST_SECRETS_DIR`, `--secrets-dir`,
 * a persistentVolumeClaim at `/contrast`: host storage) under the name of contrast's own
 * container, so it may hold only the variables the settings name (any value), the
 * `contrast-secrets` mount at its path, and fields that change neither.
 *
 * @param spec the pod spec as the policy data reads it (`resolvedValue`: aliases resolved)
 * @param at prefix of issue paths (`file: doc[0] spec.template.spec`)
 */
export function existingInitializerIssues(
  spec: PlainPodSpec,
  settings: Settings,
  at: string,
): FieldIssue[] {
  const init = plainMaps(spec.initContainers);
  const index = init.findIndex((c) => c?.name === INITIALIZER_NAME);
  if (index < 0) return [];
  const path = `${at}.initContainers[${index}]`;
  const container = init[index]!;
  const allowedEnv = new Set([
    ...settings.initializer.env.map((e) => e.name),
    COORDINATOR_TRUST_ENV,
  ]);
  const issues: FieldIssue[] = [];
  for (const [field, value] of Object.entries(container)) {
    if (!INITIALIZER_KEPT_FIELDS.has(field)) {
      issues.push({ path: `${path}.${field}`, reason: INITIALIZER_FIELD_REASON });
      continue;
    }
    if (field === "env" && Array.isArray(value)) {
      value.forEach((e, k) => {
        const name = (e as Record<string, unknown> | null)?.name;
        if (typeof name !== "string" || !allowedEnv.has(name)) {
          issues.push({
            path: `${path}.env[${k}]`,
            reason: `variable ${JSON.stringify(name)} ${INITIALIZER_FIELD_REASON}`,
          });
        }
      });
    }
    if (field === "volumeMounts" && Array.isArray(value)) {
      value.forEach((m, k) => {
        const mount = (m ?? {}) as Record<string, unknown>;
        const secretsMount = Object.keys(mount).every((key) =>
          key === "name" || key === "mountPath"
        ) &&
          mount.name === settings.initializer.secrets_volume &&
          mount.mountPath === settings.initializer.secrets_mount_path;
        if (!secretsMount) {
          issues.push({
            path: `${path}.volumeMounts[${k}]`,
            reason: `only {name: ${settings.initializer.secrets_volume}, mountPath: ` +
              `${settings.initializer.secrets_mount_path}}: a mount ${INITIALIZER_FIELD_REASON}`,
          });
        }
      });
    }
  }
  return issues;
}

/** Applies {@link InjectionPlan} to the pod spec map `spec`. */
export function injectIntoPodSpec(doc: Document, spec: YAMLMap, plan: InjectionPlan): void {
  const { settings } = plan;
  spec.set("runtimeClassName", settings.runtime_class_name);
  if (plan.initializerImage === undefined && plan.meshImage === undefined) return;

  const volumes = ensureSeq(doc, spec, "volumes");
  if (!findByName(volumes, settings.initializer.secrets_volume)) {
    volumes.add(
      plainNode(doc, { name: settings.initializer.secrets_volume, emptyDir: { medium: "Memory" } }),
    );
  }
  const init = ensureSeq(doc, spec, "initContainers");
  if (plan.meshImage !== undefined) {
    const env: ({ name: string; value: string } | {
      name: string;
      valueFrom: { resourceFieldRef: { containerName: string; resource: string } };
    })[] = [];
    if (plan.meshConfig.ingress !== undefined) {
      env.push({ name: INGRESS_ENV, value: plan.meshConfig.ingress });
    }
    if (plan.meshConfig.egress !== undefined) {
      env.push({ name: EGRESS_ENV, value: plan.meshConfig.egress });
    }
    if (plan.meshConfig.egressSans !== undefined) {
      env.push({ name: EGRESS_SANS_ENV, value: plan.meshConfig.egressSans });
    }
    // Always named, empty without an admin interface: the policy admits a variable shaped like a
    // Kubernetes service link (`<NAME>_PORT`) with any value unless the container names it, and
    // the proxy opens its admin port to the network (in place of that port's mutual TLS).
    env.push({ name: ADMIN_PORT_ENV, value: plan.meshConfig.admin ?? "" });
    if (plan.meshConfig.podPorts) {
      env.push({ name: POD_PORTS_ENV, value: plan.meshConfig.podPorts });
    }
    if (plan.meshConfig.limits !== undefined) {
      env.push({ name: LIMITS_ENV, value: plan.meshConfig.limits });
    }
    // The proxy bounds its connections by its memory limit, and in contrast's image it cannot
    // read the cgroup's memory.max: the kubelet writes the sidecar's limits.memory here (bytes;
    // the node's allocatable memory when the sidecar has no limit). The policy admits any number
    // for it: a host-chosen value affects availability only (see the README).
    env.push({
      name: MEMORY_LIMIT_ENV,
      valueFrom: {
        resourceFieldRef: { containerName: MESH_SIDECAR_NAME, resource: "limits.memory" },
      },
    });
    const probeKey = JSON.stringify(plan.meshConfig);
    let startupProbe = plan.startupProbes?.get(probeKey);
    if (startupProbe === undefined && plan.startupProbes?.has(probeKey) !== true) {
      startupProbe = sidecarStartupProbe(plan.meshConfig);
      plan.startupProbes?.set(probeKey, startupProbe);
    }
    const { memoryLimit, memoryRequest } = plan.meshConfig;
    const resources = {
      ...(memoryLimit !== undefined ? { limits: { memory: memoryLimit } } : {}),
      ...(memoryRequest !== undefined ? { requests: { memory: memoryRequest } } : {}),
    };
    const sidecar = plainNode(doc, {
      name: MESH_SIDECAR_NAME,
      image: plan.meshImage,
      restartPolicy: "Always",
      env,
      ...(startupProbe ? { startupProbe } : {}),
      ...(Object.keys(resources).length > 0 ? { resources } : {}),
      // The proxy image runs as root: Kubernetes grants added capabilities (NET_ADMIN for the
      // transparent-mode rules) only to root processes. Named here so a pod-level runAsUser or
      // runAsNonRoot does not take them away. Root keeps nothing else: every other capability
      // dropped, no privilege escalation, a read-only root filesystem.
      securityContext: {
        privileged: false,
        runAsUser: 0,
        runAsGroup: 0,
        runAsNonRoot: false,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: {
          drop: ["ALL"],
          add: settings.service_mesh.capabilities_add.map((c) => c.replace(/^CAP_/, "")),
        },
      },
    }) as YAMLMap;
    const existing = init.items.findIndex((i) => isMap(i) && i.get("name") === MESH_SIDECAR_NAME);
    if (existing >= 0) init.items.splice(existing, 1);
    init.items.unshift(sidecar);
  }
  if (plan.initializerImage !== undefined) {
    let initializer = findByName(init, INITIALIZER_NAME);
    if (initializer) {
      initializer.set("image", plan.initializerImage);
      const index = init.items.indexOf(initializer);
      if (index > 0) {
        init.items.splice(index, 1);
        init.items.unshift(initializer);
      }
    } else {
      const env = settings.initializer.env
        .filter((e) => e.name !== COORDINATOR_TRUST_ENV)
        .map((e) => ({ name: e.name, value: e.value }));
      initializer = plainNode(doc, {
        name: INITIALIZER_NAME,
        image: plan.initializerImage,
        ...(env.length > 0 ? { env } : {}),
      }) as YAMLMap;
      init.items.unshift(initializer);
    }
    setTrustEnv(doc, initializer, plan.coordinatorTrust);
  }
  for (const container of containerNodes(spec)) addSecretsMount(doc, container, settings);
}

/** Replaces every container image with its pinned reference. */
export function pinImages(spec: YAMLMap, pinned: (image: string) => string): void {
  for (const container of containerNodes(spec)) {
    const image = container.get("image");
    if (typeof image === "string") {
      const node = container.get("image", true);
      if (isScalar(node)) node.value = pinned(image);
      else container.set("image", pinned(image));
    }
  }
}

/**
 * Writes the initdata annotation into the pod metadata map and drops the legacy one; returns the
 * annotations map.
 */
export function setInitdataAnnotation(doc: Document, meta: YAMLMap, value: string): YAMLMap {
  const annotations = ensureMap(doc, meta, "annotations");
  annotations.set(INITDATA_ANNOTATION, value);
  if (annotations.has(LEGACY_POLICY_ANNOTATION)) annotations.delete(LEGACY_POLICY_ANNOTATION);
  return annotations;
}

/**
 * The mesh annotations of the pod, when any of ingress, egress or admin port is set (the limits
 * and memory annotations alone add no sidecar).
 */
export function meshConfigOf(
  annotations: Readonly<Record<string, unknown>>,
): InjectionPlan["meshConfig"] | undefined {
  const pick = (k: string) =>
    annotations[k] === undefined || annotations[k] === null ? undefined : String(annotations[k]);
  const config = {
    ingress: pick(MESH_INGRESS_ANNOTATION),
    egress: pick(MESH_EGRESS_ANNOTATION),
    admin: pick(MESH_ADMIN_ANNOTATION),
  };
  if (config.ingress === undefined && config.egress === undefined && config.admin === undefined) {
    return undefined;
  }
  const limits = pick(MESH_LIMITS_ANNOTATION);
  const memoryLimit = pick(MESH_MEMORY_LIMIT_ANNOTATION);
  const memoryRequest = pick(MESH_MEMORY_REQUEST_ANNOTATION);
  return {
    ...config,
    ...(limits !== undefined ? { limits } : {}),
    ...(memoryLimit !== undefined ? { memoryLimit } : {}),
    ...(memoryRequest !== undefined ? { memoryRequest } : {}),
  };
}
