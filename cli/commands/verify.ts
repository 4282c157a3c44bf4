/**
 * `contrast verify -c HOST:PORT [-w DIR] [-m manifest.json] [--json] [--timeout 30s]`
 *
 * Attests the Coordinator against the local manifest and writes what it attested into
 * `verify/`: `manifest.<i>.json` (oldest first), `policy.<digest>.toml`,
 * `coordinator-root-ca.pem`, `mesh-ca.pem`, `latest-transition` (hex) and `history.json`, the
 * signed history as a backup the Coordinator can be restored from (`--restore-history`, see
 * `protocol/history_backup.ts`). Fails (exit 1) unless
 * the active manifest is byte for byte the local one, or, writing nothing, when the workspace's
 * `coordinator-root-ca.pem` is not the Coordinator's root CA (a Coordinator started over on a new
 * seed, see `../owner_history.ts`) or the Coordinator has no manifest (its store may have been
 * wiped: `verify/history.json` is the backup that restores it), or when `verify/` would be replaced
 * by a Coordinator whose root CA is not `verify/coordinator-root-ca.pem` or whose history does not
 * contain `verify/history.json`'s latest transition (`verify_run.ts`); exit 3 when the Coordinator
 * needs recovery. `--json` prints the result document (`contrast-result/v1`) for CI, failures included.
 *
 * @module
 */
import {
  addCoordinatorCommandTail,
  addCoordinatorOptions,
  collateralOptionsOf,
} from "../coordinator_options.ts";
import type { Command } from "commander";
import { logLevelOf, progressOf, warningWriter } from "../output.ts";
import { ValidationError } from "../../util/errors/mod.ts";
import { inWorkspace, parseDuration, workspaceDir } from "../options.ts";
import { FailureWithResult, printResult } from "../result.ts";

/** Registers `contrast verify`. */
export function registerVerifyCommand(program: Command): void {
  const command = program
    .command("verify")
    .description("Attest the Coordinator and check that it enforces the local manifest.");
  addCoordinatorOptions(command);
  addCoordinatorCommandTail(command, "manifest.json is read and verify/ written here");
  command.action(async (o) => {
    const manifest = inWorkspace(o, "manifest.json", o.manifest);
    // The attesting code (and its packages) loads only now, not for `contrast verify --help`.
    const { runVerify } = await import("./verify_run.ts");
    const summary = await runVerify({
      coordinator: o.coordinator,
      manifest,
      workspace: workspaceDir(o),
      timeoutMs: parseDuration(o.timeout),
      collateral: collateralOptionsOf(o),
    });
    if (!summary.ok) {
      const reason = summary.manifests === 0
        ? `the Coordinator has no manifest (none set yet, or its store was wiped: ` +
          `${summary.verifyDir}/ is kept, its history.json restores it with --restore-history)`
        : `the Coordinator's active manifest differs from ${manifest}`;
      throw new FailureWithResult(
        new ValidationError("manifest", reason, {
          expected: summary.localManifestSha256,
          actual: summary.activeManifestSha256 || "none",
        }),
        { ...summary },
      );
    }
    if (!summary.rootCaPinned) {
      warningWriter(logLevelOf(command))(
        `warning: nothing in ${workspaceDir(o)} pins this deployment's seed (no ` +
          `coordinator-root-ca.pem, no verify/ of an earlier run): a Coordinator the ` +
          `infrastructure started over on a new seed, with the owner's history replayed, would ` +
          `pass as well. Keep verify/ between runs, or put the deployment's coordinator-root-ca.pem ` +
          `(published with the manifest) in the workspace`,
      );
    }
    if (o.json) {
      printResult("verify", { ...summary });
      return;
    }
    const progress = progressOf(command);
    // A simulated root (named by a Simulated-* entry of the local manifest) attests no real TEE:
    // whoever holds that root's key can make such evidence, so the line says so.
    const root = (summary.simulatedRoot
      ? `, SIMULATED root sha256:${summary.rootSha256.slice(0, 16)}… (no real TEE)`
      : "") + (summary.debug ? ", DEBUG guest (the host can read its memory)" : "");
    progress(
      `✔ Coordinator attested (${summary.platform}${root}, policy ${
        summary.coordinatorPolicy.slice(0, 16)
      }…)`,
    );
    progress(`✔ Active manifest equals ${manifest} (${summary.manifests} in history)`);
    progress(`  wrote ${summary.verifyDir}/`);
  });
}
