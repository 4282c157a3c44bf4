/**
 * The shape of `policy_data`, the per-pod expectations the rules in `rego/rules.rego` read from
 * `data.agent_policy.policy_data`. Regex fields are anchored RE2 patterns; `$(cid)` in a pattern
 * stands for the container ID of the request being checked.
 *
 * @module
 */

import type { PatternShape } from "./pattern_shapes.ts";
import type { MountOrderPair } from "./mount_order.ts";

/**
 * An expected environment variable: an exact value, a value pattern, or (for values from a
 * Kubernetes Secret, which must not be published in the policy) `secret`: the variable must be
 * present, its value is not constrained (the agent's engine has no hash builtin; see the README's
 * limits).
 */
export type EnvExpectation =
  | { readonly name: string; readonly value: string }
  | { readonly name: string; readonly regex: string }
  | { readonly name: string; readonly secret: true };

/** Capability sets of an OCI process (Linux names, `CAP_…`). */
export interface CapabilitySets {
  readonly bounding: readonly string[];
  readonly effective: readonly string[];
  readonly inheritable: readonly string[];
  readonly permitted: readonly string[];
  readonly ambient: readonly string[];
}

/** The expected OCI process of a container. */
interface ProcessExpectation {
  /** Exact argument vector (with `arg_regexes`: the arguments as the pod spec writes them). */
  readonly args: readonly string[];
  /** Per-argument anchored patterns, present only when an argument is known only at run time. */
  readonly arg_regexes?: readonly string[];
  /** Expected variables; the request may omit some but never adds or changes one. */
  readonly env: readonly EnvExpectation[];
  /** Patterns for whole `NAME=value` strings the runtime adds (service links, HOSTNAME). */
  readonly env_regexes: readonly string[];
  readonly cwd: string;
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups the process may carry. */
  readonly additional_gids: readonly number[];
  readonly terminal: boolean;
  readonly no_new_privileges: boolean;
  readonly capabilities: CapabilitySets;
}

/**
 * An expected OCI mount.
 *
 * @example The mounts every container of a pod carries
 * ```ts
 * import { loadDefaultSettings, type MountExpectation } from "./mod.ts";
 *
 * const mounts: readonly MountExpectation[] = (await loadDefaultSettings()).container.default_mounts;
 * console.log(mounts.map((m) => m.destination));
 * ```
 */
export interface MountExpectation {
  /** Where it is mounted in the container. */
  readonly destination: string;
  /** The mount type (`bind`, `tmpfs`, …). */
  readonly type: string;
  /** A regular expression the source must match. */
  readonly source_regex: string;
  /** The options it must carry. */
  readonly options: readonly string[];
  /** Options the mount may carry besides `options` (differences between runtime versions). */
  readonly optional_options?: readonly string[];
  /**
   * The mount may be missing: its content is the host's anyway (a share) or it is a kernel
   * filesystem, so without it the container sees its pinned image's files there (rules.rego
   * `mounts_ok`). Never set for the guest's own data (/dev, /dev/shm, emptyDirs).
   */
  readonly optional?: boolean;
}

/**
 * An expected agent `Storage`.
 *
 * @example The storages the sandbox expects
 * ```ts
 * import { loadDefaultSettings, type StorageExpectation } from "./mod.ts";
 *
 * const storages: readonly StorageExpectation[] = (await loadDefaultSettings()).sandbox.storages;
 * console.log(storages.map((s) => s.driver));
 * ```
 */
export interface StorageExpectation {
  /** The storage driver. */
  readonly driver: string;
  /** The file system type. */
  readonly fstype: string;
  /** A regular expression the source must match. */
  readonly source_regex: string;
  /** A regular expression the mount point must match. */
  readonly mount_point_regex: string;
  /** Regular expressions its options must match, in order. */
  readonly option_regexes: readonly string[];
  /** Regular expressions its driver options must match, in order. */
  readonly driver_option_regexes: readonly string[];
  /**
   * The group the agent gives the storage's files (the pod's `securityContext.fsGroup`, Kata's
   * block-encrypted emptyDir); absent: the storage must carry none.
   */
  readonly fs_group?: number;
}

/** What kind of container an entry describes. */
export type ContainerKind = "pause" | "init" | "sidecar" | "container";

/** One container of the pod (including the pause container). */
export interface ContainerExpectation {
  readonly name: string;
  readonly kind: ContainerKind;
  /** Pinned image reference (`repo@sha256:…`), as the CRI image-name annotation carries it. */
  readonly image: string;
  readonly process: ProcessExpectation;
  readonly readonly_root: boolean;
  readonly root_path_regex: string;
  readonly mounts: readonly MountExpectation[];
  /**
   * Pairs `[parent, nested]` of `mounts` destinations, one inside the other: when both are sent,
   * `parent` must come first (the agent mounts in list order; the other order would cover the
   * nested mount). Generated for every container (`mountOrder`, policy/mount_order.ts);
   * absent (hand-written policy data): the rules compare every pair of sent mounts.
   */
  readonly mount_order?: readonly MountOrderPair[];
  readonly storages: readonly StorageExpectation[];
  readonly namespaces: readonly string[];
  readonly sysctls: Readonly<Record<string, string>>;
  /** Sysctls of `sysctls` the runtime may leave out (containerd 1.7 sends no defaults). */
  readonly optional_sysctls?: readonly string[];
  readonly masked_paths: readonly string[];
  readonly readonly_paths: readonly string[];
  /** Allowed OCI annotation keys and their value patterns. */
  readonly annotations: Readonly<Record<string, string>>;
  /** Commands the host may exec in this container (exec probes and lifecycle hooks). */
  readonly exec_commands: readonly (readonly string[])[];
  readonly sandbox_pidns: boolean;
  /**
   * Block devices the container may get, by path inside it (only the encrypted-volume container
   * of a `secure-pv` pod has one); absent or empty: none.
   */
  readonly devices?: readonly DeviceExpectation[];
  /**
   * GPUs passed through with VFIO (`nvidia.com/pgpu`): that many `cdi.k8s.io/vfio<n>` annotations
   * (`nvidia.com/gpu=<index>`), and no VFIO device (cold plug) or one per GPU at
   * `/dev/vfio/devices/vfio<n>` (hot plug); absent: none.
   */
  readonly gpus?: number;
}

/** A block device a container may get. */
export interface DeviceExpectation {
  /** Its path inside the container, e.g. `/dev/csi0`. */
  readonly container_path: string;
}

/** The per-pod policy data. */
export interface PolicyData {
  readonly version: 1;
  readonly pod: {
    readonly namespace: string;
    readonly sandbox_name_regex: string;
    readonly hostname_regex: string;
    readonly sandbox_pidns: boolean;
  };
  readonly containers: readonly ContainerExpectation[];
  readonly sandbox: { readonly storages: readonly StorageExpectation[] };
  readonly copy_file: { readonly path_regexes: readonly string[] };
  readonly exec: { readonly allowed_commands: readonly (readonly string[])[] };
  /** Allow (true) or deny (false) for requests without a dedicated check. */
  readonly requests: Readonly<Record<string, boolean>>;
  /**
   * The shape of each pattern above (policy/pattern_shapes.ts), so the rules decide it without
   * working the shape out in every evaluation; absent in older policies (the rules then do).
   */
  readonly pattern_shapes?: Readonly<Record<string, PatternShape>>;
}
