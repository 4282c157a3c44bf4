/**
 * Platform settings for policy generation: images contrast injects, what the Kata runtime puts
 * into every container (mounts, masked paths, annotations), and which simple agent requests are
 * allowed. Defaults ship in `policy/settings.json`; users pass their own with `--settings`.
 *
 * @module
 */
import { InvalidDocumentError } from "../util/errors/mod.ts";
import { childPath, IssueList, parseJsonText } from "../util/json/mod.ts";
import type { MountExpectation, StorageExpectation } from "./policy_data_types.ts";
import shippedSettings from "./settings.json" with { type: "json" };

/** Values of `container.emptydir_mode` (Kata's `emptydir_mode`). */
export const EMPTYDIR_MODES: readonly EmptyDirMode[] = ["guest-local", "block-encrypted"];

/**
 * How emptyDir volumes reach the guest: `guest-local` (a directory in the guest) or
 * `block-encrypted` (Kata's encrypted block device).
 *
 * @example Read the mode the default settings use
 * ```ts
 * import { type EmptyDirMode, loadDefaultSettings } from "./mod.ts";
 *
 * const mode: EmptyDirMode = (await loadDefaultSettings()).container.emptydir_mode;
 * ```
 */
export type EmptyDirMode = "guest-local" | "block-encrypted";

/**
 * The settings document.
 *
 * @example Which runtime classes are made confidential
 * ```ts
 * import { loadDefaultSettings, type Settings } from "./mod.ts";
 *
 * const settings: Settings = await loadDefaultSettings();
 * console.log(settings.runtime_class_prefix);
 * ```
 */
export interface Settings {
  /** Only resources whose runtimeClassName starts with this are made confidential. */
  readonly runtime_class_prefix: string;
  /** The versioned runtime class name written into generated resources. */
  readonly runtime_class_name: string;
  /** The runtime class contrast's pods run with. */
  readonly initializer: {
    /** The injected initializer container. */
    readonly image: string;
    /** Environment of the initializer (e.g. `CONTRAST_COORDINATOR`, the Coordinator's mesh API). */
    readonly env: readonly { readonly name: string; readonly value: string }[];
    readonly secrets_volume: string;
    readonly secrets_mount_path: string;
  };
  /** The injected service-mesh sidecar. */
  readonly service_mesh: { readonly image: string; readonly capabilities_add: readonly string[] };
  /** What the policy expects of the sandbox's pause container. */
  readonly pause: {
    readonly image: string;
    readonly args: readonly string[];
    readonly env: readonly string[];
    readonly cwd: string;
    readonly uid: number;
    readonly gid: number;
    /** Mounts of the pause container (containerd's sandbox spec as Kata forwards it). */
    readonly mounts: readonly MountExpectation[];
    /** Storages of the pause container (guest pull: the guest's own pause image, source `pause`). */
    readonly storages: readonly StorageExpectation[];
    /** Annotations only the sandbox (pause) container carries (containerd 2), with patterns. */
    readonly annotations: Readonly<Record<string, string>>;
  };
  /** Container defaults the policy allows. */
  readonly container: {
    readonly root_path_regex: string;
    /**
     * Storages that bring a container's image into the guest. Guest pull: one `image_guest_pull`
     * storage whose source is the pinned image (`$(image)`: the escaped pinned reference). Host
     * pull (`--runtime …-host-pull`): none, the root filesystem is shared from the host.
     */
    readonly image_storages: readonly StorageExpectation[];
    /**
     * How the nodes' Kata runtime backs an emptyDir (its `emptydir_mode`): `guest-local`, a
     * directory in the guest's memory-backed root (`local` storage), or `block-encrypted`, a block
     * device from the host that the agent formats under an ephemeral dm-crypt key (`blk` storage
     * with `encryption_key=ephemeral`). `--emptydir-mode` overrides it.
     */
    readonly emptydir_mode: EmptyDirMode;
    readonly default_capabilities: readonly string[];
    readonly privileged_capabilities: readonly string[];
    readonly masked_paths: readonly string[];
    readonly readonly_paths: readonly string[];
    /** Namespaces the agent sees (Kata drops pid, network, cgroup and time). */
    readonly namespaces: readonly string[];
    /** Sysctls containerd sets on every container; the pod's own sysctls override them. */
    readonly default_sysctls: Readonly<Record<string, string>>;
    /** Whether the runtime may leave the default sysctls out (containerd 1.7 sends `{}`). */
    readonly default_sysctls_optional: boolean;
    readonly service_link_env_regexes: readonly string[];
    readonly service_env_regexes: readonly string[];
    readonly default_mounts: readonly MountExpectation[];
    /** Options the `/sys/fs/cgroup` mount may carry besides the expected ones (cgroup2 mounts). */
    readonly cgroup_optional_options: readonly string[];
    readonly pod_file_mounts: readonly MountExpectation[];
    readonly annotations: Readonly<Record<string, string>>;
  };
  /** Storages every sandbox gets. */
  readonly sandbox: { readonly storages: readonly StorageExpectation[] };
  /** Paths the agent may copy files to. */
  readonly copy_file: { readonly path_regexes: readonly string[] };
  /** Commands `ExecProcess` may run. */
  readonly exec: { readonly allowed_commands: readonly (readonly string[])[] };
  /** Agent requests allowed (true) or refused (false) by name. */
  readonly requests: Readonly<Record<string, boolean>>;
}

// Paths (with [] for array elements) whose object keys are free-form, and the value type.
const FREE_MAPS: Record<string, "string" | "boolean"> = {
  "container.annotations": "string",
  "pause.annotations": "string",
  "requests": "boolean",
  "container.default_sysctls": "string",
};
// Fields that take one of a few strings.
const ENUMS: Record<string, readonly string[]> = {
  "container.emptydir_mode": EMPTYDIR_MODES,
};
// Template for arrays whose default is empty.
const EMPTY_ARRAY_ELEMENT: Record<string, unknown> = {
  "exec.allowed_commands[]": ["string"],
  "sandbox.storages[].driver_option_regexes[]": "string",
  "sandbox.storages[].option_regexes[]": "string",
  "pause.storages[].option_regexes[]": "string",
  "container.image_storages[].option_regexes[]": "string",
  "service_mesh.capabilities_add[]": "string",
};
const REGEX_KEYS =
  /(_regex|_regexes\[\d+\]|^(container|pause)\.annotations\..*|^(container|pause)\.annotations\[.*)$/;

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

function checkLike(
  template: unknown,
  value: unknown,
  path: string,
  shape: string,
  issues: IssueList,
): void {
  const free = FREE_MAPS[shape];
  if (free) {
    if (typeName(value) !== "object") return issues.add(path, "must be an object");
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (typeName(v) !== free) issues.add(childPath(path, k), `must be a ${free}`);
      else if (free === "string" && shape.endsWith(".annotations")) {
        checkRegex(v as string, childPath(path, k), issues);
      }
    }
    return;
  }
  if (typeName(template) !== typeName(value)) {
    return issues.add(
      path,
      `must be ${typeName(template) === "object" ? "an object" : `a ${typeName(template)}`}, got ${
        typeName(value)
      }`,
    );
  }
  if (Array.isArray(template)) {
    const element = template.length > 0 ? template[0] : EMPTY_ARRAY_ELEMENT[`${shape}[]`];
    (value as unknown[]).forEach((v, i) => {
      if (element !== undefined) checkLike(element, v, `${path}[${i}]`, `${shape}[]`, issues);
    });
    return;
  }
  if (typeName(template) === "object") {
    const t = template as Record<string, unknown>;
    const v = value as Record<string, unknown>;
    for (const key of Object.keys(v)) {
      if (!(key in t)) issues.add(childPath(path, key), "unknown field");
    }
    for (const key of Object.keys(t)) {
      if (!(key in v)) issues.add(childPath(path, key), "missing");
      else checkLike(t[key], v[key], childPath(path, key), shape ? `${shape}.${key}` : key, issues);
    }
    return;
  }
  if (typeof value === "string" && REGEX_KEYS.test(path)) checkRegex(value, path, issues);
  const allowed = ENUMS[shape];
  if (allowed && !allowed.includes(value as string)) {
    issues.add(path, `must be one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`);
  }
}

function checkRegex(pattern: string, path: string, issues: IssueList): void {
  try {
    new RegExp(pattern);
  } catch {
    issues.add(path, "not a valid regular expression");
    return;
  }
  if (!pattern.startsWith("^") || !pattern.endsWith("$")) {
    issues.add(path, "pattern must be anchored with ^ and $");
  }
}

/**
 * The default settings shipped with contrast (embedded in the program; a fresh copy).
 *
 * @example Start from the shipped settings
 * ```ts
 * import { loadDefaultSettings } from "./mod.ts";
 *
 * const settings = await loadDefaultSettings();
 * console.log(settings.runtime_class_name);
 * ```
 */
export function loadDefaultSettings(): Promise<Settings> {
  return Promise.resolve(structuredClone(shippedSettings) as Settings);
}

/**
 * Validates user settings against the shape of the defaults: every field present, no unknown
 * field, right types, anchored valid regexes.
 *
 * @throws {InvalidDocumentError} listing every problem with its path (prefixed with `file`)
 *
 * @example Validate user settings against the defaults
 * ```ts
 * import { loadDefaultSettings, parseSettings } from "./mod.ts";
 *
 * const defaults = await loadDefaultSettings();
 * const settings = parseSettings(structuredClone(defaults), defaults, "settings.json");
 * console.log(settings.runtime_class_prefix === defaults.runtime_class_prefix); // true
 * ```
 */
export function parseSettings(value: unknown, defaults: Settings, file = "settings"): Settings {
  const issues = new IssueList();
  checkLike(defaults, value, "", "", issues);
  if (!issues.empty) {
    throw new InvalidDocumentError(
      issues.issues.map((i) => ({ path: `${file}: ${i.path || "(root)"}`, reason: i.reason })),
    );
  }
  return value as Settings;
}

/**
 * Loads settings from `path` (JSON), or the defaults when `path` is undefined.
 *
 * @example Settings from a file, or the defaults
 * ```ts
 * import { loadSettings } from "./mod.ts";
 *
 * async function settingsFor(path: string | undefined) {
 *   return await loadSettings(path); // undefined: the shipped defaults
 * }
 * console.log((await settingsFor(undefined)).runtime_class_name);
 * ```
 */
export async function loadSettings(path?: string): Promise<Settings> {
  const defaults = await loadDefaultSettings();
  if (path === undefined) return defaults;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new InvalidDocumentError([{
      path,
      reason: `cannot read settings JSON: ${(error as Error).message}`,
    }]);
  }
  let parsed: unknown;
  try {
    // A key given twice is refused: a reader sees the first, JSON.parse keeps the last (a
    // settings file from elsewhere could show `"SetGuestDateTimeRequest": false` and allow it
    // further down).
    parsed = parseJsonText(text);
  } catch (error) {
    if (!(error instanceof InvalidDocumentError)) throw error;
    throw new InvalidDocumentError(error.issues.map((i) => ({
      path: i.path === "(root)" ? path : `${path}: ${i.path}`,
      reason: i.path === "(root)" ? `cannot read settings JSON: ${i.reason}` : i.reason,
    })));
  }
  return parseSettings(parsed, defaults, path);
}
