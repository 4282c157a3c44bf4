/**
 * The options every command that talks to a Coordinator shares (`set`, `verify`, `recover`,
 * `sign`), defined once: first `-c, --coordinator` and `-m, --manifest`, then the command's own,
 * then `--json`, `-w, --workspace-dir`, the collateral flags and `--timeout`; and the parsed
 * values they share (collateral sources, the progress writer). Only `commander` and the option
 * helpers load with it, so `--help` of these commands stays cheap; attesting is in
 * `coordinator_target.ts`.
 *
 * @module
 */
import type { Command } from "commander";
import type { CliCollateralOptions } from "../atls/workspace.ts";
import { type LineWriter, progressOf } from "./output.ts";
import {
  addCollateralOptions,
  addTimeoutOption,
  addWorkspaceOption,
  collateralCacheDir,
  type CollateralFlags,
  vendorServiceUrls,
} from "./options.ts";

/** Help text of `--json` on every command that has it. */
export const JSON_OPTION_HELP = "print the result as JSON (contrast-result/v1), failures included";

/**
 * Adds `-c, --coordinator <host:port>` (required) and `-m, --manifest <file>`; `manifest` says
 * which manifest the command reads.
 */
export function addCoordinatorOptions(
  command: Command,
  manifest = "local manifest",
): Command {
  return command
    .requiredOption("-c, --coordinator <host:port>", "Coordinator user API address")
    .option("-m, --manifest <file>", `${manifest} (default: <workspace-dir>/manifest.json)`);
}

/**
 * Adds `--json`, `-w, --workspace-dir` (`workspace` says what is read and written there), the
 * collateral flags and `--timeout`.
 */
export function addCoordinatorCommandTail(command: Command, workspace: string): Command {
  command.option("--json", JSON_OPTION_HELP);
  addWorkspaceOption(command, workspace);
  addCollateralOptions(command);
  return addTimeoutOption(command);
}

/**
 * The collateral sources the parsed collateral flags name (KDS/PCS URLs: the flag, else
 * `CONTRAST_KDS_URL` / `CONTRAST_PCS_URL`).
 *
 * @throws {ParseError} naming the flag or variable when a URL is malformed
 */
export function collateralOptionsOf(flags: CollateralFlags): CliCollateralOptions {
  return {
    cacheDir: flags.cacheDir !== undefined ? collateralCacheDir(flags) : undefined,
    offline: flags.offline,
    importDirs: flags.collateralDir !== undefined ? [flags.collateralDir] : [],
    ...vendorServiceUrls(flags),
  };
}

/** Where progress lines go: nowhere with `--json` (stdout is the JSON document), else stdout. */
export function progressUnlessJson(
  command: Command,
  flags: { readonly json?: boolean },
): LineWriter {
  return flags.json ? () => {} : progressOf(command);
}
