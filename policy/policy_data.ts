/**
 * Builds a pod's `policy_data`: the pause container, init containers, native sidecars and
 * containers with their expected OCI process, mounts, storages, capabilities, namespaces,
 * sysctls, exec probes and image digests, plus the expected sandbox-name pattern of the
 * controller kind. Pure: images and ConfigMaps/Secrets come in resolved.
 *
 * @module
 */
import type { ResolvedImage } from "../oci/types.ts";
import type { ParseError } from "../util/errors/mod.ts";
import { childPath, IssueList } from "../util/json/mod.ts";
import { DEFAULT_CLUSTER_DOMAIN, podHostnamePattern } from "./hostname.ts";
import {
  type ConfigSource,
  envExpectation,
  expandVars,
  type PodFacts,
  resolveEnv,
  serviceVariables,
  type UndefinedVariable,
} from "./env.ts";
import type {
  CapabilitySets,
  ContainerExpectation,
  ContainerKind,
  DeviceExpectation,
  MountExpectation,
  PolicyData,
  StorageExpectation,
} from "./policy_data_types.ts";
import {
  escapeRegex,
  exactRegex,
  hasSecret,
  isLiteral,
  literalText,
  type PartialValue,
  unanchor,
  valueRegex,
} from "./regex.ts";
import { cleanDestination, mountOrder } from "./mount_order.ts";
import { type PatternShapeCache, patternShapesOf } from "./pattern_shapes.ts";
import type { Settings } from "./settings.ts";
import type { SharedPolicyValues } from "./shared_values.ts";
import { parseUserTables, resolveUser } from "./user.ts";

/** Kinds whose pod template gets a policy. */
export const WORKLOAD_KINDS = [
  "Pod",
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "ReplicaSet",
  "ReplicationController",
  "Job",
  "CronJob",
] as const;

/** A kind that carries a pod (template). */
export type WorkloadKind = typeof WORKLOAD_KINDS[number];

/** Everything needed to build one pod's policy data. */
export interface PodPolicyInput {
  readonly kind: WorkloadKind;
  /** `metadata.name` of the resource (for a generateName Pod: the prefix). */
  readonly name: string;
  /** True when `name` is a Pod's `generateName` prefix. */
  readonly generateName?: boolean;
  readonly namespace: string;
  /** Pod metadata (labels/annotations) of the pod or template. */
  readonly podMetadata: Record<string, unknown>;
  /** The pod spec as deployed (after contrast's injections, images pinned). */
  readonly podSpec: Record<string, unknown>;
  /** Path of the pod spec for error messages, e.g. `app.yml[2]: spec.template.spec`. */
  readonly specPath: string;
  /** Resolved images by the reference string used in the pod spec. */
  readonly images: ReadonlyMap<string, ResolvedImage>;
  readonly config: ConfigSource;
  readonly settings: Settings;
  /** Extra persistent volume names (StatefulSet volumeClaimTemplates). */
  readonly claimTemplates?: readonly string[];
  /**
   * The encrypted-volume container of a `secure-pv` pod: the one container allowed a raw block
   * device (`volumeDevices`), exactly this device volume at this path, and only when privileged.
   */
  readonly securePv?: {
    readonly container: string;
    readonly deviceVolume: string;
    readonly devicePath: string;
  };
  /** Pattern shapes worked out for earlier pods of the same run, reused and extended. */
  readonly patternShapeCache?: PatternShapeCache;
  /**
   * The nodes' cluster domain (the kubelet's `--cluster-domain`), part of the hostname of a pod
   * with `setHostnameAsFQDN` (default `cluster.local`).
   */
  readonly clusterDomain?: string;
  /**
   * The parts that depend on the settings alone, shared by the pods of the same run (used only
   * when made for these very {@link settings}).
   */
  readonly sharedValues?: SharedPolicyValues;
}

/**
 * A container ID in patterns: what Kata's agent accepts (kata-sys-util `verify_id`): a letter or
 * digit, then letters, digits, `_`, `.` or `-` — one path element, never `.` or `..`. containerd's
 * 64 hex characters are one case. rules.rego decides patterns holding it without a regex.
 */
const KATA_ID = "[A-Za-z0-9][A-Za-z0-9_.-]+";

/** Random suffix of generated names (`GenerateName`), after a base of at most 58 characters. */
const RANDOM_SUFFIX = "[a-z0-9]{5}";
const MAX_GENERATED_BASE = 58;

interface VariablePart {
  /** Unanchored pattern of the controller-chosen part, with its trailing `-`. */
  readonly pattern: string;
  /** Longest text it can be. */
  readonly maxLength: number;
  /** Character class of that text, for when the base is cut in the middle of it. */
  readonly chars: string;
  readonly optional?: boolean;
}

/**
 * The pattern of a name Kubernetes generates from `<name>-<variable>` plus five random
 * characters, cutting the base to 58 characters as the API server does.
 */
function generatedName(name: string, variable?: VariablePart): string {
  const base = `${name}-`;
  if (base.length >= MAX_GENERATED_BASE) {
    return `${escapeRegex(base.slice(0, MAX_GENERATED_BASE))}${RANDOM_SUFFIX}`;
  }
  const literal = `${escapeRegex(name)}-`;
  if (!variable) return `${literal}${RANDOM_SUFFIX}`;
  const room = MAX_GENERATED_BASE - base.length;
  const optional = variable.optional ? "?" : "";
  if (variable.maxLength <= room) {
    const v = variable.optional ? `(${variable.pattern})?` : variable.pattern;
    return `${literal}${v}${RANDOM_SUFFIX}`;
  }
  return `${literal}(${variable.pattern}|${variable.chars}{${room}})${optional}${RANDOM_SUFFIX}`;
}

/**
 * A `generateName` Pod's name after its prefix: exactly the 5 random lower-case alphanumerics the
 * API server appends. genpolicy accepts any DNS-name suffix; contrast is stricter, because the name
 * also reaches the pod's hostname and `metadata.name` environment variables, where a longer suffix
 * chosen by the host (`api-x.attacker.example`) could steer a workload that builds URLs or
 * certificate names from them.
 */
const GENERATE_NAME_SUFFIX = "[a-z0-9]{5}";

/**
 * The unanchored pattern pods of a `kind` named `name` get as their name; with `generateName`, the
 * prefix (cut to 58 characters, as the API server cuts it before appending its 5 characters) and
 * the 5-character suffix ({@link GENERATE_NAME_SUFFIX}).
 */
export function podNamePattern(kind: WorkloadKind, name: string, generateName = false): string {
  if (generateName) {
    return `${escapeRegex(name.slice(0, MAX_GENERATED_BASE))}${GENERATE_NAME_SUFFIX}`;
  }
  switch (kind) {
    case "Pod":
      return escapeRegex(name);
    case "StatefulSet":
      return `${escapeRegex(name)}-[0-9]+`;
    case "Deployment":
      // ReplicaSet `<name>-<pod-template-hash>`, then the pod's generated suffix.
      return generatedName(name, { pattern: "[a-z0-9]{1,10}-", maxLength: 11, chars: "[a-z0-9-]" });
    case "Job":
      // Indexed Jobs put the completion index before the suffix.
      return generatedName(name, {
        pattern: "[0-9]+-",
        maxLength: 7,
        chars: "[0-9-]",
        optional: true,
      });
    case "CronJob":
      // Job `<name>-<scheduled minute>`, maybe indexed, then the pod's suffix.
      return generatedName(name, {
        pattern: "[0-9]{1,11}-([0-9]+-)?",
        maxLength: 19,
        chars: "[0-9-]",
      });
    default:
      return generatedName(name);
  }
}

const SUPPORTED_VOLUMES = [
  "emptyDir",
  "configMap",
  "secret",
  "downwardAPI",
  "projected",
  "persistentVolumeClaim",
] as const;

interface VolumeInfo {
  readonly kind: typeof SUPPORTED_VOLUMES[number];
  readonly memory: boolean;
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v)
    ? v as Record<string, unknown>
    : {};
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** The propagation option of a volumeMount's `mountPropagation` (undefined: not a valid value). */
function mountPropagationOption(value: unknown): string | undefined {
  if (value === undefined || value === null || value === "None") return "rprivate";
  if (value === "HostToContainer") return "rslave";
  if (value === "Bidirectional") return "rshared";
  return undefined;
}

/** A volumeMount's `subPath` or `subPathExpr` (field and value) when set and not empty. */
function subPathOf(
  m: Record<string, unknown>,
): { field: "subPath" | "subPathExpr"; value: string } | undefined {
  for (const field of ["subPath", "subPathExpr"] as const) {
    const value = m[field];
    if (typeof value === "string" && value !== "") return { field, value };
  }
  return undefined;
}

/**
 * Why an emptyDir mounted with a `subPath`/`subPathExpr` is refused. kubelet bind-mounts the
 * subdirectory to `/var/lib/kubelet/pods/<uid>/volume-subpaths/<volume>/<container>/<index>`, and
 * Kata's runtime recognises an emptyDir only by its source's parent directory being
 * `kubernetes.io~empty-dir` (runtime `isEmptyDir`, runtime-rs `is_empty_dir`), so it shares that
 * host directory into the guest like any bind mount: the data would live in storage the host
 * controls instead of the guest-local volume (for a secure-pv mount volume: beside the encrypted
 * disk, which stays unused). Upstream genpolicy refuses `subPath` for the same reason.
 */
function emptyDirSubPathReason(
  pod: PodContext,
  container: string,
  volume: string,
  sub: { field: string; value: string },
): string {
  return `container "${container}" of ${pod.input.kind} "${pod.input.name}" mounts emptyDir ` +
    `volume "${volume}" with ${sub.field} ${JSON.stringify(sub.value)}: Kata does not recognise ` +
    "kubelet's subPath bind mount as an emptyDir and shares that host directory into the VM, so " +
    "the data would be stored and readable outside the confidential VM; mount the whole volume " +
    "(no subPath/subPathExpr), e.g. at a parent directory or with a distinct emptyDir per use";
}

/** Source pattern of a file share: `<id>-<16 hex>-<last element of the destination>`. */
function sharedFileRegex(destination: string): string {
  const base = destination.split("/").filter((x) => x !== "").at(-1) ?? "";
  return `^/run/kata-containers/shared/containers/${KATA_ID}-[a-z0-9]{16}-${escapeRegex(base)}$`;
}

/** The mount with `ro` turned into `rw` when it is sysfs or the cgroup filesystem. */
/** Kernel filesystems a container may lack (rules.rego `mounts_ok`): they hold no data. */
const KERNEL_FS_TYPES: ReadonlySet<string> = new Set([
  "proc",
  "sysfs",
  "cgroup",
  "devpts",
  "mqueue",
]);

/**
 * `m`, optional when it is a kernel filesystem or (`share`) a share whose content the host
 * provides anyway: without it the container sees its pinned image's files there.
 */
function optionalWhereHarmless(m: MountExpectation, share = false): MountExpectation {
  return share || KERNEL_FS_TYPES.has(m.type) ? { ...m, optional: true } : m;
}

function sysfsWritable(m: MountExpectation): MountExpectation {
  return m.destination === "/sys" || m.destination === "/sys/fs/cgroup"
    ? { ...m, options: m.options.map((o) => (o === "ro" ? "rw" : o)) }
    : m;
}

/**
 * The value of `key` shared by the pods of the run (`input.sharedValues`, see
 * `shared_values.ts`), or `make()` without one. `key` must name everything `make` depends on
 * besides the settings.
 */
function shared<T>(input: PodPolicyInput, key: string, make: () => T): T {
  return input.sharedValues ? input.sharedValues.get(input.settings, key, make) : make();
}

function capName(c: string): string {
  const upper = c.toUpperCase();
  return upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
}

function sorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/** What every container expectation of one pod shares, worked out once per pod. */
interface PodContext {
  readonly input: PodPolicyInput;
  readonly settings: Settings;
  readonly issues: IssueList;
  readonly facts: PodFacts;
  /** `securityContext` of the pod. */
  readonly podSecurity: Record<string, unknown>;
  readonly volumes: ReadonlyMap<string, VolumeInfo>;
  /** Volumes refused (unsupported type): their mounts get no second error. */
  readonly refusedVolumes: ReadonlySet<string>;
  readonly sysctls: Readonly<Record<string, string>>;
  /** Sysctls the runtime may leave out (the defaults the pod does not set itself). */
  readonly optionalSysctls: readonly string[];
  /** The runtime's default mounts (the cgroup mount with its optional options). */
  readonly defaultMounts: readonly MountExpectation[];
  readonly namespaces: readonly string[];
  /** Unanchored patterns of the pod name and hostname. */
  readonly namePattern: string;
  readonly hostname: string;
  readonly envRegexes: readonly string[];
  /** `$(NAME)` of a service variable the pod does not define (see `serviceVariables`). */
  readonly undefinedVariable: UndefinedVariable;
  readonly automountToken: boolean;
  readonly sandboxPidns: boolean;
}

/**
 * Builds the policy data of one pod: read the pod-level facts, check the pod fields contrast
 * refuses, then the pause container and one expectation per init container, native sidecar and
 * container, then check the names.
 *
 * @throws {import("../util/errors/mod.ts").InvalidDocumentError} listing every problem with its path
 */
export function buildPolicyData(input: PodPolicyInput): PolicyData {
  const issues = new IssueList();
  const pod = podContext(input, issues);
  checkPodFields(input.podSpec, input.specPath, issues);
  const containers = [pauseExpectation(pod), ...workloadContainers(pod)];
  checkContainerNames(containers, input.specPath, issues);
  issues.throwIfAny();
  const data = {
    version: 1 as const,
    pod: {
      namespace: input.namespace,
      sandbox_name_regex: `^${pod.namePattern}$`,
      hostname_regex: `^${unanchor(pod.hostname)}$`,
      sandbox_pidns: false,
    },
    containers,
    sandbox: { storages: input.settings.sandbox.storages },
    copy_file: { path_regexes: input.settings.copy_file.path_regexes },
    exec: { allowed_commands: input.settings.exec.allowed_commands },
    requests: input.settings.requests,
  };
  return { ...data, pattern_shapes: patternShapesOf(data, input.patternShapeCache) };
}

/** Step 1: the pod-level facts every container expectation shares. */
function podContext(input: PodPolicyInput, issues: IssueList): PodContext {
  const { settings, podSpec: spec } = input;
  const namePattern = podNamePattern(input.kind, input.name, input.generateName === true);
  const hostname = podHostnamePattern({
    spec,
    specPath: input.specPath,
    podName: input.kind === "Pod" && input.generateName !== true
      ? { literal: input.name }
      : { pattern: namePattern },
    namespace: input.namespace,
    clusterDomain: input.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
  }, issues);
  const podSecurity = obj(spec.securityContext);
  const { volumes, refusedVolumes } = readVolumes(input, issues);
  const { sysctls, optionalSysctls } = list(podSecurity.sysctls).length === 0
    ? shared(input, "sysctls", () => podSysctls(settings, podSecurity))
    : podSysctls(settings, podSecurity);
  const serviceLinks = spec.enableServiceLinks !== false;
  const serviceEnv = [
    ...settings.container.service_link_env_regexes,
    ...(serviceLinks ? settings.container.service_env_regexes : []),
  ];
  return {
    input,
    settings,
    issues,
    facts: {
      namespace: input.namespace,
      namePattern,
      serviceAccountName: typeof spec.serviceAccountName === "string"
        ? spec.serviceAccountName
        : "default",
      labels: obj(input.podMetadata.labels) as Record<string, string>,
      annotations: obj(input.podMetadata.annotations) as Record<string, string>,
    },
    podSecurity,
    volumes,
    refusedVolumes,
    sysctls,
    optionalSysctls,
    defaultMounts: shared(
      input,
      "defaultMounts",
      () =>
        settings.container.default_mounts.map((m) =>
          optionalWhereHarmless(
            m.destination === "/sys/fs/cgroup" &&
              settings.container.cgroup_optional_options.length > 0
              ? { ...m, optional_options: settings.container.cgroup_optional_options }
              : m,
          )
        ),
    ),
    // Kata's runtime strips the PID namespace (sharing is signalled by sandbox_pidns instead).
    namespaces: shared(input, "namespaces", () => sorted(settings.container.namespaces)),
    namePattern,
    hostname,
    envRegexes: [`^HOSTNAME=${hostname}$`, ...serviceEnv],
    undefinedVariable: shared(
      input,
      serviceLinks ? "serviceVariables" : "serviceVariablesWithoutLinks",
      () => serviceVariables(serviceEnv),
    ),
    automountToken: spec.automountServiceAccountToken !== false,
    sandboxPidns: spec.shareProcessNamespace === true,
  };
}

/** The pod's volumes by name; unsupported ones get one clear error and are remembered. */
function readVolumes(
  input: PodPolicyInput,
  issues: IssueList,
): { volumes: Map<string, VolumeInfo>; refusedVolumes: Set<string> } {
  const volumes = new Map<string, VolumeInfo>();
  const refusedVolumes = new Set<string>();
  list(input.podSpec.volumes).forEach((v, i) => {
    const vol = obj(v);
    const at = `${childPath(input.specPath, "volumes")}[${i}]`;
    const name = String(vol.name ?? "");
    const kind = SUPPORTED_VOLUMES.find((k) => vol[k] !== undefined);
    if (!kind) {
      const other = Object.keys(vol).find((k) => k !== "name") ?? "(none)";
      issues.add(
        `${at}.${other}`,
        other === "hostPath"
          ? `unsupported volume type "hostPath": a host directory is outside the confidential VM and not protected; use an emptyDir, a persistentVolumeClaim or a Secret/ConfigMap instead`
          : `unsupported volume type "${other}"`,
      );
      refusedVolumes.add(name);
      return;
    }
    volumes.set(name, {
      kind,
      memory: kind === "emptyDir" && obj(vol.emptyDir).medium === "Memory",
    });
  });
  for (const claim of input.claimTemplates ?? []) {
    volumes.set(claim, { kind: "persistentVolumeClaim", memory: false });
  }
  refuseSeveralEncryptedEmptyDirs(input, volumes, issues);
  return { volumes, refusedVolumes };
}

/**
 * Kata's block-encrypted emptyDirs all mount below one storage directory under a name the host
 * chooses, so the policy cannot tell one such volume from another: a host could give two volumes
 * one device and merge what the YAML keeps apart. A pod may therefore hold at most one
 * disk-backed emptyDir in that mode (memory-backed ones are told apart by name).
 */
function refuseSeveralEncryptedEmptyDirs(
  input: PodPolicyInput,
  volumes: ReadonlyMap<string, VolumeInfo>,
  issues: IssueList,
): void {
  if (input.settings.container.emptydir_mode !== "block-encrypted") return;
  const encrypted = [...volumes].filter(([, v]) => v.kind === "emptyDir" && !v.memory);
  if (encrypted.length < 2) return;
  issues.add(
    childPath(input.specPath, "volumes"),
    `${encrypted.length} disk-backed emptyDir volumes (${
      encrypted.map(([n]) => n).join(", ")
    }) with --emptydir-mode block-encrypted: the policy cannot tell their devices apart, so the host could merge them; use one, or medium: Memory for the others`,
  );
}

/** The runtime's default sysctls plus the pod's; the defaults the pod leaves alone are optional. */
function podSysctls(
  settings: Settings,
  podSecurity: Record<string, unknown>,
): { sysctls: Record<string, string>; optionalSysctls: string[] } {
  const sysctls: Record<string, string> = { ...settings.container.default_sysctls };
  const podNames = new Set<string>();
  for (const s of list(podSecurity.sysctls)) {
    const o = obj(s);
    sysctls[String(o.name)] = String(o.value ?? "");
    podNames.add(String(o.name));
  }
  // Defaults the pod does not set itself may be left out by the runtime (containerd 1.7).
  const optionalSysctls = settings.container.default_sysctls_optional
    ? Object.keys(settings.container.default_sysctls).filter((n) => !podNames.has(n)).sort()
    : [];
  return { sysctls, optionalSysctls };
}

/** Step 2: pod fields a confidential pod cannot have. */
function checkPodFields(
  spec: Record<string, unknown>,
  specPath: string,
  issues: IssueList,
): void {
  for (const unsupported of ["hostNetwork", "hostPID", "hostIPC", "hostUsers"]) {
    if (spec[unsupported] === (unsupported === "hostUsers" ? false : true)) {
      issues.add(childPath(specPath, unsupported), "not supported in a confidential pod");
    }
  }
  if (list(spec.ephemeralContainers).length > 0) {
    issues.add(
      childPath(specPath, "ephemeralContainers"),
      "not supported: the policy admits only the containers of the pod spec",
    );
  }
  if (list(spec.containers).length === 0) {
    issues.add(childPath(specPath, "containers"), "a pod needs at least one container");
  }
}

/** The CRI and Kata annotations of the pod's containers, plus `extra`. */
function podAnnotations(pod: PodContext, extra: Record<string, string>): Record<string, string> {
  return {
    ...pod.settings.container.annotations,
    "io.kubernetes.cri.sandbox-name": `^${pod.namePattern}$`,
    "io.kubernetes.cri.sandbox-namespace": exactRegex(pod.input.namespace),
    ...extra,
  };
}

/**
 * The sandbox's user: the pod's runAsUser/runAsGroup when set (kubelet passes the pod's security
 * context to the sandbox), else the pause image's user; with the pod's supplemental groups.
 */
function pauseUser(settings: Settings, podSecurity: Record<string, unknown>) {
  const uid = typeof podSecurity.runAsUser === "number"
    ? podSecurity.runAsUser
    : settings.pause.uid;
  const gid = typeof podSecurity.runAsGroup === "number"
    ? podSecurity.runAsGroup
    : typeof podSecurity.runAsUser === "number"
    ? 0
    : settings.pause.gid;
  const groups = [
    ...new Set([
      gid,
      ...list(podSecurity.supplementalGroups).map(Number),
      ...(typeof podSecurity.fsGroup === "number" ? [podSecurity.fsGroup] : []),
    ]),
  ].sort((a, b) => a - b);
  return { uid, gid, additionalGids: groups };
}

/** Step 3: the pause (sandbox) container. */
function pauseExpectation(pod: PodContext): ContainerExpectation {
  const { settings, input } = pod;
  const spec = input.podSpec;
  const anyPrivileged = [...list(spec.initContainers), ...list(spec.containers)].some((c) =>
    obj(obj(c).securityContext).privileged === true
  );
  const user = pauseUser(settings, pod.podSecurity);
  // kubelet makes the sandbox privileged when any container is: containerd then mounts sysfs rw.
  const pauseMounts = shared(
    input,
    `pauseMounts:${anyPrivileged}`,
    () =>
      (anyPrivileged ? settings.pause.mounts.map(sysfsWritable) : settings.pause.mounts)
        .map((m) => optionalWhereHarmless(m, m.destination === "/etc/resolv.conf")),
  );
  const defaultCapabilities = shared(
    input,
    "defaultCapabilities",
    () => sorted(settings.container.default_capabilities),
  );
  return {
    name: "pause",
    kind: "pause",
    image: settings.pause.image,
    process: {
      args: settings.pause.args,
      env: shared(input, "pauseEnv", () =>
        settings.pause.env.map((e) => {
          const at = e.indexOf("=");
          return { name: e.slice(0, at), value: e.slice(at + 1) };
        })),
      env_regexes: [],
      cwd: settings.pause.cwd,
      uid: user.uid,
      gid: user.gid,
      additional_gids: user.additionalGids,
      terminal: false,
      no_new_privileges: true,
      capabilities: {
        bounding: defaultCapabilities,
        effective: defaultCapabilities,
        inheritable: [],
        permitted: defaultCapabilities,
        ambient: [],
      },
    },
    readonly_root: true,
    root_path_regex: settings.container.root_path_regex,
    mounts: pauseMounts,
    mount_order: shared(input, `pauseMountOrder:${anyPrivileged}`, () => mountOrder(pauseMounts)),
    storages: settings.pause.storages,
    namespaces: pod.namespaces,
    sysctls: pod.sysctls,
    ...(pod.optionalSysctls.length > 0 ? { optional_sysctls: pod.optionalSysctls } : {}),
    masked_paths: settings.container.masked_paths,
    readonly_paths: settings.container.readonly_paths,
    annotations: podAnnotations(pod, {
      ...settings.pause.annotations,
      "io.kubernetes.cri.container-type": "^sandbox$",
      "io.katacontainers.pkg.oci.container_type": "^pod_sandbox$",
    }),
    exec_commands: [],
    sandbox_pidns: false,
  };
}

/** Step 4: init containers (native sidecars with restartPolicy Always), then containers. */
function workloadContainers(pod: PodContext): ContainerExpectation[] {
  const out: ContainerExpectation[] = [];
  for (const field of ["initContainers", "containers"] as const) {
    list(pod.input.podSpec[field]).forEach((raw, i) => {
      const c = obj(raw);
      const path = `${childPath(pod.input.specPath, field)}[${i}]`;
      const kind: ContainerKind = field === "containers"
        ? "container"
        : c.restartPolicy === "Always"
        ? "sidecar"
        : "init";
      const expectation = containerExpectation(pod, c, kind, path);
      if (expectation) out.push(expectation);
    });
  }
  return out;
}

/** Step 5: container names are unique within the pod. */
function checkContainerNames(
  containers: readonly ContainerExpectation[],
  specPath: string,
  issues: IssueList,
): void {
  const names = new Set<string>();
  for (const c of containers) {
    const key = `${c.kind === "pause" ? "p" : "c"}:${c.name}`;
    if (names.has(key)) issues.add(specPath, `duplicate container name "${c.name}"`);
    names.add(key);
  }
}

/** Extended resources that hand the container devices (GPUs through VFIO and CDI). */
const DEVICE_RESOURCE = /^(nvidia\.com|amd\.com|gpu\.intel\.com|cdi\.k8s\.io)\//;

/** The resource of GPUs passed through to the VM with VFIO (NVIDIA's Kata GPU operator). */
const PASSTHROUGH_GPU = "nvidia.com/pgpu";

/**
 * The number of GPUs passed through to the container (`nvidia.com/pgpu`; Kubernetes sets an
 * extended resource's request equal to its limit). The runtime adds one `cdi.k8s.io/vfio<n>`
 * annotation per GPU and, when it hot-plugs them, one VFIO device each; the policy admits exactly
 * that many. Other device resources are refused with one clear error each.
 */
function passthroughGpus(c: Record<string, unknown>, path: string, issues: IssueList): number {
  const resources = obj(c.resources);
  const counts: number[] = [];
  for (const kind of ["limits", "requests"]) {
    for (const [name, value] of Object.entries(obj(resources[kind]))) {
      if (!DEVICE_RESOURCE.test(name)) continue;
      const at = `${path}.resources.${kind}["${name}"]`;
      if (name !== PASSTHROUGH_GPU) {
        issues.add(
          at,
          `devices other than ${PASSTHROUGH_GPU} (GPUs through VFIO) are not supported in a confidential pod`,
        );
        continue;
      }
      const n = typeof value === "number"
        ? value
        : /^[0-9]+$/.test(String(value))
        ? Number(value)
        : NaN;
      if (!Number.isSafeInteger(n) || n < 1) {
        issues.add(at, `must be a whole number of GPUs, got ${JSON.stringify(value)}`);
        continue;
      }
      counts.push(n);
    }
  }
  if (counts.length === 2 && counts[0] !== counts[1]) {
    issues.add(`${path}.resources`, `${PASSTHROUGH_GPU} requests must equal its limits`);
  }
  return counts[0] ?? 0;
}

/** The resolved image of a container, or undefined after recording why there is none. */
function containerImage(
  pod: PodContext,
  c: Record<string, unknown>,
  path: string,
): ResolvedImage | undefined {
  const imageRef = typeof c.image === "string" ? c.image : "";
  if (imageRef === "") {
    pod.issues.add(`${path}.image`, "missing");
    return undefined;
  }
  const image = pod.input.images.get(imageRef);
  if (!image) pod.issues.add(`${path}.image`, `image "${imageRef}" was not resolved`);
  return image;
}

/** One container's expectation: process, mounts and storages, security, annotations. */
function containerExpectation(
  pod: PodContext,
  c: Record<string, unknown>,
  kind: ContainerKind,
  path: string,
): ContainerExpectation | undefined {
  const { settings, issues } = pod;
  const name = String(c.name ?? "");
  if (name === "") issues.add(`${path}.name`, "missing");
  const image = containerImage(pod, c, path);
  if (!image) return undefined;
  const gpus = passthroughGpus(c, path, issues);
  const sc = obj(c.securityContext);
  const privileged = sc.privileged === true;
  const devices = deviceExpectations(pod, c, privileged, path);
  const { env, podVars } = resolveEnv(
    c,
    image.config.env,
    pod.facts,
    pod.input.config,
    path,
    issues,
    pod.undefinedVariable,
  );
  const { mounts, storages } = containerMounts(pod, c, image, privileged, path);
  return {
    name,
    kind,
    image: image.pinned,
    process: {
      ...containerArgs(c, image, podVars, pod.undefinedVariable, path, issues),
      env: [...env].flatMap(([n, v]) => {
        try {
          return [envExpectation(n, v)];
        } catch (error) {
          issues.add(`${path}.env`, `${n}: ${(error as ParseError).reason}`);
          return [];
        }
      }),
      env_regexes: pod.envRegexes,
      cwd: typeof c.workingDir === "string" && c.workingDir !== ""
        ? c.workingDir
        : image.config.workingDir || "/",
      ...containerUser(pod, sc, image, path),
      terminal: c.tty === true,
      no_new_privileges: sc.allowPrivilegeEscalation === false,
      capabilities: obj(sc.capabilities).add === undefined &&
          obj(sc.capabilities).drop === undefined
        ? shared(
          pod.input,
          `capabilities:${privileged}`,
          () => containerCapabilities(settings, sc, privileged),
        )
        : shared(
          pod.input,
          // What containerCapabilities reads of the container: the sets are a function of it.
          `capabilities:${privileged}:${
            JSON.stringify([
              list(obj(sc.capabilities).add).map(String),
              list(obj(sc.capabilities).drop).map(String),
            ])
          }`,
          () => containerCapabilities(settings, sc, privileged),
        ),
    },
    readonly_root: sc.readOnlyRootFilesystem === true,
    root_path_regex: settings.container.root_path_regex,
    mounts,
    // A function of the destinations alone, which recur in every pod of a workload kind.
    mount_order: shared(
      pod.input,
      `mountOrder:${JSON.stringify(mounts.map((m) => m.destination))}`,
      () => mountOrder(mounts),
    ),
    storages,
    namespaces: pod.namespaces,
    sysctls: pod.sysctls,
    ...(pod.optionalSysctls.length > 0 ? { optional_sysctls: pod.optionalSysctls } : {}),
    masked_paths: privileged ? [] : settings.container.masked_paths,
    readonly_paths: privileged ? [] : settings.container.readonly_paths,
    annotations: podAnnotations(pod, {
      "io.kubernetes.cri.container-type": "^container$",
      "io.kubernetes.cri.container-name": exactRegex(name),
      "io.kubernetes.cri.image-name": shared(
        pod.input,
        `imageNameRegex:${image.pinned}`,
        () => exactRegex(image.pinned),
      ),
      "io.katacontainers.pkg.oci.container_type": "^pod_container$",
    }),
    exec_commands: execCommandsOf(c),
    sandbox_pidns: pod.sandboxPidns,
    ...(devices.length > 0 ? { devices } : {}),
    ...(gpus > 0 ? { gpus } : {}),
  };
}

/**
 * The block devices container `c` may get, one per `volumeDevices` entry: a raw block volume
 * (`volumeMode: Block`) of a persistentVolumeClaim (or StatefulSet claim template), at its
 * `devicePath`. The Kata runtime hot-plugs it and the agent exposes it there; the policy admits a
 * block device only at these paths (and a device cgroup rule only for it). The device's contents
 * come from the host's storage: they are neither confidential nor integrity-protected unless the
 * workload encrypts and authenticates them (the secure-pv annotation does). The secure-pv
 * container gets exactly its annotated device and must be privileged (device-mapper needs it).
 */
function deviceExpectations(
  pod: PodContext,
  c: Record<string, unknown>,
  privileged: boolean,
  path: string,
): DeviceExpectation[] {
  if (c.volumeDevices === undefined) return [];
  const { issues } = pod;
  const securePv = pod.input.securePv;
  if (!Array.isArray(c.volumeDevices)) {
    issues.add(`${path}.volumeDevices`, "must be a list");
    return [];
  }
  const devices = c.volumeDevices.map(obj);
  if (securePv && c.name === securePv.container) {
    const only = devices.length === 1 ? devices[0] : undefined;
    if (!only || only.name !== securePv.deviceVolume || only.devicePath !== securePv.devicePath) {
      issues.add(
        `${path}.volumeDevices`,
        `the secure-pv container gets exactly its device volume "${securePv.deviceVolume}" at ${securePv.devicePath}`,
      );
      return [];
    }
    if (!privileged) {
      issues.add(
        `${path}.securityContext.privileged`,
        "the secure-pv container must be privileged",
      );
      return [];
    }
    return [{ container_path: securePv.devicePath }];
  }
  if (securePv) {
    // The encrypted volume's device is the secure-pv container's alone (generate's secure-pv
    // check refuses other raw devices in such a pod, too).
    issues.add(
      `${path}.volumeDevices`,
      "in a secure-pv pod only the secure-pv container gets a raw device",
    );
    return [];
  }
  const out: DeviceExpectation[] = [];
  const seen = new Set<string>();
  devices.forEach((d, k) => {
    const at = `${path}.volumeDevices[${k}]`;
    const name = String(d.name ?? "");
    const devicePath = typeof d.devicePath === "string" ? d.devicePath : "";
    const info = pod.volumes.get(name);
    if (!info) {
      if (!pod.refusedVolumes.has(name)) {
        issues.add(`${at}.name`, `no volume named "${name}" in the pod`);
      }
      return;
    }
    if (info.kind !== "persistentVolumeClaim") {
      issues.add(
        `${at}.name`,
        `a raw block device needs a persistentVolumeClaim volume (volumeMode: Block), "${name}" is ${info.kind}`,
      );
      return;
    }
    if (
      !devicePath.startsWith("/") || devicePath.split("/").some((e) => e === ".." || e === ".") ||
      devicePath.endsWith("/")
    ) {
      issues.add(
        `${at}.devicePath`,
        `must be an absolute path without . or .., got "${devicePath}"`,
      );
      return;
    }
    if (seen.has(devicePath)) {
      issues.add(`${at}.devicePath`, `"${devicePath}" is used twice`);
      return;
    }
    seen.add(devicePath);
    out.push({ container_path: devicePath });
  });
  return out;
}

/**
 * The argument vector (Kubernetes: command replaces Entrypoint, args replace Cmd), exact or as
 * per-argument patterns when a `$(VAR)` holds a value known only at run time.
 */
function containerArgs(
  c: Record<string, unknown>,
  image: ResolvedImage,
  podVars: Parameters<typeof expandVars>[1],
  undefinedVariable: UndefinedVariable,
  path: string,
  issues: IssueList,
): { args: readonly string[]; arg_regexes?: readonly string[] } {
  const command = c.command !== undefined ? list(c.command).map(String) : undefined;
  const args = c.args !== undefined ? list(c.args).map(String) : undefined;
  const raw = command !== undefined
    ? [...command, ...(args ?? [])]
    : [...image.config.entrypoint, ...(args ?? image.config.cmd)];
  if (raw.length === 0) issues.add(path, "no command: neither the pod nor the image sets one");
  const expandedArgs: PartialValue[] = raw.map((arg, k) => {
    // Only the pod's command and args are expanded, not the image's Entrypoint or Cmd.
    const fromPod = command !== undefined ||
      (args !== undefined && k >= image.config.entrypoint.length);
    const expanded = fromPod ? expandVars(arg, podVars, undefinedVariable) : [{ literal: arg }];
    const field = `${path}.${command !== undefined && k < command.length ? "command" : "args"}`;
    if (hasSecret(expanded)) {
      issues.add(
        field,
        `argument "${arg}" would put a Secret's value into the public policy; pass it as an environment variable`,
      );
    }
    return expanded;
  });
  return expandedArgs.every(isLiteral)
    ? { args: expandedArgs.map(literalText) }
    : { args: raw, arg_regexes: expandedArgs.map(valueRegex) };
}

/** The process user (container settings over pod settings over the image's user). */
function containerUser(
  pod: PodContext,
  sc: Record<string, unknown>,
  image: ResolvedImage,
  path: string,
): { uid: number; gid: number; additional_gids: readonly number[] } {
  const podSecurity = pod.podSecurity;
  const pick = (key: string) =>
    typeof sc[key] === "number"
      ? sc[key] as number
      : typeof podSecurity[key] === "number"
      ? podSecurity[key] as number
      : undefined;
  const user = resolveUser(
    {
      runAsUser: pick("runAsUser"),
      runAsGroup: pick("runAsGroup"),
      podGroups: [
        ...list(podSecurity.supplementalGroups).map(Number),
        ...(typeof podSecurity.fsGroup === "number" ? [podSecurity.fsGroup] : []),
      ],
      imageUser: image.config.user,
      passwd: image.passwd,
      group: image.group,
      // Parsed once per image and run (`input.images` holds one image per pinned reference).
      tables: shared(
        pod.input,
        `userTables:${image.pinned}`,
        () => parseUserTables(image.passwd, image.group),
      ),
    },
    `${path}.image`,
    pod.issues,
  );
  const nonRoot = typeof sc.runAsNonRoot === "boolean" ? sc.runAsNonRoot : podSecurity.runAsNonRoot;
  if (nonRoot === true && user.uid === 0) {
    pod.issues.add(
      `${path}.securityContext.runAsNonRoot`,
      "the container would run as root (uid 0), which Kubernetes refuses to start",
    );
  }
  return { uid: user.uid, gid: user.gid, additional_gids: user.additionalGids };
}

/**
 * The capability sets in containerd's order (CRI `WithCapabilities`): the runtime's defaults (or
 * all when privileged); `add: [ALL]` gives all, `drop: [ALL]` none; then the named adds, then the
 * named drops. So `drop: [ALL]` with `add: [NET_BIND_SERVICE]` is exactly that one capability, and
 * `add: [ALL]` with `drop: [CHOWN]` is all but CAP_CHOWN.
 */
function containerCapabilities(
  settings: Settings,
  sc: Record<string, unknown>,
  privileged: boolean,
): CapabilitySets {
  const caps = obj(sc.capabilities);
  const add = list(caps.add).map(String);
  const drop = list(caps.drop).map(String);
  const isAll = (c: string) => c.toUpperCase() === "ALL";
  let set = new Set(
    privileged
      ? settings.container.privileged_capabilities
      : settings.container.default_capabilities,
  );
  if (add.some(isAll)) set = new Set(settings.container.privileged_capabilities);
  if (drop.some(isAll)) set.clear();
  for (const a of add.filter((c) => !isAll(c))) set.add(capName(a));
  for (const d of drop.filter((c) => !isAll(c))) set.delete(capName(d));
  const capList = sorted(set);
  return {
    bounding: capList,
    effective: capList,
    inheritable: [],
    permitted: capList,
    ambient: [],
  };
}

/** Exec commands the host may run: exec probes and lifecycle hooks. */
function execCommandsOf(c: Record<string, unknown>): string[][] {
  const execCommands: string[][] = [];
  for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
    const cmd = obj(obj(c[probe]).exec).command;
    if (cmd !== undefined) execCommands.push(list(cmd).map(String));
  }
  for (const hook of ["postStart", "preStop"]) {
    const cmd = obj(obj(obj(c.lifecycle)[hook]).exec).command;
    if (cmd !== undefined) execCommands.push(list(cmd).map(String));
  }
  return execCommands;
}

/**
 * Mounts and storages of a container: the runtime's default mounts, the pod files kubelet
 * provides, the volumeMounts, the image's VOLUMEs, then the service-account token.
 */
function containerMounts(
  pod: PodContext,
  c: Record<string, unknown>,
  image: ResolvedImage,
  privileged: boolean,
  path: string,
): { mounts: MountExpectation[]; storages: StorageExpectation[] } {
  const { settings } = pod;
  const mounts: MountExpectation[] = privileged
    ? pod.defaultMounts.map(sysfsWritable)
    : [...pod.defaultMounts];
  const storages: StorageExpectation[] = [
    ...shared(
      pod.input,
      `imageStorages:${image.pinned}`,
      () =>
        settings.container.image_storages.map((st) => ({
          ...st,
          source_regex: st.source_regex.replaceAll("$(image)", () => escapeRegex(image.pinned)),
        })),
    ),
  ];
  mounts.push(...podFileMounts(pod.input, settings, c));
  const destinations = new Set(mounts.map((m) => m.destination));
  list(c.volumeMounts).forEach((vm, k) => {
    const mount = volumeMount(
      pod,
      obj(vm),
      privileged,
      String(c.name ?? ""),
      `${path}.volumeMounts[${k}]`,
    );
    if (!mount) return;
    mounts.push(mount.mount);
    if (mount.storage) storages.push(mount.storage);
    destinations.add(mount.mount.destination);
  });
  // containerd gives every VOLUME the image declares (and no volumeMount covers) a fresh,
  // shared read-write directory named like any share. It compares the paths cleaned (Go's
  // filepath.Clean): a VOLUME "/data/" beside a volumeMount at "/data" gets no mount, so none is
  // expected (one would let the host cover the pod's volume with its share).
  const cleaned = new Set([...destinations].map(cleanDestination));
  for (const volume of image.config.volumes ?? []) {
    if (destinations.has(volume) || cleaned.has(cleanDestination(volume))) continue;
    mounts.push({
      destination: volume,
      type: "bind",
      source_regex: sharedFileRegex(volume),
      options: ["rbind", "rprivate", "rw"],
      optional: true,
    });
    destinations.add(volume);
  }
  const tokenPath = "/var/run/secrets/kubernetes.io/serviceaccount";
  if (pod.automountToken && !destinations.has(tokenPath)) {
    mounts.push(shared(pod.input, "serviceAccountTokenMount", () => ({
      destination: tokenPath,
      type: "bind",
      source_regex: sharedFileRegex(tokenPath),
      options: ["rbind", "rprivate", "ro"],
      optional: true,
    })));
  }
  return { mounts, storages };
}

/**
 * /etc/hosts, the termination log, /etc/hostname and /etc/resolv.conf as the runtime shares them
 * (each optional where harmless); shared by the containers with the same termination path and
 * root file system mode.
 */
function podFileMounts(
  input: PodPolicyInput,
  settings: Settings,
  c: Record<string, unknown>,
): readonly MountExpectation[] {
  const terminationPath = typeof c.terminationMessagePath === "string"
    ? c.terminationMessagePath
    : "/dev/termination-log";
  const readonlyRoot = obj(c.securityContext).readOnlyRootFilesystem === true;
  return shared(
    input,
    `podFileMounts:${readonlyRoot}:${terminationPath}`,
    () =>
      podFileMountsOf(settings, terminationPath, readonlyRoot).map((m) =>
        optionalWhereHarmless(m, true)
      ),
  );
}

function podFileMountsOf(
  settings: Settings,
  terminationPath: string,
  readonlyRoot: boolean,
): MountExpectation[] {
  return settings.container.pod_file_mounts.map((m) => {
    if (m.destination === "/dev/termination-log") {
      // The share is named after the last element of the destination, like every share.
      const base = terminationPath.split("/").filter((x) => x !== "").at(-1) ?? "";
      return {
        ...m,
        destination: terminationPath,
        source_regex: m.source_regex.replace(/termination-log\$$/, `${escapeRegex(base)}$`),
      };
    }
    if (
      readonlyRoot && (m.destination === "/etc/hostname" || m.destination === "/etc/resolv.conf")
    ) {
      // containerd mounts these two read-only when the root filesystem is read-only.
      return { ...m, options: m.options.map((o) => (o === "rw" ? "ro" : o)) };
    }
    return m;
  });
}

/** One volumeMount's OCI mount (and storage, for emptyDirs), or undefined after an issue. */
function volumeMount(
  pod: PodContext,
  m: Record<string, unknown>,
  privileged: boolean,
  container: string,
  at: string,
): { mount: MountExpectation; storage?: StorageExpectation } | undefined {
  const { issues } = pod;
  const volName = String(m.name ?? "");
  const mountPath = String(m.mountPath ?? "");
  const info = pod.volumes.get(volName);
  if (!info) {
    if (!pod.refusedVolumes.has(volName)) {
      issues.add(`${at}.name`, `no volume named "${volName}" in the pod`);
    }
    return undefined;
  }
  const propagation = mountPropagationOption(m.mountPropagation);
  if (propagation === undefined) {
    issues.add(
      `${at}.mountPropagation`,
      `must be None, HostToContainer or Bidirectional, got ${JSON.stringify(m.mountPropagation)}`,
    );
    return undefined;
  }
  if (propagation === "rshared" && !privileged) {
    issues.add(
      `${at}.mountPropagation`,
      "Bidirectional propagation needs a privileged container (Kubernetes refuses it otherwise)",
    );
    return undefined;
  }
  const rw = m.readOnly === true ? "ro" : "rw";
  const sub = subPathOf(m);
  if (sub !== undefined && info.kind === "emptyDir") {
    // Never a share (optional or not): the guest-local property is lost in real Kata.
    issues.add(`${at}.${sub.field}`, emptyDirSubPathReason(pod, container, volName, sub));
    return undefined;
  }
  const fsGroup = pod.podSecurity.fsGroup;
  const facts: MountFacts = {
    info,
    volName,
    mountPath,
    propagation,
    rw,
    subPath: sub !== undefined,
    emptydirMode: pod.settings.container.emptydir_mode,
    fsGroup: typeof fsGroup === "number" ? fsGroup : undefined,
  };
  // A function of these facts alone: made once per run and shared (frozen) by every pod that
  // mounts the same volume the same way.
  return shared(
    pod.input,
    `volumeMount:${
      JSON.stringify([
        info.kind,
        info.memory,
        volName,
        mountPath,
        propagation,
        rw,
        facts.subPath,
        facts.emptydirMode,
        facts.fsGroup === undefined ? null : String(facts.fsGroup),
      ])
    }`,
    () => volumeMountOf(facts),
  );
}

/** What a volumeMount's OCI mount and storage are made of (see {@link volumeMountOf}). */
interface MountFacts {
  readonly info: VolumeInfo;
  readonly volName: string;
  readonly mountPath: string;
  readonly propagation: string;
  readonly rw: "ro" | "rw";
  /** Whether the mount has a subPath (never for an emptyDir: refused before). */
  readonly subPath: boolean;
  readonly emptydirMode: Settings["container"]["emptydir_mode"];
  /** The pod's fsGroup, when a number. */
  readonly fsGroup: number | undefined;
}

/** The OCI mount (and storage, for emptyDirs) of a volumeMount checked by {@link volumeMount}. */
function volumeMountOf(
  { info, volName, mountPath, propagation, rw, subPath, emptydirMode, fsGroup }: MountFacts,
): { mount: MountExpectation; storage?: StorageExpectation } {
  const bind = (source_regex: string, options: string[]): MountExpectation => ({
    destination: mountPath,
    type: "bind",
    source_regex,
    options,
  });
  // A share the host fills (its files, a persistent volume): may be missing (rules.rego mounts_ok).
  const share = (source_regex: string, options: string[]): MountExpectation => ({
    ...bind(source_regex, options),
    optional: true,
  });
  if (subPath) {
    // A subPath of a host-provided volume (configMap/secret/projected/downwardAPI, persistent
    // volume): kubelet bind-mounts the subdirectory and the runtime shares it like any bind source
    // (`<id>-<16 hex>-<last element of the destination>`), so its mount has that source.
    return { mount: share(sharedFileRegex(mountPath), ["rbind", propagation, rw]) };
  }
  const esc = escapeRegex(volName);
  if (info.kind === "emptyDir" && info.memory) {
    const point = `^/run/kata-containers/sandbox/ephemeral/${esc}$`;
    return {
      mount: bind(point, ["rbind", propagation, rw]),
      storage: {
        driver: "ephemeral",
        fstype: "tmpfs",
        source_regex: "^tmpfs$",
        mount_point_regex: point,
        option_regexes: [],
        driver_option_regexes: [],
      },
    };
  }
  if (info.kind === "emptyDir" && emptydirMode === "block-encrypted") {
    // Kata's block-encrypted emptyDir: a virtio-blk device (source: its PCI path) the agent
    // formats under an ephemeral key and mounts below the sandbox's storage directory (named
    // after the base64 of the source). `encryption_key=ephemeral` is required: without it the
    // host's disk would hold the volume in plain text.
    const point = "^/run/kata-containers/sandbox/storage/[A-Za-z0-9+/=]+$";
    return {
      mount: bind(point, ["rbind", propagation, rw]),
      storage: {
        driver: "blk",
        fstype: "ext4",
        source_regex: "^[0-9a-f]{2}(/[0-9a-f]{2})*$",
        mount_point_regex: point,
        option_regexes: [],
        driver_option_regexes: ["^encryption_key=ephemeral$", "^create_filesystem$"],
        ...(fsGroup !== undefined ? { fs_group: fsGroup } : {}),
      },
    };
  }
  if (info.kind === "emptyDir") {
    const point = `^/run/kata-containers/shared/containers/${KATA_ID}/rootfs/local/${esc}$`;
    return {
      mount: { ...bind(point, ["rbind", propagation, rw]), type: "local" },
      storage: {
        driver: "local",
        fstype: "local",
        source_regex: "^local$",
        mount_point_regex: point,
        option_regexes: ["^mode=0777$"],
        driver_option_regexes: [],
      },
    };
  }
  if (info.kind === "persistentVolumeClaim") {
    return {
      mount: share(
        `^/run/kata-containers/shared/containers/${KATA_ID}-[a-z0-9]{16}-[A-Za-z0-9._-]+$`,
        ["rbind", propagation, rw],
      ),
    };
  }
  // configMap/secret/projected/downwardAPI: Kata copies the files (CopyFile) into a share named
  // after the last element of the mount destination.
  return { mount: share(sharedFileRegex(mountPath), ["rbind", propagation, "ro"]) };
}
