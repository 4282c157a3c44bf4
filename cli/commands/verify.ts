/**
 * `contrast verify -c HOST:PORT [-w DIR] [-m manifest.json] [--json] [--timeout 30s]`
 *
 * Attests the Coordinator against the local manifest and writes what it attested into
 * `verify/`: `manifest.<i>.json` (oldest first), `policy.<digest>.toml`,
 * `coordinator-root-ca.pem`, `mesh-ca.pem`, `latest-transition` (hex) and `history.json`, the
 * signed history as a backup the Coordinator can be restored from (`--restore-history`, see
 * `protocol/history_backup.ts`). Fails (exit 1) unless
 * the active manifest is byte for byte the local one; exit 3 when the Coordinator needs
 * recovery. `--json` prints the result document (`contrast-result/v1`) for CI, failures included.
 *
 * @module
 */
import {
  addCoordinatorCommandTail,
  addCoordinatorOptions,
  attestTarget,
  collateralOptionsOf,
} from "../coordinator_options.ts";
import type { Command } from "commander";
import { progressOf } from "../output.ts";
import { encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { UnavailableError, ValidationError } from "../../util/errors/mod.ts";
import { encodeHistoryBackup } from "../../protocol/history_backup.ts";
import { type CliCollateralOptions, readLocalManifest } from "../../atls/workspace.ts";
import { inWorkspace, parseDuration, workspaceDir } from "../options.ts";
import { FailureWithResult, printResult } from "../result.ts";
import { writeFileAtomic } from "../../util/files/atomic_write.ts";
import { constantTimeEqual } from "../../util/bytes/mod.ts";

/** Options of {@link runVerify}. */
export interface VerifyCommandOptions {
  /** Coordinator user API `HOST:PORT`. */
  readonly coordinator: string;
  /** Local manifest path. */
  readonly manifest: string;
  /** Workspace folder (`verify/` is created in it). */
  readonly workspace: string;
  /** Time limit of each network operation in milliseconds (default 30 s). */
  readonly timeoutMs?: number;
  /** Where vendor collateral comes from. */
  readonly collateral?: CliCollateralOptions;
}

/** The `--json` summary. */
export interface VerifySummary {
  /** Whether the active manifest equals the local one. */
  readonly ok: boolean;
  /** Platform of the Coordinator's evidence. */
  readonly platform: string;
  /** hex launch-configuration digest of the Coordinator (its policy). */
  readonly coordinatorPolicy: string;
  /** hex launch measurement. */
  readonly measurement: string;
  /** hex latest transition. */
  readonly latestTransition: string;
  /** Number of manifests in the history. */
  readonly manifests: number;
  /** hex SHA-256 of the active manifest. */
  readonly activeManifestSha256: string;
  /** hex SHA-256 of the local manifest. */
  readonly localManifestSha256: string;
  /** Folder written. */
  readonly verifyDir: string;
}

/**
 * Runs `contrast verify`; returns the summary.
 *
 * @throws {ValidationError} naming `manifest` when the active manifest differs from the local one
 */
export async function runVerify(options: VerifyCommandOptions): Promise<VerifySummary> {
  const local = await readLocalManifest(options.manifest);
  const attested = await attestTarget(options, local.manifest);
  const state = attested.state;
  if (state.recoveryNeeded) {
    throw new UnavailableError("coordinator", "the Coordinator needs recovery: contrast recover");
  }
  const dir = `${options.workspace}/verify`;
  await Deno.mkdir(dir, { recursive: true });
  for (const [i, bytes] of state.manifests.entries()) {
    await writeFileAtomic(`${dir}/manifest.${i}.json`, bytes);
  }
  for (const [digest, doc] of state.policies) {
    await writeFileAtomic(`${dir}/policy.${digest}.toml`, doc);
  }
  await writeFileAtomic(`${dir}/coordinator-root-ca.pem`, state.rootCa);
  await writeFileAtomic(`${dir}/mesh-ca.pem`, state.meshCa);
  const latest = state.latestTransition ? encodeHex(state.latestTransition) : "";
  await writeFileAtomic(`${dir}/latest-transition`, latest + "\n");
  if (state.latestRecord && state.manifests.length > 0) {
    await writeFileAtomic(
      `${dir}/history.json`,
      encodeHistoryBackup({
        latestRecord: state.latestRecord,
        manifests: state.manifests.map((manifest, i) => ({
          manifest,
          signature: state.signatures[i] ?? new Uint8Array(),
        })),
        policies: state.policies,
        ...(state.seedShares ? { seedShares: state.seedShares } : {}),
      }),
    );
  }
  const active = state.manifests.at(-1);
  const summary: VerifySummary = {
    ok: active !== undefined && constantTimeEqual(active, local.bytes),
    platform: attested.claims.platform,
    coordinatorPolicy: encodeHex(attested.claims.hostData),
    measurement: encodeHex(attested.claims.measurement),
    latestTransition: latest,
    manifests: state.manifests.length,
    activeManifestSha256: active ? encodeHex(await sha256(active)) : "",
    localManifestSha256: encodeHex(await sha256(local.bytes)),
    verifyDir: dir,
  };
  return summary;
}

/** Registers `contrast verify`. */
export function registerVerifyCommand(program: Command): void {
  const command = program
    .command("verify")
    .description("Attest the Coordinator and check that it enforces the local manifest.");
  addCoordinatorOptions(command);
  addCoordinatorCommandTail(command, "manifest.json is read and verify/ written here");
  command.action(async (o) => {
    const manifest = inWorkspace(o, "manifest.json", o.manifest);
    const summary = await runVerify({
      coordinator: o.coordinator,
      manifest,
      workspace: workspaceDir(o),
      timeoutMs: parseDuration(o.timeout),
      collateral: collateralOptionsOf(o),
    });
    if (!summary.ok) {
      throw new FailureWithResult(
        new ValidationError(
          "manifest",
          `the Coordinator's active manifest differs from ${manifest}`,
          { expected: summary.localManifestSha256, actual: summary.activeManifestSha256 || "none" },
        ),
        { ...summary },
      );
    }
    if (o.json) {
      printResult("verify", { ...summary });
      return;
    }
    const progress = progressOf(command);
    progress(
      `✔ Coordinator attested (${summary.platform}, policy ${
        summary.coordinatorPolicy.slice(0, 16)
      }…)`,
    );
    progress(`✔ Active manifest equals ${manifest} (${summary.manifests} in history)`);
    progress(`  wrote ${summary.verifyDir}/`);
  });
}
