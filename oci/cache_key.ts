/**
 * The workspace's image-cache key: 32 random bytes that authenticate (HMAC-SHA256) the image
 * cache's entries no digest can check, the account files found in an image and the tag records
 * used offline (see `cache.ts`). Only the workspace holds it, so whoever can write the cache but
 * not the workspace cannot forge those entries. Stored as 64 lowercase hex digits and a newline in
 * `image-cache.key` (mode 0600), next to the owner keys.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";
import { decodeHex, encodeHex } from "../util/bytes/mod.ts";
import { readInputFileIfExists } from "../util/files/read_input.ts";

/** The key file's name inside the workspace. */
const IMAGE_CACHE_KEY_FILE = "image-cache.key";
/** Length of the key in bytes. */
export const IMAGE_CACHE_KEY_BYTES = 32;

/**
 * The key stored in `text` (64 hex digits, optionally followed by a newline).
 *
 * @throws {ParseError} naming `path` when the text is not exactly that
 */
function parseImageCacheKey(text: string, path: string): Uint8Array {
  const hex = text.endsWith("\n") ? text.slice(0, -1) : text;
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new ParseError(path, `expected ${IMAGE_CACHE_KEY_BYTES * 2} lowercase hex digits`);
  }
  return decodeHex(hex, path);
}

/** The path of the image-cache key file of the workspace in `dir`. */
export function imageCacheKeyPath(dir: string): string {
  return `${dir.replace(/\/+$/, "") || "."}/${IMAGE_CACHE_KEY_FILE}`;
}

/**
 * The image-cache key of the workspace in `dir`, or undefined when it has none yet.
 *
 * @throws {ParseError} naming the key file when it cannot be read or is malformed
 */
export async function readImageCacheKey(dir: string): Promise<Uint8Array | undefined> {
  const path = imageCacheKeyPath(dir);
  const bytes = await readInputFileIfExists(path);
  if (bytes === undefined) return undefined;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ParseError(path, "not UTF-8 text");
  }
  return parseImageCacheKey(text, path);
}

/** A new random key and the key file's text for it (to be written with mode 0600). */
export function newImageCacheKey(): { readonly key: Uint8Array; readonly text: string } {
  const key = crypto.getRandomValues(new Uint8Array(IMAGE_CACHE_KEY_BYTES));
  return { key, text: `${encodeHex(key)}\n` };
}

/** A random key used only by this process: entries it writes are misses for every later run. */
export function ephemeralImageCacheKey(): Uint8Array {
  return newImageCacheKey().key;
}
