/** Shared helpers of the history tests. */
import type {
  HistoryBackend,
  LatestRecord,
  ObjectKind,
} from "../../../coordinator/history/backend.ts";
import { MemoryHistoryBackend } from "../../../coordinator/history/memory_backend.ts";
import { SeedEngine } from "../../../seed/seed_engine.ts";

/** A deterministic history signing key for tests (seed of `fill`). */
export async function historyKey(fill = 1): Promise<CryptoKeyPair> {
  return await SeedEngine.fromSeed(new Uint8Array(64).fill(fill), new Uint8Array(32).fill(fill))
    .historySigningKey();
}

/** Manifest bytes number `i` (distinct per i). */
export function manifestBytes(i: number): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ Policies: {}, n: i }));
}

/** A policy document number `i`. */
export function policyBytes(i: number): Uint8Array {
  return new TextEncoder().encode(`version = "0.1.0"\n# policy ${i}\n`);
}

/**
 * Wraps a backend and lets a test replace or delete what it returns, the way a corrupted disk or
 * a malicious storage operator would. `name` is `latest` or `<kind>/<sha256>`; `null` deletes.
 */
export class TamperingBackend implements HistoryBackend {
  readonly #inner: HistoryBackend;
  readonly #overrides = new Map<string, Uint8Array | null>();

  constructor(inner: HistoryBackend = new MemoryHistoryBackend()) {
    this.#inner = inner;
  }

  /** From now on, reads of `name` return `bytes` (`null`: nothing stored). */
  tamper(name: string, bytes: Uint8Array | null): void {
    this.#overrides.set(name, bytes && bytes.slice());
  }

  putObject(kind: ObjectKind, name: string, bytes: Uint8Array): Promise<void> {
    return this.#inner.putObject(kind, name, bytes);
  }

  getObject(kind: ObjectKind, name: string): Promise<Uint8Array | undefined> {
    const key = `${kind}/${name}`;
    if (this.#overrides.has(key)) return Promise.resolve(this.#overrides.get(key) ?? undefined);
    return this.#inner.getObject(kind, name);
  }

  listObjects(kind: ObjectKind): Promise<string[]> {
    return this.#inner.listObjects(kind);
  }

  async readLatest(): Promise<LatestRecord | undefined> {
    const real = await this.#inner.readLatest();
    if (!this.#overrides.has("latest")) return real;
    const bytes = this.#overrides.get("latest");
    return bytes ? { bytes, version: real?.version ?? "tampered" } : undefined;
  }

  compareAndSwapLatest(expected: string | undefined, bytes: Uint8Array) {
    return this.#inner.compareAndSwapLatest(expected, bytes);
  }
}
