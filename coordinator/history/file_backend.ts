/**
 * The file {@link HistoryBackend}, the Coordinator's embedded default. Layout under the root:
 *
 * ```text
 * manifests/<sha256>     policies/<sha256>     transitions/<sha256>
 * signatures/<transition>     seedshares/<transition>
 * transitions/latest     .lock
 * ```
 *
 * Every write goes to a temporary file in the destination folder, is fsynced, atomically renamed
 * over its name, and the folder is fsynced: after a crash a name holds either the old or the new
 * complete bytes, never a torn mix, and a write that resolved survives power loss. Bytes that are
 * corrupted anyway (disk, operator) are caught by the store's hash and signature checks.
 *
 * Compare-and-swap on latest holds an exclusive `flock` on `.lock` (released by the kernel if the
 * process dies) around read-compare-write, so writers in several processes or several backend
 * instances are serialised; the version token is the SHA-256 of latest's bytes (never repeats:
 * each latest names a different transition of a hash chain).
 *
 * @module
 */
import { encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { digestSync } from "../../util/bytes/digest_sync.ts";
import { ParseError } from "../../util/errors/mod.ts";
import { readFileIfExists, syncFolder, writeFileAtomic } from "../../util/files/mod.ts";
import { FreshRead } from "./fresh_read.ts";
import {
  type HistoryBackend,
  type LatestRecord,
  OBJECT_KINDS,
  type ObjectKind,
} from "./backend.ts";

const OBJECT_NAME = /^[0-9a-f]{64}$/;
const TEMP_PREFIX = ".tmp-";
/** Temporary files older than this are leftovers of a crashed writer and removed on open. */
export const STALE_TEMP_AGE_MS = 60_000;

function checkName(name: string): void {
  if (!OBJECT_NAME.test(name)) {
    throw new ParseError("name", "object name must be 64 lower-case hex digits");
  }
}

/**
 * Writes `bytes` to `dir/name` crash-safely: temp file in `dir`, fsync, rename, fsync of `dir`.
 */
export async function writeFileAtomically(
  dir: string,
  name: string,
  bytes: Uint8Array,
): Promise<void> {
  await writeFileAtomic(`${dir}/${name}`, bytes, {
    mode: 0o600,
    tempName: `${TEMP_PREFIX}${encodeHex(crypto.getRandomValues(new Uint8Array(12)))}`,
    requireFolderSync: true,
  });
}

/** Stores the history as files under one root folder. */
export class FileHistoryBackend implements HistoryBackend {
  /** The root folder. */
  readonly root: string;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(root: string) {
    this.root = root;
  }

  /**
   * Opens (creating if needed) the history under `root` and removes temporary files that crashed
   * writers left behind more than {@link STALE_TEMP_AGE_MS} ago.
   */
  static async open(root: string): Promise<FileHistoryBackend> {
    await Deno.mkdir(root, { recursive: true });
    for (const kind of OBJECT_KINDS) await Deno.mkdir(`${root}/${kind}`, { recursive: true });
    await syncFolder(root);
    const now = Date.now();
    for (const kind of OBJECT_KINDS) {
      for await (const entry of Deno.readDir(`${root}/${kind}`)) {
        if (!entry.name.startsWith(TEMP_PREFIX)) continue;
        const path = `${root}/${kind}/${entry.name}`;
        const stat = await Deno.stat(path).catch(() => undefined);
        if (stat?.mtime && now - stat.mtime.getTime() > STALE_TEMP_AGE_MS) {
          await Deno.remove(path).catch(() => {});
        }
      }
    }
    return new FileHistoryBackend(root);
  }

  /** Writes the object unless the same bytes are already stored (a corrupted copy is replaced). */
  async putObject(kind: ObjectKind, name: string, bytes: Uint8Array): Promise<void> {
    checkName(name);
    const existing = await readFileIfExists(`${this.root}/${kind}/${name}`);
    if (existing && encodeHex(existing) === encodeHex(bytes)) return;
    await writeFileAtomically(`${this.root}/${kind}`, name, bytes);
  }

  /** The names stored under `kind` (temporary files skipped). */
  async listObjects(kind: ObjectKind): Promise<string[]> {
    const names: string[] = [];
    for await (const entry of Deno.readDir(`${this.root}/${kind}`)) {
      if (entry.isFile && OBJECT_NAME.test(entry.name)) names.push(entry.name);
    }
    return names;
  }

  /** The stored bytes (untrusted until the store checks them). */
  async getObject(kind: ObjectKind, name: string): Promise<Uint8Array | undefined> {
    checkName(name);
    return await readFileIfExists(`${this.root}/${kind}/${name}`);
  }

  /**
   * `transitions/latest` with the SHA-256 of its bytes as version (hashed in this thread: the
   * Coordinator reads latest before every answer, and the record is a few hundred bytes).
   * Concurrent calls share a read that started after each of them (see {@link FreshRead}).
   */
  readLatest(): Promise<LatestRecord | undefined> {
    return this.#latest.read();
  }

  /** Reads of latest, coalesced: each caller is served a read that started after it asked. */
  readonly #latest = new FreshRead(() => this.#readLatestNow());

  /** One read of `transitions/latest`. */
  async #readLatestNow(): Promise<LatestRecord | undefined> {
    const bytes = await readFileIfExists(`${this.root}/transitions/latest`);
    if (bytes === undefined) return undefined;
    return { bytes, version: encodeHex(digestSync("SHA-256", bytes)) };
  }

  /** Swaps `transitions/latest` under the exclusive lock when its version is still expected. */
  compareAndSwapLatest(
    expectedVersion: string | undefined,
    bytes: Uint8Array,
  ): Promise<string | undefined> {
    const run = this.#queue.then(() => this.#swap(expectedVersion, bytes));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #swap(expectedVersion: string | undefined, bytes: Uint8Array) {
    const lock = await Deno.open(`${this.root}/.lock`, {
      read: true,
      write: true,
      create: true,
      mode: 0o600,
    });
    try {
      await lock.lock(true);
      const current = await this.#readLatestNow();
      if (current?.version !== expectedVersion) return undefined;
      await writeFileAtomically(`${this.root}/transitions`, "latest", bytes);
      return encodeHex(await sha256(bytes));
    } finally {
      lock.close();
    }
  }
}
