/**
 * What the node's runtime sends differs between versions; `contrast generate --runtime <profile>`
 * picks the settings for the nodes' runtime. The shipped `policy/settings.json` describes
 * containerd 2 with Kata guest pull; the other profiles are derived from it by the differences
 * below, taken from Kata's captures (`../shared/conformance/kata-genpolicy`).
 *
 * - `containerd-2-guest-pull` (default): the pause container arrives with an `image_guest_pull`
 *   storage (source `pause`) and containerd 2's `io.kubernetes.cri.podsandbox.image-name` and
 *   `nerdctl/network-namespace` annotations (captures createcontainer/sysctls, ignored_fields).
 * - `containerd-1.7-guest-pull`: the same expectations as containerd 2. Kata's runtime attaches
 *   the `image_guest_pull` storage named `pause` to the sandbox whenever it pulls in the guest,
 *   whatever the containerd version (runtime/virtcontainers fs_share_linux.go ShareRootFilesystem:
 *   experimental_force_guest_pull or the snapshotter's `io.katacontainers.volume=` option, both to
 *   kata_agent.go handleImageGuestPullBlockVolume, which names the sandbox's image `pause` by the
 *   `io.katacontainers.pkg.oci.container_type` annotation). containerd 1.7 only leaves out
 *   `io.kubernetes.cri.podsandbox.image-name`, which is allowed, not required. (Kata's hand-trimmed
 *   genpolicy captures with no pause storage are no runtime's request: genpolicy's rules count
 *   guest-pull storages as optional.)
 * - `containerd-2-host-pull`, `containerd-1.7-host-pull`: the node's snapshotter unpacks images on
 *   the host and the runtime shares each root filesystem into the guest over virtio-fs, as Kata
 *   does without guest pull (snapshot 7c6ba40c): CreateSandbox mounts the share (`virtio-fs`
 *   storage `kataShared` at `/run/kata-containers/shared/containers/`, kata_agent.go:908-943
 *   setupStorages; no `dax` with Kata's default virtio_fs_cache_size 0), and every container, the
 *   pause container included, arrives without a root storage and with `Root.Path`
 *   `/run/kata-containers/shared/containers/<id>/rootfs` (fs_share_linux.go:708 and :790-797, the
 *   host's bind mount into the share; kata_agent.go:1682). genpolicy's non-CoCo settings say the
 *   same (drop-in-examples/10-non-coco-drop-in.json: root_path in the share, the virtio-fs
 *   sandbox storage). Weaker, and said so where it is chosen: the host fills every root
 *   filesystem, the pause container's too; the policy still pins the command, environment, user,
 *   mounts and image name, but nothing in the guest checks the files against the pinned image, so
 *   the host can change the program a container runs. Only guest pull binds the root filesystem to
 *   the image digest. Not modelled: the `watchable-bind` storages Kata adds under a shared
 *   filesystem for configMap, secret, projected and downwardAPI volumes (container.go:531-552),
 *   so pods with such a volume (the service account token is one) are still refused under host
 *   pull; block-device (devmapper) and nydus host snapshotters send other root storages, refused.
 *   Kata's SEV-SNP and TDX configurations set `shared_fs = "none"` (src/runtime/Makefile), with
 *   which no host-pull root reaches the guest: these profiles describe nodes set to virtio-fs.
 *
 * Tolerated in every profile (harmless differences): default sysctls left out (containerd 1.7
 * sends `{}`), `/sys/devices/virtual/powercap` masked or not, cgroup2 mount options
 * `nsdelegate`/`memory_recursiveprot`, containerd's default AppArmor profile name.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";
import type { StorageExpectation } from "./policy_data_types.ts";
import { EMPTYDIR_MODES, type EmptyDirMode, type Settings } from "./settings.ts";

/** The profiles `--runtime` accepts. */
export const RUNTIME_PROFILES = [
  "containerd-2-guest-pull",
  "containerd-1.7-guest-pull",
  "containerd-2-host-pull",
  "containerd-1.7-host-pull",
] as const;

/** A runtime profile name. */
export type RuntimeProfile = typeof RUNTIME_PROFILES[number];

/** The profile used when none is given. */
export const DEFAULT_RUNTIME_PROFILE: RuntimeProfile = "containerd-2-guest-pull";

/**
 * Parses a `--runtime` value.
 *
 * @throws {ParseError} naming `--runtime` for an unknown profile
 */
export function parseRuntimeProfile(value: string | undefined): RuntimeProfile {
  if (value === undefined) return DEFAULT_RUNTIME_PROFILE;
  if ((RUNTIME_PROFILES as readonly string[]).includes(value)) return value as RuntimeProfile;
  throw new ParseError(
    "--runtime",
    `must be one of ${RUNTIME_PROFILES.join(", ")}, got "${value}"`,
  );
}

/** Whether `profile` shares root filesystems from the host (no image integrity in the guest). */
export function isHostPull(profile: RuntimeProfile): boolean {
  return profile.endsWith("-host-pull");
}

/**
 * The warning `generate` prints for a host-pull profile (the policy cannot pin the image's files).
 */
export const HOST_PULL_WARNING =
  "host pull: the containers' root filesystems (the pause container's too) come from the host, " +
  "unchecked in the guest; " +
  "the policy pins command, environment, user and mounts, not the image's files " +
  "(use a guest-pull profile to bind them to the image digest)";

/** The settings for `profile`, derived from settings written for containerd 2 with guest pull. */
export function settingsForRuntime(settings: Settings, profile: RuntimeProfile): Settings {
  switch (profile) {
    case "containerd-2-guest-pull":
    case "containerd-1.7-guest-pull":
      return settings;
    case "containerd-2-host-pull":
    case "containerd-1.7-host-pull":
      // containerd 1.7 and 2 differ only in the sandbox annotations, allowed, not required.
      return {
        ...settings,
        pause: { ...settings.pause, storages: [] },
        container: {
          ...settings.container,
          image_storages: [],
          root_path_regex: HOST_SHARED_ROOT_PATH_REGEX,
        },
        sandbox: { storages: [HOST_SHARE_STORAGE, ...settings.sandbox.storages] },
      };
  }
}

/** Where Kata's runtime puts a root filesystem it shares from the host (fs_share_linux.go:708). */
const HOST_SHARED_ROOT_PATH_REGEX = "^/run/kata-containers/shared/containers/$(cid)/rootfs$";

/** The sandbox's virtio-fs share of the host, as CreateSandbox mounts it (kata_agent.go:936-942). */
const HOST_SHARE_STORAGE: StorageExpectation = {
  driver: "virtio-fs",
  fstype: "virtiofs",
  source_regex: "^kataShared$",
  mount_point_regex: "^/run/kata-containers/shared/containers/$",
  option_regexes: [],
  driver_option_regexes: [],
};

/**
 * Parses an `--emptydir-mode` value (Kata's `emptydir_mode` on the nodes); undefined keeps the
 * settings' `container.emptydir_mode`.
 *
 * @throws {ParseError} naming `--emptydir-mode` for another value
 */
export function parseEmptyDirMode(value: string | undefined): EmptyDirMode | undefined {
  if (value === undefined) return undefined;
  if ((EMPTYDIR_MODES as readonly string[]).includes(value)) return value as EmptyDirMode;
  throw new ParseError(
    "--emptydir-mode",
    `must be one of ${EMPTYDIR_MODES.join(", ")}, got "${value}"`,
  );
}

/** `settings` with emptyDir volumes backed as `mode` says (unchanged for undefined). */
export function settingsForEmptyDirMode(
  settings: Settings,
  mode: EmptyDirMode | undefined,
): Settings {
  if (mode === undefined || mode === settings.container.emptydir_mode) return settings;
  return { ...settings, container: { ...settings.container, emptydir_mode: mode } };
}
