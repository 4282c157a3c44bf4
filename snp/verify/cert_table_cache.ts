/**
 * The certificate tables of auxblobs seen before, remembered by their exact bytes. Every pod of
 * one machine hands in the same auxblob (its VCEK, the ASK and the ARK): a verifier that keeps
 * its tables parses each distinct auxblob once, and finds it again by comparing the bytes, not by
 * decoding them into a string key. What is remembered is only the parse (deterministic in the
 * bytes), never a verdict: chains, revocation and signatures are checked on every verification.
 *
 * @module
 */
import { bytesEqual } from "../../util/bytes/mod.ts";
import type { Certificate } from "../../x509/certificate.ts";
import { type CertTableEntry, parseCertTable } from "../abi/cert_table.ts";

/**
 * A parsed auxblob: its certificate table over a private copy of its bytes, and the certificates
 * parsed from it so far (by the field name they were parsed as).
 */
export interface CachedCertTable {
  /** The table's entries: views into {@link bytes}. */
  readonly entries: readonly CertTableEntry[];
  /** A copy of the auxblob that nobody else holds (the entries and certificates view it). */
  readonly bytes: Uint8Array;
  /** Certificates parsed from the entries, by field name (`vcek`, `ask`, …). */
  readonly certificates: Map<string, Certificate>;
}

/** Most auxblobs remembered (one per machine); all are forgotten when a new one would exceed it. */
const MAX_TABLES = 64;

/** Positions sampled for the bucket key, besides the length. */
const SAMPLES = 48;

/**
 * Remembers parsed certificate tables by the exact bytes of their auxblob.
 *
 * @example Parse each machine's auxblob once
 * ```ts
 * import { CertTableCache } from "./cert_table_cache.ts";
 *
 * const tables = new CertTableCache();
 * function vcekDer(aux: Uint8Array): Uint8Array | undefined {
 *   return tables.table(aux).entries.find((e) => e.kind === "VCEK")?.data;
 * }
 * ```
 */
export class CertTableCache {
  /** Tables by a key sampled from their bytes; a bucket's tables are told apart byte by byte. */
  readonly #buckets = new Map<number, CachedCertTable[]>();
  #count = 0;

  /**
   * The parsed table of `aux`: the one parsed before from the very same bytes, or a new parse of
   * a private copy.
   *
   * @throws {import("../../util/errors/mod.ts").ParseError} as {@link parseCertTable} (nothing is
   *   remembered then)
   */
  table(aux: Uint8Array): CachedCertTable {
    const key = sampleKey(aux);
    const bucket = this.#buckets.get(key);
    if (bucket !== undefined) {
      for (const table of bucket) if (bytesEqual(table.bytes, aux)) return table;
    }
    const bytes = aux.slice();
    const table: CachedCertTable = {
      entries: parseCertTable(bytes),
      bytes,
      certificates: new Map(),
    };
    if (this.#count >= MAX_TABLES) {
      this.#buckets.clear();
      this.#count = 0;
    }
    const kept = this.#buckets.get(key);
    if (kept === undefined) this.#buckets.set(key, [table]);
    else kept.push(table);
    this.#count++;
    return table;
  }
}

/**
 * A number from the length and bytes sampled across `bytes` (FNV-1a): equal bytes give equal
 * keys; different bytes usually differ, and where they do not the bucket compares them in full.
 */
function sampleKey(bytes: Uint8Array): number {
  const n = bytes.length;
  let h = 0x811c9dc5 ^ n;
  if (n > 0) {
    for (let i = 0; i < SAMPLES; i++) {
      h = Math.imul(h ^ bytes[Math.floor((i * (n - 1)) / (SAMPLES - 1))]!, 0x01000193);
    }
  }
  return h >>> 0;
}
