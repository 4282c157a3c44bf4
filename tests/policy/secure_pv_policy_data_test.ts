import assert from "node:assert/strict";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { buildPolicyData, type PodPolicyInput } from "../../policy/policy_data.ts";
import { IMAGES, testSettings } from "./fixtures.ts";

const images = new Map([...IMAGES.values()].map((i) => [i.pinned, i]));
const web = IMAGES.get("127.0.0.1:5000/web:1.0")!;
const SECURE_PV = {
  container: "contrast-secure-pv",
  deviceVolume: "data",
  devicePath: "/dev/csi0",
};

async function input(
  containers: Record<string, unknown>[],
  securePv: PodPolicyInput["securePv"] | null = SECURE_PV,
): Promise<PodPolicyInput> {
  return {
    kind: "Pod",
    name: "p",
    namespace: "ns",
    podMetadata: {},
    podSpec: {
      containers,
      volumes: [{ name: "data", persistentVolumeClaim: { claimName: "d" } }, {
        name: "state",
        emptyDir: {},
      }],
    },
    specPath: "f.yml[0]: spec",
    images,
    config: { configMap: () => undefined, secret: () => undefined },
    settings: await testSettings(),
    ...(securePv ? { securePv } : {}),
  };
}

const pvContainer = (edit: Record<string, unknown> = {}) => ({
  name: "contrast-secure-pv",
  image: web.pinned,
  securityContext: { privileged: true },
  volumeDevices: [{ name: "data", devicePath: "/dev/csi0" }],
  volumeMounts: [{ name: "state", mountPath: "/state", mountPropagation: "Bidirectional" }],
  ...edit,
});

Deno.test("policy data: the secure-pv container alone gets its device and a shared mount", async () => {
  const data = buildPolicyData(
    await input([pvContainer(), {
      name: "app",
      image: web.pinned,
      volumeMounts: [{ name: "state", mountPath: "/data", mountPropagation: "HostToContainer" }],
    }]),
  );
  const pv = data.containers.find((c) => c.name === "contrast-secure-pv")!;
  const app = data.containers.find((c) => c.name === "app")!;
  assert.deepEqual(pv.devices, [{ container_path: "/dev/csi0" }]);
  assert.equal(app.devices, undefined);
  assert.deepEqual(pv.mounts.find((m) => m.destination === "/state")!.options, [
    "rbind",
    "rshared",
    "rw",
  ]);
  assert.deepEqual(app.mounts.find((m) => m.destination === "/data")!.options, [
    "rbind",
    "rslave",
    "rw",
  ]);
});

Deno.test("policy data: other devices, other containers and weak settings are refused", async () => {
  const cases: [Record<string, unknown>[], PodPolicyInput["securePv"] | null, RegExp][] = [
    [
      [pvContainer({ name: "other" })],
      SECURE_PV,
      /volumeDevices: in a secure-pv pod only the secure-pv container gets a raw device/,
    ],
    [
      [pvContainer({ volumeDevices: [{ name: "data", devicePath: "/dev/sda" }] })],
      SECURE_PV,
      /volumeDevices: the secure-pv container gets exactly its device volume "data" at \/dev\/csi0/,
    ],
    [
      [pvContainer({
        volumeDevices: [{ name: "data", devicePath: "/dev/csi0" }, {
          name: "data",
          devicePath: "/dev/csi1",
        }],
      })],
      SECURE_PV,
      /volumeDevices: the secure-pv container gets exactly its device volume/,
    ],
    [
      [pvContainer({
        securityContext: {},
        volumeMounts: [],
      })],
      SECURE_PV,
      /securityContext\.privileged: the secure-pv container must be privileged/,
    ],
    [
      [{
        name: "app",
        image: web.pinned,
        volumeMounts: [{ name: "state", mountPath: "/d", mountPropagation: "Bidirectional" }],
      }],
      SECURE_PV,
      /mountPropagation: Bidirectional propagation needs a privileged container/,
    ],
    [
      [{
        name: "app",
        image: web.pinned,
        volumeMounts: [{ name: "state", mountPath: "/d", mountPropagation: "Sideways" }],
      }],
      SECURE_PV,
      /mountPropagation: must be None, HostToContainer or Bidirectional, got "Sideways"/,
    ],
  ];
  for (const [containers, securePv, pattern] of cases) {
    const problems = await (async () => {
      try {
        buildPolicyData(await input(containers, securePv));
      } catch (e) {
        assert.ok(e instanceof InvalidDocumentError, String(e));
        return e.issues.map((i) => `${i.path}: ${i.reason}`).join("\n");
      }
      return "";
    })();
    assert.match(problems, pattern);
  }
});

Deno.test("policy data: raw block PVCs (volumeDevices) outside secure-pv pods, at their paths", async () => {
  const spec = (devices: unknown, extraVolumes: unknown[] = []) => ({
    kind: "Pod" as const,
    name: "p",
    namespace: "ns",
    podMetadata: {},
    podSpec: {
      containers: [{ name: "db", image: web.pinned, volumeDevices: devices }],
      volumes: [{ name: "data", persistentVolumeClaim: { claimName: "d" } }, ...extraVolumes],
    },
    specPath: "f.yml[0]: spec",
    images,
    config: { configMap: () => undefined, secret: () => undefined },
  });
  const settings = await testSettings();
  const ok = buildPolicyData({ ...spec([{ name: "data", devicePath: "/dev/xvda" }]), settings });
  assert.deepEqual(ok.containers.find((c) => c.name === "db")!.devices, [
    { container_path: "/dev/xvda" },
  ]);
  // Unprivileged is fine: the device is the container's own volume.
  const refused: [unknown, unknown[], RegExp][] = [
    [
      [{ name: "nope", devicePath: "/dev/x" }],
      [],
      /volumeDevices\[0\]\.name: no volume named "nope"/,
    ],
    [
      [{ name: "e", devicePath: "/dev/x" }],
      [{ name: "e", emptyDir: {} }],
      /volumeDevices\[0\]\.name: a raw block device needs a persistentVolumeClaim volume/,
    ],
    [[{ name: "data", devicePath: "dev/x" }], [], /devicePath: must be an absolute path/],
    [[{ name: "data", devicePath: "/dev/../etc/x" }], [], /devicePath: must be an absolute path/],
    [
      [{ name: "data", devicePath: "/dev/x" }, { name: "data", devicePath: "/dev/x" }],
      [],
      /volumeDevices\[1\]\.devicePath: "\/dev\/x" is used twice/,
    ],
    [{ name: "data" }, [], /volumeDevices: must be a list/],
  ];
  for (const [devices, extra, pattern] of refused) {
    assert.throws(
      () => buildPolicyData({ ...spec(devices, extra), settings }),
      (e: InvalidDocumentError) => {
        assert.match(e.issues.map((i) => `${i.path}: ${i.reason}`).join("\n"), pattern);
        return true;
      },
    );
  }
});
