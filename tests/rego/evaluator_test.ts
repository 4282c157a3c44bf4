import assert from "node:assert/strict";
import { CompiledRules, type PolicyEvaluator } from "../../rego/evaluator.ts";
import type { PolicyData } from "../../policy/policy_data_types.ts";
import { samplePolicyData } from "../policy/fixtures.ts";
import { startedSandbox } from "./fixtures.ts";
import { createContainer, createSandbox, execProcess, hexId } from "./agent_requests.ts";

const rules = await CompiledRules.load();
const SANDBOX = hexId(0xaa);
const PAUSE = SANDBOX; // Kata: the pause container carries the sandbox ID.
const WEB = hexId(0x02);

/** The sample pod's evaluator with its sandbox and pause container admitted. */
function started(): Promise<{ ev: PolicyEvaluator; data: PolicyData }> {
  return startedSandbox(rules, SANDBOX);
}

/** The web container's process as the sample policy data has it. */
type WebProcess = PolicyData["containers"][number]["process"];

/**
 * {@link started} over the sample policy data whose web container's process is
 * `change(process, data)`.
 */
async function startedWithWeb(
  change: (process: WebProcess, base: PolicyData) => WebProcess,
): Promise<{ ev: PolicyEvaluator; data: PolicyData }> {
  const base = await samplePolicyData();
  const data = {
    ...base,
    containers: base.containers.map((c) =>
      c.name === "web" ? { ...c, process: change(c.process, base) } : c
    ),
  };
  return await startedSandbox(rules, SANDBOX, data);
}

function web(data: PolicyData) {
  return data.containers.find((c) => c.name === "web")!;
}

// deno-lint-ignore no-explicit-any
type Req = any;

async function expectDeniedMutation(mutate: (r: Req) => void): Promise<void> {
  const { ev, data } = await started();
  const req = createContainer(data, web(data), WEB, SANDBOX) as Req;
  assert.equal(ev.decide("CreateContainerRequest", req).allowed, true, "unmutated must pass");
  mutate(req);
  assert.equal(ev.decide("CreateContainerRequest", req).allowed, false);
}

Deno.test("allows the pod's legitimate sandbox, pause and container requests and records state", async () => {
  const { ev, data } = await started();
  const d = ev.evaluate("CreateContainerRequest", createContainer(data, web(data), WEB, SANDBOX));
  assert.equal(d.allowed, true, d.error);
  const state = ev.state as {
    sandbox_id: string;
    sandbox_name: string;
    containers: Record<string, unknown>;
  };
  assert.equal(state.sandbox_id, SANDBOX);
  assert.match(state.sandbox_name, /^web-/);
  assert.deepEqual(Object.keys(state.containers).sort(), [PAUSE, WEB].sort());
  assert.equal(ev.evaluate("StartContainerRequest", { container_id: WEB }).allowed, true);
});

Deno.test("denies a second CreateSandbox", async () => {
  const { ev, data } = await started();
  assert.equal(ev.decide("CreateSandboxRequest", createSandbox(data, SANDBOX)).allowed, false);
});

Deno.test("denies CreateSandbox with kernel modules, a guest hook or an extra storage", async () => {
  const data = await samplePolicyData();
  const ev = await rules.evaluator(data);
  const base = createSandbox(data, SANDBOX);
  assert.equal(ev.decide("CreateSandboxRequest", base).allowed, true);
  assert.equal(
    ev.decide("CreateSandboxRequest", {
      ...base,
      kernel_modules: [{ name: "evil", parameters: [] }],
    }).allowed,
    false,
  );
  assert.equal(
    ev.decide("CreateSandboxRequest", { ...base, guest_hook_path: "/usr/share/oci/hooks" }).allowed,
    false,
  );
  const storages = [...(base.storages as unknown[]), {
    driver: "local",
    driver_options: [],
    source: "x",
    fstype: "local",
    options: [],
    mount_point: "/x",
    fs_group: null,
  }];
  assert.equal(ev.decide("CreateSandboxRequest", { ...base, storages }).allowed, false);
});

Deno.test("denies a container with a changed or extra argument", async () => {
  await expectDeniedMutation((r) => r.OCI.Process.Args.push("--debug"));
  await expectDeniedMutation((r) => (r.OCI.Process.Args[0] = "/bin/sh"));
});

Deno.test("denies an extra, changed, duplicated or missing environment variable", async () => {
  await expectDeniedMutation((r) => r.OCI.Process.Env.push("LD_PRELOAD=/tmp/x.so"));
  await expectDeniedMutation((r) => {
    const i = r.OCI.Process.Env.findIndex((e: string) => e.startsWith("GREETING="));
    r.OCI.Process.Env[i] = "GREETING=bye";
  });
  await expectDeniedMutation((r) => r.OCI.Process.Env.push("MODE=prod"));
  await expectDeniedMutation((r) => {
    r.OCI.Process.Env = r.OCI.Process.Env.filter((e: string) => !e.startsWith("GREETING="));
  });
  await expectDeniedMutation((r) => {
    const i = r.OCI.Process.Env.findIndex((e: string) => e.startsWith("POD_NAME="));
    r.OCI.Process.Env[i] = "POD_NAME=other-pod";
  });
});

Deno.test("denies another image digest", async () => {
  await expectDeniedMutation((r) => {
    r.OCI.Annotations["io.kubernetes.cri.image-name"] = "127.0.0.1:5000/web@sha256:" +
      "f".repeat(64);
  });
  await expectDeniedMutation((r) => {
    r.storages[0].source = "127.0.0.1:5000/web@sha256:" + "f".repeat(64);
  });
});

Deno.test("denies an extra or changed mount and a writable root", async () => {
  await expectDeniedMutation((r) =>
    r.OCI.Mounts.push({ destination: "/host", source: "/", type: "bind", options: ["rbind"] })
  );
  await expectDeniedMutation((r) => {
    const m = r.OCI.Mounts.find((m: { destination: string }) => m.destination === "/etc/web");
    m.options = ["rbind", "rprivate", "rw"];
  });
  await expectDeniedMutation((r) => {
    const m = r.OCI.Mounts.find((m: { destination: string }) => m.destination === "/cache");
    m.source = "/run/kata-containers/shared/containers/evil";
  });
  const data = await samplePolicyData();
  assert.equal(web(data).readonly_root, false);
  const pauseTampered = await rules.evaluator(data);
  pauseTampered.evaluate("CreateSandboxRequest", createSandbox(data, SANDBOX));
  const pause = createContainer(data, data.containers[0]!, PAUSE, SANDBOX) as Req;
  pause.OCI.Root.Readonly = false;
  assert.equal(pauseTampered.decide("CreateContainerRequest", pause).allowed, false);
});

Deno.test("denies extra or privileged capabilities, a terminal, hooks, seccomp and devices", async () => {
  await expectDeniedMutation((r) => r.OCI.Process.Capabilities.Bounding.push("CAP_SYS_ADMIN"));
  await expectDeniedMutation((r) => r.OCI.Process.Capabilities.Ambient.push("CAP_NET_RAW"));
  await expectDeniedMutation((r) => (r.OCI.Process.Terminal = true));
  await expectDeniedMutation((r) => (r.OCI.Hooks = { Prestart: [{ Path: "/bin/sh" }] }));
  await expectDeniedMutation((r) => (r.OCI.Linux.Seccomp = { DefaultAction: "SCMP_ACT_ALLOW" }));
  await expectDeniedMutation((r) =>
    r.devices.push({
      id: "x",
      type: "blk",
      vm_path: "/dev/vda",
      container_path: "/dev/vda",
      options: [],
    })
  );
  await expectDeniedMutation((r) =>
    r.shared_mounts.push({ name: "s", src_ctr: "a", src_path: "/", dst_ctr: "b", dst_path: "/" })
  );
});

Deno.test("denies other users, working dirs, namespaces, sysctls and unmasked paths", async () => {
  await expectDeniedMutation((r) => (r.OCI.Process.User.UID = 0));
  await expectDeniedMutation((r) => r.OCI.Process.User.AdditionalGids.push(0));
  await expectDeniedMutation((r) => (r.OCI.Process.Cwd = "/"));
  await expectDeniedMutation((r) => r.OCI.Linux.Namespaces.push({ Type: "user", Path: "" }));
  await expectDeniedMutation((r) => (r.OCI.Linux.Namespaces[0].Path = "/proc/1/ns/ipc"));
  await expectDeniedMutation((r) => (r.OCI.Linux.Sysctl = { "kernel.core_pattern": "|/x" }));
  // The pod's sysctls are pinned: the host cannot add route_localnet (it would expose the mesh
  // sidecar's 127.x egress listeners to the network).
  await expectDeniedMutation((r) => (r.OCI.Linux.Sysctl = {
    ...r.OCI.Linux.Sysctl,
    "net.ipv4.conf.all.route_localnet": "1",
  }));
  await expectDeniedMutation((r) => (r.OCI.Linux.MaskedPaths = []));
  await expectDeniedMutation((
    r,
  ) => (r.OCI.Process.NoNewPrivileges = !r.OCI.Process.NoNewPrivileges));
});

Deno.test("denies a foreign annotation, another namespace and another sandbox name after the first container", async () => {
  await expectDeniedMutation((
    r,
  ) => (r.OCI.Annotations["io.katacontainers.config.agent.policy"] = "x"));
  await expectDeniedMutation((
    r,
  ) => (r.OCI.Annotations["io.kubernetes.cri.sandbox-namespace"] = "kube-system"));
  await expectDeniedMutation((
    r,
  ) => (r.OCI.Annotations["io.kubernetes.cri.sandbox-name"] = "web-7d9f8b6c5d-zzzzz"));
  await expectDeniedMutation((
    r,
  ) => (r.OCI.Annotations["io.kubernetes.cri.container-name"] = "other"));
});

Deno.test("allows a string_user that agrees with the expected user", async () => {
  const { ev, data } = await started();
  const c = web(data);
  const req = createContainer(data, c, WEB, SANDBOX) as Req;
  req.string_user = { uid: String(c.process.uid), gid: String(c.process.gid), additionalGids: [] };
  assert.equal(ev.decide("CreateContainerRequest", req).allowed, true);
});

Deno.test("a Secret-sourced variable must be present; its value is not constrained", async () => {
  const { ev, data } = await startedWithWeb((p) => ({
    ...p,
    env: [...p.env, { name: "DB_PASS", secret: true as const }],
  }));
  const c = web(data);
  const ok = createContainer(data, c, WEB, SANDBOX, { DB_PASS: "s3cr3t" });
  assert.equal(ev.decide("CreateContainerRequest", ok).allowed, true);
  // Documented limit (README): the host can choose the value of a Secret-sourced variable.
  const other = createContainer(data, c, WEB, SANDBOX, { DB_PASS: "guess" });
  assert.equal(ev.decide("CreateContainerRequest", other).allowed, true);
  const missing = structuredClone(ok) as { OCI: { Process: { Env: string[] } } };
  missing.OCI.Process.Env = missing.OCI.Process.Env.filter((v) => !v.startsWith("DB_PASS="));
  assert.equal(ev.decide("CreateContainerRequest", missing).allowed, false);
});

Deno.test("arguments known only at run time must match their pattern", async () => {
  const { ev, data } = await startedWithWeb((p, base) => ({
    ...p,
    args: ["/usr/bin/web", "--id=$(POD_NAME)"],
    arg_regexes: ["^/usr/bin/web$", `^--id=${base.pod.sandbox_name_regex.slice(1, -1)}$`],
  }));
  const req = createContainer(data, web(data), WEB, SANDBOX) as Req;
  assert.equal(ev.decide("CreateContainerRequest", req).allowed, true);
  req.OCI.Process.Args[1] = "--id=web-7d9f8b6c5d-x2k9q; rm -rf /";
  assert.equal(ev.decide("CreateContainerRequest", req).allowed, false);
  req.OCI.Process.Args = ["/usr/bin/web"];
  assert.equal(ev.decide("CreateContainerRequest", req).allowed, false);
});

Deno.test("containers must belong to the created sandbox: none before CreateSandbox, pause carries its ID", async () => {
  const data = await samplePolicyData();
  const pause = data.containers[0]!;
  const fresh = await rules.evaluator(data);
  assert.equal(
    fresh.decide("CreateContainerRequest", createContainer(data, pause, SANDBOX, SANDBOX)).allowed,
    false,
  );
  fresh.evaluate("CreateSandboxRequest", createSandbox(data, SANDBOX));
  assert.equal(
    fresh.decide("CreateContainerRequest", createContainer(data, pause, hexId(0x33), SANDBOX))
      .allowed,
    false,
  );
  assert.equal(
    fresh.decide("CreateContainerRequest", createContainer(data, pause, SANDBOX, SANDBOX)).allowed,
    true,
  );
  await expectDeniedMutation((
    r,
  ) => (r.OCI.Annotations["io.kubernetes.cri.sandbox-id"] = hexId(0x44)));
});

Deno.test("denies a container ID that is already in use", async () => {
  const { ev, data } = await started();
  assert.equal(
    ev.decide("CreateContainerRequest", createContainer(data, web(data), PAUSE, SANDBOX)).allowed,
    false,
  );
});

Deno.test("allows exec of the probe only, and not after the container was removed", async () => {
  const { ev, data } = await started();
  const c = web(data);
  const create = createContainer(data, c, WEB, SANDBOX) as Req;
  ev.evaluate("CreateContainerRequest", create);
  const env = (create as unknown as { OCI: { Process: { Env: string[] } } }).OCI.Process.Env;
  const probe = (cid: string, args: string[]) => execProcess(c, cid, args, env);
  assert.equal(
    ev.decide("ExecProcessRequest", probe(WEB, ["/usr/bin/web", "health"])).allowed,
    true,
  );
  // The container's environment without one of its expected variables: refused.
  const fewer = execProcess(c, WEB, ["/usr/bin/web", "health"], env.slice(1));
  assert.equal(ev.decide("ExecProcessRequest", fewer).allowed, false);
  assert.equal(ev.decide("ExecProcessRequest", probe(WEB, ["/bin/sh"])).allowed, false);
  assert.equal(
    ev.decide("ExecProcessRequest", probe(hexId(0x77), ["/usr/bin/web", "health"])).allowed,
    false,
  );
  const tty = probe(WEB, ["/usr/bin/web", "health"]) as Req;
  tty.process.Terminal = true;
  assert.equal(ev.decide("ExecProcessRequest", tty).allowed, false);
  const removed = ev.evaluate("RemoveContainerRequest", { container_id: WEB, timeout: 0 });
  assert.equal(removed.allowed, true);
  assert.deepEqual(removed.ops, [{ op: "remove", path: `/pstate/containers/${WEB}` }]);
  assert.equal(
    ev.decide("ExecProcessRequest", probe(WEB, ["/usr/bin/web", "health"])).allowed,
    false,
  );
});

Deno.test("CopyFile allows the runtime's shared files and denies traversal, other paths and absolute symlinks", async () => {
  const data = await samplePolicyData();
  const ev = await rules.evaluator(data);
  const base = {
    path: `/run/kata-containers/shared/containers/${SANDBOX}-0123456789abcdef-resolv.conf`,
    file_size: 10,
    file_mode: 0o100644,
    dir_mode: 0o40755,
    uid: 0,
    gid: 0,
    offset: 0,
    data: [],
  };
  /** Whether a CopyFile request differing from `base` by `changes` is allowed. */
  const copyAllowed = (changes: Record<string, unknown> = {}) =>
    ev.decide("CopyFileRequest", { ...base, ...changes }).allowed;
  /** A symlink at `path` pointing to `target`. */
  const symlink = (path: string, target: string) => ({
    path,
    file_mode: 0o120777,
    data: [...new TextEncoder().encode(target)],
  });
  assert.equal(copyAllowed(), true);
  const watch = `/run/kata-containers/shared/containers/${SANDBOX}-0123456789abcdef-web`;
  assert.equal(copyAllowed(symlink(`${watch}/..data`, "..2026_11_22")), true);
  assert.equal(copyAllowed({ path: `${watch}/../../../../etc/passwd` }), false);
  assert.equal(copyAllowed({ path: "/etc/passwd" }), false);
  assert.equal(copyAllowed(symlink(`${watch}/key`, "/etc/shadow")), false);
  assert.equal(copyAllowed(symlink(`${watch}/key`, "../../x")), false);
  // The target as a base64 string instead of bytes.
  assert.equal(copyAllowed({ ...symlink(`${watch}/key`, ""), data: btoa("/etc/shadow") }), false);
  assert.equal(copyAllowed({ file_mode: 0o104755 }), false, "setuid file");
});

Deno.test("network requests: loopback interface, routes and neighbours are denied", async () => {
  const data = await samplePolicyData();
  const ev = await rules.evaluator(data);
  const iface = {
    interface: {
      device: "eth0",
      name: "eth0",
      IPAddresses: [{ family: 0, address: "10.244.1.7", mask: "24" }],
      mtu: 1450,
      hwAddr: "aa:bb:cc:dd:ee:ff",
      pciPath: "",
      type: "",
      raw_flags: 0,
    },
  };
  assert.equal(ev.decide("UpdateInterfaceRequest", iface).allowed, true);
  assert.equal(
    ev.decide("UpdateInterfaceRequest", {
      interface: { ...iface.interface, name: "lo", device: "lo" },
    }).allowed,
    false,
  );
  assert.equal(
    ev.decide("UpdateInterfaceRequest", {
      interface: {
        ...iface.interface,
        IPAddresses: [{ family: 0, address: "127.0.0.2", mask: "8" }],
      },
    }).allowed,
    false,
  );
  assert.equal(
    ev.decide("UpdateInterfaceRequest", { interface: { ...iface.interface, raw_flags: 128 } })
      .allowed,
    true,
    "IFF_NOARP is what the runtime sets",
  );
  assert.equal(
    ev.decide("UpdateInterfaceRequest", { interface: { ...iface.interface, raw_flags: 64 } })
      .allowed,
    false,
  );
  const route = {
    dest: "",
    gateway: "10.244.1.1",
    device: "eth0",
    source: "",
    scope: 0,
    family: 0,
    flags: 0,
  };
  assert.equal(ev.decide("UpdateRoutesRequest", { routes: { Routes: [route] } }).allowed, true);
  assert.equal(
    ev.decide("UpdateRoutesRequest", {
      routes: { Routes: [route, { ...route, source: "127.0.0.1" }] },
    }).allowed,
    false,
  );
  assert.equal(
    ev.decide("UpdateRoutesRequest", { routes: { Routes: [{ ...route, device: "lo" }] } }).allowed,
    false,
  );
  const neighbor = {
    toIPAddress: { family: 0, address: "10.244.1.1", mask: "" },
    device: "eth0",
    lladdr: "aa:bb:cc:dd:ee:01",
    state: 128,
    flags: 0,
  };
  assert.equal(
    ev.decide("AddARPNeighborsRequest", { neighbors: { ARPNeighbors: [neighbor] } }).allowed,
    true,
  );
  assert.equal(
    ev.decide("AddARPNeighborsRequest", {
      neighbors: { ARPNeighbors: [{ ...neighbor, device: "lo" }] },
    }).allowed,
    false,
  );
  assert.equal(
    ev.decide("AddARPNeighborsRequest", {
      neighbors: {
        ARPNeighbors: [{ ...neighbor, toIPAddress: { family: 1, address: "::1", mask: "" } }],
      },
    }).allowed,
    false,
  );
});

Deno.test("SetPolicy, UpdateContainer and stdin streams are denied; log streams allowed", async () => {
  const data = await samplePolicyData();
  const ev = await rules.evaluator(data);
  assert.equal(
    ev.decide("SetPolicyRequest", { policy: "package agent_policy\ndefault allow := true" })
      .allowed,
    false,
  );
  assert.equal(
    ev.decide("UpdateContainerRequest", { container_id: WEB, resources: null }).allowed,
    false,
  );
  assert.equal(
    ev.decide("WriteStreamRequest", { container_id: WEB, exec_id: "", data: [] }).allowed,
    false,
  );
  // The host must not set the guest's clock (certificate validity checks in the guest rely on it),
  // nor give it swap (guest memory would leave the TEE).
  assert.equal(ev.decide("SetGuestDateTimeRequest", { Sec: 0, Usec: 0 }).allowed, false);
  assert.equal(ev.decide("AddSwapRequest", { PCIPath: [1] }).allowed, false);
  assert.equal(
    ev.decide("ReadStreamRequest", { container_id: WEB, exec_id: "", len: 1024 }).allowed,
    true,
  );
  const noLogs = await rules.evaluator({
    ...data,
    requests: { ...data.requests, ReadStreamRequest: false },
  });
  assert.equal(
    noLogs.decide("ReadStreamRequest", { container_id: WEB, exec_id: "", len: 1024 }).allowed,
    false,
  );
});

Deno.test("an unknown request type is rejected before evaluation", async () => {
  const ev = await rules.evaluator(await samplePolicyData());
  assert.throws(() => ev.decide("EvilRequest", {}), /unknown request/);
});

Deno.test("a released evaluator refuses to evaluate, and the next one on its instance sees only its own data and state", async () => {
  const own = await CompiledRules.load();
  const data = await samplePolicyData();
  const first = await own.evaluator(data);
  assert.equal(first.evaluate("CreateSandboxRequest", createSandbox(data, SANDBOX)).allowed, true);
  first.release();
  assert.throws(
    () => first.decide("CreateSandboxRequest", createSandbox(data, SANDBOX)),
    /released/,
  );
  // The instance passed on starts from the new evaluator's empty state: CreateSandbox is allowed
  // again (the first evaluator's sandbox is not remembered) and a container before it is not.
  using second = await own.evaluator(data);
  assert.deepEqual(second.state, {});
  const pause = data.containers[0]!;
  assert.equal(
    second.decide("CreateContainerRequest", createContainer(data, pause, SANDBOX, SANDBOX)).allowed,
    false,
  );
  assert.equal(second.decide("CreateSandboxRequest", createSandbox(data, SANDBOX)).allowed, true);
  // Another pod's data replaces the first's entirely: a policy data that allows no request type
  // denies what the sample data allows.
  assert.equal(second.decide("ReadStreamRequest", {}).allowed, true);
  second.release();
  using third = await own.evaluator({ requests: {} });
  assert.equal(third.decide("ReadStreamRequest", {}).allowed, false);
});
