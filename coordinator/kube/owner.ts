/**
 * Resolves the owner of the history ConfigMaps (`apps/v1/StatefulSet/coordinator`) to the owner
 * reference they carry, reading its `uid` from the API.
 *
 * @module
 */
import * as k8s from "@kubernetes/client-node";
import { ContrastError, UnavailableError } from "../../util/errors/mod.ts";
import type { HistoryOwner } from "../history/kubernetes_backend.ts";
import type { KubeConnection } from "./client.ts";

/**
 * The owner reference for `spec` (`<group>/<version>/<Kind>/<name>` or `v1/<Kind>/<name>`), an
 * object in the connection's namespace.
 *
 * @throws {ContrastError} naming `history-owner` when `spec` is malformed,
 *   {@link UnavailableError} when the object cannot be read
 */
export async function resolveOwner(
  connection: KubeConnection,
  spec: string,
): Promise<HistoryOwner> {
  const parts = spec.split("/");
  if (parts.length < 3 || parts.length > 4 || parts.some((p) => p === "")) {
    throw new ContrastError(
      "history-owner",
      `expected <group>/<version>/<Kind>/<name> or v1/<Kind>/<name>, got ${JSON.stringify(spec)}`,
    );
  }
  const name = parts.pop()!;
  const kind = parts.pop()!;
  const apiVersion = parts.join("/");
  const api = k8s.KubernetesObjectApi.makeApiClient(connection.kubeConfig);
  let object: k8s.KubernetesObject;
  try {
    object = await api.read({
      apiVersion,
      kind,
      metadata: { name, namespace: connection.namespace },
    });
  } catch (cause) {
    throw new UnavailableError("history-owner", `cannot read ${spec}`, { cause });
  }
  const uid = object.metadata?.uid;
  if (!uid) throw new UnavailableError("history-owner", `${spec} has no uid`);
  return { apiVersion, kind, name, uid };
}
