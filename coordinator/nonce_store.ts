/**
 * Single-use, expiring challenge nonces of the mesh API (`POST /mesh/challenge`), which a
 * recovering peer Coordinator binds in its `POST /peer/seed` evidence (a pod's certificate
 * request binds its TLS connection instead). A nonce is accepted once, only before it expires. What strangers can hold is bounded twice: one client (by address) holds at most
 * `perClient` outstanding nonces (a new one replaces that client's oldest), and the store holds
 * at most `capacity` (expired ones are dropped first; when it is still full a new challenge is
 * refused with 503). A flood therefore never evicts another client's nonce: a peer waiting to
 * redeem its challenge keeps it until it expires.
 *
 * @module
 */
import { encodeHex } from "../util/bytes/mod.ts";
import { UnavailableError } from "../util/errors/mod.ts";
import { ForbiddenError } from "../protocol/errors.ts";
import { NONCE_LENGTH } from "../protocol/report_data.ts";
import { DEFAULT_CHALLENGE_TTL_MS } from "./test_only_challenge_ttl.ts";

/** Options of a {@link NonceStore}. */
interface NonceStoreOptions {
  /** Lifetime of a nonce in milliseconds (default 60 s). */
  readonly ttlMs?: number;
  /** Largest number of outstanding nonces (default 100 000). */
  readonly capacity?: number;
  /** Largest number of outstanding nonces of one client (default 32). */
  readonly perClient?: number;
  /** The clock (default `Date.now`). */
  readonly now?: () => number;
}

interface Outstanding {
  readonly expiry: number;
  readonly client: string;
}

/** Issues and redeems challenge nonces. */
export class NonceStore {
  readonly #ttlMs: number;
  readonly #capacity: number;
  readonly #perClient: number;
  readonly #now: () => number;
  /** hex nonce → expiry and client; insertion order is issue (and so expiry) order. */
  readonly #outstanding = new Map<string, Outstanding>();
  /** client → its outstanding nonces, oldest first. */
  readonly #byClient = new Map<string, string[]>();

  constructor(options: NonceStoreOptions = {}) {
    this.#ttlMs = options.ttlMs ?? DEFAULT_CHALLENGE_TTL_MS;
    this.#capacity = options.capacity ?? 100_000;
    this.#perClient = options.perClient ?? 32;
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

  #forget(key: string): void {
    const entry = this.#outstanding.get(key);
    if (!entry) return;
    this.#outstanding.delete(key);
    const list = this.#byClient.get(entry.client);
    if (!list) return;
    const at = list.indexOf(key);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.#byClient.delete(entry.client);
  }

  /**
   * A fresh random nonce for `client` (its address), valid once until it expires.
   *
   * @throws {UnavailableError} naming `nonce` when the store is full of unexpired nonces (503)
   */
  issue(client = ""): Uint8Array {
    const now = this.#now();
    for (const [key, entry] of this.#outstanding) {
      if (entry.expiry > now) break;
      this.#forget(key);
    }
    const own = this.#byClient.get(client);
    while (own && own.length >= this.#perClient) this.#forget(own[0]!);
    if (this.#outstanding.size >= this.#capacity) {
      throw new UnavailableError("nonce", "too many outstanding challenges; retry later");
    }
    const nonce = crypto.getRandomValues(new Uint8Array(NONCE_LENGTH));
    const key = encodeHex(nonce);
    this.#outstanding.set(key, { expiry: now + this.#ttlMs, client });
    const list = this.#byClient.get(client) ?? [];
    list.push(key);
    this.#byClient.set(client, list);
    return nonce;
  }

  /**
   * Consumes `nonce`: succeeds once for a nonce this store issued that has not expired.
   *
   * @throws {ForbiddenError} naming `nonce` when it is unknown, used or expired
   */
  redeem(nonce: Uint8Array): void {
    const key = encodeHex(nonce);
    const entry = this.#outstanding.get(key);
    this.#forget(key);
    if (entry === undefined) {
      throw new ForbiddenError("nonce", "unknown or already used challenge nonce");
    }
    if (entry.expiry <= this.#now()) throw new ForbiddenError("nonce", "challenge nonce expired");
  }
}
