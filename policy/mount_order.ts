/**
 * The order nested mounts must arrive in. The Kata agent mounts a container's OCI mounts in list
 * order, so a mount followed by one at a parent directory of its destination (or at the same
 * path) is covered by it: a host that sends `[/etc/app/keys, /etc/app]` hides the guest-local
 * emptyDir at `/etc/app/keys` under the configMap share at `/etc/app`. containerd sends its CRI
 * mounts sorted parents first (after its default mounts), so every legitimate request has each
 * parent before what is nested in it. Computed once at generate time so that the rules
 * (`rules.rego` `mounts_in_order`) only look up positions per request.
 *
 * @module
 */
import type { MountExpectation } from "./policy_data_types.ts";

/** `[parent, nested]`: the mount at `parent` must come before the one at `nested`. */
export type MountOrderPair = readonly [string, string];

/**
 * A destination as the agent resolves it: repeated `/` collapsed, `.` elements dropped, `..`
 * applied (never above `/`) and no trailing `/` (like Go's `filepath.Clean` on absolute paths).
 */
export function cleanDestination(destination: string): string {
  // Most destinations are clean already (every element a name other than `.` and `..`).
  if (CLEAN_PATH.test(destination)) return destination;
  const parts: string[] = [];
  for (const part of destination.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** An absolute path that {@link cleanDestination} returns unchanged: `/`, or `/name` elements. */
const CLEAN_PATH = /^(?:\/|(?:\/(?!\.\.?(?:\/|$))[^/]+)+)$/;

const SLASH = 0x2f;

/** Whether `parent` (clean) is a proper ancestor directory of `nested` (clean). */
function isAncestor(parent: string, nested: string): boolean {
  if (parent === "/") return nested !== "/";
  return nested.length > parent.length && nested.charCodeAt(parent.length) === SLASH &&
    nested.startsWith(parent);
}

/**
 * Every pair of expected destinations one of which lies inside the other, as
 * `[parent, nested]`, compared on their clean paths. Two destinations that differ only in
 * spelling (`/data` and `/data/`) name one directory: the later one covers the earlier, so they
 * must arrive in the order the pod lists them.
 *
 * @example The runtime's default mounts nest below /dev and /sys
 * ```ts
 * import { mountOrder } from "./mount_order.ts";
 *
 * const m = (destination: string) => ({ destination, type: "bind", source_regex: "", options: [] });
 * console.log(mountOrder([m("/dev"), m("/dev/shm"), m("/etc/app"), m("/etc/app/keys")]));
 * // [["/dev", "/dev/shm"], ["/etc/app", "/etc/app/keys"]]
 * ```
 */
export function mountOrder(mounts: readonly MountExpectation[]): MountOrderPair[] {
  const clean = mounts.map((m) => cleanDestination(m.destination));
  const pairs: MountOrderPair[] = [];
  for (let i = 0; i < mounts.length; i++) {
    for (let j = 0; j < mounts.length; j++) {
      if (i === j || mounts[i]!.destination === mounts[j]!.destination) continue;
      const sameDirectory = clean[i] === clean[j] && i < j;
      if (sameDirectory || isAncestor(clean[i]!, clean[j]!)) {
        pairs.push([mounts[i]!.destination, mounts[j]!.destination]);
      }
    }
  }
  return pairs;
}

/**
 * The first mount of `destinations` (in list order) that a later one covers: `[nested, parent]`
 * where `parent` comes later and is a parent directory of `nested` (or the same one); undefined
 * when nested mounts come parents first. For explaining a denial.
 */
export function firstCoveredMount(
  destinations: readonly string[],
): readonly [string, string] | undefined {
  const clean = destinations.map(cleanDestination);
  for (let i = 0; i < destinations.length; i++) {
    for (let j = i + 1; j < destinations.length; j++) {
      if (clean[i] === clean[j] || isAncestor(clean[j]!, clean[i]!)) {
        return [destinations[i]!, destinations[j]!];
      }
    }
  }
  return undefined;
}
