import assert from "node:assert/strict";
import {
  DEFAULT_RUNTIME_PROFILE,
  parseRuntimeProfile,
  settingsForRuntime,
} from "../../policy/runtime_profiles.ts";
import { loadDefaultSettings } from "../../policy/settings.ts";
import { ParseError } from "../../util/errors/mod.ts";

Deno.test("--runtime: default containerd 2, containerd 1.7 accepted, host pull refused", () => {
  assert.equal(parseRuntimeProfile(undefined), DEFAULT_RUNTIME_PROFILE);
  assert.equal(parseRuntimeProfile("containerd-1.7-guest-pull"), "containerd-1.7-guest-pull");
  assert.throws(
    () => parseRuntimeProfile("containerd-2-host-pull"),
    (e: unknown) => e instanceof ParseError && /host pull is not supported/.test(e.message),
  );
  assert.throws(
    () => parseRuntimeProfile("crio"),
    (e: unknown) => e instanceof ParseError && /must be one of/.test(e.message),
  );
});

Deno.test("containerd 1.7: no pause storage (the sandbox annotations stay allowed)", async () => {
  const d = await loadDefaultSettings();
  assert.equal(d.pause.storages.length, 1);
  assert.ok("nerdctl/network-namespace" in d.pause.annotations);
  const s = settingsForRuntime(d, "containerd-1.7-guest-pull");
  assert.deepEqual(s.pause.storages, []);
  assert.deepEqual(s.pause.annotations, d.pause.annotations);
  assert.deepEqual(s.container, d.container);
  assert.equal(settingsForRuntime(d, "containerd-2-guest-pull"), d);
});
