/**
 * Crash-safe file replacement: write a temporary file next to the target, fsync it, rename it
 * over the target, then fsync the directory. Readers see the old or the new content, never a mix.
 *
 * @module
 */

/** Writes `data` to `path` atomically (temp file, fsync, rename, directory fsync). */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash) || "/" : ".";
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
  try {
    let written = 0;
    while (written < data.length) written += await file.write(data.subarray(written));
    await file.sync();
  } finally {
    file.close();
  }
  try {
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  await syncDirectory(dir);
}

/** Best-effort fsync of a directory so a rename in it survives a crash. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: Deno.FsFile | undefined;
  try {
    handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch {
    // Some platforms cannot open or sync a directory; the rename itself is still atomic.
  } finally {
    handle?.close();
  }
}
