/**
 * Seed shares: the seed encrypted to every seedshare owner, so a restarted Coordinator can be
 * recovered. Each share is RSA-OAEP (SHA-256, MGF1-SHA-256, label `seedshare`) of the 64-byte seed
 * to one `SeedshareOwnerPubKeys` key. The salt is not secret and travels in clear.
 *
 * `seed-shares.json` format (all hex lower-case, unknown fields rejected):
 *
 * ```json
 * {
 *   "Salt": "<32-byte salt, 64 hex digits>",
 *   "SeedShares": [
 *     { "PublicKey": "<PKIX DER RSA key, hex>", "EncryptedSeed": "<RSA-OAEP ciphertext, hex>" }
 *   ]
 * }
 * ```
 *
 * @module
 */
import { decodeHex, decodePem, encodeHex } from "../util/bytes/mod.ts";
import { ParseError, VerificationError } from "../util/errors/mod.ts";
import { IssueList, ObjectReader, parseJsonDocument } from "../util/json/mod.ts";
import { readRsaPublicKey, sameRsaPublicKey } from "../manifest/public_keys.ts";
import { SALT_LENGTH, SEED_LENGTH, SeedEngine } from "./seed_engine.ts";

/** The RSA-OAEP label of seed shares. */
const SEED_SHARE_LABEL: Uint8Array = new TextEncoder().encode("seedshare");

/** One owner's share. */
interface SeedShare {
  /** The owner's PKIX DER RSA public key, lower-case hex. */
  readonly PublicKey: string;
  /** RSA-OAEP ciphertext of the seed, lower-case hex. */
  readonly EncryptedSeed: string;
}

/** The `seed-shares.json` document. */
export interface SeedShareDocument {
  /** The salt, lower-case hex (32 bytes). */
  readonly Salt: string;
  /** One share per seedshare owner. */
  readonly SeedShares: readonly SeedShare[];
}

/** A seed and salt recovered from a share. */
interface RecoveredSeed {
  readonly seed: Uint8Array;
  readonly salt: Uint8Array;
}

const OAEP = { name: "RSA-OAEP", hash: "SHA-256" } as const;

/**
 * Encrypts the engine's seed to every owner key.
 *
 * @param ownerKeys hex PKCS#1 or PKIX DER RSA public keys (`SeedshareOwnerPubKeys` of the
 *   manifest); each share names its key as the manifest does
 * @throws {ParseError} naming `SeedshareOwnerPubKeys[i]` when a key is not a usable RSA key
 */
export async function createSeedShares(
  engine: SeedEngine,
  ownerKeys: readonly string[],
): Promise<SeedShareDocument> {
  const seed = engine.seed();
  const shares: SeedShare[] = [];
  for (const [i, hex] of ownerKeys.entries()) {
    const field = `SeedshareOwnerPubKeys[${i}]`;
    const der = decodeHex(hex, field);
    const info = readRsaPublicKey(der);
    if ("error" in info) throw new ParseError(field, info.error);
    const key = await crypto.subtle.importKey(
      "spki",
      info.der as Uint8Array<ArrayBuffer>,
      OAEP,
      false,
      ["encrypt"],
    );
    const ciphertext = await crypto.subtle.encrypt(
      { name: "RSA-OAEP", label: SEED_SHARE_LABEL as Uint8Array<ArrayBuffer> },
      key,
      seed as Uint8Array<ArrayBuffer>,
    );
    shares.push({
      PublicKey: encodeHex(der),
      EncryptedSeed: encodeHex(new Uint8Array(ciphertext)),
    });
  }
  seed.fill(0);
  return { Salt: encodeHex(engine.salt()), SeedShares: shares };
}

/** `seed-shares.json` text of `document` (pretty JSON, trailing newline). */
export function encodeSeedShares(document: SeedShareDocument): string {
  return JSON.stringify(document, null, 2) + "\n";
}

/**
 * Parses `seed-shares.json` strictly.
 *
 * @throws {import("../util/errors/mod.ts").InvalidDocumentError} listing every problem with its JSON path
 */
export function parseSeedShares(bytes: Uint8Array): SeedShareDocument {
  const json = parseJsonDocument(bytes);
  const issues = new IssueList();
  const root = new ObjectReader(json, "", issues);
  const Salt = root.hex("Salt", SALT_LENGTH);
  const SeedShares = root.array("SeedShares", (value, path) => {
    const share = new ObjectReader(value, path, issues);
    if (!share.ok) return undefined;
    const PublicKey = share.hex("PublicKey");
    const EncryptedSeed = share.hex("EncryptedSeed");
    share.finish();
    if (PublicKey !== undefined) {
      const info = readRsaPublicKey(decodeHex(PublicKey));
      if ("error" in info) {
        issues.add(`${path}.PublicKey`, info.error);
        return undefined;
      }
    }
    if (PublicKey === undefined || EncryptedSeed === undefined) return undefined;
    if (EncryptedSeed.length === 0) {
      issues.add(`${path}.EncryptedSeed`, "must not be empty");
      return undefined;
    }
    return { PublicKey, EncryptedSeed };
  });
  if (SeedShares !== undefined && SeedShares.length === 0 && issues.empty) {
    issues.add("SeedShares", "at least one share is required");
  }
  root.finish();
  issues.throwIfAny();
  return { Salt: Salt!, SeedShares: SeedShares! };
}

/**
 * Decrypts the share addressed to `ownerPublicKey` with the owner's private key.
 *
 * @param privateKey the owner's RSA-OAEP (SHA-256) private key with usage `decrypt`
 * @param ownerPublicKey the owner's PKIX DER public key, selecting the share
 * @throws {VerificationError} when no share is addressed to that key or the
 *   ciphertext does not decrypt to a 64-byte seed
 */
export async function decryptSeedShare(
  document: SeedShareDocument,
  privateKey: CryptoKey,
  ownerPublicKey: Uint8Array,
): Promise<RecoveredSeed> {
  // The share names its key as the manifest does (PKCS#1 or PKIX DER): compare the keys.
  const index = document.SeedShares.findIndex((s) =>
    sameRsaPublicKey(decodeHex(s.PublicKey), ownerPublicKey)
  );
  if (index < 0) {
    throw new VerificationError("SeedShares", "no seed share is addressed to this owner key");
  }
  const field = `SeedShares[${index}].EncryptedSeed`;
  let plain: Uint8Array;
  try {
    plain = new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "RSA-OAEP", label: SEED_SHARE_LABEL as Uint8Array<ArrayBuffer> },
        privateKey,
        decodeHex(document.SeedShares[index]!.EncryptedSeed, field) as Uint8Array<ArrayBuffer>,
      ),
    );
  } catch (e) {
    throw new VerificationError(field, "does not decrypt with this owner's private key", {
      cause: e,
    });
  }
  if (plain.length !== SEED_LENGTH) {
    plain.fill(0);
    throw new VerificationError(field, `decrypted seed has the wrong length`);
  }
  return { seed: plain, salt: decodeHex(document.Salt, "Salt", SALT_LENGTH) };
}

/** A {@link SeedEngine} for a recovered seed and salt. */
export function engineFromRecoveredSeed(recovered: RecoveredSeed): SeedEngine {
  return SeedEngine.fromSeed(recovered.seed, recovered.salt);
}

/**
 * Imports a seedshare owner's private key from PKCS#8 PEM (`seedshare-owner.pem`) for RSA-OAEP
 * SHA-256 decryption.
 *
 * @throws {ParseError} naming `field` when the PEM holds no usable RSA private key
 */
export async function importSeedshareOwnerPrivateKey(
  pem: string,
  field = "seedshare-owner.pem",
): Promise<CryptoKey> {
  const [block] = decodePem(pem, "PRIVATE KEY", field);
  try {
    return await crypto.subtle.importKey(
      "pkcs8",
      block!.der as Uint8Array<ArrayBuffer>,
      OAEP,
      false,
      ["decrypt"],
    );
  } catch (e) {
    throw new ParseError(field, "not a PKCS#8 RSA private key", { cause: e });
  }
}
