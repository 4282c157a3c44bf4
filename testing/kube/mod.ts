/**
 * A real local Kubernetes control plane (etcd + kube-apiserver on 127.0.0.1) for tests.
 *
 * @module
 */
export * from "./cluster.ts";
export * from "./kubeconfig.ts";
export * from "./tools.ts";
