/**
 * Command-line pieces the Coordinator and Initializer processes share: options that default to a
 * `CONTRAST_*` environment variable, the options selecting the process's own evidence source, the
 * log format, and how a fatal error becomes a log line and an exit code.
 *
 * @module
 */
import { type Command, CommanderError, Option } from "commander";
import { ContrastError } from "./errors/mod.ts";
import type { EvidenceConfig } from "../evidence/evidence_config.ts";
import type { Logger } from "./log/logger.ts";

/** The value of environment variable `name`, or `undefined` when unset or empty. */
export function envOption(name: string): string | undefined {
  return Deno.env.get(name) || undefined;
}

/**
 * Adds the evidence-source options (`--evidence`, `--configfs-tsm-dir`, `--allow-simulated`,
 * `--simulated-authority`, `--simulated-host-data`, `--simulated-measurement`) to `command`;
 * read them back with {@link evidenceConfigFromOptions}.
 */
export function addEvidenceOptions(command: Command): Command {
  return command
    .option(
      "--evidence <kind>",
      "configfs-tsm, simulated-snp or simulated-tdx",
      envOption("CONTRAST_EVIDENCE") ?? "configfs-tsm",
    )
    .option(
      "--configfs-tsm-dir <dir>",
      "configfs-tsm report folder",
      envOption("CONTRAST_CONFIGFS_TSM_DIR"),
    )
    .option(
      "--allow-simulated",
      "accept the simulated TEE (local runs only)",
      envOption("CONTRAST_ALLOW_SIMULATED") === "1",
    )
    .option(
      "--simulated-authority <dir>",
      "saved simulated SNP authority",
      envOption("CONTRAST_SIMULATED_AUTHORITY"),
    )
    .option(
      "--simulated-host-data <hex>",
      "simulated HOST_DATA (initdata digest)",
      envOption("CONTRAST_SIMULATED_HOST_DATA"),
    )
    .option(
      "--simulated-measurement <hex>",
      "simulated launch measurement",
      envOption("CONTRAST_SIMULATED_MEASUREMENT"),
    );
}

/** The evidence configuration the options of {@link addEvidenceOptions} parsed into `opts`. */
export function evidenceConfigFromOptions(opts: Record<string, unknown>): EvidenceConfig {
  const text = (value: unknown) => typeof value === "string" ? value : undefined;
  return {
    kind: text(opts.evidence) ?? "configfs-tsm",
    allowSimulated: opts.allowSimulated === true,
    simulatedAuthorityDir: text(opts.simulatedAuthority),
    simulatedHostData: text(opts.simulatedHostData),
    simulatedMeasurement: text(opts.simulatedMeasurement),
    configfsTsmDir: text(opts.configfsTsmDir),
  };
}

/** Adds `--log-format json|text` (default `CONTRAST_LOG_FORMAT` or `json`) to `command`. */
export function addLogFormatOption(command: Command): Command {
  return command.addOption(
    new Option("--log-format <f>", "log format").choices(["json", "text"]).default(
      envOption("CONTRAST_LOG_FORMAT") ?? "json",
    ),
  );
}

/**
 * Logs a fatal `error` as `message` (a {@link ContrastError} by its message, which names the
 * field; anything else as its text) and returns the exit code: 1 for a {@link ContrastError}, 70
 * (internal software error) otherwise.
 */
export function fatalExitCode(logger: Logger, message: string, error: unknown): number {
  logger.error(message, {
    error: error instanceof ContrastError ? error.message : String(error),
  });
  return error instanceof ContrastError ? 1 : 70;
}

/**
 * The exit code after the command line could not be parsed: 0 when commander only printed help
 * or the version, 2 (bad usage) otherwise.
 */
export function parseExitCode(error: unknown): number {
  return error instanceof CommanderError && error.exitCode === 0 ? 0 : 2;
}
