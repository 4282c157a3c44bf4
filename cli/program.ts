/**
 * The `contrast` command tree. Each command lives in `cli/commands/<name>.ts` and exports a
 * `register…` function that adds it to the program. Commands are loaded lazily: the table below
 * names every command with its one-line summary, and only the module of the command being run is
 * imported (with its npm packages), so `contrast --help` and `contrast evidence verify` do not pay
 * for `generate`'s or `policy`'s dependencies.
 *
 * @module
 */
import { Command, CommanderError, Option } from "./commander.ts";
import type { BuildInfo } from "./build_info.ts";
import { LOG_LEVEL_ENV, LOG_LEVELS } from "./output.ts";
import { addHelpExamples } from "./help_examples.ts";
import { selectedCommand } from "./command_words.ts";
import { refuseEmptyOptionValues } from "./options.ts";

/** A command of the program, loaded on demand. */
export interface CommandEntry {
  /** The command name (`contrast <name>`). */
  readonly name: string;
  /** One-line summary for `contrast --help`; the command's own description comes with its module. */
  readonly summary: string;
  /** Positional arguments as shown in `contrast --help` (e.g. `<paths...>`). */
  readonly usage?: string;
  /** Imports the command's module and returns its register function. */
  readonly load: () => Promise<(program: Command, build: BuildInfo) => void>;
}

/** Every command, alphabetical. Add one line per new command. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "collateral",
    summary: "Inspect the vendor collateral cache and export offline bundles.",
    load: async () => (await import("./commands/collateral.ts")).registerCollateralCommand,
  },
  {
    name: "completion",
    summary: "Print a shell completion script (bash, zsh or fish).",
    usage: "<shell>",
    load: async () => (await import("./commands/completion.ts")).registerCompletionCommand,
  },
  {
    name: "coordinator",
    summary: "Print the Coordinator's Kubernetes YAML (StatefulSet, Services, ServiceAccount).",
    load: async () => (await import("./commands/coordinator.ts")).registerCoordinatorCommand,
  },
  {
    name: "evidence",
    summary: "Decode or verify attestation evidence (SEV-SNP reports, TDX quotes) from files.",
    load: async () => (await import("./commands/evidence.ts")).registerEvidenceCommand,
  },
  {
    name: "generate",
    summary: "Make Kubernetes YAML confidential: runtime policies, initdata, manifest.",
    usage: "<paths...>",
    load: async () => (await import("./commands/generate.ts")).registerGenerateCommand,
  },
  {
    name: "policy",
    summary: "Test runtime policies against the requests a pod sends, or explain a denial.",
    load: async () => (await import("./commands/policy.ts")).registerPolicyCommand,
  },
  {
    name: "recover",
    summary: "Restore a restarted Coordinator's seed from a seed share.",
    load: async () => (await import("./commands/recover.ts")).registerRecoverCommand,
  },
  {
    name: "runtime",
    summary: "Print the RuntimeClass the generated pods use (handler, overhead, scheduling).",
    load: async () => (await import("./commands/runtime.ts")).registerRuntimeCommand,
  },
  {
    name: "set",
    summary: "Attest the Coordinator and set (or update) the manifest.",
    usage: "<paths...>",
    load: async () => (await import("./commands/set.ts")).registerSetCommand,
  },
  {
    name: "sign",
    summary: "Prepare a manifest update for a workload owner key outside contrast (an HSM).",
    load: async () => (await import("./commands/sign.ts")).registerSignCommand,
  },
  {
    name: "verify",
    summary: "Attest the Coordinator and check that it enforces the local manifest.",
    load: async () => (await import("./commands/verify.ts")).registerVerifyCommand,
  },
];

/** The program option `--log-level`, validated by commander (a bad value is a usage error). */
function logLevelOption(): Option {
  return new Option("--log-level <level>", "how much to print besides results and errors")
    .choices(LOG_LEVELS)
    .env(LOG_LEVEL_ENV)
    .default("info");
}

/**
 * What a usage error commander raised says (commander printed it already, or the help that was
 * asked for: then `helpShown`); `undefined` for any other error.
 */
export function commanderFailure(
  error: unknown,
): { readonly helpShown: boolean; readonly message: string } | undefined {
  if (!(error instanceof CommanderError)) return undefined;
  return { helpShown: error.exitCode === 0, message: error.message.replace(/^error:\s*/, "") };
}

function addSummaryStub(program: Command, entry: CommandEntry): void {
  const stub = program.command(entry.name).description(entry.summary);
  if (entry.usage) stub.arguments(entry.usage);
}

/**
 * Builds the `contrast` program for `args`: the command `args` run (see {@link selectedCommand})
 * is loaded and registered in full; the others appear in `--help` by their summary only. With
 * `loadAll`, every command is loaded (shell completion needs every option). `build` is what a
 * release build embeds (its image lock).
 */
export async function buildProgram(
  args: readonly string[] = [],
  options: { readonly loadAll?: boolean; readonly build?: BuildInfo } = {},
): Promise<Command> {
  const program = new Command("contrast")
    .description("Confidential container deployments on Kubernetes: generate, attest, verify.")
    .option("-V, --version", "print the version, the images it pins, the reference values it ships")
    .addOption(logLevelOption())
    .showHelpAfterError()
    .exitOverride()
    // No command takes an empty option value: `--report-data "$UNSET"` is a usage error (exit 2),
    // never a silently skipped check.
    .hook("preAction", (root, action) => {
      refuseEmptyOptionValues(root.opts());
      refuseEmptyOptionValues(action.opts());
    });
  const selected = selectedCommand(args);
  for (const entry of COMMANDS) {
    if (options.loadAll || entry.name === selected) {
      (await entry.load())(program, options.build ?? {});
      program.commands.find((c) => c.name() === entry.name)?.summary(entry.summary);
    } else {
      addSummaryStub(program, entry);
    }
  }
  addHelpExamples(program);
  return program;
}
