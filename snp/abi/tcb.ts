/**
 * SEV-SNP `TCB_VERSION`: the security patch levels of the firmware components, packed into a
 * little-endian u64 whose layout depends on the processor generation.
 *
 * - Milan and Genoa: byte 0 boot loader, byte 1 TEE, bytes 2–5 reserved, byte 6 SNP,
 *   byte 7 microcode.
 * - Turin: byte 0 FMC, byte 1 boot loader, byte 2 TEE, byte 3 SNP, bytes 4–6 reserved,
 *   byte 7 microcode.
 *
 * @module
 */
import { ParseError } from "../../util/errors/mod.ts";

/**
 * Which byte layout a `TCB_VERSION` uses.
 *
 * @example Turin reports carry an FMC version
 * ```ts
 * import type { SnpReport, SnpTcbLayout } from "../mod.ts";
 *
 * function hasFmc(report: SnpReport): boolean {
 *   const layout: SnpTcbLayout = report.tcbLayout;
 *   return layout === "turin";
 * }
 * ```
 */
export type SnpTcbLayout = "milan-genoa" | "turin";

/**
 * A decoded `TCB_VERSION`. Every component is a security patch level (SPL) 0–255.
 *
 * @example Print the reported TCB
 * ```ts
 * import type { SnpReport, SnpTcb } from "../mod.ts";
 *
 * function tcbText(report: SnpReport): string {
 *   const t: SnpTcb = report.reportedTcb;
 *   return `bl=${t.bootloader} tee=${t.tee} snp=${t.snp} ucode=${t.microcode}`;
 * }
 * ```
 */
export interface SnpTcb {
  /** The packed 64-bit value as it sits in the report. */
  readonly raw: bigint;
  /** The layout it was decoded with. */
  readonly layout: SnpTcbLayout;
  /** Boot loader SPL (`blSPL`). */
  readonly bootloader: number;
  /** PSP OS / TEE SPL (`teeSPL`). */
  readonly tee: number;
  /** SNP firmware SPL (`snpSPL`). */
  readonly snp: number;
  /** Microcode SPL (`ucodeSPL`). */
  readonly microcode: number;
  /** Firmware mask ROM SPL (`fmcSPL`), Turin only. */
  readonly fmc?: number;
}

/**
 * The components of a TCB, for building one.
 *
 * @example Ask the KDS for the VCEK of one TCB
 * ```ts
 * import type { AmdKdsClient, SnpTcbParts } from "../mod.ts";
 *
 * async function vcekAt(kds: AmdKdsClient, hwId: Uint8Array) {
 *   const tcb: SnpTcbParts = { bootloader: 9, tee: 0, snp: 23, microcode: 72 };
 *   return await kds.vcek("Genoa", hwId, tcb);
 * }
 * ```
 */
export interface SnpTcbParts {
  /** Boot loader SPL. */
  readonly bootloader: number;
  /** TEE SPL. */
  readonly tee: number;
  /** SNP firmware SPL. */
  readonly snp: number;
  /** Microcode SPL. */
  readonly microcode: number;
  /** FMC SPL (Turin layout only; must be absent or 0 otherwise). */
  readonly fmc?: number;
}

const RESERVED_BYTES: Record<SnpTcbLayout, readonly number[]> = {
  "milan-genoa": [2, 3, 4, 5],
  "turin": [4, 5, 6],
};

/**
 * Decodes a packed `TCB_VERSION`.
 *
 * @param field named in the error, e.g. `report.reported_tcb`
 * @throws {ParseError} when a reserved byte of the layout is not zero
 *
 * @example Decode a Milan/Genoa TCB value
 * ```ts
 * import { decodeTcb } from "../mod.ts";
 *
 * const tcb = decodeTcb(0x4800000000000009n, "milan-genoa", "report.reported_tcb");
 * console.log(tcb.bootloader, tcb.microcode); // 9 72
 * ```
 */
export function decodeTcb(raw: bigint, layout: SnpTcbLayout, field = "tcb"): SnpTcb {
  // The eight bytes as numbers from two 32-bit words (two BigInt operations, not one per byte).
  const low = Number(BigInt.asUintN(32, raw));
  const high = Number(BigInt.asUintN(32, raw >> 32n));
  const byteAt = (i: number) => ((i < 4 ? low >>> (8 * i) : high >>> (8 * (i - 4))) & 0xff);
  for (const i of RESERVED_BYTES[layout]) {
    if (byteAt(i) !== 0) {
      throw new ParseError(field, `reserved byte ${i} of the ${layout} TCB layout is not zero`);
    }
  }
  if (layout === "turin") {
    return {
      raw,
      layout,
      fmc: byteAt(0),
      bootloader: byteAt(1),
      tee: byteAt(2),
      snp: byteAt(3),
      microcode: byteAt(7),
    };
  }
  return {
    raw,
    layout,
    bootloader: byteAt(0),
    tee: byteAt(1),
    snp: byteAt(6),
    microcode: byteAt(7),
  };
}

function checkSpl(value: number, field: string): bigint {
  if (!Number.isInteger(value) || value < 0 || value > 255) {
    throw new ParseError(field, `expected an integer 0–255, got ${value}`);
  }
  return BigInt(value);
}

/**
 * Packs TCB components into a `TCB_VERSION` of `layout`.
 *
 * @throws {ParseError} when a component is out of range, or `fmc` is set for Milan/Genoa
 */
export function encodeTcb(parts: SnpTcbParts, layout: SnpTcbLayout, field = "tcb"): SnpTcb {
  const bl = checkSpl(parts.bootloader, `${field}.bootloader`);
  const tee = checkSpl(parts.tee, `${field}.tee`);
  const snp = checkSpl(parts.snp, `${field}.snp`);
  const ucode = checkSpl(parts.microcode, `${field}.microcode`);
  const fmc = checkSpl(parts.fmc ?? 0, `${field}.fmc`);
  let raw: bigint;
  if (layout === "turin") {
    raw = fmc | (bl << 8n) | (tee << 16n) | (snp << 24n) | (ucode << 56n);
  } else {
    if (fmc !== 0n) throw new ParseError(`${field}.fmc`, "the Milan/Genoa TCB layout has no FMC");
    raw = bl | (tee << 8n) | (snp << 48n) | (ucode << 56n);
  }
  return decodeTcb(raw, layout, field);
}

/** The names of the components compared between TCBs, in the order they are reported. */
const TCB_COMPONENTS = ["bootloader", "tee", "snp", "microcode", "fmc"] as const;

/** One TCB component name. */
type SnpTcbComponent = typeof TCB_COMPONENTS[number];

/**
 * The first component where `actual` is below `minimum`, or undefined when every component of
 * `actual` is at least the one of `minimum` (a partial order: each SPL on its own).
 */
export function firstComponentBelow(
  actual: SnpTcbParts,
  minimum: SnpTcbParts,
): SnpTcbComponent | undefined {
  for (const c of TCB_COMPONENTS) {
    if ((actual[c] ?? 0) < (minimum[c] ?? 0)) return c;
  }
  return undefined;
}

/** The TCB as `0x…` hex of its raw value plus its components, for display and JSON. */
export function describeTcb(tcb: SnpTcb): Record<string, string | number> {
  const out: Record<string, string | number> = {
    raw: `0x${tcb.raw.toString(16).padStart(16, "0")}`,
  };
  if (tcb.fmc !== undefined) out.fmc = tcb.fmc;
  out.bootloader = tcb.bootloader;
  out.tee = tcb.tee;
  out.snp = tcb.snp;
  out.microcode = tcb.microcode;
  return out;
}
