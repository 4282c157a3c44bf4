/**
 * `contrast set -c HOST:PORT [-m manifest.json] [--workload-owner-key F] PATH...`
 *
 * Attests the Coordinator against the local manifest, sends the manifest with the initdata
 * documents of every policy (read from the generated YAML at PATH...), signed by the workload
 * owner (the first manifest too: pods accept only a history their pinned owner keys signed), and
 * writes `coordinator-root-ca.pem`, `mesh-ca.pem` and, on the first set, `seed-shares.json` into
 * the workspace.
 *
 * A retried `set` finishes what a lost answer left open: when the Coordinator already holds the
 * local manifest as its latest, the CA files and the stored seed-share document are written
 * without sending anything; when it restarted after storing the local manifest as its first
 * (recovery mode), the stored seed-share document is written and `contrast recover` is next.
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
import { logLevelOf, warningWriter } from "../output.ts";

/** Registers `contrast set`. */
export function registerSetCommand(program: Command): void {
  const command = program
    .command("set")
    .description("Attest the Coordinator and set (or update) the manifest.")
    .argument("<paths...>", "generated Kubernetes YAML files or directories");
  addCoordinatorOptions(command, "manifest to set")
    .option(
      "--workload-owner-key <file>",
      "key that signs every manifest (default: <workspace-dir>/workload-owner.pem)",
    )
    .option(
      "--signature <file>",
      "manifest signature made outside contrast (ASN.1 DER or raw P1363): contrast sign --prepare",
    )
    .option(
      "--prepared <file>",
      "the prepared update of --signature (default: <workspace-dir>/update-prepared.json)",
    );
  addCoordinatorCommandTail(
    command,
    "manifest and keys are read, CA files and seed shares written here",
  );
  command.action(async (paths: string[], o) => {
    // The attesting code (and its packages) loads only now, not for `contrast set --help`.
    const { runSet } = await import("./set_run.ts");
    const result = await runSet({
      external: o.signature === undefined ? undefined : {
        signature: o.signature,
        prepared: inWorkspace(o, "update-prepared.json", o.prepared),
      },
      print: progressUnlessJson(command, o),
      warn: warningWriter(logLevelOf(command)),
      coordinator: o.coordinator,
      manifest: inWorkspace(o, "manifest.json", o.manifest),
      workloadOwnerKey: inWorkspace(o, "workload-owner.pem", o.workloadOwnerKey),
      workspace: workspaceDir(o),
      paths,
      timeoutMs: parseDuration(o.timeout),
      collateral: collateralOptionsOf(o),
    });
    if (o.json) printResult("set", { ...result });
  });
}
