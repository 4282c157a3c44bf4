/**
 * `contrast recover -c HOST:PORT [-m manifest.json] [--seedshare-owner-key F]
 * [--seed seed-shares.json]`
 *
 * Attests a Coordinator in recovery mode against the local manifest, decrypts the seed share
 * (from `--seed`, or, when that file does not exist, the seed-share document the Coordinator
 * stored with its history) with the seedshare owner's key, checks that the seed derives the
 * workspace's `coordinator-root-ca.pem` (without that file only with `--trust-seed-shares`),
 * seals seed and salt to the Coordinator's attested HPKE key (bound to the attested latest
 * transition), signs the request, and sends it. Afterwards the
 * Coordinator is attested again; when `coordinator-root-ca.pem` is in the workspace, the
 * recovered root CA must equal it.
 *
 * @module
 */
import {
  addCoordinatorCommandTail,
  addCoordinatorOptions,
  collateralOptionsOf,
  progressUnlessJson,
} from "../coordinator_options.ts";
import type { Command } from "commander";
import { inWorkspace, parseDuration, workspaceDir } from "../options.ts";
import { printResult } from "../result.ts";

/** Registers `contrast recover`. */
export function registerRecoverCommand(program: Command): void {
  const command = program
    .command("recover")
    .description("Restore a restarted Coordinator's seed from a seed share.");
  addCoordinatorOptions(command)
    .option(
      "--seedshare-owner-key <file>",
      "seedshare owner key (default: <workspace-dir>/seedshare-owner.pem)",
    )
    .option("--seed <file>", "seed shares (default: <workspace-dir>/seed-shares.json)")
    .option("--force", "recover even while ready peer Coordinators exist (HA replicas)")
    .option(
      "--trust-seed-shares",
      "send the seed although no coordinator-root-ca.pem in the workspace confirms it is the " +
        "deployment's (only after a first set whose answer was lost)",
    );
  addCoordinatorCommandTail(command, "manifest, key, seed shares and root CA are read here");
  command.action(async (o) => {
    // The attesting code (and its packages) loads only now, not for `contrast recover --help`.
    const { runRecover } = await import("./recover_run.ts");
    const result = await runRecover({
      print: progressUnlessJson(command, o),
      force: o.force === true,
      trustSeedShares: o.trustSeedShares === true,
      coordinator: o.coordinator,
      manifest: inWorkspace(o, "manifest.json", o.manifest),
      seedshareOwnerKey: inWorkspace(o, "seedshare-owner.pem", o.seedshareOwnerKey),
      seed: inWorkspace(o, "seed-shares.json", o.seed),
      workspace: workspaceDir(o),
      timeoutMs: parseDuration(o.timeout),
      collateral: collateralOptionsOf(o),
    });
    if (o.json) printResult("recover", { ...result });
  });
}
