/**
 * contrast's programs as build inputs: the entry point each `deno bundle` output comes from, the
 * image it goes into, and the Deno permissions it runs with (the CLI, a user's tool, gets `-A`
 * like `deno task compile` gives it; the images never). Paths are the
 * image's: the Coordinator's state volume, the initializer's output volume, configfs-tsm for real
 * evidence and `/etc/contrast` for mounted configuration (a simulated TEE's authority).
 *
 * @module
 */
import type { ContrastImage } from "../../deploy/image_lock.ts";

/**
 * A layer one image adds between the Deno runtime and its bundle: the files of a pinned Debian
 * package set (`pins.json` `extras`) and symbolic links (e.g. commands on `PATH`).
 */
export interface ExtraLayer {
  /** The package set's name in `pins.json` `extras`. */
  readonly debian: string;
  /** Link path in the image (no leading slash) → target. */
  readonly links: Readonly<Record<string, string>>;
}

/** A program contrast builds. */
export interface Component {
  /** Bundle name (`<name>.js`). */
  readonly name: string;
  /** For images: the image's name below `contrast/` and its key in the image lock. */
  readonly imageName?: ContrastImage;
  /** Entry module, relative to the repository root. */
  readonly entry: string;
  /** Whether the component is shipped as a container image. */
  readonly image: boolean;
  /** Deno permission flags, for the folders the program uses (never `-A`). */
  readonly permissions: (dirs: ComponentDirs) => string[];
  /** Extra environment of the image. */
  readonly env: readonly string[];
  /** The image's own layer of pinned system files, when it needs any. */
  readonly extraLayer?: ExtraLayer;
  /** The image's user and group (default {@link NONROOT}). */
  readonly user?: number;
}

/** The user and group contrast's images run as (distroless `nonroot`). */
export const NONROOT = 65532;

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

/**
 * The iptables commands the service-mesh proxy's transparent mode runs
 * (`meshproxy/iptables.ts`), found on `PATH`.
 */
export const MESHPROXY_COMMANDS: readonly string[] = [
  "iptables",
  "iptables-restore",
  "ip6tables",
  "ip6tables-restore",
];

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
    imageName: "coordinator",
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
    // The image carries the secure-PV step's programs (`initializer volume`): Debian's
    // cryptsetup, blkid, mke2fs and mount with exactly the shared libraries they link (the
    // pinned `secure-pv` extra set). This entry point, which every initializer container runs,
    // may run no program; only the `contrast-secure-pv` container that `contrast generate`
    // injects runs the bundle with the volume step's permissions, `--allow-run` of those four by
    // absolute path (deploy/secure_pv.ts `SECURE_PV_COMMAND`, `IMAGE_VOLUME_PROGRAMS`).
    name: "initializer",
    imageName: "initializer",
    entry: "initializer/main.ts",
    image: true,
    permissions: (d) => [
      "--allow-net",
      "--allow-env",
      `--allow-read=${d.secrets},${d.config},${d.tsm}`,
      `--allow-write=${d.secrets},${d.tsm}`,
    ],
    env: [],
    extraLayer: { debian: "secure-pv", links: {} },
  },
  {
    // Transparent mode runs iptables (the nf_tables backend of Debian's iptables, from the
    // pinned `iptables` extra set) with the CAP_NET_ADMIN the injected securityContext adds.
    // Kubernetes gives added capabilities only to a root process (it sets no ambient
    // capabilities), so this one image runs as root; its Deno permissions stay narrowed: read of
    // its TLS files, run of the four iptables commands, no write (IPv6 support is probed with a
    // socket: Deno allows no read below /proc without --allow-all).
    name: "meshproxy",
    imageName: "service-mesh-proxy",
    entry: "meshproxy/main.ts",
    image: true,
    permissions: (d) => [
      "--allow-net",
      "--allow-env",
      `--allow-read=${d.secrets}`,
      `--allow-run=${MESHPROXY_COMMANDS.join(",")}`,
    ],
    env: [],
    extraLayer: {
      debian: "iptables",
      links: Object.fromEntries(
        MESHPROXY_COMMANDS.map((c) => [`usr/bin/${c}`, "../sbin/xtables-nft-multi"]),
      ),
    },
    user: 0,
  },
];

/** The components shipped as images. */
export function imageComponents(): Component[] {
  return COMPONENTS.filter((c) => c.image);
}
