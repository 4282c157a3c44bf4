/**
 * The on-disk image cache: manifests, indexes and configs stored by digest (and re-checked
 * against it on every read), the `/etc/passwd` and `/etc/group` found in each image (keyed by
 * manifest digest), and records of which digest a tag resolved to. Writes are atomic (temporary
 * file, then rename), so concurrent runs never see half-written entries.
 *
 * Layout under the cache directory:
 * - `blobs/sha256/<hex>`: manifests, indexes, configs
 * - `files/sha256/<hex>.json`: `{ "passwd": string|null, "group": string|null }` per manifest
 * - `tags/<registry>/<repository>/<tag>.json`: `{ "digest": "sha256:…", "resolvedAt": "…" }`
 *
 * @module
 */
import { VerificationError } from "../util/errors/mod.ts";
import { writeFileAtomic } from "../util/files/mod.ts";
import { MAX_DOCUMENT_SIZE } from "./manifest.ts";
import { parseDigest, verifyDigest } from "./digest.ts";
import type { ImageReference } from "./reference.ts";

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

/** Largest tag record read (a digest and a time). */
const MAX_TAG_RECORD = 4096;
/** Largest account-files record read (two captured files of at most 16 MiB, JSON-escaped). */
const MAX_ACCOUNT_FILES_RECORD = 192 * 1024 * 1024;

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

  /** The cache in `dir` (created on first write). */
  constructor(dir: string) {
    this.dir = dir.replace(/\/+$/, "");
  }

  #blobPath(digest: string): string {
    return `${this.dir}/blobs/sha256/${parseDigest(digest, "cache digest").hex}`;
  }

  #filesPath(manifestDigest: string): string {
    return `${this.dir}/files/sha256/${parseDigest(manifestDigest, "cache digest").hex}.json`;
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

  /** The account files found in the image with manifest `manifestDigest`, if cached. */
  async getAccountFiles(manifestDigest: string): Promise<ImageAccountFiles | undefined> {
    const bytes = await readCacheFile(this.#filesPath(manifestDigest), MAX_ACCOUNT_FILES_RECORD);
    if (bytes === undefined || bytes === "unfit") return undefined;
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
    await writeCacheFile(this.#filesPath(manifestDigest), new TextEncoder().encode(body));
  }

  /** The last recorded resolution of `ref`'s tag. */
  async getTag(ref: ImageReference, tag: string): Promise<TagRecord | undefined> {
    const bytes = await readCacheFile(this.#tagPath(ref, tag), MAX_TAG_RECORD);
    if (bytes === undefined || bytes === "unfit") return undefined;
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
    await writeCacheFile(this.#tagPath(ref, tag), new TextEncoder().encode(body));
  }
}
