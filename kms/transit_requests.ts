/**
 * Request bodies of the transit API (the subset of OpenBao/Vault's transit engine contrast
 * serves), parsed strictly into typed values: unknown or unsupported parameters are refused with
 * the parameter named rather than silently ignored.
 *
 * @module
 */
import { decodeBase64 } from "../util/bytes/mod.ts";
import { ParseError } from "../util/errors/mod.ts";
import { MAX_KEY_VERSION } from "./ciphertext.ts";

/** Most items in one `batch_input`. */
const MAX_BATCH_ITEMS = 10_000;

/** One encryption. */
export interface EncryptItem {
  /** The plaintext bytes. */
  readonly plaintext: Uint8Array;
  /** Associated data authenticated with it (empty when not given). */
  readonly associatedData: Uint8Array;
  /** The key version to use (`undefined`: the latest). */
  readonly keyVersion?: number;
  /** Echoed back in batch results. */
  readonly reference?: string;
}

/** One decryption. */
export interface DecryptItem {
  /** The ciphertext text (`vault:v<N>:…`). */
  readonly ciphertext: string;
  /** Associated data given at encryption (empty when not given). */
  readonly associatedData: Uint8Array;
  /** Echoed back in batch results. */
  readonly reference?: string;
}

/** One re-encryption under the latest (or a given) version. */
export interface RewrapItem {
  /** The ciphertext text. */
  readonly ciphertext: string;
  /** Associated data given at encryption (kept for the new ciphertext). */
  readonly associatedData: Uint8Array;
  /** The key version to re-encrypt with (`undefined`: the latest). */
  readonly keyVersion?: number;
  /** Echoed back in batch results. */
  readonly reference?: string;
}

/** A request of one item or a batch. */
export interface TransitRequest<T> {
  /** The items, in order. */
  readonly items: readonly T[];
  /** Whether the request used `batch_input` (the answer then has `batch_results`). */
  readonly batch: boolean;
  /** Status to answer when some but not all batch items failed (default 400). */
  readonly partialFailureStatus?: number;
}

type Json = Record<string, unknown>;

/** Parameters the key type accepts but that change nothing for `aes256-gcm96`. */
const TYPE_PARAMETER = "type";

function object(value: unknown, field: string): Json {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new ParseError(field, "expected a JSON object");
  }
  return value as Json;
}

function rejectUnknown(body: Json, allowed: readonly string[], field: string): void {
  for (const key of Object.keys(body)) {
    if (allowed.includes(key)) continue;
    if (key === "context" || key === "nonce") {
      throw new ParseError(
        field ? `${field}.${key}` : key,
        "key derivation and convergent encryption are not supported: contrast keys are not " +
          "created as derived keys",
      );
    }
    throw new ParseError(field ? `${field}.${key}` : key, "unknown or unsupported parameter");
  }
}

function base64Field(body: Json, key: string, field: string, required: boolean): Uint8Array {
  const value = body[key];
  const name = field ? `${field}.${key}` : key;
  if (value === undefined || value === null || value === "") {
    if (required && value === undefined) throw new ParseError(name, "missing");
    return new Uint8Array(0);
  }
  if (typeof value !== "string") throw new ParseError(name, "expected a base64 string");
  return decodeBase64(value, name);
}

function stringField(body: Json, key: string, field: string): string {
  const value = body[key];
  const name = field ? `${field}.${key}` : key;
  if (typeof value !== "string" || value === "") throw new ParseError(name, "missing");
  return value;
}

function keyVersion(body: Json, field: string): number | undefined {
  const value = body.key_version;
  if (value === undefined || value === null || value === 0) return undefined;
  const n = typeof value === "string" && /^[0-9]+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > MAX_KEY_VERSION) {
    throw new ParseError(field ? `${field}.key_version` : "key_version", "expected a version ≥ 1");
  }
  return n === 0 ? undefined : n;
}

function reference(body: Json, field: string): string | undefined {
  const value = body.reference;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new ParseError(`${field}.reference`, "expected a string");
  return value;
}

function typeParameter(body: Json, field: string): void {
  const value = body[TYPE_PARAMETER];
  if (value !== undefined && value !== "aes256-gcm96") {
    throw new ParseError(
      field ? `${field}.type` : "type",
      `only aes256-gcm96 keys are served, not ${JSON.stringify(value)}`,
    );
  }
}

function partialFailureStatus(body: Json): number | undefined {
  const value = body.partial_failure_response_code;
  if (value === undefined || value === null || value === 0) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 200 || value > 599) {
    throw new ParseError("partial_failure_response_code", "expected an HTTP status 200–599");
  }
  return value;
}

function parseBatch<T>(
  raw: unknown,
  top: readonly string[],
  itemKeys: readonly string[],
  parseItem: (item: Json, field: string) => T,
): TransitRequest<T> {
  const body = object(raw, "body");
  if (body.batch_input === undefined) {
    rejectUnknown(body, [...top, ...itemKeys], "");
    typeParameter(body, "");
    return { items: [parseItem(body, "")], batch: false };
  }
  rejectUnknown(body, [...top, "batch_input", "partial_failure_response_code"], "");
  typeParameter(body, "");
  const batch = body.batch_input;
  if (!Array.isArray(batch) || batch.length === 0) {
    throw new ParseError("batch_input", "expected a non-empty array");
  }
  if (batch.length > MAX_BATCH_ITEMS) {
    throw new ParseError("batch_input", `more than ${MAX_BATCH_ITEMS} items`);
  }
  const items = batch.map((entry, i) => {
    const field = `batch_input[${i}]`;
    const item = object(entry, field);
    if (entry === null || typeof entry !== "object") {
      throw new ParseError(field, "expected a JSON object");
    }
    rejectUnknown(item, [...itemKeys, "reference"], field);
    // A top-level key_version applies to every item that names none.
    const withDefault = item.key_version === undefined && body.key_version !== undefined
      ? { ...item, key_version: body.key_version }
      : item;
    return parseItem(withDefault, field);
  });
  const status = partialFailureStatus(body);
  return { items, batch: true, ...(status ? { partialFailureStatus: status } : {}) };
}

/**
 * Parses `POST /v1/transit/encrypt/<name>`: `plaintext` (base64), `associated_data` (base64),
 * `key_version`, or `batch_input` of such items (with `reference`).
 *
 * @throws {ParseError} naming the parameter (e.g. `batch_input[3].plaintext`)
 */
export function parseEncryptRequest(raw: unknown): TransitRequest<EncryptItem> {
  return parseBatch(
    raw,
    ["type", "key_version"],
    ["plaintext", "associated_data", "key_version"],
    (item, field) => {
      const version = keyVersion(item, field);
      const ref = reference(item, field);
      return {
        plaintext: base64Field(item, "plaintext", field, true),
        associatedData: base64Field(item, "associated_data", field, false),
        ...(version !== undefined ? { keyVersion: version } : {}),
        ...(ref !== undefined ? { reference: ref } : {}),
      };
    },
  );
}

/**
 * Parses `POST /v1/transit/decrypt/<name>`: `ciphertext`, `associated_data`, or `batch_input`.
 *
 * @throws {ParseError} naming the parameter
 */
export function parseDecryptRequest(raw: unknown): TransitRequest<DecryptItem> {
  return parseBatch(raw, [], ["ciphertext", "associated_data"], (item, field) => {
    const ref = reference(item, field);
    return {
      ciphertext: stringField(item, "ciphertext", field),
      associatedData: base64Field(item, "associated_data", field, false),
      ...(ref !== undefined ? { reference: ref } : {}),
    };
  });
}

/**
 * Parses `POST /v1/transit/rewrap/<name>`: `ciphertext`, `associated_data`, `key_version`, or
 * `batch_input`.
 *
 * @throws {ParseError} naming the parameter
 */
export function parseRewrapRequest(raw: unknown): TransitRequest<RewrapItem> {
  return parseBatch(
    raw,
    ["key_version"],
    ["ciphertext", "associated_data", "key_version"],
    (item, field) => {
      const version = keyVersion(item, field);
      const ref = reference(item, field);
      return {
        ciphertext: stringField(item, "ciphertext", field),
        associatedData: base64Field(item, "associated_data", field, false),
        ...(version !== undefined ? { keyVersion: version } : {}),
        ...(ref !== undefined ? { reference: ref } : {}),
      };
    },
  );
}

/**
 * Parses `POST /v1/transit/keys/<name>` (create): contrast's keys exist implicitly, so only
 * parameters that describe what they already are (`type: aes256-gcm96`, `derived: false`,
 * `exportable: false`, `convergent_encryption: false`) are accepted.
 *
 * @throws {ParseError} naming a parameter that asks for something else
 */
export function parseCreateKeyRequest(raw: unknown): void {
  const body = object(raw, "body");
  for (const [key, value] of Object.entries(body)) {
    if (key === "type") typeParameter(body, "");
    else if (
      ["derived", "exportable", "convergent_encryption", "allow_plaintext_backup"].includes(key)
    ) {
      if (value !== false && value !== "false") {
        throw new ParseError(key, "not supported: contrast keys are derived from the seed");
      }
    } else throw new ParseError(key, "unknown or unsupported parameter");
  }
}
