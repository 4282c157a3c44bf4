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

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}
