/**
 * The Coordinator's Kubernetes resources, ready to pass through `contrast generate` with the rest
 * of the app: a ServiceAccount without token, a StatefulSet running contrast's Coordinator image
 * (pinned by digest) in the confidential runtime class with its state on a volume, probes and a
 * restrictive securityContext, the mesh API Service initializers reach (`coordinator:7777`; the
 * transit KMS on the same Service at 8200) and
 * the user API Service of type LoadBalancer (`contrast set/verify/recover`).
 *
 * The Coordinator keeps its state (manifest history) in the file history store on its volume, so
 * it needs no Kubernetes API access: the ServiceAccount gets no token and no RBAC.
 *
 * @module
 */
import { stringify } from "yaml";
import { ParseError } from "../util/errors/mod.ts";
import { POD_ROLE_ANNOTATION } from "./annotations.ts";

/** Ports of the Coordinator process. */
export const COORDINATOR_PORTS = { user: 1313, mesh: 7777, probe: 9102, transit: 8200 } as const;

/** Where the Coordinator image keeps state (a volume). */
export const COORDINATOR_STATE_DIR = "/var/lib/contrast";

/** The user id contrast's images run as (distroless `nonroot`). */
export const NONROOT_UID = 65532;

/** Choices of {@link coordinatorYaml}. */
export interface CoordinatorYamlOptions {
  /** The Coordinator image, pinned by digest (from the image lock). */
  readonly image: string;
  /** The runtime class the pod names (generate replaces it with the versioned one). */
  readonly runtimeClassName: string;
  /** Namespace of every resource. */
  readonly namespace: string;
  /** Number of Coordinator replicas. */
  readonly replicas: number;
  /** Size of the state volume (`1Gi`). */
  readonly storage?: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function checkOptions(options: CoordinatorYamlOptions): void {
  if (!DNS_LABEL.test(options.namespace) || options.namespace.length > 63) {
    throw new ParseError("--namespace", `"${options.namespace}" is not a DNS label`);
  }
  if (!Number.isInteger(options.replicas) || options.replicas < 1 || options.replicas > 1) {
    throw new ParseError(
      "--replicas",
      `${options.replicas}: only 1 is supported while the Coordinator keeps its history on its ` +
        "own volume (replicas need a shared history store)",
    );
  }
  if (!/@sha256:[0-9a-f]{64}$/.test(options.image)) {
    throw new ParseError(
      "image",
      `the Coordinator image must be pinned by digest: ${options.image}`,
    );
  }
}

const LABELS = { "app.kubernetes.io/name": "coordinator", "app.kubernetes.io/part-of": "contrast" };

function probe(path: string, failureThreshold: number) {
  return {
    httpGet: { path: `/probe/${path}`, port: "probes" },
    periodSeconds: 5,
    failureThreshold,
  };
}

function statefulSet(o: CoordinatorYamlOptions) {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "coordinator", namespace: o.namespace, labels: LABELS },
    spec: {
      replicas: o.replicas,
      serviceName: "coordinator",
      selector: { matchLabels: { "app.kubernetes.io/name": "coordinator" } },
      template: {
        metadata: {
          labels: LABELS,
          annotations: { [POD_ROLE_ANNOTATION]: "coordinator" },
        },
        spec: {
          runtimeClassName: o.runtimeClassName,
          serviceAccountName: "coordinator",
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: NONROOT_UID,
            runAsGroup: NONROOT_UID,
            fsGroup: NONROOT_UID,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [{
            name: "coordinator",
            image: o.image,
            env: [
              { name: "CONTRAST_HISTORY_DIR", value: `${COORDINATOR_STATE_DIR}/history` },
              { name: "CONTRAST_COLLATERAL_CACHE", value: `${COORDINATOR_STATE_DIR}/collateral` },
              { name: "CONTRAST_LOG_FORMAT", value: "json" },
            ],
            ports: [
              { name: "userapi", containerPort: COORDINATOR_PORTS.user },
              { name: "meshapi", containerPort: COORDINATOR_PORTS.mesh },
              { name: "probes", containerPort: COORDINATOR_PORTS.probe },
              { name: "transit", containerPort: COORDINATOR_PORTS.transit },
            ],
            startupProbe: probe("startup", 60),
            livenessProbe: probe("liveness", 3),
            readinessProbe: probe("readiness", 1),
            resources: {
              requests: { cpu: "100m", memory: "256Mi" },
              limits: { memory: "512Mi" },
            },
            securityContext: {
              readOnlyRootFilesystem: true,
              allowPrivilegeEscalation: false,
              capabilities: { drop: ["ALL"] },
            },
            volumeMounts: [{ name: "state", mountPath: COORDINATOR_STATE_DIR }],
          }],
        },
      },
      volumeClaimTemplates: [{
        metadata: { name: "state" },
        spec: {
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage: o.storage ?? "1Gi" } },
        },
      }],
    },
  };
}

function services(o: CoordinatorYamlOptions) {
  const selector = { "app.kubernetes.io/name": "coordinator" };
  return [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "coordinator", namespace: o.namespace, labels: LABELS },
      spec: {
        selector,
        ports: [
          { name: "meshapi", port: COORDINATOR_PORTS.mesh, targetPort: "meshapi" },
          // The transit KMS pods reach as https://coordinator:8200 (mesh certificates).
          { name: "transit", port: COORDINATOR_PORTS.transit, targetPort: "transit" },
        ],
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "coordinator-userapi", namespace: o.namespace, labels: LABELS },
      spec: {
        type: "LoadBalancer",
        selector,
        ports: [{ name: "userapi", port: COORDINATOR_PORTS.user, targetPort: "userapi" }],
      },
    },
  ];
}

/**
 * The Coordinator's resources as one YAML stream.
 *
 * @throws {ParseError} naming `--namespace`, `--replicas` or `image` for a bad choice
 */
export function coordinatorYaml(options: CoordinatorYamlOptions): string {
  checkOptions(options);
  const docs = [
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "coordinator", namespace: options.namespace, labels: LABELS },
      automountServiceAccountToken: false,
    },
    statefulSet(options),
    ...services(options),
  ];
  const header = "# The contrast Coordinator (written by `contrast coordinator`).\n";
  return header +
    docs.map((d) => stringify(d, { version: "1.1", lineWidth: 0, aliasDuplicateObjects: false }))
      .join("---\n");
}
