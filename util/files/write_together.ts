/**
 * Writing several files as one step, for commands that promise "on any error nothing is
 * written" (`contrast generate`: YAML, keys, manifest; `contrast set`: CA files, seed shares).
 * Every target is checked first (a folder where a file belongs, a path below a file), then every
 * file is staged in a temporary sibling (written and fsynced with its final mode); only when all
 * are staged are they renamed into place. A failure removes every staged file and is a typed
 * error naming the file.
 *
 * @module
 */
import { ContrastError, ParseError, UnavailableError } from "../errors/mod.ts";
import { syncFolder } from "./atomic_write.ts";

/** One file of a {@link writeFilesTogether} batch. */
export interface FileWrite {
  /** Where the file goes. */
  readonly path: string;
  /**
   * Its content: text (written as UTF-8), bytes, or text as pieces whose concatenation it is
   * (encoded piece by piece through a reused buffer, never joined; a piece must not end inside a
   * surrogate pair).
   */
  readonly data: string | Uint8Array | readonly string[];
  /** Permission bits, set exactly (default `0o644`). */
  readonly mode?: number;
}

/** Options of {@link writeFilesTogether}. */
interface WriteTogetherOptions {
  /** Create missing folders of the targets (default: they must exist). */
  readonly createFolders?: boolean;
}

/** The folder part of `path` (`.` for a bare name). */
function folderOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash >= 0 ? path.slice(0, slash) || "/" : ".";
}

async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return undefined; // the folder check names the problem
    }
    throw error;
  }
}

/** Refuses a target that is a folder, or whose folder is missing (unless created) or a file. */
async function checkTarget(path: string, createFolders: boolean): Promise<void> {
  if ((await lstatOrUndefined(path))?.isDirectory) {
    throw new ParseError(path, "cannot write: is a directory, expected a file");
  }
  let folder = folderOf(path);
  for (;;) {
    const info = await Deno.stat(folder).catch((error) => {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    });
    if (info?.isDirectory) return;
    if (info !== undefined) {
      throw new ParseError(path, `cannot write: ${folder} is not a directory`);
    }
    if (!createFolders) throw new ParseError(path, `cannot write: folder ${folder} is missing`);
    const parent = folderOf(folder);
    if (parent === folder) return;
    folder = parent;
  }
}

async function writeBytes(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

/** Size of the buffer {@link writePieces} encodes into. */
const PIECE_BUFFER_BYTES = 1 << 20;

/**
 * Writes the UTF-8 of the concatenation of `pieces`: each is encoded into one reused buffer,
 * written whenever it is full (a 35 MB `generate` output is never held as one string or one
 * byte array).
 */
async function writePieces(file: Deno.FsFile, pieces: readonly string[]): Promise<void> {
  const encoder = new TextEncoder();
  const buffer = new Uint8Array(PIECE_BUFFER_BYTES);
  let used = 0;
  let carried = "";
  for (let k = 0; k < pieces.length; k++) {
    // A high surrogate ending a piece is held back and written with the next piece, whose low
    // surrogate may complete it (encoded apart, the halves would be two U+FFFD).
    let piece = carried + pieces[k]!;
    carried = "";
    const last = piece.charCodeAt(piece.length - 1);
    if (k < pieces.length - 1 && last >= 0xd800 && last <= 0xdbff) {
      carried = piece.slice(-1);
      piece = piece.slice(0, -1);
    }
    let read = 0;
    while (read < piece.length) {
      const rest = read === 0 ? piece : piece.slice(read);
      const done = encoder.encodeInto(rest, buffer.subarray(used));
      read += done.read;
      used += done.written;
      if (read < piece.length) {
        // The buffer is full (encodeInto stops before a character that does not fit).
        await writeBytes(file, buffer.subarray(0, used));
        used = 0;
      }
    }
  }
  await writeBytes(file, buffer.subarray(0, used));
}

/** Writes `w` to a new temporary sibling, fsynced with its mode; removes it on failure. */
async function stage(w: FileWrite, createFolders: boolean): Promise<string> {
  if (createFolders) await Deno.mkdir(folderOf(w.path), { recursive: true });
  const mode = w.mode ?? 0o644;
  const temp = `${w.path}.tmp-${crypto.randomUUID()}`;
  const file = await Deno.open(temp, { write: true, createNew: true, mode });
  try {
    await Deno.chmod(temp, mode);
    if (typeof w.data === "string") await writeBytes(file, new TextEncoder().encode(w.data));
    else if (w.data instanceof Uint8Array) await writeBytes(file, w.data);
    else await writePieces(file, w.data);
    await file.sync();
  } catch (error) {
    file.close();
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  file.close();
  return temp;
}

/** A typed error naming `path` for a file system failure. */
function writeError(path: string, cause: unknown): ContrastError {
  if (cause instanceof ContrastError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  const usage = cause instanceof Deno.errors.NotFound ||
    cause instanceof Deno.errors.AlreadyExists ||
    cause instanceof Deno.errors.IsADirectory ||
    cause instanceof Deno.errors.NotADirectory ||
    cause instanceof Deno.errors.PermissionDenied;
  return usage
    ? new ParseError(path, `cannot write: ${message}`, { cause })
    : new UnavailableError(path, `cannot write: ${message}`, { cause });
}

function removeAll(paths: readonly string[]): Promise<unknown> {
  return Promise.all(paths.map((p) => Deno.remove(p).catch(() => {})));
}

/**
 * Checks that every path of `paths` could be written (not a directory; its folder exists, or can
 * be created with `createFolders`), without writing anything: commands check their outputs
 * before they touch the network.
 *
 * @throws {ParseError} naming the first path that cannot be written
 */
export async function checkWriteTargets(
  paths: readonly string[],
  options: WriteTogetherOptions = {},
): Promise<void> {
  for (const path of paths) {
    try {
      await checkTarget(path, options.createFolders === true);
    } catch (cause) {
      throw writeError(path, cause);
    }
  }
}

/**
 * Replaces every file of `writes` or, on a failure before the renames, none of them.
 *
 * @throws {ParseError} naming the file when a target cannot be written (a directory, a path
 *   below a file, no permission); {UnavailableError} for other failures (e.g. a full disk)
 */
export async function writeFilesTogether(
  writes: readonly FileWrite[],
  options: WriteTogetherOptions = {},
): Promise<void> {
  const createFolders = options.createFolders === true;
  await checkWriteTargets(writes.map((w) => w.path), options);
  const staged: string[] = [];
  for (const w of writes) {
    try {
      staged.push(await stage(w, createFolders));
    } catch (cause) {
      await removeAll(staged);
      throw writeError(w.path, cause);
    }
  }
  for (const [i, w] of writes.entries()) {
    try {
      await Deno.rename(staged[i]!, w.path);
    } catch (cause) {
      await removeAll(staged.slice(i));
      throw writeError(w.path, cause);
    }
  }
  for (const folder of new Set(writes.map((w) => folderOf(w.path)))) {
    await syncFolder(folder).catch(() => {});
  }
}
