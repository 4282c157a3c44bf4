/**
 * The volume step: make a raw block device an encrypted filesystem keyed to the workload.
 *
 * 1. **Inspect** the device: a LUKS2 header, blank (the first MiB all zeros, as a new cloud
 *    volume is), or something else. Something else is refused: it is the wrong device or a header
 *    the host destroyed, and formatting over it would lose data.
 * 2. **Format** a blank device (`luksFormat`, parameters in `cryptsetup.ts`): first use.
 * 3. **Check the header** against contrast's parameters (`luks_metadata.ts`).
 * 4. **Test the key** (`open --test-passphrase`): a header made with another key (another
 *    workload's, another volume's, or a host's) is refused, never re-formatted.
 * 5. **Open** to `/dev/mapper/<name>`, create an ext4 filesystem when it has none (first use, or
 *    a crash right after formatting), and **mount** it (`nosuid,nodev`).
 *
 * Steps 1–4 need only the device (they run on a file-backed image); step 5 needs device-mapper.
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
  isLuksArgs,
  openArgs,
  testKeyArgs,
} from "./cryptsetup.ts";
import { checkLuksMetadata } from "./luks_metadata.ts";

/** Bytes at the start of a device that must be zero for it to count as blank. */
const BLANK_PROBE_BYTES = 1024 * 1024;

/** What a device holds. */
type DeviceState = "luks" | "blank" | "other";

/** The header was made with another key. */
export class VolumeKeyMismatchError extends VerificationError {}

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
  /** The `cryptsetup` program (default `cryptsetup`). */
  readonly cryptsetup?: string;
}

/** Where to open and mount the volume. */
interface MountTarget {
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
 * Whether the kernel offers device-mapper (`device-mapper` in `/proc/misc`). The control node
 * `/dev/mapper/control` alone proves nothing: libdevmapper creates it on demand.
 */
export async function deviceMapperAvailable(miscPath = "/proc/misc"): Promise<boolean> {
  try {
    return /\bdevice-mapper\b/.test(await Deno.readTextFile(miscPath));
  } catch {
    return false;
  }
}

/** Step 1: what `device` holds. */
export async function inspectDevice(step: VolumeStep): Promise<DeviceState> {
  const result = await step.run(step.cryptsetup ?? "cryptsetup", isLuksArgs(step.device));
  if (result.code === 0) return "luks";
  return await leadingBytesAreZero(step.device) ? "blank" : "other";
}

/**
 * Steps 1–4: formats a blank device, then checks the header and the key.
 *
 * @returns whether the device was formatted now (first use)
 * @throws {ValidationError} naming `device` when it holds something else than LUKS2 or zeros,
 *   or `luks2.<field>` when the header has other parameters than contrast's
 * @throws {VolumeKeyMismatchError} naming `device` when the key opens no keyslot
 */
export async function prepareVolume(step: VolumeStep): Promise<{ formatted: boolean }> {
  const cryptsetup = step.cryptsetup ?? "cryptsetup";
  const state = await inspectDevice(step);
  if (state === "other") {
    throw new ValidationError(
      "device",
      `${step.device} is neither a LUKS2 volume nor blank: refusing to format over existing data ` +
        "(wrong device, or a header destroyed outside the pod)",
    );
  }
  let formatted = false;
  if (state === "blank") {
    step.logger.info("secure-pv: blank device, formatting LUKS2 (first use)", {
      device: step.device,
    });
    const result = await step.run(cryptsetup, formatArgs(step.device), step.key);
    if (result.code !== 0) throw failure("device", "luksFormat", result);
    formatted = true;
  }
  const dump = await step.run(cryptsetup, dumpMetadataArgs(step.device));
  if (dump.code !== 0) throw failure("device", "reading the LUKS2 metadata", dump);
  let metadata: unknown;
  try {
    metadata = JSON.parse(dump.stdout);
  } catch (cause) {
    throw new ValidationError("luks2", "the metadata is not JSON", undefined, { cause });
  }
  checkLuksMetadata(metadata);
  const test = await step.run(cryptsetup, testKeyArgs(step.device), step.key);
  if (test.code === 2) {
    throw new VolumeKeyMismatchError(
      "device",
      `${step.device} was formatted with another key (another workload's or another volume's): ` +
        "refusing to open or re-format it",
    );
  }
  if (test.code !== 0) throw failure("device", "testing the key", test);
  step.logger.info("secure-pv: key opens the volume", { device: step.device, formatted });
  return { formatted };
}

/**
 * Step 5: opens the prepared device, creates a filesystem when it has none, mounts it.
 *
 * @throws {UnavailableError} naming `device-mapper` when the kernel offers none
 * @throws {ValidationError} naming the command that failed
 */
export async function openAndMount(step: VolumeStep, target: MountTarget): Promise<void> {
  const misc = target.miscPath ?? "/proc/misc";
  if (!(await deviceMapperAvailable(misc))) {
    throw new UnavailableError(
      "device-mapper",
      `the kernel has no device-mapper (not listed in ${misc}): it cannot open encrypted volumes`,
    );
  }
  const cryptsetup = step.cryptsetup ?? "cryptsetup";
  const mapped = `/dev/mapper/${target.mapperName}`;
  const open = await step.run(cryptsetup, openArgs(step.device, target.mapperName), step.key);
  if (open.code !== 0) throw failure("device", "cryptsetup open", open);
  const probe = await step.run("blkid", ["-p", mapped]);
  if (probe.code === 2) {
    step.logger.info("secure-pv: creating an ext4 filesystem", { device: mapped });
    const mkfs = await step.run("mkfs.ext4", ["-q", "-L", "contrast-secure-pv", mapped]);
    if (mkfs.code !== 0) throw failure("device", "mkfs.ext4", mkfs);
  } else if (probe.code !== 0) throw failure("device", "blkid", probe);
  await Deno.mkdir(target.mountPoint, { recursive: true });
  const mount = await step.run("mount", [
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
