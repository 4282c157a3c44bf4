/**
 * Reading a collateral file (a cache entry, a bundle response) that someone else may have put
 * there: only a regular file (a symbolic link is followed to one) of at most a given size is
 * read. A FIFO would block the reader until some process writes to it (`Deno.readFile` has no
 * timeout), and a huge file would be read into memory whole; both are refused before the file is
 * opened, and the size is checked again on the open file and while reading, so a file that grows
 * or is swapped after the check is not read past the limit either.
 *
 * @module
 */

import { joinBytes } from "../util/bytes/mod.ts";

/** Largest response body the collateral client accepts by default (network, cache, bundle). */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Room for a cache entry's magic and metadata line (URL, headers) on top of its body. */
export const CACHE_METADATA_ALLOWANCE_BYTES = 1024 * 1024;

/** What {@link readLimitedFile} found. */
export type LimitedRead =
  | { readonly kind: "file"; readonly bytes: Uint8Array }
  | { readonly kind: "missing" }
  | { readonly kind: "directory" }
  | { readonly kind: "refused"; readonly reason: string };

/**
 * The bytes of `path` when it is a regular file of at most `maxBytes` bytes.
 *
 * @returns `missing` when nothing is there, `directory` for a directory, `refused` (with the
 *   reason) for any other kind of file or one larger than `maxBytes`
 * @throws the file system's error when the file exists but cannot be read
 *
 * @example Read a cache file of at most 1 MiB
 * ```ts
 * import { readLimitedFile } from "./read_limited.ts";
 *
 * const read = await readLimitedFile("/tmp/some.entry", 1 << 20);
 * if (read.kind === "file") console.log(read.bytes.length);
 * ```
 */
export async function readLimitedFile(path: string, maxBytes: number): Promise<LimitedRead> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      return { kind: "missing" };
    }
    throw e;
  }
  const refusal = refusalOf(info, maxBytes);
  if (refusal !== undefined) return refusal;
  const file = await Deno.open(path, { read: true });
  try {
    const opened = refusalOf(await file.stat(), maxBytes);
    if (opened !== undefined) return opened;
    const chunks: Uint8Array[] = [];
    let total = 0;
    const buffer = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await file.read(buffer);
      if (n === null) break;
      total += n;
      if (total > maxBytes) {
        return { kind: "refused", reason: `grew past ${maxBytes} bytes while being read` };
      }
      chunks.push(buffer.slice(0, n));
    }
    return { kind: "file", bytes: joinBytes(chunks) };
  } finally {
    file.close();
  }
}

function refusalOf(info: Deno.FileInfo, maxBytes: number): LimitedRead | undefined {
  if (info.isDirectory) return { kind: "directory" };
  if (!info.isFile) {
    return { kind: "refused", reason: "not a regular file (a FIFO, socket or device)" };
  }
  if (info.size > maxBytes) {
    return { kind: "refused", reason: `${info.size} bytes, more than the ${maxBytes} allowed` };
  }
  return undefined;
}
