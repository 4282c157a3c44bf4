/** Shared helpers of the history tests. */
import { SeedEngine } from "../../../seed/seed_engine.ts";

/** A deterministic history signing key for tests (seed of `fill`). */
export async function historyKey(fill = 1): Promise<CryptoKeyPair> {
  return await SeedEngine.fromSeed(new Uint8Array(64).fill(fill), new Uint8Array(32).fill(fill))
    .historySigningKey();
}

/** Manifest bytes number `i` (distinct per i). */
export function manifestBytes(i: number): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ Policies: {}, n: i }));
}

/** A policy document number `i`. */
export function policyBytes(i: number): Uint8Array {
  return new TextEncoder().encode(`version = "0.1.0"\n# policy ${i}\n`);
}
