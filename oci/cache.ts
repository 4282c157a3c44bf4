/**
 * The on-disk image cache: manifests, indexes and configs stored by digest (and re-checked
 * against it on every read), the `/etc/passwd` and `/etc/group` found in each image (keyed by
 * manifest digest), and records of which digest a tag resolved to. Writes are atomic (temporary
 * file, then rename), so concurrent runs never see half-written entries.
 *
 * No digest can check the account files (without the layers) or a tag record, so those entries
 * carry an HMAC-SHA256 under the workspace's image-cache key (`cache_key.ts`) over the entry's
 * kind, its name (manifest digest, or registry/repository:tag) and its exact body: an entry
 * written by anyone without the key, under another workspace's key, or moved to another name is
 * a miss (see {@link entryMac}).
 *
 * Layout under the cache directory:
 * - `blobs/sha256/<hex>`: manifests, indexes, configs
 * - `files/sha256/<hex>.json`: MAC line, then `{ "passwd": string|null, "group": string|null }`
 * - `tags/<registry>/<repository>/<tag>.json`: MAC line, then
 *   `{ "digest": "sha256:…", "resolvedAt": "…" }`
 *
 * (A MAC line is 64 lowercase hex digits and a newline.)
 *
 * @module
 */
import { createHmac } from "node:crypto";
import { VerificationError } from "../util/errors/mod.ts";
import { constantTimeEqual, decodeHex, encodeHex } from "../util/bytes/mod.ts";
import { writeFileAtomic } from "../util/files/mod.ts";
import { MAX_DOCUMENT_SIZE } from "./manifest.ts";
import { parseDigest, verifyDigest } from "./digest.ts";
import type { ImageReference } from "./reference.ts";
import { IMAGE_CACHE_KEY_BYTES } from "./cache_key.ts";

/** The user and group databases of an image. */
export interface ImageAccountFiles {
  /** `/etc/passwd`, or undefined when the image has none. */
  readonly passwd?: string;
  /** `/etc/group`, or undefined when the image has none. */
  readonly group?: string;
}

/** What a tag resolved to, and when. */
interface TagRecord {
  /** Digest of the document (manifest or index) the tag pointed at. */
  readonly digest: string;
  /** When the registry was asked (ISO 8601). */
  readonly resolvedAt: string;
}

/** Largest tag record read (a MAC line, a digest and a time). */
const MAX_TAG_RECORD = 4096;
/** Largest account-files record read (two captured files of at most 16 MiB, JSON-escaped). */
const MAX_ACCOUNT_FILES_RECORD = 192 * 1024 * 1024;

/** The kinds of cache entries that carry a MAC. */
type MacEntryKind = "account-files" | "tag";

/** Length of a MAC line: 64 hex digits and a newline. */
const MAC_LINE = 65;

/**
 * HMAC-SHA256 under `key` over `contrast image-cache entry v1`, the entry's kind and name (each
 * on its own line; neither can hold a newline) and its exact body.
 */
function entryMac(
  key: Uint8Array,
  kind: MacEntryKind,
  name: string,
  body: Uint8Array,
): Uint8Array {
  return new Uint8Array(
    createHmac("sha256", key)
      .update(`contrast image-cache entry v1\n${kind}\n${name}\n`)
      .update(body)
      .digest(),
  );
}

/** `body` preceded by its MAC line. */
function sealEntry(key: Uint8Array, kind: MacEntryKind, name: string, body: string): Uint8Array {
  const bodyBytes = new TextEncoder().encode(body);
  const mac = new TextEncoder().encode(`${encodeHex(entryMac(key, kind, name, bodyBytes))}\n`);
  const out = new Uint8Array(mac.length + bodyBytes.length);
  out.set(mac);
  out.set(bodyBytes, mac.length);
  return out;
}

/** The body of a sealed entry when its MAC verifies under `key` (compared in constant time). */
function openEntry(
  key: Uint8Array,
  kind: MacEntryKind,
  name: string,
  entry: Uint8Array,
): Uint8Array | undefined {
  if (entry.length < MAC_LINE || entry[MAC_LINE - 1] !== 0x0a) return undefined;
  const hex = new TextDecoder().decode(entry.subarray(0, MAC_LINE - 1));
  if (!/^[0-9a-f]{64}$/.test(hex)) return undefined;
  const body = entry.subarray(MAC_LINE);
  const valid = constantTimeEqual(decodeHex(hex), entryMac(key, kind, name, body));
  return valid ? body : undefined;
}

/**
 * A cache file's bytes when it is a regular file (not a link, FIFO or device) of at most `limit`
 * bytes; undefined when missing, and `"unfit"` otherwise. Whoever can write the cache must not
 * make generate read without end (a link to `/dev/zero`, a FIFO, a huge file) before a check.
 */
async function readCacheFile(
  path: string,
  limit: number,
): Promise<Uint8Array | undefined | "unfit"> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  if (!info.isFile || info.size > limit) return "unfit";
  using file = await Deno.open(path, { read: true });
  const out = new Uint8Array(info.size);
  let offset = 0;
  while (offset < out.length) {
    const n = await file.read(out.subarray(offset));
    if (n === null) break;
    offset += n;
  }
  // Changed while read: shorter is unfit; longer is cut at the size, which the checks refuse.
  return offset === out.length ? out : "unfit";
}

/** Writes `data` to `path` atomically, creating its folder first. */
async function writeCacheFile(path: string, data: Uint8Array): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await writeFileAtomic(path, data);
}

function decodeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}

/** The image cache in one directory. Entries that fail their checks are treated as missing. */
export class ImageCache {
  /** The cache directory. */
  readonly dir: string;
  /** The workspace's key that authenticates the entries no digest checks. */
  readonly #key: Uint8Array;

  /**
   * The cache in `dir` (created on first write); account files and tag records are written and
   * accepted only with a MAC under `key` (32 bytes, see `cache_key.ts`).
   */
  constructor(dir: string, key: Uint8Array) {
    if (key.length !== IMAGE_CACHE_KEY_BYTES) {
      throw new RangeError(`image cache key must be ${IMAGE_CACHE_KEY_BYTES} bytes`);
    }
    this.dir = dir.replace(/\/+$/, "");
    this.#key = key.slice();
  }

  #blobPath(digest: string): string {
    return `${this.dir}/blobs/sha256/${parseDigest(digest, "cache digest").hex}`;
  }

  #filesPath(manifestDigest: string): string {
    return `${this.dir}/files/sha256/${parseDigest(manifestDigest, "cache digest").hex}.json`;
  }

  #filesName(manifestDigest: string): string {
    return `sha256:${parseDigest(manifestDigest, "cache digest").hex}`;
  }

  #tagName(ref: ImageReference, tag: string): string {
    return `${ref.registry}/${ref.repository}:${tag}`;
  }

  #tagPath(ref: ImageReference, tag: string): string {
    // Registry, repository and tag are validated by the reference grammar: no `..`, no `/` in
    // the tag; the registry may carry `:port`, which is a valid file name character.
    return `${this.dir}/tags/${ref.registry}/${ref.repository}/${tag}.json`;
  }

  /**
   * A cached document by digest, re-checked against the digest; a corrupted entry is removed
   * and reported missing.
   */
  async getBlob(digest: string): Promise<Uint8Array | undefined> {
    const path = this.#blobPath(digest);
    const bytes = await readCacheFile(path, MAX_DOCUMENT_SIZE);
    if (bytes === undefined) return undefined;
    if (bytes === "unfit") {
      await Deno.remove(path).catch(() => {});
      return undefined;
    }
    try {
      await verifyDigest(bytes, parseDigest(digest), path);
      return bytes;
    } catch (e) {
      if (!(e instanceof VerificationError)) throw e;
      await Deno.remove(path).catch(() => {});
      return undefined;
    }
  }

  /** Stores a document under its digest (the caller has verified it). */
  async putBlob(digest: string, bytes: Uint8Array): Promise<void> {
    await writeCacheFile(this.#blobPath(digest), bytes);
  }

  /**
   * The account files found in the image with manifest `manifestDigest`, if cached under this
   * workspace's key for exactly that digest.
   */
  async getAccountFiles(manifestDigest: string): Promise<ImageAccountFiles | undefined> {
    const entry = await readCacheFile(this.#filesPath(manifestDigest), MAX_ACCOUNT_FILES_RECORD);
    if (entry === undefined || entry === "unfit") return undefined;
    const name = this.#filesName(manifestDigest);
    const bytes = openEntry(this.#key, "account-files", name, entry);
    if (bytes === undefined) return undefined;
    const json = decodeJson(bytes) as Record<string, unknown> | undefined;
    if (typeof json !== "object" || json === null) return undefined;
    const { passwd, group } = json;
    const ok = (v: unknown) => v === null || typeof v === "string";
    if (!ok(passwd) || !ok(group)) return undefined;
    return {
      ...(typeof passwd === "string" ? { passwd } : {}),
      ...(typeof group === "string" ? { group } : {}),
    };
  }

  /** Stores the account files of the image with manifest `manifestDigest`. */
  async putAccountFiles(manifestDigest: string, files: ImageAccountFiles): Promise<void> {
    const body = JSON.stringify({ passwd: files.passwd ?? null, group: files.group ?? null });
    const name = this.#filesName(manifestDigest);
    await writeCacheFile(
      this.#filesPath(manifestDigest),
      sealEntry(this.#key, "account-files", name, body),
    );
  }

  /** The last recorded resolution of `ref`'s tag, if recorded under this workspace's key. */
  async getTag(ref: ImageReference, tag: string): Promise<TagRecord | undefined> {
    const entry = await readCacheFile(this.#tagPath(ref, tag), MAX_TAG_RECORD);
    if (entry === undefined || entry === "unfit") return undefined;
    const bytes = openEntry(this.#key, "tag", this.#tagName(ref, tag), entry);
    if (bytes === undefined) return undefined;
    const json = decodeJson(bytes) as Record<string, unknown> | undefined;
    if (typeof json !== "object" || json === null) return undefined;
    const { digest, resolvedAt } = json;
    if (typeof digest !== "string" || typeof resolvedAt !== "string") return undefined;
    try {
      parseDigest(digest);
    } catch {
      return undefined;
    }
    return { digest, resolvedAt };
  }

  /** Records that `ref`'s tag resolved to `digest` now. */
  async putTag(ref: ImageReference, tag: string, digest: string, now = new Date()): Promise<void> {
    const body = JSON.stringify({ digest, resolvedAt: now.toISOString() });
    await writeCacheFile(
      this.#tagPath(ref, tag),
      sealEntry(this.#key, "tag", this.#tagName(ref, tag), body),
    );
  }
}
