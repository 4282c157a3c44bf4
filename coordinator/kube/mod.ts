/**
 * The Coordinator on the Kubernetes API: connection (in-cluster or kubeconfig), the ConfigMap
 * history backend, owner resolution, peer discovery through Leases and the least RBAC rules.
 * Loaded on demand by `coordinator/main.ts` (`--history-backend kubernetes`).
 *
 * @module
 */
export * from "./client.ts";
export * from "./owner.ts";
export * from "./peers.ts";
export * from "./rbac.ts";
export { DEFAULT_HISTORY_NAME, KubernetesHistoryBackend } from "../history/kubernetes_backend.ts";
