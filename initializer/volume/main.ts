/**
 * `initializer volume`: opens a pod's encrypted persistent volume (annotation
 * `contrast.edgeless.systems/secure-pv`), run by `contrast generate` as an init container right
 * after the initializer.
 *
 * ```
 * initializer volume --device /secure-pv/csi0 --volume NAME --mount /state
 *   [--workload-secret /contrast/secrets/workload-secret-seed] [--check-only]
 *   [--cryptsetup PATH] [--blkid PATH] [--mke2fs PATH] [--mount-program PATH]
 * ```
 * The program options name what the step runs (default: the name, found on `PATH`); `contrast
 * generate` passes the initializer image's own, by absolute path: the only programs its Deno
 * permissions let it run.
 * Exit 0: mounted (or, with `--check-only`, formatted if blank and the key verified); 1: refused
 * (another key, foreign data, a header with other parameters); 2: bad usage; 3: no
 * device-mapper.
 *
 * @module
 */
import { dirname } from "node:path";
import { Command } from "commander";
import { UnavailableError } from "../../util/errors/mod.ts";
import { type LogFormat, Logger } from "../../util/log/logger.ts";
import { addLogFormatOption, envOption as env, fatalExitCode } from "../../util/process_options.ts";
import { runCommand } from "./cryptsetup.ts";
import { openAndMount, prepareVolume } from "./open_volume.ts";
import { deriveVolumeKey, readWorkloadSecret } from "./volume_key.ts";

/** Default path of the workload secret. */
const DEFAULT_WORKLOAD_SECRET_PATH = "/contrast/secrets/workload-secret-seed";

/** Runs `initializer volume ARGS`; returns the exit code. */
export async function volumeMain(args: string[]): Promise<number> {
  const command = new Command("volume")
    .description("open (first use: format) the pod's encrypted persistent volume and mount it")
    .option("--device <path>", "the raw block device", env("CONTRAST_SECURE_PV_DEVICE"))
    .option(
      "--volume <name>",
      "the device volume's name (keys differ per volume)",
      env("CONTRAST_SECURE_PV_VOLUME"),
    )
    .option("--mount <dir>", "where to mount the filesystem", env("CONTRAST_SECURE_PV_MOUNT"))
    .option(
      "--workload-secret <file>",
      "the workload secret the initializer wrote",
      env("CONTRAST_WORKLOAD_SECRET") ?? DEFAULT_WORKLOAD_SECRET_PATH,
    )
    .option("--cryptsetup <path>", "the cryptsetup program", "cryptsetup")
    .option("--blkid <path>", "the blkid program", "blkid")
    .option("--mke2fs <path>", "the mke2fs program", "mke2fs")
    .option("--mount-program <path>", "the mount program", "mount")
    .option("--check-only", "format if blank and verify the key, but do not open or mount")
    .exitOverride();
  const program = addLogFormatOption(command);
  try {
    program.parse(args, { from: "user" });
  } catch {
    return 2;
  }
  const o = program.opts();
  const logger = new Logger("initializer-volume", { format: o.logFormat as LogFormat });
  for (const name of ["device", "volume", "mount"] as const) {
    if (!o[name]) {
      logger.error("secure-pv: bad usage", { error: `--${name} is required` });
      return 2;
    }
  }
  let key: Uint8Array | undefined;
  try {
    const secret = await readWorkloadSecret(o.workloadSecret);
    key = await deriveVolumeKey(secret, o.volume);
    secret.fill(0);
    // The header copy goes beside the workload secret: the pod's memory volume, which the
    // initializer image may write.
    const tempDir = dirname(o.workloadSecret);
    const step = {
      device: o.device,
      key,
      run: runCommand,
      logger,
      tempDir,
      programs: {
        cryptsetup: o.cryptsetup,
        blkid: o.blkid,
        mke2fs: o.mke2fs,
        mount: o.mountProgram,
      },
    };
    const prepared = await prepareVolume(step);
    try {
      if (!o.checkOnly) {
        await openAndMount(step, {
          mapperName: `contrast-${o.volume}`,
          mountPoint: o.mount,
          header: prepared.header,
        });
      }
    } finally {
      await prepared.removeHeaderCopy();
    }
    return 0;
  } catch (error) {
    const code = fatalExitCode(logger, "secure-pv failed", error);
    return error instanceof UnavailableError ? 3 : code;
  } finally {
    key?.fill(0);
  }
}
