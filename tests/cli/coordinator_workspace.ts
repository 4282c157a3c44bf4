/**
 * Test fixture for CLI commands that talk to a Coordinator: a fresh workspace (simulated
 * deployment, keys, manifest) with an in-process Coordinator serving it on free loopback ports.
 *
 * @module
 */
import assert from "node:assert/strict";
import { inProcessCoordinator, withoutPolicy } from "../coordinator/fixture.ts";
import { setManifest } from "../coordinator/replica_fixture.ts";
import { decodeHex } from "../../util/bytes/mod.ts";
import type { LatestRecord } from "../../coordinator/history/backend.ts";
import { encodeSeedShares, type SeedShareDocument } from "../../seed/seed_shares.ts";
import { createWorkspace, type Workspace } from "../e2e/harness.ts";
import { runCliCaptured } from "../../testing/cli/capture.ts";

/** The in-process Coordinator the fixture starts. */
type TestCoordinator = Awaited<ReturnType<typeof inProcessCoordinator>>;

/**
 * Registers a test that gets a new workspace and an in-process Coordinator for its deployment,
 * and closes both afterwards, whether the test passed or not. Sanitizers are off: the
 * Coordinator's servers and timers outlive the test's view of them.
 */
export function coordinatorWorkspaceTest(
  name: string,
  fn: (t: Deno.TestContext, ws: Workspace, coordinator: TestCoordinator) => Promise<void>,
): void {
  Deno.test({
    name,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async (t) => {
      const ws = await createWorkspace();
      const coordinator = await inProcessCoordinator(ws.deployment);
      try {
        await fn(t, ws, coordinator);
      } finally {
        await coordinator.close();
        await ws.cleanup();
      }
    },
  });
}

/**
 * Sets the deployment's first manifest on `coordinator` and keeps what `contrast set` keeps from
 * the answer in the workspace: the root CA (`coordinator-root-ca.pem`) and the seed-share
 * document (`seed-shares.json`). Returns the answer.
 */
export async function setFirstManifestKept(ws: Workspace, coordinator: TestCoordinator) {
  const answer = await coordinator.setFirstManifest();
  await Deno.writeTextFile(`${ws.dir}/coordinator-root-ca.pem`, answer.rootCa);
  await Deno.writeTextFile(
    `${ws.dir}/seed-shares.json`,
    encodeSeedShares(answer.seedShares as SeedShareDocument),
  );
  return answer;
}

/**
 * The arguments of `contrast <command>` against `coordinator`'s current user address with the
 * workspace's directory and manifest, followed by `extra`.
 */
export function workspaceCommand(
  command: string,
  ws: Workspace,
  coordinator: TestCoordinator,
  ...extra: string[]
): string[] {
  return [
    command,
    "-c",
    coordinator.userAddress,
    "-w",
    ws.dir,
    "-m",
    `${ws.dir}/manifest.json`,
    ...extra,
  ];
}

/**
 * What a host that controls the Coordinator's storage does: puts `bytes` back as the stored latest
 * record and restarts the Coordinator on it (no seed). Returns the latest record it replaced.
 */
export async function putLatestBack(
  coordinator: TestCoordinator,
  bytes: Uint8Array,
): Promise<LatestRecord> {
  const replaced = (await coordinator.backend.readLatest())!;
  assert.ok(await coordinator.backend.compareAndSwapLatest(replaced.version, bytes));
  await coordinator.restart();
  return replaced;
}

/**
 * The owner's first steps through the CLI: `contrast set` of the workspace's YAML, then
 * `contrast verify` (both must exit 0). Returns `verify` (the same command, to run again) and the
 * history backup it wrote (`verify/history.json`).
 */
export async function setAndVerified(ws: Workspace, coordinator: TestCoordinator) {
  const owner = await runCliCaptured(
    "set",
    "-c",
    coordinator.userAddress,
    "-w",
    ws.dir,
    ws.yamlPath,
  );
  assert.equal(owner.code, 0, owner.stderr);
  const verify = () => runCliCaptured("verify", "-c", coordinator.userAddress, "-w", ws.dir);
  const good = await verify();
  assert.equal(good.code, 0, good.stdout + good.stderr);
  const backup = await Deno.readTextFile(`${ws.dir}/verify/history.json`);
  return { verify, backup };
}

/**
 * The owner's first manifest (kept as {@link setFirstManifestKept} keeps it), then an update that
 * removes `web`, which becomes the workspace's `manifest.json`. Returns both answers and the
 * latest record the first one stored (what a host can put back later).
 */
export async function firstThenUpdateKept(ws: Workspace, coordinator: TestCoordinator) {
  const d = ws.deployment;
  const first = await setFirstManifestKept(ws, coordinator);
  const firstRecord = (await coordinator.backend.readLatest())!;
  const update = d.manifest(withoutPolicy(d.pods.web.digest));
  const second = await setManifest(d, coordinator.coordinator, update, decodeHex(first.transition));
  await Deno.writeFile(`${ws.dir}/manifest.json`, update);
  return { first, firstRecord, second };
}
