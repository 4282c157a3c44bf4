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
import { readFileIfExists, writeFileAtomic } from "../util/files/mod.ts";
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
    const bytes = await readFileIfExists(path);
    if (bytes === undefined) return undefined;
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
    const bytes = await readFileIfExists(this.#filesPath(manifestDigest));
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
    await writeCacheFile(this.#filesPath(manifestDigest), new TextEncoder().encode(body));
  }

  /** The last recorded resolution of `ref`'s tag. */
  async getTag(ref: ImageReference, tag: string): Promise<TagRecord | undefined> {
    const bytes = await readFileIfExists(this.#tagPath(ref, tag));
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
    await writeCacheFile(this.#tagPath(ref, tag), new TextEncoder().encode(body));
  }
}
