/**
 * File output of `contrast generate`: everything is computed first, then written; each file is
 * written to a temporary sibling and renamed into place, so a failed run leaves the workspace
 * and the YAML untouched.
 *
 * @module
 */

/** One file to write. */
export interface PendingWrite {
  readonly path: string;
  readonly data: string;
  /** File mode (e.g. 0o600 for private keys). */
  readonly mode?: number;
}

/** Writes every pending file (temporary file, then rename). */
export async function writeAll(writes: readonly PendingWrite[]): Promise<void> {
  for (const w of writes) {
    const dir = w.path.includes("/") ? w.path.slice(0, w.path.lastIndexOf("/")) : ".";
    if (dir) await Deno.mkdir(dir, { recursive: true });
    const tmp = `${w.path}.tmp-${crypto.randomUUID()}`;
    await Deno.writeTextFile(tmp, w.data, { mode: w.mode ?? 0o644 });
    await Deno.rename(tmp, w.path);
  }
}

/** Reads a text file, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}
