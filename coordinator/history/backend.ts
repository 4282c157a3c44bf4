/**
 * The storage interface under the manifest history. A backend stores opaque bytes; it does not
 * verify anything (the {@link import("./history_store.ts").HistoryStore} re-checks every hash
 * and signature on every read). It offers two kinds of records:
 *
 * - **objects**, content-addressed by the lower-case hex SHA-256 of their bytes, in three kinds
 *   (`manifests`, `policies`, `transitions`). Writing is idempotent; an object is never changed.
 * - **latest**, the one mutable record, with an opaque `version` token and compare-and-swap:
 *   `compareAndSwapLatest(expected, bytes)` writes only if the stored version is still
 *   `expected`, so of several writers that read the same version exactly one wins.
 *
 * - **annexes** of a transition, named by the transition's hash: `signatures` (the workload
 *   owner's signature over that transition) and `seedshares` (the public-key encrypted seed-share
 *   document of a history's first transition). An annex is self-authenticating (a signature is
 *   checked against owner keys, a seed against the history key), so a later write may replace
 *   it: a retried first `set` stores a new seed's shares under the same transition.
 *
 * Backends: files (`file_backend.ts`, one machine), memory (tests) and Kubernetes ConfigMaps
 * (`kubernetes_backend.ts`, shared by Coordinator replicas; version = `resourceVersion`). A
 * backend shared by several processes offers {@link HistoryBackend.watchLatest} so a replica
 * learns of a transition another one made at once.
 *
 * @module
 */

/** The content-addressed object kinds (named by the SHA-256 of their bytes). */
type ContentKind = "manifests" | "policies" | "transitions";

/** The annex kinds (named by the hash of the transition they belong to; replaceable). */
type AnnexKind = "signatures" | "seedshares";

/** Every kind of stored object, named as the store's folders. */
export type ObjectKind = ContentKind | AnnexKind;

/** Every object kind. */
export const OBJECT_KINDS: readonly ObjectKind[] = [
  "manifests",
  "policies",
  "transitions",
  "signatures",
  "seedshares",
];

/** Whether objects of `kind` are annexes (named by a transition, replaceable). */
export function isAnnexKind(kind: ObjectKind): kind is AnnexKind {
  return kind === "signatures" || kind === "seedshares";
}

/** The stored latest record with its version token. */
export interface LatestRecord {
  /** The bytes as stored (untrusted until verified). */
  readonly bytes: Uint8Array;
  /** Opaque version: pass it to {@link HistoryBackend.compareAndSwapLatest}. */
  readonly version: string;
}

/** A running watch on latest. */
export interface LatestWatch {
  /** Stops watching. */
  stop(): Promise<void>;
}

/** Storage of the manifest history (files, memory, Kubernetes ConfigMaps). */
export interface HistoryBackend {
  /**
   * Stores an object under `name` (64 lower-case hex: the SHA-256 of `bytes`, or for an annex the
   * transition hash). Idempotent for content objects; an annex is replaced by new bytes. Must be
   * durable when the promise resolves.
   */
  putObject(kind: ObjectKind, name: string, bytes: Uint8Array): Promise<void>;
  /** The stored bytes of an object, or `undefined` when there is none (untrusted until checked). */
  getObject(kind: ObjectKind, name: string): Promise<Uint8Array | undefined>;
  /** The names of every stored object of `kind` (any order; untrusted). */
  listObjects(kind: ObjectKind): Promise<string[]>;
  /** The latest record, or `undefined` when the history is empty. */
  readLatest(): Promise<LatestRecord | undefined>;
  /**
   * Replaces latest with `bytes` if its version is still `expectedVersion` (`undefined`: latest
   * must not exist yet). Durable when the promise resolves.
   *
   * @returns the new version, or `undefined` when another writer changed latest first
   */
  compareAndSwapLatest(
    expectedVersion: string | undefined,
    bytes: Uint8Array,
  ): Promise<string | undefined>;
  /**
   * Calls `onChange` (soon) after latest may have changed by another writer: re-read it then.
   * Optional: without it, readers notice changes when they re-read latest before answering.
   */
  watchLatest?(onChange: () => void): LatestWatch;
}
