/**
 * Shared fixture of the policy-check tests and benchmarks: a small multi-container Deployment with the image
 * configs the builder needs.
 *
 * @module
 */
import type { ResolvedImage } from "../../oci/types.ts";
import type { PolicyData } from "../../policy/policy_data_types.ts";
import { buildPolicyData } from "../../policy/policy_data.ts";
import { loadDefaultSettings, type Settings } from "../../policy/settings.ts";
import { readClusterObjects, readWorkload } from "../../policy/check/pod.ts";
import type { ClusterObjects, PodWorkload } from "../../policy/check/pod.ts";

/** Digest of the fixture app image. */
export const APP_DIGEST = "sha256:" + "a1".repeat(32);
/** Digest of the fixture init image. */
const INIT_DIGEST = "sha256:" + "b2".repeat(32);

/** Resolved images of the fixture pod, by reference. */
export const IMAGES: ReadonlyMap<string, ResolvedImage> = new Map([
  [`registry.example/app@${APP_DIGEST}`, {
    reference: "registry.example/app:1.0",
    repository: "registry.example/app",
    digest: APP_DIGEST,
    pinned: `registry.example/app@${APP_DIGEST}`,
    config: {
      entrypoint: ["/usr/bin/app"],
      cmd: ["--serve"],
      env: ["PATH=/usr/local/bin:/usr/bin:/bin", "APP_MODE=prod"],
      workingDir: "/srv",
      user: "app",
    },
    passwd: "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/srv:/bin/sh\n",
    group: "root:x:0:\napp:x:1000:\naudio:x:29:app\n",
  }],
  [`registry.example/init@${INIT_DIGEST}`, {
    reference: "registry.example/init:1.0",
    repository: "registry.example/init",
    digest: INIT_DIGEST,
    pinned: `registry.example/init@${INIT_DIGEST}`,
    config: { entrypoint: [], cmd: ["/bin/init"], env: [], workingDir: "", user: "" },
  }],
]);

/** The fixture documents: a ConfigMap, a Service and a Deployment (images pinned, as generated). */
export const DOCS: unknown[] = [
  { kind: "ConfigMap", metadata: { name: "cfg", namespace: "shop" }, data: { LEVEL: "debug" } },
  {
    kind: "Service",
    metadata: { name: "db", namespace: "shop" },
    spec: { ports: [{ port: 5432 }] },
  },
  {
    kind: "Deployment",
    metadata: { name: "web", namespace: "shop" },
    spec: {
      template: {
        metadata: { annotations: { "example.com/x": "1" } },
        spec: {
          runtimeClassName: "contrast-cc",
          volumes: [
            { name: "secrets", emptyDir: { medium: "Memory" } },
            { name: "config", configMap: { name: "cfg" } },
          ],
          initContainers: [{
            name: "setup",
            image: `registry.example/init@${INIT_DIGEST}`,
            volumeMounts: [{ name: "secrets", mountPath: "/contrast" }],
          }],
          containers: [{
            name: "app",
            image: `registry.example/app@${APP_DIGEST}`,
            args: ["--level", "$(LEVEL)"],
            env: [{ name: "LEVEL", valueFrom: { configMapKeyRef: { name: "cfg", key: "LEVEL" } } }],
            volumeMounts: [
              { name: "secrets", mountPath: "/contrast" },
              { name: "config", mountPath: "/etc/app", readOnly: true },
            ],
            readinessProbe: { exec: { command: ["/usr/bin/app", "health"] } },
            securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
          }],
        },
      },
    },
  },
];

/** The fixture Deployment as a workload. */
export function fixtureWorkload(): PodWorkload {
  const w = readWorkload(DOCS[2], "fixture.yml#2");
  if (!w) throw new Error("fixture is not a workload");
  return w;
}

/** The fixture's ConfigMaps, Secrets and Services. */
export function fixtureCluster(): ClusterObjects {
  return readClusterObjects(DOCS);
}

/**
 * The fixture pod's policy data, as `policy/`'s builder generates it (with the default settings
 * unless `settings` is given, e.g. for another emptyDir mode).
 */
export async function fixturePolicyData(
  deployment: unknown = DOCS[2],
  settings?: Settings,
): Promise<PolicyData> {
  const cluster = fixtureCluster();
  const doc = deployment as {
    metadata: { name: string };
    spec: { template: { metadata: object; spec: object } };
  };
  return buildPolicyData({
    kind: "Deployment",
    name: doc.metadata.name,
    namespace: "shop",
    podMetadata: doc.spec.template.metadata as Record<string, unknown>,
    podSpec: doc.spec.template.spec as Record<string, unknown>,
    specPath: "spec.template.spec",
    images: IMAGES,
    config: {
      configMap: (ns, n) => cluster.configMaps.get(`${ns}/${n}`),
      secret: (ns, n) => cluster.secrets.get(`${ns}/${n}`),
    },
    settings: settings ?? await loadDefaultSettings(),
  });
}
