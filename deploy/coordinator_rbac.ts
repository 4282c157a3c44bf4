/**
 * The least RBAC the Coordinator's ServiceAccount needs in its namespace with the Kubernetes
 * history backend, as PolicyRule objects (`coordinator_yaml.ts` puts them into a Role bound to that
 * ServiceAccount; a library, so the YAML writer and the Coordinator's tests share one list):
 *
 * - `configmaps`: the manifest history (see `coordinator/history/kubernetes_backend.ts`): get, list and watch
 *   to read and follow latest, create and update to append and swap latest, delete to replace a
 *   corrupted immutable object.
 * - `leases` (`coordination.k8s.io`): replica registration for automatic peer recovery (see
 *   `coordinator/kube/peers.ts`): get, list and watch to find ready peers, create and update to heartbeat,
 *   delete to deregister on shutdown.
 * - the owner of the history (`--history-owner apps/v1/StatefulSet/coordinator`, what
 *   `contrast coordinator` writes): get of that one StatefulSet (`resourceNames`), once at start
 *   to read its uid for the owner references; no other workload's spec (a pod template's
 *   environment may hold values) is readable with the token.
 *
 * @module
 */

/** One RBAC PolicyRule. */
export interface PolicyRule {
  readonly apiGroups: readonly string[];
  /** The objects the rule is limited to (all of the resources' objects when absent). */
  readonly resourceNames?: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

/** What the Kubernetes history backend needs. */
export const COORDINATOR_HISTORY_RULES: readonly PolicyRule[] = [
  {
    apiGroups: [""],
    resources: ["configmaps"],
    verbs: ["get", "list", "watch", "create", "update", "delete"],
  },
];

/** What peer discovery needs. */
export const COORDINATOR_PEER_RULES: readonly PolicyRule[] = [
  {
    apiGroups: ["coordination.k8s.io"],
    resources: ["leases"],
    verbs: ["get", "list", "watch", "create", "update", "delete"],
  },
];

/** The StatefulSet `contrast coordinator` writes, the history's owner. */
export const COORDINATOR_STATEFUL_SET = "coordinator";

/** What `--history-owner apps/v1/StatefulSet/coordinator` needs: get of that StatefulSet only. */
export const COORDINATOR_OWNER_RULES: readonly PolicyRule[] = [
  {
    apiGroups: ["apps"],
    resources: ["statefulsets"],
    resourceNames: [COORDINATOR_STATEFUL_SET],
    verbs: ["get"],
  },
];

/** Every rule of the Coordinator's Role. */
export const COORDINATOR_RULES: readonly PolicyRule[] = [
  ...COORDINATOR_HISTORY_RULES,
  ...COORDINATOR_PEER_RULES,
  ...COORDINATOR_OWNER_RULES,
];
