/**
 * How the Coordinator reaches the Kubernetes API: in-cluster (the pod's ServiceAccount token and
 * CA under `/var/run/secrets/kubernetes.io/serviceaccount/`, `KUBERNETES_SERVICE_HOST`/`_PORT`)
 * or a kubeconfig file (tests, development). Built on `@kubernetes/client-node`.
 *
 * @module
 */
import * as k8s from "@kubernetes/client-node";
import { ContrastError, UnavailableError } from "../../util/errors/mod.ts";

/** Where the ServiceAccount files of an in-cluster pod are. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** How to connect. */
export interface KubeConnectionConfig {
  /** A kubeconfig file; without it the in-cluster ServiceAccount is used. */
  readonly kubeconfig?: string;
  /**
   * Namespace of the Coordinator's objects; default: the kubeconfig context's namespace, or the
   * ServiceAccount's namespace in-cluster, or `default`.
   */
  readonly namespace?: string;
  /**
   * Folder the in-cluster ServiceAccount path {@link SERVICE_ACCOUNT_DIR} is resolved under
   * (`<root>/var/run/secrets/kubernetes.io/serviceaccount/…`); default the filesystem root. For
   * a Coordinator run outside a pod against a real API server (tests, development), where the
   * token and CA are written somewhere other than `/var/run`.
   */
  readonly serviceAccountRoot?: string;
}

/** A loaded connection: client configuration and the namespace to work in. */
export interface KubeConnection {
  /** The client-node configuration (server, CA, credentials). */
  readonly kubeConfig: k8s.KubeConfig;
  /** The namespace of the Coordinator's objects. */
  readonly namespace: string;
}

/**
 * Loads the connection.
 *
 * @throws {UnavailableError} naming `kubeconfig` when the file cannot be read or names no
 *   cluster, or naming `in-cluster` when the ServiceAccount files or environment are missing
 */
export function loadKubeConnection(config: KubeConnectionConfig): KubeConnection {
  const kubeConfig = new k8s.KubeConfig();
  let namespace = config.namespace;
  if (config.kubeconfig !== undefined) {
    try {
      kubeConfig.loadFromFile(config.kubeconfig);
    } catch (cause) {
      throw new UnavailableError("kubeconfig", `cannot load ${config.kubeconfig}`, { cause });
    }
    if (!kubeConfig.getCurrentCluster()) {
      throw new UnavailableError("kubeconfig", `${config.kubeconfig} names no current cluster`);
    }
    namespace ??= kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
  } else {
    const root = (config.serviceAccountRoot ?? "").replace(/\/+$/, "");
    const dir = `${root}${SERVICE_ACCOUNT_DIR}`;
    if (!Deno.env.get("KUBERNETES_SERVICE_HOST")) {
      throw new UnavailableError(
        "in-cluster",
        "KUBERNETES_SERVICE_HOST is not set: not running in a pod (pass --kubeconfig)",
      );
    }
    try {
      Deno.statSync(`${dir}/token`);
    } catch (cause) {
      throw new UnavailableError(
        "in-cluster",
        `no ServiceAccount token at ${dir}/token (automountServiceAccountToken?)`,
        { cause },
      );
    }
    // client-node reads `<prefix>/var/run/secrets/kubernetes.io/serviceaccount/{ca.crt,token}`.
    kubeConfig.loadFromCluster(root);
    namespace ??= readNamespaceFile(dir);
  }
  namespace ??= "default";
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
    throw new ContrastError(
      "namespace",
      `not a valid namespace name: ${JSON.stringify(namespace)}`,
    );
  }
  return { kubeConfig, namespace };
}

function readNamespaceFile(dir: string): string | undefined {
  try {
    return Deno.readTextFileSync(`${dir}/namespace`).trim();
  } catch {
    return undefined;
  }
}

/** The HTTP status of a client-node API error, or `undefined` for a transport failure. */
export function apiStatus(error: unknown): number | undefined {
  if (error instanceof k8s.ApiException) return error.code;
  return undefined;
}
