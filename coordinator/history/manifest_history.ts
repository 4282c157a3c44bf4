/**
 * The manifest history: an append-only hash chain of manifests, each transition
 * SHA-256(manifest hash ‖ previous transition), the newest named by the signed latest record.
 * Appends are atomic: everything a transition references is durably stored before latest moves,
 * and latest moves by compare-and-swap, so two writers can never both extend the same state.
 *
 * @module
 */
import { constantTimeEqual, encodeHex } from "../../util/bytes/mod.ts";
import { ParseError, UnavailableError } from "../../util/errors/mod.ts";
import {
  GENESIS_TRANSITION,
  HASH_LENGTH,
  manifestHash,
  transitionHash,
} from "../../manifest/hash.ts";
import type { HistoryBackend } from "./backend.ts";
import { HistoryCorruptionError, StaleTransitionError } from "./errors.ts";
import { HistoryStore } from "./history_store.ts";

/** One verified step of the history. */
export interface HistoryEntry {
  /** SHA-256(manifest hash ‖ previous transition). */
  readonly transitionHash: Uint8Array;
  /** SHA-256 of the manifest bytes. */
  readonly manifestHash: Uint8Array;
  /** The transition before this one (32 zero bytes for the first manifest). */
  readonly previousTransition: Uint8Array;
  /** The exact manifest bytes. */
  readonly manifestBytes: Uint8Array;
  /** The workload owner's signature over the transition hash, when stored (unverified). */
  readonly ownerSignature?: Uint8Array;
}

/** What to append. */
interface AppendRequest {
  /** The exact manifest bytes (hashed as they are). */
  readonly manifestBytes: Uint8Array;
  /** The initdata documents of the manifest's policies (stored by their SHA-256). */
  readonly policies: readonly Uint8Array[];
  /**
   * The transition the writer saw as latest: 32 zero bytes ({@link GENESIS_TRANSITION}) for the
   * first manifest. The append fails with {@link StaleTransitionError} when it is not the latest.
   */
  readonly expectedPrevious: Uint8Array;
  /** The workload owner's signature over the new transition hash, stored with it. */
  readonly ownerSignature?: Uint8Array;
  /**
   * Builds the seed-share document to store with a first transition (given its hash) before
   * latest moves, so a crash before the answer reaches the owner loses nothing.
   */
  readonly seedShares?: (transitionHash: Uint8Array) => Promise<Uint8Array>;
}

/** An appended entry with the signed latest record that made it latest. */
interface AppendedEntry extends HistoryEntry {
  /** The latest record this append stored (transition ‖ history-key signature). */
  readonly latestRecord: Uint8Array;
}

/** The verified chain with the latest record it was read from. */
interface VerifiedChain {
  /** Every entry, oldest first (empty for an empty history). */
  readonly entries: HistoryEntry[];
  /** The latest record as read, its signature checked (absent for an empty history). */
  readonly latestRecord?: Uint8Array;
}

/** Upper bound on chain length walked, against a corrupted store that loops. */
export const MAX_CHAIN_LENGTH = 1_000_000;

/** Append, read and walk the manifest history. */
export class ManifestHistory {
  /** The verified store underneath. */
  readonly store: HistoryStore;

  constructor(store: HistoryStore) {
    this.store = store;
  }

  /** The history over `backend`, trusting latest records signed by `historyPublicKey`. */
  static open(backend: HistoryBackend, historyPublicKey: CryptoKey): ManifestHistory {
    return new ManifestHistory(new HistoryStore(backend, historyPublicKey));
  }

  /**
   * Appends a manifest after `expectedPrevious`, signing the new latest with `signingKey`.
   *
   * @returns the new entry once it is durable and latest
   * @throws {StaleTransitionError} when `expectedPrevious` is not the latest transition or a
   *   concurrent writer moved latest first (HTTP 409)
   * @throws {HistoryCorruptionError} when the stored latest does not verify
   */
  async append(request: AppendRequest, signingKey: CryptoKey): Promise<AppendedEntry> {
    if (request.expectedPrevious.length !== HASH_LENGTH) {
      throw new ParseError(
        "previous_transition",
        `expected ${HASH_LENGTH} bytes, got ${request.expectedPrevious.length}`,
      );
    }
    const latest = await this.store.readLatest();
    const current = latest?.transitionHash ?? GENESIS_TRANSITION;
    if (!constantTimeEqual(current, request.expectedPrevious)) {
      throw new StaleTransitionError(encodeHex(request.expectedPrevious), encodeHex(current));
    }
    for (const policy of request.policies) await this.store.putPolicy(policy);
    const mh = await this.store.putManifest(request.manifestBytes);
    const th = await this.store.putTransition(mh, current);
    if (request.ownerSignature) await this.store.putOwnerSignature(th, request.ownerSignature);
    if (request.seedShares) await this.store.putSeedShares(th, await request.seedShares(th));
    const latestRecord = await this.#swap(latest?.version, th, signingKey);
    if (latestRecord === undefined) {
      const now = await this.store.readLatest();
      const actual = encodeHex(now?.transitionHash ?? GENESIS_TRANSITION);
      throw new StaleTransitionError(
        encodeHex(request.expectedPrevious),
        actual,
        `lost the update race: another writer moved latest to ${actual}`,
      );
    }
    return {
      transitionHash: th,
      manifestHash: mh,
      previousTransition: current,
      manifestBytes: request.manifestBytes.slice(),
      ...(request.ownerSignature ? { ownerSignature: request.ownerSignature.slice() } : {}),
      latestRecord,
    };
  }

  /**
   * Swaps latest to `th`; when the swap's answer is lost (the backend reports it unavailable: a
   * connection cut after the write, a deadline passed while it landed), reads latest again and
   * takes the swap as done if latest names `th` under this history key. A first `set` would
   * otherwise drop the seed that now signs the stored history.
   *
   * @returns the stored record, or `undefined` when another writer moved latest first
   * @throws {UnavailableError} when the swap failed and latest does not name `th`
   */
  async #swap(
    expectedVersion: string | undefined,
    th: Uint8Array,
    signingKey: CryptoKey,
  ): Promise<Uint8Array | undefined> {
    try {
      return await this.store.swapLatestRecord(expectedVersion, th, signingKey);
    } catch (error) {
      if (!(error instanceof UnavailableError)) throw error;
      const now = await this.store.readLatest().catch(() => undefined);
      if (now && constantTimeEqual(now.transitionHash, th)) return now.record;
      throw error;
    }
  }

  async #entry(th: Uint8Array): Promise<HistoryEntry> {
    const transition = await this.store.getTransition(th);
    const manifestBytes = await this.store.getManifest(transition.manifestHash);
    const ownerSignature = await this.store.getOwnerSignature(th);
    return {
      transitionHash: th,
      manifestHash: transition.manifestHash,
      previousTransition: transition.previousTransition,
      manifestBytes,
      ...(ownerSignature ? { ownerSignature } : {}),
    };
  }

  /** The latest entry, fully verified, or `undefined` for an empty history. */
  async latest(): Promise<HistoryEntry | undefined> {
    const latest = await this.store.readLatest();
    return latest && this.#entry(latest.transitionHash);
  }

  /**
   * Every entry from the first manifest to latest (oldest first), each transition and manifest
   * re-checked against its hash.
   *
   * @throws {HistoryCorruptionError} when any link is missing, corrupted or loops
   */
  async chain(): Promise<HistoryEntry[]> {
    return (await this.verifiedChain()).entries;
  }

  /**
   * Like {@link chain}, with the latest record the chain was walked from (its signature checked),
   * read once: the record and the entries belong together.
   */
  async verifiedChain(): Promise<VerifiedChain> {
    const latest = await this.store.readLatest();
    if (!latest) return { entries: [] };
    const entries: HistoryEntry[] = [];
    const seen = new Set<string>();
    let th = latest.transitionHash;
    while (!constantTimeEqual(th, GENESIS_TRANSITION)) {
      const name = encodeHex(th);
      if (seen.has(name) || entries.length >= MAX_CHAIN_LENGTH) {
        throw new HistoryCorruptionError(`transitions/${name}`, "history loops");
      }
      seen.add(name);
      const entry = await this.#entry(th);
      // The content address already binds these; recomputing documents the invariant.
      const recomputed = await transitionHash(
        await manifestHash(entry.manifestBytes),
        entry.previousTransition,
      );
      if (!constantTimeEqual(recomputed, th)) {
        throw new HistoryCorruptionError(`transitions/${name}`, "does not hash to its name");
      }
      entries.push(entry);
      th = entry.previousTransition;
    }
    return { entries: entries.reverse(), latestRecord: latest.record };
  }

  /** The stored initdata document with SHA-256 `digest` (32 bytes), checked against it. */
  policy(digest: Uint8Array): Promise<Uint8Array> {
    return this.store.getPolicy(digest);
  }
}
