/**
 * The serializers write every field of the Kata agent protocol messages, with the names serde
 * gives them (Kata `src/libs/protocols/protos/{agent,oci,types}.proto`; `type` becomes `type_`),
 * and CopyFile in the agent's `PolicyCopyFileRequest` form.
 */
import assert from "node:assert/strict";
import {
  addArpNeighborsRequest,
  agentStorage,
  copyFileRequest,
  createContainerRequest,
  createSandboxRequest,
  execProcessRequest,
  FileMode,
  fileTypeOf,
  GO_DIR_MODE,
  type JsonObject,
  linuxResources,
  ociLinux,
  ociMount,
  ociProcess,
  ociSpec,
  updateInterfaceRequest,
  updateRoutesRequest,
  wireText,
  writeStreamRequest,
} from "../../../policy/check/agent_protocol.ts";

function keys(o: unknown): string[] {
  return Object.keys(o as JsonObject).sort();
}

const process = ociProcess({ args: ["a"], env: [], cwd: "/" });
const linux = ociLinux({
  sysctl: {},
  cgroupsPath: "",
  namespaces: [{ type: "ipc", path: "" }],
  maskedPaths: [],
  readonlyPaths: [],
  resources: linuxResources({ cpuShares: 2, cpuQuota: 0, cpuPeriod: 100000, memoryLimit: 0 }),
});
const spec = ociSpec({
  version: "1.2.1",
  process,
  rootPath: "/r",
  rootReadonly: false,
  hostname: "h",
  mounts: [ociMount({ destination: "/d", source: "s", type: "bind", options: [] })],
  annotations: {},
  linux,
});

Deno.test("oci.proto messages have every field", () => {
  assert.deepEqual(keys(spec), [
    "Annotations",
    "Hooks",
    "Hostname",
    "Linux",
    "Mounts",
    "Process",
    "Root",
    "Solaris",
    "Version",
    "Windows",
  ]);
  assert.deepEqual(keys(process), [
    "ApparmorProfile",
    "Args",
    "Capabilities",
    "ConsoleSize",
    "Cwd",
    "Env",
    "NoNewPrivileges",
    "OOMScoreAdj",
    "Rlimits",
    "SelinuxLabel",
    "Terminal",
    "User",
  ]);
  assert.deepEqual(keys(process.User), ["AdditionalGids", "GID", "UID", "Username"]);
  assert.deepEqual(keys(linux), [
    "CgroupsPath",
    "Devices",
    "GIDMappings",
    "IntelRdt",
    "MaskedPaths",
    "MountLabel",
    "Namespaces",
    "ReadonlyPaths",
    "Resources",
    "RootfsPropagation",
    "Seccomp",
    "Sysctl",
    "UIDMappings",
  ]);
  assert.deepEqual(keys(linux.Resources), [
    "BlockIO",
    "CPU",
    "Devices",
    "HugepageLimits",
    "Memory",
    "Network",
    "Pids",
  ]);
  assert.deepEqual(keys((spec.Mounts as JsonObject[])[0]), [
    "destination",
    "options",
    "source",
    "type_",
  ]);
  assert.deepEqual(keys((linux.Namespaces as JsonObject[])[0]), ["Path", "Type"]);
  assert.equal(spec.Hooks, null);
  assert.equal(process.Capabilities, null);
});

Deno.test("agent.proto requests have every field", () => {
  assert.deepEqual(
    keys(createContainerRequest({ containerId: "c", execId: "c", storages: [], oci: spec }).input),
    [
      "OCI",
      "container_id",
      "devices",
      "exec_id",
      "sandbox_pidns",
      "shared_mounts",
      "stderr_port",
      "stdin_port",
      "stdout_port",
      "storages",
      "string_user",
    ],
  );
  assert.deepEqual(keys(createSandboxRequest({ hostname: "h", sandboxId: "s" }).input), [
    "dns",
    "guest_hook_path",
    "hostname",
    "kernel_modules",
    "sandbox_id",
    "sandbox_pidns",
    "storages",
  ]);
  assert.deepEqual(
    keys(agentStorage({
      driver: "d",
      driverOptions: [],
      source: "s",
      fstype: "f",
      options: [],
      mountPoint: "m",
    })),
    [
      "driver",
      "driver_options",
      "fs_group",
      "fstype",
      "mount_point",
      "options",
      "shared",
      "source",
    ],
  );
  assert.deepEqual(keys(execProcessRequest({ containerId: "c", execId: "e", process }).input), [
    "container_id",
    "exec_id",
    "process",
    "stderr_port",
    "stdin_port",
    "stdout_port",
    "string_user",
  ]);
  assert.deepEqual(writeStreamRequest("c", "e", new Uint8Array([104, 105])).input.data, [104, 105]);
});

Deno.test("types.proto network messages have every field, enums as integers", () => {
  const iface = updateInterfaceRequest({
    device: "",
    name: "eth0",
    addresses: [{ family: 0, address: "10.0.0.2", mask: "24" }],
    mtu: 1500,
    hwAddr: "02:00:00:00:00:01",
  }).input.interface as JsonObject;
  assert.deepEqual(keys(iface), [
    "IPAddresses",
    "device",
    "devicePath",
    "hwAddr",
    "mtu",
    "name",
    "raw_flags",
    "type_",
  ]);
  assert.deepEqual((iface.IPAddresses as JsonObject[])[0], {
    family: 0,
    address: "10.0.0.2",
    mask: "24",
  });
  const routes = (updateRoutesRequest([{
    dest: "",
    gateway: "10.0.0.1",
    device: "eth0",
    source: "",
    scope: 0,
    family: 0,
  }]).input.routes as JsonObject).Routes as JsonObject[];
  assert.deepEqual(keys(routes[0]), [
    "dest",
    "device",
    "family",
    "flags",
    "gateway",
    "mtu",
    "scope",
    "source",
  ]);
  const arp = ((addArpNeighborsRequest([{
    address: { family: 0, address: "10.0.0.1", mask: "" },
    device: "eth0",
    lladdr: "02:00:00:00:00:02",
    state: 128,
    flags: 0,
  }]).input.neighbors as JsonObject).ARPNeighbors as JsonObject[])[0];
  assert.deepEqual(keys(arp), ["device", "flags", "lladdr", "state", "toIPAddress"]);
});

Deno.test("CopyFile is the agent's PolicyCopyFileRequest: decoded type and target, no data", () => {
  const link = copyFileRequest({
    path: "/p",
    fileMode: FileMode.symlink | 0o777,
    fileSize: 0,
    symlinkTarget: "..data/k",
  }).input;
  assert.deepEqual(keys(link), [
    "dir_mode",
    "file_mode",
    "file_size",
    "file_type",
    "gid",
    "offset",
    "path",
    "symlink_target",
    "uid",
  ]);
  assert.equal(link.file_type, "Symlink");
  assert.equal(link.symlink_target, "..data/k");
  assert.equal(link.dir_mode, GO_DIR_MODE);
  const file = copyFileRequest({ path: "/f", fileMode: FileMode.regular | 0o644, fileSize: 3 });
  assert.equal(file.input.file_type, "Regular");
  assert.equal(file.input.symlink_target, null);
  assert.equal(fileTypeOf(FileMode.directory | 0o755), "Directory");
  assert.equal(fileTypeOf(0o010644), "Unknown");
});

Deno.test("wireText keeps every string's characters, substrings and non-ASCII ones included", () => {
  const long = `/run/kata-containers/shared/containers/${"a".repeat(64)}-0123456789abcdef-hostname`;
  const texts = [
    "",
    "a",
    "twelve chars",
    "thirteen char",
    long,
    long.slice(3, 60),
    long.split("/")[4],
    "😀 surrogate pair first, then more than 13",
    "\ud800 lone surrogate first, then more text",
    'ü€𝄞 and\nnewlines "quotes" \\ backslashes',
  ];
  for (const text of texts) {
    assert.equal(wireText(text), text);
    assert.equal(JSON.stringify(wireText(text)), JSON.stringify(text));
  }
});
