/**
 * Single-use, expiring challenge nonces of the mesh API. A nonce is accepted once, only before
 * it expires; the store holds at most `capacity` outstanding nonces (expired ones are dropped
 * first, then the oldest), so a flood of challenges cannot grow memory without bound.
 *
 * @module
 */
import { encodeHex } from "../util/bytes/mod.ts";
import { ForbiddenError } from "../protocol/errors.ts";
import { NONCE_LENGTH } from "../protocol/report_data.ts";

/** Options of a {@link NonceStore}. */
export interface NonceStoreOptions {
  /** Lifetime of a nonce in milliseconds (default 60 s). */
  readonly ttlMs?: number;
  /** Largest number of outstanding nonces (default 100 000). */
  readonly capacity?: number;
  /** The clock (default `Date.now`). */
  readonly now?: () => number;
}

/** Issues and redeems challenge nonces. */
export class NonceStore {
  readonly #ttlMs: number;
  readonly #capacity: number;
  readonly #now: () => number;
  /** hex nonce → expiry (ms); insertion order is issue order. */
  readonly #outstanding = new Map<string, number>();

  constructor(options: NonceStoreOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 60_000;
    this.#capacity = options.capacity ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** Lifetime of a nonce in milliseconds. */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** Number of outstanding nonces. */
  get size(): number {
    return this.#outstanding.size;
  }

  /** A fresh random nonce, valid once until it expires. */
  issue(): Uint8Array {
    const now = this.#now();
    for (const [key, expiry] of this.#outstanding) {
      if (expiry > now && this.#outstanding.size < this.#capacity) break;
      this.#outstanding.delete(key);
    }
    const nonce = crypto.getRandomValues(new Uint8Array(NONCE_LENGTH));
    this.#outstanding.set(encodeHex(nonce), now + this.#ttlMs);
    return nonce;
  }

  /**
   * Consumes `nonce`: succeeds once for a nonce this store issued that has not expired.
   *
   * @throws {ForbiddenError} naming `nonce` when it is unknown, used or expired
   */
  redeem(nonce: Uint8Array): void {
    const key = encodeHex(nonce);
    const expiry = this.#outstanding.get(key);
    this.#outstanding.delete(key);
    if (expiry === undefined) {
      throw new ForbiddenError("nonce", "unknown or already used challenge nonce");
    }
    if (expiry <= this.#now()) throw new ForbiddenError("nonce", "challenge nonce expired");
  }
}
