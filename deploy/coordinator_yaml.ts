/**
 * The Coordinator's Kubernetes resources, ready to pass through `contrast generate` with the rest
 * of the app: a ServiceAccount, a StatefulSet running contrast's Coordinator image (pinned by
 * digest) in the confidential runtime class, probes and a restrictive securityContext, the mesh API
 * Service initializers reach (`coordinator:7777`; the transit KMS on the same Service at 8200) and
 * the user API Service of type LoadBalancer (`contrast set/verify/recover`).
 *
 * Where the state lives depends on the replica count:
 *
 * - one replica: the file history store on the pod's volume claim. The Coordinator needs no
 *   Kubernetes API access: no ServiceAccount token is mounted and there is no RBAC.
 * - several replicas: the Kubernetes history backend (ConfigMaps and peer Leases in the namespace,
 *   owned by the StatefulSet through `--history-owner`). A Role with exactly
 *   {@link COORDINATOR_RULES} is bound to the ServiceAccount, the token is mounted into the
 *   Coordinator pods only, the downward API names each replica (`POD_NAME`), its namespace
 *   (`POD_NAMESPACE`) and its mesh address for peers (`POD_IP`), the pods start in parallel, and
 *   both Services keep a client on one replica (`sessionAffinity: ClientIP`: every replica has its
 *   own attested TLS key and single-use challenge nonces).
 *
 * @module
 */
import { goYamlTags } from "../util/yaml/go_yaml_schema.ts";
import { refuseGoYamlBreaks } from "../util/yaml/kubectl_agreement.ts";
import { stringify } from "yaml";
import { ParseError } from "../util/errors/mod.ts";
import { POD_ROLE_ANNOTATION } from "./annotations.ts";
import { COORDINATOR_RULES, COORDINATOR_STATEFUL_SET } from "./coordinator_rbac.ts";

/** Ports of the Coordinator process. */
const COORDINATOR_PORTS = { user: 1313, mesh: 7777, probe: 9102, transit: 8200 } as const;

/** Where the Coordinator image keeps state (a volume). */
const COORDINATOR_STATE_DIR = "/var/lib/contrast";

/** Name of the ServiceAccount, Role, RoleBinding, StatefulSet and mesh API Service. */
const COORDINATOR_NAME = COORDINATOR_STATEFUL_SET;

/** The most replicas {@link coordinatorYaml} writes. */
const MAX_COORDINATOR_REPLICAS = 15;

/** The user id contrast's images run as (distroless `nonroot`). */
const NONROOT_UID = 65532;

/** Choices of {@link coordinatorYaml}. */
interface CoordinatorYamlOptions {
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
  if (
    !Number.isInteger(options.replicas) || options.replicas < 1 ||
    options.replicas > MAX_COORDINATOR_REPLICAS
  ) {
    throw new ParseError(
      "--replicas",
      `${options.replicas}: expected 1 to ${MAX_COORDINATOR_REPLICAS}`,
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

/** Whether the replicas share their history through the Kubernetes API. */
function sharedHistory(o: Pick<CoordinatorYamlOptions, "replicas">): boolean {
  return o.replicas > 1;
}

function fieldEnv(name: string, fieldPath: string) {
  return { name, valueFrom: { fieldRef: { fieldPath } } };
}

/** Environment of the Coordinator container for the history backend in use. */
function historyEnv(o: Pick<CoordinatorYamlOptions, "replicas">) {
  const common = [
    { name: "CONTRAST_COLLATERAL_CACHE", value: `${COORDINATOR_STATE_DIR}/collateral` },
    { name: "CONTRAST_LOG_FORMAT", value: "json" },
  ];
  if (!sharedHistory(o)) {
    return [
      { name: "CONTRAST_HISTORY_BACKEND", value: "file" },
      { name: "CONTRAST_HISTORY_DIR", value: `${COORDINATOR_STATE_DIR}/history` },
      ...common,
    ];
  }
  return [
    { name: "CONTRAST_HISTORY_BACKEND", value: "kubernetes" },
    // Deleting the StatefulSet removes the shared state with it (owner references).
    { name: "CONTRAST_HISTORY_OWNER", value: `apps/v1/StatefulSet/${COORDINATOR_NAME}` },
    // The replica's name, namespace and mesh address ($POD_IP:7777) for peer recovery.
    fieldEnv("POD_NAME", "metadata.name"),
    fieldEnv("POD_NAMESPACE", "metadata.namespace"),
    fieldEnv("POD_IP", "status.podIP"),
    { name: "CONTRAST_MESH_PORT", value: String(COORDINATOR_PORTS.mesh) },
    ...common,
  ];
}

/** Volumes: a claim per replica for the file history, scratch space for the collateral cache. */
function stateVolumes(o: Pick<CoordinatorYamlOptions, "replicas" | "storage">) {
  if (sharedHistory(o)) {
    return { volumes: [{ name: "state", emptyDir: {} }] };
  }
  return {
    volumeClaimTemplates: [{
      metadata: { name: "state" },
      spec: {
        accessModes: ["ReadWriteOnce"],
        resources: { requests: { storage: o.storage ?? "1Gi" } },
      },
    }],
  };
}

/**
 * The Coordinator pod's spec exactly as {@link coordinatorYaml} writes it into its StatefulSet
 * (`contrast generate` compares the input's Coordinator pod against it).
 */
export function coordinatorPodSpec(
  o: Pick<CoordinatorYamlOptions, "image" | "runtimeClassName" | "replicas">,
): Record<string, unknown> {
  const { volumes } = stateVolumes(o);
  return {
    runtimeClassName: o.runtimeClassName,
    serviceAccountName: COORDINATOR_NAME,
    // The token only where the state is in the Kubernetes API.
    automountServiceAccountToken: sharedHistory(o),
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
      env: historyEnv(o),
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
    ...(volumes ? { volumes } : {}),
  };
}

function statefulSet(o: CoordinatorYamlOptions) {
  const { volumeClaimTemplates } = stateVolumes(o);
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: COORDINATOR_NAME, namespace: o.namespace, labels: LABELS },
    spec: {
      replicas: o.replicas,
      serviceName: COORDINATOR_NAME,
      // Replicas recover from each other: none waits for another to be ready before it starts.
      ...(sharedHistory(o) ? { podManagementPolicy: "Parallel" } : {}),
      selector: { matchLabels: { "app.kubernetes.io/name": "coordinator" } },
      template: {
        metadata: {
          labels: LABELS,
          annotations: { [POD_ROLE_ANNOTATION]: "coordinator" },
        },
        spec: coordinatorPodSpec(o),
      },
      ...(volumeClaimTemplates ? { volumeClaimTemplates } : {}),
    },
  };
}

/** The Role with exactly the rules the Kubernetes history backend needs, and its binding. */
function rbac(o: CoordinatorYamlOptions) {
  const metadata = { name: COORDINATOR_NAME, namespace: o.namespace, labels: LABELS };
  return [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata,
      rules: COORDINATOR_RULES.map((r) => ({
        apiGroups: [...r.apiGroups],
        resources: [...r.resources],
        ...(r.resourceNames ? { resourceNames: [...r.resourceNames] } : {}),
        verbs: [...r.verbs],
      })),
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata,
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: COORDINATOR_NAME },
      subjects: [{ kind: "ServiceAccount", name: COORDINATOR_NAME, namespace: o.namespace }],
    },
  ];
}

function services(o: CoordinatorYamlOptions) {
  const selector = { "app.kubernetes.io/name": "coordinator" };
  // One client exchange (attest, then challenge or set) must stay on the replica whose key and
  // nonce it used.
  const affinity = sharedHistory(o) ? { sessionAffinity: "ClientIP" } : {};
  return [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "coordinator", namespace: o.namespace, labels: LABELS },
      spec: {
        selector,
        ...affinity,
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
        ...affinity,
        ports: [{ name: "userapi", port: COORDINATOR_PORTS.user, targetPort: "userapi" }],
      },
    },
  ];
}

/**
 * The Coordinator's resources as one YAML stream.
 *
 * @throws {ParseError} naming `--namespace`, `--replicas` (1 to {@link MAX_COORDINATOR_REPLICAS})
 *   or `image` for a bad choice
 * @throws {InvalidDocumentError} when a value would print a character kubectl reads as a line break
 */
export function coordinatorYaml(options: CoordinatorYamlOptions): string {
  checkOptions(options);
  const docs = [
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: COORDINATOR_NAME, namespace: options.namespace, labels: LABELS },
      // Pods opt in (only with the Kubernetes history backend).
      automountServiceAccountToken: false,
    },
    ...(sharedHistory(options) ? rbac(options) : []),
    statefulSet(options),
    ...services(options),
  ];
  const header = "# The contrast Coordinator (written by `contrast coordinator`).\n";
  const text = header +
    docs.map((d) =>
      stringify(d, {
        version: "1.1",
        customTags: goYamlTags,
        lineWidth: 0,
        aliasDuplicateObjects: false,
      })
    ).join("---\n");
  refuseGoYamlBreaks("Coordinator YAML", text);
  return text;
}
