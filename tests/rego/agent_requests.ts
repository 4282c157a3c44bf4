/**
 * Test helper: builds Kata agent requests (full JSON as the agent serialises them) that a
 * well-behaved runtime would send for a pod described by policy data. Used to prove the rules
 * admit the legitimate sequence and deny tampered variants.
 */
import type { ContainerExpectation, PolicyData } from "../../policy/policy_data_types.ts";
import { escapeRegex } from "../../policy/regex.ts";

/** A deterministic 64-hex ID for tests. */
export function hexId(seed: number): string {
  return seed.toString(16).padStart(2, "0").repeat(32);
}

/** Turns one of the policy's source/mount-point patterns into a concrete value matching it. */
function concrete(pattern: string, cid: string, sandboxId: string): string {
  const value = pattern
    .replace(/^\^/, "")
    .replace(/\$$/, "")
    .replaceAll("$(cid)", cid)
    .replaceAll("[A-Za-z0-9][A-Za-z0-9_.-]+", sandboxId)
    .replaceAll("[a-z0-9]{16}", "0123456789abcdef")
    .replaceAll("[A-Za-z0-9._-]+", "mount")
    .replaceAll("[0-9a-fA-F.:]+(,[0-9a-fA-F.:]+)*", "10.0.0.7")
    .replaceAll("[0-9a-fA-F.:]+", "10.0.0.7")
    .replaceAll("[0-9]+", "1")
    .replace(/\\(.)/g, "$1");
  if (!new RegExp(pattern.replaceAll("$(cid)", cid)).test(value)) {
    throw new Error(`cannot make a value for ${pattern}: ${value}`);
  }
  return value;
}

/** The sandbox (pod) name used in requests. */
function podNameFor(data: PolicyData): string {
  const re = data.pod.sandbox_name_regex;
  const candidate = re.replace(/^\^/, "").replace(/\$$/, "")
    .replaceAll("-[a-z0-9]{1,10}-[a-z0-9]{5}", "-7d9f8b6c5d-x2k9q")
    .replaceAll("-([0-9]+-)?[a-z0-9]{5}", "-x2k9q")
    .replaceAll("-[a-z0-9]{5}", "-x2k9q")
    .replaceAll("-[0-9]{1,11}", "-29000000")
    .replaceAll("-[0-9]+", "-0")
    .replace(/\\(.)/g, "$1");
  if (!new RegExp(re).test(candidate)) throw new Error(`no name for ${re}: ${candidate}`);
  return candidate;
}

/** CreateSandboxRequest as the runtime sends it. */
export function createSandbox(data: PolicyData, sandboxId: string): Record<string, unknown> {
  return {
    hostname: "",
    dns: ["nameserver 10.96.0.10"],
    storages: data.sandbox.storages.map((s) => ({
      driver: s.driver,
      driver_options: [],
      source: concrete(s.source_regex, "", sandboxId),
      fstype: s.fstype,
      options: s.driver === "ephemeral"
        ? ["noexec", "nosuid", "nodev", "mode=1777", "size=67108864"]
        : s.option_regexes.map((r) => concrete(r, "", sandboxId)),
      mount_point: concrete(s.mount_point_regex, "", sandboxId),
      fs_group: null,
    })),
    sandbox_pidns: false,
    sandbox_id: sandboxId,
    guest_hook_path: "",
    kernel_modules: [],
    guest_userns: false,
  };
}

/** CreateContainerRequest for container `c` of the pod. */
export function createContainer(
  data: PolicyData,
  c: ContainerExpectation,
  cid: string,
  sandboxId: string,
  secrets: Readonly<Record<string, string>> = {},
): Record<string, unknown> {
  const podName = podNameFor(data);
  const annotations: Record<string, string> = {
    "io.kubernetes.cri.container-type": c.kind === "pause" ? "sandbox" : "container",
    "io.kubernetes.cri.sandbox-name": podName,
    "io.kubernetes.cri.sandbox-namespace": data.pod.namespace,
    "io.kubernetes.cri.sandbox-id": sandboxId,
    "io.kubernetes.cri.sandbox-uid": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "io.katacontainers.pkg.oci.bundle_path":
      `/run/containerd/io.containerd.runtime.v2.task/k8s.io/${cid}`,
    "io.katacontainers.pkg.oci.container_type": c.kind === "pause"
      ? "pod_sandbox"
      : "pod_container",
  };
  if (c.kind !== "pause") {
    annotations["io.kubernetes.cri.container-name"] = c.name;
    annotations["io.kubernetes.cri.image-name"] = c.image;
  }
  const env = c.process.env.map((e) => {
    if ("value" in e) return `${e.name}=${e.value}`;
    if ("secret" in e) {
      const secret = secrets[e.name];
      if (secret === undefined) throw new Error(`test needs the Secret value of ${e.name}`);
      return `${e.name}=${secret}`;
    }
    return `${e.name}=${
      new RegExp(e.regex).test(podName) ? podName : concrete(e.regex, cid, sandboxId)
    }`;
  });
  if (c.kind !== "pause") env.push(`HOSTNAME=${podName}`, "KUBERNETES_SERVICE_HOST=10.96.0.1");
  const caps = c.process.capabilities;
  // The runtime copies the container's annotations into the guest-pull metadata; the agent reads
  // the container type there (the pause container's storage unpacks the guest's pause image).
  const containerTypeKey = "io.kubernetes.cri.container-type";
  const criType = c.kind === "pause" ? "sandbox" : "container";
  return {
    container_id: cid,
    exec_id: cid,
    string_user: null,
    devices: [],
    storages: c.storages.map((s) => ({
      driver: s.driver,
      driver_options: s.driver_option_regexes.map((r) =>
        r === "^image_guest_pull=.*$"
          ? `image_guest_pull=${JSON.stringify({ metadata: { [containerTypeKey]: criType } })}`
          : concrete(r, cid, sandboxId)
      ),
      source: concrete(s.source_regex, cid, sandboxId),
      fstype: s.fstype,
      options: s.option_regexes.map((r) => concrete(r, cid, sandboxId)),
      mount_point: concrete(s.mount_point_regex, cid, sandboxId),
      fs_group: null,
    })),
    OCI: {
      Version: "1.1.0",
      Process: {
        Terminal: c.process.terminal,
        ConsoleSize: null,
        User: {
          UID: c.process.uid,
          GID: c.process.gid,
          AdditionalGids: [c.process.gid],
          Username: "",
        },
        Args: c.process.arg_regexes
          ? c.process.arg_regexes.map((r) =>
            concrete(
              r.replaceAll(data.pod.sandbox_name_regex.slice(1, -1), escapeRegex(podName)),
              cid,
              sandboxId,
            )
          )
          : [...c.process.args],
        Env: env,
        Cwd: c.process.cwd,
        Capabilities: {
          Bounding: [...caps.bounding],
          Effective: [...caps.effective],
          Inheritable: [...caps.inheritable],
          Permitted: [...caps.permitted],
          Ambient: [...caps.ambient],
        },
        Rlimits: [],
        NoNewPrivileges: c.process.no_new_privileges,
        ApparmorProfile: "",
        OOMScoreAdj: 0,
        SelinuxLabel: "",
      },
      Root: { Path: concrete(c.root_path_regex, cid, sandboxId), Readonly: c.readonly_root },
      Hostname: c.kind === "pause" ? podName : "",
      Mounts: c.mounts.map((m) => ({
        destination: m.destination,
        source: concrete(m.source_regex, cid, sandboxId),
        type: m.type,
        options: [...m.options],
      })),
      Hooks: null,
      Annotations: annotations,
      Linux: {
        UIDMappings: [],
        GIDMappings: [],
        Sysctl: { ...c.sysctls },
        Resources: null,
        CgroupsPath: `/kubepods/${cid}`,
        Namespaces: c.namespaces.map((t) => ({ Type: t, Path: "" })),
        Devices: [],
        Seccomp: null,
        RootfsPropagation: "",
        MaskedPaths: [...c.masked_paths],
        ReadonlyPaths: [...c.readonly_paths],
        MountLabel: "",
        IntelRdt: null,
      },
      Solaris: null,
      Windows: null,
    },
    sandbox_pidns: c.sandbox_pidns,
    shared_mounts: [],
  };
}

/** ExecProcessRequest running `args` in container `cid` with `c`'s process. */
export function execProcess(
  c: ContainerExpectation,
  cid: string,
  args: readonly string[],
  env: readonly string[] = c.process.env.flatMap((e) =>
    "value" in e ? [`${e.name}=${e.value}`] : []
  ),
): Record<string, unknown> {
  return {
    container_id: cid,
    exec_id: "e1",
    string_user: null,
    process: {
      Terminal: false,
      ConsoleSize: null,
      User: { UID: c.process.uid, GID: c.process.gid, AdditionalGids: [], Username: "" },
      Args: [...args],
      // containerd execs with the container's own environment (its CreateContainer's Env)
      Env: [...env],
      Cwd: c.process.cwd,
      // The Kata runtime's exec carries no capabilities and NoNewPrivileges false.
      Capabilities: null,
      Rlimits: [],
      NoNewPrivileges: false,
      ApparmorProfile: "",
      OOMScoreAdj: 0,
      SelinuxLabel: "",
    },
  };
}
