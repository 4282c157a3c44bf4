/**
 * The Kata agent's request messages as the agent hands them to its policy engine: the JSON that
 * `serde_json` produces from the protobuf structs of `agent.proto`, `oci.proto` and `types.proto`.
 * Every field is present, as the agent serialises it: unset messages are `null`, unset lists `[]`,
 * unset strings `""`, unset numbers `0`, enums as their integer value, `bytes` as a list of byte
 * values. The Rust field `type` is spelled `type_`.
 *
 * The functions here build complete messages from the few values a caller cares about, so no
 * field is ever left out.
 *
 * @module
 */

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** Request types (protobuf message names) are the rules' entrypoints, one per agent request. */
export { isRequestType, REQUEST_TYPES, type RequestType } from "../../rego/request_types.ts";
import type { RequestType } from "../../rego/request_types.ts";

/** One request as the agent's policy engine sees it. */
export interface AgentRequest {
  /** The protobuf message name: the policy entrypoint `data.agent_policy.<type>`. */
  readonly type: RequestType;
  /** The request JSON, every field present. */
  readonly input: JsonObject;
}

/**
 * `text` as a string of its own characters (a V8 "sequential" string), as a string decoded from
 * the agent's wire message is. A substring of 13 or more characters (`slice`, `split`, the YAML
 * parser's values) stays a view into the string it was cut from, and a single such view in a
 * request takes V8's `JSON.stringify` of the whole request off its fast path: the example app's
 * CreateContainer requests serialised in 7.3-11.4 µs with 5-14 of them (paths, storage fields,
 * capability names, the container-name annotation), 4.0-6.1 µs with those copied, the same as a
 * parsed copy of the request (policy evaluation serialises every request it decides). A copy
 * costs ~70 ns; shorter strings are never views and are returned as they are.
 */
export function wireText(text: string): string {
  // Array.prototype.join writes its result into a new string (a plain concatenation would keep
  // the view as one half of a pair).
  return text.length < 13 ? text : [text.slice(0, 1), text.slice(1)].join("");
}

/** Copies of `texts` (see {@link wireText}). */
function wireTexts(texts: readonly string[]): string[] {
  return texts.map(wireText);
}

/** Deep copy of a JSON value (requests are mutated only through copies). */
export function cloneJson<T extends Json>(value: T): T {
  return structuredClone(value);
}

/** The OCI process (`oci.proto` `Process`) the caller sets; the rest takes agent defaults. */
interface ProcessFields {
  readonly terminal?: boolean;
  readonly uid?: number;
  readonly gid?: number;
  readonly additionalGids?: readonly number[];
  readonly username?: string;
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  readonly capabilities?: CapabilitySets | null;
  readonly noNewPrivileges?: boolean;
  readonly apparmorProfile?: string;
  readonly oomScoreAdj?: number;
}

/** The five capability sets of `LinuxCapabilities`. */
export interface CapabilitySets {
  readonly bounding: readonly string[];
  readonly effective: readonly string[];
  readonly inheritable: readonly string[];
  readonly permitted: readonly string[];
  readonly ambient: readonly string[];
}

/** `oci.proto` `Process`, complete. */
export function ociProcess(p: ProcessFields): JsonObject {
  return {
    Terminal: p.terminal ?? false,
    ConsoleSize: null,
    User: {
      UID: p.uid ?? 0,
      GID: p.gid ?? 0,
      AdditionalGids: [...(p.additionalGids ?? [])],
      Username: wireText(p.username ?? ""),
    },
    Args: wireTexts(p.args),
    Env: wireTexts(p.env),
    Cwd: wireText(p.cwd),
    Capabilities: p.capabilities
      ? {
        Bounding: wireTexts(p.capabilities.bounding),
        Effective: wireTexts(p.capabilities.effective),
        Inheritable: wireTexts(p.capabilities.inheritable),
        Permitted: wireTexts(p.capabilities.permitted),
        Ambient: wireTexts(p.capabilities.ambient),
      }
      : null,
    Rlimits: [],
    NoNewPrivileges: p.noNewPrivileges ?? false,
    ApparmorProfile: p.apparmorProfile ?? "",
    OOMScoreAdj: p.oomScoreAdj ?? 0,
    SelinuxLabel: "",
  };
}

/** An OCI mount (`oci.proto` `Mount`). */
export interface MountFields {
  readonly destination: string;
  readonly source: string;
  readonly type: string;
  readonly options: readonly string[];
}

/** `oci.proto` `Mount`, complete. */
export function ociMount(m: MountFields): JsonObject {
  return {
    destination: wireText(m.destination),
    source: wireText(m.source),
    type_: m.type,
    options: wireTexts(m.options),
  };
}

/** A Linux namespace of the OCI spec. */
interface NamespaceFields {
  readonly type: string;
  readonly path: string;
}

/** The parts of `oci.proto` `Linux` a caller sets. */
interface LinuxFields {
  readonly sysctl: Readonly<Record<string, string>>;
  readonly cgroupsPath: string;
  readonly namespaces: readonly NamespaceFields[];
  readonly maskedPaths: readonly string[];
  readonly readonlyPaths: readonly string[];
  readonly resources?: JsonObject | null;
  /** `oci.proto` `LinuxDevice`s (raw block volumes). */
  readonly devices?: readonly JsonObject[];
}

/** `oci.proto` `LinuxResources` with the CPU and memory values containerd sets. */
export function linuxResources(r: {
  cpuShares: number;
  cpuQuota: number;
  cpuPeriod: number;
  memoryLimit: number;
}): JsonObject {
  return {
    Devices: [],
    Memory: {
      Limit: r.memoryLimit,
      Reservation: 0,
      Swap: 0,
      Kernel: 0,
      KernelTCP: 0,
      Swappiness: 0,
      DisableOOMKiller: false,
    },
    CPU: {
      Shares: r.cpuShares,
      Quota: r.cpuQuota,
      Period: r.cpuPeriod,
      RealtimeRuntime: 0,
      RealtimePeriod: 0,
      Cpus: "",
      Mems: "",
    },
    Pids: null,
    BlockIO: null,
    HugepageLimits: [],
    Network: null,
  };
}

/** `oci.proto` `Linux`, complete. */
export function ociLinux(l: LinuxFields): JsonObject {
  return {
    UIDMappings: [],
    GIDMappings: [],
    Sysctl: { ...l.sysctl },
    Resources: l.resources ?? null,
    CgroupsPath: wireText(l.cgroupsPath),
    Namespaces: l.namespaces.map((n) => ({ Type: n.type, Path: wireText(n.path) })),
    Devices: [...(l.devices ?? [])],
    Seccomp: null,
    RootfsPropagation: "",
    MaskedPaths: wireTexts(l.maskedPaths),
    ReadonlyPaths: wireTexts(l.readonlyPaths),
    MountLabel: "",
    IntelRdt: null,
  };
}

/** The parts of `oci.proto` `Spec` a caller sets. */
interface SpecFields {
  readonly version: string;
  readonly process: JsonObject;
  readonly rootPath: string;
  readonly rootReadonly: boolean;
  readonly hostname: string;
  readonly mounts: readonly JsonObject[];
  readonly annotations: Readonly<Record<string, string>>;
  readonly linux: JsonObject;
}

/** `oci.proto` `Spec`, complete. */
export function ociSpec(s: SpecFields): JsonObject {
  return {
    Version: s.version,
    Process: s.process,
    Root: { Path: wireText(s.rootPath), Readonly: s.rootReadonly },
    Hostname: wireText(s.hostname),
    Mounts: [...s.mounts],
    Hooks: null,
    Annotations: Object.fromEntries(
      Object.entries(s.annotations).map(([key, value]) => [key, wireText(value)]),
    ),
    Linux: s.linux,
    Solaris: null,
    Windows: null,
  };
}

/** An agent `Storage` the caller sets. */
interface StorageFields {
  readonly driver: string;
  readonly driverOptions: readonly string[];
  readonly source: string;
  readonly fstype: string;
  readonly options: readonly string[];
  readonly mountPoint: string;
  readonly shared?: boolean;
  /** The group the agent gives the storage's files (`fs_group.group_id`); none when absent. */
  readonly fsGroup?: number;
}

/** `agent.proto` `Storage`, complete. */
export function agentStorage(s: StorageFields): JsonObject {
  return {
    driver: s.driver,
    driver_options: wireTexts(s.driverOptions),
    source: wireText(s.source),
    fstype: s.fstype,
    options: wireTexts(s.options),
    mount_point: wireText(s.mountPoint),
    fs_group: s.fsGroup === undefined ? null : { group_id: s.fsGroup },
    shared: s.shared ?? false,
  };
}

/** `CreateSandboxRequest`, complete. */
export function createSandboxRequest(r: {
  hostname: string;
  sandboxId: string;
  storages?: readonly JsonObject[];
  dns?: readonly string[];
}): AgentRequest {
  return {
    type: "CreateSandboxRequest",
    input: {
      hostname: r.hostname,
      dns: [...(r.dns ?? [])],
      storages: [...(r.storages ?? [])],
      sandbox_pidns: false,
      sandbox_id: r.sandboxId,
      guest_hook_path: "",
      kernel_modules: [],
    },
  };
}

/** `GuestDetailsRequest` as the runtime sends it after creating the sandbox. */
export function guestDetailsRequest(): AgentRequest {
  return {
    type: "GuestDetailsRequest",
    input: { mem_block_size: true, mem_hotplug_probe: false },
  };
}

/** `GetOOMEventRequest` (no fields): the shim's long poll for out-of-memory events. */
export function getOomEventRequest(): AgentRequest {
  return { type: "GetOOMEventRequest", input: {} };
}

/** `StatsContainerRequest`, complete: kubelet's metrics, through containerd and the shim. */
export function statsContainerRequest(containerId: string): AgentRequest {
  return { type: "StatsContainerRequest", input: { container_id: containerId } };
}

/** An IP address of `types.proto`. */
interface IpAddressFields {
  readonly family: 0 | 1;
  readonly address: string;
  readonly mask: string;
}

/** `types.proto` `IPAddress`, complete. */
function ipAddress(a: IpAddressFields): JsonObject {
  return { family: a.family, address: a.address, mask: a.mask };
}

/** `UpdateInterfaceRequest`, complete. */
export function updateInterfaceRequest(i: {
  device: string;
  name: string;
  addresses: readonly IpAddressFields[];
  mtu: number;
  hwAddr: string;
  devicePath?: string;
  type?: string;
  rawFlags?: number;
}): AgentRequest {
  return {
    type: "UpdateInterfaceRequest",
    input: {
      interface: {
        device: i.device,
        name: i.name,
        IPAddresses: i.addresses.map(ipAddress),
        mtu: i.mtu,
        hwAddr: i.hwAddr,
        devicePath: i.devicePath ?? "",
        type_: i.type ?? "",
        raw_flags: i.rawFlags ?? 0,
      },
    },
  };
}

/** A route of `types.proto`. */
interface RouteFields {
  readonly dest: string;
  readonly gateway: string;
  readonly device: string;
  readonly source: string;
  readonly scope: number;
  readonly family: 0 | 1;
  readonly flags?: number;
  readonly mtu?: number;
}

/** `types.proto` `Route`, complete. */
function route(r: RouteFields): JsonObject {
  return {
    dest: r.dest,
    gateway: r.gateway,
    device: r.device,
    source: r.source,
    scope: r.scope,
    family: r.family,
    flags: r.flags ?? 0,
    mtu: r.mtu ?? 0,
  };
}

/** `UpdateRoutesRequest`, complete. */
export function updateRoutesRequest(routes: readonly RouteFields[]): AgentRequest {
  return {
    type: "UpdateRoutesRequest",
    input: { routes: { Routes: routes.map(route) } },
  };
}

/** An ARP neighbour of `types.proto`. */
interface ArpNeighborFields {
  readonly address: IpAddressFields;
  readonly device: string;
  readonly lladdr: string;
  readonly state: number;
  readonly flags: number;
}

/** `AddARPNeighborsRequest`, complete. */
export function addArpNeighborsRequest(neighbors: readonly ArpNeighborFields[]): AgentRequest {
  return {
    type: "AddARPNeighborsRequest",
    input: {
      neighbors: {
        ARPNeighbors: neighbors.map((n) => ({
          toIPAddress: ipAddress(n.address),
          device: n.device,
          lladdr: n.lladdr,
          state: n.state,
          flags: n.flags,
        })),
      },
    },
  };
}

/** POSIX `S_IFMT` file type bits. */
export const FileMode = {
  regular: 0o100000,
  directory: 0o040000,
  symlink: 0o120000,
} as const;

/**
 * The `dir_mode` the Kata runtime sends for parent directories: Go's `os.ModeDir | 0o750`, whose
 * directory bit is bit 31 (not POSIX `S_IFDIR`).
 */
export const GO_DIR_MODE = 0x80000000 + 0o750;

/** The file type the agent derives from `file_mode` for its policy (`PolicyCopyFileRequest`). */
type CopyFileType = "Regular" | "Directory" | "Symlink" | "Unknown";

/** The file type of a POSIX mode, as the agent names it. */
export function fileTypeOf(mode: number): CopyFileType {
  switch (mode & 0o170000) {
    case FileMode.regular:
      return "Regular";
    case FileMode.directory:
      return "Directory";
    case FileMode.symlink:
      return "Symlink";
    default:
      return "Unknown";
  }
}

/**
 * `CopyFileRequest` as the agent's policy sees it: the agent converts the request to
 * `PolicyCopyFileRequest` (file type decoded, symlink target as text, data left out) before asking
 * the policy.
 */
export function copyFileRequest(f: {
  path: string;
  fileMode: number;
  dirMode?: number;
  fileSize: number;
  symlinkTarget?: string;
  uid?: number;
  gid?: number;
  offset?: number;
}): AgentRequest {
  const fileType = fileTypeOf(f.fileMode);
  return {
    type: "CopyFileRequest",
    input: {
      path: wireText(f.path),
      file_type: fileType,
      symlink_target: fileType === "Symlink" ? wireText(f.symlinkTarget ?? "") : null,
      file_size: f.fileSize,
      file_mode: f.fileMode,
      dir_mode: f.dirMode ?? GO_DIR_MODE,
      uid: f.uid ?? -1,
      gid: f.gid ?? -1,
      offset: f.offset ?? 0,
    },
  };
}

/** `CreateContainerRequest`, complete. */
export function createContainerRequest(c: {
  containerId: string;
  execId: string;
  storages: readonly JsonObject[];
  oci: JsonObject;
  /** Whether the container joins the sandbox's PID namespace (`shareProcessNamespace`). */
  sandboxPidns?: boolean;
  /** `agent.proto` `Device`s the runtime hot-plugged for the container. */
  devices?: readonly JsonObject[];
}): AgentRequest {
  return {
    type: "CreateContainerRequest",
    input: {
      container_id: wireText(c.containerId),
      exec_id: wireText(c.execId),
      string_user: null,
      devices: [...(c.devices ?? [])],
      storages: [...c.storages],
      OCI: c.oci,
      sandbox_pidns: c.sandboxPidns ?? false,
      shared_mounts: [],
      stdin_port: 0,
      stdout_port: 0,
      stderr_port: 0,
    },
  };
}

/** `StartContainerRequest`, complete. */
export function startContainerRequest(containerId: string): AgentRequest {
  return { type: "StartContainerRequest", input: { container_id: containerId } };
}

/** `WaitProcessRequest`, complete. */
export function waitProcessRequest(containerId: string, execId: string): AgentRequest {
  return { type: "WaitProcessRequest", input: { container_id: containerId, exec_id: execId } };
}

/** `ExecProcessRequest`, complete. */
export function execProcessRequest(e: {
  containerId: string;
  execId: string;
  process: JsonObject;
}): AgentRequest {
  return {
    type: "ExecProcessRequest",
    input: {
      container_id: e.containerId,
      exec_id: e.execId,
      string_user: null,
      process: e.process,
      stdin_port: 0,
      stdout_port: 0,
      stderr_port: 0,
    },
  };
}

/** `ReadStreamRequest` (ReadStdout/ReadStderr), complete. */
export function readStreamRequest(containerId: string, execId: string, len = 32768): AgentRequest {
  return {
    type: "ReadStreamRequest",
    input: { container_id: containerId, exec_id: execId, len },
  };
}

/** `WriteStreamRequest` (WriteStdin), complete; `data` as the byte values serde writes. */
export function writeStreamRequest(
  containerId: string,
  execId: string,
  data: Uint8Array,
): AgentRequest {
  return {
    type: "WriteStreamRequest",
    input: { container_id: containerId, exec_id: execId, data: [...data] },
  };
}

/** `SignalProcessRequest`, complete. */
export function signalProcessRequest(
  containerId: string,
  execId: string,
  signal: number,
): AgentRequest {
  return {
    type: "SignalProcessRequest",
    input: { container_id: containerId, exec_id: execId, signal },
  };
}

/** `RemoveContainerRequest`, complete. */
export function removeContainerRequest(containerId: string, timeout = 0): AgentRequest {
  return { type: "RemoveContainerRequest", input: { container_id: containerId, timeout } };
}

/** `DestroySandboxRequest` (no fields). */
export function destroySandboxRequest(): AgentRequest {
  return { type: "DestroySandboxRequest", input: {} };
}

/** `SetPolicyRequest`, complete. */
export function setPolicyRequest(policy: string): AgentRequest {
  return { type: "SetPolicyRequest", input: { policy } };
}

/** `UpdateContainerRequest`, complete. */
export function updateContainerRequest(containerId: string, resources: JsonObject): AgentRequest {
  return { type: "UpdateContainerRequest", input: { container_id: containerId, resources } };
}
