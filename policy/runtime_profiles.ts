/**
 * What the node's runtime sends differs between versions; `contrast generate --runtime <profile>`
 * picks the settings for the nodes' runtime. The shipped `policy/settings.json` describes
 * containerd 2 with Kata guest pull; the other profiles are derived from it by the differences
 * below, taken from Kata's captures (`../shared/conformance/kata-genpolicy`).
 *
 * - `containerd-2-guest-pull` (default): the pause container arrives with an `image_guest_pull`
 *   storage (source `pause`) and containerd 2's `io.kubernetes.cri.podsandbox.image-name` and
 *   `nerdctl/network-namespace` annotations (captures createcontainer/sysctls, ignored_fields).
 * - `containerd-1.7-guest-pull`: the pause container has no storage (capture
 *   createcontainer/security_context/runas, the sandbox request, which carries
 *   `nerdctl/network-namespace` but no `podsandbox.image-name`; both stay allowed, not required);
 *   containers are pulled in the guest as with containerd 2.
 * - Host pull (the image's root filesystem shared from the host) is refused: the guest would run
 *   whatever files the host provides instead of the pinned image.
 *
 * Tolerated in every profile (harmless differences): default sysctls left out (containerd 1.7
 * sends `{}`), `/sys/devices/virtual/powercap` masked or not, cgroup2 mount options
 * `nsdelegate`/`memory_recursiveprot`, containerd's default AppArmor profile name.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";
import type { Settings } from "./settings.ts";

/** The profiles `--runtime` accepts. */
export const RUNTIME_PROFILES = ["containerd-2-guest-pull", "containerd-1.7-guest-pull"] as const;

/** A runtime profile name. */
export type RuntimeProfile = typeof RUNTIME_PROFILES[number];

/** The profile used when none is given. */
export const DEFAULT_RUNTIME_PROFILE: RuntimeProfile = "containerd-2-guest-pull";

/**
 * Parses a `--runtime` value.
 *
 * @throws {ParseError} naming `--runtime` for an unknown profile or host pull
 */
export function parseRuntimeProfile(value: string | undefined): RuntimeProfile {
  if (value === undefined) return DEFAULT_RUNTIME_PROFILE;
  if ((RUNTIME_PROFILES as readonly string[]).includes(value)) return value as RuntimeProfile;
  if (value.includes("host-pull")) {
    throw new ParseError(
      "--runtime",
      "host pull is not supported: the container's root filesystem would come from the host " +
        "instead of the pinned image pulled inside the confidential VM; use a guest-pull profile",
    );
  }
  throw new ParseError(
    "--runtime",
    `must be one of ${RUNTIME_PROFILES.join(", ")}, got "${value}"`,
  );
}

/** The settings for `profile`, derived from settings written for containerd 2 with guest pull. */
export function settingsForRuntime(settings: Settings, profile: RuntimeProfile): Settings {
  switch (profile) {
    case "containerd-2-guest-pull":
      return settings;
    case "containerd-1.7-guest-pull":
      return { ...settings, pause: { ...settings.pause, storages: [] } };
  }
}
