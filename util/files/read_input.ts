/**
 * Reading a file the user named: every failure is a typed error naming the file (and the flag it
 * came from), and a missing file or a directory where a file belongs is bad input, not an
 * unavailable resource.
 *
 * @module
 */
import { ParseError } from "../errors/mod.ts";

/**
 * The bytes of `path`.
 *
 * @throws {ParseError} with field `path` (or `flag: path`) when it is missing, a directory or
 *   cannot be read
 */
export async function readInputFile(path: string, flag?: string): Promise<Uint8Array> {
  const field = flag ? `${flag} ${path}` : path;
  try {
    return await Deno.readFile(path);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) {
      throw new ParseError(field, "file not found", { cause });
    }
    if (cause instanceof Deno.errors.IsADirectory || isDirectory(path)) {
      throw new ParseError(field, "is a directory, expected a file", { cause });
    }
    if (cause instanceof Deno.errors.PermissionDenied) {
      throw new ParseError(field, "permission denied", { cause });
    }
    throw new ParseError(field, `cannot read: ${(cause as Error).message}`, { cause });
  }
}

/**
 * The bytes of `path`, or `undefined` when it does not exist (a default file such as a workspace's
 * `manifest.json`); anything else that keeps it from being read is bad input, as for
 * {@link readInputFile}.
 *
 * @throws {ParseError} with field `path` (or `flag: path`) when it is a directory, lies below a
 *   file or cannot be read
 */
export async function readInputFileIfExists(
  path: string,
  flag?: string,
): Promise<Uint8Array | undefined> {
  try {
    return await readInputFile(path, flag);
  } catch (error) {
    if (error instanceof ParseError && error.cause instanceof Deno.errors.NotFound) {
      return undefined;
    }
    throw error;
  }
}

/**
 * `parse(bytes)` for `bytes` read from `path`: a {@link ParseError} it throws keeps its field and
 * also names the file (and the flag it came from), e.g. `report: expected 1184 bytes, got 500
 * (--report r.bin)`.
 *
 * @throws {ParseError} from `parse`, with the file named
 */
export function parseInputBytes<T>(
  path: string,
  flag: string,
  bytes: Uint8Array,
  parse: (bytes: Uint8Array) => T,
): T {
  try {
    return parse(bytes);
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    throw new ParseError(error.field, `${error.reason} (${flag} ${path})`, { cause: error });
  }
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}
