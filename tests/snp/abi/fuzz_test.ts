/**
 * Generated inputs for the SNP parsers: 100,000 random and mutated byte strings must produce a
 * report or a ParseError, never another exception. The PRNG is seeded, so failures reproduce.
 */
import assert from "node:assert/strict";
import { ContrastError, ParseError } from "../../../util/errors/mod.ts";
import { CERT_TABLE_GUIDS, encodeCertTable, parseCertTable } from "../../../snp/abi/cert_table.ts";
import { parseSnpReport, SNP_REPORT_SIZE } from "../../../snp/abi/report.ts";
import { conformanceAvailable } from "../../conformance.ts";
import { readVectorFiles, snpVectors } from "../vectors.ts";

/** xorshift32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function seedReports(): Uint8Array[] {
  // A well-formed synthetic v2 and v5 report, so mutations start from valid structure even
  // without the conformance folder.
  const v2 = new Uint8Array(SNP_REPORT_SIZE);
  const view2 = new DataView(v2.buffer);
  view2.setUint32(0, 2, true);
  view2.setBigUint64(8, 0x30000n, true);
  view2.setUint32(0x34, 1, true);
  const v5 = v2.slice();
  const view5 = new DataView(v5.buffer);
  view5.setUint32(0, 5, true);
  v5[0x188] = 0x1a;
  v5[0x189] = 0x02;
  return [v2, v5];
}

function mutate(base: Uint8Array, next: () => number): Uint8Array {
  const kind = next() % 6;
  if (kind === 0) {
    // Random bytes of a random length around the report size.
    const out = new Uint8Array(next() % 2 === 0 ? SNP_REPORT_SIZE : next() % 1400);
    for (let i = 0; i < out.length; i++) out[i] = next() & 0xff;
    return out;
  }
  if (kind === 1) return base.slice(0, next() % base.length); // truncation
  if (kind === 2) {
    const out = new Uint8Array(base.length + 1 + (next() % 64)); // extension
    out.set(base);
    return out;
  }
  const out = base.slice();
  const flips = 1 + (next() % (kind === 3 ? 1 : 8));
  for (let i = 0; i < flips; i++) {
    const at = kind === 5 ? next() % 0x60 : next() % out.length; // kind 5: header fields
    out[at]! ^= 1 << (next() % 8);
  }
  return out;
}

Deno.test("100,000 random and mutated inputs give a report or a ParseError, nothing else", async () => {
  const seeds = seedReports();
  if (conformanceAvailable) {
    for (const v of await snpVectors()) seeds.push((await readVectorFiles(v)).report);
  }
  const next = prng(0x5eed_2026);
  let parsed = 0;
  let rejected = 0;
  for (let i = 0; i < 100_000; i++) {
    const input = mutate(seeds[i % seeds.length]!, next);
    try {
      parseSnpReport(input, i % 3 === 0 ? { product: "Milan" } : {});
      parsed++;
    } catch (e) {
      if (!(e instanceof ParseError)) {
        assert.fail(`input ${i} threw ${String(e)} (not a ParseError)`);
      }
      rejected++;
    }
  }
  assert.equal(parsed + rejected, 100_000);
  assert.ok(parsed > 1000, `mutations should keep many inputs parseable, got ${parsed}`);
  assert.ok(rejected > 10_000, `random inputs should be rejected, got ${rejected}`);
});

Deno.test("20,000 mutated certificate tables give entries or a ParseError", () => {
  const base = encodeCertTable([
    { guid: CERT_TABLE_GUIDS.VCEK, data: new Uint8Array(40).fill(1) },
    { guid: CERT_TABLE_GUIDS.ASK, data: new Uint8Array(30).fill(2) },
  ]);
  const next = prng(77);
  for (let i = 0; i < 20_000; i++) {
    const input = base.slice(0, next() % 2 === 0 ? base.length : next() % base.length);
    for (let f = 0; f < 1 + (next() % 4); f++) {
      if (input.length > 0) input[next() % input.length]! ^= 1 << (next() % 8);
    }
    try {
      parseCertTable(input);
    } catch (e) {
      if (!(e instanceof ContrastError)) assert.fail(`input ${i} threw ${String(e)}`);
    }
  }
});
