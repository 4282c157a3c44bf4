/**
 * Builds, for one pod, the sequence of requests the Kata agent receives from containerd and the
 * Kata runtime over the pod's life: network setup, CreateSandbox, the pause container, init
 * containers (run to completion and removed), native sidecars and containers with their shared
 * files, stdout/stderr reads, exec probes, then teardown. Runtime-chosen values (container IDs,
 * exec IDs, pod UID, pod-name suffix, IP addresses, shared-file name parts, OOM score) are random
 * on every build, so a policy that pinned one of them by accident fails the check.
 *
 * @module
 */
import { ParseError } from "../../util/errors/mod.ts";
import type { ResolvedImage } from "../../oci/types.ts";
import {
  addArpNeighborsRequest,
  type AgentRequest,
  agentStorage,
  copyFileRequest,
  createContainerRequest,
  createSandboxRequest,
  destroySandboxRequest,
  execProcessRequest,
  FileMode,
  getOomEventRequest,
  guestDetailsRequest,
  type JsonObject,
  linuxResources,
  type MountFields,
  ociLinux,
  ociMount,
  ociProcess,
  ociSpec,
  readStreamRequest,
  removeContainerRequest,
  signalProcessRequest,
  startContainerRequest,
  statsContainerRequest,
  updateInterfaceRequest,
  updateRoutesRequest,
  waitProcessRequest,
  writeStreamRequest,
} from "./agent_protocol.ts";
import {
  type ClusterObjects,
  type Container,
  objectKey,
  type PodSpec,
  type PodWorkload,
  type Volume,
  type VolumeMount,
} from "./pod.ts";
import {
  containerId as newContainerId,
  hexString,
  podNameOf,
  type RandomSource,
  uuid,
} from "./random_ids.ts";
import {
  Annotation,
  apiServerEnv,
  BUNDLE_DIR,
  capabilitySets,
  CONTAINER_DIR,
  containerdMountOrder,
  DEFAULT_NODE_RUNTIME,
  DEFAULT_PATH,
  DEFAULT_SYSCTLS,
  defaultMounts,
  EPHEMERAL_DIR,
  kubeletHostname,
  MASKED_PATHS,
  namesSandboxImage,
  type NodeRuntime,
  OCI_VERSION,
  pullsInGuest,
  READONLY_PATHS,
  rootPath,
  SANDBOX_SHM,
  SANDBOX_STORAGE_DIR,
  serviceLinkEnv,
  SHARED_DIR,
  SHM_SIZE,
} from "./runtime_model.ts";

/** The role of a container in its pod. */
type ContainerRole = "pause" | "init" | "sidecar" | "container";

/** What a step of the sequence is about, for reports and for the mutation generator. */
interface StepContext {
  /** Container name (`pause` for the sandbox container), when the step concerns one. */
  readonly container?: string;
  readonly role?: ContainerRole;
  /** The container ID the step targets. */
  readonly containerId?: string;
  /** For exec steps: the probe command. */
  readonly probe?: readonly string[];
  /** Whether streams (stdin) are legitimately used by this container. */
  readonly stdin?: boolean;
}

/** One request of the sequence, with a label a user can recognise. */
export interface Step {
  readonly request: AgentRequest;
  /** e.g. `CreateContainerRequest web (container)`. */
  readonly label: string;
  readonly context: StepContext;
}

/** The identity the runtime invented for this pod instance. */
interface PodInstance {
  readonly podName: string;
  readonly namespace: string;
  readonly podUid: string;
  readonly sandboxId: string;
  readonly podIp: string;
}

/** A pod's request sequence. */
export interface RequestSequence {
  readonly workload: PodWorkload;
  readonly instance: PodInstance;
  readonly steps: readonly Step[];
}

/** Inputs of {@link buildRequestSequence}. */
interface SequenceInputs {
  readonly workload: PodWorkload;
  /** Resolved images by the reference written in the pod spec. */
  readonly images: ReadonlyMap<string, ResolvedImage>;
  readonly cluster: ClusterObjects;
  readonly rng: RandomSource;
  /** The node's runtime (default: containerd 2, guest pull, guest-local emptyDirs). */
  readonly node?: NodeRuntime;
}

interface ContainerPlan {
  readonly container: Container;
  readonly role: ContainerRole;
  readonly id: string;
  readonly env: string[];
  readonly process: JsonObject;
}

function randomIp(rng: RandomSource, prefix: string): string {
  const b = rng.bytes(2);
  return `${prefix}.${b[0] % 254 + 1}.${b[1] % 254 + 1}`;
}

function randomMac(rng: RandomSource): string {
  const b = rng.bytes(6);
  b[0] = (b[0] & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

/** Shuffles `items` in place (Fisher–Yates) and returns them. */
function shuffle<T>(items: T[], rng: RandomSource): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const b = rng.bytes(2);
    const j = ((b[0] << 8) | b[1]) % (i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * Kubernetes' `$(VAR)` expansion over `vars`, then `more`: `$$` escapes, unknown references stay
 * as written.
 */
function expandKubeVars(
  text: string,
  vars: ReadonlyMap<string, string>,
  more: ReadonlyMap<string, string> = new Map(),
): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name?: string) => {
    if (match === "$$") return "$";
    return vars.get(name!) ?? more.get(name!) ?? match;
  });
}

function basename(path: string): string {
  const parts = path.split("/").filter((x) => x !== "");
  return parts[parts.length - 1] ?? "";
}

function envName(entry: string): string {
  const at = entry.indexOf("=");
  return at < 0 ? entry : entry.slice(0, at);
}

/** Replaces or appends `NAME=value` entries by name, as containerd's `WithEnv` does. */
function mergeEnv(base: string[], extra: readonly string[]): string[] {
  const out = [...base];
  for (const entry of extra) {
    const i = out.findIndex((e) => envName(e) === envName(entry));
    if (i >= 0) out[i] = entry;
    else out.push(entry);
  }
  return out;
}

function lookupKey(
  store: ReadonlyMap<string, Readonly<Record<string, string>>>,
  namespace: string,
  ref: Record<string, unknown>,
  path: string,
): string | undefined {
  const name = String(ref.name ?? "");
  const key = String(ref.key ?? "");
  const optional = ref.optional === true;
  const value = store.get(objectKey(namespace, name))?.[key];
  if (value === undefined && !optional) {
    throw new ParseError(path, `key "${key}" of "${namespace}/${name}" is not in the input`);
  }
  return value;
}

/** The environment kubelet computes for `c` (before containerd adds HOSTNAME and image env). */
function kubeletEnv(
  c: Container,
  w: PodWorkload,
  inst: PodInstance,
  cluster: ClusterObjects,
  rng: RandomSource,
  serviceIp: (name: string) => string,
): string[] {
  // The service variables: the namespace's Services (with service links) and the API server's.
  const links: string[] = [];
  if (w.spec.enableServiceLinks) {
    for (const svc of cluster.services.get(w.namespace) ?? []) {
      links.push(...serviceLinkEnv(svc.name, serviceIp(svc.name), svc.ports));
    }
  }
  const apiServer = apiServerEnv("10.96.0.1");
  const serviceVars = new Map(
    [...apiServer, ...links].map((e) => [envName(e), e.slice(envName(e).length + 1)]),
  );
  // Insertion order is kubelet's: a name keeps the place it was first set at.
  const vars = new Map<string, string>();
  for (const [i, from] of c.envFrom.entries()) {
    for (const [name, value] of envFromEntries(from, `${c.path}.envFrom[${i}]`, w, cluster, rng)) {
      vars.set(name, value);
    }
  }
  for (const [i, e] of c.env.entries()) {
    // Over the container's variables so far, then the service variables (kubelet_pods.go).
    const value = e.valueFrom === undefined
      ? expandKubeVars(e.value ?? "", vars, serviceVars)
      : envValueFrom(e.valueFrom, `${c.path}.env[${i}]`, w, inst, cluster, rng);
    if (value !== undefined) vars.set(e.name, value);
  }
  const result = [...vars].map(([name, value]) => `${name}=${value}`);
  const unset = (entry: string) => !vars.has(envName(entry));
  result.push(...shuffle(links, rng).filter(unset));
  result.push(...apiServer.filter(unset));
  return result;
}

/** The variables one `envFrom` source (ConfigMap or Secret) contributes, in kubelet's map order. */
function envFromEntries(
  from: Readonly<Record<string, unknown>>,
  path: string,
  w: PodWorkload,
  cluster: ClusterObjects,
  rng: RandomSource,
): [string, string][] {
  const prefix = typeof from.prefix === "string" ? from.prefix : "";
  const cm = from.configMapRef as Record<string, unknown> | undefined;
  const sec = from.secretRef as Record<string, unknown> | undefined;
  const store = cm ? cluster.configMaps : cluster.secrets;
  const ref = cm ?? sec ?? {};
  const data = store.get(objectKey(w.namespace, String(ref.name ?? "")));
  if (data === undefined) {
    if (ref.optional === true) return [];
    const [kind, field] = cm ? ["ConfigMap", "configMapRef"] : ["Secret", "secretRef"];
    throw new ParseError(
      `${path}.${field}.name`,
      `${kind} "${String(ref.name)}" in namespace "${w.namespace}" is not in the input`,
    );
  }
  return shuffle(Object.keys(data), rng)
    .filter((key) => /^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(prefix + key))
    .map((key) => [prefix + key, data[key]]);
}

/**
 * The value of an `env[].valueFrom`: a ConfigMap or Secret key (undefined when optional and
 * missing), a pod field, or a resource field (random: the node decides).
 */
function envValueFrom(
  vf: Readonly<Record<string, unknown>>,
  path: string,
  w: PodWorkload,
  inst: PodInstance,
  cluster: ClusterObjects,
  rng: RandomSource,
): string | undefined {
  if (vf.configMapKeyRef) {
    return lookupKey(cluster.configMaps, w.namespace, vf.configMapKeyRef as never, path);
  }
  if (vf.secretKeyRef) {
    return lookupKey(cluster.secrets, w.namespace, vf.secretKeyRef as never, path);
  }
  if (vf.fieldRef) {
    const field = String((vf.fieldRef as Record<string, unknown>).fieldPath ?? "");
    return fieldRefValue(field, `${path}.valueFrom.fieldRef`, w, inst, rng);
  }
  if (vf.resourceFieldRef) return String(1 + (rng.bytes(1)[0] % 64));
  throw new ParseError(`${path}.valueFrom`, "unsupported source");
}

/** A downward-API pod field (`metadata.name`, `status.podIP`, a label, …). */
function fieldRefValue(
  field: string,
  path: string,
  w: PodWorkload,
  inst: PodInstance,
  rng: RandomSource,
): string {
  const fields: Record<string, string> = {
    "metadata.name": inst.podName,
    "metadata.namespace": inst.namespace,
    "metadata.uid": inst.podUid,
    "spec.nodeName": `node-${hexString(rng, 6)}`,
    "spec.serviceAccountName": w.spec.serviceAccountName,
    "status.podIP": inst.podIp,
    "status.podIPs": inst.podIp,
    "status.hostIP": randomIp(rng, "10.224"),
    "status.hostIPs": randomIp(rng, "10.224"),
  };
  const meta = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(field);
  const value = meta
    ? (meta[1] === "labels" ? w.labels : w.annotations)[meta[2]] ?? ""
    : fields[field];
  if (value === undefined) throw new ParseError(path, `unknown ${field}`);
  return value;
}

function parseIdSpec(spec: string, passwd: string | undefined, group: string | undefined) {
  const [userPart, groupPart] = spec.split(":", 2);
  let uid = 0, gid = 0, found = false;
  if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
  } else if (userPart) {
    for (const line of (passwd ?? "").split("\n")) {
      const f = line.split(":");
      if (f[0] === userPart && f.length >= 4) {
        uid = Number(f[2]);
        gid = Number(f[3]);
        found = true;
      }
    }
    if (!found) throw new ParseError("image.config.User", `user "${userPart}" not in /etc/passwd`);
  }
  if (!found && /^\d+$/.test(userPart)) {
    const line = (passwd ?? "").split("\n").find((l) => l.split(":")[2] === userPart);
    if (line) gid = Number(line.split(":")[3]);
  }
  if (groupPart !== undefined && groupPart !== "") {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const line = (group ?? "").split("\n").find((l) => l.split(":")[0] === groupPart);
      if (!line) {
        throw new ParseError("image.config.User", `group "${groupPart}" not in /etc/group`);
      }
      gid = Number(line.split(":")[2]);
    }
  }
  return { uid, gid };
}

function userOf(c: Container, w: PodWorkload, image: ResolvedImage) {
  const fromImage = parseIdSpec(image.config.user, image.passwd, image.group);
  const uid = c.securityContext.runAsUser ?? w.spec.runAsUser ?? fromImage.uid;
  let gid = c.securityContext.runAsGroup ?? w.spec.runAsGroup;
  if (gid === undefined) {
    gid = fromImage.gid;
    if (uid !== fromImage.uid) {
      const line = (image.passwd ?? "").split("\n").find((l) => l.split(":")[2] === String(uid));
      gid = line ? Number(line.split(":")[3]) : 0;
    }
  }
  const additional = [gid];
  // containerd's WithAdditionalGIDs: the groups of /etc/group that list the user as a member.
  const userName = (image.passwd ?? "").split("\n").map((l) => l.split(":"))
    .find((f) => f.length >= 4 && f[2] === String(uid))?.[0];
  if (userName !== undefined) {
    for (const line of (image.group ?? "").split("\n")) {
      const f = line.split(":");
      if (f.length >= 4 && f[3].split(",").includes(userName)) additional.push(Number(f[2]));
    }
  }
  additional.push(...w.spec.supplementalGroups);
  if (w.spec.fsGroup !== undefined) additional.push(w.spec.fsGroup);
  return { uid, gid, additionalGids: [...new Set(additional)] };
}

function argsOf(c: Container, image: ResolvedImage, vars: ReadonlyMap<string, string>): string[] {
  const entry = c.command ?? image.config.entrypoint;
  const cmd = c.args ?? (c.command !== undefined ? [] : image.config.cmd);
  const args = [...(c.command ?? entry), ...cmd];
  if (c.command === undefined && c.args === undefined) return args;
  const expand = (s: string) => expandKubeVars(s, vars);
  return [
    ...(c.command ? c.command.map(expand) : entry),
    ...(c.args ? c.args.map(expand) : cmd),
  ];
}

function imageOf(images: ReadonlyMap<string, ResolvedImage>, c: Container): ResolvedImage {
  const image = images.get(c.image);
  if (image === undefined) {
    throw new ParseError(`${c.path}.image`, `image "${c.image}" was not resolved`);
  }
  return image;
}

interface SharedFile {
  readonly path: string;
  readonly mode: number;
  readonly size: number;
  readonly symlinkTarget?: string;
}

/** The files kubelet's atomic writer lays out for a volume, as the runtime copies them. */
function atomicWriterFiles(
  dir: string,
  files: Readonly<Record<string, string>>,
  rng: RandomSource,
): SharedFile[] {
  const b = rng.bytes(4);
  const stamp = `..2026_11_${10 + (b[0] % 18)}_${10 + (b[1] % 13)}_${10 + (b[2] % 49)}_${
    10 + (b[3] % 49)
  }.${1000000000 + ((b[0] << 16 | b[1] << 8 | b[2]) % 999999999)}`;
  const out: SharedFile[] = [{ path: dir, mode: FileMode.directory | 0o777, size: 0 }];
  out.push({ path: `${dir}/${stamp}`, mode: FileMode.directory | 0o755, size: 0 });
  for (const [key, content] of Object.entries(files)) {
    out.push({
      path: `${dir}/${stamp}/${key}`,
      mode: FileMode.regular | 0o644,
      size: new TextEncoder().encode(content).length,
    });
  }
  out.push({
    path: `${dir}/..data`,
    mode: FileMode.symlink | 0o777,
    size: 0,
    symlinkTarget: stamp,
  });
  for (const key of Object.keys(files)) {
    out.push({
      path: `${dir}/${key}`,
      mode: FileMode.symlink | 0o777,
      size: 0,
      symlinkTarget: `..data/${key}`,
    });
  }
  return out;
}

function volumeFiles(
  vol: Volume,
  w: PodWorkload,
  cluster: ClusterObjects,
  rng: RandomSource,
): Record<string, string> {
  const src = vol.source as Record<string, unknown>;
  const fromStore = (
    store: ReadonlyMap<string, Readonly<Record<string, string>>>,
    name: string,
  ) => ({ ...(store.get(objectKey(w.namespace, name)) ?? {}) });
  switch (vol.kind) {
    case "configMap":
      return fromStore(cluster.configMaps, String(src.name ?? ""));
    case "secret":
      return fromStore(cluster.secrets, String(src.secretName ?? ""));
    case "downwardAPI":
      return { labels: "", annotations: "" };
    case "projected":
      return {
        token: `eyJ${hexString(rng, 40)}`,
        "ca.crt": "-----BEGIN CERTIFICATE-----\n",
        namespace: w.namespace,
      };
    default:
      return {};
  }
}

/**
 * Builds the request sequence of one pod instance, in the order the runtime sends it: network,
 * sandbox, pause container, init containers (run to completion) and native sidecars, containers,
 * exec probes and stats while they run, then teardown.
 *
 * @throws {ParseError} naming the file and document (the workload's `origin`) and the field when
 *   the pod refers to something not in the input (an image that was not resolved, a missing
 *   ConfigMap key, an unsupported volume type)
 */
export function buildRequestSequence(inputs: SequenceInputs): RequestSequence {
  try {
    return buildSequence(inputs);
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    // The field names a path inside the pod's document: say which file and document.
    throw new ParseError(`${inputs.workload.origin}: ${error.field}`, error.reason, {
      cause: error,
    });
  }
}

function buildSequence(inputs: SequenceInputs): RequestSequence {
  const { workload: w, rng } = inputs;
  const instance = newPodInstance(w, rng);
  const steps: Step[] = [];
  const push: Push = (request, label, context = {}) =>
    steps.push({ request, label: `${request.type} ${label}`.trim(), context });

  networkSteps(instance, rng, push);
  const node = inputs.node ?? DEFAULT_NODE_RUNTIME;
  const shared = podShared(w, instance, node);
  sandboxSteps(w, instance, shared.hostname, push, node);
  const pauseCtx = pauseSteps({ w, instance, rng, push, node }, shared);
  const pod = podBuild(inputs, instance, shared, push);
  const running = initContainerSteps(pod);
  for (const c of w.spec.containers) running.push(containerSteps(pod, planContainer(pod, c)));
  // Probes run while the pod runs: a sidecar's again, beside the containers'.
  for (const started of running) probeSteps(pod, started);
  for (const { plan, context } of running) {
    push(statsContainerRequest(plan.id), plan.container.name, context);
  }
  teardownSteps(pod, running, pauseCtx);
  return { workload: w, instance, steps };
}

/** Appends a request to the sequence. */
type Push = (request: AgentRequest, label: string, context?: StepContext) => void;

/** The identity the control plane and the runtime invent for this pod instance. */
function newPodInstance(w: PodWorkload, rng: RandomSource): PodInstance {
  return {
    podName: podNameOf(w, rng),
    namespace: w.namespace,
    podUid: uuid(rng),
    sandboxId: newContainerId(rng),
    podIp: randomIp(rng, "10.244"),
  };
}

/** What the pause container shares with the pod's other containers. */
interface PodShared {
  readonly hostname: string;
  readonly sandboxAnnotations: Record<string, string>;
  readonly namespaces: () => { type: string; path: string }[];
  readonly qos: string;
}

/** The hostname, sandbox annotations, namespaces and cgroup slice every container of the pod gets. */
function podShared(w: PodWorkload, instance: PodInstance, node: NodeRuntime): PodShared {
  return {
    hostname: kubeletHostname(instance.podName, w.namespace, w.spec, node.clusterDomain),
    sandboxAnnotations: {
      [Annotation.sandboxId]: instance.sandboxId,
      [Annotation.sandboxName]: instance.podName,
      [Annotation.sandboxNamespace]: instance.namespace,
      [Annotation.sandboxUid]: instance.podUid,
    },
    namespaces: () => [
      { type: "ipc", path: "" },
      { type: "uts", path: "" },
      { type: "mount", path: "" },
    ],
    qos: `kubepods-besteffort-pod${instance.podUid.replaceAll("-", "_")}.slice`,
  };
}

/** One pod being built: its inputs, the runtime's identity for it and the sequence so far. */
interface PodBuild {
  readonly w: PodWorkload;
  readonly images: ReadonlyMap<string, ResolvedImage>;
  readonly cluster: ClusterObjects;
  readonly rng: RandomSource;
  readonly instance: PodInstance;
  readonly shared: PodShared;
  readonly push: Push;
  readonly volumes: ReadonlyMap<string, Volume>;
  /** The cluster IP of a Service: one per Service, the same in every container of the pod. */
  readonly serviceIp: (name: string) => string;
  /** The name kubelet gives the projected service-account token volume. */
  readonly tokenVolume: string;
  readonly node: NodeRuntime;
  /** The PCI path of each block-encrypted emptyDir's device, by volume name. */
  readonly blockDevices: ReadonlyMap<string, string>;
}

function podBuild(
  inputs: SequenceInputs,
  instance: PodInstance,
  shared: PodShared,
  push: Push,
): PodBuild {
  const { workload: w, images, cluster, rng } = inputs;
  const serviceIps = new Map<string, string>();
  const serviceIp = (name: string) => {
    if (!serviceIps.has(name)) serviceIps.set(name, randomIp(rng, "10.96"));
    return serviceIps.get(name)!;
  };
  return {
    w,
    images,
    cluster,
    rng,
    instance,
    shared,
    push,
    volumes: new Map(w.spec.volumes.map((v) => [v.name, v])),
    node: inputs.node ?? DEFAULT_NODE_RUNTIME,
    blockDevices: blockDevicePaths(w.spec.volumes),
    serviceIp,
    tokenVolume: `kube-api-access-${hexString(rng, 5)}`,
  };
}

/** A container that was created and started, with the context of its steps. */
interface StartedContainer {
  readonly plan: ContainerPlan;
  readonly context: StepContext;
}

/**
 * Init containers in order: a plain one is created, waited for and removed before the next starts;
 * a native sidecar (restartPolicy Always) keeps running and has its probes run at once. Returns the
 * sidecars still running.
 */
function initContainerSteps(pod: PodBuild): StartedContainer[] {
  const running: StartedContainer[] = [];
  for (const c of pod.w.spec.initContainers) {
    const started = containerSteps(pod, planContainer(pod, c, c.sidecar ? "sidecar" : "init"));
    if (c.sidecar) {
      running.push(started);
      probeSteps(pod, started);
    } else {
      pod.push(waitProcessRequest(started.plan.id, started.plan.id), c.name, started.context);
      pod.push(removeContainerRequest(started.plan.id), c.name, started.context);
    }
  }
  return running;
}

/** A container's ID, environment and OCI process, as containerd derives them from pod and image. */
function planContainer(
  pod: PodBuild,
  c: Container,
  role: ContainerRole = "container",
): ContainerPlan {
  const { w, instance, cluster, rng, shared } = pod;
  const image = imageOf(pod.images, c);
  const kubelet = kubeletEnv(c, w, instance, cluster, rng, pod.serviceIp);
  const env = mergeEnv(mergeEnv([`HOSTNAME=${shared.hostname}`], image.config.env), kubelet);
  const vars = new Map(kubelet.map((e) => [envName(e), e.slice(envName(e).length + 1)]));
  const user = userOf(c, w, image);
  const sc = c.securityContext;
  const process = ociProcess({
    terminal: c.tty,
    uid: user.uid,
    gid: user.gid,
    additionalGids: user.additionalGids,
    args: argsOf(c, image, vars),
    env,
    cwd: c.workingDir || image.config.workingDir || "/",
    capabilities: capabilitySets(sc.privileged, sc.capabilitiesAdd, sc.capabilitiesDrop),
    noNewPrivileges: sc.allowPrivilegeEscalation === false && !sc.privileged,
    // containerd names its default profile on nodes that run AppArmor (Kata's captures).
    apparmorProfile: sc.privileged ? "" : "cri-containerd.apparmor.d",
    oomScoreAdj: 1000,
  });
  return { container: c, role, id: newContainerId(rng), env, process };
}

/**
 * One container's creation: the files kubelet writes for it and its volumes copied in, then
 * CreateContainer (image pulled in the guest), StartContainer, the stdout/stderr reads and, when the
 * container has stdin, a write.
 */
function containerSteps(pod: PodBuild, p: ContainerPlan): StartedContainer {
  const c = p.container;
  const context: StepContext = {
    container: c.name,
    role: p.role,
    containerId: p.id,
    stdin: c.stdin,
  };
  const files = sharedFiles(pod, p, context);
  // kubelet's volume mounts, then its files; containerd adds hostname, resolv.conf and /dev/shm.
  const fileMounts = kubeletFileMounts(c, files);
  const volumeMounts: MountFields[] = [];
  const storages: JsonObject[] = [];
  for (const [i, vm] of volumeMountsOf(pod, c).entries()) {
    const vol = vm.name === pod.tokenVolume
      ? { name: pod.tokenVolume, kind: "projected", source: {} }
      : pod.volumes.get(vm.name);
    if (vol === undefined) {
      throw new ParseError(`${c.path}.volumeMounts[${i}].name`, `no volume "${vm.name}"`);
    }
    const mounted = volumeMount(pod, vol, vm, files);
    if (mounted.storage) storages.push(mounted.storage);
    volumeMounts.push(mounted.mount);
  }
  const mounts: MountFields[] = [
    ...defaultMounts(false, c.securityContext.privileged),
    ...containerdMountOrder([
      ...volumeMounts,
      ...fileMounts,
      { destination: "/dev/shm", source: SANDBOX_SHM, type: "bind", options: ["rbind"] },
    ]),
  ];
  const blockDevices = rawBlockDevices(pod, c);
  const { storage: imageStorage, oci } = containerOci(pod, p, mounts, blockDevices);
  // Host pull: the root filesystem is shared from the host, no image storage.
  if (pullsInGuest(pod.node)) storages.unshift(imageStorage);
  const { push } = pod;
  push(
    createContainerRequest({
      containerId: p.id,
      execId: p.id,
      storages,
      oci,
      sandboxPidns: pod.w.spec.shareProcessNamespace,
      devices: [...blockDevices.map((d) => d.agent), ...gpuDevices(c)],
    }),
    c.name,
    context,
  );
  push(startContainerRequest(p.id), c.name, context);
  push(readStreamRequest(p.id, p.id), `${c.name} stdout`, context);
  push(readStreamRequest(p.id, p.id), `${c.name} stderr`, context);
  if (c.stdin) {
    push(writeStreamRequest(p.id, p.id, new TextEncoder().encode("input\n")), c.name, context);
  }
  return { plan: p, context };
}

/** Names and copies files into the shared directory for one container. */
interface SharedFiles {
  /** A fresh shared-directory path for what is mounted at `destination`. */
  share(destination: string): string;
  /** Copies a file into the guest (CopyFileRequest). */
  copy(file: SharedFile): void;
}

function sharedFiles(pod: PodBuild, p: ContainerPlan, context: StepContext): SharedFiles {
  return {
    share: (destination) =>
      `${SHARED_DIR}/${p.id}-${hexString(pod.rng, 16)}-${basename(destination)}`,
    copy: (file) =>
      pod.push(
        copyFileRequest({
          path: file.path,
          fileMode: file.mode,
          fileSize: file.size,
          symlinkTarget: file.symlinkTarget,
        }),
        `${p.container.name} ${file.path.slice(SHARED_DIR.length + 1)}`,
        context,
      ),
  };
}

/**
 * The files kubelet writes for every container (hosts, termination log, hostname, resolv.conf),
 * copied in and bind-mounted. containerd mounts hostname and resolv.conf read-only when the root
 * filesystem is.
 */
function kubeletFileMounts(c: Container, files: SharedFiles): MountFields[] {
  const rootfsAccess = c.securityContext.readOnlyRootFilesystem ? "ro" : "rw";
  const mounts: MountFields[] = [];
  for (
    const [dest, options] of [
      ["/etc/hosts", ["rbind", "rprivate", "rw"]],
      [c.terminationMessagePath, ["rbind", "rprivate", "rw"]],
      ["/etc/hostname", ["rbind", "rprivate", rootfsAccess]],
      ["/etc/resolv.conf", ["rbind", "rprivate", rootfsAccess]],
    ] as const
  ) {
    const source = files.share(dest);
    files.copy({ path: source, mode: FileMode.regular | 0o644, size: 64 });
    mounts.push({ destination: dest, source, type: "bind", options: [...options] });
  }
  return mounts;
}

/** The container's volume mounts, with the service-account token kubelet adds when automounted. */
function volumeMountsOf(pod: PodBuild, c: Container): VolumeMount[] {
  const volumeMounts = [...c.volumeMounts];
  if (pod.w.spec.automountServiceAccountToken) {
    volumeMounts.push({
      name: pod.tokenVolume,
      mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
      readOnly: true,
      subPath: "",
      propagation: "rprivate",
    });
  }
  return volumeMounts;
}

/** A volume mount: the agent storage it needs (if any) and the OCI mount. */
interface VolumeMountSteps {
  readonly storage?: JsonObject;
  readonly mount: MountFields;
}

/**
 * One volume mount, by volume type: an emptyDir is a guest storage (tmpfs for medium Memory);
 * ConfigMap, Secret, projected and downward-API volumes are copied in as kubelet's atomic writer
 * lays them out; a PersistentVolumeClaim's directory is copied in (no filesystem sharing).
 *
 * @throws {ParseError} for any other volume type
 */
function volumeMount(
  pod: PodBuild,
  vol: Volume,
  vm: VolumeMount,
  files: SharedFiles,
): VolumeMountSteps {
  const { w, cluster, rng } = pod;
  const rw = vm.readOnly ? "ro" : "rw";
  const at = (dir: string) => vm.subPath ? `${dir}/${vm.subPath}` : dir;
  switch (vol.kind) {
    case "emptyDir": {
      const memory = (vol.source as Record<string, unknown>).medium === "Memory";
      if (!memory && pod.node.emptyDirMode === "block-encrypted") {
        return blockEmptyDir(pod, vol, vm);
      }
      const dir = memory
        ? `${EPHEMERAL_DIR}/${vol.name}`
        : `${SHARED_DIR}/${pod.instance.sandboxId}/rootfs/local/${vol.name}`;
      return {
        storage: agentStorage(
          memory
            ? {
              driver: "ephemeral",
              driverOptions: [],
              source: "tmpfs",
              fstype: "tmpfs",
              options: [],
              mountPoint: dir,
            }
            : {
              driver: "local",
              driverOptions: [],
              source: "local",
              fstype: "local",
              options: ["mode=0777"],
              mountPoint: dir,
            },
        ),
        mount: {
          destination: vm.mountPath,
          source: at(dir),
          type: memory ? "bind" : "local",
          options: ["rbind", vm.propagation, rw],
        },
      };
    }
    case "configMap":
    case "secret":
    case "projected":
    case "downwardAPI": {
      const dir = files.share(vm.mountPath);
      for (const file of atomicWriterFiles(dir, volumeFiles(vol, w, cluster, rng), rng)) {
        files.copy(file);
      }
      return {
        mount: {
          destination: vm.mountPath,
          source: at(dir),
          type: "bind",
          options: ["rbind", vm.propagation, "ro"],
        },
      };
    }
    case "persistentVolumeClaim": {
      const dir = files.share(vm.mountPath);
      files.copy({ path: dir, mode: FileMode.directory | 0o755, size: 0 });
      return {
        mount: {
          destination: vm.mountPath,
          source: at(dir),
          type: "bind",
          options: ["rbind", vm.propagation, rw],
        },
      };
    }
    default:
      throw new ParseError(
        `${w.templatePath}.spec.volumes[${w.spec.volumes.indexOf(vol)}]`,
        `volume type "${vol.kind}" is not supported by policy check`,
      );
  }
}

/**
 * PCI paths the Kata runtime hot-plugs the block devices of block-encrypted emptyDirs at, one per
 * disk-backed emptyDir volume of the pod (`00/00`, `01/00`, …).
 */
function blockDevicePaths(volumes: readonly Volume[]): Map<string, string> {
  const disks = volumes.filter((v) =>
    v.kind === "emptyDir" && (v.source as Record<string, unknown>).medium !== "Memory"
  );
  return new Map(disks.map((v, i) => [v.name, `${i.toString(16).padStart(2, "0")}/00`]));
}

/** The sandbox storage directory Kata mounts the block device at PCI path `source` at. */
export function blockStorageDir(source: string): string {
  const b64url = new TextEncoder().encode(source).toBase64({ alphabet: "base64url" });
  return `${SANDBOX_STORAGE_DIR}/${b64url}`;
}

/**
 * Kata's block-encrypted emptyDir: a `blk` storage the agent formats under an ephemeral key and
 * mounts below the sandbox's storage directory (named after the base64url of the device's PCI path,
 * kata_agent.go handleBlkOCIMounts), with the pod's fsGroup; the container bind-mounts it.
 */
function blockEmptyDir(pod: PodBuild, vol: Volume, vm: VolumeMount): VolumeMountSteps {
  const source = pod.blockDevices.get(vol.name)!;
  const dir = blockStorageDir(source);
  return {
    storage: agentStorage({
      driver: "blk",
      driverOptions: ["encryption_key=ephemeral", "create_filesystem"],
      source,
      fstype: "ext4",
      options: [],
      mountPoint: dir,
      shared: true,
      ...(pod.w.spec.fsGroup !== undefined ? { fsGroup: pod.w.spec.fsGroup } : {}),
    }),
    mount: {
      destination: vm.mountPath,
      source: vm.subPath ? `${dir}/${vm.subPath}` : dir,
      type: "bind",
      options: ["rbind", vm.propagation, vm.readOnly ? "ro" : "rw"],
    },
  };
}

/** The container's image storage (pulled in the guest) and its OCI spec. */
function containerOci(
  pod: PodBuild,
  p: ContainerPlan,
  mounts: readonly MountFields[],
  blockDevices: readonly RawBlockDevice[],
): { storage: JsonObject; oci: JsonObject } {
  const { w, shared } = pod;
  const c = p.container;
  const image = imageOf(pod.images, c);
  const rootfs = rootPath(pod.node, p.id);
  const annotations = {
    ...shared.sandboxAnnotations,
    [Annotation.containerType]: "container",
    [Annotation.containerName]: c.name,
    [Annotation.imageName]: c.image,
    [Annotation.bundlePath]: `${BUNDLE_DIR}/${p.id}`,
    [Annotation.kataContainerType]: "pod_container",
    ...cdiAnnotations(c, firstGpuIndex(w, c)),
  };
  const storage = agentStorage({
    driver: "image_guest_pull",
    driverOptions: [`image_guest_pull=${JSON.stringify({ metadata: annotations })}`],
    source: image.pinned,
    fstype: "overlay",
    options: [],
    mountPoint: rootfs,
  });
  const privileged = c.securityContext.privileged;
  const oci = ociSpec({
    version: OCI_VERSION,
    process: p.process,
    rootPath: rootfs,
    rootReadonly: c.securityContext.readOnlyRootFilesystem,
    hostname: shared.hostname,
    mounts: mounts.map(ociMount),
    annotations,
    linux: ociLinux({
      sysctl: { ...DEFAULT_SYSCTLS, ...w.spec.sysctls },
      cgroupsPath: `${shared.qos}:cri-containerd:${p.id}`,
      namespaces: shared.namespaces(),
      maskedPaths: privileged ? [] : MASKED_PATHS,
      readonlyPaths: privileged ? [] : READONLY_PATHS,
      resources: {
        ...linuxResources({ cpuShares: 2, cpuQuota: 0, cpuPeriod: 100000, memoryLimit: 0 }),
        Devices: blockDevices.map((d) => d.cgroupRule),
      },
      devices: blockDevices.map((d) => d.oci),
    }),
  });
  return { storage, oci };
}

/**
 * The CDI annotations of a container with GPUs passed through (NVIDIA's GPU operator with Kata):
 * `cdi.k8s.io/vfio<n>: nvidia.com/gpu=<index>`, one per GPU (Kata's gpu_vfio_cdi captures), from
 * `first` on: the node gives each container of the pod its own GPUs.
 */
function cdiAnnotations(c: Container, first: number): Record<string, string> {
  return Object.fromEntries(
    Array.from(
      { length: c.gpus },
      (_, k) => [`cdi.k8s.io/vfio${k + 1}`, `nvidia.com/gpu=${first + k}`],
    ),
  );
}

/** The first GPU index of `c`: the GPUs of the pod's containers before it (init ones first). */
function firstGpuIndex(w: PodWorkload, c: Container): number {
  const all = [...w.spec.initContainers, ...w.spec.containers];
  return all.slice(0, all.indexOf(c)).reduce((n, x) => n + x.gpus, 0);
}

/** The VFIO devices the runtime hot-plugs for the container's GPUs, one per CDI annotation. */
function gpuDevices(c: Container): JsonObject[] {
  return Array.from({ length: c.gpus }, (_, k) => ({
    container_path: `/dev/vfio/devices/vfio${k + 1}`,
    id: `vfio${k + 1}`,
    options: [`0000:${(0x65 + k).toString(16)}:00.0=06/00`],
    type_: "vfio-pci-gk",
    vm_path: "",
  }));
}

/** A raw block volume as the runtime passes it: OCI device, its cgroup rule, the agent's device. */
interface RawBlockDevice {
  readonly oci: JsonObject;
  readonly cgroupRule: JsonObject;
  readonly agent: JsonObject;
}

/**
 * The container's `volumeDevices`: containerd puts each into the OCI spec as a block device with
 * the host's major/minor and a device cgroup rule allowing it; the Kata runtime hot-plugs the
 * device (virtio-blk) and lists it for the agent by PCI path, guest path and container path.
 */
function rawBlockDevices(pod: PodBuild, c: Container): RawBlockDevice[] {
  return c.volumeDevices.map((d) => {
    const k = pod.w.spec.volumes.findIndex((v) => v.name === d.name);
    const minor = 16 * (k + 1);
    const pci = `${(0x10 + k).toString(16).padStart(2, "0")}/00`;
    return {
      oci: {
        Path: d.devicePath,
        Type: "b",
        Major: 8,
        Minor: minor,
        FileMode: 0o660,
        UID: 0,
        GID: 0,
      },
      cgroupRule: { Allow: true, Type: "b", Major: 8, Minor: minor, Access: "rwm" },
      agent: {
        id: pci,
        type_: "blk",
        vm_path: `/dev/vd${String.fromCharCode(0x62 + k)}`,
        container_path: d.devicePath,
        options: [],
      },
    };
  });
}

/** Each exec probe of a running container: ExecProcess, its stdout read, WaitProcess. */
function probeSteps(pod: PodBuild, { plan: p, context }: StartedContainer): void {
  const user = p.process.User as JsonObject;
  for (const command of p.container.execProbes) {
    const execId = hexString(pod.rng, 64);
    const process = ociProcess({
      uid: user.UID as number,
      gid: user.GID as number,
      additionalGids: user.AdditionalGids as number[],
      args: command,
      env: p.env,
      cwd: p.process.Cwd as string,
      // The Kata runtime's exec command carries no capabilities and NoNewPrivileges false
      // (Kata's genpolicy captures: state/execprocess); the OOM score is the exec's default.
      capabilities: null,
      noNewPrivileges: false,
      oomScoreAdj: 0,
    });
    const exec = { ...context, probe: command };
    const name = p.container.name;
    pod.push(execProcessRequest({ containerId: p.id, execId, process }), name, exec);
    pod.push(readStreamRequest(p.id, execId), `${name} probe stdout`, exec);
    pod.push(waitProcessRequest(p.id, execId), `${name} probe`, exec);
  }
}

/** Teardown: running containers stop in reverse order (SIGTERM), then the pause container and the sandbox. */
function teardownSteps(
  pod: PodBuild,
  running: readonly StartedContainer[],
  pauseCtx: StepContext,
): void {
  const { push, instance } = pod;
  for (const { plan: p, context } of [...running].reverse()) {
    push(signalProcessRequest(p.id, p.id, 15), p.container.name, context);
    push(waitProcessRequest(p.id, p.id), p.container.name, context);
    push(removeContainerRequest(p.id), p.container.name, context);
  }
  const sid = instance.sandboxId;
  push(signalProcessRequest(sid, sid, 9), "pause", pauseCtx);
  push(removeContainerRequest(sid), "pause", pauseCtx);
  push(destroySandboxRequest(), instance.podName);
}

/** The pod's interface, routes and gateway neighbour, as the runtime sets them up first. */
function networkSteps(instance: PodInstance, rng: RandomSource, push: Push): void {
  const mac = randomMac(rng);
  push(
    updateInterfaceRequest({
      device: "",
      name: "eth0",
      addresses: [{ family: 0, address: instance.podIp, mask: "24" }],
      mtu: 1450,
      hwAddr: mac,
    }),
    "eth0",
  );
  const gateway = instance.podIp.split(".").slice(0, 3).join(".") + ".1";
  const subnet = instance.podIp.split(".").slice(0, 3).join(".") + ".0/24";
  push(
    updateRoutesRequest([
      { dest: "", gateway, device: "eth0", source: "", scope: 0, family: 0 },
      { dest: subnet, gateway: "", device: "eth0", source: instance.podIp, scope: 253, family: 0 },
    ]),
    "eth0",
  );
  push(
    addArpNeighborsRequest([{
      address: { family: 0, address: gateway, mask: "" },
      device: "eth0",
      lladdr: randomMac(rng),
      state: 128,
      flags: 0,
    }]),
    "eth0",
  );
}

/**
 * CreateSandbox (hostname, DNS, the host's virtio-fs share under host pull, /dev/shm), then the
 * runtime's first queries.
 */
function sandboxSteps(
  w: PodWorkload,
  instance: PodInstance,
  hostname: string,
  push: Push,
  node: NodeRuntime,
): void {
  const sid = instance.sandboxId;
  // Host pull: Kata shares the host's directory over virtio-fs (kata_agent.go setupStorages).
  const hostShare = pullsInGuest(node) ? [] : [agentStorage({
    driver: "virtio-fs",
    driverOptions: [],
    source: "kataShared",
    fstype: "virtiofs",
    options: [],
    mountPoint: `${SHARED_DIR}/`,
  })];
  push(
    createSandboxRequest({
      hostname,
      sandboxId: sid,
      dns: [
        "nameserver 10.96.0.10",
        `search ${w.namespace}.svc.cluster.local svc.cluster.local cluster.local`,
        "options ndots:5",
      ],
      storages: [
        ...hostShare,
        agentStorage({
          driver: "ephemeral",
          driverOptions: [],
          source: "shm",
          fstype: "tmpfs",
          options: ["noexec", "nosuid", "nodev", "mode=1777", `size=${SHM_SIZE}`],
          mountPoint: SANDBOX_SHM,
        }),
      ],
    }),
    instance.podName,
  );
  push(guestDetailsRequest(), "");
  push(getOomEventRequest(), "");
}

/**
 * The pause container: its resolv.conf copied in, CreateContainer as the node's runtime sends it,
 * StartContainer. Returns its step context (for the teardown).
 */
function pauseSteps(
  seq: { w: PodWorkload; instance: PodInstance; rng: RandomSource; push: Push; node: NodeRuntime },
  shared: PodShared,
): StepContext {
  const { w, instance, rng, push, node } = seq;
  const sid = instance.sandboxId;
  const pauseCtx: StepContext = { container: "pause", role: "pause", containerId: sid };
  const pauseResolv = `${SHARED_DIR}/${sid}-${hexString(rng, 16)}-resolv.conf`;
  push(
    copyFileRequest({ path: pauseResolv, fileMode: FileMode.regular | 0o644, fileSize: 96 }),
    "pause resolv.conf",
    pauseCtx,
  );
  const pauseOci = pauseOciSpec(w, instance, shared, pauseResolv, rng, node);
  // Guest pull (containerd 1.7 and 2): the runtime names the sandbox's image `pause` and the agent
  // runs the guest's own pause bundle (kata_agent.go handleImageGuestPullBlockVolume).
  const pauseStorage = agentStorage({
    driver: "image_guest_pull",
    driverOptions: [
      `image_guest_pull=${JSON.stringify({ metadata: pauseOci.Annotations })}`,
    ],
    source: "pause",
    fstype: "overlay",
    options: [],
    mountPoint: `${CONTAINER_DIR}/${sid}/rootfs`,
  });
  push(
    createContainerRequest({
      containerId: sid,
      execId: sid,
      // Host pull: no storage (the root filesystem comes from the host).
      storages: pullsInGuest(node) ? [pauseStorage] : [],
      oci: pauseOci,
    }),
    "pause",
    pauseCtx,
  );
  push(startContainerRequest(sid), "pause", pauseCtx);
  return pauseCtx;
}

/** The pause container's OCI spec: `/pause` as the sandbox user, containerd's annotations. */
function pauseOciSpec(
  w: PodWorkload,
  instance: PodInstance,
  shared: PodShared,
  resolvConf: string,
  rng: RandomSource,
  node: NodeRuntime,
): JsonObject {
  const { hostname, sandboxAnnotations, namespaces, qos } = shared;
  const sid = instance.sandboxId;
  const anyPrivileged = [...w.spec.initContainers, ...w.spec.containers]
    .some((c) => c.securityContext.privileged);
  return ociSpec({
    version: OCI_VERSION,
    process: ociProcess({
      ...pauseUser(w.spec),
      args: ["/pause"],
      env: [DEFAULT_PATH],
      cwd: "/",
      capabilities: capabilitySets(false, [], []),
      noNewPrivileges: true,
      oomScoreAdj: -998,
    }),
    rootPath: rootPath(node, sid),
    rootReadonly: true,
    hostname,
    mounts: [
      // kubelet makes the sandbox privileged when any container is (sysfs then mounted rw).
      ...defaultMounts(true, anyPrivileged).map(ociMount),
      ociMount({ destination: "/dev/shm", source: SANDBOX_SHM, type: "bind", options: ["rbind"] }),
      ociMount({
        destination: "/etc/resolv.conf",
        source: resolvConf,
        type: "bind",
        options: ["rbind", "ro", "nosuid", "nodev", "noexec"],
      }),
    ],
    annotations: {
      ...sandboxAnnotations,
      // containerd 2 names the sandbox image (1.7 does not) and the network namespace it created.
      ...(namesSandboxImage(node)
        ? { [Annotation.podSandboxImageName]: "registry.k8s.io/pause:3.10" }
        : {}),
      "nerdctl/network-namespace": `/var/run/netns/cni-${uuid(rng)}`,
      [Annotation.containerType]: "sandbox",
      [Annotation.sandboxLogDirectory]:
        `/var/log/pods/${instance.namespace}_${instance.podName}_${instance.podUid}`,
      [Annotation.sandboxCpuPeriod]: "100000",
      [Annotation.sandboxCpuQuota]: "0",
      [Annotation.sandboxCpuShares]: "2",
      [Annotation.sandboxMemory]: "0",
      [Annotation.bundlePath]: `${BUNDLE_DIR}/${sid}`,
      [Annotation.kataContainerType]: "pod_sandbox",
    },
    linux: ociLinux({
      sysctl: { ...DEFAULT_SYSCTLS, ...w.spec.sysctls },
      cgroupsPath: `${qos}:cri-containerd:${sid}`,
      namespaces: namespaces(),
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
      resources: linuxResources({ cpuShares: 2, cpuQuota: 0, cpuPeriod: 100000, memoryLimit: 0 }),
    }),
  });
}

/**
 * The sandbox's user: the pod's runAsUser/runAsGroup when set (kubelet passes the pod security
 * context to the sandbox; Kata's captures show the pause container running as the pod's
 * runAsUser), else the pause image's 65535:65535; with the pod's supplemental groups and fsGroup.
 */
function pauseUser(spec: PodSpec): { uid: number; gid: number; additionalGids: number[] } {
  const uid = spec.runAsUser ?? 65535;
  const gid = spec.runAsGroup ?? (spec.runAsUser !== undefined ? 0 : 65535);
  const groups = new Set([gid, ...spec.supplementalGroups]);
  if (spec.fsGroup !== undefined) groups.add(spec.fsGroup);
  return { uid, gid, additionalGids: [...groups].sort((a, b) => a - b) };
}
