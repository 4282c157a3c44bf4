/**
 * End-to-end harness: a workspace on disk (simulated SNP authority, owner keys, manifest,
 * generated YAML with initdata annotations) and real processes: the Coordinator
 * (`coordinator/main.ts`), initializers (`initializer/main.ts`) and the CLI (`cli/main.ts`),
 * started in the workspace through `testing/simulation/`.
 *
 * @module
 */
import "reflect-metadata";
import {
  type CoordinatorProcess,
  runDenoScript,
  runInitializerScript,
  type RunResult,
  startCoordinatorProcess,
} from "../../testing/simulation/processes.ts";
import { type Workspace, workspaceVm } from "../../testing/simulation/workspace.ts";

export type { CoordinatorProcess, RunResult } from "../../testing/simulation/processes.ts";
export { createWorkspace, type Workspace } from "../../testing/simulation/workspace.ts";

/** Starts a Coordinator process on free ports with the workspace's simulated TEE. */
export function startCoordinator(
  ws: Workspace,
  historyDir = `${ws.dir}/history`,
  extraArgs: string[] = [],
): Promise<CoordinatorProcess> {
  return startCoordinatorProcess({
    historyDir,
    vm: workspaceVm(ws, ws.deployment.coordinator.digest),
    readyFile: `${ws.dir}/ready-${crypto.randomUUID()}.json`,
    cwd: ws.dir,
    extraArgs,
  });
}

/** Runs `contrast ARGS` in the workspace. */
export function runCli(ws: Workspace, args: string[]): Promise<RunResult> {
  return runDenoScript("cli/main.ts", args, ws.dir);
}

/**
 * Runs an initializer process for a pod whose simulated HOST_DATA is `hostData`, trusting the
 * workspace's Coordinator (or `coordinatorTrust`) as `contrast generate` would pin it.
 */
export function runInitializerProcess(
  ws: Workspace,
  coordinator: Pick<CoordinatorProcess, "meshAddress">,
  hostData: Uint8Array,
  outDir: string,
  deadlineSeconds = 60,
  extraArgs: string[] = [],
  coordinatorTrust: string = ws.deployment.coordinatorTrust(),
): Promise<RunResult> {
  return runInitializerScript({
    coordinator: coordinator.meshAddress,
    outDir,
    vm: workspaceVm(ws, hostData),
    deadlineSeconds,
    coordinatorTrust,
    extraArgs,
  }, ws.dir);
}
