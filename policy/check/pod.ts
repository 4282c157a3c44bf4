/**
 * The parts of Kubernetes workloads the request builder reads: each pod template with the
 * controller that owns it, plus the ConfigMaps, Secrets and Services its environment refers to.
 * Input is the plain object a YAML document parses to; wrong types are reported with their path.
 *
 * @module
 */
import { ParseError } from "../../util/errors/mod.ts";
import type { PodOwnerKind } from "./random_ids.ts";

/** A plain JSON-like object. */
type Obj = Record<string, unknown>;

/** An environment variable of a container, literal or from a ConfigMap/Secret/field. */
interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: Obj;
}

/** A volume mount of a container. */
export interface VolumeMount {
  readonly name: string;
  readonly mountPath: string;
  readonly readOnly: boolean;
  readonly subPath: string;
  /** The bind mount's propagation option (`mountPropagation`: None, HostToContainer, Bidirectional). */
  readonly propagation: "rprivate" | "rslave" | "rshared";
}

/** A container's security context, as far as it shapes the OCI process. */
interface SecurityContext {
  readonly privileged: boolean;
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly readOnlyRootFilesystem: boolean;
  readonly allowPrivilegeEscalation?: boolean;
  readonly capabilitiesAdd: readonly string[];
  readonly capabilitiesDrop: readonly string[];
}

/** A container (regular, init or native sidecar) of a pod template. */
export interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly workingDir: string;
  readonly env: readonly EnvVar[];
  readonly envFrom: readonly Obj[];
  readonly volumeMounts: readonly VolumeMount[];
  /** GPUs passed through with VFIO (`resources.limits["nvidia.com/pgpu"]`), 0 for none. */
  readonly gpus: number;
  /** Raw block volumes (`volumeDevices`): the volume and the device's path in the container. */
  readonly volumeDevices: readonly { readonly name: string; readonly devicePath: string }[];
  readonly securityContext: SecurityContext;
  /**
   * Commands kubelet execs in the container: exec probes (liveness, readiness, startup) and exec
   * lifecycle hooks (postStart, preStop), in that order.
   */
  readonly execProbes: readonly (readonly string[])[];
  readonly tty: boolean;
  readonly stdin: boolean;
  /** Where kubelet mounts the termination log (default `/dev/termination-log`). */
  readonly terminationMessagePath: string;
  /** An init container with `restartPolicy: Always` (a native sidecar). */
  readonly sidecar: boolean;
  /** Path of the container in its document, e.g. `spec.template.spec.containers[0]`. */
  readonly path: string;
}

/** A pod volume, with its source kind (`emptyDir`, `configMap`, …) and definition. */
export interface Volume {
  readonly name: string;
  readonly kind: string;
  readonly source: Obj;
}

/** The pod-level settings the runtime uses. */
export interface PodSpec {
  readonly initContainers: readonly Container[];
  readonly containers: readonly Container[];
  readonly volumes: readonly Volume[];
  /** `spec.hostname` (undefined: the pod name). */
  readonly hostname?: string;
  /** `spec.subdomain`. */
  readonly subdomain?: string;
  /** `spec.setHostnameAsFQDN`. */
  readonly setHostnameAsFQDN: boolean;
  /** `spec.hostnameOverride` (Kubernetes 1.34+). */
  readonly hostnameOverride?: string;
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly fsGroup?: number;
  readonly supplementalGroups: readonly number[];
  /** `securityContext.sysctls` as name to value (containerd sets them on every container). */
  readonly sysctls: Readonly<Record<string, string>>;
  readonly automountServiceAccountToken: boolean;
  readonly enableServiceLinks: boolean;
  readonly shareProcessNamespace: boolean;
  readonly runtimeClassName: string;
  readonly serviceAccountName: string;
}

/** One pod template of a workload, with what names and annotates the pods made from it. */
export interface PodWorkload {
  /** The owning kind as written (Pod, Deployment, …). */
  readonly kind: PodOwnerKind;
  /** `metadata.name`, or for a Pod with only `metadata.generateName` that prefix. */
  readonly name: string;
  /** A Pod named by the API server: `name` is the prefix of its generated name. */
  readonly generateName?: boolean;
  readonly namespace: string;
  /** Annotations of the pod (template) metadata. */
  readonly annotations: Readonly<Record<string, string>>;
  /** Labels of the pod (template) metadata. */
  readonly labels: Readonly<Record<string, string>>;
  readonly spec: PodSpec;
  /** Where the workload came from, e.g. `app.yml#2`. */
  readonly origin: string;
  /** Path of the pod template in the document, e.g. `spec.template`. */
  readonly templatePath: string;
}

/** A Service the kubelet makes variables of: its name and ports (`spec.ports`). */
interface ServiceObject {
  readonly name: string;
  readonly ports: readonly ServicePort[];
}

/** One port of a Service: number, name (empty for an unnamed first port), protocol (`TCP`…). */
interface ServicePort {
  readonly port: number;
  readonly name: string;
  readonly protocol: string;
}

/** ConfigMaps, Secrets and Services of the input, by namespace and name. */
export interface ClusterObjects {
  readonly configMaps: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly secrets: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** Services by namespace: name and first port. */
  readonly services: ReadonlyMap<string, readonly ServiceObject[]>;
}

/** Key of a namespaced object in {@link ClusterObjects}. */
export function objectKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

const TEMPLATE_PATHS: Record<string, string[]> = {
  Pod: [],
  Deployment: ["spec", "template"],
  ReplicaSet: ["spec", "template"],
  ReplicationController: ["spec", "template"],
  StatefulSet: ["spec", "template"],
  DaemonSet: ["spec", "template"],
  Job: ["spec", "template"],
  CronJob: ["spec", "jobTemplate", "spec", "template"],
};

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function obj(v: unknown, path: string): Obj {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw new ParseError(path, "expected an object");
  return v;
}

function list(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ParseError(path, "expected a list");
  return v;
}

function str(v: unknown, path: string, fallback?: string): string {
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new ParseError(path, "required string is missing");
  }
  if (typeof v !== "string") throw new ParseError(path, "expected a string");
  return v;
}

function optInt(v: unknown, path: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new ParseError(path, "expected an integer");
  }
  return v;
}

function bool(v: unknown, path: string, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "boolean") throw new ParseError(path, "expected true or false");
  return v;
}

function strings(v: unknown, path: string): string[] {
  return list(v, path).map((x, i) => str(x, `${path}[${i}]`));
}

function stringMap(v: unknown, path: string): Record<string, string> {
  const o = obj(v, path);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(o)) out[k] = str(x, `${path}.${k}`);
  return out;
}

function readSecurityContext(v: unknown, path: string): SecurityContext {
  const o = obj(v, path);
  const caps = obj(o.capabilities, `${path}.capabilities`);
  return {
    privileged: bool(o.privileged, `${path}.privileged`, false),
    runAsUser: optInt(o.runAsUser, `${path}.runAsUser`),
    runAsGroup: optInt(o.runAsGroup, `${path}.runAsGroup`),
    readOnlyRootFilesystem: bool(o.readOnlyRootFilesystem, `${path}.readOnlyRootFilesystem`, false),
    allowPrivilegeEscalation: o.allowPrivilegeEscalation === undefined
      ? undefined
      : bool(o.allowPrivilegeEscalation, `${path}.allowPrivilegeEscalation`, true),
    capabilitiesAdd: strings(caps.add, `${path}.capabilities.add`),
    capabilitiesDrop: strings(caps.drop, `${path}.capabilities.drop`),
  };
}

function readContainer(v: unknown, path: string, isInit: boolean): Container {
  const o = obj(v, path);
  const probes: string[][] = [];
  for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
    const p = obj(o[probe], `${path}.${probe}`);
    if (p.exec !== undefined) {
      const exec = obj(p.exec, `${path}.${probe}.exec`);
      probes.push(strings(exec.command, `${path}.${probe}.exec.command`));
    }
  }
  const lifecycle = obj(o.lifecycle, `${path}.lifecycle`);
  for (const hook of ["postStart", "preStop"]) {
    const h = obj(lifecycle[hook], `${path}.lifecycle.${hook}`);
    if (h.exec !== undefined) {
      const exec = obj(h.exec, `${path}.lifecycle.${hook}.exec`);
      probes.push(strings(exec.command, `${path}.lifecycle.${hook}.exec.command`));
    }
  }
  const restartPolicy = str(o.restartPolicy, `${path}.restartPolicy`, "");
  return {
    name: str(o.name, `${path}.name`),
    image: str(o.image, `${path}.image`),
    command: o.command === undefined ? undefined : strings(o.command, `${path}.command`),
    args: o.args === undefined ? undefined : strings(o.args, `${path}.args`),
    workingDir: str(o.workingDir, `${path}.workingDir`, ""),
    env: list(o.env, `${path}.env`).map((e, i) => {
      const p = `${path}.env[${i}]`;
      const eo = obj(e, p);
      return {
        name: str(eo.name, `${p}.name`),
        value: eo.value === undefined ? undefined : str(eo.value, `${p}.value`),
        valueFrom: eo.valueFrom === undefined ? undefined : obj(eo.valueFrom, `${p}.valueFrom`),
      };
    }),
    envFrom: list(o.envFrom, `${path}.envFrom`).map((e, i) => obj(e, `${path}.envFrom[${i}]`)),
    volumeMounts: list(o.volumeMounts, `${path}.volumeMounts`).map((m, i) => {
      const p = `${path}.volumeMounts[${i}]`;
      const mo = obj(m, p);
      return {
        name: str(mo.name, `${p}.name`),
        mountPath: str(mo.mountPath, `${p}.mountPath`),
        readOnly: bool(mo.readOnly, `${p}.readOnly`, false),
        subPath: str(mo.subPath, `${p}.subPath`, ""),
        propagation: propagationOf(mo.mountPropagation, `${p}.mountPropagation`),
      };
    }),
    gpus: gpuLimit(o.resources, `${path}.resources`),
    volumeDevices: list(o.volumeDevices, `${path}.volumeDevices`).map((d, i) => {
      const p = `${path}.volumeDevices[${i}]`;
      const dobj = obj(d, p);
      return {
        name: str(dobj.name, `${p}.name`),
        devicePath: str(dobj.devicePath, `${p}.devicePath`),
      };
    }),
    securityContext: readSecurityContext(o.securityContext, `${path}.securityContext`),
    execProbes: probes,
    tty: bool(o.tty, `${path}.tty`, false),
    stdin: bool(o.stdin, `${path}.stdin`, false),
    terminationMessagePath: str(
      o.terminationMessagePath,
      `${path}.terminationMessagePath`,
      "/dev/termination-log",
    ),
    sidecar: isInit && restartPolicy === "Always",
    path,
  };
}

/** `limits["nvidia.com/pgpu"]` of a container's resources (a count, or a decimal string). */
function gpuLimit(v: unknown, path: string): number {
  if (v === undefined || v === null) return 0;
  const limits = obj(obj(v, path).limits ?? {}, `${path}.limits`);
  const n = limits["nvidia.com/pgpu"];
  if (n === undefined) return 0;
  const count = typeof n === "number" ? n : Number(str(n, `${path}.limits["nvidia.com/pgpu"]`));
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new ParseError(`${path}.limits["nvidia.com/pgpu"]`, "must be a whole number of GPUs");
  }
  return count;
}

function readPodSpec(v: unknown, path: string): PodSpec {
  const o = obj(v, path);
  const sc = obj(o.securityContext, `${path}.securityContext`);
  const containers = list(o.containers, `${path}.containers`).map((c, i) =>
    readContainer(c, `${path}.containers[${i}]`, false)
  );
  if (containers.length === 0) {
    throw new ParseError(`${path}.containers`, "a pod needs a container");
  }
  return {
    initContainers: list(o.initContainers, `${path}.initContainers`).map((c, i) =>
      readContainer(c, `${path}.initContainers[${i}]`, true)
    ),
    containers,
    volumes: list(o.volumes, `${path}.volumes`).map((vol, i) => {
      const p = `${path}.volumes[${i}]`;
      const vo = obj(vol, p);
      const kinds = Object.keys(vo).filter((k) => k !== "name");
      if (kinds.length !== 1) throw new ParseError(p, "a volume needs exactly one source");
      return { name: str(vo.name, `${p}.name`), kind: kinds[0], source: obj(vo[kinds[0]], p) };
    }),
    ...(o.hostname === undefined ? {} : { hostname: str(o.hostname, `${path}.hostname`) }),
    ...(o.subdomain === undefined ? {} : { subdomain: str(o.subdomain, `${path}.subdomain`) }),
    setHostnameAsFQDN: bool(o.setHostnameAsFQDN, `${path}.setHostnameAsFQDN`, false),
    ...(o.hostnameOverride === undefined
      ? {}
      : { hostnameOverride: str(o.hostnameOverride, `${path}.hostnameOverride`) }),
    runAsUser: optInt(sc.runAsUser, `${path}.securityContext.runAsUser`),
    runAsGroup: optInt(sc.runAsGroup, `${path}.securityContext.runAsGroup`),
    fsGroup: optInt(sc.fsGroup, `${path}.securityContext.fsGroup`),
    supplementalGroups: list(sc.supplementalGroups, `${path}.securityContext.supplementalGroups`)
      .map((g, i) => optInt(g, `${path}.securityContext.supplementalGroups[${i}]`) ?? 0),
    sysctls: Object.fromEntries(
      list(sc.sysctls, `${path}.securityContext.sysctls`).map((s, i) => {
        const entry = obj(s, `${path}.securityContext.sysctls[${i}]`);
        return [String(entry.name ?? ""), String(entry.value ?? "")];
      }),
    ),
    automountServiceAccountToken: bool(
      o.automountServiceAccountToken,
      `${path}.automountServiceAccountToken`,
      true,
    ),
    enableServiceLinks: bool(o.enableServiceLinks, `${path}.enableServiceLinks`, true),
    shareProcessNamespace: bool(o.shareProcessNamespace, `${path}.shareProcessNamespace`, false),
    runtimeClassName: str(o.runtimeClassName, `${path}.runtimeClassName`, ""),
    serviceAccountName: str(o.serviceAccountName, `${path}.serviceAccountName`, "default"),
  };
}

/**
 * Reads the pod template of a workload document, or returns undefined when the document is not
 * a kind that makes pods.
 *
 * @throws {ParseError} naming the path when a field has the wrong type
 */
export function readWorkload(
  doc: unknown,
  origin: string,
  defaultNamespace = "default",
): PodWorkload | undefined {
  if (!isObj(doc)) return undefined;
  const kind = typeof doc.kind === "string" ? doc.kind : "";
  const route = TEMPLATE_PATHS[kind];
  if (route === undefined) return undefined;
  const meta = obj(doc.metadata, "metadata");
  // A Pod may leave its name to the API server (`generateName`: the prefix, 5 characters added).
  const generateName = kind === "Pod" && meta.name === undefined &&
    typeof meta.generateName === "string";
  const name = generateName
    ? str(meta.generateName, "metadata.generateName")
    : str(meta.name, "metadata.name");
  const namespace = str(meta.namespace, "metadata.namespace", defaultNamespace);
  let template: unknown = doc;
  for (const key of route) template = obj(template, route.join("."))[key];
  const templatePath = route.join(".");
  const t = obj(template, templatePath || "(root)");
  const tmeta = obj(t.metadata, `${templatePath}.metadata`);
  const spec = readPodSpec(t.spec, templatePath ? `${templatePath}.spec` : "spec");
  const claims = kind === "StatefulSet"
    ? list(obj(doc.spec, "spec").volumeClaimTemplates, "spec.volumeClaimTemplates").map((c, i) => {
      const meta = obj(obj(c, `spec.volumeClaimTemplates[${i}]`).metadata, "metadata");
      return {
        name: str(meta.name, `spec.volumeClaimTemplates[${i}].metadata.name`),
        kind: "persistentVolumeClaim",
        source: {},
      };
    })
    : [];
  return {
    kind: kind as PodOwnerKind,
    name,
    ...(generateName ? { generateName } : {}),
    namespace,
    annotations: stringMap(tmeta.annotations, `${templatePath}.metadata.annotations`),
    labels: stringMap(tmeta.labels, `${templatePath}.metadata.labels`),
    spec: { ...spec, volumes: [...spec.volumes, ...claims] },
    origin,
    templatePath,
  };
}

/**
 * Collects ConfigMaps, Secrets (decoded) and Services from parsed documents; those without
 * `metadata.namespace` are in `defaultNamespace` (where they will be applied).
 */
export function readClusterObjects(
  docs: readonly unknown[],
  defaultNamespace = "default",
): ClusterObjects {
  const configMaps = new Map<string, Record<string, string>>();
  const secrets = new Map<string, Record<string, string>>();
  const services = new Map<string, ServiceObject[]>();
  for (const doc of docs) {
    if (!isObj(doc) || !isObj(doc.metadata) || typeof doc.metadata.name !== "string") continue;
    const ns = typeof doc.metadata.namespace === "string"
      ? doc.metadata.namespace
      : defaultNamespace;
    const key = objectKey(ns, doc.metadata.name);
    if (doc.kind === "ConfigMap") {
      configMaps.set(key, stringMap(doc.data, "data"));
    } else if (doc.kind === "Secret") {
      const data: Record<string, string> = {};
      for (const [k, v] of Object.entries(stringMap(doc.data, "data"))) {
        data[k] = new TextDecoder().decode(Uint8Array.from(atob(v), (c) => c.charCodeAt(0)));
      }
      Object.assign(data, stringMap(doc.stringData, "stringData"));
      secrets.set(key, data);
    } else if (doc.kind === "Service") {
      const spec = obj(doc.spec, "spec");
      if (spec.clusterIP === "None") continue;
      const ports = list(spec.ports, "spec.ports").map((p, i) => {
        const o = obj(p, `spec.ports[${i}]`);
        return {
          port: typeof o.port === "number" ? o.port : 0,
          name: typeof o.name === "string" ? o.name : "",
          protocol: typeof o.protocol === "string" ? o.protocol : "TCP",
        };
      });
      // The kubelet makes variables only of Services with a port (the API server requires one).
      if (ports.length === 0) continue;
      const entry = services.get(ns) ?? [];
      entry.push({ name: doc.metadata.name, ports });
      services.set(ns, entry);
    }
  }
  return { configMaps, secrets, services };
}

/**
 * The bind-mount option of a volumeMount's `mountPropagation`, as containerd sets it.
 *
 * @throws {ParseError} naming `path` for another value
 */
function propagationOf(value: unknown, path: string): VolumeMount["propagation"] {
  if (value === undefined || value === null || value === "None") return "rprivate";
  if (value === "HostToContainer") return "rslave";
  if (value === "Bidirectional") return "rshared";
  throw new ParseError(path, "must be None, HostToContainer or Bidirectional");
}
