/**
 * Kata's genpolicy captures (real agent requests, `../shared/conformance/kata-genpolicy`) against
 * the policies generate builds for their YAML: every disagreement is explained in
 * `testing/kata_captures/differences.json`, and no explanation is stale. Skipped, saying why, when
 * the captures are absent. (`scripts/kata_conformance.ts` prints the agreement figures in CI.)
 */
import assert from "node:assert/strict";
import { loadDefaultSettings } from "../../policy/settings.ts";
import { CompiledRules } from "../../rego/evaluator.ts";
import {
  agreement,
  CaptureImageResolver,
  CAPTURES_DIR,
  capturesAvailable,
  loadCaptureCases,
  loadDifferences,
  loadRecordedWith,
  policyDataForCase,
  type RecordedWith,
  replayCase,
  runConformance,
  settingsForRecording,
} from "../../testing/kata_captures/captures.ts";
import { RUNTIME_PROFILES, type RuntimeProfile } from "../../policy/runtime_profiles.ts";
import { modelSequenceFor } from "../../testing/kata_captures/request_shapes.ts";

const available = capturesAvailable();
if (!available) {
  console.warn(`skipping Kata capture tests: ${CAPTURES_DIR.pathname} not found`);
}

/**
 * The recorded Kata captures replayed against the committed rules and default settings, with
 * the images the captures ran; `differences` and `recordedWith` as runConformance takes them.
 */
async function conformance(
  differences: Parameters<typeof runConformance>[5],
  recordedWith?: Parameters<typeof runConformance>[6],
) {
  return await runConformance(
    await loadCaptureCases(),
    await CompiledRules.load(),
    await Deno.readTextFile(new URL("../../rego/rules.rego", import.meta.url)),
    await loadDefaultSettings(),
    await CaptureImageResolver.load(),
    differences,
    recordedWith,
  );
}

Deno.test({
  name: "Kata captures: every disagreement with the recorded verdicts is explained, none stale",
  ignore: !available,
  fn: async () => {
    const report = await conformance(await loadDifferences(), await loadRecordedWith());
    assert.deepEqual(
      report.unexplained.map((o) => `${o.case}: ${o.description}`),
      [],
      "unexplained disagreements",
    );
    assert.deepEqual(report.stale.map((d) => `${d.case}: ${d.description}`), [], "stale entries");
    const a = agreement(report);
    assert.ok(a.requests >= 100, `only ${a.requests} captured requests replayed`);
    // Every explained difference carries a reason, and a stricter one names its attack.
    for (const e of report.explained) {
      assert.ok(e.why.reason.length > 20, `${e.case}: ${e.description}: no reason`);
      if (e.why.category === "stricter") assert.ok(e.why.attack, `${e.case}: no attack named`);
    }
  },
});

Deno.test({
  name: "Kata captures: the fixed findings agree with the recorded verdicts",
  ignore: !available,
  fn: async () => {
    const report = await conformance([]);
    const verdictOf = (c: string, d: string) =>
      report.outcomes.find((o) => o.case === c && o.description === d);
    for (
      const [c, d] of [
        [
          "state/execprocessdeployment",
          "test exec process in deployment's container with correct args",
        ],
        ["createcontainer/sysctls", "sysctls listed in yaml or settings"],
        ["createcontainer/ignored_fields", "ignore some of the input YAML fields"],
        ["updateinterface", "allowed arp flag"],
        ["updateinterface", "forbidden flag"],
        ["updateinterface", "forbidden hwAddr"],
        ["updateroutes", "noncompliant routes ipv6 2"],
        ["addarpneighbors", "bad state"],
        ["addarpneighbors", "bad flags"],
        ["copyfile", "unsupported file type"],
        ["copyfile", "symlink in top-level shared directory"],
        // Kata container IDs such as `gid` (any ID verify_id accepts), cgroup2 mount extras.
        [
          "createcontainer/gid",
          "image with unusual group setup, see https://github.com/burgerdev/weird-images/tree/74b32e2/src/gid",
        ],
        [
          "createcontainer/env_vars",
          "Environment variable valueFrom.fieldRef.fieldPath + metadata.labels, allowed",
        ],
        [
          "createcontainer/cgroup_mount_extras",
          "cgroup mount with allowed extras (nsdelegate, memory_recursiveprot)",
        ],
      ]
    ) {
      const o = verdictOf(c!, d!);
      assert.ok(o, `${c}: ${d} not replayed`);
      assert.equal(o.actual, o.expected, `${c}: ${d}`);
    }
  },
});

/**
 * The guest-pull storage Kata's runtime attaches to a container's root under guest pull, whatever
 * the containerd version (fs_share_linux.go:692-697 ShareRootFilesystem -> kata_agent.go:1935-1983
 * handleImageGuestPullBlockVolume: `pause` for the sandbox, else the image-name annotation; the
 * annotations as metadata; mount point /run/kata-containers/<id>/rootfs, kata_agent.go:1996).
 */
function guestPullStorage(
  id: string,
  source: string,
  annotations: Record<string, string>,
): Record<string, unknown> {
  return {
    driver: "image_guest_pull",
    driver_options: [`image_guest_pull=${JSON.stringify({ metadata: annotations })}`],
    source,
    fstype: "overlay",
    options: [],
    mount_point: `/run/kata-containers/${id}/rootfs`,
    fs_group: null,
  };
}

Deno.test({
  name:
    "Kata captures: the runas pause container is admitted with the settings it was recorded with, the trimmed parts put back",
  ignore: !available,
  fn: async () => {
    // Hand edits of the trimmed capture, outside what the settings decide: the request gets its
    // container_id back (trimmed to null upstream; for the pause container it is the sandbox ID,
    // as its root path and annotations show) and, optionally, the `pause` guest-pull storage the
    // runtime sends under guest pull (genpolicy's rules count it optional; its captures drop it).
    // The namespace comes from `--namespace` (the YAML names none; the sandbox ran in
    // kata-containers-k8s-tests), the runtime from `--runtime`.
    const c = (await loadCaptureCases()).find((x) =>
      x.name === "createcontainer/security_context/runas"
    )!;
    const restore = (withStorage: boolean) => ({
      ...c,
      requests: c.requests.slice(0, 1).map((r) => {
        const request = structuredClone(r.request) as {
          container_id: unknown;
          storages?: unknown[];
          OCI: { Annotations: Record<string, string>; Root: { Path: string } };
        };
        const id = request.OCI.Annotations["io.kubernetes.cri.sandbox-id"]!;
        request.container_id = id;
        assert.equal(request.OCI.Root.Path, `/run/kata-containers/${id}/rootfs`);
        assert.deepEqual(request.storages ?? [], []);
        if (withStorage) {
          request.storages = [guestPullStorage(id, "pause", request.OCI.Annotations)];
        }
        return { ...r, request };
      }),
    });
    const recorded = (await loadRecordedWith()).get(c.name);
    assert.equal(recorded?.namespace, "kata-containers-k8s-tests");
    assert.equal(recorded?.runtime, "containerd-1.7-guest-pull");
    const rules = await CompiledRules.load();
    const rulesText = await Deno.readTextFile(new URL("../../rego/rules.rego", import.meta.url));
    const resolver = await CaptureImageResolver.load();
    const verdict = async (r: RecordedWith | undefined, withStorage: boolean) => {
      const withId = restore(withStorage);
      const { settings, namespace } = settingsForRecording(await loadDefaultSettings(), r);
      const pd = await policyDataForCase(withId, settings, resolver, rulesText, namespace);
      return (await replayCase(withId, rules, pd))[0]!.actual;
    };
    assert.equal(await verdict(recorded, true), true);
    // Each setting matters: the default namespace.
    assert.equal(await verdict({ ...recorded!, namespace: undefined }, true), false, "namespace");
    // containerd 2 sends the same storage (and allows the sandbox image annotation missing).
    assert.equal(await verdict({ ...recorded!, runtime: "containerd-2-guest-pull" }, true), true);
    // As trimmed (no storage) it is refused under every profile: guest pull requires the storage,
    // host pull the root in the host share (/run/kata-containers/shared/containers/<id>/rootfs).
    for (const runtime of RUNTIME_PROFILES) {
      assert.equal(await verdict({ ...recorded!, runtime }, false), false, runtime);
    }
  },
});

Deno.test({
  name:
    "Kata captures: execprocess is allowed with its trimmed variable and guest-pull storage put back",
  ignore: !available,
  fn: async () => {
    // state/execprocess: the root is the container's bundle directory (guest pull; the host-pull
    // root is in the host share); once the YAML's CONTAINER_NAME and the guest-pull storage are
    // put back (the missing image-name annotation is accepted: the agent never reads it), the
    // first container is allowed with the default settings, and refused without the storage.
    const c = (await loadCaptureCases()).find((x) => x.name === "state/execprocess")!;
    const restored = (withStorage: boolean) => ({
      ...c,
      requests: c.requests.slice(0, 1).map((r) => {
        const request = structuredClone(r.request) as {
          container_id: string;
          storages?: unknown[];
          OCI: { Annotations: Record<string, string>; Process: { Env: string[] } };
        };
        assert.equal(request.OCI.Annotations["io.kubernetes.cri.image-name"], undefined);
        request.OCI.Process.Env.push("CONTAINER_NAME=first-test-container");
        if (withStorage) {
          request.storages = [
            guestPullStorage(request.container_id, "quay.io/prometheus/busybox:latest", {
              ...request.OCI.Annotations,
              "io.kubernetes.cri.image-name": "quay.io/prometheus/busybox:latest",
            }),
          ];
        }
        return { ...r, request };
      }),
    });
    const rules = await CompiledRules.load();
    const rulesText = await Deno.readTextFile(new URL("../../rego/rules.rego", import.meta.url));
    const resolver = await CaptureImageResolver.load();
    const verdict = async (runtime: RuntimeProfile, withStorage: boolean) => {
      const { settings } = settingsForRecording(await loadDefaultSettings(), {
        runtime,
        evidence: "",
      });
      const pd = await policyDataForCase(restored(withStorage), settings, resolver, rulesText);
      return (await replayCase(restored(withStorage), rules, pd))[0]!.actual;
    };
    assert.equal((await loadRecordedWith()).get(c.name), undefined, "recorded with the defaults");
    assert.equal(await verdict("containerd-2-guest-pull", true), true);
    assert.equal(await verdict("containerd-2-guest-pull", false), false, "guest pull: the storage");
    assert.equal(await verdict("containerd-2-host-pull", false), false, "host pull: the root");
  },
});

Deno.test({
  name: "Kata captures: GPU devices and CDI annotations decide as recorded (gpu_vfio_cdi)",
  ignore: !available,
  fn: async () => {
    // The captured requests are trimmed (no default mounts, no storages), so each one's GPU parts
    // (agent devices, cdi.k8s.io/* annotations) are put into the model's request for the same
    // pod, replayed after the model's sandbox and pause container: every verdict is the capture's.
    const c = (await loadCaptureCases()).find((x) => x.name === "createcontainer/gpu_vfio_cdi")!;
    const resolver = await CaptureImageResolver.load();
    const rulesText = await Deno.readTextFile(new URL("../../rego/rules.rego", import.meta.url));
    const pd = await policyDataForCase(c, await loadDefaultSettings(), resolver, rulesText);
    assert.equal(pd.containers.find((x) => x.name === "gpu-container")!.gpus, 2);
    const seq = await modelSequenceFor(c, resolver);
    const at = seq.steps.findIndex((s) =>
      s.request.type === "CreateContainerRequest" && s.context.container === "gpu-container"
    );
    const rules = await CompiledRules.load();
    const ev = await rules.evaluator(pd, {});
    for (const s of seq.steps.slice(0, at)) {
      assert.equal(ev.evaluate(s.request.type, s.request.input).allowed, true, s.label);
    }
    const model = structuredClone(seq.steps[at]!.request.input) as {
      devices: unknown[];
      OCI: { Annotations: Record<string, string> };
    };
    // containerd names the image by repository and digest (the YAML has tag and digest).
    const imageName = "io.kubernetes.cri.image-name";
    model.OCI.Annotations[imageName] = (c.requests[0]!.request as typeof model).OCI
      .Annotations[imageName]!;
    assert.equal(
      (await rules.evaluator(pd, { ...ev.state })).evaluate("CreateContainerRequest", model)
        .allowed,
      true,
      "the model's own GPU request",
    );
    for (const r of c.requests) {
      const captured = r.request as typeof model;
      const request = structuredClone(model);
      request.devices = structuredClone(captured.devices);
      for (const k of Object.keys(request.OCI.Annotations)) {
        if (k.startsWith("cdi.k8s.io/")) delete request.OCI.Annotations[k];
      }
      for (const [k, v] of Object.entries(captured.OCI.Annotations)) {
        if (k.startsWith("cdi.k8s.io/")) request.OCI.Annotations[k] = v;
      }
      const allowed = (await rules.evaluator(pd, { ...ev.state })).evaluate(
        "CreateContainerRequest",
        request,
      ).allowed;
      assert.equal(allowed, r.allowed, r.description);
    }
  },
});
