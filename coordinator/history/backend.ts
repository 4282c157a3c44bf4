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
 * A Kubernetes ConfigMap backend fits this interface unchanged: each object is a ConfigMap named
 * `contrast-history-<kind>-<sha256>` with the bytes under `binaryData`, created with POST (an
 * `AlreadyExists` conflict means the same bytes are already there); latest is the ConfigMap
 * `contrast-history-latest`, `version` is its `metadata.resourceVersion`, a swap is a PUT carrying
 * `metadata.resourceVersion = expected` (HTTP 409 Conflict → lost, return `undefined`), and a
 * swap from "absent" is a POST (409 AlreadyExists → lost).
 *
 * @module
 */

/** The content-addressed object kinds, named as the store's folders. */
export type ObjectKind = "manifests" | "policies" | "transitions";

/** Every object kind. */
export const OBJECT_KINDS: readonly ObjectKind[] = ["manifests", "policies", "transitions"];

/** The stored latest record with its version token. */
export interface LatestRecord {
  /** The bytes as stored (untrusted until verified). */
  readonly bytes: Uint8Array;
  /** Opaque version: pass it to {@link HistoryBackend.compareAndSwapLatest}. */
  readonly version: string;
}

/** Storage of the manifest history (files, memory, Kubernetes ConfigMaps). */
export interface HistoryBackend {
  /**
   * Stores an object under `name` (64 lower-case hex: the SHA-256 of `bytes`). Idempotent. Must be
   * durable when the promise resolves.
   */
  putObject(kind: ObjectKind, name: string, bytes: Uint8Array): Promise<void>;
  /** The stored bytes of an object, or `undefined` when there is none (untrusted until checked). */
  getObject(kind: ObjectKind, name: string): Promise<Uint8Array | undefined>;
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
}
