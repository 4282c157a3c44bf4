import assert from "node:assert/strict";
import {
  DEFAULT_RUNTIME_PROFILE,
  HOST_PULL_WARNING,
  isHostPull,
  parseEmptyDirMode,
  parseRuntimeProfile,
  settingsForEmptyDirMode,
  settingsForRuntime,
} from "../../policy/runtime_profiles.ts";
import { loadDefaultSettings } from "../../policy/settings.ts";
import { ParseError } from "../../util/errors/mod.ts";

Deno.test("--runtime: default containerd 2 guest pull; 1.7 and host pull accepted; unknown refused", () => {
  assert.equal(parseRuntimeProfile(undefined), DEFAULT_RUNTIME_PROFILE);
  assert.equal(parseRuntimeProfile("containerd-1.7-guest-pull"), "containerd-1.7-guest-pull");
  assert.equal(parseRuntimeProfile("containerd-2-host-pull"), "containerd-2-host-pull");
  assert.equal(parseRuntimeProfile("containerd-1.7-host-pull"), "containerd-1.7-host-pull");
  for (const bad of ["crio", "host-pull", "containerd-2"]) {
    assert.throws(
      () => parseRuntimeProfile(bad),
      (e: unknown) =>
        e instanceof ParseError && e.field === "--runtime" && /must be one of/.test(e.message),
    );
  }
});

Deno.test("containerd 1.7 guest pull: the pause storage as with containerd 2 (the runtime sends it either way)", async () => {
  const d = await loadDefaultSettings();
  assert.equal(d.pause.storages.length, 1);
  assert.equal(d.pause.storages[0]!.source_regex, "^pause$");
  assert.ok("nerdctl/network-namespace" in d.pause.annotations);
  assert.equal(settingsForRuntime(d, "containerd-1.7-guest-pull"), d);
  assert.equal(settingsForRuntime(d, "containerd-2-guest-pull"), d);
});

Deno.test("host pull: no image storage, roots in the host share, the share mounted by CreateSandbox; warned", async () => {
  const d = await loadDefaultSettings();
  assert.equal(d.container.image_storages.length, 1);
  assert.equal(d.container.image_storages[0]!.driver, "image_guest_pull");
  assert.equal(d.container.root_path_regex, "^/run/kata-containers/$(cid)/rootfs$");
  for (const profile of ["containerd-2-host-pull", "containerd-1.7-host-pull"] as const) {
    const s = settingsForRuntime(d, profile);
    assert.ok(isHostPull(profile));
    assert.deepEqual(s.pause.storages, []);
    assert.deepEqual(s.container.image_storages, []);
    assert.equal(
      s.container.root_path_regex,
      "^/run/kata-containers/shared/containers/$(cid)/rootfs$",
    );
    assert.deepEqual(s.sandbox.storages.map((x) => [x.driver, x.source_regex]), [
      ["virtio-fs", "^kataShared$"],
      ["ephemeral", "^shm$"],
    ]);
    assert.deepEqual(s.pause.annotations, d.pause.annotations);
    assert.deepEqual(
      { ...s.container, image_storages: d.container.image_storages, root_path_regex: "" },
      { ...d.container, root_path_regex: "" },
    );
  }
  assert.ok(!isHostPull("containerd-2-guest-pull"));
  assert.match(HOST_PULL_WARNING, /not the image's files/);
});

Deno.test("--emptydir-mode: guest-local or block-encrypted; absent keeps the settings'", async () => {
  const d = await loadDefaultSettings();
  assert.equal(parseEmptyDirMode(undefined), undefined);
  assert.equal(settingsForEmptyDirMode(d, undefined), d);
  assert.equal(settingsForEmptyDirMode(d, "guest-local"), d);
  const b = settingsForEmptyDirMode(d, parseEmptyDirMode("block-encrypted"));
  assert.equal(b.container.emptydir_mode, "block-encrypted");
  assert.deepEqual({ ...b.container, emptydir_mode: "guest-local" }, d.container);
  assert.throws(
    () => parseEmptyDirMode("plain"),
    (e: unknown) => e instanceof ParseError && e.field === "--emptydir-mode",
  );
});
