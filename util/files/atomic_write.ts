/**
 * Crash-safe file replacement: write a temporary file next to the target with its final mode,
 * fsync it, rename it over the target, then fsync the folder. Readers see the old or the new
 * content, never a mix, and a crash leaves at most a temporary file behind.
 *
 * @module
 */

/** Options of {@link writeFileAtomic}. */
interface AtomicWriteOptions {
  /** Permission bits of the file, set exactly (not reduced by the umask); default `0o644`. */
  readonly mode?: number;
  /**
   * Name of the temporary file in the target's folder (default `<name>.tmp-<random>`), for
   * owners that clean up their own leftovers by name.
   */
  readonly tempName?: string;
  /**
   * Fail when the folder cannot be fsynced (default: best effort, as some platforms cannot sync
   * a folder; the rename is atomic either way, only its durability across a crash differs).
   */
  readonly requireFolderSync?: boolean;
}

/** The folder part of `path` (`.` for a bare name). */
function folderOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash >= 0 ? path.slice(0, slash) || "/" : ".";
}

/**
 * Writes `data` (text as UTF-8) to `path` atomically: temporary file, fsync, rename, folder
 * fsync. The folder must exist.
 *
 * @throws the file system's error; the temporary file is removed first
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const mode = options.mode ?? 0o644;
  const dir = folderOf(path);
  const temp = options.tempName !== undefined
    ? `${dir}/${options.tempName}`
    : `${path}.tmp-${crypto.randomUUID()}`;
  const file = await Deno.open(temp, { write: true, createNew: true, mode });
  try {
    await Deno.chmod(temp, mode);
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.sync();
    file.close();
    await Deno.rename(temp, path);
  } catch (e) {
    try {
      file.close();
    } catch {
      // already closed
    }
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
  if (options.requireFolderSync) await syncFolder(dir);
  else await syncFolder(dir).catch(() => {});
}

/**
 * Fsyncs a folder so that renames in it survive a crash.
 *
 * @throws the file system's error when the folder cannot be opened or synced
 */
export async function syncFolder(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}
