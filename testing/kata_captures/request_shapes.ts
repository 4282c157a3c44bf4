/**
 * Field-by-field comparison of the checker's request model (`policy/check/request_sequence.ts`)
 * with real requests captured from Kata (`../shared/conformance/kata-genpolicy`). Values the
 * runtime chooses at run time (container and sandbox IDs, the 16-hex share names, pod UID, IP and
 * network-namespace names, cgroup paths, resources, OOM scores) are normalised before comparing;
 * everything else — process, user, capabilities, mounts (destination, type, options, source shape),
 * namespaces, masked and read-only paths, sysctls, storages and annotation keys — must be equal.
 *
 * @module
 */
import { parseAllDocuments } from "yaml";
import { YAML_OPTIONS } from "../../deploy/documents.ts";
import type { ResolvedImage } from "../../oci/types.ts";
import type { Json, JsonObject } from "../../policy/check/agent_protocol.ts";
import { readClusterObjects, readWorkload } from "../../policy/check/pod.ts";
import { seededRandom } from "../../policy/check/random_ids.ts";
import { buildRequestSequence } from "../../policy/check/request_sequence.ts";
import type { CaptureCase, RecordedWith } from "./captures.ts";
import { DEFAULT_NODE_RUNTIME } from "../../policy/check/runtime_model.ts";
import type { CaptureImageResolver } from "./captures.ts";

function o(v: unknown): JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? v as JsonObject : {};
}

/** Replaces run-time chosen values in a string with placeholders. */
function normaliseText(text: string): string {
  return text
    .replace(/[0-9a-f]{64}/g, "<id>")
    .replace(/-[0-9a-z]{16}-/g, "-<hex16>-")
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>");
}

function sortedStrings(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String).sort() : [];
}

/** The compared view of a CreateContainerRequest. */
export function createContainerShape(req: JsonObject, podName: string): JsonObject {
  const oci = o(req.OCI);
  const p = o(oci.Process);
  const user = o(p.User);
  const caps = p.Capabilities === null ? null : o(p.Capabilities);
  const linux = o(oci.Linux);
  const name = (s: string) => normaliseText(s.replaceAll(podName, "<pod>"));
  return {
    "Process.Args": p.Args,
    "Process.Cwd": p.Cwd,
    "Process.Terminal": p.Terminal,
    "Process.NoNewPrivileges": p.NoNewPrivileges,
    "Process.ApparmorProfile": p.ApparmorProfile ?? "",
    "Process.User": {
      UID: user.UID,
      GID: user.GID,
      AdditionalGids: Array.isArray(user.AdditionalGids)
        ? [...user.AdditionalGids].sort((a, b) => Number(a) - Number(b))
        : user.AdditionalGids,
    },
    "Process.Capabilities": caps === null ? null : Object.fromEntries(
      ["Bounding", "Effective", "Inheritable", "Permitted", "Ambient"].map((k) => [
        k,
        sortedStrings(caps[k]),
      ]),
    ),
    "Process.Env names": sortedStrings(
      (Array.isArray(p.Env) ? p.Env : []).map((e) => String(e).split("=")[0]),
    ),
    "Root.Readonly": o(oci.Root).Readonly,
    "Root.Path": normaliseText(String(o(oci.Root).Path ?? "")),
    Mounts: (Array.isArray(oci.Mounts) ? oci.Mounts : []).map((m) => {
      const mo = o(m);
      return `${mo.destination} ${mo.type_ ?? mo.type} ${name(String(mo.source))} [${
        sortedStrings(mo.options).join(",")
      }]`;
    }).sort(),
    "Linux.Namespaces": (Array.isArray(linux.Namespaces) ? linux.Namespaces : [])
      .map((n) => `${o(n).Type}:${o(n).Path}`).sort(),
    "Linux.MaskedPaths": sortedStrings(linux.MaskedPaths),
    "Linux.ReadonlyPaths": sortedStrings(linux.ReadonlyPaths),
    // containerd 1.7 leaves the runtime's default sysctls out (`{}`); both are real.
    "Linux.Sysctl": withoutDefaultSysctls(linux.Sysctl),
    "Linux.Devices": linux.Devices,
    "Linux.Seccomp": linux.Seccomp ?? null,
    Hooks: oci.Hooks ?? null,
    "Annotation keys": Object.keys(o(oci.Annotations)).sort(),
    storages: (Array.isArray(req.storages) ? req.storages : []).map((s) => {
      const so = o(s);
      // The guest-pull options carry the container's annotations (compared above); others whole.
      const driverOptions = so.driver === "image_guest_pull"
        ? []
        : sortedStrings(so.driver_options);
      return `${so.driver} ${so.fstype} ${name(String(so.source))} ${
        name(String(so.mount_point))
      } [${sortedStrings(so.options).join(",")}] [${driverOptions.join(",")}] ${
        JSON.stringify(so.fs_group ?? null)
      } shared=${so.shared === true}`;
    }).sort(),
    devices: req.devices,
    sandbox_pidns: req.sandbox_pidns,
  };
}

/** The compared view of an ExecProcessRequest. */
export function execShape(req: JsonObject): JsonObject {
  const p = o(req.process);
  return {
    "process.Args": p.Args,
    "process.Cwd": p.Cwd,
    "process.Terminal": p.Terminal,
    "process.NoNewPrivileges": p.NoNewPrivileges,
    "process.Capabilities": p.Capabilities ?? null,
    "process.User": sortedKeys(p.User),
    "process.ApparmorProfile": p.ApparmorProfile ?? "",
    "process.SelinuxLabel": p.SelinuxLabel ?? "",
    string_user: req.string_user ?? null,
  };
}

const DEFAULT_SYSCTL_NAMES = ["net.ipv4.ip_unprivileged_port_start", "net.ipv4.ping_group_range"];

function withoutDefaultSysctls(v: unknown): Json {
  if (v === null || v === undefined) return {};
  return Object.fromEntries(
    Object.entries(o(v)).filter(([k]) => !DEFAULT_SYSCTL_NAMES.includes(k)),
  ) as Json;
}

function sortedKeys(v: unknown): Json {
  return v === null || v === undefined
    ? null
    : Object.fromEntries(Object.entries(o(v)).sort(([a], [b]) => a.localeCompare(b))) as Json;
}

/** Differences between two shapes, one line per field. */
export function shapeDifferences(model: JsonObject, capture: JsonObject): string[] {
  const out: string[] = [];
  for (const key of new Set([...Object.keys(model), ...Object.keys(capture)])) {
    const a = JSON.stringify(model[key]);
    const b = JSON.stringify(capture[key]);
    if (a !== b) out.push(`${key}: model ${a}, capture ${b}`);
  }
  return out;
}

/**
 * The model's request sequence for a capture case's pod, on the node the case was recorded on
 * (`recorded_with.json`: runtime profile, emptyDir mode, namespace).
 */
export async function modelSequenceFor(
  c: CaptureCase,
  images: CaptureImageResolver,
  recorded?: RecordedWith,
) {
  const docs = c.yaml.flatMap(([, text]) =>
    parseAllDocuments(text, YAML_OPTIONS).map((d) => d.toJS())
  );
  const namespace = recorded?.namespace ?? "default";
  const workload = readWorkload(docs[0], c.name, namespace);
  if (!workload) throw new Error(`${c.name}: no pod in the YAML`);
  const resolved = new Map<string, ResolvedImage>();
  for (const container of [...workload.spec.initContainers, ...workload.spec.containers]) {
    resolved.set(container.image, await images.resolve(container.image));
  }
  return buildRequestSequence({
    workload,
    images: resolved,
    cluster: readClusterObjects(docs, namespace),
    rng: seededRandom(12),
    node: {
      profile: recorded?.runtime ?? DEFAULT_NODE_RUNTIME.profile,
      emptyDirMode: recorded?.emptydir_mode ?? DEFAULT_NODE_RUNTIME.emptyDirMode,
    },
  });
}
