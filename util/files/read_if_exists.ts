/**
 * Reading a file that may legitimately be absent.
 *
 * @module
 */

/**
 * The content of `path`, or `undefined` when it does not exist.
 *
 * @throws the file system's error for anything but "not found"
 */
export async function readFileIfExists(path: string): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}
