/**
 * The command words of a `contrast` command line (`evidence verify`), read without commander:
 * the program loads only the command they name, and the result document names it.
 *
 * @module
 */

/** Options of the program itself that take a value (skipped when looking for the command). */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(["--log-level"]);

/** Commands whose first argument names a subcommand. */
const COMMANDS_WITH_SUBCOMMANDS = ["evidence", "collateral", "policy"];

/**
 * The command `args` run: the first argument that is neither an option nor an option's value;
 * for `help <command>` the command asked about. `undefined` when none is named.
 */
export function selectedCommand(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") return args[i + 1];
    if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith("-")) continue;
    return arg === "help" ? args[i + 1] : arg;
  }
  return undefined;
}

/** The command words of `args` (`evidence verify`), for the result document. */
export function commandName(args: readonly string[]): string {
  const first = selectedCommand(args);
  if (first === undefined) return "";
  const next = args[args.indexOf(first) + 1];
  return next !== undefined && /^[a-z][a-z-]*$/.test(next) &&
      COMMANDS_WITH_SUBCOMMANDS.includes(first)
    ? `${first} ${next}`
    : first;
}
