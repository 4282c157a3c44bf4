/**
 * The mutation catalogue: for a legitimate agent request, tampered variants a malicious host could
 * send instead. Each variant names the field it changes and what the policy must do with it:
 * `deny` (a weakness if allowed) or `non-guarantee` (a documented limit of runtime policies,
 * reported either way so both directions are visible).
 *
 * @module
 */
import {
  addArpNeighborsRequest,
  type AgentRequest,
  cloneJson,
  copyFileRequest,
  createSandboxRequest,
  execProcessRequest,
  FileMode,
  type Json,
  type JsonObject,
  linuxResources,
  ociProcess,
  setPolicyRequest,
  startContainerRequest,
  updateContainerRequest,
  updateInterfaceRequest,
  updateRoutesRequest,
  writeStreamRequest,
} from "./agent_protocol.ts";
import { containerId, hexString, podNameOf, type RandomSource } from "./random_ids.ts";
import { blockStorageDir, type RequestSequence, type Step } from "./request_sequence.ts";
import { ALL_CAPABILITIES, Annotation } from "./runtime_model.ts";

/**
 * Variables shaped like Kubernetes service links (`NAME_SERVICE_HOST`, `NAME_PORT_80_TCP`, …). The
 * services of a namespace are not known when a policy is generated, so policies accept any such
 * variable: a documented limit, tested as a non-guarantee.
 */
const SERVICE_LINK_SHAPE =
  /^[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_[0-9]+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)=/;

/** What the policy must do with a mutant. */
export type Expectation = "deny" | "non-guarantee";

/** A tampered request. */
interface Mutant {
  /** Short name from the catalogue, e.g. `extra argument`. */
  readonly name: string;
  /** The request field that was changed, as a path, e.g. `OCI.Process.Args`. */
  readonly field: string;
  readonly request: AgentRequest;
  readonly expectation: Expectation;
}

type Edit = (input: JsonObject) => void;

function variant(
  base: AgentRequest,
  name: string,
  field: string,
  edit: Edit,
  expectation: Expectation = "deny",
): Mutant {
  const input = cloneJson(base.input);
  edit(input);
  return { name, field, request: { type: base.type, input }, expectation };
}

function o(value: Json | undefined): JsonObject {
  return value as JsonObject;
}

function a(value: Json | undefined): Json[] {
  return value as Json[];
}

/** A sha256 digest different from every one in `text`. */
function otherDigest(rng: RandomSource): string {
  return `sha256:${hexString(rng, 64)}`;
}

/** Adds one mutant of the legitimate request (`deny` unless said otherwise). */
type AddMutant = (name: string, field: string, edit: Edit, e?: Expectation) => void;

/** The OCI process of a CreateContainer request. */
const ociProcessOf = (i: JsonObject) => o(o(i.OCI).Process);

/**
 * Tampered variants of a CreateContainer request, in the order a reader checks a container:
 * process (arguments, environment, user, privileges), root and mounts, Linux settings and
 * annotations, what belongs to another container of the pod, then storages.
 */
function createContainerMutants(step: Step, seq: RequestSequence, rng: RandomSource): Mutant[] {
  const base = step.request;
  const out: Mutant[] = [];
  const add: AddMutant = (name, field, edit, e = "deny") =>
    out.push(variant(base, name, field, edit, e));
  processMutants(base, add);
  rootAndMountMutants(step, add);
  linuxAndAnnotationMutants(base, seq, add);
  if (step.context.role !== "pause") crossContainerMutants(step, seq, rng, add);
  storageMutants(add);
  storageFieldMutants(base.input, add);
  guestPullKindMutants(base.input, step.context.role === "pause", add);
  blockStorageMutants(base.input, add);
  movedBlockEmptyDirMutants(step, seq, add);
  rawDeviceMutants(base.input, add);
  propagationMutants(base.input, add);
  return out;
}

/**
 * Mount propagation the host would change: a private or slave mount made shared (`rshared`: mounts
 * the container makes would reach the guest and every container sharing the source, as only the
 * secure-pv container's Bidirectional mount may), a slave mount made private (a secure-pv app
 * created before the volume container would never see the encrypted filesystem), the root
 * filesystem made shared, and the secure-pv container's block device (`/dev/csi0`) given to a
 * container.
 */
function propagationMutants(base: JsonObject, add: AddMutant): void {
  const narrow = new Set(["private", "rprivate", "slave", "rslave"]);
  a(o(base.OCI).Mounts).map(o).forEach((m, k) => {
    const options = a(m.options);
    if (!options.some((x) => narrow.has(x as string))) return;
    add(
      `mount propagation made shared (${String(m.destination)})`,
      `OCI.Mounts[${k}].options`,
      (i) => {
        const target = o(a(o(i.OCI).Mounts)[k]);
        target.options = a(target.options).map((x) => narrow.has(x as string) ? "rshared" : x);
      },
    );
  });
  a(o(base.OCI).Mounts).map(o).forEach((m, k) => {
    if (!a(m.options).includes("rslave")) return;
    add(
      `mount propagation made private (${String(m.destination)})`,
      `OCI.Mounts[${k}].options`,
      (i) => {
        const target = o(a(o(i.OCI).Mounts)[k]);
        target.options = a(target.options).map((x) => x === "rslave" ? "rprivate" : x);
      },
    );
  });
  const linux = o(o(base.OCI).Linux);
  const hasShared = a(o(base.OCI).Mounts).map(o).some((m) => a(m.options).includes("rshared"));
  if (!hasShared) {
    add("root filesystem made shared", "OCI.Linux.RootfsPropagation", (i) => {
      o(o(i.OCI).Linux).RootfsPropagation = "rshared";
    });
  }
  if (!a(linux.Devices).map(o).some((d) => d.Path === "/dev/csi0")) {
    add("the secure-pv block device", "OCI.Linux.Devices", (i) => {
      a(o(o(i.OCI).Linux).Devices).push({
        Path: "/dev/csi0",
        Type: "b",
        Major: 253,
        Minor: 0,
        FileMode: 0o660,
        UID: 0,
        GID: 0,
      });
    });
  }
}

/** Arguments, environment, user and groups, privileges and capabilities. */
function processMutants(base: Step["request"], add: AddMutant): void {
  const process = ociProcessOf;
  const args = a(process(base.input).Args);
  add("changed argument", "OCI.Process.Args", (i) => {
    const list = a(process(i).Args);
    list[list.length - 1] = `${String(list[list.length - 1] ?? "")}-tampered`;
  });
  add("extra argument", "OCI.Process.Args", (i) => a(process(i).Args).push("--tampered"));
  if (args.length > 0) {
    add("replaced command", "OCI.Process.Args", (i) => {
      process(i).Args = ["/bin/sh", "-c", "cat /proc/self/environ"];
    });
  }
  add("extra env var", "OCI.Process.Env", (i) => a(process(i).Env).push("LD_PRELOAD=/tmp/x.so"));
  const env = a(process(base.input).Env) as string[];
  const pathAt = env.findIndex((e) => e.startsWith("PATH="));
  if (pathAt >= 0) {
    add("changed env var", `OCI.Process.Env[${pathAt}]`, (i) => {
      a(process(i).Env)[pathAt] = "PATH=/tmp/tampered:/usr/bin:/bin";
    });
  }
  // Drop a variable the pod or image defines (not one the runtime adds: HOSTNAME, service links).
  const definedAt = env.findIndex((e) =>
    !e.startsWith("HOSTNAME=") && !e.startsWith("KUBERNETES_") && !SERVICE_LINK_SHAPE.test(e)
  );
  if (definedAt >= 0) {
    add("missing env var", `OCI.Process.Env[${definedAt}]`, (i) => {
      a(process(i).Env).splice(definedAt, 1);
    }, "non-guarantee");
  }
  add("injected service-link variable", "OCI.Process.Env", (i) => {
    a(process(i).Env).push("ATTACKER_SERVICE_HOST=203.0.113.7");
  }, "non-guarantee");
  add("changed working dir", "OCI.Process.Cwd", (i) => {
    process(i).Cwd = "/tmp/tampered";
  });
  const user = o(process(base.input).User);
  if (user.UID !== 0) {
    add("root user", "OCI.Process.User.UID", (i) => {
      o(process(i).User).UID = 0;
    });
  }
  const groups = a(user.AdditionalGids);
  const extraGroup = [0, 6, 4242].find((g) => !groups.includes(g) && user.GID !== g) ?? 4243;
  add("extra group", "OCI.Process.User.AdditionalGids", (i) => {
    a(o(process(i).User).AdditionalGids).push(extraGroup);
  });
  add("terminal", "OCI.Process.Terminal", (i) => {
    process(i).Terminal = !process(i).Terminal;
  });
  if (process(base.input).NoNewPrivileges === true) {
    add("privilege escalation", "OCI.Process.NoNewPrivileges", (i) => {
      process(i).NoNewPrivileges = false;
    });
  }
  const caps = o(process(base.input).Capabilities);
  if (caps && !a(caps.Bounding).includes("CAP_SYS_ADMIN")) {
    add("extra capability", "OCI.Process.Capabilities", (i) => {
      const c = o(process(i).Capabilities);
      for (const set of ["Bounding", "Effective", "Permitted"]) a(c[set]).push("CAP_SYS_ADMIN");
    });
    add("privileged capabilities", "OCI.Process.Capabilities", (i) => {
      const c = o(process(i).Capabilities);
      for (const set of ["Bounding", "Effective", "Permitted", "Inheritable", "Ambient"]) {
        c[set] = [...ALL_CAPABILITIES];
      }
    });
  }
  add("apparmor unconfined", "OCI.Process.ApparmorProfile", (i) => {
    process(i).ApparmorProfile = "unconfined";
  });
  add("selinux label", "OCI.Process.SelinuxLabel", (i) => {
    process(i).SelinuxLabel = "system_u:system_r:spc_t:s0";
  });
  if (user.UID !== 0 || user.GID !== 0) {
    add("root string_user", "string_user", (i) => {
      i.string_user = { uid: "0", gid: "0", additionalGids: [] };
    });
  }
  add("device cgroup allows all devices", "OCI.Linux.Resources.Devices", (i) => {
    const linux = o(o(i.OCI).Linux);
    const resources = linux.Resources === null ? { Devices: [] } : o(linux.Resources);
    a(resources.Devices).push({ Allow: true, Type: "a", Major: -1, Minor: -1, Access: "rwm" });
    linux.Resources = resources;
  });
  add("mount label", "OCI.Linux.MountLabel", (i) => {
    o(o(i.OCI).Linux).MountLabel = "system_u:object_r:container_file_t:s0";
  });
}

/** A mount of data that lives in the guest: /dev, /dev/shm, an emptyDir (memory, local, block). */
function isGuestDataMount(m: JsonObject): boolean {
  const source = String(m.source ?? "");
  return m.destination === "/dev" || m.destination === "/dev/shm" || m.type_ === "local" ||
    source.startsWith("/run/kata-containers/sandbox/");
}

/**
 * Mounts nested in one another sent nested first: the agent mounts in list order, so the parent
 * (`/dev`'s tmpfs, a configMap share) would cover what is nested in it (the pod's /dev/shm, a
 * guest emptyDir). Each guest data mount nested in another one gets its nearest parent moved right
 * after it; and the whole list reversed.
 */
function nestedMountOrderMutants(mounts: readonly JsonObject[], add: AddMutant): void {
  const dest = (m: JsonObject) => String(m.destination ?? "");
  mounts.forEach((nested, n) => {
    if (!isGuestDataMount(nested)) return;
    let p = -1;
    mounts.forEach((parent, k) => {
      const closer = p < 0 || dest(parent).length > dest(mounts[p]!).length;
      if (k < n && dest(nested).startsWith(`${dest(parent)}/`) && closer) p = k;
    });
    if (p < 0) return;
    add(`nested mount reordered (${dest(mounts[p]!)} after ${dest(nested)})`, "OCI.Mounts", (i) => {
      const list = a(o(i.OCI).Mounts);
      const [parent] = list.splice(p, 1);
      list.splice(n, 0, parent!);
    });
  });
  if (mounts.length > 1) {
    add("mounts reversed", "OCI.Mounts", (i) => {
      a(o(i.OCI).Mounts).reverse();
    });
  }
}

/** Read-only root, root path and mounts. */
function rootAndMountMutants(step: Step, add: AddMutant): void {
  const base = step.request;
  const root = o(o(base.input.OCI).Root);
  if (root.Readonly === true) {
    add("writable root", "OCI.Root.Readonly", (i) => {
      o(o(i.OCI).Root).Readonly = false;
    });
  }
  add("other root path", "OCI.Root.Path", (i) => {
    o(o(i.OCI).Root).Path = "/run/kata-containers/shared/containers/tampered/rootfs";
  });
  add("extra mount", "OCI.Mounts", (i) => {
    a(o(i.OCI).Mounts).push({
      destination: "/host",
      source: "/",
      type_: "bind",
      options: ["rbind", "rw"],
    });
  });
  const mounts = a(o(base.input.OCI).Mounts).map(o);
  const roAt = mounts.findIndex((m) => a(m.options).includes("ro"));
  if (roAt >= 0) {
    add("read-only mount made writable", `OCI.Mounts[${roAt}].options`, (i) => {
      const m = o(a(o(i.OCI).Mounts)[roAt]);
      m.options = a(m.options).map((x) => x === "ro" ? "rw" : x);
    });
  }
  // The guest's own data (tmpfs /dev, the pod's /dev/shm, emptyDirs) may not be dropped: the
  // container would no longer see what the pod's other containers put there (the Initializer's
  // certificates and workload secret) and, with host pull, would write into the host's share.
  // Shares the host fills and kernel filesystems may be missing (rules.rego mounts_ok).
  mounts.forEach((m, k) => {
    if (!isGuestDataMount(m)) return;
    add(`guest data mount ${String(m.destination)} dropped`, `OCI.Mounts[${k}]`, (i) => {
      a(o(i.OCI).Mounts).splice(k, 1);
    });
  });
  nestedMountOrderMutants(mounts, add);
  movedLocalEmptyDirMutants(base, mounts, add);
  if (mounts.length > 0) {
    const last = mounts.length - 1;
    add("changed mount source", `OCI.Mounts[${last}].source`, (i) => {
      o(a(o(i.OCI).Mounts)[last]).source = "/run/kata-containers/shared/containers/../../..";
    });
    add("changed mount destination", `OCI.Mounts[${last}].destination`, (i) => {
      o(a(o(i.OCI).Mounts)[last]).destination = "/etc/shadow";
    });
  }
  add("hooks set", "OCI.Hooks", (i) => {
    const hook = { Path: "/bin/sh", Args: ["sh", "-c", "id"], Env: [], Timeout: 0 };
    o(i.OCI).Hooks = {
      Prestart: [hook],
      Poststart: [],
      Poststop: [],
      CreateRuntime: [],
      CreateContainer: [],
      StartContainer: [],
    };
  });
  add("seccomp set", "OCI.Linux.Seccomp", (i) => {
    o(o(i.OCI).Linux).Seccomp = {
      DefaultAction: "SCMP_ACT_ALLOW",
      Architectures: [],
      Flags: [],
      Syscalls: [],
    };
  });
  add("extra device", "OCI.Linux.Devices", (i) => {
    a(o(o(i.OCI).Linux).Devices).push({
      Path: "/dev/mem",
      Type: "c",
      Major: 1,
      Minor: 1,
      FileMode: 0o666,
      UID: 0,
      GID: 0,
    });
  });
  add("host device", "devices", (i) => {
    a(i.devices).push({
      id: "0000:00:05.0",
      type_: "vfio-pci",
      vm_path: "/dev/vfio/1",
      container_path: "/dev/vfio/1",
      options: [],
    });
  });
  add("shared mounts", "shared_mounts", (i) => {
    a(i.shared_mounts).push({
      name: "tampered",
      src_ctr: "other",
      src_path: "/",
      dst_ctr: step.context.container ?? "",
      dst_path: "/host",
    });
  });
  // With the agent's passfd I/O the process's stdin is the host's connection on this port.
  add("stdin from a host port", "stdin_port", (i) => {
    i.stdin_port = 5;
  });
}

/** Sysctls, masked paths, namespaces and annotations. */
function linuxAndAnnotationMutants(
  base: Step["request"],
  seq: RequestSequence,
  add: AddMutant,
): void {
  add("extra sysctl", "OCI.Linux.Sysctl", (i) => {
    o(o(i.OCI).Linux).Sysctl = { ...o(o(o(i.OCI).Linux).Sysctl), "kernel.core_pattern": "|/x" };
  });
  const masked = a(o(o(base.input.OCI).Linux).MaskedPaths);
  if (masked.length > 0) {
    add("masked path removed", "OCI.Linux.MaskedPaths", (i) => {
      a(o(o(i.OCI).Linux).MaskedPaths).shift();
    });
  }
  const readonly = a(o(o(base.input.OCI).Linux).ReadonlyPaths);
  if (readonly.length > 0) {
    add("read-only path removed", "OCI.Linux.ReadonlyPaths", (i) => {
      a(o(o(i.OCI).Linux).ReadonlyPaths).shift();
    });
  }
  // Without its own mount namespace the container would run in the agent's (the guest's whole
  // file system, every container's root and volume).
  const namespaces = a(o(o(base.input.OCI).Linux).Namespaces).map(o);
  const mountAt = namespaces.findIndex((n) => n.Type === "mount");
  if (mountAt >= 0) {
    add("mount namespace dropped", `OCI.Linux.Namespaces[${mountAt}]`, (i) => {
      a(o(o(i.OCI).Linux).Namespaces).splice(mountAt, 1);
    });
  }
  add("user namespace mappings", "OCI.Linux.UIDMappings", (i) => {
    o(o(i.OCI).Linux).UIDMappings = [{ ContainerID: 0, HostID: 0, Size: 65536 }];
  });
  add("other hostname", "OCI.Hostname", (i) => {
    o(i.OCI).Hostname = "tampered-hostname";
  });
  // The agent masks after the mounts, in the container's root: a volume or an image file hidden.
  add("extra masked path", "OCI.Linux.MaskedPaths", (i) => {
    a(o(o(i.OCI).Linux).MaskedPaths).push("/contrast");
  });
  add("extra read-only path", "OCI.Linux.ReadonlyPaths", (i) => {
    a(o(o(i.OCI).Linux).ReadonlyPaths).push("/contrast");
  });
  add("host namespace path", "OCI.Linux.Namespaces", (i) => {
    const ns = a(o(o(i.OCI).Linux).Namespaces).map(o);
    if (ns.length > 0) ns[0].Path = "/proc/1/ns/" + String(ns[0].Type);
    else a(o(o(i.OCI).Linux).Namespaces).push({ Type: "network", Path: "/proc/1/ns/net" });
  });
  add("foreign annotation", "OCI.Annotations", (i) => {
    o(o(i.OCI).Annotations)["io.katacontainers.config.hypervisor.kernel_params"] = "init=/bin/sh";
  });
  add("other namespace", `OCI.Annotations["${Annotation.sandboxNamespace}"]`, (i) => {
    o(o(i.OCI).Annotations)[Annotation.sandboxNamespace] = `${seq.instance.namespace}-tampered`;
  });
}

/** What is legitimate for another container of the pod (or another pod), never for this one. */
function crossContainerMutants(
  step: Step,
  seq: RequestSequence,
  rng: RandomSource,
  add: AddMutant,
): void {
  const base = step.request;
  const process = ociProcessOf;
  const env = a(process(base.input).Env) as string[];
  add("other sandbox name", `OCI.Annotations["${Annotation.sandboxName}"]`, (i) => {
    const other = podNameOf(seq.workload, rng);
    o(o(i.OCI).Annotations)[Annotation.sandboxName] = other === seq.instance.podName
      ? `${other}-tampered`
      : other;
  });
  add("other container name", `OCI.Annotations["${Annotation.containerName}"]`, (i) => {
    o(o(i.OCI).Annotations)[Annotation.containerName] = `${step.context.container}-tampered`;
  });
  const storages = a(base.input.storages).map(o);
  const imageAt = storages.findIndex((s) => s.driver === "image_guest_pull");
  if (imageAt >= 0) {
    // Without the guest-pull storage nothing pulls the pinned image: the agent bind-mounts the
    // root path instead (setup_bundle). genpolicy accepts the storage's absence.
    add("image storage dropped", `storages[${imageAt}]`, (i) => {
      a(i.storages).splice(imageAt, 1);
    });
    add("other image digest", `storages[${imageAt}].source`, (i) => {
      const s = o(a(i.storages)[imageAt]);
      const source = String(s.source);
      const at = source.indexOf("@");
      s.source = `${at >= 0 ? source.slice(0, at) : source}@${otherDigest(rng)}`;
    });
    // A genuine image of the same pod, but another container's.
    const mine = String(storages[imageAt].source);
    const other = otherCreates(step, seq).map((x) => imageSource(x)).find((src) =>
      src !== undefined && src !== mine
    );
    if (other !== undefined) {
      add("image of another container", `storages[${imageAt}].source`, (i) => {
        o(a(i.storages)[imageAt]).source = other;
      });
    }
  }
  // The root filesystem of another container of the pod.
  const otherId = otherCreates(step, seq).find((x) => x.context.containerId)?.context.containerId;
  if (otherId !== undefined) {
    add("root of another container", "OCI.Root.Path", (i) => {
      o(o(i.OCI).Root).Path = `/run/kata-containers/${otherId}/rootfs`;
    });
  }
  // A variable that is legitimate in another container of the pod, but not in this one.
  const mineEnv = new Set(env);
  const foreign = otherCreates(step, seq).flatMap((x) =>
    a(o(o(x.request.input.OCI).Process).Env) as string[]
  ).find((e) =>
    !mineEnv.has(e) && !env.some((m) => m.split("=")[0] === e.split("=")[0]) &&
    !SERVICE_LINK_SHAPE.test(e)
  );
  if (foreign !== undefined) {
    add("env var of another container", "OCI.Process.Env", (i) => {
      a(process(i).Env).push(foreign);
    });
  }
}

/** A directory named like a shared file (`<id>-<16 characters>-<name>`): CopyFile writes below it. */
const COPY_FILE_WRITABLE_DIR = "/run/kata-containers/shared/containers/ab-0123456789abcdef-cd";

/**
 * A guest-local emptyDir (Kata's "local" storage) moved out of the sandbox's directory into one
 * the host fills with CopyFile: the storage's mount point, or the bind-mount source (then also
 * another directory than the storage's).
 */
function movedLocalEmptyDirMutants(
  base: Step["request"],
  mounts: JsonObject[],
  add: AddMutant,
): void {
  const moved = (path: string) =>
    COPY_FILE_WRITABLE_DIR + path.slice(Math.max(0, path.indexOf("/rootfs/local/")));
  mounts.forEach((m, k) => {
    if (m.type_ !== "local") return;
    add(
      `emptyDir ${String(m.destination)} bound from a CopyFile directory`,
      `OCI.Mounts[${k}].source`,
      (i) => {
        const mount = o(a(o(i.OCI).Mounts)[k]);
        mount.source = moved(String(mount.source ?? ""));
      },
    );
  });
  a(base.input.storages).map(o).forEach((s, k) => {
    if (s.driver !== "local") return;
    add(
      `local storage ${String(s.mount_point ?? "").split("/").pop()} in a CopyFile directory`,
      `storages[${k}].mount_point`,
      (i) => {
        const storage = o(a(i.storages)[k]);
        storage.mount_point = moved(String(storage.mount_point ?? ""));
      },
    );
  });
}

/** Storages the runtime never sends. */
function storageMutants(add: AddMutant): void {
  add("extra storage", "storages", (i) => {
    a(i.storages).push({
      driver: "local",
      driver_options: [],
      source: "/dev/vda",
      fstype: "ext4",
      options: [],
      mount_point: "/run/kata-containers/tampered",
      fs_group: null,
      shared: false,
    });
  });
  add("sandbox pid namespace", "sandbox_pidns", (i) => {
    i.sandbox_pidns = !i.sandbox_pidns;
  });
}

/**
 * Each storage of the request changed in a field the agent acts on: another mount point (the
 * container's binds then name a directory no storage of its request made, or another storage's),
 * an option added (e.g. the ephemeral handler's `fsgid=`, a tmpfs size, a local directory's mode),
 * another filesystem type.
 */
function storageFieldMutants(base: JsonObject, add: AddMutant): void {
  a(base.storages).map(o).forEach((s, k) => {
    const storage = (i: JsonObject) => o(a(i.storages)[k]);
    add(`storage mounted elsewhere (${String(s.driver)})`, `storages[${k}].mount_point`, (i) => {
      storage(i).mount_point = `${String(s.mount_point)}-tampered`;
    });
    add(`storage option added (${String(s.driver)})`, `storages[${k}].options`, (i) => {
      a(storage(i).options).push(s.driver === "ephemeral" ? "fsgid=0" : "mode=0700");
    });
    add(
      `storage of another filesystem type (${String(s.driver)})`,
      `storages[${k}].fstype`,
      (i) => {
        storage(i).fstype = s.fstype === "ext4" ? "xfs" : "ext4";
      },
    );
  });
}

/**
 * The guest-pull storage's metadata (`image_guest_pull={"metadata":{…}}`) telling the agent the
 * other kind of container: it unpacks the guest's pause image instead of pulling the pinned image
 * for a container marked as the sandbox (either CRI's or CRI-O's key), and pulls `pause` by name
 * for a pause container not marked so.
 */
function guestPullKindMutants(base: JsonObject, pause: boolean, add: AddMutant): void {
  const at = a(base.storages).map(o).findIndex((s) => s.driver === "image_guest_pull");
  if (at < 0) return;
  const prefix = "image_guest_pull=";
  const retag = (i: JsonObject, changes: JsonObject) => {
    const s = o(a(i.storages)[at]);
    const options = a(s.driver_options);
    const k = options.findIndex((x) => typeof x === "string" && x.startsWith(prefix));
    if (k < 0) return;
    const pull = o(JSON.parse((options[k] as string).slice(prefix.length)));
    options[k] = prefix +
      JSON.stringify({ ...pull, metadata: { ...o(pull.metadata), ...changes } });
  };
  const field = `storages[${at}].driver_options`;
  if (pause) {
    add("pause image storage not marked as the sandbox", field, (i) => {
      retag(i, { [Annotation.containerType]: "container" });
    });
    return;
  }
  add("image storage marked as the sandbox", field, (i) => {
    retag(i, { [Annotation.containerType]: "sandbox" });
  });
  add("image storage marked as the sandbox (CRI-O key)", field, (i) => {
    retag(i, { "io.kubernetes.cri-o.ContainerType": "sandbox" });
  });
}

/**
 * A raw block volume moved: the agent's device or the OCI device at another path than the pod's
 * `devicePath` (e.g. over a path the application trusts), or a cgroup rule for another device.
 */
function rawDeviceMutants(base: JsonObject, add: AddMutant): void {
  a(base.devices).map(o).forEach((d, k) => {
    add("raw device at another path", `devices[${k}].container_path`, (i) => {
      o(a(i.devices)[k]).container_path = "/dev/tampered";
    });
    // The agent takes an mmioblk device's guest path as it is: another volume's decrypted
    // device-mapper device in place of the pod's volume.
    if (d.type_ !== "vfio-pci-gk") {
      add("raw device named by a guest path", `devices[${k}].type_`, (i) => {
        Object.assign(o(a(i.devices)[k]), { type_: "mmioblk", id: "", vm_path: "/dev/dm-0" });
      });
    }
  });
  const gpus = a(base.devices).map(o).filter((d) => d.type_ === "vfio-pci-gk");
  if (gpus.length > 0) {
    add("VFIO device without its CDI annotation", "devices", (i) => {
      a(i.devices).push({ ...gpus[0], container_path: "/dev/vfio/devices/vfio99", id: "vfio99" });
    });
    add("CDI annotation for one more GPU", "OCI.Annotations", (i) => {
      o(o(i.OCI).Annotations)["cdi.k8s.io/vfio99"] = "nvidia.com/gpu=99";
    });
  }
  const linux = o(o(base.OCI).Linux);
  a(linux.Devices).map(o).forEach((d, k) => {
    if (d.Type !== "b") return;
    add("OCI block device at another path", `OCI.Linux.Devices[${k}].Path`, (i) => {
      o(a(o(o(i.OCI).Linux).Devices)[k]).Path = "/dev/tampered";
    });
    add("cgroup rule for another block device", "OCI.Linux.Resources.Devices", (i) => {
      const l = o(o(i.OCI).Linux);
      const resources = l.Resources === null ? { Devices: [] } : o(l.Resources);
      a(resources.Devices).push({
        Allow: true,
        Type: "b",
        Major: d.Major,
        Minor: (d.Minor as number) + 1,
        Access: "rwm",
      });
      l.Resources = resources;
    });
    // Without the agent's device at its path the node keeps the request's numbers: another
    // block device of the guest (here the first virtio disk), and its rule names those numbers.
    add("OCI block device not hot-plugged", "devices", (i) => {
      i.devices = a(i.devices).filter((x) => o(x).container_path !== d.Path);
      const l = o(o(i.OCI).Linux);
      Object.assign(o(a(l.Devices)[k]), { Major: 254, Minor: 0 });
      for (const r of a(o(l.Resources).Devices).map(o)) {
        if (r.Major === d.Major && r.Minor === d.Minor) Object.assign(r, { Major: 254, Minor: 0 });
      }
    });
    // A major the agent reads as any: the rule allows every block device of the guest.
    add("cgroup rule for every block device", "OCI.Linux.Resources.Devices", (i) => {
      const l = o(o(i.OCI).Linux);
      Object.assign(o(a(l.Devices)[k]), { Major: 0, Minor: 0 });
      for (const r of a(o(l.Resources).Devices).map(o)) {
        if (r.Major === d.Major && r.Minor === d.Minor) Object.assign(r, { Major: 0, Minor: 0 });
      }
    });
  });
}

/**
 * A block-encrypted emptyDir the host would read: its device not encrypted (no ephemeral key), or
 * its files given to another group than the pod's fsGroup.
 */
function blockStorageMutants(base: JsonObject, add: AddMutant): void {
  a(base.storages).map(o).forEach((s, k) => {
    if (s.driver !== "blk") return;
    add("emptyDir device not encrypted", `storages[${k}].driver_options`, (i) => {
      const st = o(a(i.storages)[k]);
      st.driver_options = (a(st.driver_options) as string[]).filter((x) =>
        !x.startsWith("encryption_key=")
      );
    });
    add("emptyDir files of another group", `storages[${k}].fs_group`, (i) => {
      const st = o(a(i.storages)[k]);
      const g = st.fs_group === null ? undefined : o(st.fs_group).group_id as number;
      st.fs_group = { group_id: g === undefined ? 0 : g + 1 };
    });
  });
}

/**
 * A block-encrypted emptyDir split from the volume the YAML names: the storage mounted at another
 * device's directory, the container bound to a directory its request adds no storage at, or (after
 * an earlier container of the pod had the volume on its device) a fresh device for this container,
 * consistent in itself, so that the app would not see what the Initializer wrote.
 */
function movedBlockEmptyDirMutants(step: Step, seq: RequestSequence, add: AddMutant): void {
  const pinned = seq.steps.slice(0, seq.steps.indexOf(step)).some((s) =>
    s.request.type === "CreateContainerRequest" &&
    a(s.request.input.storages).map(o).some((x) => x.driver === "blk")
  );
  a(step.request.input.storages).map(o).forEach((s, k) => {
    if (s.driver !== "blk") return;
    const device = String(s.source);
    const other = device === "7f/00" ? "7e/00" : "7f/00";
    const [dir, otherDir] = [blockStorageDir(device), blockStorageDir(other)];
    const rebind = (i: JsonObject) => {
      for (const m of a(o(i.OCI).Mounts).map(o)) {
        const src = String(m.source ?? "");
        if (src === dir || src.startsWith(`${dir}/`)) m.source = otherDir + src.slice(dir.length);
      }
    };
    const storage = (i: JsonObject) => o(a(i.storages)[k]);
    add(
      "emptyDir device mounted at another device's directory",
      `storages[${k}].mount_point`,
      (i) => {
        storage(i).mount_point = otherDir;
        rebind(i);
      },
    );
    add("emptyDir bound from a directory no storage adds", "OCI.Mounts[].source", rebind);
    add("emptyDir bound from a subdirectory of its storage", "OCI.Mounts[].source", (i) => {
      for (const m of a(o(i.OCI).Mounts).map(o)) {
        if (m.source === dir) m.source = `${dir}/lost+found`;
      }
    });
    if (!pinned) return;
    add("emptyDir on another device than the pod's", `storages[${k}].source`, (i) => {
      Object.assign(storage(i), { source: other, mount_point: otherDir });
      rebind(i);
    });
  });
}

/** The CreateContainer steps of the pod's other (non-pause) containers. */
function otherCreates(step: Step, seq: RequestSequence): Step[] {
  return seq.steps.filter((s) =>
    s.request.type === "CreateContainerRequest" && s.context.role !== "pause" &&
    s.context.containerId !== step.context.containerId
  );
}

function imageSource(step: Step): string | undefined {
  const s = a(step.request.input.storages).map(o).find((x) => x.driver === "image_guest_pull");
  return s === undefined ? undefined : String(s.source);
}

function execMutants(step: Step, seq: RequestSequence, rng: RandomSource): Mutant[] {
  const base = step.request;
  const out: Mutant[] = [];
  const add = (name: string, field: string, edit: Edit) =>
    out.push(variant(base, name, field, edit));
  const process = (i: JsonObject) => o(i.process);
  add("non-probe command", "process.Args", (i) => {
    process(i).Args = ["/bin/sh", "-c", "cat /proc/1/environ"];
  });
  add("probe with extra argument", "process.Args", (i) => a(process(i).Args).push("--tampered"));
  add("terminal", "process.Terminal", (i) => {
    process(i).Terminal = true;
  });
  add("extra env var", "process.Env", (i) => a(process(i).Env).push("LD_PRELOAD=/tmp/x.so"));
  // A variable the pod or image defines dropped (the runtime execs with the container's whole
  // environment): refused as for the container.
  const env = a(process(base.input).Env) as string[];
  const definedAt = env.findIndex((e) =>
    !e.startsWith("HOSTNAME=") && !e.startsWith("KUBERNETES_") && !SERVICE_LINK_SHAPE.test(e)
  );
  if (definedAt >= 0) {
    add("missing env var", `process.Env[${definedAt}]`, (i) => {
      a(process(i).Env).splice(definedAt, 1);
    });
  }
  const user = o(process(base.input).User);
  if (user.UID !== 0) {
    add("root user", "process.User.UID", (i) => {
      o(process(i).User).UID = 0;
    });
  }
  if (user.GID !== 0) {
    add("root group", "process.User.GID", (i) => {
      o(process(i).User).GID = 0;
    });
  }
  const groups = a(user.AdditionalGids);
  const extraGroup = [0, 6, 4242].find((g) => !groups.includes(g) && user.GID !== g) ?? 4243;
  add("extra group", "process.User.AdditionalGids", (i) => {
    a(o(process(i).User).AdditionalGids).push(extraGroup);
  });
  add("no_new_privileges set", "process.NoNewPrivileges", (i) => {
    process(i).NoNewPrivileges = !process(i).NoNewPrivileges;
  });
  add("changed working dir", "process.Cwd", (i) => {
    process(i).Cwd = "/tmp/tampered";
  });
  if (user.UID !== 0 || user.GID !== 0) {
    add("root string_user", "string_user", (i) => {
      i.string_user = { uid: "0", gid: "0", additionalGids: [] };
    });
  }
  add("apparmor unconfined", "process.ApparmorProfile", (i) => {
    process(i).ApparmorProfile = "unconfined";
  });
  add("selinux label", "process.SelinuxLabel", (i) => {
    process(i).SelinuxLabel = "system_u:system_r:spc_t:s0";
  });
  add("stdin from a host port", "stdin_port", (i) => {
    i.stdin_port = 5;
  });
  add("capabilities set", "process.Capabilities", (i) => {
    process(i).Capabilities = {
      Bounding: ["CAP_CHOWN"],
      Effective: [],
      Inheritable: [],
      Permitted: [],
      Ambient: [],
    };
  });
  {
    add("privileged capabilities", "process.Capabilities", (i) => {
      process(i).Capabilities = {
        Bounding: [...ALL_CAPABILITIES],
        Effective: [...ALL_CAPABILITIES],
        Inheritable: [],
        Permitted: [...ALL_CAPABILITIES],
        Ambient: [],
      };
    });
  }
  add("unknown container", "container_id", (i) => {
    i.container_id = containerId(rng);
  });
  // The probe run in the pause container.
  add("exec into the pause container", "container_id", (i) => {
    i.container_id = seq.instance.sandboxId;
  });
  // The probe run in another running container that has no such probe.
  const args = JSON.stringify(a(process(base.input).Args));
  const target = seq.steps.find((s) =>
    s.request.type === "CreateContainerRequest" &&
    (s.context.role === "container" || s.context.role === "sidecar") &&
    s.context.containerId !== step.context.containerId &&
    !seq.workload.spec.containers.concat(seq.workload.spec.initContainers)
      .find((c) => c.name === s.context.container)?.execProbes
      .some((p) => JSON.stringify(p) === args)
  );
  if (target?.context.containerId) {
    const id = target.context.containerId;
    add("probe of another container", "container_id", (i) => {
      i.container_id = id;
    });
  }
  return out;
}

function copyFileMutants(step: Step): Mutant[] {
  const base = step.request;
  const path = String(base.input.path);
  const out: Mutant[] = [
    variant(base, "path with ..", "path", (i) => {
      i.path = `${path}/../../../../etc/passwd`;
    }),
    variant(base, "path outside the shared directory", "path", (i) => {
      i.path = "/etc/ld.so.preload";
    }),
  ];
  if (base.input.file_type === "Symlink") {
    out.push(
      variant(base, "absolute symlink", "symlink_target", (i) => {
        i.symlink_target = "/etc/shadow";
      }),
      variant(base, "symlink escaping with ..", "symlink_target", (i) => {
        i.symlink_target = "../../../../../../etc/shadow";
      }),
    );
  }
  if (base.input.file_type === "Regular") {
    out.push(variant(base, "setuid file", "file_mode", (i) => {
      i.file_mode = Number(i.file_mode) | 0o4000;
    }));
  }
  return out;
}

function sandboxMutants(step: Step): Mutant[] {
  const base = step.request;
  return [
    variant(base, "kernel modules", "kernel_modules", (i) => {
      a(i.kernel_modules).push({ name: "tampered", parameters: ["x=1"] });
    }),
    variant(base, "guest hook", "guest_hook_path", (i) => {
      i.guest_hook_path = "/usr/share/oci/hooks";
    }),
    variant(base, "sandbox pid namespace", "sandbox_pidns", (i) => {
      i.sandbox_pidns = !i.sandbox_pidns;
    }),
    variant(base, "extra storage", "storages", (i) => {
      a(i.storages).push({
        driver: "virtio-blk",
        driver_options: [],
        source: "/dev/vdb",
        fstype: "ext4",
        options: [],
        mount_point: "/run/kata-containers/sandbox/tampered",
        fs_group: null,
        shared: false,
      });
    }),
  ];
}

function interfaceMutants(step: Step): Mutant[] {
  const base = step.request;
  return [
    variant(base, "interface lo", "interface.name", (i) => {
      o(i.interface).name = "lo";
    }),
    variant(base, "loopback address", "interface.IPAddresses", (i) => {
      a(o(i.interface).IPAddresses).push({ family: 0, address: "127.0.0.1", mask: "8" });
    }),
  ];
}

function routeMutants(step: Step): Mutant[] {
  const base = step.request;
  const route = (extra: JsonObject) => ({
    dest: "",
    gateway: "",
    device: "eth0",
    source: "",
    scope: 0,
    family: 0,
    flags: 0,
    mtu: 0,
    ...extra,
  });
  return [
    variant(base, "route from 127.0.0.1", "routes.Routes", (i) => {
      a(o(i.routes).Routes).push(route({ dest: "10.0.0.0/8", source: "127.0.0.1" }));
    }),
    variant(base, "route via lo", "routes.Routes", (i) => {
      a(o(i.routes).Routes).push(route({ dest: "10.0.0.0/8", device: "lo" }));
    }),
  ];
}

function arpMutants(step: Step): Mutant[] {
  return [
    variant(step.request, "neighbour on lo", "neighbors.ARPNeighbors", (i) => {
      a(o(i.neighbors).ARPNeighbors).push({
        toIPAddress: { family: 0, address: "127.0.0.2", mask: "" },
        device: "lo",
        lladdr: "02:00:00:00:00:01",
        state: 128,
        flags: 0,
      });
    }),
  ];
}

/**
 * The tampered variants of one legitimate step, evaluated in the policy state just before it.
 * Request types without a catalogue entry yield none.
 */
export function mutantsOf(step: Step, seq: RequestSequence, rng: RandomSource): Mutant[] {
  switch (step.request.type) {
    case "CreateContainerRequest":
      return createContainerMutants(step, seq, rng);
    case "ExecProcessRequest":
      return execMutants(step, seq, rng);
    case "CopyFileRequest":
      return copyFileMutants(step);
    case "CreateSandboxRequest":
      return sandboxMutants(step);
    case "UpdateInterfaceRequest":
      return interfaceMutants(step);
    case "UpdateRoutesRequest":
      return routeMutants(step);
    case "AddARPNeighborsRequest":
      return arpMutants(step);
    default:
      return [];
  }
}

/**
 * Requests that must be denied in the state reached after `step`, because of what happened so
 * far: a second sandbox, exec into or start of a removed container, SetPolicy, UpdateContainer,
 * stdin writes when no container uses stdin.
 */
export function stateMutantsAfter(
  step: Step,
  seq: RequestSequence,
  rng: RandomSource,
): Mutant[] {
  const out: Mutant[] = [];
  const deny = (name: string, field: string, request: AgentRequest) =>
    out.push({ name, field, request, expectation: "deny" });
  const { type } = step.request;
  if (type === "CreateSandboxRequest") {
    deny(
      "second sandbox",
      "sandbox_id",
      createSandboxRequest({ hostname: "", sandboxId: containerId(rng) }),
    );
    deny("SetPolicy", "policy", setPolicyRequest("package agent_policy\ndefault allow := true\n"));
    if (!seq.steps.some((s) => s.context.stdin)) {
      deny(
        "stdin write when streams are disabled",
        "data",
        writeStreamRequest(
          seq.instance.sandboxId,
          seq.instance.sandboxId,
          new TextEncoder().encode("id\n"),
        ),
      );
    }
  }
  if (type === "StartContainerRequest" && step.context.containerId) {
    deny(
      "UpdateContainer",
      "resources",
      updateContainerRequest(
        step.context.containerId,
        linuxResources({ cpuShares: 1024, cpuQuota: -1, cpuPeriod: 100000, memoryLimit: 0 }),
      ),
    );
  }
  if (type === "CreateContainerRequest" && step.context.containerId) {
    const other = otherContainerWithHeldGpu(step, seq, rng);
    if (other) deny("other container with a GPU another holds", "OCI.Annotations", other);
    const restart = newInstanceWithSameGpus(step, rng);
    if (restart) {
      out.push({
        name: "new instance of a GPU container with its GPUs",
        field: "container_id",
        request: restart,
        expectation: "non-guarantee",
      });
    }
  }
  if (type === "RemoveContainerRequest" && step.context.containerId) {
    const id = step.context.containerId;
    deny("start removed container", "container_id", startContainerRequest(id));
    const probe = seq.steps.find((s) =>
      s.request.type === "ExecProcessRequest" && s.context.containerId === id
    );
    const process = probe
      ? o(probe.request.input.process)
      : ociProcess({ args: ["/bin/true"], env: [], cwd: "/" });
    deny(
      "exec into removed container",
      "container_id",
      execProcessRequest({ containerId: id, execId: hexString(rng, 64), process }),
    );
  }
  return out;
}

/** The GPUs a CreateContainer request names: its `cdi.k8s.io/vfio<n>` annotations' values. */
function cdiGpus(request: AgentRequest): string[] {
  const annotations = o(o(request.input.OCI).Annotations);
  return Object.entries(annotations).filter(([k]) => k.startsWith("cdi.k8s.io/vfio")).map((
    [, v],
  ) => String(v));
}

/** `request` under a fresh container ID (every occurrence of `id`: storages and paths too). */
function underNewId(request: AgentRequest, id: string, rng: RandomSource): AgentRequest {
  const input = JSON.parse(
    JSON.stringify(request.input).replaceAll(id, containerId(rng)),
  ) as JsonObject;
  return { type: request.type, input };
}

/**
 * For a container given GPUs, while it exists: another GPU container of the pod (a new
 * instance of it, under a fresh ID) whose first CDI annotation names one of this container's
 * GPUs. Two containers would share that GPU. Undefined when the pod has no other GPU container.
 */
function otherContainerWithHeldGpu(
  step: Step,
  seq: RequestSequence,
  rng: RandomSource,
): AgentRequest | undefined {
  const held = cdiGpus(step.request);
  if (held.length === 0) return undefined;
  const other = seq.steps.find((s) =>
    s.request.type === "CreateContainerRequest" && s.context.containerId &&
    s.context.container !== step.context.container && cdiGpus(s.request).length > 0
  );
  if (!other) return undefined;
  const request = underNewId(other.request, other.context.containerId!, rng);
  const annotations = o(o(request.input.OCI).Annotations);
  const key = Object.keys(annotations).find((k) => k.startsWith("cdi.k8s.io/vfio"))!;
  annotations[key] = held[0]!;
  return request;
}

/**
 * For a container given GPUs: the same request again under a new container ID while the first
 * instance is still remembered, as when the kubelet restarts it and the agent never heard
 * RemoveContainer for the earlier instance (e.g. its CreateContainer failed after the policy
 * allowed it). The rules let a new instance of the same container take over its GPUs: a
 * non-guarantee, since the policy cannot tell a restart from a second instance.
 */
function newInstanceWithSameGpus(step: Step, rng: RandomSource): AgentRequest | undefined {
  if (cdiGpus(step.request).length === 0) return undefined;
  return underNewId(step.request, step.context.containerId!, rng);
}

/** Tampered requests that must be denied whatever the pod, in the initial policy state. */
export function podIndependentMutants(rng: RandomSource): Mutant[] {
  const sandboxId = containerId(rng);
  const sandbox = createSandboxRequest({ hostname: "", sandboxId });
  const shared = `/run/kata-containers/shared/containers/${containerId(rng)}-${
    hexString(rng, 16)
  }-hosts`;
  const step = (request: AgentRequest): Step => ({ request, label: request.type, context: {} });
  const iface = updateInterfaceRequest({
    device: "",
    name: "eth0",
    addresses: [{ family: 0, address: "10.244.1.5", mask: "24" }],
    mtu: 1450,
    hwAddr: "02:42:0a:f4:01:05",
  });
  const routes = updateRoutesRequest([]);
  const arp = addArpNeighborsRequest([]);
  const copy = copyFileRequest({ path: shared, fileMode: FileMode.regular | 0o644, fileSize: 8 });
  const link = copyFileRequest({
    path: `${shared}-dir/..data`,
    fileMode: FileMode.symlink | 0o777,
    fileSize: 0,
    symlinkTarget: "..2026_11_22_21_00_00.1",
  });
  const unknown = containerId(rng);
  const deny = (name: string, field: string, request: AgentRequest): Mutant => ({
    name,
    field,
    request,
    expectation: "deny",
  });
  return [
    ...sandboxMutants(step(sandbox)),
    ...interfaceMutants(step(iface)),
    ...routeMutants(step(routes)),
    ...arpMutants(step(arp)),
    ...copyFileMutants(step(copy)),
    ...copyFileMutants(step(link)),
    deny("SetPolicy", "policy", setPolicyRequest("package agent_policy\ndefault allow := true\n")),
    deny(
      "exec into unknown container",
      "container_id",
      execProcessRequest({
        containerId: unknown,
        execId: hexString(rng, 64),
        process: ociProcess({ args: ["/bin/sh"], env: [], cwd: "/" }),
      }),
    ),
    deny("start unknown container", "container_id", startContainerRequest(unknown)),
    deny(
      "UpdateContainer",
      "resources",
      updateContainerRequest(
        unknown,
        linuxResources({ cpuShares: 1024, cpuQuota: -1, cpuPeriod: 100000, memoryLimit: 0 }),
      ),
    ),
  ];
}

/**
 * Exec mutants derived from the policy itself: every command the policy data lets the host exec
 * (per container or for all) that the pod never runs (no probe or lifecycle hook of it) is tried
 * in place of the legitimate exec; allowing one is a weakness to review. Policy data without
 * that shape yields none.
 */
export function policyExecMutants(step: Step, seq: RequestSequence, policyData: unknown): Mutant[] {
  if (step.request.type !== "ExecProcessRequest") return [];
  const pd = policyData as {
    containers?: { name?: string; exec_commands?: string[][] }[];
    exec?: { allowed_commands?: string[][] };
  } | null;
  if (!pd || !Array.isArray(pd.containers)) return [];
  const used = new Set(
    [...seq.workload.spec.initContainers, ...seq.workload.spec.containers]
      .flatMap((c) => c.execProbes).map((cmd) => JSON.stringify(cmd)),
  );
  const allowed = [
    ...(pd.exec?.allowed_commands ?? []),
    ...pd.containers.flatMap((c) => c.exec_commands ?? []),
  ];
  const extra = [...new Set(allowed.map((c) => JSON.stringify(c)))].filter((c) => !used.has(c));
  return extra.map((cmd) =>
    variant(
      step.request,
      `policy allows exec of ${cmd}, which the pod never runs`,
      "process.Args",
      (i) => {
        o(i.process).Args = JSON.parse(cmd);
      },
    )
  );
}
