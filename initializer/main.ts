/**
 * The Initializer process (a pod's init container).
 *
 * ```
 * deno run -A initializer/main.ts --coordinator HOST:7777
 *   [--tls-config-dir /contrast/tls-config] [--secrets-dir /contrast/secrets]
 *   [--evidence configfs-tsm [--configfs-tsm-dir DIR] | --evidence simulated-snp --allow-simulated
 *      --simulated-authority DIR --simulated-host-data HEX [--simulated-measurement HEX]]
 *   [--coordinator-manifest manifest.json] [--deadline-seconds 600] [--log-format json|text]
 * ```
 * Exits 0 once the files are written; 1 with the reason on a permanent failure or when the
 * deadline passes. Options also come from the environment (`CONTRAST_COORDINATOR`, …).
 *
 * @module
 */
import "reflect-metadata";
import { Command, Option } from "commander";
import { ContrastError } from "../errors/mod.ts";
import { evidenceSourceFrom } from "../coordinator/evidence_config.ts";
import { type LogFormat, Logger } from "../coordinator/logger.ts";
import { DEFAULT_OUTPUT_PATHS } from "./files.ts";
import { runInitializer } from "./run.ts";
import { cliEvidenceVerifier, readLocalManifest } from "../atls/workspace.ts";

function env(name: string): string | undefined {
  return Deno.env.get(name) || undefined;
}

/** Runs the initializer with `args`; returns the exit code. */
export async function initializerMain(args: string[]): Promise<number> {
  const program = new Command("initializer")
    .description("contrast Initializer: attest this pod and install its mesh credentials")
    .option("--coordinator <host:port>", "Coordinator mesh API", env("CONTRAST_COORDINATOR"))
    .option(
      "--tls-config-dir <dir>",
      "TLS output folder",
      env("CONTRAST_TLS_CONFIG_DIR") ?? DEFAULT_OUTPUT_PATHS.tlsConfigDir,
    )
    .option(
      "--secrets-dir <dir>",
      "secrets output folder",
      env("CONTRAST_SECRETS_DIR") ?? DEFAULT_OUTPUT_PATHS.secretsDir,
    )
    .option(
      "--evidence <kind>",
      "configfs-tsm, simulated-snp or simulated-tdx",
      env("CONTRAST_EVIDENCE") ?? "configfs-tsm",
    )
    .option(
      "--configfs-tsm-dir <dir>",
      "configfs-tsm report folder",
      env("CONTRAST_CONFIGFS_TSM_DIR"),
    )
    .option(
      "--allow-simulated",
      "accept the simulated TEE (local runs only)",
      env("CONTRAST_ALLOW_SIMULATED") === "1",
    )
    .option(
      "--simulated-authority <dir>",
      "saved simulated SNP authority",
      env("CONTRAST_SIMULATED_AUTHORITY"),
    )
    .option(
      "--simulated-host-data <hex>",
      "simulated HOST_DATA (initdata digest)",
      env("CONTRAST_SIMULATED_HOST_DATA"),
    )
    .option(
      "--simulated-measurement <hex>",
      "simulated launch measurement",
      env("CONTRAST_SIMULATED_MEASUREMENT"),
    )
    .option(
      "--coordinator-manifest <file>",
      "attest the Coordinator against this manifest's coordinator policy first",
      env("CONTRAST_COORDINATOR_MANIFEST"),
    )
    .option(
      "--deadline-seconds <n>",
      "give up after this long",
      env("CONTRAST_DEADLINE_SECONDS") ?? "600",
    )
    .addOption(
      new Option("--log-format <f>", "log format").choices(["json", "text"]).default(
        env("CONTRAST_LOG_FORMAT") ?? "json",
      ),
    )
    .exitOverride();
  try {
    program.parse(args, { from: "user" });
  } catch {
    return 2;
  }
  const o = program.opts();
  const logger = new Logger("initializer", { format: o.logFormat as LogFormat });
  try {
    if (!o.coordinator) {
      throw new ContrastError("coordinator", "required (or CONTRAST_COORDINATOR)");
    }
    const deadline = Number(o.deadlineSeconds);
    if (!Number.isFinite(deadline) || deadline <= 0) {
      throw new ContrastError("deadline-seconds", "expected a positive number");
    }
    await runInitializer({
      coordinator: o.coordinator,
      evidenceSource: await evidenceSourceFrom({
        kind: o.evidence,
        allowSimulated: o.allowSimulated === true,
        simulatedAuthorityDir: o.simulatedAuthority,
        simulatedHostData: o.simulatedHostData,
        simulatedMeasurement: o.simulatedMeasurement,
        configfsTsmDir: o.configfsTsmDir,
      }),
      paths: { tlsConfigDir: o.tlsConfigDir, secretsDir: o.secretsDir },
      ...(o.coordinatorManifest
        ? {
          trust: {
            manifest: (await readLocalManifest(o.coordinatorManifest)).manifest,
            verify: cliEvidenceVerifier(),
          },
        }
        : {}),
      logger,
      deadlineMs: deadline * 1000,
    });
    return 0;
  } catch (error) {
    logger.error("initializer failed", {
      error: error instanceof ContrastError ? error.message : String(error),
    });
    return error instanceof ContrastError ? 1 : 70;
  }
}

if (import.meta.main) {
  Deno.exit(await initializerMain(Deno.args));
}
