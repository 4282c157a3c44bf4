/**
 * An in-memory {@link HistoryBackend} for unit tests and ephemeral runs. Versions are a counter,
 * so compare-and-swap works exactly like a ConfigMap's resourceVersion.
 *
 * @module
 */
import { type HistoryBackend, isAnnexKind, type LatestRecord, type ObjectKind } from "./backend.ts";

/** Keeps the history in maps; lost when the process ends. */
export class MemoryHistoryBackend implements HistoryBackend {
  readonly #objects = new Map<string, Uint8Array>();
  #latest?: LatestRecord;
  #counter = 0;

  /** Stores a copy of `bytes` (idempotent; an annex is replaced). */
  putObject(kind: ObjectKind, name: string, bytes: Uint8Array): Promise<void> {
    const key = `${kind}/${name}`;
    if (!this.#objects.has(key) || isAnnexKind(kind)) this.#objects.set(key, bytes.slice());
    return Promise.resolve();
  }

  /** The names stored under `kind`. */
  listObjects(kind: ObjectKind): Promise<string[]> {
    const prefix = `${kind}/`;
    return Promise.resolve(
      [...this.#objects.keys()].filter((k) => k.startsWith(prefix)).map((k) =>
        k.slice(prefix.length)
      ),
    );
  }

  /** Forgets everything (what an infrastructure reset does to a Coordinator's storage). */
  clear(): void {
    this.#objects.clear();
    this.#latest = undefined;
  }

  /** A copy of the stored bytes. */
  getObject(kind: ObjectKind, name: string): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.#objects.get(`${kind}/${name}`)?.slice());
  }

  /** A copy of latest with its version. */
  readLatest(): Promise<LatestRecord | undefined> {
    const latest = this.#latest;
    return Promise.resolve(latest && { bytes: latest.bytes.slice(), version: latest.version });
  }

  /** Swaps latest when its version is still `expectedVersion`. */
  compareAndSwapLatest(
    expectedVersion: string | undefined,
    bytes: Uint8Array,
  ): Promise<string | undefined> {
    if (this.#latest?.version !== expectedVersion) return Promise.resolve(undefined);
    const version = String(++this.#counter);
    this.#latest = { bytes: bytes.slice(), version };
    return Promise.resolve(version);
  }
}
