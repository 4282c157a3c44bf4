/**
 * The TCB, guest policy and platform info decoders read their bits from 32-bit words (numbers)
 * instead of one BigInt shift per bit: they must decide exactly as the BigInt reading did, for
 * every value, valid or not.
 */
import assert from "node:assert/strict";
import { decodeGuestPolicy } from "../../../snp/abi/policy.ts";
import { decodePlatformInfo } from "../../../snp/abi/platform_info.ts";
import { decodeTcb, type SnpTcbLayout } from "../../../snp/abi/tcb.ts";

const byteOf = (raw: bigint, i: number) => Number((raw >> BigInt(8 * i)) & 0xffn);
const bitOf = (raw: bigint, n: number) => ((raw >> BigInt(n)) & 1n) === 1n;

function referenceTcb(raw: bigint, layout: SnpTcbLayout) {
  const reserved = layout === "turin" ? [4, 5, 6] : [2, 3, 4, 5];
  if (reserved.some((i) => byteOf(raw, i) !== 0)) return "error";
  return layout === "turin"
    ? {
      raw,
      layout,
      fmc: byteOf(raw, 0),
      bootloader: byteOf(raw, 1),
      tee: byteOf(raw, 2),
      snp: byteOf(raw, 3),
      microcode: byteOf(raw, 7),
    }
    : {
      raw,
      layout,
      bootloader: byteOf(raw, 0),
      tee: byteOf(raw, 1),
      snp: byteOf(raw, 6),
      microcode: byteOf(raw, 7),
    };
}

function referencePolicy(raw: bigint) {
  if (!bitOf(raw, 17) || raw >> 26n !== 0n) return "error";
  return {
    raw,
    abiMinor: Number(raw & 0xffn),
    abiMajor: Number((raw >> 8n) & 0xffn),
    smt: bitOf(raw, 16),
    migrateMa: bitOf(raw, 18),
    debug: bitOf(raw, 19),
    singleSocket: bitOf(raw, 20),
    cxlAllowed: bitOf(raw, 21),
    memAes256Xts: bitOf(raw, 22),
    raplDis: bitOf(raw, 23),
    ciphertextHidingDram: bitOf(raw, 24),
    pageSwapDisable: bitOf(raw, 25),
  };
}

function attempt<T>(f: () => T): T | "error" {
  try {
    return f();
  } catch {
    return "error";
  }
}

/** Random 64-bit values, many with only the low bytes or single bits set (the valid ones). */
function values(): bigint[] {
  const out: bigint[] = [0n, (1n << 64n) - 1n, 0x30000n, 0x4800000000000009n];
  for (let bit = 0; bit < 64; bit++) out.push(1n << BigInt(bit), (1n << BigInt(bit)) | 0x20000n);
  const words = crypto.getRandomValues(new Uint32Array(4000));
  for (let i = 0; i < words.length; i += 2) {
    const raw = (BigInt(words[i]!) << 32n) | BigInt(words[i + 1]!);
    out.push(raw, raw & 0xff0000000000ffffn, (raw & 0x3ffffffn) | 0x20000n);
  }
  return out;
}

Deno.test("decodeTcb decides as the BigInt reading for every layout and value", () => {
  for (const raw of values()) {
    for (const layout of ["milan-genoa", "turin"] as const) {
      assert.deepEqual(attempt(() => decodeTcb(raw, layout)), referenceTcb(raw, layout), `${raw}`);
    }
  }
});

Deno.test("decodeGuestPolicy decides as the BigInt reading for every value", () => {
  for (const raw of values()) {
    assert.deepEqual(attempt(() => decodeGuestPolicy(raw)), referencePolicy(raw), `${raw}`);
  }
});

Deno.test("decodePlatformInfo reads the named bits as the BigInt reading", () => {
  for (const raw of values()) {
    const bits = [0, 1, 2, 3, 4, 5, 7].map((n) => bitOf(raw, n));
    const p = decodePlatformInfo(raw);
    assert.deepEqual(
      [
        p.smtEnabled,
        p.tsmeEnabled,
        p.eccEnabled,
        p.raplDisabled,
        p.ciphertextHidingDramEnabled,
        p.aliasCheckComplete,
        p.tioEnabled,
      ],
      bits,
      `${raw}`,
    );
    assert.equal(p.raw, raw);
  }
});
