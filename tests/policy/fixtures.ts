/** Test fixtures: resolved images (an in-memory stand-in for the registry) and a sample pod. */
import type { ImageResolver, ResolvedImage } from "../../oci/types.ts";
import { NotFoundError } from "../../util/errors/mod.ts";
import { buildPolicyData } from "../../policy/policy_data.ts";
import type { PolicyData } from "../../policy/policy_data_types.ts";
import { loadDefaultSettings, type Settings } from "../../policy/settings.ts";
import { coordinatorPodSpec } from "../../deploy/coordinator_yaml.ts";

const PASSWD = "root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000::/home/web:/bin/sh\n";
const GROUP = "root:x:0:\nweb:x:1000:\nextra:x:2000:web\n";

function image(
  repository: string,
  tag: string,
  digestByte: string,
  config: Partial<ResolvedImage["config"]>,
): ResolvedImage {
  const digest = `sha256:${digestByte.repeat(64)}`;
  return {
    reference: `${repository}:${tag}`,
    repository,
    digest,
    pinned: `${repository}@${digest}`,
    config: { entrypoint: [], cmd: [], env: [], workingDir: "", user: "", ...config },
    passwd: PASSWD,
    group: GROUP,
  };
}

/** Images the fixtures use, keyed by the reference written in YAML. */
export const IMAGES: ReadonlyMap<string, ResolvedImage> = new Map([
  [
    "127.0.0.1:5000/web:1.0",
    image("127.0.0.1:5000/web", "1.0", "a", {
      entrypoint: ["/usr/bin/web"],
      cmd: ["--port", "8080"],
      env: ["PATH=/usr/local/bin:/usr/bin:/bin", "MODE=prod"],
      workingDir: "/srv",
      user: "web",
    }),
  ],
  [
    "127.0.0.1:5000/initializer:1.0",
    image("127.0.0.1:5000/initializer", "1.0", "b", {
      entrypoint: ["/bin/initializer"],
      env: ["PATH=/bin"],
    }),
  ],
  [
    "127.0.0.1:5000/mesh:1.0",
    image("127.0.0.1:5000/mesh", "1.0", "c", {
      entrypoint: ["/bin/service-mesh"],
      env: ["PATH=/bin"],
    }),
  ],
  [
    "127.0.0.1:5000/contrast/coordinator:test",
    image("127.0.0.1:5000/contrast/coordinator", "test", "e", {
      entrypoint: ["/bin/coordinator"],
      env: ["PATH=/bin"],
    }),
  ],
  [
    "127.0.0.1:5000/contrast/coordinator:next",
    image("127.0.0.1:5000/contrast/coordinator", "next", "f", {
      entrypoint: ["/bin/coordinator"],
      env: ["PATH=/bin"],
    }),
  ],
  [
    "127.0.0.1:5000/db:2",
    image("127.0.0.1:5000/db", "2", "d", {
      entrypoint: ["docker-entrypoint.sh"],
      cmd: ["postgres"],
      env: ["PATH=/usr/bin", "PGDATA=/var/lib/postgresql/data"],
    }),
  ],
]);

/** The Coordinator image of the test image lock (pass as `coordinatorImage` to generate). */
export const TEST_COORDINATOR_IMAGE: string =
  IMAGES.get("127.0.0.1:5000/contrast/coordinator:test")!
    .pinned;

/** Another release's Coordinator image (a lock update). */
export const NEXT_COORDINATOR_IMAGE: string =
  IMAGES.get("127.0.0.1:5000/contrast/coordinator:next")!
    .pinned;

/**
 * A Coordinator StatefulSet whose pod is exactly what `contrast coordinator` writes (one replica,
 * runtime class `contrast-cc`, namespace `contrast`), running `image`.
 */
export function testCoordinatorYaml(image: string = TEST_COORDINATOR_IMAGE): string {
  const spec = coordinatorPodSpec({ image, runtimeClassName: "contrast-cc", replicas: 1 });
  return `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: coordinator
  namespace: contrast
spec:
  template:
    metadata:
      annotations:
        contrast.edgeless.systems/pod-role: coordinator
    spec: ${JSON.stringify(spec)}
  volumeClaimTemplates:
    - metadata: {name: state}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`;
}

/** An in-memory {@link ImageResolver} over {@link IMAGES} (unit tests only), counting calls. */
export class MemoryResolver implements ImageResolver {
  calls = 0;
  constructor(private readonly images: ReadonlyMap<string, ResolvedImage> = IMAGES) {}
  resolve(reference: string): Promise<ResolvedImage> {
    this.calls++;
    const found = this.images.get(reference) ??
      [...this.images.values()].find((i) => i.pinned === reference);
    if (!found) return Promise.reject(new NotFoundError(reference, "image not found"));
    return Promise.resolve(found);
  }
}

/** Settings with the fixture images for the initializer and service mesh. */
export async function testSettings(): Promise<Settings> {
  const d = await loadDefaultSettings();
  return {
    ...d,
    initializer: { ...d.initializer, image: "127.0.0.1:5000/initializer:1.0" },
    service_mesh: { ...d.service_mesh, image: "127.0.0.1:5000/mesh:1.0" },
  };
}

/** A Deployment pod spec with probes, env from a ConfigMap and a memory volume. */
export function samplePodSpec(): Record<string, unknown> {
  const web = IMAGES.get("127.0.0.1:5000/web:1.0")!;
  return {
    runtimeClassName: "contrast-cc",
    volumes: [{ name: "cache", emptyDir: { medium: "Memory" } }, {
      name: "conf",
      configMap: { name: "web-config" },
    }],
    containers: [{
      name: "web",
      image: web.pinned,
      args: ["--port", "$(PORT)"],
      env: [
        { name: "PORT", value: "9090" },
        {
          name: "GREETING",
          valueFrom: { configMapKeyRef: { name: "web-config", key: "greeting" } },
        },
        { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      ],
      volumeMounts: [{ name: "cache", mountPath: "/cache" }, {
        name: "conf",
        mountPath: "/etc/web",
        readOnly: true,
      }],
      livenessProbe: { exec: { command: ["/usr/bin/web", "health"] } },
      securityContext: { capabilities: { drop: ["NET_RAW"] } },
    }],
  };
}

/**
 * Policy data for {@link samplePodSpec} as a Deployment `web` in namespace `shop`, with `settings`
 * (default: {@link testSettings}).
 */
export async function samplePolicyData(settings?: Settings): Promise<PolicyData> {
  const images = new Map<string, ResolvedImage>();
  for (const i of IMAGES.values()) images.set(i.pinned, i);
  return buildPolicyData({
    kind: "Deployment",
    name: "web",
    namespace: "shop",
    podMetadata: { labels: { app: "web" } },
    podSpec: samplePodSpec(),
    specPath: "web.yml[0]: spec.template.spec",
    images,
    config: {
      configMap: (ns, name) =>
        ns === "shop" && name === "web-config" ? { greeting: "hi" } : undefined,
      secret: () => undefined,
    },
    settings: settings ?? await testSettings(),
  });
}

/**
 * The interface of an `UpdateInterfaceRequest` that the sample policy allows: eth0 with one pod
 * address, a non-zero MAC and no flags.
 */
export const SAMPLE_INTERFACE = {
  device: "eth0",
  name: "eth0",
  IPAddresses: [{ family: 0, address: "10.244.1.7", mask: "24" }],
  mtu: 1450,
  hwAddr: "ca:26:d9:7d:7d:07",
  devicePath: "",
  type_: "",
  raw_flags: 0,
} as const;

/** A workload owner public key (hex PKIX DER, P-384) for generate runs that pin one. */
export const OWNER: string = await (async () => {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
    "sign",
    "verify",
  ]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  return Array.from(spki, (b) => b.toString(16).padStart(2, "0")).join("");
})();

/**
 * Reference values for generate tests: one Genoa bare-metal SNP entry with a made-up measurement
 * and the usual guest policy, no TDX.
 */
export const TEST_REFERENCE_VALUES = {
  snp: [{
    Platform: "Metal-QEMU-SNP",
    ProductName: "Genoa",
    TrustedMeasurement: "ab".repeat(48),
    MinimumTCB: { BootloaderVersion: 7, TEEVersion: 0, SNPVersion: 14, MicrocodeVersion: 72 },
    GuestPolicy: {
      ABIMajor: 0,
      ABIMinor: 0,
      SMT: true,
      MigrateMA: false,
      Debug: false,
      SingleSocket: false,
    },
    AllowedChipIDs: [],
    TrustedIDKeyDigests: [],
  }],
  tdx: [],
};
