/**
 * The verified layer over a {@link HistoryBackend}: content-addressed manifests, policies and
 * transitions, and the signed latest transition. Every read re-checks: an object's bytes must
 * hash to its name, a transition must be exactly 64 bytes, and latest must be signed by the
 * history key. Nothing read from storage is trusted before that.
 *
 * `transitions/latest` is 128 bytes: the 32-byte transition hash followed by a 96-byte P-384
 * ECDSA signature (IEEE P1363 r ‖ s, SHA-384) over UTF-8 `contrast history latest v1\n` ‖ the
 * transition hash ({@link LATEST_SIGNATURE_CONTEXT}).
 *
 * @module
 */
import { concatBytes, constantTimeEqual, encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { ParseError } from "../../util/errors/mod.ts";
import { HASH_LENGTH, transitionBody } from "../../manifest/hash.ts";
import type { HistoryBackend, ObjectKind } from "./backend.ts";
import { HistoryCorruptionError } from "./errors.ts";

/** The context string prefixed to the transition hash before signing latest. */
const LATEST_SIGNATURE_CONTEXT: Uint8Array = new TextEncoder().encode(
  "contrast history latest v1\n",
);
/** Length of a P-384 P1363 signature. */
const LATEST_SIGNATURE_LENGTH = 96;
/** Length of the latest record. */
export const LATEST_RECORD_LENGTH = HASH_LENGTH + LATEST_SIGNATURE_LENGTH;

const ECDSA_P384 = { name: "ECDSA", hash: "SHA-384" } as const;

/** A transition as stored: manifest hash ‖ previous transition hash. */
interface StoredTransition {
  readonly manifestHash: Uint8Array;
  readonly previousTransition: Uint8Array;
}

/** The verified latest transition with the backend version to swap against. */
interface VerifiedLatest {
  readonly transitionHash: Uint8Array;
  readonly version: string;
  /** The record's bytes as read, its signature checked (what a backup may keep). */
  readonly record: Uint8Array;
}

/** The signed latest record for `transitionHash` (the `latest-transition` file format). */
export async function signLatestTransition(
  transitionHash: Uint8Array,
  signingKey: CryptoKey,
): Promise<Uint8Array> {
  if (transitionHash.length !== HASH_LENGTH) {
    throw new ParseError("transitionHash", `expected ${HASH_LENGTH} bytes`);
  }
  const signature = await crypto.subtle.sign(
    ECDSA_P384,
    signingKey,
    concatBytes(LATEST_SIGNATURE_CONTEXT, transitionHash) as Uint8Array<ArrayBuffer>,
  );
  return concatBytes(transitionHash, new Uint8Array(signature));
}

/**
 * Checks a signed latest record against the history public key.
 *
 * @returns the transition hash it names
 * @throws {HistoryCorruptionError} naming `field` when the record is malformed or not signed by
 *   `publicKey`
 */
async function verifyLatestTransition(
  record: Uint8Array,
  publicKey: CryptoKey,
  field = "transitions/latest",
): Promise<Uint8Array> {
  if (record.length !== LATEST_RECORD_LENGTH) {
    throw new HistoryCorruptionError(
      field,
      `torn or malformed: expected ${LATEST_RECORD_LENGTH} bytes, got ${record.length}`,
    );
  }
  const transitionHash = record.slice(0, HASH_LENGTH);
  let valid = false;
  try {
    valid = await crypto.subtle.verify(
      ECDSA_P384,
      publicKey,
      record.slice(HASH_LENGTH) as Uint8Array<ArrayBuffer>,
      concatBytes(LATEST_SIGNATURE_CONTEXT, transitionHash) as Uint8Array<ArrayBuffer>,
    );
  } catch (e) {
    throw new HistoryCorruptionError(field, "signature could not be checked", { cause: e });
  }
  if (!valid) throw new HistoryCorruptionError(field, "not signed by the history signing key");
  return transitionHash;
}

/** Verified access to the stored history. */
export class HistoryStore {
  readonly #backend: HistoryBackend;
  readonly #publicKey: CryptoKey;

  /**
   * @param historyPublicKey the P-384 public key of the history signing key; latest records not
   *   signed by it are rejected
   */
  constructor(backend: HistoryBackend, historyPublicKey: CryptoKey) {
    this.#backend = backend;
    this.#publicKey = historyPublicKey;
  }

  async #put(kind: ObjectKind, bytes: Uint8Array): Promise<Uint8Array> {
    const hash = await sha256(bytes);
    await this.#backend.putObject(kind, encodeHex(hash), bytes);
    return hash;
  }

  async #get(kind: ObjectKind, hash: Uint8Array): Promise<Uint8Array> {
    const name = encodeHex(hash);
    const field = `${kind}/${name}`;
    const bytes = await this.#backend.getObject(kind, name);
    if (bytes === undefined) throw new HistoryCorruptionError(field, "missing from the store");
    if (!constantTimeEqual(await sha256(bytes), hash)) {
      throw new HistoryCorruptionError(field, "content does not match its hash (corrupted)");
    }
    return bytes;
  }

  /** Stores manifest bytes; returns their SHA-256 (the manifest hash). */
  putManifest(bytes: Uint8Array): Promise<Uint8Array> {
    return this.#put("manifests", bytes);
  }

  /** The manifest with `hash`, checked against it. */
  getManifest(hash: Uint8Array): Promise<Uint8Array> {
    return this.#get("manifests", hash);
  }

  /** Stores an initdata (policy) document; returns its SHA-256. */
  putPolicy(bytes: Uint8Array): Promise<Uint8Array> {
    return this.#put("policies", bytes);
  }

  /** The policy document with SHA-256 `hash`, checked against it. */
  getPolicy(hash: Uint8Array): Promise<Uint8Array> {
    return this.#get("policies", hash);
  }

  /** Stores a transition; returns its hash SHA-256(manifest hash ‖ previous). */
  putTransition(manifestHash: Uint8Array, previousTransition: Uint8Array): Promise<Uint8Array> {
    return this.#put("transitions", transitionBody(manifestHash, previousTransition));
  }

  /** The transition with `hash`, checked against it. */
  async getTransition(hash: Uint8Array): Promise<StoredTransition> {
    const bytes = await this.#get("transitions", hash);
    if (bytes.length !== 2 * HASH_LENGTH) {
      throw new HistoryCorruptionError(
        `transitions/${encodeHex(hash)}`,
        `expected ${2 * HASH_LENGTH} bytes, got ${bytes.length}`,
      );
    }
    return {
      manifestHash: bytes.slice(0, HASH_LENGTH),
      previousTransition: bytes.slice(HASH_LENGTH),
    };
  }

  /**
   * Stores the workload owner's signature over `transitionHash` (an annex: checked by whoever
   * reads it against the owner keys that apply).
   */
  async putOwnerSignature(transitionHash: Uint8Array, signature: Uint8Array): Promise<void> {
    await this.#backend.putObject("signatures", encodeHex(transitionHash), signature);
  }

  /** The stored owner signature over `transitionHash`, or `undefined` (unverified). */
  getOwnerSignature(transitionHash: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#backend.getObject("signatures", encodeHex(transitionHash));
  }

  /**
   * Stores the seed-share document of the history starting at `firstTransition` (public-key
   * encrypted, so storing it reveals nothing; a seed from it is accepted only if its history key
   * verifies the history).
   */
  async putSeedShares(firstTransition: Uint8Array, document: Uint8Array): Promise<void> {
    await this.#backend.putObject("seedshares", encodeHex(firstTransition), document);
  }

  /** The stored seed-share document of the history starting at `firstTransition` (unverified). */
  getSeedShares(firstTransition: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#backend.getObject("seedshares", encodeHex(firstTransition));
  }

  /**
   * The latest transition, its signature checked, or `undefined` for an empty history.
   *
   * @throws {HistoryCorruptionError} when latest is torn, malformed or signed by another key
   */
  async readLatest(): Promise<VerifiedLatest | undefined> {
    const record = await this.#backend.readLatest();
    if (record === undefined) return undefined;
    return {
      transitionHash: await verifyLatestTransition(record.bytes, this.#publicKey),
      version: record.version,
      record: record.bytes.slice(),
    };
  }

  /**
   * Whether a latest record exists, without checking it: only for deciding that a restarted
   * Coordinator without its seed must enter recovery mode. Never use its content.
   */
  async hasLatest(): Promise<boolean> {
    return (await this.#backend.readLatest()) !== undefined;
  }

  /**
   * Signs `transitionHash` and swaps it in as latest if latest is still at `expectedVersion`.
   *
   * @returns whether this writer won the swap
   */
  async swapLatest(
    expectedVersion: string | undefined,
    transitionHash: Uint8Array,
    signingKey: CryptoKey,
  ): Promise<boolean> {
    return (await this.swapLatestRecord(expectedVersion, transitionHash, signingKey)) !==
      undefined;
  }

  /**
   * Like {@link swapLatest}, returning the signed record this writer stored.
   *
   * @returns the record, or `undefined` when another writer moved latest first
   */
  async swapLatestRecord(
    expectedVersion: string | undefined,
    transitionHash: Uint8Array,
    signingKey: CryptoKey,
  ): Promise<Uint8Array | undefined> {
    const record = await signLatestTransition(transitionHash, signingKey);
    const version = await this.#backend.compareAndSwapLatest(expectedVersion, record);
    return version === undefined ? undefined : record;
  }
}
