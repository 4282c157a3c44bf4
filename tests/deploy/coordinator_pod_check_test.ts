/**
 * `contrast generate` pins the `pod-role: coordinator` workload's policy in every initializer, so
 * it accepts only contrast's Coordinator as `contrast coordinator` writes it, with the image lock's
 * Coordinator image: another image, another container, a changed command (and the other fields the
 * builder fixes) are refused with exit 2 naming the file and field, and nothing is written.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { parseYamlFile } from "../../deploy/documents.ts";
import { generate, type GenerateOptions } from "../../deploy/generate.ts";
import { coordinatorYaml } from "../../deploy/coordinator_yaml.ts";
import { runGenerate } from "../../cli/commands/generate.ts";
import { ExitCode, exitCodeFor } from "../../cli/exit_codes.ts";
import {
  IMAGES,
  MemoryResolver,
  OWNER,
  TEST_COORDINATOR_IMAGE,
  testCoordinatorYaml,
} from "../policy/fixtures.ts";
import { exampleGenerateFlags, withExampleApp } from "../../testing/example_app.ts";
import { settingsForRuntime } from "../../policy/runtime_profiles.ts";
import { testGenerateOptions } from "./generate_options.ts";

/** Generate options; `coordinatorImage` null: no lock names a Coordinator image. */
function options(coordinatorImage: string | null = TEST_COORDINATOR_IMAGE) {
  return testGenerateOptions({
    resolver: new MemoryResolver(IMAGES),
    workloadOwnerKeys: [OWNER],
    seedshareOwnerKeys: [],
    ...(coordinatorImage === null ? {} : { coordinatorImage }),
  });
}

const WEB = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      runtimeClassName: contrast-cc
      containers: [{name: web, image: "127.0.0.1:5000/web:1.0"}]
`;

/** The parts of the Coordinator's pod spec the tests edit. */
type PodSpec = Record<string, unknown> & {
  containers: (Record<string, unknown> & {
    env: unknown[];
    volumeMounts: unknown[];
    securityContext: Record<string, unknown>;
  })[];
};

/** The test Coordinator StatefulSet with its pod spec changed by `edit`. */
function editedCoordinator(edit: (spec: PodSpec) => void): string {
  const doc = parseAllDocuments(testCoordinatorYaml(), { version: "1.1" })[0]!.toJS();
  edit(doc.spec.template.spec);
  return JSON.stringify(doc) + "\n";
}

async function refused(
  coordinator: string,
  pattern: RegExp,
  opts?: GenerateOptions,
): Promise<void> {
  const error = await generate(
    [parseYamlFile("app.yml", `${coordinator}---\n${WEB}`)],
    opts ?? await options(),
  ).then(() => assert.fail("generate must refuse this Coordinator"), (e) => e);
  assert.ok(error instanceof InvalidDocumentError, String(error));
  assert.equal(exitCodeFor(error), ExitCode.BadInput);
  assert.match(error.issues.map((i) => `${i.path}: ${i.reason}`).join("\n"), pattern);
}

Deno.test("the Coordinator `contrast coordinator` writes with the lock's image is taken", async () => {
  const result = await generate(
    [parseYamlFile("app.yml", `${testCoordinatorYaml()}---\n${WEB}`)],
    await options(),
  );
  assert.ok(Object.values(result.manifest.Policies).some((p) => p.Role === "coordinator"));
});

Deno.test("fields a user may set on the Coordinator are taken (resources, scheduling, pull policy)", async () => {
  const edited = editedCoordinator((spec) => {
    spec.containers[0].resources = { limits: { memory: "1Gi" } };
    spec.containers[0].imagePullPolicy = "Always";
    spec.nodeSelector = { pool: "cc" };
    spec.tolerations = [{ key: "cc", operator: "Exists" }];
  });
  await generate([parseYamlFile("app.yml", `${edited}---\n${WEB}`)], await options());
});

Deno.test("a Coordinator running another image (the web app's) is refused", async () => {
  await refused(
    testCoordinatorYaml("127.0.0.1:5000/web:1.0"),
    /^app\.yml\[0\]: spec\.template\.spec\.containers\[0\]\.image: must be contrast's Coordinator image from the image lock in use, 127\.0\.0\.1:5000\/contrast\/coordinator@sha256:e{64}, got "127\.0\.0\.1:5000\/web:1\.0"$/m,
  );
  // Also the lock's image by another reference (a tag) is refused: it could move.
  await refused(
    testCoordinatorYaml("127.0.0.1:5000/contrast/coordinator:test"),
    /containers\[0\]\.image: must be contrast's Coordinator image/,
  );
});

Deno.test("a Coordinator with an extra container, init container or sidecar annotation is refused", async () => {
  await refused(
    editedCoordinator((spec) => {
      spec.containers.push({
        name: "spy",
        image: "127.0.0.1:5000/web:1.0",
        env: [],
        volumeMounts: [],
        securityContext: {},
      });
    }),
    /app\.yml\[0\]: spec\.template\.spec\.containers: .*exactly one container, the Coordinator, got 2/,
  );
  await refused(
    editedCoordinator((spec) => {
      spec.initContainers = [{ name: "pre", image: "127.0.0.1:5000/web:1.0" }];
    }),
    /app\.yml\[0\]: spec\.template\.spec\.initContainers: must be as `contrast coordinator` writes it/,
  );
  await refused(
    testCoordinatorYaml().replace(
      "pod-role: coordinator\n",
      'pod-role: coordinator\n        contrast.edgeless.systems/servicemesh-ingress: ""\n',
    ),
    /app\.yml\[0\]: metadata\.annotations\["contrast\.edgeless\.systems\/servicemesh-ingress"\]/,
  );
});

Deno.test("a Coordinator with a changed command, args, env, mounts or securityContext is refused", async () => {
  const cases: [(spec: PodSpec) => void, string][] = [
    [(s) => s.containers[0].command = ["/bin/sh", "-c", "exfiltrate"], "containers[0].command"],
    [(s) => s.containers[0].args = ["--debug"], "containers[0].args"],
    [(s) => s.containers[0].env.push({ name: "X", value: "1" }), "containers[0].env"],
    [(s) => s.containers[0].envFrom = [{ secretRef: { name: "s" } }], "containers[0].envFrom"],
    [
      (s) => s.containers[0].volumeMounts.push({ name: "state", mountPath: "/tmp" }),
      "containers[0].volumeMounts",
    ],
    [(s) => s.containers[0].securityContext.privileged = true, "containers[0].securityContext"],
    [(s) => s.shareProcessNamespace = true, "shareProcessNamespace"],
    [(s) => s.hostNetwork = true, "hostNetwork"],
    [(s) => s.volumes = [{ name: "h", hostPath: { path: "/" } }], "volumes"],
  ];
  for (const [edit, field] of cases) {
    await refused(
      editedCoordinator(edit),
      new RegExp(
        `app\\.yml\\[0\\]: spec\\.template\\.spec\\.${field.replace(/[.[\]]/g, "\\$&")}: `,
      ),
    );
  }
});

Deno.test("a Coordinator that is not a StatefulSet is refused", async () => {
  const doc = parseAllDocuments(testCoordinatorYaml(), { version: "1.1" })[0]!.toJS();
  doc.kind = "Deployment";
  delete doc.spec.volumeClaimTemplates;
  doc.spec.template.spec.volumes = [{ name: "state", emptyDir: {} }];
  await refused(JSON.stringify(doc) + "\n", /app\.yml\[0\]: kind: .*got "Deployment"/);
});

Deno.test("without a lock naming the Coordinator image the Coordinator is refused (exit 2)", async () => {
  await refused(
    testCoordinatorYaml(),
    /containers\[0\]\.image: contrast's coordinator image comes from the image lock, and no lock names it/,
    await options(null),
  );
});

Deno.test({
  name:
    "contrast generate refuses the web image as Coordinator and writes nothing; the replicated one passes",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withExampleApp("contrast-coordinator-check-", async (example) => {
      const file = `${example.app}/coordinator.yml`;
      const original = await Deno.readTextFile(file);
      const web = await Deno.readTextFile(`${example.app}/web.yml`);
      const webImage = web.match(/image: (\S+)/)![1]!;
      const bad = original.replace(/image: \S+/, `image: ${webImage}`);
      await Deno.writeTextFile(file, bad);
      const quiet = console.error;
      console.error = () => {};
      try {
        const error = await runGenerate([example.app], exampleGenerateFlags(example)).then(
          () => assert.fail("generate must refuse"),
          (e) => e,
        );
        assert.equal(exitCodeFor(error), ExitCode.BadInput);
        assert.match(
          String(error.message ?? error),
          /coordinator\.yml\[\d\]: spec\.template\.spec\.containers\[0\]\.image/,
        );
        assert.equal(await Deno.readTextFile(file), bad, "nothing written");
        assert.equal(await Deno.readTextFile(`${example.app}/web.yml`), web, "nothing written");
        assert.deepEqual([...Deno.readDirSync(example.ws)].map((e) => e.name), []);
        // The lock's image, three replicas (the Kubernetes history backend): taken.
        const image = original.match(/image: (\S+)/)![1]!;
        const runtimeClassName = original.match(/runtimeClassName: (\S+)/)![1]!;
        await Deno.writeTextFile(
          file,
          coordinatorYaml({ image, runtimeClassName, namespace: "emojivoto", replicas: 3 }),
        );
        await runGenerate([example.app], exampleGenerateFlags(example));
      } finally {
        console.error = quiet;
      }
    }),
});

Deno.test("host pull: the Coordinator's policy would not bind its program, so it is refused", async () => {
  // With host pull (or settings without the guest-pull image storage) the node unpacks the
  // Coordinator's image and shares its root filesystem into the guest: nothing checks its files,
  // so the host could run its own program under the genuine policy (same HOST_DATA). `set`,
  // `verify` and every initializer would accept it, and it would hold the seed and every
  // workload secret. Before, generate wrote that Coordinator's policy with a warning about
  // "the containers' root filesystems".
  for (const runtime of ["containerd-2-host-pull", "containerd-1.7-host-pull"] as const) {
    const base = await options();
    await refused(
      testCoordinatorYaml(),
      /spec\.template\.spec\.containers\[0\]\.image: .*pulled in the guest.*--runtime containerd-2-guest-pull/,
      { ...base, settings: settingsForRuntime(base.settings, runtime) },
    );
  }
  const base = await options();
  const noStorage = {
    ...base.settings,
    container: { ...base.settings.container, image_storages: [] },
  };
  await refused(testCoordinatorYaml(), /pulled in the guest/, { ...base, settings: noStorage });
  // The pulled image mounted somewhere else than the container's root binds nothing either.
  const elsewhere = {
    ...base.settings,
    container: {
      ...base.settings.container,
      root_path_regex: "^/run/kata-containers/shared/containers/$(cid)/rootfs$",
    },
  };
  await refused(testCoordinatorYaml(), /pulled in the guest/, { ...base, settings: elsewhere });
  // An app pod alone (no Coordinator in the input) is still generated for host pull, with its
  // warning (the weakness is that pod's own).
  const apps = await generate([parseYamlFile("app.yml", WEB)], {
    ...base,
    settings: settingsForRuntime(base.settings, "containerd-2-host-pull"),
  });
  assert.equal(apps.policies.length, 1);
});
