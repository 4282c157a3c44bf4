/**
 * Coordinator replicas on a real local API server (`testing/kube/`): the Coordinator's
 * least-privilege Role (`coordinator/kube/rbac.ts`) bound to a static-token user, a kubeconfig
 * for it, and replica processes with `--history-backend kubernetes` and Lease peer discovery.
 *
 * @module
 */
import assert from "node:assert/strict";
import { COORDINATOR_RULES } from "../../coordinator/kube/rbac.ts";
import type { LocalKubeCluster } from "../../testing/kube/mod.ts";
import { workspaceVm } from "../../testing/simulation/workspace.ts";
import {
  type CoordinatorProcess,
  startCoordinatorProcess,
} from "../../testing/simulation/processes.ts";
import type { Workspace } from "./harness.ts";

/** The static-token user the replicas run as (their "ServiceAccount"). */
export const COORDINATOR_USER = {
  token: "contrast-coordinator-token-0123456789abcdef",
  name: "contrast-coordinator",
};

/** Applies the Coordinator's Role and RoleBinding; returns the replicas' kubeconfig. */
export async function coordinatorKubeconfig(cluster: LocalKubeCluster): Promise<string> {
  const items = [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "contrast-coordinator", namespace: "default" },
      rules: COORDINATOR_RULES,
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "contrast-coordinator", namespace: "default" },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Role",
        name: "contrast-coordinator",
      },
      subjects: [{
        apiGroup: "rbac.authorization.k8s.io",
        kind: "User",
        name: COORDINATOR_USER.name,
      }],
    },
  ];
  const applied = await cluster.kubectl(["apply", "-f", "-"], {
    stdin: JSON.stringify({ apiVersion: "v1", kind: "List", items }),
  });
  assert.equal(applied.code, 0, applied.stderr);
  return await cluster.writeKubeconfig(COORDINATOR_USER);
}

/** Starts replica `name` on the API server of `kubeconfig` (mesh address 127.0.0.1:<port>). */
export function startKubeReplica(
  ws: Workspace,
  kubeconfig: string,
  name: string,
  onLogLine?: (line: string) => void,
): Promise<CoordinatorProcess> {
  return startCoordinatorProcess({
    vm: workspaceVm(ws, ws.deployment.coordinator.digest),
    readyFile: `${ws.dir}/ready-${name}-${crypto.randomUUID()}.json`,
    cwd: ws.dir,
    extraArgs: [
      "--history-backend",
      "kubernetes",
      "--kubeconfig",
      kubeconfig,
      "--replica-name",
      name,
    ],
    env: { POD_IP: "127.0.0.1" },
    onLogLine,
  });
}

/** Whether the replica's readiness probe answers 200 now. */
export async function isReady(c: CoordinatorProcess): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${c.probePort}/probe/readiness`);
    await r.body?.cancel();
    return r.status === 200;
  } catch {
    return false;
  }
}

/** Waits (up to `timeoutMs`) until `check` holds. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
