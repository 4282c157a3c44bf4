/**
 * The on-disk store of the collateral cache: one file per request key, named by the SHA-256 of
 * the key (always a safe file name), written atomically. A file holds a magic line, one line of
 * JSON metadata (URL, fetch time, expiry, headers, body length and SHA-256), then the body. Every
 * read re-checks the metadata and the body hash, so a truncated or altered file is detected and
 * reported as corrupt instead of being served.
 *
 * The cache is not a trust boundary: callers verify everything they get from it.
 *
 * @module
 */
import { concatBytes, constantTimeEqual, decodeHex, encodeHex, sha256 } from "../util/bytes/mod.ts";
import { writeFileAtomic } from "../util/files/atomic_write.ts";
import {
  CACHE_METADATA_ALLOWANCE_BYTES,
  DEFAULT_MAX_BODY_BYTES,
  readLimitedFile,
} from "./read_limited.ts";

const MAGIC = "contrast-collateral-cache v1\n";

/** One cached response. */
export interface CacheEntry {
  /**
   * The request key: the URL, plus the Accept header and the trust domain when the request named
   * them (see `caching_fetcher.ts`).
   */
  readonly key: string;
  /** The URL fetched. */
  readonly url: string;
  /** When it was fetched from the network. */
  readonly fetchedAt: Date;
  /** Until when it may be served without refetching; undefined keeps it forever. */
  readonly validUntil?: Date;
  /** Response headers, lower-case names. */
  readonly headers: Record<string, string>;
  /** The body. */
  readonly body: Uint8Array;
}

/** Result of reading a key from the cache. */
type CacheRead =
  | { readonly kind: "hit"; readonly entry: CacheEntry }
  | { readonly kind: "missing" }
  | { readonly kind: "corrupt"; readonly reason: string };

interface Metadata {
  key: string;
  url: string;
  fetchedAt: string;
  validUntil: string | null;
  headers: Record<string, string>;
  bodyLength: number;
  bodySha256: string;
}

/** Most key → file name pairs a cache remembers (a Coordinator looks up a handful per machine). */
const MAX_KNOWN_PATHS = 1024;

/** A directory of cached responses. */
export class DiskCache {
  /** The cache directory. */
  readonly dir: string;
  /** Largest body an entry may hold; a larger one is corrupt. */
  readonly maxBodyBytes: number;
  /** Largest entry file read; a larger one (or a FIFO, socket, device) is corrupt. */
  readonly maxEntryBytes: number;

  /**
   * A cache stored under `dir`, whose entries hold bodies of at most `maxBodyBytes` (default
   * 16 MiB, as the network client accepts).
   */
  constructor(dir: string, maxBodyBytes = DEFAULT_MAX_BODY_BYTES) {
    this.dir = dir.replace(/\/+$/, "") || "/";
    this.maxBodyBytes = maxBodyBytes;
    this.maxEntryBytes = maxBodyBytes + CACHE_METADATA_ALLOWANCE_BYTES;
  }

  /** File names of the keys looked up so far (a SHA-256 per key, not per read). */
  readonly #paths = new Map<string, string>();

  /** The file that holds `key`. */
  async pathOf(key: string): Promise<string> {
    const known = this.#paths.get(key);
    if (known !== undefined) return known;
    const path = `${this.dir}/${encodeHex(await sha256(new TextEncoder().encode(key)))}.entry`;
    if (this.#paths.size >= MAX_KNOWN_PATHS) this.#paths.clear();
    this.#paths.set(key, path);
    return path;
  }

  /**
   * Reads `key`: a verified hit, missing, or corrupt (with the reason). An entry file that is not
   * a regular file (a FIFO would block the read forever) or is larger than {@link maxEntryBytes}
   * is corrupt, never read.
   */
  async read(key: string): Promise<CacheRead> {
    const path = await this.pathOf(key);
    const file = await this.#readEntryFile(path);
    return "bytes" in file ? await decodeEntry(file.bytes, key, this.maxBodyBytes) : file;
  }

  async #readEntryFile(path: string): Promise<{ bytes: Uint8Array } | CacheRead> {
    try {
      const read = await readLimitedFile(path, this.maxEntryBytes);
      switch (read.kind) {
        case "file":
          return { bytes: read.bytes };
        case "missing":
          return { kind: "missing" };
        case "directory":
          return { kind: "corrupt", reason: `${path} is a directory` };
        case "refused":
          return { kind: "corrupt", reason: `${path}: ${read.reason}` };
      }
    } catch (e) {
      return { kind: "corrupt", reason: `cannot read ${path}: ${String(e)}` };
    }
  }

  /** Stores `entry` atomically under its key. */
  async write(entry: CacheEntry): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true });
    const meta: Metadata = {
      key: entry.key,
      url: entry.url,
      fetchedAt: entry.fetchedAt.toISOString(),
      validUntil: entry.validUntil ? entry.validUntil.toISOString() : null,
      headers: entry.headers,
      bodyLength: entry.body.length,
      bodySha256: encodeHex(await sha256(entry.body)),
    };
    const head = new TextEncoder().encode(MAGIC + JSON.stringify(meta) + "\n");
    await writeFileAtomic(await this.pathOf(entry.key), concatBytes(head, entry.body));
  }

  /**
   * Every entry file of the cache, decoded and checked like {@link read} does (an entry whose
   * file name is not the SHA-256 of its key is corrupt). A missing directory lists nothing.
   */
  async list(): Promise<{ path: string; read: CacheRead }[]> {
    const out: { path: string; read: CacheRead }[] = [];
    let names: string[];
    try {
      names = [];
      for await (const e of Deno.readDir(this.dir)) {
        if (e.isFile && e.name.endsWith(".entry")) names.push(e.name);
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return out;
      throw e;
    }
    for (const name of names.sort()) {
      const path = `${this.dir}/${name}`;
      const file = await this.#readEntryFile(path);
      if (!("bytes" in file)) {
        if (file.kind === "corrupt") out.push({ path, read: file });
        continue;
      }
      const bytes = file.bytes;
      const key = keyOf(bytes);
      if (key === undefined || (await this.pathOf(key)) !== path) {
        out.push({ path, read: { kind: "corrupt", reason: "file name does not match its key" } });
        continue;
      }
      out.push({ path, read: await decodeEntry(bytes, key, this.maxBodyBytes) });
    }
    return out;
  }

  /** Removes `key` (no error when it is absent). */
  async remove(key: string): Promise<void> {
    try {
      await Deno.remove(await this.pathOf(key));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}

/** The key recorded in an entry file's metadata, without checking anything else. */
function keyOf(bytes: Uint8Array): string | undefined {
  const magic = new TextEncoder().encode(MAGIC);
  const newline = bytes.indexOf(0x0a, magic.length);
  if (newline < 0) return undefined;
  try {
    const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(magic.length, newline)));
    return typeof meta?.key === "string" ? meta.key : undefined;
  } catch {
    return undefined;
  }
}

async function decodeEntry(
  bytes: Uint8Array,
  key: string,
  maxBodyBytes: number,
): Promise<CacheRead> {
  const corrupt = (reason: string): CacheRead => ({ kind: "corrupt", reason });
  const magic = new TextEncoder().encode(MAGIC);
  if (bytes.length < magic.length || !constantTimeEqual(bytes.subarray(0, magic.length), magic)) {
    return corrupt("bad magic line");
  }
  const newline = bytes.indexOf(0x0a, magic.length);
  if (newline < 0) return corrupt("metadata line not terminated");
  let meta: Metadata;
  try {
    meta = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(
      bytes.subarray(magic.length, newline),
    ));
  } catch {
    return corrupt("metadata is not JSON");
  }
  if (!isMetadata(meta)) return corrupt("metadata has the wrong shape");
  if (meta.key !== key) return corrupt("entry belongs to another key");
  const body = bytes.subarray(newline + 1);
  if (body.length > maxBodyBytes) {
    return corrupt(`body of ${body.length} bytes, more than the ${maxBodyBytes} allowed`);
  }
  if (body.length !== meta.bodyLength) {
    return corrupt(`body has ${body.length} bytes, metadata says ${meta.bodyLength}`);
  }
  let expected: Uint8Array;
  try {
    expected = decodeHex(meta.bodySha256, "bodySha256", 32);
  } catch {
    return corrupt("bodySha256 is not 32 bytes of hex");
  }
  if (!constantTimeEqual(await sha256(body), expected)) return corrupt("body SHA-256 mismatch");
  const fetchedAt = new Date(meta.fetchedAt);
  const validUntil = meta.validUntil === null ? undefined : new Date(meta.validUntil);
  if (isNaN(fetchedAt.getTime()) || (validUntil && isNaN(validUntil.getTime()))) {
    return corrupt("bad timestamps");
  }
  return {
    kind: "hit",
    entry: { key, url: meta.url, fetchedAt, validUntil, headers: meta.headers, body },
  };
}

function isMetadata(m: unknown): m is Metadata {
  if (typeof m !== "object" || m === null) return false;
  const r = m as Record<string, unknown>;
  return typeof r.key === "string" && typeof r.url === "string" &&
    typeof r.fetchedAt === "string" &&
    (r.validUntil === null || typeof r.validUntil === "string") &&
    typeof r.headers === "object" && r.headers !== null && !Array.isArray(r.headers) &&
    Object.values(r.headers).every((v) => typeof v === "string") &&
    typeof r.bodyLength === "number" && typeof r.bodySha256 === "string";
}
