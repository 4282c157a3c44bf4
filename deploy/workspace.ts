/**
 * File output of `contrast generate`: everything is computed first, then written; each file is
 * staged in a temporary sibling and all are renamed into place only once every one is staged, so
 * a failed run leaves the workspace and the YAML untouched.
 *
 * @module
 */
import { readInputFileIfExists } from "../util/files/read_input.ts";
import { writeFilesTogether } from "../util/files/write_together.ts";

/** One file to write. */
export interface PendingWrite {
  readonly path: string;
  /** Text, or text as pieces whose concatenation it is (see `util/files/write_together.ts`). */
  readonly data: string | readonly string[];
  /** File mode (e.g. 0o600 for private keys). */
  readonly mode?: number;
}

/**
 * Writes every pending file, or none: each is staged in a temporary sibling first and renamed
 * into place only when all are staged (`util/files/write_together.ts`).
 *
 * @throws {ParseError} naming the file when a target cannot be written
 */
export async function writeAll(writes: readonly PendingWrite[]): Promise<void> {
  await writeFilesTogether(writes, { createFolders: true });
}

/**
 * Reads a text file, or undefined when it does not exist.
 *
 * @throws {ParseError} naming the file when it is a directory, lies below a file or cannot be read
 */
export async function readIfExists(path: string): Promise<string | undefined> {
  const bytes = await readInputFileIfExists(path);
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}
