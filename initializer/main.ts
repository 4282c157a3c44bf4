/**
 * The Initializer process (a pod's init container).
 *
 * ```
 * deno run -A initializer/main.ts --coordinator HOST:7777
 *   [--tls-config-dir /contrast/tls-config] [--secrets-dir /contrast/secrets]
 *   [--evidence configfs-tsm [--configfs-tsm-dir DIR] | --evidence simulated-snp --allow-simulated
 *      --simulated-authority DIR --simulated-host-data HEX [--simulated-measurement HEX]]
 *   [--coordinator-trust JSON] [--collateral-dir DIR] [--deadline-seconds 600]
 *   [--log-format json|text]
 * deno run -A initializer/main.ts volume --device /dev/csi0 --volume NAME --mount /state
 * ```
 * The `volume` subcommand opens an encrypted persistent volume (see `volume/main.ts`).
 * Exits 0 once the files are written; 1 with the reason on a permanent failure or when the
 * deadline passes. Options also come from the environment (`CONTRAST_COORDINATOR`, …).
 *
 * The trust document (`--coordinator-trust`, or `CONTRAST_COORDINATOR_TRUST` as `contrast
 * generate` sets it; see `atls/coordinator_trust.ts`) is required: without it, or when it is
 * malformed, the initializer exits 1 before contacting anyone. There is no way to skip
 * attesting the Coordinator.
 *
 * @module
 */
import "reflect-metadata";
import { Command } from "commander";
import { ContrastError } from "../util/errors/mod.ts";
import {
  addEvidenceOptions,
  evidenceConfigFromOptions,
  evidenceSourceFrom,
  type SimulatedEvidenceLoader,
} from "../evidence/evidence_config.ts";
import { type LogFormat, Logger } from "../util/log/logger.ts";
import {
  addLogFormatOption,
  envOption as env,
  fatalExitCode,
  usageExitCode,
} from "../util/process_options.ts";
import { DEFAULT_OUTPUT_PATHS } from "./files.ts";
import { runInitializer } from "./run.ts";
import { volumeMain } from "./volume/main.ts";
import { cliEvidenceVerifier } from "../atls/workspace.ts";
import { COORDINATOR_TRUST_ENV, parseCoordinatorTrust } from "../atls/coordinator_trust.ts";

/**
 * The simulated TEE (`--evidence simulated-* --allow-simulated`, local runs and tests only): a
 * development aid, loaded only when asked for (the one sanctioned use of `testing/` by an
 * application, checked by `scripts/check_layers.ts`).
 */
const loadSimulatedEvidence: SimulatedEvidenceLoader = async (config) =>
  (await import("../testing/simulated_evidence.ts")).simulatedEvidenceSource(config);

/** Runs the initializer with `args`; returns the exit code. */
export async function initializerMain(args: string[]): Promise<number> {
  if (args[0] === "volume") return await volumeMain(args.slice(1));
  const command = new Command("initializer")
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
      "--coordinator-trust <json>",
      `whom to accept as the Coordinator: {"CoordinatorPolicyHash", "ReferenceValues"} ` +
        `(required; or ${COORDINATOR_TRUST_ENV})`,
      env(COORDINATOR_TRUST_ENV),
    )
    .option(
      "--collateral-dir <dir>",
      "offline bundle of vendor collateral (AMD KDS, Intel PCS responses), e.g. from " +
        "`contrast collateral export`",
      env("CONTRAST_COLLATERAL_DIR"),
    )
    .option(
      "--deadline-seconds <n>",
      "give up after this long",
      env("CONTRAST_DEADLINE_SECONDS") ?? "600",
    )
    .exitOverride();
  const program = addLogFormatOption(addEvidenceOptions(command));
  try {
    program.parse(args, { from: "user" });
  } catch (error) {
    return usageExitCode(error);
  }
  const o = program.opts();
  const logger = new Logger("initializer", { format: o.logFormat as LogFormat });
  try {
    if (!o.coordinator) {
      throw new ContrastError("coordinator", "required (or CONTRAST_COORDINATOR)");
    }
    if (o.coordinatorTrust === undefined || o.coordinatorTrust === "") {
      throw new ContrastError(
        COORDINATOR_TRUST_ENV,
        "required: the Coordinator's policy hash and reference values (contrast generate " +
          "sets it); refusing to trust an unattested Coordinator",
      );
    }
    const trust = parseCoordinatorTrust(o.coordinatorTrust);
    const deadline = Number(o.deadlineSeconds);
    if (!Number.isFinite(deadline) || deadline <= 0) {
      throw new ContrastError("deadline-seconds", "expected a positive number");
    }
    await runInitializer({
      coordinator: o.coordinator,
      evidenceSource: await evidenceSourceFrom(evidenceConfigFromOptions(o), loadSimulatedEvidence),
      paths: { tlsConfigDir: o.tlsConfigDir, secretsDir: o.secretsDir },
      trust,
      verify: cliEvidenceVerifier(o.collateralDir ? { importDirs: [o.collateralDir] } : {}),
      logger,
      deadlineMs: deadline * 1000,
    });
    return 0;
  } catch (error) {
    return fatalExitCode(logger, "initializer failed", error);
  }
}

if (import.meta.main) {
  Deno.exit(await initializerMain(Deno.args));
}
