/**
 * SEV-SNP guest policy (`POLICY`, report offset 0x08): the launch constraints the guest owner
 * chose, enforced by the firmware for the life of the VM. Bit numbers per the SEV-SNP ABI
 * specification (AMD 56860, "Guest Policy").
 *
 * @module
 */
import { ParseError } from "../../util/errors/mod.ts";

/**
 * The decoded guest policy. Field names follow go-sev-guest's `abi.SnpPolicy`.
 *
 * @example Refuse a debuggable guest
 * ```ts
 * import type { SnpReport } from "../mod.ts";
 *
 * function debuggable(report: SnpReport): boolean {
 *   return report.policy.debug;
 * }
 * ```
 */
export interface SnpGuestPolicy {
  /** The 64-bit value as it sits in the report. */
  readonly raw: bigint;
  /** Minimum ABI minor version the guest requires (bits 7:0). */
  readonly abiMinor: number;
  /** Minimum ABI major version the guest requires (bits 15:8). */
  readonly abiMajor: number;
  /** Simultaneous multithreading allowed (bit 16). */
  readonly smt: boolean;
  /** A migration agent may be associated with the guest (bit 18). */
  readonly migrateMa: boolean;
  /** Debugging allowed: the host can decrypt guest memory (bit 19). */
  readonly debug: boolean;
  /** The guest may only run on a single socket (bit 20). */
  readonly singleSocket: boolean;
  /** CXL may be populated with guest memory (bit 21). */
  readonly cxlAllowed: boolean;
  /** AES-256-XTS memory encryption required (bit 22). */
  readonly memAes256Xts: boolean;
  /** Running average power limit must be disabled (bit 23). */
  readonly raplDis: boolean;
  /** Ciphertext hiding for DRAM required (bit 24). */
  readonly ciphertextHidingDram: boolean;
  /** Guest page swapping disabled (bit 25). */
  readonly pageSwapDisable: boolean;
}

/** Bit positions of the guest policy. */
const POLICY_BITS = {
  smt: 16,
  reservedMustBeOne: 17,
  migrateMa: 18,
  debug: 19,
  singleSocket: 20,
  cxlAllowed: 21,
  memAes256Xts: 22,
  raplDis: 23,
  ciphertextHidingDram: 24,
  pageSwapDisable: 25,
} as const;

/** The highest bit the ABI defines; every bit above must be zero. */
const HIGHEST_DEFINED_BIT = 25;

/** Bit `n` (below 32) of the low word `low` of a policy. */
function bit(low: number, n: number): boolean {
  return ((low >>> n) & 1) === 1;
}

/**
 * Decodes a guest policy.
 *
 * @throws {ParseError} naming `field` when bit 17 (reserved, must be one) is clear or a bit
 *   above 25 is set
 *
 * @example Decode the policy of a typical guest (SMT allowed, ABI 0.0)
 * ```ts
 * import { decodeGuestPolicy } from "../mod.ts";
 *
 * const policy = decodeGuestPolicy(0x30000n, "report.policy");
 * console.log(policy.smt, policy.debug); // true false
 * ```
 */
export function decodeGuestPolicy(raw: bigint, field = "policy"): SnpGuestPolicy {
  // Every defined bit is below 32: read them from the low word as a number (no BigInt per bit).
  const low = Number(BigInt.asUintN(32, raw));
  if (!bit(low, POLICY_BITS.reservedMustBeOne)) {
    throw new ParseError(field, "bit 17 is reserved and must be one");
  }
  if (raw >> BigInt(HIGHEST_DEFINED_BIT + 1) !== 0n) {
    throw new ParseError(
      field,
      `reserved bits 63:${HIGHEST_DEFINED_BIT + 1} are not zero (0x${raw.toString(16)})`,
    );
  }
  return {
    raw,
    abiMinor: low & 0xff,
    abiMajor: (low >>> 8) & 0xff,
    smt: bit(low, POLICY_BITS.smt),
    migrateMa: bit(low, POLICY_BITS.migrateMa),
    debug: bit(low, POLICY_BITS.debug),
    singleSocket: bit(low, POLICY_BITS.singleSocket),
    cxlAllowed: bit(low, POLICY_BITS.cxlAllowed),
    memAes256Xts: bit(low, POLICY_BITS.memAes256Xts),
    raplDis: bit(low, POLICY_BITS.raplDis),
    ciphertextHidingDram: bit(low, POLICY_BITS.ciphertextHidingDram),
    pageSwapDisable: bit(low, POLICY_BITS.pageSwapDisable),
  };
}

/**
 * The policy flags, for building a policy value.
 *
 * @example Describe a policy by its fields
 * ```ts
 * import type { SnpGuestPolicyParts } from "../mod.ts";
 *
 * const noDebug: SnpGuestPolicyParts = { smt: true, debug: false };
 * ```
 */
export type SnpGuestPolicyParts = Partial<Omit<SnpGuestPolicy, "raw">>;

/** Packs policy flags into the 64-bit `POLICY` value (bit 17 always set). */
export function encodeGuestPolicy(parts: SnpGuestPolicyParts): bigint {
  let raw = BigInt(parts.abiMinor ?? 0) & 0xffn;
  raw |= (BigInt(parts.abiMajor ?? 0) & 0xffn) << 8n;
  raw |= 1n << BigInt(POLICY_BITS.reservedMustBeOne);
  const flags = [
    "smt",
    "migrateMa",
    "debug",
    "singleSocket",
    "cxlAllowed",
    "memAes256Xts",
    "raplDis",
    "ciphertextHidingDram",
    "pageSwapDisable",
  ] as const;
  for (const f of flags) if (parts[f]) raw |= 1n << BigInt(POLICY_BITS[f]);
  return raw;
}
