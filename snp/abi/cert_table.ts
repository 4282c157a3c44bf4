/**
 * The SEV-SNP certificate table returned with an extended report (GHCB specification 56421,
 * `MSG_REPORT_REQ` extended request; configfs-tsm `auxblob`): entries of a 16-byte GUID, a u32
 * offset and a u32 length, ended by an all-zero entry; offsets count from the start of the
 * table. GUIDs are stored in RFC 4122 byte order (as go-sev-guest and virtee/sev read them).
 *
 * @module
 */
import { ByteReader, decodeHex, encodeHex } from "../../util/bytes/mod.ts";
import { ParseError } from "../../util/errors/mod.ts";

/**
 * Well-known GUIDs of the certificate table.
 *
 * @example Find the VCEK's GUID
 * ```ts
 * import { CERT_TABLE_GUIDS } from "../mod.ts";
 *
 * console.log(CERT_TABLE_GUIDS.VCEK); // "63da758d-e664-4564-adc5-f4b93be8accd"
 * ```
 */
export const CERT_TABLE_GUIDS = {
  /** Versioned Chip Endorsement Key. */
  VCEK: "63da758d-e664-4564-adc5-f4b93be8accd",
  /** Versioned Loaded Endorsement Key. */
  VLEK: "a8074bc2-a25a-483e-aae6-39c045a0b8a1",
  /** AMD SEV Signing Key (also used for the ASVK). */
  ASK: "4ab7b379-bbac-4fe4-a02f-05aef327c782",
  /** AMD Root Key. */
  ARK: "c0b406a4-a803-4952-9743-3fb6014cd0ae",
} as const;

/**
 * Which certificate a table entry holds.
 *
 * @example Keep only the AMD certificates
 * ```ts
 * import type { CertTableEntry, CertTableKind } from "../mod.ts";
 *
 * const amd: readonly CertTableKind[] = ["VCEK", "VLEK", "ASK", "ARK"];
 * function amdOnly(entries: readonly CertTableEntry[]): CertTableEntry[] {
 *   return entries.filter((e) => amd.includes(e.kind));
 * }
 * ```
 */
export type CertTableKind = keyof typeof CERT_TABLE_GUIDS | "other";

/**
 * One certificate of the table.
 *
 * @example Print what a certificate table holds
 * ```ts
 * import type { CertTableEntry } from "../mod.ts";
 *
 * function list(entries: readonly CertTableEntry[]): void {
 *   for (const e of entries) console.log(e.kind, e.guid, e.data.length);
 * }
 * ```
 */
export interface CertTableEntry {
  /** The GUID, lower-case with dashes. */
  readonly guid: string;
  /** What the GUID names. */
  readonly kind: CertTableKind;
  /** The certificate bytes (DER for the AMD certificates): a view into the parsed blob. */
  readonly data: Uint8Array;
}

const ENTRY_SIZE = 24;

/**
 * Most entries a table may have. AMD defines four GUIDs (VCEK, VLEK, ASK, ARK) and hosts add a few
 * of their own; a table of thousands is not a certificate table.
 */
export const MAX_CERT_TABLE_ENTRIES = 64;

function guidToString(bytes: Uint8Array): string {
  const h = encodeHex(bytes);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function guidToBytes(guid: string): Uint8Array {
  return decodeHex(guid.replace(/-/g, ""), "guid", 16);
}

function kindOf(guid: string): CertTableKind {
  for (const [k, v] of Object.entries(CERT_TABLE_GUIDS)) if (v === guid) return k as CertTableKind;
  return "other";
}

/**
 * Parses a certificate table. Each entry's `data` is a view into `blob` (not a copy): the host
 * chooses the table, and copying every entry let a table of a few thousand entries that all
 * span the whole blob cost seconds and hundreds of megabytes before anything was verified.
 *
 * @throws {ParseError} naming `auxblob[i]` when the table has no terminator, an entry points
 *   outside the blob, a GUID appears twice, or it has more than {@link MAX_CERT_TABLE_ENTRIES}
 *   entries
 *
 * @example Take the VCEK out of a configfs-tsm auxblob
 * ```ts
 * import { parseCertTable } from "../mod.ts";
 *
 * function vcekDer(auxblob: Uint8Array): Uint8Array | undefined {
 *   return parseCertTable(auxblob).find((e) => e.kind === "VCEK")?.data;
 * }
 * ```
 */
export function parseCertTable(blob: Uint8Array): CertTableEntry[] {
  const r = new ByteReader(blob, "auxblob");
  const entries: CertTableEntry[] = [];
  const seen = new Set<string>();
  for (let i = 0;; i++) {
    const guidBytes = r.bytes(`[${i}].guid`, 16);
    const offset = r.u32(`[${i}].offset`);
    const length = r.u32(`[${i}].length`);
    if (guidBytes.every((b) => b === 0) && offset === 0 && length === 0) break;
    if (i === MAX_CERT_TABLE_ENTRIES) {
      throw new ParseError(
        `auxblob[${i}]`,
        `more than ${MAX_CERT_TABLE_ENTRIES} entries before the terminator`,
      );
    }
    const guid = guidToString(guidBytes);
    if (seen.has(guid)) throw new ParseError(`auxblob[${i}].guid`, `GUID ${guid} appears twice`);
    seen.add(guid);
    if (offset + length > blob.length) {
      throw new ParseError(
        `auxblob[${i}]`,
        `certificate at offset ${offset} with length ${length} ends past the blob (${blob.length} bytes)`,
      );
    }
    entries.push({ guid, kind: kindOf(guid), data: blob.subarray(offset, offset + length) });
  }
  return entries;
}

/** Builds a certificate table holding `entries` (in that order) after the table itself. */
export function encodeCertTable(
  entries: readonly { guid: string; data: Uint8Array }[],
): Uint8Array {
  const headerSize = (entries.length + 1) * ENTRY_SIZE;
  const total = headerSize + entries.reduce((n, e) => n + e.data.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let dataOffset = headerSize;
  entries.forEach((e, i) => {
    out.set(guidToBytes(e.guid), i * ENTRY_SIZE);
    view.setUint32(i * ENTRY_SIZE + 16, dataOffset, true);
    view.setUint32(i * ENTRY_SIZE + 20, e.data.length, true);
    out.set(e.data, dataOffset);
    dataOffset += e.data.length;
  });
  return out;
}

/** A copy of the data of the first entry of `kind`, if any. */
export function findCert(
  entries: readonly CertTableEntry[],
  kind: CertTableKind,
): Uint8Array | undefined {
  return entries.find((e) => e.kind === kind)?.data.slice();
}
