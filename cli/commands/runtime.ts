/**
 * `contrast runtime --platform P`: the RuntimeClass the pods `contrast generate` writes name, with
 * the handler of the Kata/CoCo runtime that provides the platform's TEE on the nodes.
 *
 * @module
 */
import type { Command } from "commander";
import { ParseError } from "../../util/errors/mod.ts";
import { loadSettings } from "../../policy/settings.ts";
import { isPlatform, type PlatformName, PLATFORMS } from "../../policy/reference_values.ts";
import { runtimeClassYaml } from "../../deploy/runtime_class.ts";
import { writeAll } from "../../deploy/workspace.ts";

/** Flags of `contrast runtime`. */
export interface RuntimeFlags {
  readonly platform: string;
  readonly handler?: string;
  readonly nodeSelector: string[];
  readonly settings?: string;
  readonly output?: string;
}

/**
 * The platform named by `--platform`.
 *
 * @throws {ParseError} naming `--platform` for an unknown platform
 */
export function platformFlag(value: string): PlatformName {
  if (!isPlatform(value)) {
    throw new ParseError(
      "--platform",
      `unknown platform "${value}"; one of ${PLATFORMS.join(", ")}`,
    );
  }
  return value;
}

function nodeSelector(pairs: readonly string[]): Record<string, string> | undefined {
  if (pairs.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new ParseError("--node-selector", `expected KEY=VALUE, got "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/**
 * The RuntimeClass YAML for the flags.
 *
 * @throws {ParseError} for an unknown platform, a platform without runtime handler, bad flags
 */
export async function runtimeYaml(flags: RuntimeFlags): Promise<string> {
  const platform = platformFlag(flags.platform);
  const settings = await loadSettings(flags.settings);
  return runtimeClassYaml({
    name: settings.runtime_class_name,
    platform,
    handler: flags.handler,
    nodeSelector: nodeSelector(flags.nodeSelector),
  });
}

/** Writes `text` to `output` (atomically) or to standard output. */
export async function emit(text: string, output: string | undefined): Promise<void> {
  if (output === undefined) await Deno.stdout.write(new TextEncoder().encode(text));
  else await writeAll([{ path: output, data: text }]);
}

/** Registers `contrast runtime`. */
export function registerRuntimeCommand(program: Command): void {
  program
    .command("runtime")
    .description("Print the RuntimeClass the generated pods use (handler, overhead, scheduling).")
    .requiredOption("--platform <platform>", `platform: ${PLATFORMS.join(", ")}`)
    .option("--handler <name>", "runtime handler on the nodes (default: the platform's)")
    .option(
      "--node-selector <key=value>",
      "node label the runtime needs (repeatable; replaces the platform's default)",
      (v: string, prev: string[]) => [...prev, v],
      [],
    )
    .option("-s, --settings <file>", "platform settings JSON (runtime class name)")
    .option("-o, --output <file>", "write the YAML here instead of standard output")
    .action(async (flags: RuntimeFlags) => {
      await emit(await runtimeYaml(flags), flags.output);
    });
}
