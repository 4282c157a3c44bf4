/**
 * `contrast sign --prepare -c HOST:PORT [-m manifest.json] [--out FILE] [--prepared FILE]`
 *
 * For workload owners whose key lives in an HSM: attests the Coordinator against the local
 * manifest, computes the transition hash of the new manifest (the first included) (SHA-256 of the manifest hash and the
 * attested latest transition), and writes the 32 bytes to sign (`update-transition.bin`) plus
 * what `contrast set --signature FILE` needs to resume (`update-prepared.json`). Sign the bytes
 * with the owner key's curve hash (`openssl dgst -sha384 -sign key.pem -out sig.der
 * update-transition.bin`, or `openssl pkeyutl -sign` over their SHA-384 digest); ASN.1 DER and
 * raw IEEE P1363 signatures are accepted.
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
import { ParseError } from "../../util/errors/mod.ts";
import { inWorkspace, parseDuration, workspaceDir } from "../options.ts";
import { printResult } from "../result.ts";

/** Registers `contrast sign`. */
export function registerSignCommand(program: Command): void {
  const command = program
    .command("sign")
    .description(
      "Prepare a manifest update for a workload owner key outside contrast (an HSM).",
    )
    .option("--prepare", "write the bytes to sign and what `set --signature` needs to resume");
  addCoordinatorOptions(command, "manifest to update to")
    .option(
      "--out <file>",
      "the 32 bytes to sign (default: <workspace-dir>/update-transition.bin)",
    )
    .option(
      "--prepared <file>",
      "the prepared update (default: <workspace-dir>/update-prepared.json)",
    );
  addCoordinatorCommandTail(command, "manifest is read, the prepared update written here");
  command.action(async (o) => {
    if (o.prepare !== true) {
      throw new ParseError(
        "--prepare",
        "contrast sign only prepares: contrast sign --prepare, sign the file, then set --signature",
      );
    }
    // The attesting code (and its packages) loads only now, not for `contrast sign --help`.
    const { runSignPrepare } = await import("./sign_run.ts");
    const prepared = await runSignPrepare({
      coordinator: o.coordinator,
      manifest: inWorkspace(o, "manifest.json", o.manifest),
      out: inWorkspace(o, "update-transition.bin", o.out),
      prepared: inWorkspace(o, "update-prepared.json", o.prepared),
      workspace: workspaceDir(o),
      timeoutMs: parseDuration(o.timeout),
      collateral: collateralOptionsOf(o),
      print: progressUnlessJson(command, o),
    });
    if (o.json) printResult("sign", { ...prepared });
  });
}
