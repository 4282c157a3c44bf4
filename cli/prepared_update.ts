/**
 * The prepared manifest update `contrast sign --prepare` writes and `contrast set --signature`
 * resumes from (`contrast-update-prepared/v1`): which manifest, on top of which attested latest
 * transition, gives which transition hash, and how the current workload owner keys sign it.
 *
 * @module
 */
import { decodeHex } from "../util/bytes/mod.ts";
import { ParseError } from "../util/errors/mod.ts";
import { parseJsonDocument } from "../util/json/parse_document.ts";

/** The schema identifier of {@link PreparedUpdate}. */
export const PREPARED_UPDATE_SCHEMA = "contrast-update-prepared/v1";

/** One workload owner key of the current manifest and how it signs. */
export interface PreparedSigner {
  /** Index in the current manifest's `WorkloadOwnerPubKeys`. */
  readonly keyIndex: number;
  /** The key's curve. */
  readonly curve: "P-256" | "P-384" | "P-521";
  /** The hash ECDSA uses with it (`openssl dgst -sha384`, …). */
  readonly hash: "SHA-256" | "SHA-384" | "SHA-512";
}

/** What `sign --prepare` wrote. */
export interface PreparedUpdate {
  /** Always {@link PREPARED_UPDATE_SCHEMA}. */
  readonly schema: typeof PREPARED_UPDATE_SCHEMA;
  /** The Coordinator address it was prepared against. */
  readonly coordinator: string;
  /** The manifest file. */
  readonly manifest: string;
  /** SHA-256 of the manifest bytes, hex. */
  readonly manifestSha256: string;
  /** The Coordinator's attested latest transition the update builds on, hex. */
  readonly previousTransition: string;
  /** The transition hash to sign (the 32 bytes of the transition file), hex. */
  readonly transition: string;
  /** The file holding the 32 bytes to sign. */
  readonly transitionFile: string;
  /** The current manifest's workload owner keys. */
  readonly signers: readonly PreparedSigner[];
}

/** The JSON text of `prepared`. */
export function encodePreparedUpdate(prepared: PreparedUpdate): string {
  return JSON.stringify(prepared, null, 2) + "\n";
}

function hexField(doc: Record<string, unknown>, name: string, file: string): string {
  const value = doc[name];
  if (typeof value !== "string") throw new ParseError(`${file}: ${name}`, "missing or not text");
  decodeHex(value, `${file}: ${name}`, 32);
  return value;
}

function textField(doc: Record<string, unknown>, name: string, file: string): string {
  const value = doc[name];
  if (typeof value !== "string") throw new ParseError(`${file}: ${name}`, "missing or not text");
  return value;
}

/**
 * Parses a prepared update read from `file`.
 *
 * @throws {ParseError} naming the file and field when it is not a `contrast-update-prepared/v1`
 */
export function parsePreparedUpdate(bytes: Uint8Array, file: string): PreparedUpdate {
  let doc: unknown;
  try {
    doc = parseJsonDocument(bytes);
  } catch (error) {
    if (error instanceof ParseError) throw new ParseError(`${file}: ${error.field}`, error.reason);
    throw error;
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new ParseError(file, "not a JSON object");
  }
  const record = doc as Record<string, unknown>;
  if (record.schema !== PREPARED_UPDATE_SCHEMA) {
    throw new ParseError(`${file}: schema`, `expected "${PREPARED_UPDATE_SCHEMA}"`);
  }
  const signers = record.signers;
  if (!Array.isArray(signers)) throw new ParseError(`${file}: signers`, "missing or not a list");
  return {
    schema: PREPARED_UPDATE_SCHEMA,
    coordinator: textField(record, "coordinator", file),
    manifest: textField(record, "manifest", file),
    manifestSha256: hexField(record, "manifestSha256", file),
    previousTransition: hexField(record, "previousTransition", file),
    transition: hexField(record, "transition", file),
    transitionFile: textField(record, "transitionFile", file),
    signers: signers as PreparedSigner[],
  };
}
