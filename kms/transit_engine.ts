/**
 * The transit operations over one key ring: encrypt, decrypt and rewrap, single or batch, with
 * OpenBao/Vault's answer shapes (`data.ciphertext` + `data.key_version`, `data.plaintext`,
 * `data.batch_results` with per-item `error`). A failing single request throws; a batch answers
 * every item and reports the failed ones in place (status 400 when any failed, or the request's
 * `partial_failure_response_code` when some succeeded).
 *
 * @module
 */
import { encodeBase64 } from "../util/bytes/mod.ts";
import { ContrastError, ParseError } from "../util/errors/mod.ts";
import { openAesGcm, sealAesGcm } from "./aes_gcm.ts";
import { formatCiphertext, parseCiphertext } from "./ciphertext.ts";
import type { DecryptItem, EncryptItem, RewrapItem, TransitRequest } from "./transit_requests.ts";

/** The versions of one key: 1 … `latestVersion`, each an AES-256-GCM key. */
export interface KeyRing {
  /** The newest version (encryption default). */
  readonly latestVersion: number;
  /** The key of `version` (1 ≤ version ≤ latestVersion). */
  key(version: number): Promise<CryptoKey>;
}

/** An answer: HTTP status and the `data` object. */
export interface TransitAnswer {
  /** HTTP status. */
  readonly status: number;
  /** The `data` member of the response. */
  readonly data: Record<string, unknown>;
}

function checkVersion(ring: KeyRing, version: number, field: string, what: string): void {
  if (version < 1 || version > ring.latestVersion) {
    throw new ParseError(
      field,
      `${what} key version ${version} does not exist (latest is ${ring.latestVersion})`,
    );
  }
}

async function encryptOne(ring: KeyRing, item: EncryptItem, field: string) {
  const version = item.keyVersion ?? ring.latestVersion;
  checkVersion(ring, version, field, "requested");
  const sealed = await sealAesGcm(await ring.key(version), item.plaintext, item.associatedData);
  return { ciphertext: formatCiphertext(version, sealed), key_version: version };
}

async function decryptOne(ring: KeyRing, item: DecryptItem, field: string): Promise<Uint8Array> {
  const parsed = parseCiphertext(item.ciphertext, field);
  checkVersion(ring, parsed.version, field, "invalid ciphertext:");
  return await openAesGcm(
    await ring.key(parsed.version),
    parsed.sealed,
    item.associatedData,
    field,
  );
}

/** Why an item failed, safe to return (never key material). */
function itemError(error: unknown): string {
  if (error instanceof ContrastError) return error.reason;
  throw error;
}

async function run<T extends { reference?: string }>(
  request: TransitRequest<T>,
  one: (item: T, field: string) => Promise<Record<string, unknown>>,
): Promise<TransitAnswer> {
  if (!request.batch) return { status: 200, data: await one(request.items[0]!, "") };
  let failed = 0;
  const results = [];
  for (const [i, item] of request.items.entries()) {
    const ref = item.reference !== undefined ? { reference: item.reference } : {};
    try {
      results.push({ ...(await one(item, `batch_input[${i}]`)), ...ref });
    } catch (error) {
      failed++;
      results.push({ error: itemError(error), ...ref });
    }
  }
  const status = failed === 0
    ? 200
    : failed < results.length && request.partialFailureStatus
    ? request.partialFailureStatus
    : 400;
  return { status, data: { batch_results: results } };
}

/** Encrypts every item with the latest (or the requested) version. */
export function transitEncrypt(
  ring: KeyRing,
  request: TransitRequest<EncryptItem>,
): Promise<TransitAnswer> {
  return run(request, (item, field) => encryptOne(ring, item, field));
}

/** Decrypts every item; answers base64 plaintexts. */
export function transitDecrypt(
  ring: KeyRing,
  request: TransitRequest<DecryptItem>,
): Promise<TransitAnswer> {
  return run(request, async (item, field) => {
    const plain = await decryptOne(ring, item, field);
    return { plaintext: encodeBase64(plain) };
  });
}

/** Decrypts every item and encrypts it again with the latest (or the requested) version. */
export function transitRewrap(
  ring: KeyRing,
  request: TransitRequest<RewrapItem>,
): Promise<TransitAnswer> {
  return run(request, async (item, field) => {
    const plain = await decryptOne(ring, item, field);
    try {
      const encrypted = await encryptOne(ring, {
        plaintext: plain,
        associatedData: item.associatedData,
        ...(item.keyVersion !== undefined ? { keyVersion: item.keyVersion } : {}),
      }, field);
      return encrypted;
    } finally {
      plain.fill(0);
    }
  });
}
