/**
 * Replica registration and peer discovery through the Kubernetes API, for automatic peer
 * recovery. Every replica keeps a `coordination.k8s.io/v1` Lease named
 * `<history>-peer-<replica>` (labels `contrast.edgeless.systems/history: <history>`,
 * `contrast.edgeless.systems/role: coordinator-peer`) renewed every few seconds, with
 * annotations naming its mesh API address (`contrast.edgeless.systems/mesh-address`) and whether
 * it is ready (`contrast.edgeless.systems/ready: "true"|"false"`). A ready peer is a Lease of
 * another replica, marked ready, renewed within its `leaseDurationSeconds`.
 *
 * Nothing here is trusted: a Lease only says where to look. A recovering replica attests the
 * peer against the stored manifest's coordinator policy before it accepts a seed, and the peer
 * attests the replica before it hands one out.
 *
 * @module
 */
import * as k8s from "@kubernetes/client-node";
import { ContrastError } from "../../util/errors/mod.ts";
import { apiStatus, type KubeConnection } from "./client.ts";
import { deadlineOptions, DEFAULT_API_TIMEOUT_MS } from "./deadline.ts";

/** Annotation with the replica's mesh API address (`host:port`). */
export const MESH_ADDRESS_ANNOTATION = "contrast.edgeless.systems/mesh-address";
/** Annotation saying whether the replica is ready (`"true"`). */
export const READY_ANNOTATION = "contrast.edgeless.systems/ready";
/** Label marking peer Leases. */
export const PEER_ROLE_LABEL = "contrast.edgeless.systems/role";

/** Options of {@link LeasePeerRegistry}. */
export interface PeerRegistryOptions {
  readonly connection: KubeConnection;
  /** The history these replicas share (Lease name prefix and label). */
  readonly historyName: string;
  /** This replica's unique name (the pod name in a cluster). */
  readonly replicaName: string;
  /** This replica's mesh API address, as peers reach it (`$(POD_IP):7777` in a cluster). */
  readonly meshAddress: string;
  /** Lease duration (default 15 s); renewed every third of it. */
  readonly leaseDurationSeconds?: number;
  /** The clock. */
  readonly now?: () => Date;
  /**
   * How long one API call may take (default {@link DEFAULT_API_TIMEOUT_MS}); a call the API
   * server leaves unanswered then rejects, so the replica's recovery loop and renewals go on.
   */
  readonly apiTimeoutMs?: number;
}

/** Registers this replica and lists its ready peers. */
export class LeasePeerRegistry {
  readonly #api: k8s.CoordinationV1Api;
  readonly #options: PeerRegistryOptions;
  readonly #duration: number;
  readonly #now: () => Date;
  readonly #call: k8s.ConfigurationOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  #ready: () => boolean = () => false;

  constructor(options: PeerRegistryOptions) {
    if (!/^[a-z0-9]([-a-z0-9.]{0,120}[a-z0-9])?$/.test(options.replicaName)) {
      throw new ContrastError(
        "replica-name",
        `not a valid name: ${JSON.stringify(options.replicaName)}`,
      );
    }
    this.#options = options;
    this.#api = options.connection.kubeConfig.makeApiClient(k8s.CoordinationV1Api);
    this.#duration = options.leaseDurationSeconds ?? 15;
    this.#now = options.now ?? (() => new Date());
    this.#call = deadlineOptions(options.apiTimeoutMs ?? DEFAULT_API_TIMEOUT_MS);
  }

  /** The Lease name of this replica. */
  get leaseName(): string {
    return `${this.#options.historyName}-peer-${this.#options.replicaName}`;
  }

  /**
   * Starts renewing this replica's Lease; `ready` is asked at each renewal.
   * {@link LeasePeerRegistry.renew} publishes a change at once.
   */
  start(ready: () => boolean): void {
    this.#ready = ready;
    this.renew().catch(() => {});
    this.#timer = setInterval(
      () => this.renew().catch(() => {}),
      Math.max(1, Math.floor(this.#duration / 3)) * 1000,
    );
  }

  #lease(resourceVersion?: string): k8s.V1Lease {
    const { historyName, replicaName, meshAddress } = this.#options;
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name: this.leaseName,
        namespace: this.#options.connection.namespace,
        labels: {
          "app.kubernetes.io/managed-by": "contrast-coordinator",
          "contrast.edgeless.systems/history": historyName,
          [PEER_ROLE_LABEL]: "coordinator-peer",
        },
        annotations: {
          [MESH_ADDRESS_ANNOTATION]: meshAddress,
          [READY_ANNOTATION]: this.#ready() ? "true" : "false",
        },
        ...(resourceVersion ? { resourceVersion } : {}),
      },
      spec: {
        holderIdentity: replicaName,
        leaseDurationSeconds: this.#duration,
        renewTime: new k8s.V1MicroTime(this.#now().getTime()),
      },
    };
  }

  /** Creates or renews this replica's Lease (with the current readiness). */
  async renew(): Promise<void> {
    const namespace = this.#options.connection.namespace;
    try {
      const existing = await this.#api.readNamespacedLease(
        { name: this.leaseName, namespace },
        this.#call,
      );
      await this.#api.replaceNamespacedLease({
        name: this.leaseName,
        namespace,
        body: this.#lease(existing.metadata?.resourceVersion),
      }, this.#call);
    } catch (error) {
      if (apiStatus(error) !== 404) throw error;
      await this.#api.createNamespacedLease({ namespace, body: this.#lease() }, this.#call);
    }
  }

  /** Mesh addresses of the other replicas that are ready now (unverified hints). */
  async readyPeers(): Promise<string[]> {
    const list = await this.#api.listNamespacedLease({
      namespace: this.#options.connection.namespace,
      labelSelector:
        `contrast.edgeless.systems/history=${this.#options.historyName},${PEER_ROLE_LABEL}=coordinator-peer`,
    }, this.#call);
    const now = this.#now().getTime();
    const peers: string[] = [];
    for (const lease of list.items) {
      const annotations = lease.metadata?.annotations ?? {};
      const address = annotations[MESH_ADDRESS_ANNOTATION];
      const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime) : undefined;
      const duration = lease.spec?.leaseDurationSeconds ?? 0;
      if (
        lease.spec?.holderIdentity === this.#options.replicaName ||
        annotations[READY_ANNOTATION] !== "true" || !address || !renewed ||
        renewed.getTime() + duration * 1000 < now
      ) continue;
      peers.push(address);
    }
    return peers;
  }

  /** Stops renewing and deletes this replica's Lease. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    try {
      await this.#api.deleteNamespacedLease({
        name: this.leaseName,
        namespace: this.#options.connection.namespace,
      }, this.#call);
    } catch { /* gone, or the API is down: the Lease expires */ }
  }
}
