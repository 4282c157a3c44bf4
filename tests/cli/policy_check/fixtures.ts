/**
 * Shared fixtures of the policy-check tests: a small multi-container Deployment with the image
 * configs the builder needs.
 *
 * @module
 */
import type { ResolvedImage } from "../../../oci/types.ts";
import type { PolicyData } from "../../../policy/policy_data_types.ts";
import { buildPolicyData } from "../../../policy/policy_data.ts";
import { loadDefaultSettings } from "../../../policy/settings.ts";
import { readClusterObjects, readWorkload } from "../../../cli/policy_check/pod.ts";
import type { ClusterObjects, PodWorkload } from "../../../cli/policy_check/pod.ts";

/** Digest of the fixture app image. */
export const APP_DIGEST = "sha256:" + "a1".repeat(32);
/** Digest of the fixture init image. */
export const INIT_DIGEST = "sha256:" + "b2".repeat(32);

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
    group: "root:x:0:\napp:x:1000:\n",
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
 * The fixture's policy data from `policy/policy_data.ts`, with the corrections `contrast policy
 * check` found against Kata's runtime (each reported to the policy owners; remove a line once
 * `policy/` adopts it):
 * - containerd gives the pause container the default capabilities (genpolicy does too);
 * - the pause container has no cgroup mount but the pod's resolv.conf (genpolicy settings);
 * - the Kata runtime always removes the PID namespace (`handlePidNamespace`), so no `pid`;
 * - containerd sets two sysctls on every container (unprivileged ports, ping group range);
 * - without filesystem sharing (CoCo) volumes are copied, not "watchable", and named after the
 *   mount destination (`shareFileName`: `<cid>-<16 hex>-<basename(destination)>`).
 */
export function kataAlignedPolicyData(pd: PolicyData): PolicyData {
  const defaults = [
    "CAP_AUDIT_WRITE",
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_MKNOD",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_RAW",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
  ];
  const sysctls = {
    "net.ipv4.ip_unprivileged_port_start": "0",
    "net.ipv4.ping_group_range": "0 2147483647",
  };
  const shared = "^/run/kata-containers/shared/containers/[a-z0-9]{64}-[a-z0-9]{16}-";
  return {
    ...pd,
    containers: pd.containers.map((c) => ({
      ...c,
      namespaces: c.namespaces.filter((n) => n !== "pid"),
      sysctls: { ...sysctls, ...c.sysctls },
      ...(c.kind === "pause"
        ? {
          process: {
            ...c.process,
            capabilities: {
              bounding: defaults,
              effective: defaults,
              inheritable: [],
              permitted: defaults,
              ambient: [],
            },
          },
          mounts: [
            ...c.mounts.filter((m) =>
              m.destination !== "/sys/fs/cgroup" && m.destination !== "/etc/resolv.conf"
            ),
            {
              destination: "/etc/resolv.conf",
              type: "bind",
              source_regex: `${shared}resolv\\.conf$`,
              options: ["rbind", "ro", "nosuid", "nodev", "noexec"],
            },
          ],
        }
        : {
          mounts: c.mounts.map((m) =>
            m.source_regex.includes("/watchable/")
              ? {
                ...m,
                source_regex: `${shared}${
                  m.destination.split("/").filter((x) => x).at(-1)!.replaceAll(".", "\\.")
                }$`,
              }
              : m
          ),
        }),
    })),
    copy_file: {
      path_regexes: [
        ...pd.copy_file.path_regexes,
        `${shared}[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)*$`,
      ],
    },
  };
}

/** The fixture pod's policy data: `policy/`'s builder, aligned with Kata's runtime. */
export async function fixturePolicyData(): Promise<PolicyData> {
  const cluster = fixtureCluster();
  const doc = DOCS[2] as { spec: { template: { metadata: object; spec: object } } };
  const generated = buildPolicyData({
    kind: "Deployment",
    name: "web",
    namespace: "shop",
    podMetadata: doc.spec.template.metadata as Record<string, unknown>,
    podSpec: doc.spec.template.spec as Record<string, unknown>,
    specPath: "spec.template.spec",
    images: IMAGES,
    config: {
      configMap: (ns, n) => cluster.configMaps.get(`${ns}/${n}`),
      secret: (ns, n) => cluster.secrets.get(`${ns}/${n}`),
    },
    settings: await loadDefaultSettings(),
  });
  return kataAlignedPolicyData(generated);
}
