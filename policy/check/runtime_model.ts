/**
 * What containerd's CRI plugin and the Kata runtime put into agent requests that does not come
 * from the pod spec: default mounts, capabilities, masked paths, the pause process, guest paths
 * and annotation names. Kept in one place so the request builder reads like the runtime's flow.
 *
 * @module
 */
import type { CapabilitySets, MountFields } from "./agent_protocol.ts";
import { DEFAULT_RUNTIME_PROFILE, isHostPull, type RuntimeProfile } from "../runtime_profiles.ts";
import type { EmptyDirMode } from "../settings.ts";
import { cleanDestination } from "../mount_order.ts";
import { ParseError } from "../../util/errors/mod.ts";

/**
 * The node's runtime the requests are modelled on: what `generate --runtime/--emptydir-mode` was
 * told (containerd version, guest or host pull, how emptyDirs are backed).
 */
export interface NodeRuntime {
  readonly profile: RuntimeProfile;
  readonly emptyDirMode: EmptyDirMode;
  /** The kubelet's cluster domain (`generate --cluster-domain`); default `cluster.local`. */
  readonly clusterDomain?: string;
}

/** containerd 2 with guest pull and guest-local emptyDirs (generate's defaults). */
export const DEFAULT_NODE_RUNTIME: NodeRuntime = {
  profile: DEFAULT_RUNTIME_PROFILE,
  emptyDirMode: "guest-local",
};

/** What the kubelet's hostname depends on. */
interface HostnameSpec {
  readonly hostname?: string;
  readonly subdomain?: string;
  readonly setHostnameAsFQDN: boolean;
  readonly hostnameOverride?: string;
}

/**
 * The hostname the kubelet gives a pod's sandbox (`GeneratePodHostNameAndDomain`,
 * `GetNodenameForKernel`, v1.37): `hostnameOverride`, else `hostname` or the pod's name cut to 63
 * characters without a trailing `-` or `.`, and with `setHostnameAsFQDN` and a subdomain the FQDN
 * `<hostname>.<subdomain>.<namespace>.svc.<cluster domain>`. containerd makes it the OCI hostname
 * and `HOSTNAME`; Kata's runtime sends it in CreateSandbox.
 *
 * @throws {ParseError} for an FQDN longer than 64 characters (the kubelet starts no such pod)
 */
export function kubeletHostname(
  podName: string,
  namespace: string,
  spec: HostnameSpec,
  clusterDomain = "cluster.local",
): string {
  const cut = (h: string) => h.length <= 63 ? h : h.slice(0, 63).replace(/[-.]+$/, "");
  if (spec.hostnameOverride) return cut(spec.hostnameOverride);
  const hostname = cut(spec.hostname || podName);
  if (!spec.setHostnameAsFQDN || !spec.subdomain) return hostname;
  const fqdn = `${hostname}.${spec.subdomain}.${namespace}.svc.${clusterDomain}`;
  if (fqdn.length > 64) {
    throw new ParseError(
      "setHostnameAsFQDN",
      `FQDN ${fqdn} is too long (64 characters is the max)`,
    );
  }
  return fqdn;
}

/** Whether the agent pulls container images in the guest (an `image_guest_pull` storage each). */
export function pullsInGuest(node: NodeRuntime): boolean {
  return !isHostPull(node.profile);
}

/**
 * The guest path of a container's root filesystem: its bundle directory, where the agent unpacks
 * an image pulled in the guest, or under host pull the host's share (Kata fs_share_linux.go
 * ShareRootFilesystem).
 */
export function rootPath(node: NodeRuntime, containerId: string): string {
  return pullsInGuest(node)
    ? `${CONTAINER_DIR}/${containerId}/rootfs`
    : `${SHARED_DIR}/${containerId}/rootfs`;
}

/**
 * Whether the sandbox's requests carry containerd 2's `io.kubernetes.cri.podsandbox.image-name`
 * annotation (containerd 1.7 sends none).
 */
export function namesSandboxImage(node: NodeRuntime): boolean {
  return node.profile.startsWith("containerd-2-");
}

/** Guest directory of Kata's block devices (block-encrypted emptyDirs), by base64url of the source. */
export const SANDBOX_STORAGE_DIR = "/run/kata-containers/sandbox/storage";

/** OCI runtime-spec version containerd writes. */
export const OCI_VERSION = "1.2.1";

/** Guest directory the Kata runtime copies shared files into. */
export const SHARED_DIR = "/run/kata-containers/shared/containers";

/** Guest directory of pulled container root filesystems. */
export const CONTAINER_DIR = "/run/kata-containers";

/** Guest directory of memory-backed emptyDir volumes. */
export const EPHEMERAL_DIR = "/run/kata-containers/sandbox/ephemeral";

/** Guest `/dev/shm` of the sandbox. */
export const SANDBOX_SHM = "/run/kata-containers/sandbox/shm";

/** Size of the sandbox's `/dev/shm` in bytes (Kata's default, 64 MiB). */
export const SHM_SIZE = 67108864;

/** containerd's bundle directory on the host (carried in an annotation). */
export const BUNDLE_DIR = "/run/containerd/io.containerd.runtime.v2.task/k8s.io";

/** The `PATH` of the pause image. */
export const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Annotation names containerd and Kata set on each container's OCI spec. */
export const Annotation = {
  containerType: "io.kubernetes.cri.container-type",
  containerName: "io.kubernetes.cri.container-name",
  imageName: "io.kubernetes.cri.image-name",
  sandboxId: "io.kubernetes.cri.sandbox-id",
  sandboxName: "io.kubernetes.cri.sandbox-name",
  sandboxNamespace: "io.kubernetes.cri.sandbox-namespace",
  sandboxUid: "io.kubernetes.cri.sandbox-uid",
  sandboxLogDirectory: "io.kubernetes.cri.sandbox-log-directory",
  sandboxCpuPeriod: "io.kubernetes.cri.sandbox-cpu-period",
  sandboxCpuQuota: "io.kubernetes.cri.sandbox-cpu-quota",
  sandboxCpuShares: "io.kubernetes.cri.sandbox-cpu-shares",
  sandboxMemory: "io.kubernetes.cri.sandbox-memory",
  bundlePath: "io.katacontainers.pkg.oci.bundle_path",
  kataContainerType: "io.katacontainers.pkg.oci.container_type",
  podSandboxImageName: "io.kubernetes.cri.podsandbox.image-name",
} as const;

/** containerd's default capability set for unprivileged containers. */
const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** Every capability a privileged container gets (Linux 6.x). */
export const ALL_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

/**
 * The capability sets containerd gives a container with `add`/`drop` applied, in its order (CRI
 * `WithCapabilities`): `add: [ALL]` gives all, `drop: [ALL]` none, then the named adds, then the
 * named drops. Privileged containers get all, whatever they add or drop.
 */
export function capabilitySets(
  privileged: boolean,
  add: readonly string[],
  drop: readonly string[],
): CapabilitySets {
  const normalise = (c: string) => c.startsWith("CAP_") ? c : `CAP_${c.toUpperCase()}`;
  let caps = privileged ? [...ALL_CAPABILITIES] : [...DEFAULT_CAPABILITIES];
  if (!privileged) {
    const added = add.map(normalise);
    const dropped = drop.map(normalise);
    if (added.includes("CAP_ALL")) caps = [...ALL_CAPABILITIES];
    if (dropped.includes("CAP_ALL")) caps = [];
    for (const c of added) if (c !== "CAP_ALL" && !caps.includes(c)) caps.push(c);
    caps = caps.filter((c) => !dropped.includes(c));
  }
  return { bounding: caps, effective: caps, inheritable: [], permitted: caps, ambient: [] };
}

/** Paths containerd masks in unprivileged containers. */
export const MASKED_PATHS: readonly string[] = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

/** Paths containerd makes read-only in unprivileged containers. */
export const READONLY_PATHS: readonly string[] = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

/** Sysctls containerd sets on every pod (unprivileged ports and ping). */
export const DEFAULT_SYSCTLS: Readonly<Record<string, string>> = {
  "net.ipv4.ip_unprivileged_port_start": "0",
  "net.ipv4.ping_group_range": "0 2147483647",
};

/**
 * The CRI mounts (kubelet's volume mounts and files, containerd's hostname, resolv.conf and
 * /dev/shm) in the order containerd puts them after its default mounts: stably sorted by the
 * number of elements of their clean destination, parents first (containerd `WithMounts`,
 * `orderedMounts`), so no mount is covered by a later one at a parent directory.
 */
export function containerdMountOrder(criMounts: readonly MountFields[]): MountFields[] {
  const depth = (m: MountFields) => cleanDestination(m.destination).split("/").length;
  return criMounts.map((m, i) => ({ m, i, d: depth(m) }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .map(({ m }) => m);
}

/** The OCI default mounts of every container (the pause container has no cgroup mount). */
export function defaultMounts(pause: boolean, privileged: boolean): MountFields[] {
  const sysMode = privileged ? "rw" : "ro";
  const mounts: MountFields[] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    {
      destination: "/dev/mqueue",
      type: "mqueue",
      source: "mqueue",
      options: ["nosuid", "noexec", "nodev"],
    },
    {
      destination: "/sys",
      type: "sysfs",
      source: "sysfs",
      options: ["nosuid", "noexec", "nodev", sysMode],
    },
  ];
  if (!pause) {
    mounts.push({
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", sysMode],
    });
  }
  return mounts;
}

/** The Kubernetes service environment every pod gets for the API server. */
export function apiServerEnv(clusterIp: string): string[] {
  return [
    `KUBERNETES_SERVICE_HOST=${clusterIp}`,
    "KUBERNETES_SERVICE_PORT=443",
    "KUBERNETES_SERVICE_PORT_HTTPS=443",
    `KUBERNETES_PORT=tcp://${clusterIp}:443`,
    `KUBERNETES_PORT_443_TCP=tcp://${clusterIp}:443`,
    "KUBERNETES_PORT_443_TCP_PROTO=tcp",
    "KUBERNETES_PORT_443_TCP_PORT=443",
    `KUBERNETES_PORT_443_TCP_ADDR=${clusterIp}`,
  ];
}

/**
 * The variables the kubelet makes of a Service `name` at `ip` (`pkg/kubelet/envvars`
 * `FromServices`, v1.37): host, first port, each named port, and the docker-link variables (first
 * port, and each port's URL, protocol, port and address).
 */
export function serviceLinkEnv(
  name: string,
  ip: string,
  ports: readonly { port: number; name: string; protocol: string }[],
): string[] {
  const n = name.toUpperCase().replaceAll("-", "_");
  const hostPort = (port: number) => ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
  const env = [`${n}_SERVICE_HOST=${ip}`, `${n}_SERVICE_PORT=${ports[0]!.port}`];
  for (const p of ports) {
    if (p.name !== "") {
      env.push(`${n}_SERVICE_PORT_${p.name.toUpperCase().replaceAll("-", "_")}=${p.port}`);
    }
  }
  ports.forEach((p, i) => {
    const proto = p.protocol.toLowerCase();
    const url = `${proto}://${hostPort(p.port)}`;
    if (i === 0) env.push(`${n}_PORT=${url}`);
    const prefix = `${n}_PORT_${p.port}_${p.protocol.toUpperCase()}`;
    env.push(
      `${prefix}=${url}`,
      `${prefix}_PROTO=${proto}`,
      `${prefix}_PORT=${p.port}`,
      `${prefix}_ADDR=${ip}`,
    );
  });
  return env;
}
