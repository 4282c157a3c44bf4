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
} from "./pod.ts";
import {
  containerId as newContainerId,
  generatedPodName,
  hexString,
  type RandomSource,
  uuid,
} from "./random_ids.ts";
import {
  Annotation,
  apiServerEnv,
  BUNDLE_DIR,
  capabilitySets,
  CONTAINER_DIR,
  DEFAULT_PATH,
  DEFAULT_SYSCTLS,
  defaultMounts,
  EPHEMERAL_DIR,
  MASKED_PATHS,
  OCI_VERSION,
  READONLY_PATHS,
  SANDBOX_SHM,
  serviceLinkEnv,
  SHARED_DIR,
  SHM_SIZE,
} from "./runtime_model.ts";

/** The role of a container in its pod. */
export type ContainerRole = "pause" | "init" | "sidecar" | "container";

/** What a step of the sequence is about, for reports and for the mutation generator. */
export interface StepContext {
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
export interface PodInstance {
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
export interface SequenceInputs {
  readonly workload: PodWorkload;
  /** Resolved images by the reference written in the pod spec. */
  readonly images: ReadonlyMap<string, ResolvedImage>;
  readonly cluster: ClusterObjects;
  readonly rng: RandomSource;
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

/** Kubernetes' `$(VAR)` expansion: `$$` escapes, unknown references stay as written. */
export function expandKubeVars(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name?: string) => {
    if (match === "$$") return "$";
    return vars.get(name!) ?? match;
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
  const vars = new Map<string, string>();
  const ordered: string[] = [];
  const set = (name: string, value: string) => {
    if (!vars.has(name)) ordered.push(name);
    vars.set(name, value);
  };
  for (const [i, from] of c.envFrom.entries()) {
    const prefix = typeof from.prefix === "string" ? from.prefix : "";
    const cm = from.configMapRef as Record<string, unknown> | undefined;
    const sec = from.secretRef as Record<string, unknown> | undefined;
    const store = cm ? cluster.configMaps : cluster.secrets;
    const ref = cm ?? sec ?? {};
    const data = store.get(objectKey(w.namespace, String(ref.name ?? "")));
    if (data === undefined) {
      if (ref.optional === true) continue;
      throw new ParseError(`${c.path}.envFrom[${i}]`, `"${String(ref.name)}" is not in the input`);
    }
    for (const key of shuffle(Object.keys(data), rng)) {
      if (/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(prefix + key)) set(prefix + key, data[key]);
    }
  }
  for (const [i, e] of c.env.entries()) {
    const path = `${c.path}.env[${i}]`;
    if (e.valueFrom === undefined) {
      set(e.name, expandKubeVars(e.value ?? "", vars));
      continue;
    }
    const vf = e.valueFrom;
    let value: string | undefined;
    if (vf.configMapKeyRef) {
      value = lookupKey(cluster.configMaps, w.namespace, vf.configMapKeyRef as never, path);
    } else if (vf.secretKeyRef) {
      value = lookupKey(cluster.secrets, w.namespace, vf.secretKeyRef as never, path);
    } else if (vf.fieldRef) {
      const field = String((vf.fieldRef as Record<string, unknown>).fieldPath ?? "");
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
      value = meta
        ? (meta[1] === "labels" ? w.labels : w.annotations)[meta[2]] ?? ""
        : fields[field];
      if (value === undefined) {
        throw new ParseError(`${path}.valueFrom.fieldRef`, `unknown ${field}`);
      }
    } else if (vf.resourceFieldRef) {
      value = String(1 + (rng.bytes(1)[0] % 64));
    } else {
      throw new ParseError(`${path}.valueFrom`, "unsupported source");
    }
    if (value !== undefined) set(e.name, value);
  }
  const result = ordered.map((n) => `${n}=${vars.get(n)}`);
  if (w.spec.enableServiceLinks) {
    const links: string[] = [];
    for (const svc of cluster.services.get(w.namespace) ?? []) {
      links.push(...serviceLinkEnv(svc.name, serviceIp(svc.name), svc.port));
    }
    for (const entry of shuffle(links, rng)) {
      if (!vars.has(envName(entry))) result.push(entry);
    }
  }
  for (const entry of apiServerEnv("10.96.0.1")) {
    if (!vars.has(envName(entry))) result.push(entry);
  }
  return result;
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
 * Builds the request sequence of one pod instance.
 *
 * @throws {ParseError} naming the field when the pod refers to something not in the input (an
 *   image that was not resolved, a missing ConfigMap key, an unsupported volume type)
 */
export function buildRequestSequence(inputs: SequenceInputs): RequestSequence {
  const { workload: w, images, cluster, rng } = inputs;
  const instance: PodInstance = {
    podName: generatedPodName(w.kind, w.name, rng),
    namespace: w.namespace,
    podUid: uuid(rng),
    sandboxId: newContainerId(rng),
    podIp: randomIp(rng, "10.244"),
  };
  const sid = instance.sandboxId;
  const steps: Step[] = [];
  const push = (request: AgentRequest, label: string, context: StepContext = {}) =>
    steps.push({ request, label: `${request.type} ${label}`.trim(), context });

  // Network, then the sandbox, as the runtime sets them up; then the pause container.
  networkSteps(instance, rng, push);
  const hostname = w.spec.hostname ?? instance.podName;
  sandboxSteps(w, instance, hostname, push);
  const sandboxAnnotations = {
    [Annotation.sandboxId]: sid,
    [Annotation.sandboxName]: instance.podName,
    [Annotation.sandboxNamespace]: instance.namespace,
    [Annotation.sandboxUid]: instance.podUid,
  };
  const namespaces = () => [
    { type: "ipc", path: "" },
    { type: "uts", path: "" },
    { type: "mount", path: "" },
  ];
  const qos = `kubepods-besteffort-pod${instance.podUid.replaceAll("-", "_")}.slice`;

  const pauseCtx = pauseSteps(
    { w, instance, rng, push },
    { hostname, sandboxAnnotations, namespaces, qos },
  );

  const volumes = new Map(w.spec.volumes.map((v) => [v.name, v]));
  // Each Service has one cluster IP, the same in every container of the pod.
  const serviceIps = new Map<string, string>();
  const serviceIp = (name: string) => {
    if (!serviceIps.has(name)) serviceIps.set(name, randomIp(rng, "10.96"));
    return serviceIps.get(name)!;
  };
  const tokenVolume = `kube-api-access-${hexString(rng, 5)}`;

  const plan = (c: Container, role: ContainerRole): ContainerPlan => {
    const image = imageOf(images, c);
    const kubelet = kubeletEnv(c, w, instance, cluster, rng, serviceIp);
    const env = mergeEnv(mergeEnv([`HOSTNAME=${hostname}`], image.config.env), kubelet);
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
  };

  const createContainer = (p: ContainerPlan) => {
    const c = p.container;
    const ctx: StepContext = {
      container: c.name,
      role: p.role,
      containerId: p.id,
      stdin: c.stdin,
    };
    const storages: JsonObject[] = [];
    const mounts: MountFields[] = defaultMounts(false, c.securityContext.privileged);
    const share = (destination: string) =>
      `${SHARED_DIR}/${p.id}-${hexString(rng, 16)}-${basename(destination)}`;
    const copy = (file: SharedFile) =>
      push(
        copyFileRequest({
          path: file.path,
          fileMode: file.mode,
          fileSize: file.size,
          symlinkTarget: file.symlinkTarget,
        }),
        `${c.name} ${file.path.slice(SHARED_DIR.length + 1)}`,
        ctx,
      );
    // Files kubelet writes for every container: hosts, termination log, hostname, resolv.conf.
    // containerd mounts hostname and resolv.conf read-only when the root filesystem is.
    const rootfsAccess = c.securityContext.readOnlyRootFilesystem ? "ro" : "rw";
    for (
      const [dest, options] of [
        ["/etc/hosts", ["rbind", "rprivate", "rw"]],
        [c.terminationMessagePath, ["rbind", "rprivate", "rw"]],
        ["/etc/hostname", ["rbind", "rprivate", rootfsAccess]],
        ["/etc/resolv.conf", ["rbind", "rprivate", rootfsAccess]],
      ] as const
    ) {
      const source = share(dest);
      copy({ path: source, mode: FileMode.regular | 0o644, size: 64 });
      mounts.push({ destination: dest, source, type: "bind", options: [...options] });
    }
    mounts.push({ destination: "/dev/shm", source: SANDBOX_SHM, type: "bind", options: ["rbind"] });
    const volumeMounts = [...c.volumeMounts];
    if (w.spec.automountServiceAccountToken) {
      volumeMounts.push({
        name: tokenVolume,
        mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
        readOnly: true,
        subPath: "",
      });
    }
    for (const [i, vm] of volumeMounts.entries()) {
      const vol = vm.name === tokenVolume
        ? { name: tokenVolume, kind: "projected", source: {} }
        : volumes.get(vm.name);
      if (vol === undefined) {
        throw new ParseError(`${c.path}.volumeMounts[${i}].name`, `no volume "${vm.name}"`);
      }
      const rw = vm.readOnly ? "ro" : "rw";
      switch (vol.kind) {
        case "emptyDir": {
          const memory = (vol.source as Record<string, unknown>).medium === "Memory";
          const dir = memory
            ? `${EPHEMERAL_DIR}/${vol.name}`
            : `${SHARED_DIR}/${sid}/rootfs/local/${vol.name}`;
          storages.push(
            agentStorage(
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
          );
          mounts.push({
            destination: vm.mountPath,
            source: vm.subPath ? `${dir}/${vm.subPath}` : dir,
            type: memory ? "bind" : "local",
            options: ["rbind", "rprivate", rw],
          });
          break;
        }
        case "configMap":
        case "secret":
        case "projected":
        case "downwardAPI": {
          const dir = share(vm.mountPath);
          for (const file of atomicWriterFiles(dir, volumeFiles(vol, w, cluster, rng), rng)) {
            copy(file);
          }
          mounts.push({
            destination: vm.mountPath,
            source: vm.subPath ? `${dir}/${vm.subPath}` : dir,
            type: "bind",
            options: ["rbind", "rprivate", "ro"],
          });
          break;
        }
        case "persistentVolumeClaim": {
          // Without filesystem sharing the runtime copies the volume's directory in.
          const dir = share(vm.mountPath);
          copy({ path: dir, mode: FileMode.directory | 0o755, size: 0 });
          mounts.push({
            destination: vm.mountPath,
            source: vm.subPath ? `${dir}/${vm.subPath}` : dir,
            type: "bind",
            options: ["rbind", "rprivate", rw],
          });
          break;
        }
        default:
          throw new ParseError(
            `${w.templatePath}.spec.volumes[${w.spec.volumes.indexOf(vol)}]`,
            `volume type "${vol.kind}" is not supported by policy check`,
          );
      }
    }
    const image = imageOf(images, c);
    const rootfs = `${CONTAINER_DIR}/${p.id}/rootfs`;
    const annotations = {
      ...sandboxAnnotations,
      [Annotation.containerType]: "container",
      [Annotation.containerName]: c.name,
      [Annotation.imageName]: c.image,
      [Annotation.bundlePath]: `${BUNDLE_DIR}/${p.id}`,
      [Annotation.kataContainerType]: "pod_container",
    };
    storages.unshift(agentStorage({
      driver: "image_guest_pull",
      driverOptions: [`image_guest_pull=${JSON.stringify({ metadata: annotations })}`],
      source: image.pinned,
      fstype: "overlay",
      options: [],
      mountPoint: rootfs,
    }));
    const privileged = c.securityContext.privileged;
    const oci = ociSpec({
      version: OCI_VERSION,
      process: p.process,
      rootPath: rootfs,
      rootReadonly: c.securityContext.readOnlyRootFilesystem,
      hostname,
      mounts: mounts.map(ociMount),
      annotations,
      linux: ociLinux({
        sysctl: { ...DEFAULT_SYSCTLS, ...w.spec.sysctls },
        cgroupsPath: `${qos}:cri-containerd:${p.id}`,
        namespaces: namespaces(),
        maskedPaths: privileged ? [] : MASKED_PATHS,
        readonlyPaths: privileged ? [] : READONLY_PATHS,
        resources: linuxResources({ cpuShares: 2, cpuQuota: 0, cpuPeriod: 100000, memoryLimit: 0 }),
      }),
    });
    push(
      createContainerRequest({
        containerId: p.id,
        execId: p.id,
        storages,
        oci,
        sandboxPidns: w.spec.shareProcessNamespace,
      }),
      c.name,
      ctx,
    );
    push(startContainerRequest(p.id), c.name, ctx);
    push(readStreamRequest(p.id, p.id), `${c.name} stdout`, ctx);
    push(readStreamRequest(p.id, p.id), `${c.name} stderr`, ctx);
    if (c.stdin) {
      push(writeStreamRequest(p.id, p.id, new TextEncoder().encode("input\n")), c.name, ctx);
    }
    return ctx;
  };

  const probe = (p: ContainerPlan, ctx: StepContext) => {
    for (const command of p.container.execProbes) {
      const execId = hexString(rng, 64);
      const process = ociProcess({
        uid: (p.process.User as JsonObject).UID as number,
        gid: (p.process.User as JsonObject).GID as number,
        additionalGids: (p.process.User as JsonObject).AdditionalGids as number[],
        args: command,
        env: p.env,
        cwd: p.process.Cwd as string,
        // The Kata runtime's exec command carries no capabilities and NoNewPrivileges false
        // (Kata's genpolicy captures: state/execprocess); the OOM score is the exec's default.
        capabilities: null,
        noNewPrivileges: false,
        oomScoreAdj: 0,
      });
      const exec = { ...ctx, probe: command };
      push(execProcessRequest({ containerId: p.id, execId, process }), p.container.name, exec);
      push(readStreamRequest(p.id, execId), `${p.container.name} probe stdout`, exec);
      push(waitProcessRequest(p.id, execId), `${p.container.name} probe`, exec);
    }
  };

  const running: [ContainerPlan, StepContext][] = [];
  for (const c of w.spec.initContainers) {
    const p = plan(c, c.sidecar ? "sidecar" : "init");
    const ctx = createContainer(p);
    if (c.sidecar) {
      running.push([p, ctx]);
      probe(p, ctx);
    } else {
      push(waitProcessRequest(p.id, p.id), c.name, ctx);
      push(removeContainerRequest(p.id), c.name, ctx);
    }
  }
  for (const c of w.spec.containers) {
    const p = plan(c, "container");
    running.push([p, createContainer(p)]);
  }
  for (const [p, ctx] of running) probe(p, ctx);
  for (const [p, ctx] of running) push(statsContainerRequest(p.id), p.container.name, ctx);
  // Teardown: containers stop in reverse order, then the sandbox.
  for (const [p, ctx] of [...running].reverse()) {
    push(signalProcessRequest(p.id, p.id, 15), p.container.name, ctx);
    push(waitProcessRequest(p.id, p.id), p.container.name, ctx);
    push(removeContainerRequest(p.id), p.container.name, ctx);
  }
  push(signalProcessRequest(sid, sid, 9), "pause", pauseCtx);
  push(removeContainerRequest(sid), "pause", pauseCtx);
  push(destroySandboxRequest(), instance.podName);
  return { workload: w, instance, steps };
}

/** Appends a request to the sequence. */
type Push = (request: AgentRequest, label: string, context?: StepContext) => void;

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

/** CreateSandbox (hostname, DNS, /dev/shm), then the runtime's first queries. */
function sandboxSteps(w: PodWorkload, instance: PodInstance, hostname: string, push: Push): void {
  const sid = instance.sandboxId;
  push(
    createSandboxRequest({
      hostname,
      sandboxId: sid,
      dns: [
        "nameserver 10.96.0.10",
        `search ${w.namespace}.svc.cluster.local svc.cluster.local cluster.local`,
        "options ndots:5",
      ],
      storages: [agentStorage({
        driver: "ephemeral",
        driverOptions: [],
        source: "shm",
        fstype: "tmpfs",
        options: ["noexec", "nosuid", "nodev", "mode=1777", `size=${SHM_SIZE}`],
        mountPoint: SANDBOX_SHM,
      })],
    }),
    instance.podName,
  );
  push(guestDetailsRequest(), "");
  push(getOomEventRequest(), "");
}

/** What the pause container shares with the pod's other containers. */
interface PodShared {
  readonly hostname: string;
  readonly sandboxAnnotations: Record<string, string>;
  readonly namespaces: () => { type: string; path: string }[];
  readonly qos: string;
}

/**
 * The pause container: its resolv.conf copied in, CreateContainer as containerd 2 sends it with
 * guest pull, StartContainer. Returns its step context (for the teardown).
 */
function pauseSteps(
  seq: { w: PodWorkload; instance: PodInstance; rng: RandomSource; push: Push },
  shared: PodShared,
): StepContext {
  const { w, instance, rng, push } = seq;
  const { hostname, sandboxAnnotations, namespaces, qos } = shared;
  const sid = instance.sandboxId;
  // The pause container, with the pod's resolv.conf copied in.
  const pauseCtx: StepContext = { container: "pause", role: "pause", containerId: sid };
  const pauseResolv = `${SHARED_DIR}/${sid}-${hexString(rng, 16)}-resolv.conf`;
  push(
    copyFileRequest({ path: pauseResolv, fileMode: FileMode.regular | 0o644, fileSize: 96 }),
    "pause resolv.conf",
    pauseCtx,
  );
  const anyPrivileged = [...w.spec.initContainers, ...w.spec.containers]
    .some((c) => c.securityContext.privileged);
  const pauseOci = ociSpec({
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
    rootPath: `${CONTAINER_DIR}/${sid}/rootfs`,
    rootReadonly: true,
    hostname,
    mounts: [
      // kubelet makes the sandbox privileged when any container is (sysfs then mounted rw).
      ...defaultMounts(true, anyPrivileged).map(ociMount),
      ociMount({ destination: "/dev/shm", source: SANDBOX_SHM, type: "bind", options: ["rbind"] }),
      ociMount({
        destination: "/etc/resolv.conf",
        source: pauseResolv,
        type: "bind",
        options: ["rbind", "ro", "nosuid", "nodev", "noexec"],
      }),
    ],
    annotations: {
      ...sandboxAnnotations,
      // containerd 2 names the sandbox image and the network namespace it created.
      "io.kubernetes.cri.podsandbox.image-name": "registry.k8s.io/pause:3.10",
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
  // Guest pull: the agent runs the guest's own pause image (storage source `pause`).
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
      storages: [pauseStorage],
      oci: pauseOci,
    }),
    "pause",
    pauseCtx,
  );
  push(startContainerRequest(sid), "pause", pauseCtx);
  return pauseCtx;
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
