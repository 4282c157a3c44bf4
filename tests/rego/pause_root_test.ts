/**
 * The pause (sandbox) container's root filesystem under every `--runtime` profile, in the
 * compiled wasm: the host must not choose the program that runs as the pod's sandbox process
 * (which shares the network namespace with every container of the pod).
 *
 * What the Kata agent does (kata-containers src/agent/src, snapshot 7c6ba40c): with an
 * `image_guest_pull` storage marked `sandbox` it unpacks the guest's own pause bundle into
 * `/run/kata-containers/<id>/rootfs` and takes the process from that bundle
 * (storage/image_pull_handler.rs `is_sandbox` -> confidential_data_hub/image.rs
 * `unpack_pause_image`, `get_process`); without a storage it bind-mounts `OCI.Root.Path` onto
 * `/run/kata-containers/<id>/rootfs` when that does not exist yet (rpc.rs `setup_bundle`) and runs
 * the request's process there. Under guest pull (containerd 1.7 and 2) the runtime always sends
 * the `pause` storage marked sandbox, and the policy requires it. Under host pull the runtime
 * sends no storage and the host share as the root of every container, the pause container's too
 * (`/run/kata-containers/shared/containers/<id>/rootfs`, runtime/virtcontainers fs_share_linux.go
 * ShareRootFilesystem): that is what host pull is, the host fills the root filesystems, and the
 * host-pull profiles accept it for the container's own ID only (the documented weakness; README,
 * "Runtime versions and namespaces"). Every other way for the host to choose the root or the
 * program is refused in every profile.
 */
import assert from "node:assert/strict";
import { CompiledRules } from "../../rego/evaluator.ts";
import type { ContainerExpectation, PolicyData } from "../../policy/policy_data_types.ts";
import {
  RUNTIME_PROFILES,
  type RuntimeProfile,
  settingsForRuntime,
} from "../../policy/runtime_profiles.ts";
import { samplePolicyData, testSettings } from "../policy/fixtures.ts";
import { createContainer, createSandbox, hexId } from "./agent_requests.ts";

const rules = await CompiledRules.load();
const SANDBOX = hexId(0xaa);
const ROOT = `/run/kata-containers/${SANDBOX}/rootfs`;
const SHARED = "/run/kata-containers/shared/containers";
const SHARED_ROOT = `${SHARED}/${SANDBOX}/rootfs`;

// deno-lint-ignore no-explicit-any
type Req = any;

async function dataFor(profile: RuntimeProfile): Promise<PolicyData> {
  return samplePolicyData(settingsForRuntime(await testSettings(), profile));
}

function pauseOf(data: PolicyData): ContainerExpectation {
  return data.containers.find((c) => c.kind === "pause")!;
}

/** The pause container's request after `change`, decided right after CreateSandbox. */
async function decidePause(
  profile: RuntimeProfile,
  change: (r: Req) => void = () => {},
): Promise<boolean> {
  const data = await dataFor(profile);
  const ev = await rules.evaluator(data);
  assert.equal(ev.evaluate("CreateSandboxRequest", createSandbox(data, SANDBOX)).allowed, true);
  const req = createContainer(data, pauseOf(data), SANDBOX, SANDBOX) as Req;
  change(req);
  return ev.decide("CreateContainerRequest", req).allowed;
}

function guestPull(source: string, containerType: string): Record<string, unknown> {
  return {
    driver: "image_guest_pull",
    driver_options: [
      `image_guest_pull=${
        JSON.stringify({ metadata: { "io.kubernetes.cri.container-type": containerType } })
      }`,
    ],
    source,
    fstype: "overlay",
    options: [],
    mount_point: ROOT,
    fs_group: null,
  };
}

/**
 * Ways the host could put a program of its choosing at the pause container's root: each is one
 * change to the request the runtime sends, and each must be refused.
 */
const HOST_CHOSEN_ROOTS: ReadonlyArray<readonly [string, (r: Req) => void]> = [
  ["another container's root in the host share", (r) => {
    r.storages = [];
    r.OCI.Root.Path = `${SHARED}/${hexId(0x02)}/rootfs`;
  }],
  ["the host share itself as the root", (r) => {
    r.storages = [];
    r.OCI.Root.Path = SHARED;
  }],
  ["an overlay of host-shared layers at the root (kata_agent overlayfs storage)", (r) => {
    r.storages = [{
      driver: "overlayfs",
      driver_options: [],
      source: "none",
      fstype: "overlay",
      options: [`lowerdir=${SHARED}/${SANDBOX}/layer`],
      mount_point: ROOT,
      fs_group: null,
    }];
  }],
  ["a nydus overlay in the host share as the root", (r) => {
    r.storages = [{
      driver: "overlayfs",
      driver_options: [],
      source: "overlay",
      fstype: "overlay",
      options: [
        `upperdir=${SHARED}/${SANDBOX}/snapshotdir/fs`,
        `workdir=${SHARED}/${SANDBOX}/snapshotdir/work`,
        `lowerdir=/run/kata-containers/shared/rafs/${SANDBOX}/lowerdir`,
        "index=off",
      ],
      mount_point: SHARED_ROOT,
      fs_group: null,
    }];
    r.OCI.Root.Path = SHARED_ROOT;
  }],
  ["a virtio-fs share mounted at the root", (r) => {
    r.storages = [{
      driver: "virtio-fs",
      driver_options: [],
      source: "kataShared",
      fstype: "virtiofs",
      options: [],
      mount_point: ROOT,
      fs_group: null,
    }];
  }],
  ["a host block device mounted at the root", (r) => {
    r.storages = [{
      driver: "blk",
      driver_options: [],
      source: "02/00",
      fstype: "ext4",
      options: ["ro"],
      mount_point: ROOT,
      fs_group: null,
    }];
  }],
  ["a registry image pulled in the guest as the root", (r) => {
    r.storages = [guestPull("registry.example/evil:latest", "sandbox")];
  }],
  ["`pause` pulled by name from a registry (storage not marked sandbox)", (r) => {
    r.storages = [guestPull("pause", "container")];
  }],
  ["the root of another container's bundle", (r) => {
    r.OCI.Root.Path = `/run/kata-containers/${hexId(0x02)}/rootfs`;
  }],
  ["another program", (r) => {
    r.OCI.Process.Args = ["/bin/sh", "-c", "exec /pause"];
  }],
  ["a host-shared file bound over /pause", (r) => {
    r.OCI.Mounts.push({
      destination: "/pause",
      source: `${SHARED}/${SANDBOX}-0123456789abcdef-pause`,
      type: "bind",
      options: ["rbind", "ro"],
    });
  }],
  ["an OCI hook (a program the agent runs for the container)", (r) => {
    r.OCI.Hooks = { Prestart: [{ Path: `${SHARED}/${SANDBOX}-0123456789abcdef-hook` }] };
  }],
];

Deno.test("the pause container's expectation: /pause; the guest's pause image in its bundle under guest pull, the host share under host pull", async () => {
  for (const profile of RUNTIME_PROFILES) {
    const pause = pauseOf(await dataFor(profile));
    assert.equal(
      pause.root_path_regex,
      profile.endsWith("-guest-pull")
        ? "^/run/kata-containers/$(cid)/rootfs$"
        : "^/run/kata-containers/shared/containers/$(cid)/rootfs$",
      profile,
    );
    assert.equal(pause.readonly_root, true, profile);
    assert.deepEqual(pause.process.args, ["/pause"], profile);
    if (profile.endsWith("-guest-pull")) {
      assert.equal(pause.storages.length, 1, profile);
      assert.equal(pause.storages[0]!.driver, "image_guest_pull", profile);
      assert.equal(pause.storages[0]!.source_regex, "^pause$", profile);
    } else {
      assert.deepEqual(pause.storages, [], profile);
    }
  }
});

Deno.test("every profile admits the pause container as the runtime sends it", async () => {
  for (const profile of RUNTIME_PROFILES) {
    assert.equal(await decidePause(profile), true, profile);
  }
});

/**
 * The pause container's request as Kata's runtime builds it when the image is pulled in the guest
 * (snapshot 7c6ba40c), the same under containerd 1.7 and 2:
 * - runtime/virtcontainers/fs_share_linux.go:692-697 ShareRootFilesystem: with
 *   experimental_force_guest_pull (forceGuestPull, :672-687) or the snapshotter's
 *   `io.katacontainers.volume=` option (nydus under containerd 1.7;
 *   shareRootFilesystemWithVirtualVolume, :581-591) the root is `/run/kata-containers/<id>/rootfs`
 *   and the storage comes from handleVirtualVolumeStorageObject;
 * - kata_agent.go:1935-1983 handleImageGuestPullBlockVolume: `pause` as the source for the
 *   sandbox (io.katacontainers.pkg.oci.container_type `pod_sandbox`), the container's annotations
 *   merged into `image_guest_pull=`'s JSON `metadata`, fstype `overlay`; kata_agent.go:1996 the
 *   mount point `/run/kata-containers/<id>/rootfs`; kata_agent.go:1682 `Root.Path` that guest path;
 * - containerd 1.7 sends no `io.kubernetes.cri.podsandbox.image-name` (containerd 2 does).
 */
function asTheRuntimeSendsUnderGuestPull(r: Req): void {
  const annotations = { ...r.OCI.Annotations };
  delete annotations["io.kubernetes.cri.podsandbox.image-name"];
  r.OCI.Annotations = annotations;
  r.OCI.Root.Path = ROOT;
  r.storages = [{
    driver: "image_guest_pull",
    driver_options: [`image_guest_pull=${JSON.stringify({ metadata: annotations })}`],
    source: "pause",
    fstype: "overlay",
    options: [],
    mount_point: ROOT,
    fs_group: null,
  }];
}

Deno.test("containerd 1.7 guest pull: the pause container with the guest's pause image storage is admitted (denied before)", async () => {
  for (const profile of ["containerd-1.7-guest-pull", "containerd-2-guest-pull"] as const) {
    let seen: Req;
    assert.equal(
      await decidePause(profile, (r) => {
        asTheRuntimeSendsUnderGuestPull(r);
        seen = r;
      }),
      true,
      profile,
    );
    assert.equal(seen.storages[0].source, "pause");
    assert.equal(
      seen.OCI.Annotations["io.kubernetes.cri.container-type"],
      "sandbox",
      "the metadata marks it sandbox",
    );
  }
});

Deno.test("guest pull: a pause container without the pause image storage is refused (no runtime sends it)", async () => {
  // No guest-pull runtime sends this (above); the agent would bind an empty guest directory onto
  // itself as the root. Refused so that the guest-pull profiles admit only the guest's pause bundle.
  for (const profile of ["containerd-1.7-guest-pull", "containerd-2-guest-pull"] as const) {
    assert.equal(
      await decidePause(profile, (r) => {
        asTheRuntimeSendsUnderGuestPull(r);
        r.storages = [];
      }),
      false,
      profile,
    );
  }
});

Deno.test("no profile lets the host choose the pause container's root filesystem or program", async () => {
  for (const profile of RUNTIME_PROFILES) {
    for (const [what, change] of HOST_CHOSEN_ROOTS) {
      assert.equal(await decidePause(profile, change), false, `${profile}: ${what}`);
    }
  }
});

Deno.test("guest pull: the host share as the pause container's root is refused (the host would choose its program)", async () => {
  for (const profile of ["containerd-1.7-guest-pull", "containerd-2-guest-pull"] as const) {
    for (const storages of [[], undefined]) {
      assert.equal(
        await decidePause(profile, (r) => {
          if (storages) r.storages = storages;
          r.OCI.Root.Path = SHARED_ROOT;
        }),
        false,
        `${profile} storages ${storages ? "none" : "kept"}`,
      );
    }
  }
});

/**
 * A pod's first requests as Kata's runtime sends them without guest pull, the host's snapshotter
 * unpacking the image and virtio-fs sharing it (snapshot 7c6ba40c):
 * - CreateSandbox: kata_agent.go:908-943 setupStorages, the share (`virtio-fs`, source
 *   `kataShared` (kata_agent.go:116), fstype `virtiofs`, mount point
 *   `/run/kata-containers/shared/containers/` (kata_agent.go:113), no options: `dax` only with a
 *   virtio-fs cache size, Kata's default 0), then /dev/shm (:959-970);
 * - CreateContainer, pause and app alike: fs_share_linux.go:708 and :790-797 (no rootfs storage,
 *   the guest path `/run/kata-containers/shared/containers/<id>/rootfs`), kata_agent.go:1682
 *   (`Root.Path` that path).
 * genpolicy's settings for such nodes agree (drop-in-examples/10-non-coco-drop-in.json: root_path
 * in the share, the virtio-fs sandbox storage).
 */
Deno.test("host pull: the sandbox, pause and app containers as the runtime sends them are admitted (denied before)", async () => {
  for (const profile of ["containerd-2-host-pull", "containerd-1.7-host-pull"] as const) {
    const data = await dataFor(profile);
    const ev = await rules.evaluator(data);
    const sandbox = createSandbox(data, SANDBOX) as Req;
    sandbox.storages = [{
      driver: "virtio-fs",
      driver_options: [],
      source: "kataShared",
      fstype: "virtiofs",
      options: [],
      mount_point: "/run/kata-containers/shared/containers/",
      fs_group: null,
    }, {
      driver: "ephemeral",
      driver_options: [],
      source: "shm",
      fstype: "tmpfs",
      options: ["noexec", "nosuid", "nodev", "mode=1777", "size=67108864"],
      mount_point: "/run/kata-containers/sandbox/shm",
      fs_group: null,
    }];
    assert.equal(ev.evaluate("CreateSandboxRequest", sandbox).allowed, true, profile);
    const pause = createContainer(data, pauseOf(data), SANDBOX, SANDBOX) as Req;
    pause.storages = [];
    pause.OCI.Root.Path = SHARED_ROOT;
    assert.equal(ev.evaluate("CreateContainerRequest", pause).allowed, true, profile);
    const web = data.containers.find((c) => c.name === "web")!;
    const app = createContainer(data, web, hexId(0x02), SANDBOX) as Req;
    app.storages = app.storages.filter((s: Req) => s.driver !== "image_guest_pull");
    app.OCI.Root.Path = `${SHARED}/${hexId(0x02)}/rootfs`;
    assert.equal(ev.decide("CreateContainerRequest", app).allowed, true, profile);
  }
});

Deno.test("host pull: a root no runtime sends is refused (the container's bundle directory without a storage)", async () => {
  for (const profile of ["containerd-2-host-pull", "containerd-1.7-host-pull"] as const) {
    assert.equal(
      await decidePause(profile, (r) => {
        r.storages = [];
        r.OCI.Root.Path = ROOT;
      }),
      false,
      profile,
    );
  }
});

Deno.test("containerd 1.7 guest pull: an app container cannot take the sandbox's ID (and bundle)", async () => {
  const data = await dataFor("containerd-1.7-guest-pull");
  const ev = await rules.evaluator(data);
  assert.equal(ev.evaluate("CreateSandboxRequest", createSandbox(data, SANDBOX)).allowed, true);
  const web = data.containers.find((c) => c.name === "web")!;
  // Before the pause container: its bundle directory would then hold the app's image.
  assert.equal(
    ev.decide("CreateContainerRequest", createContainer(data, web, SANDBOX, SANDBOX)).allowed,
    false,
  );
  assert.equal(
    ev.evaluate("CreateContainerRequest", createContainer(data, pauseOf(data), SANDBOX, SANDBOX))
      .allowed,
    true,
  );
  assert.equal(
    ev.decide("CreateContainerRequest", createContainer(data, web, hexId(0x02), SANDBOX)).allowed,
    true,
  );
});
