/**
 * A kubeconfig for tests that point a Kubernetes client at a local stand-in API server.
 *
 * @module
 */
import * as k8s from "@kubernetes/client-node";

/**
 * A KubeConfig whose one context reaches the API server at `server` (TLS not verified, a
 * placeholder token) in namespace `default`.
 */
export function kubeConfigFor(server: string): k8s.KubeConfig {
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "c", server, skipTLSVerify: true }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u", namespace: "default" }],
    currentContext: "x",
  });
  return kubeConfig;
}
