/**
 * The volume step: make a raw block device an encrypted filesystem keyed to the workload.
 *
 * 1. **Inspect** the device: a LUKS2 header, blank (the first MiB all zeros, as a new cloud
 *    volume is), or something else. Something else is refused: it is the wrong device or a header
 *    the host destroyed, and formatting over it would lose data.
 * 2. **Format** a blank device (`luksFormat`, parameters in `cryptsetup.ts`): first use.
 * 3. **Copy the header** (`luksHeaderBackup`) into a private file: the host serves the device and
 *    can answer each read of the header with other bytes (the checked header to the checks, one
 *    with the data cipher rewritten to `cipher_null` to `open`), so everything after this step
 *    reads the copy, never the device's header again.
 * 4. **Check the header** copy against contrast's parameters (`luks_metadata.ts`).
 * 5. **Test the key** on the copy (`open --test-passphrase`): a header made with another key
 *    (another workload's, another volume's, or a host's) is refused, never re-formatted.
 * 6. **Open** the device to `/dev/mapper/<name>` with the checked copy as its header (`--header`),
 *    create an ext4 filesystem (`mke2fs -t ext4`) when `blkid` finds none (first use, or a crash right after formatting),
 *    and **mount** it (`nosuid,nodev`).
 *
 * Steps 1–5 need only the device (they run on a file-backed image); step 6 needs device-mapper.
 *
 * @module
 */
import { UnavailableError, ValidationError, VerificationError } from "../../util/errors/mod.ts";
import type { Logger } from "../../util/log/logger.ts";
import {
  type CommandResult,
  type CommandRunner,
  dumpMetadataArgs,
  formatArgs,
  headerBackupArgs,
  isLuksArgs,
  openArgs,
  testKeyArgs,
} from "./cryptsetup.ts";
import { checkLuksMetadata } from "./luks_metadata.ts";

/** Bytes at the start of a device that must be zero for it to count as blank. */
const BLANK_PROBE_BYTES = 1024 * 1024;

/**
 * The ext4 label of the volume's filesystem (ext4 keeps at most 16 bytes: the earlier
 * `contrast-secure-pv` was cut to `contrast-secure-`).
 */
export const FILESYSTEM_LABEL = "contrast-pv";

/** What a device holds. */
type DeviceState = "luks" | "blank" | "other";

/** The header was made with another key. */
export class VolumeKeyMismatchError extends VerificationError {}

/** The programs the volume step runs, by name or path. */
interface VolumePrograms {
  /** `cryptsetup` (steps 1–6). */
  readonly cryptsetup: string;
  /** `blkid` (step 6: whether the opened volume has a filesystem). */
  readonly blkid: string;
  /** `mke2fs` (step 6: the ext4 filesystem on first use, `mke2fs -t ext4`). */
  readonly mke2fs: string;
  /** `mount` (step 6). */
  readonly mount: string;
}

/** The path or name of `program` for `step`. */
function programOf(step: VolumeStep, program: keyof VolumePrograms): string {
  return step.programs?.[program] ?? program;
}

/** Everything the volume step needs. */
export interface VolumeStep {
  /** The block device (or, in tests, an image file). */
  readonly device: string;
  /** The 32-byte volume key (never logged). */
  readonly key: Uint8Array;
  /** Runs external commands. */
  readonly run: CommandRunner;
  /** Logs the steps (never the key). */
  readonly logger: Logger;
  /** The programs the step runs (default: their names, found on `PATH`). */
  readonly programs?: Partial<VolumePrograms>;
  /** Where the header copy's private folder is made (default the system's temporary folder). */
  readonly tempDir?: string;
}

/** A device checked by {@link prepareVolume}, with the private copy of its checked header. */
interface PreparedVolume {
  /** Whether the device was blank and has just been formatted. */
  readonly formatted: boolean;
  /** The checked LUKS2 header copy: open the device with it ({@link MountTarget.header}). */
  readonly header: string;
  /** Deletes the header copy (after opening, or when not opening at all). */
  removeHeaderCopy(): Promise<void>;
}

/** Where to open and mount the volume. */
interface MountTarget {
  /** The checked header copy of {@link prepareVolume}; the device's own header is not read. */
  readonly header: string;
  /** Device-mapper name (`/dev/mapper/<name>`). */
  readonly mapperName: string;
  /** Where to mount the filesystem. */
  readonly mountPoint: string;
  /** The kernel's misc device list (default `/proc/misc`), where device-mapper shows up. */
  readonly miscPath?: string;
}

function failure(field: string, what: string, result: CommandResult): ValidationError {
  const detail = result.stderr.trim().split("\n").slice(-2).join(" ") || `exit ${result.code}`;
  return new ValidationError(field, `${what} failed: ${detail}`);
}

async function leadingBytesAreZero(device: string): Promise<boolean> {
  const file = await Deno.open(device, { read: true });
  try {
    const buffer = new Uint8Array(BLANK_PROBE_BYTES);
    let filled = 0;
    while (filled < buffer.length) {
      const n = await file.read(buffer.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    return buffer.subarray(0, filled).every((b) => b === 0);
  } finally {
    file.close();
  }
}

/**
 * Whether the kernel offers device-mapper (`device-mapper` in `/proc/misc`); undefined when this
 * process may not read `miscPath` (then `cryptsetup open` tells, see {@link openAndMount}). The
 * control node `/dev/mapper/control` alone proves nothing: libdevmapper creates it on demand.
 */
export async function deviceMapperAvailable(
  miscPath = "/proc/misc",
): Promise<boolean | undefined> {
  try {
    return /\bdevice-mapper\b/.test(await Deno.readTextFile(miscPath));
  } catch (error) {
    // Deno lets no narrowed permission read below /proc (the image's): unknown, not absent.
    if (error instanceof Deno.errors.NotCapable) return undefined;
    return false;
  }
}

/** What `cryptsetup open` prints when the kernel offers no device-mapper. */
const NO_DEVICE_MAPPER = /Cannot initialize device-mapper/;

/** Step 1: what `device` holds. */
export async function inspectDevice(step: VolumeStep): Promise<DeviceState> {
  const result = await step.run(programOf(step, "cryptsetup"), isLuksArgs(step.device));
  if (result.code === 0) return "luks";
  return await leadingBytesAreZero(step.device) ? "blank" : "other";
}

/**
 * Steps 1–5: formats a blank device, copies its header into a private file, then checks the
 * copy's parameters and that the key opens it. The caller opens the device with that copy
 * ({@link openAndMount}) and removes it afterwards ({@link PreparedVolume.removeHeaderCopy}).
 *
 * @throws {ValidationError} naming `device` when it holds something else than LUKS2 or zeros,
 *   or `luks2.<field>` when the header has other parameters than contrast's
 * @throws {VolumeKeyMismatchError} naming `device` when the key opens no keyslot
 */
export async function prepareVolume(step: VolumeStep): Promise<PreparedVolume> {
  const state = await inspectDevice(step);
  if (state === "other") {
    throw new ValidationError(
      "device",
      `${step.device} is neither a LUKS2 volume nor blank: refusing to format over existing data ` +
        "(wrong device, or a header destroyed outside the pod)",
    );
  }
  const formatted = state === "blank";
  if (formatted) await formatDevice(step);
  const copy = await copyHeader(step);
  try {
    await checkHeaderCopy(step, copy.header);
  } catch (error) {
    await copy.removeHeaderCopy();
    throw error;
  }
  step.logger.info("secure-pv: key opens the volume", { device: step.device, formatted });
  return { formatted, ...copy };
}

/** Step 2: LUKS2 on a blank device (first use). */
async function formatDevice(step: VolumeStep): Promise<void> {
  step.logger.info("secure-pv: blank device, formatting LUKS2 (first use)", {
    device: step.device,
  });
  const result = await step.run(programOf(step, "cryptsetup"), formatArgs(step.device), step.key);
  if (result.code !== 0) throw failure("device", "luksFormat", result);
}

/** Step 3: the device's header, read once, in a fresh private folder. */
async function copyHeader(
  step: VolumeStep,
): Promise<Pick<PreparedVolume, "header" | "removeHeaderCopy">> {
  const dir = await Deno.makeTempDir({
    prefix: "contrast-luks2-header-",
    ...(step.tempDir ? { dir: step.tempDir } : {}),
  });
  const removeHeaderCopy = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  const header = `${dir}/header`;
  const result = await step.run(
    programOf(step, "cryptsetup"),
    headerBackupArgs(step.device, header),
  );
  if (result.code !== 0) {
    await removeHeaderCopy();
    throw failure("device", "copying the LUKS2 header", result);
  }
  return { header, removeHeaderCopy };
}

/** Steps 4 and 5: the copy's parameters are contrast's, and the key opens one of its keyslots. */
async function checkHeaderCopy(step: VolumeStep, header: string): Promise<void> {
  const cryptsetup = programOf(step, "cryptsetup");
  const dump = await step.run(cryptsetup, dumpMetadataArgs(header));
  if (dump.code !== 0) throw failure("device", "reading the LUKS2 metadata", dump);
  let metadata: unknown;
  try {
    metadata = JSON.parse(dump.stdout);
  } catch (cause) {
    throw new ValidationError("luks2", "the metadata is not JSON", undefined, { cause });
  }
  checkLuksMetadata(metadata);
  const test = await step.run(cryptsetup, testKeyArgs(header), step.key);
  if (test.code === 2) {
    throw new VolumeKeyMismatchError(
      "device",
      `${step.device} was formatted with another key (another workload's or another volume's): ` +
        "refusing to open or re-format it",
    );
  }
  if (test.code !== 0) throw failure("device", "testing the key", test);
}

/**
 * Step 6: opens the prepared device with its checked header copy, creates a filesystem when it has none, mounts it.
 *
 * @throws {UnavailableError} naming `device-mapper` when the kernel offers none (`/proc/misc`
 *   lists none, or, where this process may not read it, `cryptsetup open` cannot initialize it)
 * @throws {ValidationError} naming the command that failed
 */
export async function openAndMount(step: VolumeStep, target: MountTarget): Promise<void> {
  const misc = target.miscPath ?? "/proc/misc";
  if ((await deviceMapperAvailable(misc)) === false) {
    throw new UnavailableError(
      "device-mapper",
      `the kernel has no device-mapper (not listed in ${misc}): it cannot open encrypted volumes`,
    );
  }
  const cryptsetup = programOf(step, "cryptsetup");
  const mapped = `/dev/mapper/${target.mapperName}`;
  const open = await step.run(
    cryptsetup,
    openArgs(step.device, target.mapperName, target.header),
    step.key,
  );
  if (open.code !== 0 && NO_DEVICE_MAPPER.test(open.stderr)) {
    throw new UnavailableError(
      "device-mapper",
      "the kernel has no device-mapper (cryptsetup cannot initialize it): it cannot open " +
        "encrypted volumes",
    );
  }
  if (open.code !== 0) throw failure("device", "cryptsetup open", open);
  const probe = await step.run(programOf(step, "blkid"), ["-p", mapped]);
  if (probe.code === 2) {
    step.logger.info("secure-pv: creating an ext4 filesystem", { device: mapped });
    const mkfs = await step.run(programOf(step, "mke2fs"), [
      "-q",
      "-t",
      "ext4",
      "-L",
      FILESYSTEM_LABEL,
      mapped,
    ]);
    if (mkfs.code !== 0) throw failure("device", "mke2fs -t ext4", mkfs);
  } else if (probe.code !== 0) throw failure("device", "blkid", probe);
  await Deno.mkdir(target.mountPoint, { recursive: true });
  const mount = await step.run(programOf(step, "mount"), [
    "-t",
    "ext4",
    "-o",
    "nosuid,nodev",
    mapped,
    target.mountPoint,
  ]);
  if (mount.code !== 0) throw failure("mount", "mount", mount);
  step.logger.info("secure-pv: mounted", { device: mapped, mountPoint: target.mountPoint });
}
