/**
 * The seed engine: the Coordinator's one long-term secret (a 64-byte seed and a 32-byte salt) and
 * everything derived from it with HKDF-SHA256 (IKM = seed, salt = salt):
 *
 * | derivation            | HKDF info                   | output                              |
 * | --------------------- | --------------------------- | ----------------------------------- |
 * | root CA key           | `ROOT CA KEY`               | 64 bytes → P-384 key (seed/p384.ts) |
 * | history signing key   | `HISTORY SIGNING KEY`       | 64 bytes → P-384 key                |
 * | workload secret `id`  | `WORKLOAD SECRET ID: <id>`  | 32 bytes                            |
 * | mesh CA key of `t`    | `MESH CA KEY: <hex of t>`   | 64 bytes → P-384 key                |
 * | transit key           | `TRANSIT KEY: [id,label,v]` | 32 bytes (AES-256; JSON array)      |
 *
 * Same seed and salt → same keys and secrets, so they survive restarts and recovery. The mesh CA
 * key is derived per transition `t` (the 32-byte transition hash that made a manifest active): a
 * new manifest gets a new mesh CA, and every replica, restarted or recovered Coordinator with the
 * seed issues under the same mesh CA for the same transition.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";
import { hkdfSha256 } from "./hkdf.ts";
import { type DerivedP384Key, deriveP384Key, P384_SECRET_LENGTH } from "./p384.ts";

/** HKDF info prefix of the mesh CA key; the lower-case hex transition hash follows. */
const MESH_CA_KEY_INFO_PREFIX = "MESH CA KEY: ";

/** Length of the seed in bytes. */
export const SEED_LENGTH = 64;
/** Length of the salt in bytes. */
export const SALT_LENGTH = 32;
/** Length of a workload secret in bytes. */
const WORKLOAD_SECRET_LENGTH = 32;

/** HKDF info of the root CA key. */
const ROOT_CA_KEY_INFO = "ROOT CA KEY";
/** HKDF info of the history signing key. */
const HISTORY_SIGNING_KEY_INFO = "HISTORY SIGNING KEY";
/** HKDF info prefix of workload secrets; the id follows. */
const WORKLOAD_SECRET_INFO_PREFIX = "WORKLOAD SECRET ID: ";

/** HKDF info prefix of transit keys; the JSON array `[id, label, version]` follows. */
const TRANSIT_KEY_INFO_PREFIX = "TRANSIT KEY: ";

/** Holds the seed and salt and derives keys and secrets from them. */
export class SeedEngine {
  readonly #seed: Uint8Array;
  readonly #salt: Uint8Array;
  #rootCaKey?: Promise<DerivedP384Key>;
  #historyKey?: Promise<DerivedP384Key>;

  private constructor(seed: Uint8Array, salt: Uint8Array) {
    this.#seed = seed.slice();
    this.#salt = salt.slice();
  }

  /** A new engine with a fresh random seed and salt (first manifest). */
  static create(): SeedEngine {
    return new SeedEngine(
      crypto.getRandomValues(new Uint8Array(SEED_LENGTH)),
      crypto.getRandomValues(new Uint8Array(SALT_LENGTH)),
    );
  }

  /**
   * The engine for a known seed and salt (restart, recovery).
   *
   * @throws {ParseError} naming `seed` or `salt` when a length is wrong
   */
  static fromSeed(seed: Uint8Array, salt: Uint8Array): SeedEngine {
    if (seed.length !== SEED_LENGTH) {
      throw new ParseError("seed", `expected ${SEED_LENGTH} bytes, got ${seed.length}`);
    }
    if (salt.length !== SALT_LENGTH) {
      throw new ParseError("salt", `expected ${SALT_LENGTH} bytes, got ${salt.length}`);
    }
    return new SeedEngine(seed, salt);
  }

  /** A copy of the seed (for seed shares only; never log it). */
  seed(): Uint8Array {
    return this.#seed.slice();
  }

  /** A copy of the salt (public; stored in seed-shares.json). */
  salt(): Uint8Array {
    return this.#salt.slice();
  }

  /** The derived root CA key with its deterministic signer (for a byte-stable root cert). */
  derivedRootCaKey(): Promise<DerivedP384Key> {
    this.#rootCaKey ??= this.#deriveKey(ROOT_CA_KEY_INFO);
    return this.#rootCaKey;
  }

  /** The derived history signing key with its deterministic signer. */
  derivedHistorySigningKey(): Promise<DerivedP384Key> {
    this.#historyKey ??= this.#deriveKey(HISTORY_SIGNING_KEY_INFO);
    return this.#historyKey;
  }

  /** The root CA key pair (P-384 ECDSA), the same for the same seed and salt. */
  async rootCaKey(): Promise<CryptoKeyPair> {
    return (await this.derivedRootCaKey()).keyPair;
  }

  /** The history signing key pair (P-384 ECDSA), the same for the same seed and salt. */
  async historySigningKey(): Promise<CryptoKeyPair> {
    return (await this.derivedHistorySigningKey()).keyPair;
  }

  /**
   * The mesh CA key of the manifest that `transition` (32 bytes) made active.
   *
   * @throws {ParseError} naming `transition` when it is not 32 bytes
   */
  async derivedMeshCaKey(transition: Uint8Array): Promise<DerivedP384Key> {
    if (transition.length !== 32) {
      throw new ParseError("transition", `expected 32 bytes, got ${transition.length}`);
    }
    const hex = Array.from(transition, (b) => b.toString(16).padStart(2, "0")).join("");
    return await this.#deriveKey(MESH_CA_KEY_INFO_PREFIX + hex);
  }

  /**
   * The workload secret of `id` (32 bytes): HKDF-SHA256 with info `WORKLOAD SECRET ID: <id>`.
   *
   * @throws {ParseError} naming `WorkloadSecretID` when `id` is empty
   */
  workloadSecret(id: string): Promise<Uint8Array> {
    if (id === "") throw new ParseError("WorkloadSecretID", "must not be empty");
    return hkdfSha256(
      this.#seed,
      this.#salt,
      WORKLOAD_SECRET_INFO_PREFIX + id,
      WORKLOAD_SECRET_LENGTH,
    );
  }

  /**
   * The raw AES-256 key of version `version` of transit key `label` of WorkloadSecretID `id`:
   * HKDF-SHA256 with info `TRANSIT KEY: ` + JSON `[id, label, version]` (unambiguous for any
   * id and label). Independent of the workload secret, so a leaked secret file reveals no
   * transit key. Wipe the result after importing it.
   *
   * @throws {ParseError} naming `WorkloadSecretID` when `id` is empty, `version` when < 1
   */
  transitKey(id: string, label: string, version: number): Promise<Uint8Array> {
    if (id === "") throw new ParseError("WorkloadSecretID", "must not be empty");
    if (!Number.isInteger(version) || version < 1) {
      throw new ParseError("version", "must be an integer ≥ 1");
    }
    return hkdfSha256(
      this.#seed,
      this.#salt,
      TRANSIT_KEY_INFO_PREFIX + JSON.stringify([id, label, version]),
      32,
    );
  }

  async #deriveKey(info: string): Promise<DerivedP384Key> {
    return deriveP384Key(await hkdfSha256(this.#seed, this.#salt, info, P384_SECRET_LENGTH));
  }
}
