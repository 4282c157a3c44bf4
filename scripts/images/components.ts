/**
 * contrast's programs as build inputs: the entry point each `deno bundle` output comes from, the
 * image it goes into, and the Deno permissions it runs with (the CLI, a user's tool, gets `-A`
 * like `deno task compile` gives it; the Coordinator and the initializer never). Paths are the
 * image's: the Coordinator's state volume, the initializer's output volume, configfs-tsm for real
 * evidence and `/etc/contrast` for mounted configuration (a simulated TEE's authority).
 *
 * @module
 */

/** A program contrast builds. */
export interface Component {
  /** Bundle name (`<name>.js`) and, for images, the image name below `contrast/`. */
  readonly name: string;
  /** Entry module, relative to the repository root. */
  readonly entry: string;
  /** Whether the component is shipped as a container image. */
  readonly image: boolean;
  /** Deno permission flags, for the folders the program uses (never `-A`). */
  readonly permissions: (dirs: ComponentDirs) => string[];
  /** Extra environment of the image. */
  readonly env: readonly string[];
}

/** Where configuration is mounted in contrast's images (read-only). */
export const CONFIG_DIR = "/etc/contrast";
/** The configfs-tsm report interface inside a confidential VM. */
const TSM_DIR = "/sys/kernel/config/tsm";
/** The Coordinator's state volume. */
export const STATE_DIR = "/var/lib/contrast";
/**
 * The pod's ServiceAccount token, CA and namespace (mounted only into the replicated
 * Coordinator's pods, read by its Kubernetes history backend).
 */
const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
/** The initializer's output volume (shared with the pod's containers). */
export const SECRETS_DIR = "/contrast";

/** The folders the programs use. */
export interface ComponentDirs {
  /** Mounted configuration (read-only). */
  readonly config: string;
  /** configfs-tsm. */
  readonly tsm: string;
  /** The Coordinator's state. */
  readonly state: string;
  /** The initializer's output. */
  readonly secrets: string;
}

/** The folders in contrast's images. */
export const IMAGE_DIRS: ComponentDirs = {
  config: CONFIG_DIR,
  tsm: TSM_DIR,
  state: STATE_DIR,
  secrets: SECRETS_DIR,
};

/** Every program, in build order. */
export const COMPONENTS: readonly Component[] = [
  {
    name: "contrast",
    entry: "cli/main.ts",
    image: false,
    permissions: () => ["-A"],
    env: [],
  },
  {
    name: "coordinator",
    entry: "coordinator/main.ts",
    image: true,
    permissions: (d) => [
      "--allow-net",
      "--allow-env",
      `--allow-read=${d.state},${d.config},${d.tsm},${SERVICE_ACCOUNT_DIR}`,
      `--allow-write=${d.state},${d.tsm}`,
    ],
    env: [
      `CONTRAST_HISTORY_DIR=${STATE_DIR}/history`,
      `CONTRAST_COLLATERAL_CACHE=${STATE_DIR}/collateral`,
    ],
  },
  {
    name: "initializer",
    entry: "initializer/main.ts",
    image: true,
    permissions: (d) => [
      "--allow-net",
      "--allow-env",
      `--allow-read=${d.secrets},${d.config},${d.tsm}`,
      `--allow-write=${d.secrets},${d.tsm}`,
    ],
    env: [],
  },
  {
    // Not yet an image: the image needs the iptables binaries and their libraries from pinned
    // Debian packages. Its bundle and permissions are proven by the bundle test.
    name: "meshproxy",
    entry: "meshproxy/main.ts",
    image: false,
    permissions: (d) => [
      "--allow-net",
      "--allow-env",
      `--allow-read=${d.secrets},/proc/sys/net/ipv6`,
      `--allow-run=${MESHPROXY_COMMANDS.join(",")}`,
    ],
    env: [],
  },
];

/**
 * The iptables commands the service-mesh proxy's transparent mode runs
 * (`meshproxy/iptables.ts`), found on `PATH`.
 */
const MESHPROXY_COMMANDS: readonly string[] = [
  "iptables",
  "iptables-restore",
  "ip6tables",
  "ip6tables-restore",
];

/** The components shipped as images. */
export function imageComponents(): Component[] {
  return COMPONENTS.filter((c) => c.image);
}
