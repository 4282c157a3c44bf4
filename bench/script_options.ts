/**
 * Checks the command line of a benchmark or script before it does any work: `--help` prints the
 * usage (every option with its default, one line each) and exits 0; an unknown option, a missing
 * value or a number that is not one exits 2 with a message naming the option. The scripts keep
 * reading their options as before; this only refuses a command line they would misread.
 *
 * ```ts
 * import { exitOnBadOptions } from "../bench/script_options.ts";
 * if (import.meta.main) {
 *   exitOnBadOptions(Deno.args, {
 *     usage: "deno run -A scripts/x.ts [options]",
 *     options: [{ name: "--rounds", value: "number", default: "5", help: "rounds measured" }],
 *   });
 * }
 * ```
 *
 * @module
 */

/** One option a script takes. */
interface OptionSpec {
  /** Its name with the dashes (`--rounds`). */
  readonly name: string;
  /**
   * What follows it: `number` (a finite number, negative allowed), `string` (any word not
   * starting with `--`), `raw` (any word, e.g. `--v8-flags=…`), `optional` (a word not starting
   * with `-`, or nothing); absent for a switch.
   */
  readonly value?: "number" | "string" | "raw" | "optional";
  /** The default, printed in the usage (`5`); absent when there is none. */
  readonly default?: string;
  /** What it does, on one line. */
  readonly help: string;
}

/** A script's command line: its usage line, its options and how many positional arguments. */
export interface ScriptUsage {
  /** The usage line (`deno run -A scripts/load_test.ts [options]`). */
  readonly usage: string;
  /** Every option it takes (`--help` is added). */
  readonly options: readonly OptionSpec[];
  /** How many positional arguments it takes at most (default 0). */
  readonly positionals?: number;
  /** Whether `--name=value` is accepted (scripts parsing with `node:util` parseArgs); default no. */
  readonly inlineValues?: boolean;
}

/** The outcome of {@link checkOptions}. */
type OptionCheck =
  | { readonly kind: "ok" }
  | { readonly kind: "help"; readonly text: string }
  | { readonly kind: "error"; readonly message: string };

/**
 * The usage text: the usage line, then each option with its value, default and help.
 *
 * @example
 * ```ts
 * import { usageText } from "./script_options.ts";
 * const text = usageText({
 *   usage: "deno run -A x.ts [options]",
 *   options: [{ name: "--rounds", value: "number", default: "5", help: "rounds" }],
 * });
 * if (!text.includes("--rounds N")) throw new Error(text);
 * ```
 */
export function usageText(spec: ScriptUsage): string {
  const rows = [...spec.options, { name: "--help", help: "print this and exit" } as OptionSpec]
    .map((o) => {
      const value = o.value === "number"
        ? " N"
        : o.value === "string" || o.value === "raw"
        ? " VALUE"
        : o.value === "optional"
        ? " [VALUE]"
        : "";
      return [
        `${o.name}${value}`,
        o.help + (o.default !== undefined ? ` (default ${o.default})` : ""),
      ];
    });
  const width = Math.max(...rows.map(([left]) => left!.length));
  return [
    `Usage: ${spec.usage}`,
    "",
    "Options:",
    ...rows.map(([left, right]) => `  ${left!.padEnd(width)}  ${right}`),
  ].join("\n");
}

/**
 * Checks `args` against `spec`: `help` when `--help` is among them, `error` naming the first
 * unknown option, missing value, bad number or surplus positional argument, `ok` otherwise.
 *
 * @example
 * ```ts
 * import { checkOptions } from "./script_options.ts";
 * const spec = { usage: "x", options: [{ name: "--rounds", value: "number" as const, help: "r" }] };
 * if (checkOptions(["--rounds", "3"], spec).kind !== "ok") throw new Error();
 * if (checkOptions(["--round", "3"], spec).kind !== "error") throw new Error();
 * ```
 */
export function checkOptions(args: readonly string[], spec: ScriptUsage): OptionCheck {
  if (args.includes("--help") || args.includes("-h")) {
    return { kind: "help", text: usageText(spec) };
  }
  const byName = new Map(spec.options.map((o) => [o.name, o]));
  let positionals = 0;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      positionals += args.length - i - 1;
      break;
    }
    if (!arg.startsWith("-") || /^-\d/.test(arg)) {
      positionals++;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const option = byName.get(name);
    if (option === undefined) {
      return { kind: "error", message: `unknown option ${name} (--help lists them)` };
    }
    let value: string | undefined;
    if (eq >= 0) {
      if (!spec.inlineValues) {
        return { kind: "error", message: `${name}: write \`${name} VALUE\`, not \`${arg}\`` };
      }
      if (option.value === undefined) {
        return { kind: "error", message: `${name} takes no value` };
      }
      value = arg.slice(eq + 1);
    } else if (option.value !== undefined) {
      const next = args[i + 1];
      const takes = next !== undefined &&
        (option.value === "raw" ||
          (option.value === "optional" ? !next.startsWith("-") : !next.startsWith("--")));
      if (takes) {
        value = next;
        i++;
      }
    }
    if (option.value !== undefined && option.value !== "optional") {
      if (value === undefined || value === "") {
        return { kind: "error", message: `${name} needs a value` };
      }
      if (option.value === "number" && !Number.isFinite(Number(value))) {
        return { kind: "error", message: `${name}: "${value}" is not a number` };
      }
    }
  }
  const allowed = spec.positionals ?? 0;
  if (positionals > allowed) {
    return {
      kind: "error",
      message: allowed === 0
        ? "no positional arguments are taken (--help lists the options)"
        : `at most ${allowed} positional argument(s) are taken`,
    };
  }
  return { kind: "ok" };
}

/**
 * {@link checkOptions} for a script's `main`: prints the usage and exits 0 on `--help`, prints
 * the message and exits 2 on a bad command line, returns otherwise.
 *
 * @example
 * ```ts
 * import { exitOnBadOptions } from "./script_options.ts";
 * exitOnBadOptions([], { usage: "x", options: [] }); // returns: nothing to refuse
 * ```
 */
export function exitOnBadOptions(args: readonly string[], spec: ScriptUsage): void {
  const check = checkOptions(args, spec);
  if (check.kind === "help") {
    console.log(check.text);
    Deno.exit(0);
  }
  if (check.kind === "error") {
    console.error(`error: ${check.message}`);
    Deno.exit(2);
  }
}
