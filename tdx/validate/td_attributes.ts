/**
 * The default check of a TD's TDATTRIBUTES, applied when a reference value does not name the
 * attributes exactly. Bit positions follow Intel's TDX module ABI (the quote holds the 64-bit
 * field little-endian).
 *
 * The default fails closed: SEPT_VE_DISABLE must be set, and of the other bits only features that
 * do not expose the TD to the host (PKS, KL, LASS, PERFMON) may be set. Everything else is
 * refused: DEBUG and the rest of the TD-under-debug group (bits 0–7: off-TD debug and profiling),
 * MIGRATABLE (a migration TD could export the TD's state), ICSSD and TPA (not vouched for here)
 * and every bit Intel reserves. A manifest that needs other attributes names them in
 * `TdAttributes`, which is then compared exactly.
 *
 * @module
 */
import { encodeHex } from "../../util/bytes/mod.ts";
import { ValidationError } from "../../util/errors/mod.ts";

/** Named TDATTRIBUTES bits (Intel TDX module ABI). */
export const TD_ATTRIBUTE_BITS = {
  /** Off-TD debug: the host can read and write the TD's memory and CPU state. */
  DEBUG: 0,
  /** Host-guided profiling (TD-under-debug group). */
  HGS_PLUS_PROF: 4,
  /** Performance profiling from outside the TD (TD-under-debug group). */
  PERF_PROF: 5,
  /** PMT profiling from outside the TD (TD-under-debug group). */
  PMT_PROF: 6,
  /** ICSSD. */
  ICSSD: 16,
  /** Linear address space separation. */
  LASS: 27,
  /** EPT violations on private memory are not reported to the guest as #VE. */
  SEPT_VE_DISABLE: 28,
  /** The TD may be migrated (its state exported through a migration TD). */
  MIGRATABLE: 29,
  /** Supervisor protection keys. */
  PKS: 30,
  /** Key Locker. */
  KL: 31,
  /** TPA. */
  TPA: 62,
  /** The TD may use performance monitoring itself. */
  PERFMON: 63,
} as const;

/** Bits the default requires to be set. */
const REQUIRED_TD_ATTRIBUTE_BITS: readonly number[] = [TD_ATTRIBUTE_BITS.SEPT_VE_DISABLE];

/** Bits the default allows besides the required ones; any other set bit is refused. */
const ALLOWED_TD_ATTRIBUTE_BITS: readonly number[] = [
  TD_ATTRIBUTE_BITS.LASS,
  TD_ATTRIBUTE_BITS.PKS,
  TD_ATTRIBUTE_BITS.KL,
  TD_ATTRIBUTE_BITS.PERFMON,
];

const NAMES = new Map<number, string>(
  Object.entries(TD_ATTRIBUTE_BITS).map(([name, bit]) => [bit, name]),
);

function bitName(bit: number): string {
  const name = NAMES.get(bit);
  if (name !== undefined) return `${name} (bit ${bit})`;
  return bit < 8 ? `TD-under-debug bit ${bit}` : `reserved bit ${bit}`;
}

function isSet(attributes: Uint8Array, bit: number): boolean {
  return (attributes[bit >> 3]! & (1 << (bit & 7))) !== 0;
}

/** The set bits of 8-byte little-endian TD attributes, lowest first. */
function setTdAttributeBits(attributes: Uint8Array): number[] {
  const out: number[] = [];
  for (let bit = 0; bit < 64; bit++) if (isSet(attributes, bit)) out.push(bit);
  return out;
}

/**
 * Checks TD attributes against the default: SEPT_VE_DISABLE set, and no bit set outside
 * {@link ALLOWED_TD_ATTRIBUTE_BITS}.
 *
 * @param field the reference value's path for errors, e.g. `ReferenceValues.tdx[0].TdAttributes`
 * @throws {ValidationError} naming the refused or missing bits, with expected and actual values
 */
export function checkDefaultTdAttributes(attributes: Uint8Array, field: string): void {
  const expected = `${REQUIRED_TD_ATTRIBUTE_BITS.map(bitName).join(", ")} set; nothing else but ${
    ALLOWED_TD_ATTRIBUTE_BITS.map(bitName).join(", ")
  }`;
  if (attributes.length !== 8) {
    throw new ValidationError(field, `TD attributes have 8 bytes, not ${attributes.length}`, {
      expected,
      actual: encodeHex(attributes),
    });
  }
  const refused = setTdAttributeBits(attributes).filter((bit) =>
    !REQUIRED_TD_ATTRIBUTE_BITS.includes(bit) && !ALLOWED_TD_ATTRIBUTE_BITS.includes(bit)
  );
  if (refused.length > 0) {
    throw new ValidationError(
      field,
      `the TD has ${refused.map(bitName).join(", ")} set, which the default refuses ` +
        "(name the exact TdAttributes in the reference value to accept them)",
      { expected, actual: encodeHex(attributes) },
    );
  }
  const missing = REQUIRED_TD_ATTRIBUTE_BITS.filter((bit) => !isSet(attributes, bit));
  if (missing.length > 0) {
    throw new ValidationError(
      field,
      `the TD does not set ${missing.map(bitName).join(", ")}: without it the host can ` +
        "inject #VE exceptions on EPT violations of private memory",
      { expected, actual: encodeHex(attributes) },
    );
  }
}
