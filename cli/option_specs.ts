/**
 * Options declared as data, so one declaration serves two readers: commander, which registers
 * them for help, completion and every unusual command line ({@link addOptionSpecs}), and
 * {@link parsePlainOptions}, which reads the plain form a script or a user types
 * (`--flag value`, `--flag=value`, `--switch`) without loading commander at all. The plain reader
 * declines (returns `undefined`) everything else, so commander stays the one authority on errors
 * and help text; `tests/cli/option_specs_test.ts` checks on generated command lines that whatever
 * it accepts commander parses to the same options.
 *
 * Why not a package: commander imports `node:fs`, `node:child_process`, `node:process` and
 * `node:events`, which cost a Deno process ~65 ms CPU at start (an empty `deno run` costs
 * ~85 ms); `node:util`'s `parseArgs` alone ~20 ms, and the first npm package a process loads
 * ~10 ms however small it is (Deno sets up npm resolution then). The reader below needs no more
 * than a loop, because anything it is unsure of goes to commander.
 *
 * @module
 */
import type { Command } from "commander";

/** One long option: commander's flags (`--name <value>` or `--name`) and its help line. */
export interface OptionSpec {
  /** `--kebab-name <value>` (takes a value) or `--kebab-name` (a switch). Long form only. */
  readonly flags: string;
  /** The help line. */
  readonly description: string;
  /** The value when the option is not given (a value option only). */
  readonly defaultValue?: string;
  /** Commander reports the option missing (`requiredOption`). */
  readonly required?: boolean;
}

/** Adds `specs` to `command` as commander options, in order. */
export function addOptionSpecs(command: Command, specs: readonly OptionSpec[]): Command {
  for (const spec of specs) {
    if (spec.required) command.requiredOption(spec.flags, spec.description, spec.defaultValue);
    else command.option(spec.flags, spec.description, spec.defaultValue);
  }
  return command;
}

/** An option as the plain reader sees it. */
interface PlainOption {
  /** Commander's key: the long name in camel case. */
  readonly key: string;
  /** Whether it takes a value. */
  readonly takesValue: boolean;
  readonly spec: OptionSpec;
}

const PLAIN_FLAGS = /^--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)(?: <[a-z0-9-]+>)?$/;

function plainOption(spec: OptionSpec): PlainOption | undefined {
  const match = PLAIN_FLAGS.exec(spec.flags);
  // Negatable (`--no-x`) options mean something else to commander: left to it.
  if (!match || match[1]!.startsWith("no-")) return undefined;
  return {
    key: match[1]!.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase()),
    takesValue: spec.flags.includes("<"),
    spec,
  };
}

/**
 * The options `args` give, as commander would hand them to the action (camel-case keys, defaults
 * filled in), when `args` are only `specs`' long options in the plain form: `--name value` or
 * `--name=value` for a value option, `--name` for a switch, each at most once, every required
 * option present. `undefined` for anything else (a positional argument, `--`, `--help`, an
 * unknown or repeated option, a missing value, a value that starts with `-`, a switch given a
 * value, a spec in another form): then commander parses, and reports what is wrong.
 */
export function parsePlainOptions(
  args: readonly string[],
  specs: readonly OptionSpec[],
): Record<string, string | boolean> | undefined {
  const byName = new Map<string, PlainOption>();
  for (const spec of specs) {
    const option = plainOption(spec);
    if (option === undefined) return undefined;
    byName.set(spec.flags.split(" ")[0]!, option);
  }
  const values: Record<string, string | boolean> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const option = byName.get(name);
    if (option === undefined || Object.hasOwn(values, option.key)) return undefined;
    if (!option.takesValue) {
      if (eq >= 0) return undefined;
      values[option.key] = true;
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined || value.startsWith("-")) return undefined;
    values[option.key] = value;
  }
  for (const option of byName.values()) {
    if (Object.hasOwn(values, option.key)) continue;
    if (option.spec.required) return undefined;
    if (option.spec.defaultValue !== undefined) values[option.key] = option.spec.defaultValue;
  }
  return values;
}
