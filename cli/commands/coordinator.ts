/**
 * `contrast coordinator --platform P [--namespace N] [--replicas N]`: the Coordinator's
 * Kubernetes resources with contrast's Coordinator image from the image lock, in the runtime class
 * `contrast runtime` defines; pass them through `contrast generate` with the rest of the app.
 *
 * @module
 */
import type { Command } from "commander";
import { ParseError } from "../../util/errors/mod.ts";
import { loadSettings } from "../../policy/settings.ts";
import { PLATFORMS } from "../../policy/reference_values.ts";
import { platformRuntime } from "../../deploy/runtime_class.ts";
import { coordinatorYaml } from "../../deploy/coordinator_yaml.ts";
import type { BuildInfo } from "../build_info.ts";
import { requireImageLock } from "../image_lock_source.ts";
import { emit, platformFlag } from "./runtime.ts";
import { logLevelOf, warningWriter } from "../output.ts";

/** Flags of `contrast coordinator`. */
export interface CoordinatorFlags {
  readonly platform: string;
  readonly namespace: string;
  readonly replicas: string;
  readonly storage: string;
  readonly settings?: string;
  readonly imageLock?: string;
  readonly imageRegistry?: string;
  readonly output?: string;
}

/**
 * A Kubernetes quantity as the API server reads it (a decimal number, then a binary or decimal
 * SI suffix or an exponent); the state volume's size must be one and above zero.
 */
const QUANTITY = /^\+?(?:\d+(?:\.\d*)?|\.\d+)(?:Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/**
 * Refuses a `--storage` the API server would refuse (or a zero size) before any YAML is printed.
 *
 * @throws {ParseError} naming `--storage`
 */
function checkStorageSize(value: string): void {
  if (!QUANTITY.test(value) || !/[1-9]/.test(value.replace(/[eE][+-]?\d+$/, ""))) {
    throw new ParseError(
      "--storage",
      `expected a Kubernetes quantity above zero such as 1Gi or 500Mi, got "${value}"`,
    );
  }
}

/**
 * The Coordinator YAML for the flags.
 *
 * @throws {ParseError} for a bad platform (also one without runtime handler), namespace,
 *   replica count or storage size
 * @throws {UnavailableError} when there is no image lock
 */
export async function coordinatorYamlFor(
  flags: CoordinatorFlags,
  build: BuildInfo,
  warn: (line: string) => void = () => {},
): Promise<string> {
  const platform = platformFlag(flags.platform);
  platformRuntime({ name: "", platform }); // the platform must have a runtime handler
  const replicas = Number(flags.replicas);
  if (!/^\d+$/.test(flags.replicas)) {
    throw new ParseError("--replicas", `expected a positive integer, got "${flags.replicas}"`);
  }
  checkStorageSize(flags.storage);
  const settings = await loadSettings(flags.settings);
  const { lock, replacesEmbedded } = await requireImageLock(flags, build);
  if (replacesEmbedded !== undefined) warn(`warning: ${replacesEmbedded}`);
  return coordinatorYaml({
    image: lock.images.coordinator,
    runtimeClassName: settings.runtime_class_name,
    namespace: flags.namespace,
    replicas,
    storage: flags.storage,
  });
}

/** Registers `contrast coordinator`. */
export function registerCoordinatorCommand(program: Command, build: BuildInfo = {}): void {
  program
    .command("coordinator")
    .description(
      "Print the Coordinator's Kubernetes YAML (StatefulSet, Services, ServiceAccount).\n\n" +
        "With --replicas > 1 also the Kubernetes history backend and its Role.",
    )
    .requiredOption("--platform <platform>", `platform: ${PLATFORMS.join(", ")}`)
    .option("-n, --namespace <name>", "namespace", "default")
    .option("--replicas <n>", "Coordinator replicas (1: file history on a volume)", "1")
    .option("--storage <size>", "size of the state volume", "1Gi")
    .option("-s, --settings <file>", "platform settings JSON (runtime class name)")
    .option("--image-lock <file>", "image lock of contrast's images (default: the embedded lock)")
    .option("--image-registry <host>", "registry (mirror) holding contrast's locked images")
    .option("-o, --output <file>", "write the YAML here instead of standard output")
    .action(async (flags: CoordinatorFlags, command: Command) => {
      const warn = warningWriter(logLevelOf(command));
      await emit(await coordinatorYamlFor(flags, build, warn), flags.output);
    });
}
