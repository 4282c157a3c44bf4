/**
 * The memory the proxy may use and the connection cap per listener that memory allows. Two
 * sources: `CONTRAST_MESH_MEMORY_LIMIT` (the sidecar's `limits.memory` in bytes, which
 * `contrast generate` passes through the downward API: the only source in contrast's image,
 * whose Deno permissions cannot read below `/sys`) and the cgroup v2 file `memory.max` (where
 * readable, `-A`); when both give a limit the smaller applies. Parsing is pure (text in, a typed
 * reading out); {@link readMemoryLimit} is the one I/O step, done once at start.
 *
 * @module
 */
import { MEMORY_LIMIT_ENV } from "../protocol/mesh_config.ts";

/** Where cgroup v2 exposes the memory limit of the process's own cgroup (inside a container). */
const CGROUP_MEMORY_MAX_PATH = "/sys/fs/cgroup/memory.max";

/**
 * Resident memory one held connection costs, bytes: measured with `bench/meshproxy/flood.ts`
 * (one proxy, two inbound listeners, 4936 TLS connections held on one: 725 MB resident, about
 * 130 KB per held connection; see the README's "Measured" paragraph under the mesh proxy).
 */
export const BYTES_PER_CONNECTION = 130_000;

/**
 * Share of the memory limit the listeners' connections may take together; the rest is for the
 * runtime, credentials, buffers in flight and what a reconnect flood leaves behind (the measured
 * resident memory grew further under one, see the README).
 */
export const CONNECTION_MEMORY_SHARE = 0.5;

/** What `memory.max` (or the memory limit variable) says about the memory the proxy may use. */
export type MemoryLimit =
  /** A limit in bytes; `source` names where it was read (the variable or the file). */
  | { readonly kind: "limited"; readonly bytes: number; readonly source?: string }
  /** `max`: no limit. */
  | { readonly kind: "unlimited" }
  /** No such file (no cgroup v2, or not mounted in the container). */
  | { readonly kind: "absent" }
  /** The file exists but could not be read or parsed; `reason` says why. */
  | { readonly kind: "unreadable"; readonly reason: string };

/**
 * The reading of `memory.max`'s text: `max` (unlimited) or a whole number of bytes, with
 * surrounding whitespace; `undefined` means the file is absent. Anything else is `unreadable`.
 */
export function parseMemoryMax(text: string | undefined): MemoryLimit {
  if (text === undefined) return { kind: "absent" };
  const value = text.trim();
  if (value === "max") return { kind: "unlimited" };
  if (!/^[0-9]{1,20}$/.test(value)) {
    return {
      kind: "unreadable",
      reason: `${CGROUP_MEMORY_MAX_PATH}: expected "max" or a number of bytes, got ` +
        JSON.stringify(value.slice(0, 40)),
    };
  }
  const bytes = Number(value);
  if (!Number.isSafeInteger(bytes) || bytes === 0) {
    return {
      kind: "unreadable",
      reason: `${CGROUP_MEMORY_MAX_PATH}: ${value} is not a usable number of bytes`,
    };
  }
  return { kind: "limited", bytes, source: CGROUP_MEMORY_MAX_PATH };
}

/**
 * The reading of `CONTRAST_MESH_MEMORY_LIMIT`: a whole positive number of bytes, as the kubelet
 * writes `limits.memory` (with no limit on the container it writes the node's allocatable memory:
 * a large number, which gives a large cap, and the descriptor cap applies); unset or empty is
 * `absent`, anything else `unreadable` naming the variable.
 */
export function parseMemoryLimitEnv(value: string | undefined): MemoryLimit {
  if (value === undefined || value === "") return { kind: "absent" };
  if (!/^[0-9]{1,20}$/.test(value)) {
    return {
      kind: "unreadable",
      reason: `${MEMORY_LIMIT_ENV}: expected a number of bytes, got ` +
        JSON.stringify(value.slice(0, 40)),
    };
  }
  const bytes = Number(value);
  if (!Number.isSafeInteger(bytes) || bytes === 0) {
    return {
      kind: "unreadable",
      reason: `${MEMORY_LIMIT_ENV}: ${value} is not a usable number of bytes`,
    };
  }
  return { kind: "limited", bytes, source: MEMORY_LIMIT_ENV };
}

/**
 * Connections each listener may hold within {@link CONNECTION_MEMORY_SHARE} of the memory limit
 * at {@link BYTES_PER_CONNECTION} each, at least 1; `undefined` when the limit is not known
 * (unlimited, absent or unreadable: the descriptor-derived cap alone applies then).
 */
export function memoryConnectionCap(limit: MemoryLimit, listeners: number): number | undefined {
  if (limit.kind !== "limited") return undefined;
  const budget = limit.bytes * CONNECTION_MEMORY_SHARE;
  return Math.max(1, Math.floor(budget / BYTES_PER_CONNECTION / Math.max(1, listeners)));
}

/**
 * Reads `memory.max` at `path` (default {@link CGROUP_MEMORY_MAX_PATH}): a missing file is
 * `absent`, any other read failure `unreadable` (never thrown: the proxy then keeps the
 * descriptor-derived cap).
 */
export async function readCgroupMemoryMax(path = CGROUP_MEMORY_MAX_PATH): Promise<MemoryLimit> {
  try {
    return parseMemoryMax(await Deno.readTextFile(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { kind: "absent" };
    if (error instanceof Deno.errors.NotCapable) {
      // Deno reads nothing below /sys without --allow-all, which contrast's image does not grant.
      return {
        kind: "unreadable",
        reason: `${path}: not readable with this process's Deno permissions (reading below /sys ` +
          `needs --allow-all), and no usable ${MEMORY_LIMIT_ENV} (contrast generate sets it ` +
          "from the sidecar's limits.memory: regenerate, or set maxConnections in the limits " +
          "annotation to fit the memory limit)",
      };
    }
    return { kind: "unreadable", reason: `${path}: ${(error as Error).message}` };
  }
}

/**
 * The proxy's memory limit: the smaller of `envValue` (`CONTRAST_MESH_MEMORY_LIMIT`, see
 * {@link parseMemoryLimitEnv}) and the cgroup's `memory.max` at `path` (read only when the
 * variable gives no limit or the file is readable: in contrast's image it is not, and the variable
 * alone decides). Never throws: when neither gives a limit, the reading says why (an unusable
 * variable first), and the proxy keeps the descriptor-derived cap.
 *
 * @example Read the limit as the proxy does at start
 * ```ts
 * import { readMemoryLimit } from "./memory_limit.ts";
 *
 * const limit = await readMemoryLimit(Deno.env.get("CONTRAST_MESH_MEMORY_LIMIT"));
 * if (limit.kind === "limited") console.log(limit.bytes, limit.source);
 * ```
 */
export async function readMemoryLimit(
  envValue: string | undefined,
  path = CGROUP_MEMORY_MAX_PATH,
): Promise<MemoryLimit> {
  const fromEnv = parseMemoryLimitEnv(envValue);
  const fromCgroup = await readCgroupMemoryMax(path);
  if (fromEnv.kind === "limited") {
    return fromCgroup.kind === "limited" && fromCgroup.bytes < fromEnv.bytes ? fromCgroup : fromEnv;
  }
  if (fromEnv.kind === "unreadable" && fromCgroup.kind !== "limited") {
    const cgroup = fromCgroup.kind === "unreadable"
      ? fromCgroup.reason
      : `${path}: ${fromCgroup.kind}`;
    return { kind: "unreadable", reason: `${fromEnv.reason}; ${cgroup}` };
  }
  return fromCgroup;
}
